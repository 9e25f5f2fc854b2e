"""nea_covid against R's survey package: every number at relative 1e-10 (asked: 1e-8).

Each case in ``tests/reference/fixtures/core.json`` records the R call that produced it
(``r_call``), computed by ``tests/reference/core.R``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from reference_data import design_from, fixture

import nea_covid as nc

RTOL = 1e-10  # the issue asks for 1e-8; we agree with R to ~5e-12
FIX = fixture()
CASES = FIX["cases"]


def close(actual: Any, expected: Any, *, scale: float | None = None) -> None:
    """Relative 1e-8; entries near zero are judged against ``scale``."""
    a = np.asarray(actual, dtype=float)
    e = np.asarray([np.nan if v is None else v for v in np.ravel(expected)],
                   dtype=float).reshape(np.shape(expected))
    atol = 0.0 if scale is None else RTOL * scale
    np.testing.assert_allclose(a, e, rtol=RTOL, atol=atol, equal_nan=True)


@pytest.mark.parametrize("name", sorted(FIX["designs"]))
def test_design_weights_and_degf(name: str) -> None:
    spec = FIX["designs"][name]
    d, _ = design_from(spec)
    assert d.degf == spec["degf"], spec["r_call"]
    close(d.weights.to_numpy(), spec["weights_out"])


def _estimate(case: dict[str, Any]) -> nc.Estimate:
    d, data = design_from(FIX["designs"][case["design"]])
    if case.get("subset"):
        sub = case["subset"]
        d = d.subset(data[sub["column"]] == sub["value"])
    kwargs: dict[str, Any] = {"by": case.get("by"), "missing": case.get("missing", "raise")}
    est = case["estimator"]
    if est == "ratio":
        return nc.ratio(d, case["numerator"], case["denominator"], **kwargs)
    if est == "quantile":
        return nc.quantile(d, case["variables"], case["quantiles"],
                           confidence_level=case["confidence_level"], **kwargs)
    fn = {"mean": nc.mean, "total": nc.total, "proportion": nc.proportion}[est]
    return fn(d, case["variables"], **kwargs)  # type: ignore[operator]


def _key(by: dict[str, Any], variable: str, level: Any) -> tuple[Any, ...]:
    return (tuple(sorted((k, str(v)) for k, v in by.items())), variable,
            None if level is None else str(level))


def _positions(est: nc.Estimate, cells: list[dict[str, Any]]) -> list[int]:
    by_cols = list(est.by)
    extra = "level" if "level" in est.cells else ("quantile" if "quantile" in est.cells else None)
    ours = {}
    for i, row in enumerate(est.cells.to_dict("records")):
        level = row[extra] if extra else None
        ours[_key({c: row[c] for c in by_cols}, row["variable"], level)] = i
    return [ours[_key(c["by"], c["variable"], c["level"])] for c in cells]


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_matches_r(case: dict[str, Any]) -> None:
    check_case(case)


SPARSE_CASES = [c for c in CASES if c.get("by") or c["design"].startswith("clus2")]


@pytest.mark.parametrize("case", SPARSE_CASES, ids=[c["id"] for c in SPARSE_CASES])
def test_matches_r_on_the_sparse_path(case: dict[str, Any], monkeypatch: pytest.MonkeyPatch
                                      ) -> None:
    """Unit totals kept sparse (as for element samples with many cells) give the same."""
    monkeypatch.setattr("nea_covid.scores.DENSE_LIMIT", 0)
    check_case(case)


def check_case(case: dict[str, Any]) -> None:
    est = _estimate(case)
    pos = _positions(est, case["cells"])
    cells = case["cells"]
    assert est.df == case["df"], case["r_call"]
    close(est.estimate[pos], [c["estimate"] for c in cells])
    close(est.standard_error[pos], [c["se"] for c in cells])
    if case["ci_method"] != "t" or est.statistic == "quantile":
        method = None if case["ci_method"] == "t" else case["ci_method"]
        ci = est.confidence_interval(case["confidence_level"], method=method)
    else:
        ci = est.confidence_interval(case["confidence_level"])
    close(ci.low[pos], [c["ci_low"] for c in cells])
    close(ci.high[pos], [c["ci_high"] for c in cells])
    deffs = [c.get("deff") for c in cells]
    if any(d is not None for d in deffs):
        close(est.deff[pos], deffs)
    for key in ("vcov", "vcov_full"):  # svyby(covmat=TRUE), and one svyratio/svytotal call
        if case.get(key) is not None:
            expected = np.asarray(case[key], dtype=float)
            scale = float(np.nanmax(np.abs(np.diag(expected))))
            close(est.vcov[np.ix_(pos, pos)], expected, scale=scale)


ERROR_CLASSES = {
    "lonely": nc.LonelyPSUError,
    "nest": nc.NestingError,
    "fpc": nc.FPCError,
}


@pytest.mark.parametrize("case", FIX["errors"], ids=[c["id"] for c in FIX["errors"]])
def test_errors_where_r_errors(case: dict[str, Any]) -> None:
    expected: type[Exception] = nc.SurveyError
    for key, cls in ERROR_CLASSES.items():
        if key in case["id"]:
            expected = cls
    def run() -> None:
        d, _ = design_from(case["design"])
        nc.mean(d, case["variables"], missing="omit")

    with pytest.raises(expected):
        run()
