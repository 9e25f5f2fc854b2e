"""Replicate designs against R's survey package (tests/reference/replicates.R): the
replicate weights of every deterministic conversion, scale, rscales and degrees of
freedom, and estimates, SEs, covariances and intervals at relative 1e-10."""

from __future__ import annotations

import warnings
from typing import Any

import pandas as pd
import pytest
from reference_data import (
    check_case,
    close,
    design_from,
    estimate_case,
    fixture,
    replicate_design_from,
)

import nea_covid as nc

FIX = fixture("replicates")
CASES = FIX["cases"]
# R's bootstrap conversion draws with R's random numbers; its replicate weights are
# exported and tested as the "replicate" design strat_boot instead
DESIGNS = sorted(n for n, d in FIX["designs"].items() if not d.get("random"))


def replicate_design(name: str) -> tuple[nc.ReplicateDesign, pd.DataFrame]:
    spec = FIX["designs"][name]
    if spec["kind"] == "conversion":
        d, data = design_from(spec["source"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", nc.SurveyWarning)  # fpc dropped for BRR
            return d.to_replicate(spec["method"], rho=spec["rho"]), data
    return replicate_design_from(spec)


@pytest.mark.parametrize("name", DESIGNS)
def test_replicate_weights_scale_and_degf(name: str) -> None:
    spec = FIX["designs"][name]
    rd, _ = replicate_design(name)
    assert rd.degf == spec["degf"], spec["r_call"]
    assert rd.n_replicates == spec["n_replicates"]
    close(rd.scale, spec["r_scale"])
    close(rd.rscales, spec["r_rscales"])
    assert rd.mse == spec["r_mse"]
    close(rd.weights.to_numpy(), spec["weights_out"])
    close(rd.replicate_weights(), spec["repweights"], scale=1.0)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_matches_r(case: dict[str, Any]) -> None:
    rd, data = replicate_design(case["design"])
    check_case(case, estimate_case(case, rd, data))


# R's as.svrepdesign has no successive-difference conversion; nea_covid has one
# (tested against the successive-difference formula in test_replicates.py)
ERRORS = [c for c in FIX["errors"] if c["id"] != "sdr_conversion_unsupported"]


@pytest.mark.parametrize("case", ERRORS, ids=[c["id"] for c in ERRORS])
def test_errors_where_r_errors(case: dict[str, Any]) -> None:
    def run() -> None:
        d, _ = design_from(case["source"])
        d.to_replicate(case["method"], rho=case.get("rho"))

    with pytest.raises(nc.SurveyError):
        run()
