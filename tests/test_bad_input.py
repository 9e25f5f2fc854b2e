"""Bad input gets a clear exception of our own (or a documented warning), never a bare
IndexError, KeyError, ZeroDivisionError or numpy warning; the user's data is never
modified."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import nea_covid as nc


@pytest.fixture
def strat() -> pd.DataFrame:
    return nc.datasets.load_api("strat")


def design(df: pd.DataFrame, **kw: object) -> nc.SurveyDesign:
    args: dict[str, object] = {"weights": "pw", "strata": "stype", "fpc": "fpc"}
    args.update(kw)
    return nc.SurveyDesign(df, **args)  # type: ignore[arg-type]


def test_unknown_design_column_names_it_and_suggests(strat: pd.DataFrame) -> None:
    with pytest.raises(nc.ColumnNotFoundError, match=r"'pww'.*Did you mean 'pw'"):
        design(strat, weights="pww")
    with pytest.raises(KeyError):  # still a KeyError for code that catches those
        design(strat, strata="type")


def test_unknown_variable_and_by_column(strat: pd.DataFrame) -> None:
    d = design(strat)
    with pytest.raises(nc.ColumnNotFoundError, match="'api01'"):
        nc.mean(d, "api01")
    with pytest.raises(nc.ColumnNotFoundError, match="'styp'"):
        nc.mean(d, "api00", by="styp")
    with pytest.raises(ValueError, match="'x'"):
        nc.ratio(d, "api00", "x")


@pytest.mark.parametrize(
    ("value", "what"), [(-1.0, "negative"), (np.nan, "missing"), (np.inf, "infinite")]
)
def test_bad_weights_are_counted(strat: pd.DataFrame, value: float, what: str) -> None:
    df = strat.copy()
    df.loc[[3, 17, 42], "pw"] = value
    with pytest.raises(nc.WeightError, match=rf"'pw' has 3 {what} weights \(rows 3, 17, 42\)"):
        design(df)


def test_all_zero_and_text_weights(strat: pd.DataFrame) -> None:
    df = strat.assign(pw=0.0)
    with pytest.raises(nc.WeightError, match="zero in all 200 rows"):
        design(df)
    with pytest.raises(nc.WeightError, match="numeric"):
        design(strat.assign(pw="1"))


@pytest.mark.parametrize("column", ["stype", "fpc", "dnum"])
def test_missing_values_in_design_columns(strat: pd.DataFrame, column: str) -> None:
    df = strat.copy()
    if column != "fpc":
        df[column] = df[column].astype(object)
    df.loc[[5, 6], column] = None
    with pytest.raises(nc.MissingValueError, match=rf"'{column}' has 2 missing values"):
        design(df, clusters="dnum", nest=True) if column == "dnum" else design(df)


def test_missing_analysis_values_raise_or_are_omitted_and_counted(strat: pd.DataFrame) -> None:
    df = strat.copy()
    df.loc[[1, 2, 3], "enroll"] = np.nan
    d = design(df)
    with pytest.raises(nc.MissingValueError, match=r"'enroll' has 3 missing values.*omit"):
        nc.mean(d, "enroll")
    est = nc.mean(d, "enroll", missing="omit")
    assert est.n_missing == 3
    assert est.n_obs[0] == 197
    assert np.isfinite(est.estimate[0])
    # missing by-values behave the same way
    dom = df["stype"].astype(object)
    dom[7] = None
    d2 = design(df.assign(dom=dom))
    with pytest.raises(nc.MissingValueError, match="'dom' has 1 missing value"):
        nc.mean(d2, "api00", by="dom")
    assert nc.mean(d2, "api00", by="dom", missing="omit").n_missing == 1


def test_fpc_problems(strat: pd.DataFrame) -> None:
    small = strat.assign(fpc=np.where(strat["stype"] == "H", 10, strat["fpc"]))
    with pytest.raises(nc.FPCError, match=r"more than 100% sampling"):
        design(small)
    varying = strat.copy()
    varying.loc[0, "fpc"] = varying.loc[0, "fpc"] + 1
    with pytest.raises(nc.FPCError, match=r"varies within 1 stratum"):
        design(varying)
    with pytest.raises(nc.FPCError, match="<= 0"):
        design(strat.assign(fpc=np.where(strat.index == 4, -0.5, 0.2)))
    with pytest.raises(nc.FPCError, match="not a mix"):
        design(strat.assign(fpc=np.where(strat["stype"] == "E", 0.5, strat["fpc"])))


def test_fpc_as_fraction_equals_population_size(strat: pd.DataFrame) -> None:
    n_h = strat.groupby("stype")["stype"].transform("size")
    frac = strat.assign(f=n_h / strat["fpc"])
    a = nc.mean(design(strat), "api00")
    b = nc.mean(design(frac, fpc="f"), "api00")
    np.testing.assert_allclose(b.standard_error, a.standard_error, rtol=1e-12)


def test_lonely_psu_raise_names_the_stratum(strat: pd.DataFrame) -> None:
    df = strat[(strat["stype"] != "H") | (strat.index == strat.index[strat["stype"] == "H"][0])]
    with pytest.raises(nc.LonelyPSUError, match=r"1 stratum of 'stype' has only one PSU \('H'\)"):
        nc.SurveyDesign(df, weights="pw", strata="stype")
    with pytest.warns(nc.LonelyPSUWarning, match="handled by lonely_psu='adjust'"):
        d = nc.SurveyDesign(df, weights="pw", strata="stype", lonely_psu="adjust")
    assert np.isfinite(nc.mean(d, "api00").standard_error[0])


def test_non_numeric_variable_for_mean_and_total(strat: pd.DataFrame) -> None:
    d = design(strat)
    with pytest.raises(nc.VariableTypeError, match=r"'sch.wide' is not numeric.*proportion"):
        nc.mean(d, "sch.wide")
    with pytest.raises(TypeError):
        nc.total(d, "name")
    with pytest.raises(nc.VariableTypeError, match="non-integer"):
        nc.proportion(d, "avg.ed")


def test_psu_in_two_strata_without_nest() -> None:
    nh = nc.datasets.load_nhanes()
    with pytest.raises(nc.NestingError, match=r"'SDMVPSU'.*nest=True"):
        nc.SurveyDesign(nh, weights="WTMEC2YR", strata="SDMVSTRA", clusters="SDMVPSU")


def test_empty_domain_is_nan_with_warning(strat: pd.DataFrame) -> None:
    d = design(strat).subset(strat["stype"] == "X")
    with pytest.warns(nc.EmptyDomainWarning):
        est = nc.mean(d, "api00")
    assert np.isnan(est.estimate[0])
    assert est.n_obs[0] == 0
    df = strat.assign(enroll=np.where(strat["stype"] == "H", np.nan, strat["enroll"]))
    with pytest.warns(nc.EmptyDomainWarning, match="stype=H"):
        est = nc.mean(design(df), "enroll", by="stype", missing="omit")
    frame = est.to_frame()
    assert frame.loc[frame["stype"] == "H", "n_obs"].item() == 0
    assert np.isnan(frame.loc[frame["stype"] == "H", "estimate"].item())
    assert np.isfinite(frame.loc[frame["stype"] == "E", "standard_error"].item())


def test_bad_arguments(strat: pd.DataFrame) -> None:
    d = design(strat)
    with pytest.raises(nc.DesignError, match="lonely_psu"):
        design(strat, lonely_psu="fail")
    with pytest.raises(nc.DesignError, match="missing"):
        nc.mean(d, "api00", missing="drop")  # type: ignore[arg-type]
    with pytest.raises(nc.ArgumentError, match="quantiles"):
        nc.quantile(d, "api00", 1.5)
    with pytest.raises(nc.DesignError, match="one value per row"):
        d.subset(np.ones(3, bool))
    with pytest.raises(nc.DesignError, match="DataFrame"):
        nc.SurveyDesign(strat.to_numpy(), weights="pw")  # type: ignore[arg-type]
    with pytest.raises(nc.DesignError, match="sampling stage"):
        design(strat, strata=["stype", "sch.wide"])
    with pytest.raises(ValueError, match="confidence_level"):
        nc.mean(d, "api00").confidence_interval(1.5)


def test_domain_mask_with_missing_values(strat: pd.DataFrame) -> None:
    d = design(strat)
    mask = pd.Series(strat["stype"] == "E", dtype="boolean")
    mask.iloc[4] = pd.NA
    with pytest.raises(nc.MissingValueError, match="fillna"):
        d.subset(mask)


def test_user_dataframe_is_never_modified(strat: pd.DataFrame) -> None:
    before = strat.copy(deep=True)
    df = strat.assign(enroll=strat["enroll"].where(strat.index != 3))
    frozen = df.copy(deep=True)
    d = nc.SurveyDesign(df, weights="pw", strata="stype", fpc="fpc")
    nc.mean(d, "enroll", by="stype", missing="omit")
    nc.total(d, "api00")
    nc.proportion(d, "awards", by=["stype", "sch.wide"]).confidence_interval(method="likelihood")
    nc.ratio(d, "api.stu", "enroll", missing="omit")
    nc.quantile(d, "api00", [0.1, 0.9], by="stype")
    d.subset(df["stype"] == "E")
    pd.testing.assert_frame_equal(df, frozen)
    pd.testing.assert_frame_equal(strat, before)
    # and later edits of the user's frame do not reach the design
    df.loc[0, "api00"] = -1
    assert nc.mean(d, "api00").estimate[0] == nc.mean(
        nc.SurveyDesign(frozen, weights="pw", strata="stype", fpc="fpc"), "api00").estimate[0]


def test_by_column_with_a_result_name_is_refused(strat: pd.DataFrame) -> None:
    d = design(strat.assign(estimate=strat["stype"]))
    with pytest.raises(nc.DesignError, match="name of a result column"):
        nc.mean(d, "api00", by="estimate")


def test_zero_denominator_gives_nan_se_and_warns(strat: pd.DataFrame) -> None:
    d = design(strat.assign(x=strat["enroll"].where(strat["stype"] != "H", 0)))
    with pytest.warns(nc.ZeroDenominatorWarning):
        est = nc.ratio(d, "api.stu", "x", by="stype")
    h = (est.cells["stype"] == "H").to_numpy()
    assert np.isinf(est.estimate[h]).all()
    assert np.isnan(est.standard_error[h]).all()
    assert np.isfinite(est.standard_error[~h]).all()


def test_too_many_cells_is_a_clear_error(strat: pd.DataFrame) -> None:
    big = pd.concat([strat] * 60, ignore_index=True)
    big["cell"] = np.arange(len(big))
    d = nc.SurveyDesign(big, weights="pw")
    with pytest.raises(nc.DesignError, match="GiB"):
        nc.mean(d, "api00", by="cell")


def test_complex_and_boolean_variables(strat: pd.DataFrame) -> None:
    d = design(strat.assign(c=strat["api00"] + 1j,
                            b=pd.array(strat["api00"] > 600, dtype="boolean")))
    with pytest.raises(nc.VariableTypeError, match="complex"):
        nc.mean(d, "c")
    with pytest.raises(nc.VariableTypeError, match="boolean"):
        nc.quantile(d, "b")


def test_design_data_is_a_copy(strat: pd.DataFrame) -> None:
    d = design(strat)
    before = nc.mean(d, "api00").estimate[0]
    data = d.data
    data["api00"] = 0
    assert nc.mean(d, "api00").estimate[0] == before


def test_missing_stage_fpc_is_named_in_lonely_error() -> None:
    clus2 = nc.datasets.load_api("clus2")
    with pytest.raises(nc.LonelyPSUError, match="no fpc is given for stage 2"):
        nc.SurveyDesign(clus2, weights="pw", clusters=["dnum", "snum"], fpc="fpc1")


def test_with_columns_adds_variables_without_touching_the_data() -> None:
    apistrat = nc.datasets.load_api("strat")
    before = apistrat.copy(deep=True)
    d = nc.SurveyDesign(apistrat, weights="pw", strata="stype", fpc="fpc")
    high = d.with_columns({"high": (apistrat["api00"] > 700).to_numpy()})
    assert "high" in high.data.columns
    assert "high" not in d.data.columns
    assert high.degf == d.degf
    pd.testing.assert_frame_equal(apistrat, before)
    with pytest.raises(nc.DesignError, match="already has a column"):
        d.with_columns({"api00": apistrat["api00"]})
    with pytest.raises(nc.DesignError, match="indexed differently"):
        d.with_columns(pd.DataFrame({"x": [1, 2]}))
    with pytest.raises(nc.DesignError, match="rows"):
        d.with_columns({"x": [1, 2]})
    # a shuffled frame is aligned on the index, not pasted in row order
    frame = (apistrat["api00"] > 700).astype(float).to_frame("high")
    shuffled = frame.sample(frac=1, random_state=1)
    np.testing.assert_allclose(nc.mean(d.with_columns(shuffled), "high").estimate,
                               nc.mean(d.with_columns(frame), "high").estimate)


def test_argument_errors_are_survey_errors() -> None:
    d = nc.SurveyDesign(nc.datasets.load_api("strat"), weights="pw", strata="stype", fpc="fpc")
    est = nc.mean(d, "api00")
    with pytest.raises(nc.ArgumentError, match="confidence_level"):
        est.confidence_interval(95)
    with pytest.raises(nc.ArgumentError, match="not available for a mean"):
        est.confidence_interval(method="logit")
    with pytest.raises(nc.ArgumentError, match="language"):
        nc.format_share(0.48, language="de")
    with pytest.raises(nc.ArgumentError, match="design must be one of"):
        nc.datasets.load_api("stratified")  # type: ignore[arg-type]
    with pytest.raises(nc.ArgumentError, match="confidence_level"):
        nc.extrapolate(nc.proportion(d, "awards"), population=6194).confidence_interval(2)


def test_one_confidence_level_check_everywhere() -> None:
    d = nc.SurveyDesign(nc.datasets.load_api("strat"), weights="pw", strata="stype", fpc="fpc")
    est = nc.proportion(d, "awards", by="stype")
    calls = [
        lambda level: est.confidence_interval(level),
        lambda level: nc.quantile(d, "api00", 0.5, confidence_level=level),
        lambda level: nc.compare(est, "stype", confidence_level=level),
        lambda level: nc.glm(d, "api00 ~ ell").confidence_interval(level),
        lambda level: nc.extrapolate(est, population=6194).confidence_interval(level),
        lambda level: nc.publication_table(est, confidence_level=level),
    ]
    for call in calls:
        with pytest.raises(nc.ArgumentError, match=r"write 0.95, not 95"):
            call(95)
        with pytest.raises(nc.ArgumentError, match="a number in"):
            call("high")
