"""Numerical edge cases of the estimators, quantiles and proportion intervals: results
that were silently wrong (not errors) before, and bad input that leaked a plain
ValueError.

* Domain quantiles accumulated the weights of all cells in one running sum, so a cell
  after a heavy one lost its own weights in the rounding (weights 1e8 then 1e-8: every
  quantile of the light domain was its maximum).
* A share of exactly 0 or 1 came out as 0.9999999999999981 with an SE of 1.5e-16,
  because the numerator and the denominator were summed in different orders; the
  Woodruff upper bound of the maximum then fell outside [0, 1] and was NaN where R
  gives the maximum.
* The profile-likelihood interval of a share of exactly 0 was [1e-11, 1.5e-11]: an
  interval that does not contain its estimate (R stops with an error).
* The design effect of a share near 1 lost digits in ``W - hits``.
* A quantile whose variance is zero had NaN covariances with the other quantiles.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

import nea_covid as nc


def _heavy_then_light() -> nc.SurveyDesign:
    rng = np.random.default_rng(1)
    n_heavy, n_light = 100_000, 9
    frame = pd.DataFrame({
        "g": ["A"] * n_heavy + ["B"] * n_light,
        "x": np.r_[rng.normal(size=n_heavy), np.arange(1.0, n_light + 1)],
        "w": np.r_[np.full(n_heavy, 1e8), np.full(n_light, 1e-8)],
    })
    return nc.SurveyDesign(frame, weights="w")


def test_domain_quantiles_after_a_heavy_domain() -> None:
    d = _heavy_then_light()
    probs = [0.1, 0.3, 0.5, 0.7, 0.9]
    by_domain = nc.quantile(d, "x", probs, by="g").to_frame()
    light = by_domain[by_domain["g"] == "B"]
    alone = nc.quantile(d.subset(d.data["g"] == "B"), "x", probs)
    # 9 equal weights: F jumps by 1/9 at 1, 2, ..., 9; R's qrule="math" gives 2, 3, 5,
    # 7, 9 (below the first jump it takes the second value)
    np.testing.assert_array_equal(light["estimate"], [2.0, 3.0, 5.0, 7.0, 9.0])
    np.testing.assert_array_equal(alone.estimate, [2.0, 3.0, 5.0, 7.0, 9.0])


def _all_yes(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"w": rng.lognormal(3, 2, n), "s": rng.integers(0, 5, n),
                          "x": rng.normal(size=n), "one": 1.0})
    frame["y"] = pd.Categorical(["yes"] * n, categories=["no", "yes"])
    return frame


@pytest.mark.parametrize("seed", range(5))
def test_share_of_one_is_exact(seed: int) -> None:
    d = nc.SurveyDesign(_all_yes(2295, seed), weights="w", strata="s")
    for est in (nc.proportion(d, "y"), nc.proportion(d, ["y", "y"])):
        np.testing.assert_array_equal(est.estimate, np.tile([0.0, 1.0], len(est) // 2))
        np.testing.assert_array_equal(est.standard_error, 0.0)
    means = nc.mean(d, ["one", "x"])
    assert means.estimate[0] == 1.0
    assert means.standard_error[0] == 0.0


@pytest.mark.parametrize("seed", range(5))
def test_woodruff_interval_of_the_maximum(seed: int) -> None:
    # R: svyquantile(~x, d, 1, ci=TRUE, se=TRUE) gives [max, max] with SE 0
    frame = _all_yes(int(np.random.default_rng(seed).integers(50, 3000)), seed)
    d = nc.SurveyDesign(frame, weights="w", strata="s")
    est = nc.quantile(d, "x", [0.5, 1.0])
    ci = est.confidence_interval()
    assert est.estimate[1] == frame["x"].max()
    assert ci.low[1] == ci.high[1] == frame["x"].max()
    assert est.standard_error[1] == 0.0
    assert est.vcov[0, 1] == est.vcov[1, 0] == 0.0  # not NaN: its variance is zero


def test_likelihood_interval_of_a_share_of_zero_or_one() -> None:
    api = nc.datasets.load_api("clus1")
    api = api.assign(y=np.where(api["stype"] == "H", "Yes", api["awards"]))
    d = nc.SurveyDesign(api, clusters="dnum", weights="pw", fpc="fpc")
    est = nc.proportion(d, "y", by="stype")
    h = (est.cells["stype"] == "H").to_numpy()
    np.testing.assert_array_equal(est.estimate[h], [0.0, 1.0])
    for method in ("likelihood", "logit", "asin", "beta", "xlogit"):
        ci = est.confidence_interval(method=method)
        # no interval that misses its own estimate (R: NaN, or an error)
        for bound in ci:
            assert np.isnan(bound[h]).all(), method
            assert np.isfinite(bound[~h]).all(), method


def _exact_srs_variance_of_share(w: np.ndarray, yes: np.ndarray) -> float:
    """R's simple-random-sampling variance of a share (the denominator of deff), in
    exact rational arithmetic: ``s2 W^2 (W - n) / (W n)`` with ``s2`` the variance of
    the linearised variable ``(y - p) / W``."""
    wf = [Fraction(float(v)) for v in w]
    big_w = sum(wf, Fraction(0))
    p = sum((wi for wi, y in zip(wf, yes, strict=True) if y), Fraction(0)) / big_w
    n = len(w)
    squares = sum((wi * ((1 if y else 0) - p) ** 2 for wi, y in zip(wf, yes, strict=True)),
                  Fraction(0))
    s2 = squares / big_w**3 * Fraction(n, n - 1)
    return float(s2 * big_w**2 * (big_w - n) / (big_w * n))


def test_deff_of_a_share_near_one() -> None:
    rng = np.random.default_rng(5)
    n = 200
    frame = pd.DataFrame({"w": rng.uniform(10, 30, n), "s": rng.integers(0, 5, n),
                          "y": "yes"})
    frame.loc[:4, "w"] = 1e-8
    frame.loc[:4, "y"] = "no"
    frame["no"] = (frame["y"] == "no").astype(float)
    frame["yes"] = 1.0 - frame["no"]
    d = nc.SurveyDesign(frame, weights="w", strata="s")
    exact = _exact_srs_variance_of_share(frame["w"].to_numpy(), frame["no"].to_numpy() > 0)
    # both levels have the same deviations, hence the same SRS variance
    for est in (nc.proportion(d, "y"), nc.proportion(d, ["y", "y"]),
                nc.mean(d, ["no", "yes"])):
        np.testing.assert_allclose(est.standard_error**2 / est.deff, exact, rtol=1e-12)


def test_quantiles_must_be_numbers() -> None:
    d = nc.SurveyDesign(nc.datasets.load_api("strat"), weights="pw", strata="stype")
    with pytest.raises(nc.ArgumentError, match="quantiles"):
        nc.quantile(d, "api00", "median")  # type: ignore[arg-type]
    with pytest.raises(nc.ArgumentError, match="quantiles"):
        nc.quantile(d, "api00", ["a"])  # type: ignore[list-item]
    with pytest.raises(nc.ArgumentError, match="confidence_level"):
        nc.quantile(d, "api00", 0.5, confidence_level="high")  # type: ignore[arg-type]


def test_unknown_interval_methods_are_survey_errors() -> None:
    d = nc.SurveyDesign(nc.datasets.load_api("strat"), weights="pw", strata="stype")
    with pytest.raises(nc.SurveyError, match="'logit'"):
        nc.quantile(d, "api00", 0.5).confidence_interval(method="logit")
    with pytest.raises(nc.SurveyError, match="'wilson'"):
        nc.proportion(d, "awards").confidence_interval(method="wilson")  # type: ignore[arg-type]


def test_infinite_values_are_no_category() -> None:
    api = nc.datasets.load_api("strat")
    api = api.assign(z=np.where(api.index < 3, np.inf, 1.0))
    d = nc.SurveyDesign(api, weights="pw")
    with pytest.raises(nc.VariableTypeError, match="3 infinite values"):
        nc.proportion(d, "z")
