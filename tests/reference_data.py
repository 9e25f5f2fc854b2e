"""Load the R reference fixtures and build the designs they describe.

The fixtures are written by ``tests/reference/core.R`` (regenerate with
``nox -s r_reference``); the tests never need R.
"""

from __future__ import annotations

import json
import warnings
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd

import nea_covid as nc
from nea_covid.datasets import read_csv_exact

HERE = Path(__file__).parent / "reference"
PACKAGE_DATA = {"apistrat": ("api", "strat"), "apiclus1": ("api", "clus1"),
                "apiclus2": ("api", "clus2"), "nhanes": ("nhanes", None)}
DESIGN_KEYS = ("weights", "strata", "clusters", "fpc", "nest", "lonely_psu")


@cache
def fixture(name: str = "core") -> dict[str, Any]:
    with open(HERE / "fixtures" / f"{name}.json") as fh:
        out: dict[str, Any] = json.load(fh)
    return out


def load(name: str) -> pd.DataFrame:
    if name in PACKAGE_DATA:
        kind, which = PACKAGE_DATA[name]
        return nc.datasets.load_api(which) if kind == "api" else nc.datasets.load_nhanes()  # type: ignore[arg-type]
    return read_csv_exact(HERE / "data" / f"{name}.csv")


def design_from(spec: dict[str, Any]) -> tuple[nc.SurveyDesign, pd.DataFrame]:
    data = load(spec["data"])
    kwargs = {k: spec[k] for k in DESIGN_KEYS if spec.get(k) is not None}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nc.LonelyPSUWarning)  # the lonely-PSU cases
        return nc.SurveyDesign(data, **kwargs), data
