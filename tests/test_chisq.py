"""nc.chisq beyond the R fixtures: bad input gets our own exceptions (never an
IndexError, KeyError, ZeroDivisionError or LinAlgError), zero or singular variances a
ZeroVarianceWarning and NaN, and the statistics have the invariances of the test
(weights rescaled, variables swapped, rows permuted, unused or zero-weight levels)."""

from __future__ import annotations

import dataclasses
import doctest
import importlib
import warnings

import numpy as np
import pandas as pd
import pytest

import nea_covid as nc
from nea_covid.chisq import _pchisqsum_saddle, _satterthwaite

STATISTICS = ["F", "Chisq", "Wald", "adjWald", "saddlepoint"]
APISTRAT = nc.datasets.load_api("strat")
APICLUS1 = nc.datasets.load_api("clus1")
NHANES = nc.datasets.load_nhanes()


def strat(df: pd.DataFrame | None = None) -> nc.SurveyDesign:
    return nc.SurveyDesign(APISTRAT if df is None else df, weights="pw", strata="stype",
                           fpc="fpc")


def clus1(df: pd.DataFrame | None = None) -> nc.SurveyDesign:
    return nc.SurveyDesign(APICLUS1 if df is None else df, weights="pw", clusters="dnum",
                           fpc="fpc")


def nhanes() -> nc.SurveyDesign:
    return nc.SurveyDesign(NHANES, weights="WTMEC2YR", strata="SDMVSTRA",
                           clusters="SDMVPSU", nest=True)


def same_test(a: nc.ChisqTest, b: nc.ChisqTest, rtol: float = 1e-10) -> None:
    np.testing.assert_allclose(a.statistic, b.statistic, rtol=rtol)
    np.testing.assert_allclose(a.pvalue, b.pvalue, rtol=rtol)
    for x, y in ((a.ndf, b.ndf), (a.ddf, b.ddf)):
        assert (x is None) == (y is None)
        if x is not None and y is not None:
            np.testing.assert_allclose(x, y, rtol=rtol)
    assert a.df == b.df
    if a.design_effects is not None and b.design_effects is not None:
        np.testing.assert_allclose(a.design_effects, b.design_effects, rtol=rtol, atol=1e-12)


# ---------------------------------------------------------------------- bad input
def test_unknown_column_names_it() -> None:
    d = strat()
    with pytest.raises(nc.ColumnNotFoundError, match=r"'styp'.*Did you mean 'stype'"):
        nc.chisq(d, "styp", "awards")
    with pytest.raises(KeyError, match="'award'"):
        nc.chisq(d, "stype", "award")


def test_single_level_is_a_design_error() -> None:
    d = strat()
    elementary = d.subset(APISTRAT["stype"] == "E")
    with pytest.raises(nc.DesignError, match=r"'stype' has a single level \('E'\)"):
        nc.chisq(elementary, "stype", "awards")
    constant = APISTRAT.assign(one="x")
    with pytest.raises(nc.DesignError, match="at least two levels"):
        nc.chisq(strat(constant), "stype", "one")


def test_numeric_non_integer_variable() -> None:
    with pytest.raises(nc.VariableTypeError, match=r"'pw'.*non-integer"):
        nc.chisq(strat(), "stype", "pw")


def test_same_variable_twice_and_bad_arguments() -> None:
    d = strat()
    with pytest.raises(nc.DesignError, match="same column"):
        nc.chisq(d, "stype", "stype")
    with pytest.raises(nc.DesignError, match=r"'lincom'.*saddlepoint"):
        nc.chisq(d, "stype", "awards", statistic="lincom")  # type: ignore[arg-type]
    with pytest.raises(nc.DesignError, match="`statistic`"):
        nc.chisq(d, "stype", "awards", statistic="wald")  # type: ignore[arg-type]
    with pytest.raises(nc.DesignError, match="`missing`"):
        nc.chisq(d, "stype", "awards", missing="drop")  # type: ignore[arg-type]
    with pytest.raises(nc.DesignError, match="SurveyDesign"):
        nc.chisq(APISTRAT, "stype", "awards")  # type: ignore[arg-type]


def test_missing_values_raise_naming_column_and_count() -> None:
    d = nhanes()
    with pytest.raises(nc.MissingValueError, match="'HI_CHOL' has 745 missing values"):
        nc.chisq(d, "race", "HI_CHOL")
    t = nc.chisq(d, "race", "HI_CHOL", missing="omit")
    assert (t.n_missing, t.n_obs, t.n_rows) == (745, NHANES.shape[0] - 745, NHANES.shape[0])


def test_no_complete_rows() -> None:
    df = APISTRAT.assign(empty=np.nan)
    with pytest.raises(nc.MissingValueError, match="'empty' has 200 missing values"):
        nc.chisq(strat(df), "stype", "empty")
    with pytest.raises(nc.DesignError, match="no table to test"):
        nc.chisq(strat(df), "stype", "empty", missing="omit")


def few_districts(breaks: list[float]) -> nc.SurveyDesign:
    """apiclus1 in four districts (nu = 3), with api00 in len(breaks) + 1 bands."""
    few = APICLUS1[APICLUS1["dnum"].isin([178, 437, 568, 716])].reset_index(drop=True)
    band = (few["api00"].to_numpy()[:, None] > np.asarray(breaks)).sum(axis=1)
    return nc.SurveyDesign(few.assign(band=band), weights="pw", clusters="dnum")


def test_adjwald_with_too_few_degrees_of_freedom() -> None:
    d = few_districts([600, 700])
    assert d.degf == 3
    with pytest.raises(nc.DegreesOfFreedomError,
                       match=r"nu = 3 and the table 4 numerator degrees of freedom"):
        nc.chisq(d, "stype", "band", statistic="adjWald")


def test_no_degrees_of_freedom() -> None:
    # every row its own stratum: nu = 0
    df = APISTRAT.head(12).assign(h=np.arange(12))
    with pytest.warns(nc.LonelyPSUWarning):
        d = nc.SurveyDesign(df, weights="pw", strata="h", lonely_psu="certainty")
    for statistic in ("F", "Wald", "adjWald", "saddlepoint"):
        with pytest.raises(nc.DegreesOfFreedomError, match="has 0"):
            nc.chisq(d, "stype", "awards", statistic=statistic)  # type: ignore[arg-type]
    with pytest.warns(nc.ZeroVarianceWarning):  # Chisq needs no df; the variance is zero
        t = nc.chisq(d, "stype", "awards", statistic="Chisq")
    assert np.isnan(t.statistic)
    assert np.isnan(t.pvalue)


@pytest.mark.parametrize("statistic", STATISTICS)
def test_zero_variance_warns_and_gives_nan(statistic: str) -> None:
    # every school of every stratum sampled (fpc = sample size): no sampling variance
    n_h = APISTRAT.groupby("stype")["stype"].transform("size")
    d = nc.SurveyDesign(APISTRAT.assign(census=n_h), weights="pw", strata="stype",
                        fpc="census")
    with pytest.warns(nc.ZeroVarianceWarning, match="NaN"):
        t = nc.chisq(d, "stype", "awards", statistic=statistic)  # type: ignore[arg-type]
    assert np.isnan(t.statistic)
    assert np.isnan(t.pvalue)
    assert np.isfinite(t.pearson)


def test_singular_wald_covariance_warns() -> None:
    d = few_districts([600, 700, 800])
    with pytest.warns(nc.ZeroVarianceWarning, match=r"rank is at most the design's nu = 3"):
        t = nc.chisq(d, "stype", "band", statistic="Wald")
    assert np.isnan(t.statistic)
    assert np.isfinite(nc.chisq(d, "stype", "band").statistic)  # Rao-Scott is defined


def test_too_many_cells() -> None:
    df = APISTRAT.assign(a=np.arange(200) % 60, b=np.arange(200) // 4 % 50)
    with pytest.raises(nc.DesignError, match="at most 2,500 cells"):
        nc.chisq(strat(df), "a", "b")


# ---------------------------------------------------------------------- invariants
@pytest.mark.parametrize("statistic", STATISTICS)
def test_scaling_the_weights_changes_nothing(statistic: str) -> None:
    base = nc.chisq(clus1(), "stype", "awards", statistic=statistic)  # type: ignore[arg-type]
    scaled = nc.chisq(clus1(APICLUS1.assign(pw=APICLUS1["pw"] * 3.7)), "stype", "awards",
                      statistic=statistic)  # type: ignore[arg-type]
    same_test(base, scaled)
    np.testing.assert_allclose(scaled.pearson, base.pearson, rtol=1e-12)
    np.testing.assert_allclose(scaled.counts, 3.7 * base.counts, rtol=1e-12)


@pytest.mark.parametrize("statistic", STATISTICS)
def test_swapping_rows_and_columns(statistic: str) -> None:
    d = nhanes()
    a = nc.chisq(d, "race", "agecat", statistic=statistic)  # type: ignore[arg-type]
    b = nc.chisq(d, "agecat", "race", statistic=statistic)  # type: ignore[arg-type]
    same_test(a, b, rtol=1e-9)
    np.testing.assert_allclose(a.pearson, b.pearson, rtol=1e-12)
    np.testing.assert_allclose(a.counts, b.counts.T, rtol=1e-12)


@pytest.mark.parametrize("statistic", STATISTICS)
def test_permuting_the_rows(statistic: str) -> None:
    order = np.random.default_rng(7).permutation(APISTRAT.shape[0])
    shuffled = APISTRAT.iloc[order]
    a = nc.chisq(strat(), "stype", "awards", statistic=statistic)  # type: ignore[arg-type]
    b = nc.chisq(strat(shuffled), "stype", "awards", statistic=statistic)  # type: ignore[arg-type]
    same_test(a, b)
    rd = clus1().to_replicate("JK1")
    rd_shuffled = clus1(APICLUS1.sample(frac=1.0, random_state=3)).to_replicate("JK1")
    same_test(nc.chisq(rd, "stype", "sch.wide", statistic=statistic),  # type: ignore[arg-type]
              nc.chisq(rd_shuffled, "stype", "sch.wide", statistic=statistic))  # type: ignore[arg-type]


def test_relabelling_and_reordering_levels() -> None:
    base = nc.chisq(strat(), "stype", "awards")
    recoded = APISTRAT.assign(
        school=APISTRAT["stype"].map({"E": 3, "H": 1, "M": 2}),
        awards=pd.Categorical(APISTRAT["awards"], categories=["Yes", "No", "Maybe"]),
    )
    t = nc.chisq(strat(recoded), "school", "awards")
    same_test(base, t)
    assert list(t.column_levels) == ["Yes", "No"]  # the unused category is left out
    assert list(t.row_levels) == [1, 2, 3]


def test_booleans_and_missing_omit_without_missing_values() -> None:
    df = APISTRAT.assign(yes=APISTRAT["awards"] == "Yes")
    a = nc.chisq(strat(df), "stype", "yes")
    b = nc.chisq(strat(df), "stype", "awards", missing="omit")
    same_test(a, b)
    assert b.n_missing == 0


def test_zero_weight_rows_and_their_levels_leave_the_table() -> None:
    # three extra rows (PSUs of the design, so both designs have the same strata
    # sizes) with zero weight: a level seen only there is not part of the table
    extra = APISTRAT.iloc[:3].assign(pw=0.0)
    known = pd.concat([APISTRAT, extra], ignore_index=True)
    unknown = pd.concat([APISTRAT, extra.assign(awards="Maybe")], ignore_index=True)
    for statistic in STATISTICS:
        base = nc.chisq(strat(known), "stype", "awards", statistic=statistic)  # type: ignore[arg-type]
        t = nc.chisq(strat(unknown), "stype", "awards", statistic=statistic)  # type: ignore[arg-type]
        same_test(base, t)
        assert list(t.column_levels) == ["No", "Yes"]
        assert (t.n_rows, t.n_obs) == (203, 200)


def test_levels_seen_only_in_incomplete_rows_are_not_in_the_table() -> None:
    # R counts such a level (its table then has a zero margin and a NaN statistic)
    d = nhanes()
    base = nc.chisq(d, "race", "HI_CHOL", missing="omit")
    race = NHANES["race"].where(NHANES["HI_CHOL"].notna() | (NHANES["race"] != 4), 9)
    t = nc.chisq(nc.SurveyDesign(NHANES.assign(race=race), weights="WTMEC2YR",
                                 strata="SDMVSTRA", clusters="SDMVPSU", nest=True),
                 "race", "HI_CHOL", missing="omit")
    assert list(t.row_levels) == [1, 2, 3, 4]
    same_test(base, t)
    np.testing.assert_allclose(t.pearson, base.pearson, rtol=1e-12)


def test_subset_of_replicate_design_uses_its_degf() -> None:
    rd = clus1().to_replicate("JK1")
    sub = rd.subset(APICLUS1["yr.rnd"] == "No")
    assert nc.chisq(sub, "stype", "awards").df == sub.degf


def test_taylor_and_replicate_f_tests_agree_roughly() -> None:
    taylor = nc.chisq(clus1(), "stype", "awards")
    rep = nc.chisq(clus1().to_replicate("JK1"), "stype", "awards")
    assert rep.df == taylor.df == 14
    assert abs(rep.statistic - taylor.statistic) < 0.2 * taylor.statistic


# ---------------------------------------------------------------------- saddlepoint
def test_saddlepoint_falls_back_to_satterthwaite_at_the_mean() -> None:
    a = np.array([2.0, 1.0, 0.5])
    scale, df = _satterthwaite(a)
    from scipy import stats

    at_mean = _pchisqsum_saddle(float(a.sum()), a)
    assert at_mean == pytest.approx(stats.chi2.sf(a.sum() / scale, df), rel=1e-12)
    far = _pchisqsum_saddle(30.0, a)
    assert 0 < far < stats.chi2.sf(30.0 / a.max(), 1) * 3


# ---------------------------------------------------------------------- the result
def test_result_is_frozen_and_displays() -> None:
    t = nc.chisq(strat(), "stype", "awards")
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.statistic = 0.0  # type: ignore[misc]
    assert t.design_effects is not None
    with pytest.raises(ValueError, match="read-only"):
        t.design_effects[0] = 0.0
    with pytest.raises(ValueError, match="read-only"):
        t.counts[0, 0] = 0.0
    table = t.table
    table.iloc[0, 0] = -1.0  # a copy: the result is unchanged
    assert t.counts[0, 0] > 0
    assert table.index.name == "stype"
    assert table.columns.name == "awards"
    assert "F = 14.1694" in repr(t)
    assert "stype x awards" in repr(t)
    html = t._repr_html_()
    assert "<table" in html
    assert "Rao &amp; Scott" in html


def test_to_frame_and_to_xarray() -> None:
    for statistic in STATISTICS:
        t = nc.chisq(strat(), "stype", "awards", statistic=statistic)  # type: ignore[arg-type]
        frame = t.to_frame()
        assert list(frame.columns) == ["name", "statistic", "ndf", "ddf", "pvalue", "method"]
        assert len(frame) == 1
        assert frame["pvalue"].iloc[0] == t.pvalue
        assert np.isnan(frame["ddf"].iloc[0]) == (t.ddf is None)
        ds = t.to_xarray()
        assert dict(ds["table"].sizes) == {"stype": 3, "awards": 2}
        assert float(ds["statistic"]) == t.statistic
        assert ds.attrs["test"] == statistic
        assert ("design_effects" in ds) == (t.design_effects is not None)
    clash = APISTRAT.assign(statistic=APISTRAT["awards"])
    ds = nc.chisq(strat(clash), "stype", "statistic").to_xarray()
    assert "statistic_" in ds["table"].dims


def test_docstring_examples_run() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = doctest.testmod(importlib.import_module("nea_covid.chisq"),
                                 optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0
