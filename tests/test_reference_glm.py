"""nc.glm against R's svyglm (tests/reference/glm.R): coefficients, covariance, SEs,
t statistics, p-values, df.residual, Wald intervals, IRLS iterations, the dispersion
and replicate coefficients, at relative 1e-10."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from reference_data import close, design_from, fixture, replicate_design_from

import nea_covid as nc

FIX = fixture("glm")
CASES = FIX["cases"]


def build_design(name: str) -> tuple[Any, pd.DataFrame]:
    spec = FIX["designs"][name]
    if spec["kind"] == "taylor":
        d, data = design_from(spec)
        cal = spec.get("calibrate")
        if cal is not None:
            assert cal["method"] == "poststratify"
            d = d.poststratify(cal["variable"], cal["totals"])
        return d, data
    if spec["kind"] == "conversion":
        d, data = design_from(spec["source"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", nc.SurveyWarning)  # BRR: fpc dropped
            return d.to_replicate(spec["method"], mse=spec["mse"]), data
    return replicate_design_from(spec)


def fit_case(case: dict[str, Any]) -> tuple[nc.Regression, Any, pd.DataFrame]:
    d, data = build_design(case["design"])
    sub = case.get("subset")
    if sub:
        column = data[sub["column"]]
        d = d.subset(column == sub["value"] if sub["op"] == "==" else column != sub["value"])
    fit = nc.glm(d, case["formula"], family=case["family"], missing=case["missing"])
    return fit, d, data


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_matches_r(case: dict[str, Any]) -> None:
    fit, _, _ = fit_case(case)
    assert len(fit) == len(case["terms"]), (fit.terms, case["terms"])
    assert fit.df == case["df"], case["r_call"]
    assert fit.iterations == case["iterations"]
    assert fit.n_missing == case["n_missing"]
    assert fit.n_obs == case["n_obs"]
    close(fit.estimate, case["coef"])
    close(fit.standard_error, case["se"])
    close(fit.statistic, case["t"])
    close(fit.pvalue, case["p"])
    expected = np.asarray(case["vcov"], dtype=float)
    close(fit.vcov, expected, scale=float(np.max(np.abs(np.diag(expected)))))
    ci = fit.confidence_interval(case["confidence_level"])
    close(ci.low, case["ci_low"])
    close(ci.high, case["ci_high"])
    if "replicates" in case:
        assert fit._replicates is not None
        close(fit._replicates.thetas, case["replicates"])
    else:
        assert fit._replicates is None


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_dispersion(case: dict[str, Any]) -> None:
    """``dispersion`` is svyvar() of the Pearson residuals (y - mu) / sqrt(V(mu)) on the
    design of the fit; R's summary()$dispersion is that for Taylor designs without
    missing values (with missing values, and on replicate designs, survey 4.1.1 scales
    the residuals by weight ratios: see glm.R)."""
    fit, d, _ = fit_case(case)
    close(fit.dispersion, case["pearson_variance"])
    if isinstance(d, nc.SurveyDesign) and case["missing"] == "raise":
        close(fit.dispersion, case["dispersion"])
