"""Contrasts, wave-over-wave comparisons, t-tests and published figures: behaviour,
bad input and invariants (the R agreement is in test_reference_comparisons.py)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nea_covid as nc

CLUS1 = nc.datasets.load_api("clus1")
D = nc.SurveyDesign(CLUS1, clusters="dnum", weights="pw", fpc="fpc")


def long_panel(data: pd.DataFrame = CLUS1) -> pd.DataFrame:
    """apiclus1 as a two-wave panel in long format: api99 and api00 per school."""
    keep = ["dnum", "snum", "pw", "fpc", "stype"]
    w99 = data[keep].assign(wave="1999", api=data["api99"])
    w00 = data[keep].assign(wave="2000", api=data["api00"])
    return pd.concat([w99, w00], ignore_index=True)


# ---------------------------------------------------------------------- panel change
def test_wide_and_long_give_the_paired_change_of_r() -> None:
    wide = nc.compare(nc.mean(D, ["api99", "api00"]), along="variable", base="api99",
                      other="api00")
    dl = nc.SurveyDesign(long_panel(), clusters="dnum", weights="pw", fpc="fpc")
    long = nc.compare(nc.mean(dl, "api", by="wave"), along="wave", base="1999", other="2000")
    for ch in (wide, long):
        assert ch.estimate[0] == pytest.approx(37.19126, abs=1e-5)
        assert ch.standard_error[0] == pytest.approx(3.0852, abs=1e-4)
    np.testing.assert_allclose(long.estimate, wide.estimate, rtol=1e-12)
    np.testing.assert_allclose(long.standard_error, wide.standard_error, rtol=1e-10)


def test_independent_ignores_the_panel_covariance() -> None:
    est = nc.mean(D, ["api99", "api00"])
    ind = nc.compare(est, "variable", "api99", "api00", samples="independent")
    assert ind.standard_error[0] == pytest.approx(np.sqrt(est.vcov[0, 0] + est.vcov[1, 1]))
    assert ind.standard_error[0] == pytest.approx(33.78002, abs=1e-5)
    assert ind.pvalue[0] > 0.05 > nc.compare(est, "variable", "api99", "api00").pvalue[0]


def test_change_per_domain_and_adjusted_pvalues() -> None:
    dl = nc.SurveyDesign(long_panel(), clusters="dnum", weights="pw", fpc="fpc")
    est = nc.mean(dl, "api", by=["stype", "wave"])
    ch = nc.compare(est, along="wave", base="1999", other="2000")
    frame = ch.to_frame()
    assert list(frame["stype"]) == ["E", "H", "M"]
    assert {"pvalue_holm", "pvalue_bh", "base_estimate", "other_estimate"} <= set(frame)
    assert np.all(frame["pvalue_holm"] >= frame["pvalue"])
    assert np.all(frame["pvalue_bh"] >= frame["pvalue"] - 1e-15)
    # the same as the wide file's change per domain
    wide = nc.compare(nc.mean(D, ["api99", "api00"], by="stype"), "variable", "api99", "api00")
    np.testing.assert_allclose(ch.estimate, wide.estimate, rtol=1e-12)
    np.testing.assert_allclose(ch.standard_error, wide.standard_error, rtol=1e-10)
    ds = ch.to_xarray()
    assert "stype" in ds.dims
    assert ds.attrs["kind"] == "difference"


def test_successive_and_all_against_base() -> None:
    data = long_panel()
    third = data[data["wave"] == "2000"].assign(
        wave="2001", api=lambda f: f["api"] + f["snum"] % 11)
    dl = nc.SurveyDesign(pd.concat([data, third], ignore_index=True), clusters="dnum",
                         weights="pw", fpc="fpc")
    est = nc.mean(dl, "api", by="wave")
    succ = nc.compare(est, "wave")
    assert list(zip(succ.cells["base"], succ.cells["other"], strict=True)) == [
        ("1999", "2000"), ("2000", "2001")]
    assert succ.estimate[1] > 0
    allb = nc.compare(est, "wave", base="1999")
    assert list(allb.cells["other"]) == ["2000", "2001"]


def test_ratio_and_proportion_changes() -> None:
    est = nc.mean(D, ["api99", "api00"])
    r = nc.compare(est, "variable", "api99", "api00", ratio=True)
    assert r.estimate[0] == pytest.approx(est.estimate[1] / est.estimate[0])
    assert r.null_value[0] == 1.0
    p = nc.proportion(D, "awards", by="stype")
    ch = nc.compare(p, "stype", base="E", where={"level": "Yes"})
    assert list(ch.cells["other"]) == ["H", "M"]
    assert set(ch.cells["level"]) == {"Yes"}


def test_replicate_designs_use_replicates_for_nonlinear() -> None:
    r = D.to_replicate("JK1")
    est = nc.mean(r, ["api99", "api00"])
    assert est._replicates is not None
    nl = nc.contrast(est, lambda c: c["api00"] / c["api99"])
    ratio = nc.compare(est, "variable", "api99", "api00", ratio=True)
    np.testing.assert_allclose(nl.standard_error, ratio.standard_error, rtol=1e-12)
    thetas = est._replicates.thetas
    per_rep = thetas[:, 1] / thetas[:, 0]
    expected = r.scale * np.sum(r.rscales * (per_rep - per_rep.mean()) ** 2)
    assert nl.standard_error[0] ** 2 == pytest.approx(expected, rel=1e-12)


# ---------------------------------------------------------------------- contrasts
def test_contrast_forms_agree() -> None:
    est = nc.mean(D, "api00", by="stype")
    by_name = nc.contrast(est, {"E": 1, "H": -1})
    by_position = nc.contrast(est, [1, -1, 0])
    by_tuple = nc.contrast(est, {("E",): 1, ("H",): -1})
    nonlinear = nc.contrast(est, lambda c: c["E"] - c["H"])
    for other in (by_position, by_tuple, nonlinear):
        np.testing.assert_allclose(other.estimate, by_name.estimate, rtol=1e-12)
        np.testing.assert_allclose(other.standard_error, by_name.standard_error, rtol=1e-9)
    several = nc.contrast(est, {"E-H": {"E": 1, "H": -1}, "E-M": {"E": 1, "M": -1}})
    assert list(several.cells["contrast"]) == ["E-H", "E-M"]
    assert several.vcov.shape == (2, 2)
    matrix = nc.contrast(est, np.array([[1.0, -1.0, 0.0], [1.0, 0.0, -1.0]]))
    np.testing.assert_allclose(matrix.vcov, several.vcov, rtol=1e-12)
    named = nc.contrast(est, lambda c: {"EH": c["E"] / c["H"], "EM": c["E"] / c["M"]})
    assert list(named.cells["contrast"]) == ["EH", "EM"]


def test_contrast_on_a_proportion_needs_tuples() -> None:
    p = nc.proportion(D, "awards", by="stype")
    ok = nc.contrast(p, {("E", "Yes"): 1, ("H", "Yes"): -1})
    assert ok.estimate[0] == pytest.approx(p.estimate[1] - p.estimate[3])
    with pytest.raises(nc.ComparisonError, match=r"names 2 cells.*tuple"):
        nc.contrast(p, {"E": 1})


def test_one_sided_alternatives() -> None:
    est = nc.mean(D, ["api99", "api00"])
    two = nc.compare(est, "variable", "api99", "api00")
    greater = nc.compare(est, "variable", "api99", "api00", alternative="greater")
    less = nc.compare(est, "variable", "api99", "api00", alternative="less")
    assert greater.pvalue[0] == pytest.approx(two.pvalue[0] / 2)
    assert less.pvalue[0] == pytest.approx(1 - two.pvalue[0] / 2)
    assert np.isinf(greater.confidence_interval().high[0])
    assert np.isinf(less.confidence_interval().low[0])


def test_ttest_forms() -> None:
    t = nc.ttest(D, "api00", group="awards")
    assert t.df == D.degf - 1
    one = nc.ttest(D, "api00", mu=700)
    assert one.estimate[0] == pytest.approx(nc.mean(D, "api00").estimate[0])
    assert one.statistic[0] == pytest.approx((one.estimate[0] - 700) / one.standard_error[0])
    with pytest.raises(nc.ComparisonError, match="exactly two observed levels"):
        nc.ttest(D, "api00", group="stype")


# ---------------------------------------------------------------------- published
W8 = nc.PublishedFigure(0.700, ci=(0.682, 0.717), n=3134, label="wave 8")
W9 = nc.PublishedFigure(0.674, ci=(0.656, 0.692), n=3149, label="wave 9")
W6 = nc.PublishedFigure(0.727, ci=(0.710, 0.744), n=3107)
W7 = nc.PublishedFigure(0.705, ci=(0.688, 0.722), n=3129)


def test_rivm_flags_are_reproduced() -> None:
    # RIVM flags wave 8 -> 9 (70.0% -> 67.4%) as a significant decrease, 6 -> 7 not
    sig = nc.compare_published(W8, W9, scale="logit")
    assert sig.pvalue[0] < 0.05
    assert sig.estimate[0] < 0
    assert nc.compare_published(W6, W7, scale="logit").pvalue[0] > 0.05
    frame = sig.to_frame()
    assert frame["difference"].iloc[0] == pytest.approx(-0.026)
    assert list(frame["base"]) == ["wave 8"]


def test_published_standard_errors() -> None:
    z = 1.959963984540054
    assert W8.standard_error_on("linear") == pytest.approx((0.717 - 0.682) / (2 * z))
    lo, hi = np.log(0.682 / 0.318), np.log(0.717 / 0.283)
    assert W8.standard_error_on("logit") == pytest.approx((hi - lo) / (2 * z))
    by_n = nc.PublishedFigure(0.45, n=10616, deff=2.0)
    assert by_n.standard_error_on() == pytest.approx(np.sqrt(2 * 0.45 * 0.55 / 10616))
    se = nc.PublishedFigure(0.45, standard_error=0.01)
    assert se.standard_error_on("logit") == pytest.approx(0.01 / (0.45 * 0.55))


def test_published_paired_correlation() -> None:
    a, b = nc.PublishedFigure(0.45, n=10616), nc.PublishedFigure(0.48, n=9829)
    ind = nc.compare_published(a, b)
    paired = nc.compare_published(a, b, samples="paired", correlation=0.5)
    assert paired.standard_error[0] < ind.standard_error[0]
    with pytest.raises(nc.ComparisonError, match="correlation"):
        nc.compare_published(a, b, samples="paired")


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"estimate": 0.5, "ci": (0.6, 0.7)}, "does not contain"),
    ({"estimate": 70.0, "ci": (68.2, 71.7)}, "divide percentages by 100"),
    ({"estimate": 0.5, "ci": (-0.1, 0.9)}, r"lie in \[0, 1\]"),
    ({"estimate": 0.5}, "needs its precision"),
    ({"estimate": 0.5, "n": 0}, "at least 1"),
    ({"estimate": 0.5, "standard_error": -1.0}, "non-negative"),
    ({"estimate": 0.5, "ci": (0.4, 0.6), "deff": 2.0}, "deff"),
    ({"estimate": float("nan"), "n": 10}, "finite"),
])
def test_published_bad_input(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(nc.ComparisonError, match=match):
        nc.PublishedFigure(**kwargs)  # type: ignore[arg-type]


def test_published_logit_needs_interior_bounds() -> None:
    edge = nc.PublishedFigure(0.02, ci=(0.0, 0.05))
    with pytest.raises(nc.ComparisonError, match="strictly"):
        nc.compare_published(edge, W9, scale="logit")
    assert np.isfinite(nc.compare_published(edge, W9).pvalue[0])


# ---------------------------------------------------------------------- bad input
def test_unknown_cells_name_the_existing_ones() -> None:
    est = nc.mean(D, "api00", by="stype")
    with pytest.raises(nc.ComparisonError, match=r"No cell is named 'X'.*'E', 'H', 'M'"):
        nc.contrast(est, {"X": 1})
    with pytest.raises(nc.ComparisonError, match=r"no level 'X'.*'E', 'H', 'M'"):
        nc.compare(est, "stype", base="X", other="E")
    with pytest.raises(nc.ComparisonError, match="no column 'wave'"):
        nc.compare(est, "wave")
    with pytest.raises(nc.ComparisonError, match="3 cells"):
        nc.contrast(est, [1, -1])
    with pytest.raises(nc.ComparisonError, match="must be a number"):
        nc.contrast(est, {"E": "one"})
    with pytest.raises(nc.ComparisonError, match="same level"):
        nc.compare(est, "stype", base="E", other="E")
    with pytest.raises(TypeError, match="estimates and their covariance"):
        nc.contrast(CLUS1, {"E": 1})


def test_missing_cells_in_a_comparison_are_named() -> None:
    data = long_panel()
    data = data[~((data["stype"] == "H") & (data["wave"] == "2000"))]
    dl = nc.SurveyDesign(data, clusters="dnum", weights="pw", fpc="fpc")
    est = nc.mean(dl, "api", by=["stype", "wave"])
    with pytest.warns(nc.EmptyDomainWarning, match="stype=H"):
        ch = nc.compare(est, "wave", "1999", "2000")
    frame = ch.to_frame().set_index("stype")
    assert np.isnan(frame.loc["H", "estimate"])
    assert np.isfinite(frame.loc["E", "standard_error"])


def test_too_few_degrees_of_freedom() -> None:
    two = CLUS1[CLUS1["dnum"].isin(CLUS1["dnum"].unique()[:2])]
    d2 = nc.SurveyDesign(two, clusters="dnum", weights="pw")
    assert d2.degf == 1
    with pytest.raises(nc.DegreesOfFreedomError, match="degrees of freedom"):
        nc.ttest(d2, "api00")


def test_zero_variance_warns_and_gives_nan() -> None:
    data = CLUS1.assign(copy=CLUS1["api00"])
    d = nc.SurveyDesign(data, clusters="dnum", weights="pw", fpc="fpc")
    est = nc.mean(d, ["api00", "copy"])
    with pytest.warns(nc.ZeroVarianceWarning, match="zero or undefined variance"):
        ch = nc.contrast(est, {"api00": 1, "copy": -1})
    assert ch.estimate[0] == 0.0
    assert ch.standard_error[0] == 0.0
    assert np.isnan(ch.statistic[0])
    assert np.isnan(ch.pvalue[0])
    assert np.isnan(ch.adjusted_pvalues("holm")[0])


def test_bad_arguments() -> None:
    est = nc.mean(D, ["api99", "api00"])
    with pytest.raises(ValueError, match="alternative"):
        nc.compare(est, "variable", alternative="bigger")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="samples"):
        nc.compare(est, "variable", samples="both")  # type: ignore[arg-type]
    with pytest.raises(nc.ComparisonError, match="where"):
        nc.compare(est, "variable", where={"stype": "E"})
    with pytest.raises(ValueError, match="multiple-testing"):
        nc.compare(est, "variable").adjusted_pvalues("magic")
    with pytest.raises(nc.ComparisonError, match="differentiated"):
        nc.contrast(est, lambda c: np.sqrt(c["api00"] - 1e6))


def test_results_are_read_only() -> None:
    ch = nc.compare(nc.mean(D, ["api99", "api00"]), "variable")
    with pytest.raises(ValueError, match="read-only"):
        ch.estimate[0] = 1.0
    assert "Comparison: difference" in repr(ch)
    assert "<table" in ch._repr_html_()


# ---------------------------------------------------------------------- properties
@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.booleans())
def test_paired_equals_independent_without_shared_psus(seed: int, stratified: bool) -> None:
    """Waves with disjoint PSUs (and, with strata, strata nested in waves) are
    uncorrelated, so paired and independent SEs agree."""
    rng = np.random.default_rng(seed)
    n_psu = int(rng.integers(3, 8))
    rows = []
    for w, wave in enumerate(("a", "b")):
        psu = np.repeat(np.arange(n_psu) + 100 * w, rng.integers(1, 5, n_psu))
        rows.append(pd.DataFrame({
            "wave": wave, "psu": psu, "stratum": f"{wave}{rng.integers(0, 2)}" if stratified
            else "all", "y": rng.normal(size=psu.size), "w": rng.uniform(1, 5, psu.size)}))
    data = pd.concat(rows, ignore_index=True)
    strata = "stratum" if stratified else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nc.LonelyPSUWarning)
        d = nc.SurveyDesign(data, clusters="psu", strata=strata, weights="w",
                            lonely_psu="adjust")
    est = nc.mean(d, "y", by="wave")
    paired = nc.compare(est, "wave", "a", "b")
    ind = nc.compare(est, "wave", "a", "b", samples="independent")
    np.testing.assert_allclose(paired.standard_error, ind.standard_error, rtol=1e-9)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_identical_cells_contrast_to_exact_zero(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(6, 40))
    data = pd.DataFrame({"psu": rng.integers(0, 4, n), "y": rng.normal(size=n),
                         "w": rng.uniform(0.5, 3, n)})
    data["psu"] = np.arange(n) % 4
    data["y2"] = data["y"]
    d = nc.SurveyDesign(data, clusters="psu", weights="w")
    est = nc.mean(d, ["y", "y2"])
    with pytest.warns(nc.ZeroVarianceWarning):
        ch = nc.contrast(est, {"y": 1, "y2": -1})
    assert ch.estimate[0] == 0.0
    assert ch.standard_error[0] == 0.0


@given(st.floats(0.02, 0.98), st.floats(0.02, 0.98), st.integers(50, 10_000),
       st.integers(50, 10_000), st.sampled_from(["linear", "logit"]))
def test_compare_published_is_antisymmetric(p: float, q: float, n: int, m: int,
                                            scale: str) -> None:
    a, b = nc.PublishedFigure(p, n=n), nc.PublishedFigure(q, n=m)
    ab = nc.compare_published(a, b, scale=scale)  # type: ignore[arg-type]
    ba = nc.compare_published(b, a, scale=scale)  # type: ignore[arg-type]
    assert ab.estimate[0] == -ba.estimate[0]
    assert ab.standard_error[0] == ba.standard_error[0]
    assert ab.pvalue[0] == pytest.approx(ba.pvalue[0], rel=1e-12)


def test_compare_published_lists() -> None:
    many = nc.compare_published([W6, W8], [W7, W9], scale="logit")
    assert len(many) == 2
    np.testing.assert_allclose(many.pvalue[1], nc.compare_published(W8, W9,
                                                                     scale="logit").pvalue[0])
    assert list(many.to_frame()["base"]) == ["base", "wave 8"]
    with pytest.raises(nc.ComparisonError, match="in pairs"):
        nc.compare_published([W6, W8], [W7])
    with pytest.raises(TypeError, match="PublishedFigure"):
        nc.compare_published(0.5, W7)  # type: ignore[arg-type]


def test_joint_test_forms() -> None:
    est = nc.mean(D, "api00", by="stype")
    ch = nc.compare(est, "stype", base="E")
    wald, adj, chi = ch.joint_test(), ch.joint_test("adjWald"), ch.joint_test("Chisq")
    assert wald.chisq == pytest.approx(adj.chisq)
    assert chi.statistic == pytest.approx(wald.statistic * 2)
    assert (adj.ndf, adj.ddf) == (2, ch.df - 1)
    assert list(wald.to_frame().columns) == ["method", "statistic", "ndf", "ddf", "chisq",
                                             "pvalue"]
    # both levels of a yes/no proportion: rank 2, not 4
    p = nc.compare(nc.proportion(D, "awards", by="stype"), "stype", base="E")
    assert p.joint_test().ndf == 2
    with pytest.raises(ValueError, match="method"):
        ch.joint_test("LRT")  # type: ignore[arg-type]
    two = CLUS1[CLUS1["dnum"].isin(CLUS1["dnum"].unique()[:2])]
    d2 = nc.SurveyDesign(two, clusters="dnum", weights="pw")
    small = nc.compare(nc.mean(d2, "api00", by="stype"), "stype", base="E")
    assert len(small) == 2
    assert small.joint_test().ndf == 1  # two PSUs: a covariance of rank 1
    with pytest.raises(nc.DegreesOfFreedomError, match="adjusted Wald"):
        ch.joint_test("adjWald", df=1)


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**32 - 1), st.floats(0.01, 100))
def test_changes_ignore_weight_scale_and_row_order(seed: int, factor: float) -> None:
    rng = np.random.default_rng(seed)
    data = long_panel().assign(pw=lambda f: f["pw"] * rng.uniform(0.5, 2, len(f)))
    base = nc.compare(nc.mean(nc.SurveyDesign(data, clusters="dnum", weights="pw"), "api",
                              by=["stype", "wave"]), "wave", samples="paired")
    scaled = data.assign(pw=data["pw"] * factor).iloc[rng.permutation(len(data))]
    other = nc.compare(nc.mean(nc.SurveyDesign(scaled, clusters="dnum", weights="pw"),
                               "api", by=["stype", "wave"]), "wave", samples="paired")
    np.testing.assert_allclose(other.estimate, base.estimate, rtol=1e-10)
    np.testing.assert_allclose(other.standard_error, base.standard_error, rtol=1e-9)
    np.testing.assert_allclose(other.pvalue, base.pvalue, rtol=1e-7, atol=1e-300)


# ---------------------------------------------------------------------- review cases
def _by_stype() -> nc.Estimate:
    return nc.mean(D, "api00", by="stype")


def test_nonlinear_contrast_ignores_unrelated_empty_domains() -> None:
    data = CLUS1.assign(api00=CLUS1["api00"].where(CLUS1["stype"] != "M"))
    d = nc.SurveyDesign(data, clusters="dnum", weights="pw", fpc="fpc")
    with pytest.warns(nc.EmptyDomainWarning):
        est = nc.mean(d, "api00", by="stype", missing="omit")
    linear = nc.contrast(est, {"E": 1, "H": -1})
    nonlinear = nc.contrast(est, lambda c: c["E"] - c["H"])
    np.testing.assert_allclose(nonlinear.standard_error, linear.standard_error, rtol=1e-9)
    with pytest.warns(nc.ZeroVarianceWarning):
        constant = nc.contrast(est, lambda c: 3.0)
    assert constant.standard_error[0] == 0.0


def test_nonlinear_contrast_must_be_elementwise() -> None:
    import math

    est = _by_stype()
    for function in (lambda c: np.sum([c["E"], c["H"]]), lambda c: math.log(c["E"]),
                     lambda c: max(c["E"], c["H"])):
        with pytest.raises(nc.ComparisonError, match="elementwise"):
            nc.contrast(est, function)
    with pytest.raises(nc.ComparisonError, match="must return numbers"):
        nc.contrast(est, lambda c: "x")
    both = nc.mean(D, "api00", by=["stype", "awards"])
    total = nc.contrast(both, lambda c: sum(c[k] for k in c))
    assert total.estimate[0] == pytest.approx(both.estimate.sum())


def test_pandas_weights_go_by_label() -> None:
    est = _by_stype()
    expected = nc.contrast(est, {"E": 1, "H": -1}).estimate
    series = nc.contrast(est, pd.Series([0, -1, 1], index=["M", "H", "E"]))
    frame = nc.contrast(est, pd.DataFrame([[0, -1, 1]], columns=["M", "H", "E"],
                                          index=["E-H"]))
    np.testing.assert_allclose(series.estimate, expected)
    np.testing.assert_allclose(frame.estimate, expected)
    assert list(frame.cells["contrast"]) == ["E-H"]
    nested = nc.contrast(est, {"E-H": pd.Series({"E": 1, "H": -1})})
    np.testing.assert_allclose(nested.estimate, expected)


@pytest.mark.parametrize(("weights", "match"), [
    (["a", "b", "c"], "must be a number"),
    ([[1, -1, 0], [1, 0]], "2 weights"),
    (np.zeros((0, 3)), "no weights"),
    ([1, np.nan, 0], "finite"),
    ("E", "mapping"),
])
def test_bad_weights(weights: object, match: str) -> None:
    with pytest.raises(nc.ComparisonError, match=match):
        nc.contrast(_by_stype(), weights)  # type: ignore[arg-type]


def test_bad_null_and_level() -> None:
    est = _by_stype()
    with pytest.raises(nc.ComparisonError, match="null"):
        nc.contrast(est, {"E": 1}, null=[0, 1])
    with pytest.raises(nc.ArgumentError, match=r"0.95, not 95"):
        nc.compare(est, "stype", confidence_level=95)


def test_joint_test_does_not_depend_on_units() -> None:
    data = CLUS1.assign(big=CLUS1["enroll"] * 1e4)
    d = nc.SurveyDesign(data, clusters="dnum", weights="pw", fpc="fpc")
    small = nc.glm(d, "api00 ~ stype + enroll").term_test("stype", "enroll")
    large = nc.glm(d, "api00 ~ stype + big").term_test("stype", "big")
    assert small.ndf == large.ndf == 3
    assert large.statistic == pytest.approx(small.statistic, rel=1e-8)
    # R: regTermTest(svyglm(api00 ~ stype + enroll, dclus1), ~stype + enroll)
    assert small.statistic == pytest.approx(4.078874, rel=1e-6)


def test_reserved_column_names() -> None:
    data = CLUS1.assign(other=CLUS1["stype"])
    d = nc.SurveyDesign(data, clusters="dnum", weights="pw", fpc="fpc")
    with pytest.raises(nc.ComparisonError, match="'other'"):
        nc.compare(nc.mean(d, ["api99", "api00"], by="other"), "variable")


def test_levels_in_estimate_order() -> None:
    rows = []
    for dom, waves in (("a", (2, 3)), ("b", (1, 2, 3))):
        for wave in waves:
            for i in range(6):
                rows.append({"dom": dom, "wave": wave, "psu": i, "y": float(i * wave + 1)})
    d = nc.SurveyDesign(pd.DataFrame(rows), clusters="psu")
    est = nc.mean(d, "y", by=["dom", "wave"])
    with pytest.warns(nc.EmptyDomainWarning, match="dom=a"):
        succ = nc.compare(est, "wave")
    assert list(zip(succ.cells["dom"], succ.cells["base"], succ.cells["other"],
                    strict=True)) == [("a", 1, 2), ("b", 1, 2), ("a", 2, 3), ("b", 2, 3)]
    only_other = nc.compare(est, "wave", other=3, where={"dom": "b"})
    assert list(only_other.cells["base"]) == [1]


def test_two_level_proportions_compare_one_level() -> None:
    p = nc.proportion(D, "awards", by="stype")
    ch = nc.compare(p, "stype", base="E")
    assert list(ch.cells["level"]) == ["Yes", "Yes"]
    both = nc.compare(p, "stype", base="E", where={"level": ["No", "Yes"]})
    assert len(both) == 4
    three = nc.compare(nc.proportion(D, "stype", by="awards"), "awards")
    assert len(three) == 3


def test_ratio_with_a_zero_base_warns() -> None:
    data = CLUS1.assign(y=np.where(CLUS1["stype"] == "E", 0.0, 1.0))
    d = nc.SurveyDesign(data, clusters="dnum", weights="pw", fpc="fpc")
    est = nc.mean(d, "y", by="stype")
    with pytest.warns(nc.ZeroDenominatorWarning, match="zero"):
        r = nc.compare(est, "stype", base="E", ratio=True)
    assert np.all(np.isnan(r.standard_error))


def test_mixed_level_types_are_told_apart() -> None:
    data = CLUS1.assign(grp=np.where(CLUS1["stype"] == "E", "1", "x"))
    d = nc.SurveyDesign(data, clusters="dnum", weights="pw", fpc="fpc")
    est = nc.mean(d, "api00", by="grp")
    ch = nc.compare(est, "grp", base="1", other="x")
    assert len(ch) == 1


def test_many_levels_are_fast() -> None:
    import time

    rng = np.random.default_rng(3)
    n = 20_000
    data = pd.DataFrame({"psu": rng.integers(0, 400, n), "dom": rng.integers(0, 500, n),
                         "wave": rng.integers(0, 4, n), "y": rng.normal(size=n)})
    d = nc.SurveyDesign(data, clusters="psu")
    est = nc.mean(d, "y", by=["dom", "wave"])
    start = time.perf_counter()
    by_dom = nc.compare(est, "dom", base=0)
    succ = nc.compare(est, "wave", samples="independent")
    named = nc.contrast(est, {(k, 0): 1.0 for k in range(500)})
    ratio = nc.contrast(est, lambda c: c[(1, 0)] / c[(2, 0)])
    assert time.perf_counter() - start < 5
    assert len(by_dom) == 499 * 4
    assert len(succ) == 1500
    assert np.isfinite(named.standard_error[0])
    assert np.isfinite(ratio.standard_error[0])


def test_category_order_and_where_on_along() -> None:
    months = ["Nov 2020", "Dec 2020", "Jan 2021"]
    keep = ["dnum", "pw", "fpc"]
    long = pd.concat([CLUS1[keep].assign(wave=m, api=CLUS1["api00"] + i * (CLUS1["snum"] % 7))
                      for i, m in enumerate(months)], ignore_index=True)
    long["wave"] = pd.Categorical(long["wave"], categories=months, ordered=True)
    d = nc.SurveyDesign(long, clusters="dnum", weights="pw", fpc="fpc")
    est = nc.mean(d, "api", by="wave")
    succ = nc.compare(est, "wave")
    assert list(zip(succ.cells["base"], succ.cells["other"], strict=True)) == [
        ("Nov 2020", "Dec 2020"), ("Dec 2020", "Jan 2021")]
    assert list(nc.compare(est, "wave", other="Dec 2020").cells["base"]) == ["Nov 2020"]
    skip = nc.compare(est, "wave", where={"wave": ["Nov 2020", "Jan 2021"]})
    assert list(zip(skip.cells["base"], skip.cells["other"], strict=True)) == [
        ("Nov 2020", "Jan 2021")]
    with pytest.raises(nc.ComparisonError, match="asks for wave"):
        nc.compare(est, "wave", where={"wave": []})
    with pytest.raises(nc.ComparisonError, match="only 1 level"):
        nc.compare(est, "wave", where={"wave": "Dec 2020"})


def test_float_levels_accept_integers() -> None:
    data = long_panel().assign(wave=lambda f: f["wave"].astype(float))
    d = nc.SurveyDesign(data, clusters="dnum", weights="pw", fpc="fpc")
    est = nc.mean(d, "api", by="wave")
    assert len(nc.compare(est, "wave", base=1999, other=np.int64(2000))) == 1


def test_nonlinear_contrasts_must_not_branch_on_the_batch() -> None:
    r = D.to_replicate("bootstrap", replicates=50, rng=np.random.default_rng(4))
    est = nc.mean(r, "api00", by="stype")
    threshold = float(est.estimate[0]) - 1.0

    def branching(c: object) -> object:
        e, h = c["E"], c["H"]  # type: ignore[index]
        return e / h if np.all(e > threshold) else e / 600

    with pytest.raises(nc.ComparisonError, match="elementwise"):
        nc.contrast(est, branching)
    elementwise = nc.contrast(est, lambda c: np.where(c["E"] > threshold, c["E"] / c["H"],
                                                      c["E"] / 600))
    assert np.isfinite(elementwise.standard_error[0])
    with pytest.raises(nc.ComparisonError, match="different cells"):
        nc.contrast(est, lambda c: c["E"] / c["H"] if np.all(c["E"] > threshold) else c["E"])
    with pytest.raises(nc.ComparisonError, match="must return numbers"):
        nc.contrast(est, lambda c: None)
    with pytest.raises(nc.ComparisonError, match="duplicate"):
        nc.contrast(est, lambda c: {"1": c["E"], 1: c["H"]})
    with pytest.warns(nc.ZeroVarianceWarning, match="contrast=k"):
        both = nc.contrast(nc.mean(D, "api00", by="stype"),
                           lambda c: {"r": c["E"] / c["H"], "k": 1.0})
    assert both.standard_error[1] == 0.0


def test_joint_test_names_only_the_empty_rows() -> None:
    data = CLUS1.assign(api00=CLUS1["api00"].where(CLUS1["stype"] != "M"))
    d = nc.SurveyDesign(data, clusters="dnum", weights="pw", fpc="fpc")
    with pytest.warns(nc.EmptyDomainWarning):
        est = nc.mean(d, ["api00", "api99"], by="stype", missing="omit")
    ch = nc.compare(est, "variable")
    with pytest.raises(nc.ComparisonError, match=r"1 row .*stype=M"):
        ch.joint_test()


def test_yes_level_is_kept_whatever_its_position() -> None:
    data = CLUS1.assign(award=pd.Categorical(CLUS1["awards"].str.lower(),
                                             categories=["yes", "no"]))
    d = nc.SurveyDesign(data, clusters="dnum", weights="pw", fpc="fpc")
    ch = nc.compare(nc.proportion(d, "award", by="stype"), "stype", base="E")
    assert set(ch.cells["level"]) == {"yes"}
    flags = nc.compare(nc.proportion(D, "sch.wide", by="stype"), "stype", base="E")
    assert set(flags.cells["level"]) == {"Yes"}
