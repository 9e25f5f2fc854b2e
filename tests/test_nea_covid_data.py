"""The synthetic NEA-COVID panel: determinism, structure, calibration and the published figures."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from importlib import resources

import numpy as np
import pandas as pd
import pytest

import nea_covid as nc
from nea_covid.datasets import generate_nea_covid as gen

W1, W2, W3 = "2020-06", "2020-11", "2021-03"


@pytest.fixture(scope="module")
def df() -> pd.DataFrame:
    return nc.datasets.load_nea_covid()


@pytest.fixture(scope="module")
def design(df: pd.DataFrame) -> nc.SurveyDesign:
    return nc.SurveyDesign(df, strata="stratum", weights="weight")


def _share(design: nc.SurveyDesign, mask: pd.Series, variable: str,
           level: object) -> tuple[float, float, float]:
    est = nc.proportion(design.subset(mask.fillna(False).astype(bool)), variable)
    frame = est.to_frame()
    row = frame[frame["level"].astype(str) == str(level)].iloc[0]
    return float(row["estimate"]), float(row["ci_low"]), float(row["ci_high"])


def _mean(design: nc.SurveyDesign, mask: pd.Series, variable: str) -> tuple[float, float, float]:
    frame = nc.mean(design.subset(mask.fillna(False).astype(bool)), variable).to_frame()
    row = frame.iloc[0]
    return float(row["estimate"]), float(row["ci_low"]), float(row["ci_high"])


def published_figures(df: pd.DataFrame, design: nc.SurveyDesign
                      ) -> list[tuple[str, float, tuple[float, float, float]]]:
    """(label, published value, (estimate, ci_low, ci_high)) for every published figure."""
    wave = df["wave"].astype(str)
    in_work = (df["employment_status"] == 1) & (df["work_location"] != 4)
    home = in_work & df["work_location"].isin([1, 2])
    onloc = in_work & df["work_location"].isin([2, 3])
    not_fully = in_work & df["work_location"].isin([2, 3])
    df = df.assign(
        could_any=df["could_work_more_at_home"].isin([1, 2]).astype(int),
        could_1=(df["could_work_more_at_home"] == 1).fillna(False).astype(int),
        could_2=(df["could_work_more_at_home"] == 2).fillna(False).astype(int),
        satisfied=df["life_satisfaction"].isin([4, 5]).astype(int),
    )
    d = nc.SurveyDesign(df, strata="stratum", weights="weight")
    w2_home_ids = df.loc[(wave == W2) & home, "panel_id"]
    home_2019_w2 = (wave == "2019") & df["panel_id"].isin(w2_home_ids)
    clients = onloc & df["can_keep_distance_clients"].isin([1, 2])
    provided = onloc & (df["ppe_provided"] == 1)
    out: list[tuple[str, float, tuple[float, float, float]]] = []

    def add(label: str, value: float, f: Callable[[], tuple[float, float, float]]) -> None:
        out.append((label, value, f()))

    add("W1 without work (of respondents)", 0.12,
        lambda: _share(d, wave == W1, "employment_status", 3))
    for w, (fully, partly, at_loc) in ((W1, (0.29, 0.16, 0.55)), (W2, (0.345, 0.135, 0.52)),
                                       (W3, (0.35, 0.14, 0.51))):
        base = (wave == w) & in_work
        add(f"{w} only at home", fully, lambda b=base: _share(d, b, "work_location", 1))
        add(f"{w} partly at home", partly, lambda b=base: _share(d, b, "work_location", 2))
        add(f"{w} only on location", at_loc, lambda b=base: _share(d, b, "work_location", 3))
    for w, value in ((W1, 0.45), (W2, 0.48), (W3, 0.49)):
        add(f"{w} at home, fully or partly (tno_works_at_home)", value,
            lambda w=w: _harmonised(d, wave == w, "tno_works_at_home"))
    add("W2 can work at home, RIVM's definition (tno_can_work_at_home)", 0.53,
        lambda: _harmonised(d, wave == W2, "tno_can_work_at_home"))
    add("W2 could work more, of not fully at home", 0.14,
        lambda: _share(d, (wave == W2) & not_fully, "could_any", 1))
    add("W2 could work more (employer), % of all in work", 0.048,
        lambda: _share(d, (wave == W2) & in_work, "could_1", 1))
    add("W2 could work more (preference), % of all in work", 0.044,
        lambda: _share(d, (wave == W2) & in_work, "could_2", 1))
    add("W2 could work more, % of all in work", 0.092,
        lambda: _share(d, (wave == W2) & in_work, "could_any", 1))
    add("W2 satisfied with life (home workers)", 0.75,
        lambda: _share(d, (wave == W2) & home, "satisfied", 1))
    add("W2 strongly lonely (home workers)", 0.14,
        lambda: _share(d, (wave == W2) & home, "strongly_lonely", 1))
    add("2019 complaints (W2 home workers)", 0.42,
        lambda: _share(d, home_2019_w2, "neck_arm_shoulder_complaints", 1))
    add("W2 complaints (home workers)", 0.38,
        lambda: _share(d, (wave == W2) & home, "neck_arm_shoulder_complaints", 1))
    add("W2 work-life imbalance (home workers)", 0.09,
        lambda: _share(d, (wave == W2) & home, "work_life_imbalance", 1))
    add("W2 employer applies measures (on location)", 0.90,
        lambda: _share(d, (wave == W2) & onloc, "employer_applies_measures", 1))
    add("W1 PPE provided (on location)", 0.61,
        lambda: _share(d, (wave == W1) & onloc, "ppe_provided", 1))
    add("W2 PPE provided (on location)", 0.77,
        lambda: _share(d, (wave == W2) & onloc, "ppe_provided", 1))
    add("W2 PPE worn (of provided)", 0.84,
        lambda: _share(d, (wave == W2) & provided, "ppe_worn", 1))
    add("W2 hygiene possible (on location)", 0.93,
        lambda: _share(d, (wave == W2) & onloc, "hygiene_possible", 1))
    add("W2 distance colleagues not possible", 0.34,
        lambda: _share(d, (wave == W2) & onloc, "can_keep_distance_colleagues", 2))
    add("W2 distance clients not possible (with clients)", 0.48,
        lambda: _share(d, (wave == W2) & clients, "can_keep_distance_clients", 2))
    add("2019 hours at home (2019 home workers)", 5.0,
        lambda: _mean(d, (wave == "2019") & home, "hours_at_home"))
    add("W1 hours at home (home workers)", 30.0,
        lambda: _mean(d, (wave == W1) & home, "hours_at_home"))
    return out


def _harmonised(d: nc.SurveyDesign, wave: pd.Series, name: str) -> tuple[float, float, float]:
    est = nc.harmonised_proportion(d.subset(wave.to_numpy()), nc.get_definition(name))
    frame = est.to_frame()
    row = frame[frame["level"] == "yes"].iloc[0]
    return float(row["estimate"]), float(row["ci_low"]), float(row["ci_high"])


def test_published_figures_within_ci(df: pd.DataFrame, design: nc.SurveyDesign) -> None:
    outside = [(label, value, est) for label, value, est in published_figures(df, design)
               if not est[1] <= value <= est[2]]
    assert not outside


def test_rows_per_wave(df: pd.DataFrame) -> None:
    counts = df.groupby("wave", observed=True).size()
    assert counts.tolist() == [26_300, 10_616, 9_829, 8_911]
    assert list(df["wave"].cat.categories) == ["2019", W1, W2, W3]
    assert df["wave"].cat.ordered
    assert not df.duplicated(["panel_id", "wave"]).any()


def test_attrition_is_not_monotone(df: pd.DataFrame) -> None:
    answered = pd.crosstab(df["panel_id"], df["wave"]).astype(bool)
    skipped_w2_back_w3 = (answered[W1] & ~answered[W2] & answered[W3]).sum()
    missed_w1_in_w2 = (~answered[W1] & answered[W2]).sum()
    assert skipped_w2_back_w3 > 100
    assert missed_w1_in_w2 > 100


def test_calibration_hits_margins(df: pd.DataFrame) -> None:
    margins = gen.population_margins()
    for _, rows in df.groupby("wave", observed=True):
        for variable, totals in margins.items():
            achieved = rows.groupby(variable)["weight"].sum()
            np.testing.assert_allclose(achieved.reindex(totals.index), totals, rtol=1e-6)
    design_totals = df[df["wave"] == "2019"].groupby("stratum")["design_weight"].sum()
    np.testing.assert_allclose(design_totals, margins["sector"].reindex(design_totals.index),
                               rtol=1e-6)


def test_codebook_conformity(df: pd.DataFrame, design: nc.SurveyDesign) -> None:
    out = nc.get_definition("tno_works_at_home").apply(df, unknown="raise")
    assert "unknown_code" not in set(out["works_at_home_missing"].dropna())
    w2 = design.subset((df["wave"] == W2).to_numpy())
    for name, value in (("tno_works_at_home", 0.48), ("tno_can_work_at_home", 0.53)):
        frame = nc.harmonised_proportion(w2, nc.get_definition(name)).to_frame()
        yes = float(frame.loc[frame["level"] == "yes", "estimate"].iloc[0])
        assert yes == pytest.approx(value, abs=0.005)
    for name in ("employment_status", "work_location", "could_work_more_at_home"):
        codes = set(nc.harmonisation.SOURCE_VARIABLES[name].codes or {})
        assert set(df[name].dropna().astype(int)) <= codes
    asked = df["could_work_more_at_home"].notna()
    assert df.loc[asked, "work_location"].isin([2, 3]).all()
    assert (df.loc[df["employment_status"] == 3, "work_location"] == 4).all()


def test_generator_is_deterministic() -> None:
    a = gen.to_csv_gz(gen.generate(seed=7, n_invited=2000))
    b = gen.to_csv_gz(gen.generate(seed=7, n_invited=2000))
    c = gen.to_csv_gz(gen.generate(seed=8, n_invited=2000))
    assert a == b
    assert a != c


def test_shipped_file_equals_fresh_generation() -> None:
    start = time.perf_counter()
    fresh = gen.to_csv_gz(gen.generate())
    assert time.perf_counter() - start < 20
    shipped = resources.files("nea_covid.datasets").joinpath(
        "data", "nea_covid.csv.gz").read_bytes()
    assert hashlib.sha256(fresh).hexdigest() == hashlib.sha256(shipped).hexdigest()


def test_value_labels_cover_the_codes_in_the_data() -> None:
    panel = nc.datasets.load_nea_covid()
    for variable in ("sector", "sex", "age_class", "education", "company_size", "occupation"):
        labels = nc.datasets.value_labels(variable)
        assert set(panel[variable].dropna().astype(int)) <= set(labels), variable
    labels = nc.datasets.value_labels("sector")
    labels[1] = "changed"  # a new dict each call
    assert nc.datasets.value_labels("sector")[1] == "agriculture and fishing"
    with pytest.raises(nc.ColumnNotFoundError, match="'sector'"):
        nc.datasets.value_labels("region")
