"""Population extrapolation (share x population total) and the letters' rounding."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import nea_covid as nc
from nea_covid.errors import PopulationError
from nea_covid.extrapolate import (
    Extrapolation,
    extrapolate,
    format_count,
    format_share,
    rounds_to,
)

STRAT = nc.datasets.load_api("strat").assign(one=1.0)
CLUS1 = nc.datasets.load_api("clus1").assign(one=1.0)
D = nc.SurveyDesign(STRAT, weights="pw", strata="stype", fpc="fpc")
C = nc.SurveyDesign(CLUS1, weights="pw", clusters="dnum", fpc="fpc")
SIZES = {"E": 4421.0, "H": 755.0, "M": 1018.0}


# ---------------------------------------------------------------------- identities
@pytest.mark.parametrize("design", [D, C], ids=["strat", "clus1"])
@pytest.mark.parametrize("by", [None, "stype", ["stype", "awards"]])
def test_mean_times_weighted_total_is_the_total(design: nc.SurveyDesign, by: object) -> None:
    """With N the design's own weighted total of the domain, mean x N is nc.total,
    and the SE is N x SE(mean) (the total's SE differs: N-hat varies)."""
    weighted = nc.total(design, "one", by=by)  # type: ignore[arg-type]
    mean = nc.mean(design, "api00", by=by)  # type: ignore[arg-type]
    total = nc.total(design, "api00", by=by)  # type: ignore[arg-type]
    if by is None:
        population: object = float(weighted.estimate[0])
    else:
        population = weighted.to_frame()[[*weighted.by, "estimate"]].rename(
            columns={"estimate": "population"})
    ex = extrapolate(mean, population=population)
    n = weighted.estimate
    np.testing.assert_allclose(ex.estimate, total.estimate, rtol=1e-12)
    np.testing.assert_allclose(ex.standard_error, n * mean.standard_error, rtol=1e-12)
    np.testing.assert_allclose(ex.vcov, np.outer(n, n) * mean.vcov, rtol=1e-12)
    np.testing.assert_array_equal(ex.population, n)
    assert ex.method == "fixed"
    assert ex.df == mean.df


@pytest.mark.parametrize("by", [None, "stype"])
def test_post_stratified_design_gives_the_totals_standard_error(by: str | None) -> None:
    """Post-stratification fixes the weighted total at N: then N x mean is the total
    with the same covariance."""
    ps = C.poststratify("stype", SIZES)
    population: object = sum(SIZES.values()) if by is None else {"stype": pd.Series(SIZES)}
    ex = extrapolate(nc.mean(ps, "api00", by=by), population=population)
    total = nc.total(ps, "api00", by=by)
    np.testing.assert_allclose(ex.estimate, total.estimate, rtol=1e-12)
    np.testing.assert_allclose(ex.standard_error, total.standard_error, rtol=1e-10)
    np.testing.assert_allclose(ex.vcov, total.vcov, rtol=1e-10, atol=1e-6)


# ---------------------------------------------------------------------- variance formulas
def test_goodman_and_delta_variances_by_hand() -> None:
    share = nc.proportion(D, "awards")  # two cells sharing one population
    n, s = 7_435_000.0, 60_000.0
    p, v = share.estimate, share.vcov
    goodman = extrapolate(share, population=n, population_se=s)
    delta = extrapolate(share, population=n, population_se=s, method="delta")
    fixed = extrapolate(share, population=n)
    for i in range(2):
        for j in range(2):
            base = n * n * v[i, j] + p[i] * p[j] * s**2
            assert delta.vcov[i, j] == pytest.approx(base, rel=1e-12)
            assert goodman.vcov[i, j] == pytest.approx(base + v[i, j] * s**2, rel=1e-12)
            assert fixed.vcov[i, j] == pytest.approx(n * n * v[i, j], rel=1e-12)
    assert goodman.standard_error[0] == pytest.approx(
        np.sqrt(n**2 * v[0, 0] + p[0] ** 2 * s**2 + v[0, 0] * s**2), rel=1e-12)
    assert (goodman.method, delta.method, fixed.method) == ("goodman", "delta", "fixed")
    np.testing.assert_array_equal(goodman.estimate, p * n)
    np.testing.assert_array_equal(goodman.population_se, [s, s])
    # the counts of both levels add up to the (uncertain) population: their sum has
    # variance s^2 exactly (V sums to zero over the levels)
    ones = np.ones(2)
    assert ones @ goodman.vcov @ ones == pytest.approx(s**2, rel=1e-9)
    assert extrapolate(share, population=n, population_se=0.0).method == "fixed"


def test_population_table_on_some_by_variables_shares_uncertainty() -> None:
    """Populations by stype for an estimate by stype and awards: the levels of one
    stype share its population figure (and its error); different stypes do not."""
    est = nc.mean(D, "api00", by=["stype", "awards"])
    table = pd.DataFrame({"stype": ["M", "E", "H", "X"],
                          "population": [1018.0, 4421.0, 755.0, -1.0],  # X: ignored
                          "population_se": [30.0, 100.0, 20.0, np.nan]})
    ex = extrapolate(est, table)
    cells = est.cells
    n = cells["stype"].map(SIZES).to_numpy()
    s = cells["stype"].map({"E": 100.0, "H": 20.0, "M": 30.0}).to_numpy()
    same = (cells["stype"].to_numpy()[:, None] == cells["stype"].to_numpy()[None, :])
    p, v = est.estimate, est.vcov
    pop_cov = same * np.outer(s, s)
    expected = np.outer(n, n) * v + np.outer(p, p) * pop_cov + v * pop_cov
    np.testing.assert_allclose(ex.vcov, expected, rtol=1e-12)
    np.testing.assert_array_equal(ex.population, n)
    np.testing.assert_array_equal(ex.population_se, s)
    assert ex.vcov[0, 2] == pytest.approx(n[0] * n[2] * v[0, 2])  # E vs H: survey only


def test_table_forms_agree() -> None:
    est = nc.proportion(D, "awards", by="stype")
    series = pd.Series(SIZES)
    se = pd.Series({"E": 50.0, "H": 10.0, "M": 20.0})
    forms = [
        extrapolate(est, {"stype": series}, {"stype": se}),
        extrapolate(est, {"stype": SIZES}, {"stype": dict(se)}),
        extrapolate(est, series.rename_axis("stype"), se.rename_axis("stype")),
        extrapolate(est, pd.DataFrame({"stype": list(SIZES), "population": list(SIZES.values()),
                                       "population_se": se[list(SIZES)].to_numpy()})),
        extrapolate(est, {("stype",): {("E",): 4421.0, ("H",): 755.0, ("M",): 1018.0}},
                    {("stype",): {("E",): 50.0, ("H",): 10.0, ("M",): 20.0}}),
    ]
    for ex in forms[1:]:
        np.testing.assert_array_equal(ex.estimate, forms[0].estimate)
        np.testing.assert_allclose(ex.vcov, forms[0].vcov, rtol=1e-15)


def test_population_table_with_two_by_variables() -> None:
    est = nc.mean(D, "api00", by=["stype", "awards"])
    pops = pd.DataFrame({"stype": ["E", "E", "H", "H", "M", "M"],
                         "awards": ["No", "Yes"] * 3,
                         "population": [1000.0, 3421, 500, 255, 600, 418]})
    ex = extrapolate(est, pops)
    expected = est.cells.merge(pops, on=["stype", "awards"], how="left")["population"]
    np.testing.assert_array_equal(ex.population, expected.to_numpy())
    multi = pops.set_index(["stype", "awards"])["population"]
    np.testing.assert_array_equal(
        extrapolate(est, {("stype", "awards"): multi}).estimate, ex.estimate)
    np.testing.assert_array_equal(extrapolate(est, multi).estimate, ex.estimate)


def test_categorical_and_numeric_domains_match_by_value() -> None:
    data = STRAT.assign(kind=STRAT["stype"].astype("category"),
                        code=STRAT["stype"].map({"E": 1, "H": 2, "M": 3}))
    d = nc.SurveyDesign(data, weights="pw", strata="stype", fpc="fpc")
    a = extrapolate(nc.mean(d, "api00", by="kind"), {"kind": pd.Series(SIZES)})
    b = extrapolate(nc.mean(d, "api00", by="code"), {"code": {1: 4421, 2: 755, 3: 1018.0}})
    np.testing.assert_allclose(a.estimate, b.estimate, rtol=1e-15)


# ---------------------------------------------------------------------- comparisons
def test_contrast_and_compare_of_extrapolated_domains() -> None:
    est = nc.mean(D, "api00", by="stype")
    ex = extrapolate(est, {"stype": pd.Series(SIZES)})
    diff = nc.contrast(ex, {"E": 1, "H": -1})
    n_e, n_h = SIZES["E"], SIZES["H"]
    v = est.vcov
    assert diff.estimate[0] == pytest.approx(n_e * est.estimate[0] - n_h * est.estimate[1])
    assert diff.standard_error[0] == pytest.approx(
        np.sqrt(n_e**2 * v[0, 0] + n_h**2 * v[1, 1] - 2 * n_e * n_h * v[0, 1]), rel=1e-12)
    assert diff.df == est.df
    change = nc.compare(ex, "stype", base="H", other="E")
    assert change.estimate[0] == pytest.approx(diff.estimate[0], rel=1e-12)
    assert change.standard_error[0] == pytest.approx(diff.standard_error[0], rel=1e-12)
    total = nc.contrast(ex, [1, 1, 1])  # all schools: the sum of the domains' counts
    assert total.estimate[0] == pytest.approx(float(ex.estimate.sum()), rel=1e-12)


def test_replicate_design_carries_extrapolated_replicates() -> None:
    rep = C.to_replicate("JK1")
    est = nc.mean(rep, "api00", by="stype")
    ex = extrapolate(est, {"stype": SIZES})
    assert ex._replicates is not None
    n = ex.population
    np.testing.assert_allclose(ex._replicates.thetas, est._replicates.thetas * n, rtol=1e-15)
    np.testing.assert_allclose(ex._replicates.vcov(ex.estimate), ex.vcov, rtol=1e-10)
    # a nonlinear contrast uses the replicates: the ratio of two counts
    ratio = nc.contrast(ex, lambda c: c["E"] / c["H"])
    t = ex._replicates.thetas
    r = ex._replicates
    centre = (t[:, 0] / t[:, 1]).mean()
    by_hand = r.scale * np.sum(r.rscales * (t[:, 0] / t[:, 1] - centre) ** 2)
    assert ratio.estimate[0] == pytest.approx(ex.estimate[0] / ex.estimate[1], rel=1e-12)
    assert ratio.standard_error[0] == pytest.approx(np.sqrt(by_hand), rel=1e-9)
    compared = nc.compare(ex, "stype", base="H", other="E", ratio=True)
    assert compared.standard_error[0] == pytest.approx(ratio.standard_error[0], rel=1e-9)
    # an uncertain population is not in the replicates: none are carried
    uncertain = extrapolate(est, {"stype": SIZES}, {"stype": {"E": 10, "H": 5, "M": 5}})
    assert uncertain._replicates is None
    assert nc.contrast(uncertain, lambda c: c["E"] / c["H"]).standard_error[0] > 0


# ---------------------------------------------------------------------- result object
def test_result_shapes_and_display() -> None:
    est = nc.proportion(D, "awards", by="stype")
    ex = extrapolate(est, {"stype": SIZES}, {"stype": {"E": 50, "H": 10, "M": 20}})
    assert isinstance(ex, Extrapolation)
    assert isinstance(ex, nc.results.CellResult)
    assert len(ex) == 6
    frame = ex.to_frame()
    assert list(frame.columns) == ["stype", "variable", "level", "share", "population",
                                   "population_se", "estimate", "standard_error", "ci_low",
                                   "ci_high", "df"]
    fixed = extrapolate(est, {"stype": SIZES}).to_frame(0.9)
    assert "population_se" not in fixed.columns
    assert (frame["df"] == est.df).all()
    np.testing.assert_array_equal(frame["share"], est.estimate)
    ds = ex.to_xarray()
    assert dict(ds.sizes) == {"stype": 3, "variable": 1, "level": 2}
    assert float(ds["estimate"].count()) == 6
    assert ds.attrs["method"] == "goodman"
    ci = ex.confidence_interval(0.9)
    t = __import__("scipy").stats.t.ppf(0.95, est.df)
    np.testing.assert_allclose(ci.high, ex.estimate + t * ex.standard_error, rtol=1e-12)
    wide = ex.confidence_interval()
    assert np.all(wide.low <= ci.low)
    with pytest.raises(ValueError, match="confidence_level"):
        ex.confidence_interval(95)
    assert "Extrapolation: proportion by stype" in repr(ex)
    assert "Goodman" in repr(ex)
    assert "<table" in ex._repr_html_()
    with pytest.raises(ValueError, match="read-only"):
        ex.estimate[0] = 0.0
    with pytest.raises(AttributeError):
        ex.df = 3  # type: ignore[misc]


# ---------------------------------------------------------------------- bad input
MEAN = nc.mean(D, "api00")
BY = nc.mean(D, "api00", by="stype")


@pytest.mark.parametrize(
    ("estimate", "population", "population_se", "message"),
    [
        (MEAN, -1.0, None, "must not be negative"),
        (MEAN, np.nan, None, "missing"),
        (MEAN, np.inf, None, "infinite"),
        (MEAN, "7.5 million", None, "must be numbers"),
        (MEAN, True, None, "must be numbers"),
        (MEAN, 7.5e6, -5.0, "population_se must not be negative"),
        (MEAN, 7.5e6, np.nan, "population_se is missing"),
        (MEAN, 7.5e6, {"stype": SIZES}, "must be one number too"),
        (MEAN, {"stype": SIZES}, None, "no by-variables"),
        (BY, {"stype": {"E": 4421, "H": 755}}, None, "no population for 1 domain.*stype='M'"),
        (BY, {"stype": {"E": 4421, "H": -755, "M": 1}}, None, r"negative.*stype='H'"),
        (BY, {"stype": {"E": 4421, "H": "755", "M": 1}}, None, "must be numbers.*'755'"),
        (BY, {"stype": {"E": 4421, "H": None, "M": 1}}, None, r"missing.*stype='H'"),
        (BY, {"sector": SIZES}, None, "'sector', which is not a by-variable"),
        (BY, {"stype": SIZES, "awards": SIZES}, None, "one by-variable"),
        (BY, pd.Series(SIZES), None, "index named"),
        (BY, pd.DataFrame({"stype": ["E"], "count": [1.0]}), None, "'population' column"),
        (BY, pd.DataFrame({"stype": ["E", "E", "H", "M"], "population": [1.0, 2, 3, 4]}),
         None, r"2 rows for the same domain \(stype='E'"),
        (BY, {"stype": SIZES}, 50.0, "standard error per domain"),
        (BY, {"stype": SIZES}, {"stype": {"E": 1.0, "H": 1.0}}, "population_se is missing"),
        (BY, [4421, 755, 1018], None, "must be a number, a mapping"),
        (BY, {"stype": {1: 4421, 2: 755, 3: 1018}}, None,
         r"None of its domains match.*stype=1.*\(int64\).*stype='E'"),
        (MEAN, np.bool_(True), None, "must be numbers"),
        (MEAN, 7.5e6, "50k", "population_se must be numbers"),
    ],
)
def test_bad_population(estimate: nc.Estimate, population: object, population_se: object,
                        message: str) -> None:
    with pytest.raises(PopulationError, match=message):
        extrapolate(estimate, population, population_se)


def test_statistics_that_cannot_be_extrapolated() -> None:
    with pytest.raises(PopulationError, match="already a count"):
        extrapolate(nc.total(D, "api00"), 7.5e6)
    with pytest.raises(PopulationError, match="quantile cannot be extrapolated"):
        extrapolate(nc.quantile(D, "api00", 0.5), 7.5e6)
    with pytest.raises(PopulationError, match="not Comparison"):
        extrapolate(nc.contrast(BY, {"E": 1, "H": -1}), 7.5e6)  # type: ignore[arg-type]
    with pytest.raises(PopulationError, match="method"):
        extrapolate(MEAN, 7.5e6, 1.0, method="exact")  # type: ignore[arg-type]
    with pytest.raises(PopulationError, match="given as well"):
        extrapolate(BY, pd.DataFrame({"stype": list(SIZES), "population": 1.0,
                                      "population_se": 0.0}), {"stype": SIZES})


def test_numpy_scalars_are_numbers() -> None:
    a = extrapolate(MEAN, np.array(7.5e6), np.float32(1e4))
    b = extrapolate(MEAN, 7.5e6, 1e4)
    np.testing.assert_array_equal(a.vcov, b.vcov)
    np.testing.assert_array_equal(extrapolate(MEAN, np.int64(7)).estimate, MEAN.estimate * 7)


def test_extra_domains_and_zero_population_are_accepted() -> None:
    ex = extrapolate(BY, {"stype": {**SIZES, "X": -3.0, "Y": "n/a"}})
    np.testing.assert_array_equal(ex.population, [4421, 755, 1018])
    zero = extrapolate(BY, {"stype": {**SIZES, "H": 0}})
    assert zero.estimate[1] == 0.0
    assert zero.standard_error[1] == 0.0


# ---------------------------------------------------------------------- formatting
def test_letters_examples() -> None:
    # 48% of 7.5 million is 3.6 million, not "circa 3.5 million"; 52% is 3.9 million
    assert format_count(0.48 * 7.5e6) == "circa 3,6 miljoen"
    assert format_count(0.48 * 7.5e6, language="en") == "about 3.6 million"
    assert format_count(0.52 * 7.5e6) == "circa 3,9 miljoen"
    assert format_count(0.53 * 7.5e6, digits=0) == "circa 4 miljoen"
    assert not rounds_to(0.48 * 7.5e6, 3.5e6)
    assert rounds_to(0.48 * 7.5e6, 3.6e6)
    assert rounds_to(0.52 * 7.5e6, 3.9e6)
    assert rounds_to(0.53 * 7.5e6, 4e6, digits=0)
    # nor with CBS's werknemers of 2019 or 2020
    assert not rounds_to(0.48 * np.array([7_549e3, 7_435e3]), 3.5e6).any()
    # no single base rounds 48% to 3.5 million and 52% to 3.9 million
    base = np.linspace(5e6, 10e6, 500_001)
    assert rounds_to(0.48 * base, 3.5e6).any()
    assert rounds_to(0.52 * base, 3.9e6).any()
    assert not (rounds_to(0.48 * base, 3.5e6) & rounds_to(0.52 * base, 3.9e6)).any()
    # "56.7% + 20.0% is circa 75%": 76.7% rounds to 77%
    assert not rounds_to(56.7 + 20.0, 75, precision=1, digits=0)
    assert rounds_to(0.55 * 5120 / 7937 * 100, 35.5, precision=1)


def test_format_count() -> None:
    assert format_count(3_568_800, language="en", prefix=None) == "3.6 million"
    assert format_count(3_568_800, prefix="ruim") == "ruim 3,6 miljoen"
    assert format_count(350_400, prefix=None) == "350,4 duizend"
    assert format_count(1_234_567, precision="thousand", digits=0, prefix=None) == "1.235 duizend"
    assert format_count(1_234_567, language="en", precision="thousand", digits=0,
                        prefix=None) == "1,235 thousand"
    assert format_count(12_345_678, precision="million", digits=2,
                        prefix=None) == "12,35 miljoen"
    assert format_count(999_960, prefix=None) == "1,0 miljoen"  # auto after rounding
    assert format_count(812, prefix=None) == "812"
    assert format_count(-3.6e6, prefix=None) == "-3,6 miljoen"
    assert format_count(3.45e6, prefix=None) == "3,5 miljoen"  # half away from zero
    assert format_count([3.6e6, np.nan], prefix=None) == ["3,6 miljoen", "-"]
    out = format_count(pd.Series([3.6e6, 3.9e6], index=["a", "b"]), language="en")
    assert isinstance(out, pd.Series)
    assert out.to_dict() == {"a": "about 3.6 million", "b": "about 3.9 million"}
    ex = extrapolate(nc.proportion(D, "awards"), 7_435_000)
    assert format_count(ex.estimate, language="en") == [
        format_count(float(v), language="en") for v in ex.estimate]
    with pytest.raises(ValueError, match="language"):
        format_count(1e6, language="de")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="precision"):
        format_count(1e6, precision="billion")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="digits"):
        format_count(1e6, digits=-1)


def test_format_share() -> None:
    assert format_share(0.48) == "48%"
    assert format_share(0.48, digits=1) == "48,0%"
    assert format_share(0.48, language="en", digits=1) == "48.0%"
    assert format_share(0.345, digits=1) == "34,5%"
    assert format_share(0.485) == "49%"  # half away from zero, not to even
    assert format_share(0.092, digits=1) == "9,2%"
    assert format_share(np.array([0.345, 0.135, 0.52])) == ["35%", "14%", "52%"]
    out = format_share(pd.Series([0.48, np.nan], index=[2019, 2020]), language="en")
    assert isinstance(out, pd.Series)
    assert out.to_dict() == {2019: "48%", 2020: "-"}
    with pytest.raises(ValueError, match="digits"):
        format_share(0.5, digits=1.5)  # type: ignore[arg-type]


def test_rounds_to_arguments() -> None:
    assert rounds_to(350_400, 350e3, precision="thousand", digits=0)
    assert not rounds_to(350_600, 350e3, precision="thousand", digits=0)
    assert isinstance(rounds_to(1.0, 1.0, precision=1), bool)
    with pytest.raises(ValueError, match="precision"):
        rounds_to(1.0, 1.0, precision="billion")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="positive"):
        rounds_to(1.0, 1.0, precision=0.0)


def test_check_published() -> None:
    from nea_covid.extrapolate import check_published

    assert not check_published(0.48, 3.5e6, 7.5e6)
    assert check_published(0.52, 3.9e6, 7.5e6)
    assert check_published(0.53, 4e6, 7.5e6, count_digits=0)
    joint = check_published([0.48, 0.52], [3.5e6, 3.9e6], 7.5e6, base_precision="million",
                            share_digits=1)
    assert not joint.consistent
    assert "no single base fits" in joint.computation
    loose = check_published([0.48, 0.52], [3.5e6, 3.9e6], 7.5e6, base_precision="million")
    assert loose.consistent
    assert 7.45e6 <= loose.bases[0] <= loose.bases[1] <= 7.475e6
    with pytest.raises(nc.PopulationError, match=r"same .non-zero. number"):
        check_published([0.48, 0.52], [3.5e6], 7.5e6)
    with pytest.raises(nc.PopulationError, match="proportion"):
        check_published(48, 3.5e6, 7.5e6)


def test_check_published_rounding_argument() -> None:
    from nea_covid.extrapolate import check_published

    spelled = check_published([0.48, 0.52], [3.5e6, 3.9e6], 7.5e6, share_digits=1,
                              base_precision="million", base_digits=1)
    packed = check_published([0.48, 0.52], [3.5e6, 3.9e6], 7.5e6,
                             rounding={"share": 1, "count": ("million", 1),
                                       "base": ("million", 1)})
    assert spelled.computation == packed.computation
    with pytest.raises(nc.PopulationError, match="keys"):
        check_published(0.48, 3.5e6, 7.5e6, rounding={"pct": 1})


@pytest.mark.parametrize("call", [
    lambda: __import__("nea_covid").check_published([], [], 7.5e6),
    lambda: __import__("nea_covid").check_published(0.5, 1e6, 2e6, count_precision=0),
    lambda: __import__("nea_covid").check_published(0.5, 1e6, 2e6,
                                                    rounding={"count": "million"}),
    lambda: __import__("nea_covid").rounds_to([1e6, 2e6], [1e6, 2e6, 3e6]),
    lambda: __import__("nea_covid").format_count("abc"),
    lambda: __import__("nea_covid").format_count(float("inf")),
])
def test_formatting_bad_input(call: object) -> None:
    with pytest.raises(nc.PopulationError):
        call()  # type: ignore[operator]


def test_counts_keep_the_definition_of_a_harmonised_share() -> None:
    panel = nc.datasets.load_nea_covid()
    d = nc.SurveyDesign(panel, strata="stratum", clusters="panel_id", weights="weight")
    definition = nc.get_definition("tno_works_at_home")
    share = nc.harmonised_proportion(d, definition, by="wave")
    counts = nc.extrapolate(share, population=7_549_000)
    assert counts.definition is definition
    assert counts.definition_id == share.definition_id
    assert set(counts.to_frame()["definition"]) == {share.definition_id}
    table = nc.publication_table(counts, language="nl")
    assert any(note.startswith(f"Definitie: {share.definition_id}")
               for note in table.attrs["notes"])
    plain = nc.extrapolate(share.as_estimate(), population=7_549_000)
    assert plain.definition is None
    assert "definition" not in plain.to_frame()
