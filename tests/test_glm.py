"""nc.glm: the result contract, invariances, agreement with independent computations
(weighted least squares, per-replicate refits, nc.mean), and clear errors for bad
input. Agreement with R is in test_reference_glm.py."""

from __future__ import annotations

import importlib
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import special

import nea_covid as nc
from nea_covid.replicates import svr_variance
from nea_covid.scores import RowScores

GLM = importlib.import_module("nea_covid.glm")  # the module (nc.glm is the function)

APISTRAT = nc.datasets.load_api("strat")
APICLUS1 = nc.datasets.load_api("clus1")
APICLUS2 = nc.datasets.load_api("clus2")
STRAT = nc.SurveyDesign(APISTRAT, weights="pw", strata="stype", fpc="fpc")
CLUS1 = nc.SurveyDesign(APICLUS1, weights="pw", clusters="dnum", fpc="fpc")
CLUS1_JK1 = CLUS1.to_replicate("JK1")
STRAT_JKN = STRAT.to_replicate("JKn")

FITS = {
    "taylor_gaussian": lambda: nc.glm(STRAT, "api00 ~ ell + meals + stype"),
    "taylor_binomial": lambda: nc.glm(CLUS1, 'Q("sch.wide") ~ ell + meals', family="binomial"),
    "replicate_gaussian": lambda: nc.glm(CLUS1_JK1, "api00 ~ ell + meals"),
    "replicate_binomial": lambda: nc.glm(STRAT_JKN, "I(api00 > 700) ~ ell + stype",
                                         family="binomial"),
}


def same_fit(a: nc.Regression, b: nc.Regression, rtol: float = 1e-10) -> None:
    assert a.terms == b.terms
    np.testing.assert_allclose(a.estimate, b.estimate, rtol=rtol)
    scale = float(np.max(np.diag(a.vcov)))
    np.testing.assert_allclose(a.vcov, b.vcov, rtol=rtol, atol=rtol * scale)
    assert a.df == b.df
    np.testing.assert_allclose(a.dispersion, b.dispersion, rtol=rtol)


# ---------------------------------------------------------------------- contract
@pytest.fixture(params=sorted(FITS))
def fit(request: pytest.FixtureRequest) -> nc.Regression:
    return FITS[request.param]()


def test_result_contract(fit: nc.Regression) -> None:
    k = len(fit)
    assert list(fit.cells.columns) == ["term"]
    assert fit.terms[0] == "Intercept"
    for name in ("estimate", "standard_error", "statistic", "pvalue"):
        assert getattr(fit, name).shape == (k,)
    assert fit.vcov.shape == (k, k)
    np.testing.assert_allclose(fit.vcov, fit.vcov.T, rtol=1e-12)
    np.testing.assert_allclose(np.sqrt(np.diag(fit.vcov)), fit.standard_error, rtol=1e-12)
    np.testing.assert_allclose(fit.statistic, fit.estimate / fit.standard_error, rtol=1e-12)
    assert np.all((fit.pvalue > 0) & (fit.pvalue <= 1))
    assert isinstance(fit.df, int)
    assert fit.df > 0
    assert fit.iterations >= 1
    assert fit.n_obs > 0
    assert fit.n_missing == 0
    assert np.isfinite(fit.dispersion)
    assert fit.dispersion > 0


def test_to_frame_and_xarray(fit: nc.Regression) -> None:
    frame = fit.to_frame()
    assert list(frame.columns) == ["term", "estimate", "standard_error", "ci_low", "ci_high",
                                   "statistic", "df", "pvalue"]
    assert frame["term"].tolist() == fit.terms
    assert (frame["df"] == fit.df).all()
    ds = fit.to_xarray()
    assert "term" in ds.dims
    assert ds["vcov"].shape == (len(fit), len(fit))
    assert ds.attrs["df"] == fit.df
    assert ds.attrs["family"] == fit.family


def test_intervals(fit: nc.Regression) -> None:
    for level in (0.8, 0.95):
        ci = fit.confidence_interval(level)
        assert np.all((ci.low < fit.estimate) & (fit.estimate < ci.high))
    wide, narrow = fit.confidence_interval(0.99), fit.confidence_interval(0.5)
    assert np.all(wide.high - wide.low > narrow.high - narrow.low)
    with pytest.raises(ValueError, match="confidence_level"):
        fit.confidence_interval(1.5)


def test_frozen_read_only_and_display(fit: nc.Regression) -> None:
    with pytest.raises(ValueError, match="read-only"):
        fit.estimate[0] = 0.0
    with pytest.raises(ValueError, match="read-only"):
        fit.vcov[0, 0] = 0.0
    with pytest.raises(AttributeError):
        fit.df = 3  # type: ignore[misc]
    text = repr(fit)
    assert fit.formula in text
    assert fit.terms[-1] in text
    assert "<table" in fit._repr_html_()


def test_replicates_kept_for_contrasts(fit: nc.Regression) -> None:
    if fit._replicates is None:
        return
    reps = fit._replicates
    assert reps.thetas.shape[1] == len(fit)
    np.testing.assert_allclose(reps.vcov(fit.estimate), fit.vcov, rtol=1e-12)


def test_taylor_fits_keep_no_replicates() -> None:
    assert FITS["taylor_gaussian"]()._replicates is None


# ---------------------------------------------------------------------- agreement
@pytest.mark.parametrize("design",
                         [STRAT, CLUS1, CLUS1_JK1, STRAT.subset(APISTRAT["stype"] == "E")],
                         ids=["strat", "clus1", "clus1_jk1", "strat_subset"])
def test_intercept_only_linear_model_is_the_mean(design: Any) -> None:
    fit = nc.glm(design, "api00 ~ 1")
    mean = nc.mean(design, "api00")
    np.testing.assert_allclose(fit.estimate, mean.estimate, rtol=1e-12)
    np.testing.assert_allclose(fit.standard_error, mean.standard_error, rtol=1e-10)
    assert fit.df == design.degf


@pytest.mark.parametrize("design", [STRAT, CLUS1_JK1], ids=["strat", "clus1_jk1"])
def test_intercept_only_logistic_model_is_the_logit_of_the_proportion(design: Any) -> None:
    data = design.data.assign(high=(design.data["api00"] > 700).astype(float))
    d = (nc.SurveyDesign(data, weights="pw", strata="stype", fpc="fpc")
         if isinstance(design, nc.SurveyDesign) else
         nc.SurveyDesign(data, weights="pw", clusters="dnum", fpc="fpc").to_replicate("JK1"))
    fit = nc.glm(d, "high ~ 1", family="binomial")
    share = nc.mean(d, "high")
    p = share.estimate[0]
    # R's IRLS stops short of the exact logit by far less than 1e-9
    np.testing.assert_allclose(fit.estimate[0], special.logit(p), rtol=1e-9)
    if share._replicates is None:  # Taylor: the delta method is exact for the sandwich
        np.testing.assert_allclose(fit.standard_error[0],
                                   share.standard_error[0] / (p * (1 - p)), rtol=1e-7)
    else:  # replicates: every replicate's logit is the logit of its proportion
        assert fit._replicates is not None
        np.testing.assert_allclose(fit._replicates.thetas,
                                   special.logit(share._replicates.thetas), rtol=1e-8)


def test_linear_model_is_weighted_least_squares() -> None:
    fit = nc.glm(STRAT, "api00 ~ ell + meals + mobility")
    x = sm.add_constant(APISTRAT[["ell", "meals", "mobility"]].to_numpy(dtype=float))
    wls = sm.WLS(APISTRAT["api00"].to_numpy(dtype=float), x, weights=APISTRAT["pw"]).fit()
    np.testing.assert_allclose(fit.estimate, wls.params, rtol=1e-10)


def _design_matrix(data: pd.DataFrame, columns: list[str]) -> Any:
    return sm.add_constant(data[columns].to_numpy(dtype=float))


def test_replicate_linear_models_are_refits_per_replicate() -> None:
    fit = nc.glm(STRAT_JKN, "api00 ~ ell + meals + mobility")
    x = _design_matrix(APISTRAT, ["ell", "meals", "mobility"])
    y = APISTRAT["api00"].to_numpy(dtype=float)
    reps = STRAT_JKN.replicate_weights()
    expected = np.array([sm.WLS(y, x, weights=reps[:, r]).fit().params
                         for r in range(reps.shape[1])])  # a loop in the test only
    assert fit._replicates is not None
    np.testing.assert_allclose(fit._replicates.thetas, expected, rtol=1e-10)
    v = svr_variance(expected, fit.estimate, STRAT_JKN.scale, STRAT_JKN.rscales, False)
    np.testing.assert_allclose(fit.vcov, v, rtol=1e-8)


def test_replicate_logistic_models_are_refits_per_replicate() -> None:
    fit = nc.glm(CLUS1_JK1, 'Q("sch.wide") ~ ell + meals', family="binomial")
    x = _design_matrix(APICLUS1, ["ell", "meals"])
    y = (APICLUS1["sch.wide"] == "Yes").to_numpy(dtype=float)
    reps = CLUS1_JK1.replicate_weights()
    expected = np.array([
        sm.GLM(y, x, family=sm.families.Binomial(), var_weights=reps[:, r] / reps[:, r].sum())
        .fit(tol=1e-14).params for r in range(reps.shape[1])])
    assert fit._replicates is not None
    # R stops at |dev - dev_old| / (|dev| + 0.1) < 1e-8: a few digits short of the MLE
    np.testing.assert_allclose(fit._replicates.thetas, expected, rtol=1e-6)


def test_fractional_response_is_quasibinomial() -> None:
    data = APISTRAT.assign(share=APISTRAT["meals"] / 100)
    d = nc.SurveyDesign(data, weights="pw", strata="stype", fpc="fpc")
    fit = nc.glm(d, "share ~ ell + mobility", family="quasibinomial")
    assert fit.family == "binomial"
    x = _design_matrix(data, ["ell", "mobility"])
    ref = sm.GLM(data["share"].to_numpy(), x, family=sm.families.Binomial(),
                 var_weights=data["pw"].to_numpy()).fit(tol=1e-14)
    np.testing.assert_allclose(fit.estimate, ref.params, rtol=1e-6)


def test_dense_scores_give_the_row_scores_variance() -> None:
    rng = np.random.default_rng(5)
    cases = [STRAT, CLUS1, nc.SurveyDesign(APICLUS2, clusters=["dnum", "snum"],
                                           fpc=["fpc1", "fpc2"]),
             CLUS1.poststratify("stype", {"E": 4421, "H": 755, "M": 1018})]
    for d in cases:
        rows = np.sort(rng.choice(d.n_rows, size=d.n_rows - 7, replace=False))
        values = rng.normal(size=(rows.shape[0], 3))
        dense = d._vcov(GLM._DenseScores(rows, values))
        coord = d._vcov(RowScores.from_cells(rows, np.zeros(rows.shape[0], np.intp), values, 1))
        np.testing.assert_allclose(dense, coord, rtol=1e-12, atol=1e-12 * np.abs(coord).max())


def test_iteration_rule_is_that_of_r() -> None:
    devs = {1: np.array([10.0, 5.0]), 2: np.array([9.0, 5.0 + 1e-9]), 3: np.array([9.0])}
    seen: list[list[int]] = []

    def step(iteration: int, active: Any) -> Any:
        seen.append(active.tolist())
        return devs[iteration][: active.size]

    iterations, converged = GLM.glm_iterations(step, np.array([20.0, 0.0]))
    assert seen == [[0, 1], [0, 1], [0]]
    assert iterations.tolist() == [3, 2]
    assert converged.tolist() == [True, True]


# ---------------------------------------------------------------------- invariances
@pytest.mark.parametrize(("formula", "family"), [("api00 ~ ell + meals + stype", "gaussian"),
                                             ("I(api00 > 700) ~ ell + stype", "binomial")])
def test_scaling_the_weights_leaves_the_fit_unchanged(formula: str, family: str) -> None:
    scaled = APISTRAT.assign(pw=APISTRAT["pw"] * 7.25)
    d = nc.SurveyDesign(scaled, weights="pw", strata="stype", fpc="fpc")
    same_fit(nc.glm(d, formula, family), nc.glm(STRAT, formula, family))
    boot = [f"rep{r}" for r in range(1, 51)]
    data = pd.read_csv(_boot_csv())
    rd = nc.ReplicateDesign(data, weights="pw", replicate_weights=boot, method="bootstrap")
    big = data.assign(**{c: data[c] * 3.5 for c in ["pw", *boot]})
    rd_big = nc.ReplicateDesign(big, weights="pw", replicate_weights=boot, method="bootstrap")
    same_fit(nc.glm(rd_big, formula, family), nc.glm(rd, formula, family))


def _boot_csv() -> Any:
    from reference_data import HERE

    return HERE / "data" / "apistrat_boot.csv"


@pytest.mark.parametrize(("formula", "family"), [("api00 ~ ell + meals + stype", "gaussian"),
                                             ('Q("sch.wide") ~ ell + meals', "binomial")])
def test_permuting_rows_leaves_the_fit_unchanged(formula: str, family: str) -> None:
    order = np.random.default_rng(3).permutation(APICLUS1.shape[0])
    shuffled = APICLUS1.iloc[order]
    d = nc.SurveyDesign(shuffled, weights="pw", clusters="dnum", fpc="fpc")
    same_fit(nc.glm(d, formula, family), nc.glm(CLUS1, formula, family), rtol=1e-9)
    # a replicate design with replicate-weight columns (a conversion orders its
    # replicates by the PSUs' first appearance, which a permutation changes)
    reps = CLUS1_JK1.replicate_weights()
    cols = [f"r{j}" for j in range(reps.shape[1])]
    with_reps = APICLUS1.assign(**{c: reps[:, j] for j, c in enumerate(cols)})
    rd = nc.ReplicateDesign(with_reps, weights="pw", replicate_weights=cols, method="JK1",
                            scale=CLUS1_JK1.scale)
    rd_shuffled = nc.ReplicateDesign(with_reps.iloc[order], weights="pw", replicate_weights=cols,
                                     method="JK1", scale=CLUS1_JK1.scale)
    same_fit(nc.glm(rd_shuffled, formula, family), nc.glm(rd, formula, family), rtol=1e-9)


def test_category_order_is_respected() -> None:
    text = nc.glm(STRAT, "api00 ~ ell + stype")
    data = APISTRAT.assign(stype=pd.Categorical(APISTRAT["stype"], categories=["M", "H", "E", "X"]))
    d = nc.SurveyDesign(data, weights="pw", strata="stype", fpc="fpc")
    cat = nc.glm(d, "api00 ~ ell + stype")  # unused category "X" dropped
    assert cat.terms == ["Intercept", "ell", "stype[T.H]", "stype[T.E]"]
    np.testing.assert_allclose(cat.estimate[1], text.estimate[1], rtol=1e-10)
    np.testing.assert_allclose(cat.standard_error[1], text.standard_error[1], rtol=1e-9)
    np.testing.assert_allclose(cat.estimate[0], text.estimate[0] + text.estimate[3], rtol=1e-10)


def test_terms_in_rs_order() -> None:
    fit = nc.glm(STRAT, 'api00 ~ ell:meals + stype * Q("sch.wide") + ell')
    assert fit.terms == ["Intercept", "stype[T.H]", "stype[T.M]", "sch.wide[T.Yes]", "ell",
                         "ell:meals", "stype[T.H]:sch.wide[T.Yes]", "stype[T.M]:sch.wide[T.Yes]"]


def test_boolean_and_function_terms() -> None:
    data = APISTRAT.assign(big=APISTRAT["enroll"] > 500)
    d = nc.SurveyDesign(data, weights="pw", strata="stype", fpc="fpc")
    fit = nc.glm(d, "big ~ np.log(api00) + ell", family="binomial")
    assert fit.terms == ["Intercept", "np.log(api00)", "ell"]
    lin = nc.glm(d, "api00 ~ big")
    assert lin.terms == ["Intercept", "big[T.True]"]
    as_number = nc.glm(d, "big ~ ell")  # a boolean response is 0/1
    assert as_number.family == "gaussian"


def test_subset_drops_absent_levels() -> None:
    mask = APISTRAT["stype"] != "E"
    fit = nc.glm(STRAT.subset(mask), "api00 ~ ell + stype")
    assert fit.terms == ["Intercept", "ell", "stype[T.M]"]
    assert fit.n_obs == int(mask.sum())
    data = APISTRAT.assign(stype=pd.Categorical(APISTRAT["stype"]))
    d = nc.SurveyDesign(data, weights="pw", strata="stype", fpc="fpc")
    same_fit(nc.glm(d.subset(mask), "api00 ~ ell + stype"), fit)


# ---------------------------------------------------------------------- missing values
def test_missing_values_raise_or_are_omitted() -> None:
    with pytest.raises(nc.MissingValueError, match=r"'acs.k3' has 103 missing values"):
        nc.glm(STRAT, 'api00 ~ ell + Q("acs.k3")')
    fit = nc.glm(STRAT, 'api00 ~ ell + Q("acs.k3")', missing="omit")
    assert fit.n_missing == 103
    assert fit.n_obs == 97
    assert fit.terms == ["Intercept", "ell", "acs.k3"]
    assert "omitted" in repr(fit)
    # missing values outside the domain do not count
    observed = APISTRAT["acs.k3"].notna()
    inside = nc.glm(STRAT.subset(observed), 'api00 ~ ell + Q("acs.k3")')
    assert inside.n_missing == 0
    np.testing.assert_allclose(inside.estimate, fit.estimate, rtol=1e-10)


def test_missing_response_and_levels_seen_only_in_dropped_rows() -> None:
    data = APISTRAT.assign(
        y=APISTRAT["api00"].where(APISTRAT.index % 10 != 0),
        group=np.where(APISTRAT.index % 10 == 0, "Z", np.where(APISTRAT["ell"] > 20, "a", "b")),
    )
    d = nc.SurveyDesign(data, weights="pw", strata="stype", fpc="fpc")
    with pytest.raises(nc.MissingValueError, match="'y' has 20 missing values"):
        nc.glm(d, "y ~ group")
    fit = nc.glm(d, "y ~ group", missing="omit")
    assert fit.terms == ["Intercept", "group[T.b]"]
    assert fit.n_missing == 20


def test_nan_from_a_transformation() -> None:
    with np.errstate(invalid="ignore"), pytest.raises(nc.MissingValueError, match="NaN"):
        nc.glm(STRAT, "api00 ~ np.sqrt(ell - 10)")


def test_the_users_data_is_not_modified() -> None:
    data = APISTRAT.assign(stype=pd.Categorical(APISTRAT["stype"], categories=["E", "H", "M", "X"]),
                           n=APISTRAT["acs.k3"].astype("Float64"))
    before = data.copy(deep=True)
    d = nc.SurveyDesign(data, weights="pw", strata="stype", fpc="fpc")
    nc.glm(d.subset(data["stype"] != "M"), "api00 ~ ell + stype", missing="omit")
    nc.glm(d, "api00 ~ ell + n", missing="omit")
    # n (acs.k3) is missing outside elementary schools: stype would have one level
    with pytest.raises(nc.DesignError, match="single level"):
        nc.glm(d.subset(data["stype"] != "M"), "api00 ~ ell + stype + n", missing="omit")
    nc.glm(d, 'Q("sch.wide") ~ ell + n', family="binomial", missing="omit")
    pd.testing.assert_frame_equal(data, before)


# ---------------------------------------------------------------------- bad input
def test_unknown_columns() -> None:
    with pytest.raises(nc.ColumnNotFoundError, match="'nope'"):
        nc.glm(STRAT, "api00 ~ ell + nope")
    with pytest.raises(nc.ColumnNotFoundError, match=r"Did you mean 'sch\.wide'"):
        nc.glm(STRAT, 'api00 ~ Q("sch.wid")')
    with pytest.raises(nc.ColumnNotFoundError, match="'api0'"):
        nc.glm(STRAT, "api0 ~ ell")


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"family": "poisson"}, "family"),
    ({"missing": "drop"}, "missing"),
])
def test_bad_arguments(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        nc.glm(STRAT, "api00 ~ ell", **kwargs)


@pytest.mark.parametrize("formula", ["~ ell", "api00 + api99 ~ ell", "api00 ~ 0", "api00 ~ (ell",
                                     3])
def test_bad_formulas(formula: Any) -> None:
    with pytest.raises(nc.DesignError):
        nc.glm(STRAT, formula)


def test_not_a_design() -> None:
    with pytest.raises(nc.DesignError, match="SurveyDesign"):
        nc.glm(APISTRAT, "api00 ~ ell")  # type: ignore[arg-type]


@pytest.mark.parametrize(("formula", "family", "match"), [
    ('Q("sch.wide") ~ ell', "gaussian", "numeric response"),
    ("stype ~ ell", "binomial", "3 levels"),
    ("api00 ~ ell", "binomial", "between 0 and 1"),
])
def test_response_of_the_wrong_kind(formula: str, family: str, match: str) -> None:
    with pytest.raises(nc.VariableTypeError, match=match):
        nc.glm(STRAT, formula, family)


def test_infinite_values() -> None:
    data = APISTRAT.assign(x=APISTRAT["ell"].astype(float), y=APISTRAT["api00"].astype(float))
    data.loc[data.index[3], "x"] = np.inf
    data.loc[data.index[5], "y"] = -np.inf
    d = nc.SurveyDesign(data, weights="pw", strata="stype", fpc="fpc")
    with pytest.raises(nc.VariableTypeError, match="infinite values in 'x'"):
        nc.glm(d, "api00 ~ x")
    with pytest.raises(nc.VariableTypeError, match="response has 1 infinite value"):
        nc.glm(d, "y ~ ell")
    with np.errstate(divide="ignore"), pytest.raises(nc.VariableTypeError, match="infinite"):
        nc.glm(STRAT, "api00 ~ np.log(ell)")  # ell is 0 in some schools


def test_rank_deficient_model_names_the_aliased_terms() -> None:
    with pytest.raises(nc.DesignError, match=r"'I\(2 \* ell\)' is a linear combination"):
        nc.glm(STRAT, "api00 ~ ell + I(2 * ell)")
    with pytest.raises(nc.DesignError, match="rank deficient"):
        nc.glm(STRAT, "I(api00 > 700) ~ meals + I(100 - meals)", family="binomial")
    with pytest.raises(nc.DesignError, match=r"'I\(0 \* ell\)'"):  # a column of zeros
        nc.glm(STRAT, "api00 ~ I(0 * ell) + ell")


def test_too_few_degrees_of_freedom() -> None:
    with pytest.raises(nc.DegreesOfFreedomError, match=r"df\.residual"):
        nc.glm(CLUS1, "api00 ~ C(dnum)")  # 15 districts, degf 14
    with pytest.raises(nc.DegreesOfFreedomError):
        nc.glm(CLUS1_JK1, "api00 ~ C(dnum)")


def test_separation_is_a_convergence_error() -> None:
    with pytest.raises(nc.ConvergenceError, match="separate"):
        nc.glm(STRAT, "I(api00 > 700) ~ api00", family="binomial")
    with pytest.raises(nc.ConvergenceError):
        nc.glm(CLUS1_JK1, "I(api00 > 700) ~ api00", family="binomial")


def test_model_not_estimable_in_a_replicate() -> None:
    first = APICLUS1["dnum"].iloc[0]
    data = APICLUS1.assign(group=np.where(APICLUS1["dnum"] == first, "a", "b"))
    rd = nc.SurveyDesign(data, weights="pw", clusters="dnum", fpc="fpc").to_replicate("JK1")
    with pytest.raises(nc.DesignError, match="cannot be estimated in 1 replicate"):
        nc.glm(rd, "api00 ~ group")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nc.glm(rd.subset(data["group"] == "b"), "api00 ~ ell")  # fine without it


def test_empty_domain() -> None:
    with pytest.raises(nc.DesignError):
        nc.glm(STRAT.subset(np.zeros(STRAT.n_rows, dtype=bool)), "api00 ~ ell")


def test_term_test_and_dotted_names() -> None:
    d = nc.SurveyDesign(nc.datasets.load_api("clus1"), clusters="dnum", weights="pw",
                        fpc="fpc")
    fit = nc.glm(d, "api00 ~ ell * stype")
    both = fit.term_test("stype", "ell:stype")
    assert both.ndf == 4
    assert fit.term_test("ell:stype", method="adjWald").ddf == fit.df - 2 + 1
    with pytest.raises(nc.DesignError, match="no term 'x'"):
        fit.term_test("x")
    with pytest.raises(nc.ColumnNotFoundError, match=r'Q\("sch.wide"\)'):
        nc.glm(d, "sch.wide ~ ell", family="binomial")


def test_review_cases() -> None:
    data = nc.datasets.load_api("clus1").assign(one="x", allna=np.nan, const=5.0)
    d = nc.SurveyDesign(data, clusters="dnum", weights="pw", fpc="fpc")
    with pytest.raises(nc.DesignError, match="single level"):
        nc.glm(d, "api00 ~ one")
    with pytest.raises(nc.MissingValueError, match="'allna' is missing in 183 rows"):
        nc.glm(d, "api00 ~ allna", missing="omit")
    fit = nc.glm(d, "api00 ~ I(ell > 10) + np.log(meals + 1)")
    assert fit.term_test("I(ell > 10)").ndf == 1
    assert fit.term_test("np.log(meals + 1)").ndf == 1
    with pytest.warns(nc.ZeroVarianceWarning, match="Intercept"):
        flat = nc.glm(d, "const ~ 1")
    assert np.isnan(flat.statistic[0])
    joint = fit.term_test("I(ell > 10)", "np.log(meals + 1)")
    assert float(joint.to_xarray()["ndf"]) == 2
