"""nc.chisq against R's svychisq (tests/reference/chisq.R): every statistic on
stratified, cluster, two-stage, NHANES, subset, post-stratified and replicate designs,
with the design df, Pearson's X^2, the design effects (eigenvalues of Delta) and the
weighted table, at relative 1e-10; saddlepoint p-values at 1e-6 (R finds the
saddlepoint to uniroot's tol = 1e-8, nc.chisq to scipy's brentq at 1e-14)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from reference_data import DESIGN_KEYS, close, fixture, load, replicate_design_from

import nea_covid as nc
from nea_covid.chisq import _pchisqsum_saddle, _pfsum_saddle

FIX = fixture("chisq")
TABLES = FIX["tables"]
RESULTS = [(t, r) for t in TABLES for r in t["results"]]
SADDLE_RTOL = 1e-6


def data_for(name: str) -> pd.DataFrame:
    """A data set with the fixture's derived columns: sum(x > b_i) over the breaks."""
    data = load(name)
    for col, spec in FIX["derived"].items():
        if spec["from"] in data.columns:
            x = data[spec["from"]].to_numpy(dtype=float)[:, None]
            data[col] = (x > np.asarray(spec["breaks"], dtype=float)).sum(axis=1)
    return data


def taylor(spec: dict[str, Any], data: pd.DataFrame) -> nc.SurveyDesign:
    return nc.SurveyDesign(data, **{k: spec[k] for k in DESIGN_KEYS if spec.get(k) is not None})


def design(name: str) -> tuple[Any, pd.DataFrame]:
    spec = FIX["designs"][name]
    if spec["kind"] == "taylor":
        data = data_for(spec["spec"]["data"])
        d: Any = taylor(spec["spec"], data)
        if "poststratify" in spec:
            d = d.poststratify(spec["poststratify"]["variable"], spec["poststratify"]["totals"])
        return d, data
    if spec["kind"] == "conversion":
        data = data_for(spec["source"]["data"])
        return taylor(spec["source"], data).to_replicate(spec["method"]), data
    return replicate_design_from(spec, data_for(spec["data"]))


def table_design(table: dict[str, Any]) -> Any:
    d, data = design(table["design"])
    if table["subset"]:
        sub = table["subset"]
        d = d.subset(data[sub["column"]] == sub["value"])
    return d


def label(value: Any) -> str:
    """Level labels as R prints them (whole numbers without a decimal point)."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


@pytest.mark.parametrize("name", sorted(FIX["designs"]))
def test_design_degf(name: str) -> None:
    d, _ = design(name)
    assert d.degf == FIX["designs"][name]["degf"]


@pytest.mark.parametrize(("table", "result"), RESULTS,
                         ids=[f"{t['id']}-{r['statistic']}" for t, r in RESULTS])
def test_matches_r(table: dict[str, Any], result: dict[str, Any]) -> None:
    d = table_design(table)
    t = nc.chisq(d, table["row"], table["column"], statistic=result["statistic"],
                 missing=table["missing"])
    assert t.test == result["statistic"]
    assert t.statistic_name == result["name"], result["r_call"]
    close(t.statistic, result["value"])
    if result["statistic"] == "saddlepoint":
        np.testing.assert_allclose(t.pvalue, result["pvalue"], rtol=SADDLE_RTOL)
    else:
        close(t.pvalue, result["pvalue"])
    for ours, theirs in ((t.ndf, result["ndf"]), (t.ddf, result["ddf"])):
        assert (ours is None) == (theirs is None), result["r_call"]
        if theirs is not None:
            close(ours, theirs)
    replicate = FIX["designs"][table["design"]]["replicate"]
    if replicate and result["statistic"] == "saddlepoint":
        # R's svrep method overwrites the description with the Rao-Scott one
        assert t.method == "Pearson's X^2: saddlepoint approximation"
    else:
        assert t.method == result["method"]
    assert t.df == table["nu"]
    close(t.pearson, table["pearson"])
    if result["statistic"] in ("Wald", "adjWald"):
        assert t.design_effects is None
    else:
        assert t.design_effects is not None
        close(t.design_effects, table["design_effects"])


@pytest.mark.parametrize("table", TABLES, ids=[t["id"] for t in TABLES])
def test_table_and_counts(table: dict[str, Any]) -> None:
    t = nc.chisq(table_design(table), table["row"], table["column"], missing=table["missing"])
    assert [label(v) for v in t.row_levels] == table["row_levels"]
    assert [label(v) for v in t.column_levels] == table["column_levels"]
    close(t.counts, table["table"])
    close(t.table.to_numpy(), table["table"])
    assert (t.n_rows, t.n_obs, t.n_missing) == (
        table["n_rows"], table["n_obs"], table["n_missing"])


def test_missing_values_raise_where_r_drops_them() -> None:
    table = next(t for t in TABLES if t["missing"] == "omit")
    with pytest.raises(nc.MissingValueError, match=table["row"] + "|" + table["column"]):
        nc.chisq(table_design(table), table["row"], table["column"])


# ---------------------------------------------------------------------- R's failures
ERRORS = FIX["errors"]


def few_design(case: dict[str, Any]) -> nc.SurveyDesign:
    data = data_for(case["spec"]["data"])
    keep = data[case["keep"]["column"]].isin(case["keep"]["values"])
    return taylor(case["spec"], data[keep].reset_index(drop=True))


@pytest.mark.parametrize("case", ERRORS, ids=[c["id"] for c in ERRORS])
def test_where_r_stops(case: dict[str, Any]) -> None:
    d = few_design(case)
    assert d.degf == case["nu"]
    # R: "system is computationally singular" for both Wald tests
    assert all("singular" in msg for msg in case["r_errors"])
    with pytest.warns(nc.ZeroVarianceWarning, match="singular"):
        wald = nc.chisq(d, case["row"], case["column"], statistic="Wald")
    assert np.isnan(wald.statistic)
    assert np.isnan(wald.pvalue)
    assert (wald.ndf, wald.ddf, wald.df) == (case["numdf"], case["nu"], case["nu"])
    with pytest.raises(nc.DegreesOfFreedomError, match="adjWald"):
        nc.chisq(d, case["row"], case["column"], statistic="adjWald")
    f = nc.chisq(d, case["row"], case["column"])
    close(f.statistic, case["f_statistic"])
    close(f.pvalue, case["f_pvalue"])
    close(f.ndf, case["f_ndf"])
    close(f.ddf, case["f_ddf"])


# ---------------------------------------------------------------------- saddlepoint
SADDLE = FIX["saddlepoint"]


def _saddle_p(case: dict[str, Any]) -> float:
    a = np.asarray(case["a"], dtype=float)
    if case["kind"] == "pchisqsum":
        return _pchisqsum_saddle(case["x"], a)
    return _pfsum_saddle(case["x"], a, case["ddf"])


@pytest.mark.parametrize("case", SADDLE, ids=[c["r_call"] for c in SADDLE])
def test_saddlepoint_approximation(case: dict[str, Any]) -> None:
    p = _saddle_p(case)
    # against R's saddle() with the root found to 1e-14: the same number
    np.testing.assert_allclose(p, case["pvalue_tight"], rtol=1e-8)
    if case["fallback"]:
        close(p, case["satterthwaite"])
    # against R itself wherever R's own root tolerance (1e-8) leaves its p-value
    # accurate to better than 1e-7: near the mean of the distribution the saddlepoint
    # formula is ill-conditioned, and R's p-value moves by up to ~3e-4 there
    r_error = abs(case["pvalue"] - case["pvalue_tight"]) / case["pvalue"]
    if r_error < 1e-7:
        np.testing.assert_allclose(p, case["pvalue"], rtol=SADDLE_RTOL)


def test_saddlepoint_cases_cover_the_fallback_and_the_ill_conditioned_region() -> None:
    assert any(c["fallback"] for c in SADDLE)
    assert any(abs(c["pvalue"] - c["pvalue_tight"]) > 1e-6 * c["pvalue"] for c in SADDLE)


def test_fixture_is_from_survey_4_1() -> None:
    assert FIX["survey_version"].startswith("4.1")
    assert len(RESULTS) == 5 * len(TABLES)
