"""One contract for every estimator's result: shape of to_frame(), to_xarray(),
intervals around the estimate, covariance consistent with the SEs, display."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import nea_covid as nc

APISTRAT = nc.datasets.load_api("strat")
D = nc.SurveyDesign(APISTRAT, weights="pw", strata="stype", fpc="fpc")

ESTIMATES: dict[str, Callable[[], nc.Estimate]] = {
    "mean": lambda: nc.mean(D, ["api00", "api99"], by="stype"),
    "total": lambda: nc.total(D, "enroll", by=["stype", "sch.wide"]),
    "proportion": lambda: nc.proportion(D, "awards", by="stype"),
    "ratio": lambda: nc.ratio(D, "api.stu", "enroll", by="stype"),
    "quantile": lambda: nc.quantile(D, "api00", [0.25, 0.5], by="stype"),
}


@pytest.fixture(params=sorted(ESTIMATES))
def est(request: pytest.FixtureRequest) -> nc.Estimate:
    return ESTIMATES[request.param]()


def test_to_frame_is_tidy(est: nc.Estimate) -> None:
    frame = est.to_frame()
    extra = {"proportion": ["level"], "quantile": ["quantile"]}.get(est.statistic, [])
    assert list(frame.columns) == [*est.by, "variable", *extra, "estimate", "standard_error",
                                   "ci_low", "ci_high", "df", "n_obs", "deff"]
    assert len(frame) == len(est)
    assert (frame["df"] == est.df).all()


def test_intervals_contain_the_estimate(est: nc.Estimate) -> None:
    for level in (0.8, 0.95):
        ci = est.confidence_interval(level)
        assert np.all(ci.low <= est.estimate)
        assert np.all(est.estimate <= ci.high)
    wide, narrow = est.confidence_interval(0.99), est.confidence_interval(0.5)
    assert np.all(wide.high - wide.low >= narrow.high - narrow.low)


def test_vcov_matches_standard_errors(est: nc.Estimate) -> None:
    assert est.vcov.shape == (len(est), len(est))
    np.testing.assert_allclose(np.sqrt(np.diag(est.vcov)), est.standard_error, rtol=1e-12)
    np.testing.assert_allclose(est.vcov, est.vcov.T, rtol=1e-12, atol=1e-12)


def test_to_xarray_has_by_dimensions(est: nc.Estimate) -> None:
    ds = est.to_xarray()
    for dim in (*est.by, "variable"):
        assert dim in ds.dims
    assert float(ds["estimate"].count()) == len(est)
    assert ds.attrs["df"] == est.df


def test_results_are_frozen_and_display(est: nc.Estimate) -> None:
    with pytest.raises(ValueError, match="read-only"):
        est.estimate[0] = 0.0
    with pytest.raises(AttributeError):
        est.df = 3  # type: ignore[misc]
    assert est.statistic in repr(est)
    assert "<table" in est._repr_html_()


def test_proportion_interval_methods() -> None:
    est = nc.proportion(D, "awards")
    for method in ("logit", "likelihood", "asin", "beta", "mean", "xlogit"):
        ci = est.confidence_interval(0.9, method=method)
        assert np.all((ci.low < est.estimate) & (est.estimate < ci.high)), method
    with pytest.raises(ValueError, match="not available"):
        nc.mean(D, "api00").confidence_interval(method="beta")
