"""nea_covid against R's survey package: every number at relative 1e-10 (asked: 1e-8).

Each case in ``tests/reference/fixtures/core.json`` records the R call that produced it
(``r_call``), computed by ``tests/reference/core.R``.
"""

from __future__ import annotations

from typing import Any

import pytest
from reference_data import check_case, close, design_from, estimate_case, fixture

import nea_covid as nc

FIX = fixture()
CASES = FIX["cases"]


@pytest.mark.parametrize("name", sorted(FIX["designs"]))
def test_design_weights_and_degf(name: str) -> None:
    spec = FIX["designs"][name]
    d, _ = design_from(spec)
    assert d.degf == spec["degf"], spec["r_call"]
    close(d.weights.to_numpy(), spec["weights_out"])


def _estimate(case: dict[str, Any]) -> nc.Estimate:
    d, data = design_from(FIX["designs"][case["design"]])
    return estimate_case(case, d, data)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_matches_r(case: dict[str, Any]) -> None:
    check_case(case, _estimate(case))


SPARSE_CASES = [c for c in CASES if c.get("by") or c["design"].startswith("clus2")]


@pytest.mark.parametrize("case", SPARSE_CASES, ids=[c["id"] for c in SPARSE_CASES])
def test_matches_r_on_the_sparse_path(case: dict[str, Any], monkeypatch: pytest.MonkeyPatch
                                      ) -> None:
    """Unit totals kept sparse (as for element samples with many cells) give the same."""
    monkeypatch.setattr("nea_covid.scores.DENSE_LIMIT", 0)
    check_case(case, _estimate(case))


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
