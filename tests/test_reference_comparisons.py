"""Contrasts, wave-over-wave changes and t-tests against R's survey package
(``tests/reference/comparisons.R``: svycontrast, svyby(covmat=TRUE), svyttest)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from reference_data import close, design_from, fixture, replicate_design_from

import nea_covid as nc

FIX = fixture("comparisons")


def build(name: str) -> tuple[Any, pd.DataFrame]:
    spec = FIX["designs"][name]
    if spec["kind"] == "taylor":
        return design_from(spec)
    if spec["kind"] == "conversion":
        d, data = design_from(spec["source"])
        return d.to_replicate(spec["method"], rho=spec["rho"]), data
    return replicate_design_from(spec)


def estimate(d: Any, spec: dict[str, Any]) -> nc.Estimate:
    kwargs = {"by": spec.get("by"), "missing": spec.get("missing", "raise")}
    if spec["estimator"] == "ratio":
        return nc.ratio(d, spec["variables"], spec["denominator"], **kwargs)
    fn = {"mean": nc.mean, "total": nc.total, "proportion": nc.proportion}[spec["estimator"]]
    return fn(d, spec["variables"], **kwargs)  # type: ignore[operator]


def position(result: Any, cell: dict[str, Any]) -> int:
    """The row of ``result.cells`` (an estimate's or a comparison's) a fixture cell
    describes (values compared as text)."""
    frame = result.cells.astype(str)
    mask = np.ones(len(frame), dtype=bool)
    wanted = dict(cell["by"])
    for key in ("variable", "level"):
        if cell.get(key) is not None:
            wanted[key] = cell[key]
    for column, value in wanted.items():
        mask &= (frame[column] == str(value)).to_numpy()
    (hit,) = np.flatnonzero(mask)
    return int(hit)


@pytest.mark.parametrize("case", FIX["contrasts"], ids=lambda c: c["id"])
def test_contrast(case: dict[str, Any]) -> None:
    d, _ = build(case["design"])
    est = estimate(d, case["estimate"])
    specs = case["contrast"] if isinstance(case["contrast"], list) else [case["contrast"]]
    result = case["result"]
    if specs[0]["kind"] == "linear":
        # weights by position, and the same contrast with the cells named
        weights = {}
        for spec in specs:
            row = np.zeros(len(est))
            for term in spec["terms"]:
                row[position(est, term["cell"])] += term["weight"]
            weights[spec["name"]] = row
        ours = nc.contrast(est, weights)
    else:
        expressions = [spec["python"] for spec in specs]
        source = "lambda c: {" + ", ".join(
            f"{spec['name']!r}: {expr}" for spec, expr in zip(specs, expressions,
                                                               strict=True)) + "}"
        function = eval(source, {"np": np})
        method = "replicates" if case["per_replicate"] else "delta"
        ours = nc.contrast(est, function, method=method)
    assert list(ours.cells["contrast"]) == [s["name"] for s in specs]
    assert ours.df == case["df"]
    close(ours.estimate, result["estimate"])
    close(ours.standard_error, result["se"])
    expected = np.asarray(result["vcov"], dtype=float)
    close(ours.vcov, expected, scale=float(np.max(np.abs(np.diag(expected)))))


@pytest.mark.parametrize("case", FIX["changes"], ids=lambda c: c["id"])
def test_change(case: dict[str, Any]) -> None:
    d, _ = build(case["design"])
    by = case["by"]
    if case["format"] == "long":
        by = [*(by or []), "wave"]
    est = estimate(d, {"estimator": case["estimator"], "variables": case["variables"],
                       "by": by})
    # R compares every level; by default compare() keeps one of a yes/no pair
    where = ({"level": sorted({c["level"] for c in case["cells"]})}
             if case["estimator"] == "proportion" else None)
    ch = nc.compare(est, along=case["along"], base=case["base"], other=case["other"],
                    samples=case["samples"], where=where)
    assert len(ch) == len(case["cells"])
    rows = [position(ch, cell) for cell in case["cells"]]
    assert ch.df == case["df"]
    close(ch.estimate[rows], case["estimate"])
    close(ch.standard_error[rows], case["se"])
    for i in rows:  # the t-test on the design's degrees of freedom
        if ch.standard_error[i] > 0:
            p = 2 * nc.comparison.stats.t(case["df"]).sf(abs(ch.estimate[i] /
                                                           ch.standard_error[i]))
            assert ch.pvalue[i] == pytest.approx(p, rel=1e-12)


def test_the_quoted_figures() -> None:
    """The issue's apiclus1 numbers: change 37.19, paired SE 3.085, independent 33.78."""
    quoted = FIX["quoted_figures"]
    d, _ = build(quoted["design"])
    est = nc.mean(d, ["api99", "api00"])
    paired = nc.compare(est, "variable", "api99", "api00")
    independent = nc.compare(est, "variable", "api99", "api00", samples="independent")
    close(paired.estimate, [quoted["change"]])
    close(paired.standard_error, [quoted["se_paired"]])
    close(independent.standard_error, [quoted["se_independent"]])
    assert round(float(paired.standard_error[0]), 3) == quoted["quoted"]["se_paired"]


@pytest.mark.parametrize("case", FIX["ttests"], ids=lambda c: c["id"])
def test_ttest(case: dict[str, Any]) -> None:
    d, data = build(case["design"])
    if case.get("subset"):
        sub = case["subset"]
        d = d.subset(data[sub["column"]] == sub["value"])
    mu = case["mu"] or 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t = nc.ttest(d, case["variable"], group=case["group"], mu=mu,
                     missing=case.get("missing", "raise"))
    if case["group"]:
        assert t.cells["test"].iloc[0] == " - ".join(case["group_levels"][::-1])
    assert t.df == case["df"]
    close(t.estimate - mu, [case["estimate"]])
    close(t.statistic, [case["statistic"]])
    close(t.pvalue, [case["pvalue"]])
    ci = t.confidence_interval()
    close(ci.low - mu, [case["ci_low"]])
    close(ci.high - mu, [case["ci_high"]])


@pytest.mark.parametrize("case", FIX["joint_tests"], ids=lambda c: c["id"])
def test_joint_wald_test(case: dict[str, Any]) -> None:
    """regTermTest(svyglm(api00 ~ stype), ~stype): the same two differences of domain
    means, tested jointly on the model's residual df."""
    d, _ = build(case["design"])
    ch = nc.compare(nc.mean(d, case["variable"], by=case["by"]), case["by"],
                    base=case["base"])
    assert ch.df - 2 == case["ddf"]  # svyglm df.residual: design df + 1 - 3
    test = ch.joint_test("Wald", df=case["ddf"])
    assert test.ndf == case["ndf"]
    close(test.statistic, case["statistic"])
    close(test.chisq, case["chisq"])
    close(test.pvalue, case["pvalue"])


@pytest.mark.parametrize("case", FIX["joint_tests"], ids=lambda c: c["id"])
def test_regression_term_test(case: dict[str, Any]) -> None:
    """The same regTermTest, from nc.glm's Regression.term_test."""
    d, _ = build(case["design"])
    test = nc.glm(d, f"{case['variable']} ~ {case['by']}").term_test(case["by"])
    assert (test.ndf, test.ddf) == (case["ndf"], case["ddf"])
    close(test.statistic, case["statistic"])
    close(test.pvalue, case["pvalue"])
