"""Behaviour beyond the R fixtures: variable types, identities between estimators."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import nea_covid as nc

APISTRAT = nc.datasets.load_api("strat")


@pytest.fixture
def d() -> nc.SurveyDesign:
    return nc.SurveyDesign(APISTRAT, weights="pw", strata="stype", fpc="fpc")


def test_proportion_of_boolean_equals_mean(d: nc.SurveyDesign) -> None:
    df = APISTRAT.assign(big=APISTRAT["enroll"] > 500)
    d2 = nc.SurveyDesign(df, weights="pw", strata="stype", fpc="fpc")
    prop = nc.proportion(d2, "big")
    assert prop.cells["level"].tolist() == [False, True]
    mean = nc.mean(d2, "big")
    np.testing.assert_allclose(prop.estimate[1], mean.estimate[0], rtol=1e-14)
    np.testing.assert_allclose(prop.standard_error[1], mean.standard_error[0], rtol=1e-12)


def test_categorical_keeps_unused_levels_and_integer_codes_work() -> None:
    df = APISTRAT.assign(
        kind=pd.Categorical(APISTRAT["stype"], categories=["E", "H", "M", "X"]),
        code=APISTRAT["stype"].map({"E": 1, "H": 2, "M": 3}),
    )
    d = nc.SurveyDesign(df, weights="pw", strata="stype", fpc="fpc")
    kind = nc.proportion(d, "kind")
    assert kind.cells["level"].tolist() == ["E", "H", "M", "X"]
    assert kind.estimate[3] == 0.0
    code = nc.proportion(d, "code")
    assert code.cells["level"].tolist() == [1, 2, 3]
    np.testing.assert_allclose(code.estimate, kind.estimate[:3], rtol=1e-14)


def test_several_variables_share_one_covariance(d: nc.SurveyDesign) -> None:
    both = nc.proportion(d, ["awards", "sch.wide"], by="stype")
    frame = both.to_frame()
    sums = frame.groupby(["stype", "variable"])["estimate"].sum()
    np.testing.assert_allclose(sums, 1.0, rtol=1e-12)
    alone = nc.proportion(d, "sch.wide", by="stype")
    mask = (both.cells["variable"] == "sch.wide").to_numpy()
    np.testing.assert_allclose(both.standard_error[mask], alone.standard_error, rtol=1e-12)
    assert both.vcov.shape == (12, 12)
    ds = both.to_xarray()
    assert set(ds.dims) == {"stype", "variable", "level"}


def test_missing_omit_is_listwise(d: nc.SurveyDesign) -> None:
    df = APISTRAT.copy()
    df.loc[[0, 1], "api00"] = np.nan
    df.loc[[2], "enroll"] = np.nan
    d2 = nc.SurveyDesign(df, weights="pw", strata="stype", fpc="fpc")
    est = nc.mean(d2, ["api00", "enroll"], missing="omit")
    assert est.n_missing == 3
    alone = nc.mean(d2.subset(df[["api00", "enroll"]].notna().all(axis=1)), "enroll")
    np.testing.assert_allclose(est.estimate[1], alone.estimate[0], rtol=1e-14)


def test_quantile_by_domain_equals_subset_quantile(d: nc.SurveyDesign) -> None:
    by = nc.quantile(d, "api00", [0.1, 0.5, 0.9], by="stype")
    sub = nc.quantile(d.subset(APISTRAT["stype"] == "H"), "api00", [0.1, 0.5, 0.9])
    np.testing.assert_array_equal(by.estimate[3:6], sub.estimate)
    assert np.all(np.isfinite(by.vcov[:3, :3]))


def test_ratio_outer_product(d: nc.SurveyDesign) -> None:
    est = nc.ratio(d, ["api.stu", "api00"], ["enroll", "api99"])
    assert est.cells["variable"].tolist() == [
        "api.stu/enroll", "api00/enroll", "api.stu/api99", "api00/api99"]
    single = nc.ratio(d, "api00", "api99")
    np.testing.assert_allclose(est.standard_error[3], single.standard_error[0], rtol=1e-12)


def test_weights_and_subset(d: nc.SurveyDesign) -> None:
    assert isinstance(d.weights, pd.Series)
    assert d.weights.index.equals(APISTRAT.index)
    sub = d.subset(APISTRAT["stype"] == "E")
    assert (sub.weights[APISTRAT["stype"] != "E"] == 0).all()
    assert sub.degf == 99
    assert "domain: 100 of 200 rows" in repr(sub)


def test_two_stage_weights_derived_from_fpc() -> None:
    clus2 = nc.datasets.load_api("clus2")
    d = nc.SurveyDesign(clus2, clusters=["dnum", "snum"], fpc=["fpc1", "fpc2"])
    np.testing.assert_allclose(d.weights, clus2["pw"], rtol=1e-6)  # pw is rounded in R's data
    assert d.n_stages == 2
    assert d.degf == 39


def test_confidence_level_of_quantile_defines_its_se(d: nc.SurveyDesign) -> None:
    q95 = nc.quantile(d, "api00", 0.5)
    q90 = nc.quantile(d, "api00", 0.5, confidence_level=0.9)
    ci = q95.confidence_interval(0.9)
    np.testing.assert_array_equal(ci.low, q90.confidence_interval().low)


def test_quantile_exact_ties_follow_the_inverse_cdf(d: nc.SurveyDesign) -> None:
    """Deliberate difference from R: with equal weights in the H schools, the 10%
    point of the weighted CDF is reached exactly at the 5th smallest value (5 of 50).
    R compares rounded sums of 1/(1/w) and returns the 6th (472); the quantile rule
    R documents (smallest x with F(x) >= p) gives the 5th."""
    h = APISTRAT.loc[APISTRAT["stype"] == "H", "api00"].sort_values().to_numpy()
    est = nc.quantile(d, "api00", 0.1, by="stype")
    assert est.estimate[1] == h[4] == 467
    sub = nc.quantile(d.subset(APISTRAT["stype"] == "H"), "api00", 0.1)
    assert sub.estimate[0] == 467


def test_beta_intervals_use_each_domains_degrees_of_freedom(d: nc.SurveyDesign) -> None:
    """As R's svyciprop(method="beta"): by= and subset() give the same interval
    (R: 0.197985, 0.463154 for awards == "Yes" among H schools)."""
    by = nc.proportion(d, "awards", by="stype").confidence_interval(method="beta")
    sub = nc.proportion(d.subset(APISTRAT["stype"] == "H"), "awards").confidence_interval(
        method="beta")
    np.testing.assert_allclose([by.low[3], by.high[3]], [sub.low[1], sub.high[1]],
                               rtol=1e-12)
    np.testing.assert_allclose([sub.low[1], sub.high[1]], [0.197985, 0.463154], atol=5e-7)


def test_normalised_weights_give_nan_design_effects() -> None:
    df = APISTRAT.assign(w=APISTRAT["pw"] / APISTRAT["pw"].mean())
    est = nc.mean(nc.SurveyDesign(df, weights="w", strata="stype"), "api00")
    assert np.isnan(est.deff[0])
