"""Bundled datasets.

R's public ``api`` and ``nhanes`` example data (from the ``survey`` package, exported by
``tests/reference/core.R``) are shipped so that the examples, the README demo and the
reference tests run without R.
"""

from __future__ import annotations

from importlib import resources
from typing import Any, Literal

import pandas as pd

__all__ = ["load_api", "load_nhanes"]

_API = {"strat": "apistrat", "clus1": "apiclus1", "clus2": "apiclus2"}


def read_csv_exact(path: Any) -> pd.DataFrame:
    """Read a CSV parsing every number to exactly the double that was written
    (pandas >= 3 does so by default; older versions need ``float_precision``)."""
    extra: dict[str, Any] = {}
    if int(pd.__version__.split(".")[0]) < 3:
        extra["float_precision"] = "round_trip"
    frame: pd.DataFrame = pd.read_csv(path, dtype={"cds": str}, skipinitialspace=True, **extra)
    return frame


def _read(stem: str) -> pd.DataFrame:
    path = resources.files("nea_covid.datasets").joinpath("data", f"{stem}.csv")
    with resources.as_file(path) as p:
        return read_csv_exact(p)


def load_api(design: Literal["strat", "clus1", "clus2"] = "strat") -> pd.DataFrame:
    """California Academic Performance Index samples, as in R's ``data(api)``.

    Parameters
    ----------
    design : {"strat", "clus1", "clus2"}
        ``apistrat`` (stratified by school type, ``pw`` and ``fpc``), ``apiclus1``
        (cluster sample of districts ``dnum``) or ``apiclus2`` (two-stage: districts
        then schools, ``fpc1``/``fpc2``).

    Returns
    -------
    pandas.DataFrame
        A new frame on every call.

    Examples
    --------
    >>> import nea_covid as nc
    >>> nc.datasets.load_api("strat").shape
    (200, 39)
    """
    if design not in _API:
        raise ValueError(f"design must be one of {sorted(_API)}, not {design!r}.")
    return _read(_API[design])


def load_nhanes() -> pd.DataFrame:
    """NHANES 2009-2010 extract as in R's ``data(nhanes)``: stratified (``SDMVSTRA``)
    two-PSU-per-stratum design (``SDMVPSU``, nested) with weights ``WTMEC2YR``.

    Examples
    --------
    >>> import nea_covid as nc
    >>> nc.datasets.load_nhanes().shape
    (8591, 7)
    """
    return _read("nhanes")
