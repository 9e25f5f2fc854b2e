"""Bundled datasets.

R's public ``api`` and ``nhanes`` example data (from the ``survey`` package, exported by
``tests/reference/core.R``) are shipped so that the examples, the README demo and the
reference tests run without R.
"""

from __future__ import annotations

from importlib import resources
from typing import Any, Literal

import pandas as pd

from nea_covid.errors import ArgumentError

__all__ = ["load_api", "load_nea_covid", "load_nhanes", "load_rivm_trend", "value_labels"]

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
        raise ArgumentError(f"design must be one of {sorted(_API)}, not {design!r}.")
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


def load_rivm_trend() -> pd.DataFrame:
    """SYNTHETIC RIVM trend-survey microdata, waves 2-11 (Oct 2020 - Apr 2021).

    Invented respondents (about 5,000 per wave, independent cross-sections, about 200
    per safety region) whose weighted national share "works from home as much as
    possible" among working people reproduces RIVM's published figures; see
    ``nea_covid/datasets/data/rivm_trend.md`` and
    :mod:`nea_covid.datasets.generate_rivm_trend` (which rewrites the file).

    Returns
    -------
    pandas.DataFrame
        One row per respondent: ``respondent_id``, ``wave``, ``date`` (datetime),
        ``region`` (VR01-VR25), ``stratum`` (wave x region), ``sex``, ``age``,
        ``age_class``, ``education`` (ordered categoricals), ``employment_status``
        (1-3), ``can_work_from_home`` (1/2/3/8) and ``wfh_as_much_as_possible``
        (1/2/8) as nullable ``Int64`` (missing where not asked), ``share_hours_at_home``
        and ``weight`` (post-stratified to age class x sex x education). A new frame on
        every call.

    Examples
    --------
    >>> import nea_covid as nc
    >>> df = nc.datasets.load_rivm_trend()
    >>> d = nc.SurveyDesign(df, strata="stratum", weights="weight")
    >>> wfh = nc.harmonisation.get_definition("rivm_wfh_as_much_as_possible")
    >>> est = nc.harmonised_proportion(d, wfh, by="wave", missing="omit")
    >>> frame = est.to_frame()
    >>> round(100 * float(frame.query("wave == 6 and level == 'yes'")["estimate"].iloc[0]), 1)
    72.7
    """
    path = resources.files("nea_covid.datasets").joinpath("data", "rivm_trend.csv.gz")
    with resources.as_file(path) as p:
        frame = pd.read_csv(
            p, parse_dates=["date"],
            dtype={"can_work_from_home": "Int64", "wfh_as_much_as_possible": "Int64",
                   "region": "str", "stratum": "str", "sex": "str"})
    frame["age_class"] = pd.Categorical(
        frame["age_class"], categories=["16-24", "25-39", "40-54", "55-69", "70+"],
        ordered=True)
    frame["education"] = pd.Categorical(
        frame["education"], categories=["low", "middle", "high"], ordered=True)
    return frame


#: Wave labels of the synthetic NEA-COVID panel, in order.
NEA_COVID_WAVES: tuple[str, ...] = ("2019", "2020-06", "2020-11", "2021-03")


def load_nea_covid() -> pd.DataFrame:
    """The SYNTHETIC NEA-COVID panel: werknemers of the NEA 2019 cohort, long format.

    One row per panel member and wave answered: the NEA 2019 baseline ("2019", all
    26,300 members) and waves "2020-06" (W1), "2020-11" (W2) and "2021-03" (W3) with
    10,616 / 9,829 / 8,911 respondents. The data are invented by
    :mod:`nea_covid.datasets.generate_nea_covid` so that weighted estimates reproduce
    TNO's published figures; every relationship between variables is invented (see the
    data card ``nea_covid/datasets/data/nea_covid.md``).

    Returns
    -------
    pandas.DataFrame
        A new frame on every call. Design columns: ``panel_id``, ``wave`` (ordered
        categorical), ``stratum`` (= ``sector``, 13 strata), ``design_weight``
        (population / invited in the stratum) and ``weight`` (the wave's final weight,
        raked to 7,549,000 werknemers). Codebook variables (``employment_status``,
        ``age_2019``, ``work_location``, ``could_work_more_at_home``) and the other coded
        answers are integers as in :func:`nea_covid.harmonisation.codebook` and the
        card; answers that were not asked are missing (nullable ``Int64``).

    Examples
    --------
    >>> import nea_covid as nc
    >>> df = nc.datasets.load_nea_covid()
    >>> df.groupby("wave", observed=True).size().tolist()
    [26300, 10616, 9829, 8911]
    >>> d = nc.SurveyDesign(df, strata="stratum", weights="weight")
    >>> w2 = d.subset(df["wave"] == "2020-11")
    >>> est = nc.harmonised_proportion(w2, nc.get_definition("tno_works_at_home"))
    >>> est.to_frame()[["level", "estimate"]].round(3)
      level  estimate
    0   yes      0.48
    1    no      0.52
    """
    path = resources.files("nea_covid.datasets").joinpath("data", "nea_covid.csv.gz")
    with resources.as_file(path) as p:
        frame = read_csv_exact(p)
    frame["wave"] = pd.Categorical(frame["wave"].astype(str), categories=NEA_COVID_WAVES,
                                   ordered=True)
    for name in frame.columns:
        if name not in ("wave", "design_weight", "weight"):
            frame[name] = frame[name].astype("Int64" if frame[name].isna().any() else "int64")
    return frame


def value_labels(variable: str) -> dict[int, str]:
    """Labels of the codes of a person characteristic in :func:`load_nea_covid`.

    Parameters
    ----------
    variable : {"sector", "sex", "age_class", "education", "company_size", "occupation"}

    Returns
    -------
    dict of int to str
        A new dict, code to label, in code order: ready for ``Series.map`` and for the
        ``labels=`` of :mod:`nea_covid.plot` (``labels={"sector": value_labels("sector")}``).
        The answer codes of the survey questions are in :func:`nea_covid.codebook`.

    Examples
    --------
    >>> import nea_covid as nc
    >>> nc.datasets.value_labels("sector")[12]
    'health and welfare'
    >>> nc.datasets.value_labels("sex")
    {1: 'man', 2: 'woman'}
    """
    from nea_covid.datasets import generate_nea_covid as g
    from nea_covid.errors import ColumnNotFoundError

    labels: dict[str, Any] = {
        "sector": g.SECTORS, "sex": {1: "man", 2: "woman"}, "age_class": g.AGE_CLASSES,
        "education": g.EDUCATION, "company_size": g.COMPANY_SIZE, "occupation": g.OCCUPATIONS,
    }
    if variable not in labels:
        raise ColumnNotFoundError(
            f"No value labels for {variable!r}; there are labels for "
            f"{', '.join(map(repr, labels))}.")
    return dict(labels[variable])
