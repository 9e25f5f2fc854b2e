"""The synthetic RIVM trend-survey data: generator determinism, design, weights,
codebook conformity, and the published figures it must reproduce."""

from __future__ import annotations

import gzip
import hashlib
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import nea_covid as nc
from nea_covid.datasets import generate_rivm_trend as gen
from nea_covid.harmonisation import SOURCE_VARIABLES, get_definition

DATA = Path(gen.__file__).parent / "data" / "rivm_trend.csv.gz"

# RIVM open data COVID-19_gedrag.csv, "Werkt_thuis" (Naleving), national: percent and
# 95% CI per wave (typed here, as DOMAIN.md lists them).
PUBLISHED = {
    2: (70.9, 69.2, 72.5), 3: (70.3, 68.6, 72.0), 4: (69.8, 68.0, 71.5),
    5: (71.0, 69.3, 72.6), 6: (72.7, 71.0, 74.4), 7: (70.5, 68.8, 72.2),
    8: (70.0, 68.2, 71.7), 9: (67.4, 65.6, 69.2), 10: (67.8, 66.0, 69.5),
    11: (67.2, 65.3, 68.9),
}
WAVE6_AGE = {"16-24": 77.2, "25-39": 69.2, "40-54": 72.2, "55-69": 73.9, "70+": 90.1}
WAVE6_EDUCATION = {"low": 79.0, "middle": 76.4, "high": 67.3}
WFH = "rivm_wfh_as_much_as_possible"


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return nc.datasets.load_rivm_trend()


@pytest.fixture(scope="module")
def design(data: pd.DataFrame) -> nc.SurveyDesign:
    return nc.SurveyDesign(data, strata="region", weights="weight")


def _yes(estimate: nc.Estimate) -> pd.DataFrame:
    frame = estimate.to_frame()
    return frame[frame["level"] == "yes"].reset_index(drop=True)


# ------------------------------------------------------------------ generator
def test_small_generation_is_deterministic() -> None:
    a = gen.generate(seed=11, n_per_region=20, waves=(5, 6))
    b = gen.generate(seed=11, n_per_region=20, waves=(5, 6))
    pd.testing.assert_frame_equal(a, b)
    c = gen.generate(seed=12, n_per_region=20, waves=(5, 6))
    assert not a["age"].equals(c["age"])


def test_written_file_is_byte_identical(tmp_path: Path) -> None:
    one = gen.write(tmp_path / "a.csv.gz", seed=5, n_per_region=20, waves=(6,))
    two = gen.write(tmp_path / "b.csv.gz", seed=5, n_per_region=20, waves=(6,))
    assert one.read_bytes() == two.read_bytes()
    assert one.read_bytes()[4:8] == b"\x00\x00\x00\x00"  # gzip mtime = 0


def test_generator_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="waves"):
        gen.generate(waves=(1,))
    with pytest.raises(ValueError, match="n_per_region"):
        gen.generate(n_per_region=5)


def _full_regeneration_matches(tmp_path: Path) -> float:
    start = time.perf_counter()
    fresh = gen.write(tmp_path / "full.csv.gz")
    elapsed = time.perf_counter() - start
    assert (hashlib.sha256(gzip.decompress(fresh.read_bytes())).hexdigest()
            == hashlib.sha256(gzip.decompress(DATA.read_bytes())).hexdigest())
    assert fresh.read_bytes() == DATA.read_bytes()
    return elapsed


def test_full_regeneration_reproduces_the_bundled_file(tmp_path: Path) -> None:
    assert _full_regeneration_matches(tmp_path) < 20


# ------------------------------------------------------------------ design and weights
def test_waves_regions_and_sizes(data: pd.DataFrame) -> None:
    assert sorted(data["wave"].unique()) == list(range(2, 12))
    sizes = data.groupby("wave").size()
    assert sizes.between(4_700, 5_300).all()
    assert sorted(data["region"].unique()) == [f"VR{h:02d}" for h in range(1, 26)]
    per_region = data.groupby(["wave", "region"]).size()
    assert per_region.between(150, 250).all()
    assert data["respondent_id"].is_unique
    assert (data["age"] >= 16).all()
    assert (data["stratum"] == data["wave"].map("W{:02d}".format) + "-" + data["region"]).all()
    for wave, date in gen.WAVE_DATES.items():
        days = (data.loc[data["wave"] == wave, "date"] - pd.Timestamp(date)).dt.days
        assert days.between(0, 6).all()


def test_age_class_matches_age(data: pd.DataFrame) -> None:
    classes = pd.cut(data["age"], [15, 24, 39, 54, 69, 200], labels=list(WAVE6_AGE))
    assert (classes.astype(str) == data["age_class"].astype(str)).all()


def test_poststratification_hits_the_margins(data: pd.DataFrame) -> None:
    cell = (data["age_class"].astype(str) + "|" + data["sex"] + "|"
            + data["education"].astype(str))
    achieved = data.groupby([data["wave"], cell])["weight"].sum().unstack()
    expected = gen.POPULATION.reindex(achieved.columns)
    np.testing.assert_allclose(achieved.to_numpy(), np.tile(expected, (10, 1)), rtol=1e-9)
    assert gen.POPULATION.sum() == pytest.approx(14.4e6)


# ------------------------------------------------------------------ codebook
def test_codebook_conformity(data: pd.DataFrame) -> None:
    for name in ("employment_status", "can_work_from_home", "wfh_as_much_as_possible"):
        codes = set(SOURCE_VARIABLES[name].codes or {})
        assert set(data[name].dropna().astype(int).unique()) <= codes
    workers = data["employment_status"] != 3
    assert data.loc[workers, "can_work_from_home"].notna().all()
    assert data.loc[~workers, ["can_work_from_home", "wfh_as_much_as_possible"]].isna().all().all()
    # the compliance item is asked of every worker (the published base)
    assert data.loc[workers, "wfh_as_much_as_possible"].notna().all()
    hours = data["share_hours_at_home"]
    assert hours.dropna().between(0, 1).all()
    assert (hours.notna() == data["can_work_from_home"].isin([1, 2]).fillna(False)).all()
    for definition in ("rivm_wfh_as_much_as_possible", "rivm_wfh_as_much_as_possible_if_can",
                       "rivm_can_work_at_home", "rivm_can_work_at_home_extent"):
        out = get_definition(definition).apply(data, unknown="raise")
        missing = out[get_definition(definition).missing_column]
        assert not (missing == "unknown_code").any()
        assert not (missing == "no_answer").any()


# ------------------------------------------------------------------ published figures
def test_every_published_national_figure_is_in_its_ci(design: nc.SurveyDesign) -> None:
    est = nc.harmonised_proportion(design, get_definition(WFH), by="wave", missing="omit")
    frame = _yes(est)
    for wave, estimate, n in zip(frame["wave"], frame["estimate"], frame["n_obs"],
                                 strict=True):
        value, low, high = PUBLISHED[int(wave)]
        assert low <= 100 * estimate <= high, (wave, estimate)
        assert abs(100 * estimate - value) < 0.5, (wave, estimate)
        assert 2_800 <= n <= 3_500
    assert frame["deff"].between(1.05, 1.35).all()


def test_significant_decrease_from_wave_8_to_9(design: nc.SurveyDesign) -> None:
    est = nc.harmonised_proportion(design, get_definition(WFH), by="wave", missing="omit")
    change = nc.compare(est, "wave", base=8, other=9, where={"level": "yes"},
                        samples="independent").to_frame()
    assert change["estimate"].iloc[0] < -0.02
    assert change["pvalue"].iloc[0] < 0.05


@pytest.mark.parametrize(("by", "published"), [("age_class", WAVE6_AGE),
                                               ("education", WAVE6_EDUCATION)])
def test_wave6_gradients(design: nc.SurveyDesign, by: str,
                         published: dict[str, float]) -> None:
    wave6 = design.subset((design.data["wave"] == 6).to_numpy())
    frame = _yes(nc.harmonised_proportion(wave6, get_definition(WFH), by=by,
                                          missing="omit"))
    synthetic = dict(zip(frame[by].astype(str), 100 * frame["estimate"], strict=True))
    low, high = (frame["estimate"] - 1.96 * frame["standard_error"]) * 100, \
        (frame["estimate"] + 1.96 * frame["standard_error"]) * 100
    for (level, value), lo, hi in zip(published.items(), low, high, strict=True):
        assert lo <= value <= hi, (level, synthetic[level], value)
        assert abs(synthetic[level] - value) < 1.5
    order = sorted(published, key=published.__getitem__)
    assert sorted(synthetic, key=synthetic.__getitem__) == order
