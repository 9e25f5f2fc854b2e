"""Large-data checks (opt-in: ``nox -s slow``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import nea_covid as nc


@pytest.mark.slow
def test_million_rows_dense_and_sparse_paths_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(20201116)
    n = 1_000_000
    strata = rng.integers(0, 200, n)
    df = pd.DataFrame({
        "h": strata, "psu": strata * 10 + rng.integers(0, 10, n),
        "w": rng.uniform(50, 150, n), "y": rng.normal(size=n), "d": rng.integers(0, 100, n),
    })
    d = nc.SurveyDesign(df, weights="w", strata="h", clusters="psu")
    dense = nc.mean(d, "y", by="d")
    monkeypatch.setattr("nea_covid.scores.DENSE_LIMIT", 0)
    sparse = nc.mean(d, "y", by="d")
    np.testing.assert_allclose(sparse.estimate, dense.estimate, rtol=1e-12)
    np.testing.assert_allclose(sparse.vcov, dense.vcov, rtol=1e-8, atol=1e-14)
    one = nc.mean(d.subset(df["d"] == 7), "y")
    np.testing.assert_allclose(one.standard_error, dense.standard_error[7], rtol=1e-10)
