"""Numerical accuracy and edge cases of replicate-weight variances (replicates.py,
hadamard.py): replicates without a domain's rows, bad scale/rscales/mse, degenerate
conversions, and precision with variables far from zero."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import nea_covid as nc
from nea_covid.hadamard import hadamard
from nea_covid.replicates import svr_variance


def _clus1_with_one_psu_domain() -> pd.DataFrame:
    api = nc.datasets.load_api("clus1")
    first = api["dnum"] == api["dnum"].iloc[0]
    return api.assign(g=np.where(first, "a", np.where(api["stype"] == "E", "b", "c")))


def test_domain_missing_from_a_replicate_drops_that_replicate_as_r() -> None:
    # R: rd <- as.svrepdesign(svydesign(id=~dnum, weights=~pw, data=apiclus1), "JK1")
    # svyby(~api00, ~g, rd, svymean): SE a 0 (warning "1 replicates gave NA results
    # and were discarded"), b 27.25161, c 35.74721; svymean(~api00, subset(rd, g=="a"))
    # SE 0. Domain "a" is the first PSU only, so JK1 replicate 1 has none of its rows.
    api = _clus1_with_one_psu_domain()
    rd = nc.SurveyDesign(api, weights="pw", clusters="dnum").to_replicate("JK1")
    with pytest.warns(nc.SurveyWarning, match="1 replicate gave undefined"):
        est = nc.mean(rd, "api00", by="g")
    np.testing.assert_allclose(est.standard_error, [0.0, 27.25161, 35.74721],
                               rtol=2e-7, atol=1e-9)
    assert np.all(np.isfinite(est.vcov))
    with pytest.warns(nc.SurveyWarning, match="undefined"):
        sub = nc.mean(rd.subset(api["g"] == "a"), "api00")
    assert sub.standard_error[0] == pytest.approx(0.0, abs=1e-9)
    # centred at the full-sample estimate: the same replicate is left out
    rd_mse = nc.SurveyDesign(api, weights="pw", clusters="dnum").to_replicate("JK1", mse=True)
    with pytest.warns(nc.SurveyWarning, match="undefined"):
        est_mse = nc.mean(rd_mse, "api00", by="g")
    assert est_mse.standard_error[0] == pytest.approx(0.0, abs=1e-9)
    # totals are defined (zero) in every replicate: nothing dropped, no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nc.total(rd, "api00", by="g")


def test_svr_variance_leaves_out_undefined_replicates_per_column() -> None:
    thetas = np.array([[1.0, 10.0], [np.nan, 12.0], [3.0, 11.0], [5.0, np.nan]])
    with pytest.warns(nc.SurveyWarning, match="2 replicates gave undefined"):
        v = svr_variance(thetas, np.array([3.0, 11.0]), 0.5, np.ones(4), False)
    a, b = np.array([1.0, 3.0, 5.0]), np.array([10.0, 12.0, 11.0])
    assert v[0, 0] == pytest.approx(0.5 * np.sum((a - a.mean()) ** 2))
    assert v[1, 1] == pytest.approx(0.5 * np.sum((b - b.mean()) ** 2))
    # the covariance uses the replicates defined for both
    assert v[0, 1] == pytest.approx(0.5 * (1 - 3) * (10 - 11) + 0.5 * 0 * (11 - 11))
    # a column undefined in every replicate (an empty cell) stays NaN, silently
    thetas[:, 1] = np.nan
    thetas[1, 0] = 2.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        v = svr_variance(thetas, np.array([3.0, np.nan]), 0.5, np.ones(4), False)
    assert np.isfinite(v[0, 0])
    assert np.isnan(v[1, 1])
    assert np.isnan(v[0, 1])


def test_rscales_all_zero_is_a_design_error() -> None:
    df = pd.DataFrame({"w": [1.0, 2, 3], "r1": [0.0, 3, 3], "r2": [1.5, 0, 4.5],
                       "y": [1.0, 2, 3]})
    with pytest.raises(nc.DesignError, match="rscales"):
        nc.ReplicateDesign(df, weights="w", replicate_weights=["r1", "r2"], rscales=0)


def test_mse_must_be_a_bool() -> None:
    df = pd.DataFrame({"w": [1.0, 2, 3], "r1": [0.0, 3, 3], "r2": [1.5, 0, 4.5]})
    with pytest.raises(nc.DesignError, match="mse"):
        nc.ReplicateDesign(df, weights="w", replicate_weights=["r1", "r2"],
                           mse="no")  # type: ignore[arg-type]
    d = nc.SurveyDesign(df.assign(psu=[1, 2, 3]), weights="w", clusters="psu")
    with pytest.raises(nc.DesignError, match="mse"):
        d.to_replicate("JK1", mse="False")  # type: ignore[arg-type]


def test_replicate_factors_without_a_positive_value_are_design_errors() -> None:
    df = pd.DataFrame({"w": [1.0, 2, 3], "r1": [0.0, 0, 0], "r2": [1.5, 0, 1.5],
                       "r3": [1.5, 1.5, 0]})
    cols = ["r1", "r2", "r3"]
    # JK1 guesses scale from the first factor column (R); JKn rscales from every column
    with pytest.raises(nc.DesignError, match="r1"):
        nc.ReplicateDesign(df, weights="w", replicate_weights=cols, method="JK1",
                           combined_weights=False)
    with pytest.raises(nc.DesignError, match="r1"):
        nc.ReplicateDesign(df, weights="w", replicate_weights=cols, method="JKn",
                           combined_weights=False)
    # with scale and rscales given nothing is guessed
    rd = nc.ReplicateDesign(df, weights="w", replicate_weights=cols, method="JKn",
                            combined_weights=False, scale=1.0, rscales=[0.5, 0.5, 0.5])
    assert rd.scale == 1.0


def test_jk1_conversion_of_a_census_is_a_clear_error() -> None:
    df = pd.DataFrame({"psu": [1, 2, 3], "w": [1.0, 1, 1], "N": [3.0, 3, 3], "y": [1.0, 2, 4]})
    d = nc.SurveyDesign(df, weights="w", clusters="psu", fpc="N")
    with pytest.raises(nc.DesignError, match="sampled completely"):
        d.to_replicate("JK1")


@pytest.mark.parametrize("rule", ["certainty", "remove", "average"])
@pytest.mark.parametrize("method", ["JKn", "bootstrap"])
def test_conversion_with_only_lonely_strata_is_a_clear_error(rule: str, method: str) -> None:
    df = pd.DataFrame({"st": [1, 2, 3], "psu": [1, 2, 3], "w": [1.0, 1, 1], "y": [1.0, 2, 4]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nc.LonelyPSUWarning)
        d = nc.SurveyDesign(df, weights="w", strata="st", lonely_psu=rule)
    with pytest.raises(nc.DesignError, match="one PSU"):
        d.to_replicate(method, rng=np.random.default_rng(1))


def test_replicate_variance_with_a_large_common_offset() -> None:
    # y = 1e6 + N(0, 1): the replicate SEs of the mean and total agree with an
    # extended-precision computation from the same replicate weights
    rng = np.random.default_rng(1)
    n = 400
    df = pd.DataFrame({"st": np.repeat(np.arange(20), n // 20), "w": rng.uniform(1, 3, n),
                       "y": 1e6 + rng.normal(size=n)})
    rd = nc.SurveyDesign(df, weights="w", strata="st").to_replicate("JKn")
    weights = rd.replicate_weights().astype(np.longdouble)
    y = df["y"].to_numpy().astype(np.longdouble)
    totals = (weights * y[:, None]).sum(axis=0)
    for name, thetas, rtol in (("total", totals, 1e-12),
                               ("mean", totals / weights.sum(axis=0), 1e-7)):
        dev = thetas - thetas.mean()
        exact = float(np.sqrt((np.longdouble(rd.scale) * rd.rscales * dev**2).sum()))
        se = (nc.total if name == "total" else nc.mean)(rd, "y").standard_error[0]
        assert se == pytest.approx(exact, rel=rtol), name


def test_hadamard_matrices_are_hadamard() -> None:
    for n in range(1, 400):
        h = 2.0 * hadamard(n) - 1.0
        k = h.shape[0]
        assert h.shape == (k, k)
        assert k > n
        np.testing.assert_array_equal(h @ h.T, k * np.eye(k))
