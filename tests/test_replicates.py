"""Replicate designs: construction, conversions and identities (R fixtures in
test_reference_replicates.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import nea_covid as nc
from nea_covid.hadamard import hadamard

APISTRAT = nc.datasets.load_api("strat")
APICLUS1 = nc.datasets.load_api("clus1")
FIXTURES = Path(__file__).parent / "reference" / "fixtures"


def strat() -> nc.SurveyDesign:
    return nc.SurveyDesign(APISTRAT, weights="pw", strata="stype", fpc="fpc")


def test_hadamard_matrices_are_rs() -> None:
    for case in json.loads((FIXTURES / "hadamard.json").read_text()):
        expected = np.array([[int(c) for c in row] for row in case["rows"]])
        np.testing.assert_array_equal(hadamard(case["n"]), expected, err_msg=str(case["n"]))


def test_jkn_on_stratified_element_sample_equals_taylor() -> None:
    """With one row per PSU and the fpc in rscales, JKn reproduces the Taylor
    variance of linear statistics exactly (and of means to first order)."""
    d = strat()
    rd = d.to_replicate("JKn")
    assert rd.n_replicates == 200
    assert rd.degf == 197
    for fn in (nc.total,):
        np.testing.assert_allclose(fn(rd, "api00", by="stype").standard_error,
                                   fn(d, "api00", by="stype").standard_error, rtol=1e-10)


def test_replicate_design_from_columns_equals_conversion() -> None:
    rd = strat().to_replicate("JKn")
    reps = rd.replicate_weights()
    cols = [f"rep{i}" for i in range(reps.shape[1])]
    df = pd.concat([APISTRAT, pd.DataFrame(reps, columns=cols)], axis=1)
    again = nc.ReplicateDesign(df, weights="pw", replicate_weights=cols, method="JKn",
                               rscales=rd.rscales, scale=rd.scale)
    by_pattern = nc.ReplicateDesign(df, weights="pw", replicate_weights=r"^rep\d+$",
                                    method="JKn", rscales=rd.rscales)
    for design in (again, by_pattern):
        a = nc.mean(design, "api00", by="stype")
        b = nc.mean(rd, "api00", by="stype")
        np.testing.assert_allclose(a.vcov, b.vcov, rtol=1e-10, atol=1e-12)
        assert design.degf == rd.degf


def test_factors_and_final_weights_agree() -> None:
    rd = strat().to_replicate("JKn")
    factors = rd.replicate_weights() / APISTRAT["pw"].to_numpy()[:, None]
    cols = [f"f{i}" for i in range(factors.shape[1])]
    df = pd.concat([APISTRAT, pd.DataFrame(factors, columns=cols)], axis=1)
    as_factors = nc.ReplicateDesign(df, weights="pw", replicate_weights=cols, method="JKn",
                                    rscales=rd.rscales, combined_weights=False)
    np.testing.assert_allclose(nc.proportion(as_factors, "awards").standard_error,
                               nc.proportion(rd, "awards").standard_error, rtol=1e-10)


def test_mse_centres_at_the_full_sample_estimate() -> None:
    d = nc.SurveyDesign(APICLUS1, weights="pw", clusters="dnum", fpc="fpc")
    plain, mse = d.to_replicate("JK1"), d.to_replicate("JK1", mse=True)
    a, b = nc.ratio(plain, "api.stu", "enroll"), nc.ratio(mse, "api.stu", "enroll")
    assert b.standard_error[0] >= a.standard_error[0]
    np.testing.assert_allclose(b.standard_error, a.standard_error, rtol=1e-3)


def test_bootstrap_is_reproducible_and_sensible() -> None:
    d = nc.SurveyDesign(APICLUS1, weights="pw", clusters="dnum")
    one = d.to_replicate("bootstrap", replicates=400, rng=np.random.default_rng(5))
    two = d.to_replicate("bootstrap", replicates=400, rng=np.random.default_rng(5))
    np.testing.assert_array_equal(one.replicate_weights(), two.replicate_weights())
    se_boot = nc.mean(one, "api00").standard_error[0]
    se_taylor = nc.mean(d, "api00").standard_error[0]
    assert 0.8 < se_boot / se_taylor < 1.2
    with pytest.raises(nc.DesignError, match="rng"):
        d.to_replicate("bootstrap")


def test_bootstrap_with_fpc_draws_without_replacement() -> None:
    d = strat()
    rd = d.to_replicate("bootstrap", replicates=300, rng=np.random.default_rng(7))
    factors = rd._replicates
    # every replicate draws n_h PSUs in each stratum
    n_h = APISTRAT.groupby("stype").size()
    for h, size in n_h.items():
        units = np.unique(d._stages[0].unit[(APISTRAT["stype"] == h).to_numpy()])
        np.testing.assert_array_equal(factors[units].sum(axis=0), size)
    ratio = nc.mean(rd, "api00").standard_error[0] / nc.mean(d, "api00").standard_error[0]
    assert 0.8 < ratio < 1.2


def test_brr_needs_pairs() -> None:
    nhanes = nc.SurveyDesign(nc.datasets.load_nhanes(), weights="WTMEC2YR",
                             strata="SDMVSTRA", clusters="SDMVPSU", nest=True)
    with pytest.raises(nc.DesignError, match="even number"):
        nhanes.to_replicate("BRR")
    with pytest.raises(nc.DesignError, match="JK1"):
        strat().to_replicate("JK1")


def test_bad_replicate_weights() -> None:
    df = APISTRAT.assign(r1=APISTRAT["pw"], r2=APISTRAT["pw"].where(APISTRAT.index != 3))
    with pytest.raises(nc.MissingValueError, match=r"'r2' has 1 missing value \(row 3\)"):
        nc.ReplicateDesign(df, weights="pw", replicate_weights=["r1", "r2"])
    with pytest.raises(nc.DesignError, match="at least 2"):
        nc.ReplicateDesign(df, weights="pw", replicate_weights=["r1"])
    with pytest.raises(nc.ColumnNotFoundError):
        nc.ReplicateDesign(df, weights="pw", replicate_weights=["r1", "r9"])
    with pytest.raises(nc.DesignError, match="rscales"):
        nc.ReplicateDesign(df.assign(r2=df["r1"]), weights="pw",
                           replicate_weights=["r1", "r2"], method="JKn")
    with pytest.raises(nc.DesignError, match="rho"):
        nc.ReplicateDesign(df.assign(r2=df["r1"]), weights="pw",
                           replicate_weights=["r1", "r2"], method="Fay")


def test_subset_of_replicate_design_matches_by() -> None:
    rd = strat().to_replicate("JKn")
    by = nc.mean(rd, "api00", by="stype")
    sub = nc.mean(rd.subset(APISTRAT["stype"] == "M"), "api00")
    np.testing.assert_allclose(sub.standard_error, by.standard_error[2:3], rtol=1e-12)
    assert isinstance(rd.subset(APISTRAT["stype"] == "M"), nc.ReplicateDesign)


def test_sdr_variance_of_a_total_is_the_successive_difference_formula() -> None:
    df = APISTRAT.iloc[:40]
    d = nc.SurveyDesign(df, weights="pw")
    rd = d.to_replicate("SDR", mse=True)
    assert rd.scale == 4 / rd.n_replicates
    u = (df["pw"] * df["api00"]).to_numpy()
    expected = np.sum(np.diff(u) ** 2) / 2 + (u[0] ** 2 + u[-1] ** 2) / 2
    np.testing.assert_allclose(nc.total(rd, "api00").vcov[0, 0], expected, rtol=1e-10)


def test_subset_degrees_of_freedom_as_r() -> None:
    """R recomputes a replicate subset's df from its own replicate weights
    (degf(subset(rd, stype == "M")) is 11 for JK1 on apiclus1; CI from R)."""
    rd = nc.SurveyDesign(APICLUS1, weights="pw", clusters="dnum", fpc="fpc").to_replicate("JK1")
    sub = rd.subset(APICLUS1["stype"] == "M")
    assert sub.degf == 11
    ci = nc.mean(sub, "api00").confidence_interval()
    np.testing.assert_allclose([ci.low[0], ci.high[0]], [557.294048304206, 705.585951695794],
                               rtol=1e-10)


def test_jkn_drops_certainty_strata_as_r() -> None:
    """Strata sampled completely get no replicates (R: survey.drop.replicates);
    R gives 150 replicates, df 148 and this interval."""
    df = APISTRAT.assign(N=np.where(APISTRAT["stype"] == "H", 50, APISTRAT["fpc"]))
    rd = nc.SurveyDesign(df, weights="pw", strata="stype", fpc="N").to_replicate("JKn")
    assert (rd.n_replicates, rd.degf) == (150, 148)
    ci = nc.mean(rd, "api00").confidence_interval()
    np.testing.assert_allclose([ci.low[0], ci.high[0]], [644.045584964168, 680.529141354474],
                               rtol=1e-10)


def test_bad_replicate_arguments_are_clear() -> None:
    df = APISTRAT.assign(r1=APISTRAT["pw"], r2=APISTRAT["pw"] * 1.1)
    for kwargs, match in (({"scale": "x"}, "scale"), ({"scale": -1.0}, "positive"),
                          ({"rscales": [1.0, 2.0, 3.0]}, "rscales"),
                          ({"method": "Fay", "rho": 1.0}, "rho")):
        with pytest.raises(nc.DesignError, match=match):
            nc.ReplicateDesign(df, weights="pw", replicate_weights=["r1", "r2"], **kwargs)
    with pytest.raises(nc.DesignError, match="twice"):
        nc.ReplicateDesign(df, weights="pw", replicate_weights=["r1", "r1", "r2"])
    with pytest.raises(nc.DesignError, match="pattern"):
        nc.ReplicateDesign(df, weights="pw", replicate_weights="r[")
    d = nc.SurveyDesign(APICLUS1, weights="pw", clusters="dnum")
    with pytest.raises(nc.DesignError, match="rho"):
        d.to_replicate("Fay", rho=1.0)
    with pytest.raises(nc.DesignError, match=">= 2"):
        d.to_replicate("bootstrap", replicates=1, rng=np.random.default_rng(1))
    with pytest.raises(nc.DesignError, match="Generator"):
        d.to_replicate("bootstrap", rng=1)  # type: ignore[arg-type]


def test_jkn_with_a_lonely_stratum_warns_nothing_else() -> None:
    nh = pd.read_csv(FIXTURES.parent / "data" / "nhanes_lonely.csv")
    with pytest.warns(nc.LonelyPSUWarning):
        d = nc.SurveyDesign(nh, weights="WTMEC2YR", strata="SDMVSTRA", clusters="SDMVPSU",
                            nest=True, lonely_psu="adjust")
    assert d.to_replicate("JKn").n_replicates == 30
