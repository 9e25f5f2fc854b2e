"""Readers for real data files: SPSS system files and RIVM's open behaviour data.

* :func:`read_spss` reads an SPSS ``.sav``/``.zsav`` file (via the optional dependency
  pyreadstat, ``pip install nea_covid[spss]``): value labels become pandas
  Categoricals, user-defined missing codes become NA, and the variable labels,
  value labels, missing-value definitions and measurement levels travel with the
  frame in ``DataFrame.attrs``.
* :func:`read_rivm_behaviour` reads and validates RIVM's public behaviour trend file
  (``COVID-19_gedrag.csv``) into a tidy frame of proportions;
  :func:`published_figures` turns its rows into :class:`~nea_covid.PublishedFigure`
  objects and :func:`compare_waves` tests every wave against the previous one and
  sets RIVM's own change flag beside ours.

Every problem with a file is a :class:`~nea_covid.FileFormatError` naming the file
(and, for text files, the line: the header is line 1, the first data row line 2)
and the column.
"""

from __future__ import annotations

import io
import os
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from nea_covid.errors import (
    ColumnNotFoundError,
    ComparisonError,
    FileFormatError,
    SurveyWarning,
    close_matches,
    plural,
)
from nea_covid.published import PublishedFigure, compare_published

__all__ = [
    "RIVM_COLUMNS",
    "compare_waves",
    "published_figures",
    "read_rivm_behaviour",
    "read_spss",
]

PathLike = str | os.PathLike[str]


# ---------------------------------------------------------------------------- SPSS
def read_spss(
    path: PathLike,
    *,
    user_missing: bool = True,
    categorical: bool = True,
    columns: Sequence[str] | None = None,
    encoding: str | None = None,
) -> pd.DataFrame:
    """Read an SPSS system file (``.sav`` or ``.zsav``) into a DataFrame.

    Needs the optional dependency pyreadstat (``pip install nea_covid[spss]``).

    Parameters
    ----------
    path : str or path-like
        The file.
    user_missing : bool, default True
        Set SPSS's user-defined missing codes (e.g. 9 "refused", -1 … -9) to NA.
        ``False`` keeps the codes as values (and, for labelled variables, their
        labels as categories).
    categorical : bool, default True
        Turn every variable with value labels into a :class:`pandas.Categorical`
        whose categories are the labels in the order of their codes (ordered when
        SPSS's measurement level is "ordinal"). A variable with a value that has no
        label (e.g. an age with only 99 labelled) keeps its codes. ``False`` keeps
        the codes everywhere.
    columns : sequence of str, optional
        Read only these variables (in the file's order).
    encoding : str, optional
        The file's character encoding, for old files that do not declare it (e.g.
        ``"cp1252"``); by default the encoding the file declares.

    Returns
    -------
    pandas.DataFrame
        One column per variable; SPSS dates and times as ``datetime64``. The metadata
        are in ``DataFrame.attrs`` (pandas keeps them through most operations that
        return a frame of the same variables; copy them before reshaping):

        ``"variable_labels"``
            ``{variable: label or None}``.
        ``"value_labels"``
            ``{variable: {code: label}}`` as in the file, user-missing codes included.
        ``"missing_ranges"``
            ``{variable: [{"lo": ..., "hi": ...}, ...]}``, SPSS's user-missing codes
            (a single code has ``lo == hi``).
        ``"measurement_levels"``
            ``{variable: "nominal" | "ordinal" | "scale" | "unknown"}``.
        ``"file_label"``, ``"source"``
            The file's label and its path.

    Raises
    ------
    ImportError
        pyreadstat is not installed.
    FileNotFoundError
        There is no file at ``path``.
    FileFormatError
        The file is not a readable SPSS system file (truncated, another format).
    ColumnNotFoundError
        A name in ``columns`` is not a variable of the file.

    Examples
    --------
    A small file written with pyreadstat (codes 9 and -9 … -1 are user-missing):

    >>> import pathlib, tempfile
    >>> import pandas as pd
    >>> import pyreadstat
    >>> from nea_covid.readers import read_spss
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "example.sav"
    >>> raw = pd.DataFrame({"werk": [1.0, 2.0, 9.0, 1.0], "leeftijd": [34.0, 51.0, 28.0, -1.0]})
    >>> pyreadstat.write_sav(
    ...     raw, path,
    ...     column_labels={"werk": "Works at home", "leeftijd": "Age in years"},
    ...     variable_value_labels={"werk": {1: "yes", 2: "no", 9: "refused"}},
    ...     missing_ranges={"werk": [9], "leeftijd": [{"lo": -9, "hi": -1}]})
    >>> df = read_spss(path)
    >>> df
      werk  leeftijd
    0  yes      34.0
    1   no      51.0
    2  NaN      28.0
    3  yes       NaN
    >>> list(df["werk"].cat.categories)
    ['yes', 'no']
    >>> df.attrs["variable_labels"]["werk"]
    'Works at home'
    >>> path.unlink()
    """
    try:
        import pyreadstat  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        raise ImportError(
            "read_spss needs the optional dependency pyreadstat: "
            "pip install nea_covid[spss]") from None
    file = Path(os.fspath(path))
    if not file.is_file():
        raise FileNotFoundError(f"There is no SPSS file at {str(file)!r}.")
    errors = (pyreadstat.ReadstatError, pyreadstat.PyreadstatError)
    try:
        # the metadata of user-missing codes come only with user_missing=True
        _, meta = pyreadstat.read_sav(str(file), metadataonly=True, user_missing=True,
                                      encoding=encoding)
    except errors as exc:
        raise FileFormatError(
            f"{str(file)!r} is not a readable SPSS system file (.sav/.zsav): {exc}. "
            "Check that the file is complete and really an SPSS file.") from None
    names = list(meta.column_names)
    if columns is not None:
        wanted = [columns] if isinstance(columns, str) else list(columns)
        unknown = [c for c in wanted if c not in names]
        if unknown:
            raise ColumnNotFoundError(
                f"{str(file)!r} has no variable {unknown[0]!r}"
                f"{'' if len(unknown) == 1 else f' (nor {unknown[1:]!r})'}."
                f"{close_matches(unknown[0], names)}")
        names = [c for c in names if c in set(wanted)]
    try:
        data, _ = pyreadstat.read_sav(
            str(file), user_missing=not user_missing, usecols=names,
            dates_as_pandas_datetime=True, encoding=encoding)
    except errors as exc:
        raise FileFormatError(
            f"{str(file)!r} could not be read as an SPSS system file: {exc}. Check that "
            "the file is complete (not truncated).") from None
    value_labels: dict[str, dict[Any, str]] = {
        c: dict(v) for c, v in meta.variable_value_labels.items() if c in names}
    missing_ranges: dict[str, list[Any]] = {
        c: list(v) for c, v in meta.missing_ranges.items() if c in names}
    measures: dict[str, str] = {c: meta.variable_measure.get(c, "unknown") for c in names}
    if categorical:
        for name, labels in value_labels.items():
            converted = _labelled(data[name], labels, missing_ranges.get(name, []) if
                                  user_missing else [], ordered=measures[name] == "ordinal")
            if converted is not None:
                data[name] = converted
    data.attrs.update(
        variable_labels={c: meta.column_names_to_labels.get(c) for c in names},
        value_labels=value_labels,
        missing_ranges=missing_ranges,
        measurement_levels=measures,
        file_label=meta.file_label,
        source=str(file),
    )
    return data


def _is_missing_code(code: Any, ranges: list[Any]) -> bool:
    for r in ranges:
        lo, hi = r.get("lo"), r.get("hi")
        if isinstance(code, str) or isinstance(lo, str):
            if code in (lo, hi):
                return True
        elif lo is not None and hi is not None and lo <= code <= hi:
            return True
    return False


def _labelled(values: pd.Series, labels: dict[Any, str], missing: list[Any],
              *, ordered: bool) -> pd.Categorical[Any] | None:
    """The labelled variable as a Categorical (categories: labels in code order, without
    the user-missing codes when those are NA), or None if a value has no label."""
    codes = [c for c in sorted(labels) if not _is_missing_code(c, missing)]
    present = values.notna().to_numpy()
    if not bool(np.all(values.isin(codes).to_numpy() | ~present)):
        return None
    mapping = {c: labels[c] for c in codes}
    categories = list(dict.fromkeys(mapping.values()))
    return pd.Categorical(values.map(mapping), categories=categories, ordered=ordered)


# ---------------------------------------------------------------------------- RIVM
RIVM_COLUMNS: tuple[str, ...] = (
    "Date_of_report", "Date_of_measurement", "Wave", "Region_code", "Region_name",
    "Subgroup_category", "Subgroup", "Indicator_category", "Indicator", "Sample_size",
    "Figure_type", "Value", "Lower_limit", "Upper_limit", "Change_wrt_previous_measurement",
)
"""The columns of RIVM's behaviour file ``COVID-19_gedrag.csv``, in the file's order."""

_RIVM_KEY = ("Wave", "Region_code", "Subgroup_category", "Subgroup", "Indicator_category",
             "Indicator", "Figure_type")
_TEXT = ("Region_code", "Region_name", "Subgroup_category", "Subgroup",
         "Indicator_category", "Indicator", "Figure_type")
_KEY = ("region_code", "subgroup_category", "subgroup", "indicator_category", "indicator")
_SKIP_NONE = "no estimate"
_SKIP_PRECISION = "neither interval nor n"
_SKIP_BOUNDARY = "interval touches 0% or 100%"
_SKIP_ZERO = "both intervals of zero width"
_BLOCK = 2000  # pairs per compare_published call in compare_waves

Problem = tuple[NDArray[np.bool_], str, Callable[[int], str]]


def _source(path_or_buffer: Any) -> str:
    if isinstance(path_or_buffer, str | os.PathLike):
        return repr(os.fspath(path_or_buffer))
    name = getattr(path_or_buffer, "name", None)
    return repr(name) if isinstance(name, str) else "the RIVM file (buffer)"


def read_rivm_behaviour(path_or_buffer: PathLike | IO[str] | IO[bytes]) -> pd.DataFrame:
    """Read RIVM's open data of the behaviour trend survey (``COVID-19_gedrag.csv``).

    The file (public domain, `data.rivm.nl`) has one row per wave, region, subgroup
    and indicator with the percentage, its 95% interval (from a logistic model), the
    number of respondents and a flag for a significant change since the previous
    wave; it is UTF-8 with semicolons (:data:`RIVM_COLUMNS`). The whole file is
    validated before anything is returned.

    Parameters
    ----------
    path_or_buffer : str, path-like or file-like
        The file, or an open text or binary buffer (e.g. :class:`io.StringIO`).

    Returns
    -------
    pandas.DataFrame
        One row per row of the file, in the file's order (row ``i`` is line ``i + 2``),
        with the columns

        ``wave`` (int), ``date`` (datetime, ``Date_of_measurement``), ``region_code``,
        ``region`` (``Region_name``), ``subgroup_category``, ``subgroup``,
        ``indicator_category``, ``indicator``, ``figure_type``, ``n`` (int,
        ``Sample_size``; 0 where RIVM publishes no figure), ``estimate``, ``ci_low``,
        ``ci_high`` (floats; **proportions** in [0, 1] for ``figure_type ==
        "Percentage"``, i.e. RIVM's percentages / 100; other figure types, which the
        file of May 2021 does not have, keep the published numbers; NaN where RIVM
        publishes no figure), ``change`` (nullable Int8: RIVM's flag, 1 significant
        rise, -1 significant fall, 0 no significant change, NA for the first
        measurement) and ``report_date`` (datetime, ``Date_of_report``).

    Raises
    ------
    FileFormatError
        With the file's name, the line (header = line 1) and the column: columns
        missing from or unknown to the header; a line with too many fields; a missing
        or malformed wave, date, sample size, region, subgroup or indicator; a value
        or limit that is not a number; a limit without its partner or without a value;
        ``Lower_limit > Value`` or ``Value > Upper_limit``; a percentage outside
        [0, 100]; a change flag other than -1, 0, 1 or empty; the same wave, region,
        subgroup, indicator and figure type twice. The first offending line is named,
        and how many lines share the problem.

    See Also
    --------
    published_figures : the rows as :class:`~nea_covid.PublishedFigure` objects.
    compare_waves : test every wave against the previous one, beside RIVM's flags.

    Examples
    --------
    A small file in RIVM's format (invented figures):

    >>> import io
    >>> from nea_covid.readers import RIVM_COLUMNS, read_rivm_behaviour
    >>> text = "\\n".join([
    ...     ";".join(RIVM_COLUMNS),
    ...     "2021-06-01 10:00:00;2021-02-16;08;NL00;Nederland;Alle;Totaal;Naleving;"
    ...     "Werkt_thuis;3050;Percentage;71.0;69.3;72.6;0",
    ...     "2021-06-01 10:00:00;2021-03-09;09;NL00;Nederland;Alle;Totaal;Naleving;"
    ...     "Werkt_thuis;3120;Percentage;68.2;66.5;69.9;-1"])
    >>> frame = read_rivm_behaviour(io.StringIO(text))
    >>> frame[["wave", "date", "indicator", "n", "estimate", "ci_low", "ci_high", "change"]]
       wave       date    indicator     n  estimate  ci_low  ci_high  change
    0     8 2021-02-16  Werkt_thuis  3050     0.710   0.693    0.726       0
    1     9 2021-03-09  Werkt_thuis  3120     0.682   0.665    0.699      -1

    A malformed line is reported with its number and column:

    >>> bad = text.replace("68.2", "68,2")
    >>> read_rivm_behaviour(io.StringIO(bad))
    Traceback (most recent call last):
    ...
    nea_covid.errors.FileFormatError: the RIVM file (buffer), line 3, column 'Value': \
not a number ...'68,2'...
    """
    name = _source(path_or_buffer)
    text = _read_text(path_or_buffer, name)
    first = text.split("\n", 1)[0]
    if not first.strip():
        raise FileFormatError(f"{name} is empty; expected RIVM's header line "
                              f"{';'.join(RIVM_COLUMNS)}")
    header = [c.strip() for c in first.rstrip("\r").split(";")]
    _check_header(name, header)
    try:
        # header=None: every line is data, so pandas reports lines with too many fields
        # (numbered as in the file) instead of taking a first column as the index
        table = pd.read_csv(io.StringIO(text), sep=";", header=None, dtype=str,
                            keep_default_na=False, na_filter=False, skip_blank_lines=False)
    except pd.errors.ParserError as exc:
        raise FileFormatError(
            f"{name} is not a valid RIVM behaviour file: {str(exc).strip()} (line 1 is the "
            "header; fields are separated by semicolons).") from None
    raw = table.iloc[1:].fillna("").set_axis(header, axis=1).reset_index(drop=True)
    return _parse_rivm(name, raw)


def _read_text(source: Any, name: str) -> str:
    """The whole file as text (UTF-8, an optional byte-order mark removed)."""
    try:
        if isinstance(source, str | os.PathLike):
            with open(source, encoding="utf-8-sig", newline="") as handle:
                content: Any = handle.read()
        elif hasattr(source, "read"):
            content = source.read()
            if isinstance(content, bytes):
                content = content.decode("utf-8-sig")
        else:
            raise TypeError(f"read_rivm_behaviour needs a path or an open file, not "
                            f"{type(source).__name__}.")
    except UnicodeDecodeError as exc:
        raise FileFormatError(
            f"{name} is not UTF-8 ({exc}); RIVM publishes its open data in UTF-8.") from None
    if not isinstance(content, str):
        raise TypeError(f"{name} gave {type(content).__name__}, not text.")
    return content.removeprefix("\ufeff")


def _check_header(name: str, header: list[str]) -> None:
    missing = [c for c in RIVM_COLUMNS if c not in header]
    unknown = [c for c in header if c not in RIVM_COLUMNS]
    repeated = sorted({c for c in header if header.count(c) > 1})
    if not (missing or unknown or repeated):
        return
    parts = []
    if missing:
        parts.append(f"lacks {plural(len(missing), 'column')} "
                     f"{', '.join(repr(c) for c in missing)}")
    if unknown:
        parts.append(f"has unknown {plural(len(unknown), 'column')} "
                     f"{', '.join(repr(c) for c in unknown[:5])}"
                     f"{', ...' if len(unknown) > 5 else ''}")
    if repeated:
        parts.append(f"repeats {', '.join(repr(c) for c in repeated)}")
    hint = (" Fields must be separated by semicolons (;)."
            if len(header) == 1 else f" Expected exactly: {';'.join(RIVM_COLUMNS)}.")
    raise FileFormatError(f"{name}, line 1 (header): the header {'; '.join(parts)}.{hint}")


def _numbers(raw: pd.DataFrame, column: str) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Parsed numbers (NaN where empty) and the mask of non-empty fields that are not
    finite numbers."""
    text = raw[column]
    x = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = (text != "").to_numpy() & ~np.isfinite(x)
    return x, bad


def _parse_rivm(name: str, raw: pd.DataFrame) -> pd.DataFrame:
    problems: list[Problem] = []

    def add(mask: Any, column: str, text: str | Callable[[int], str]) -> None:
        m = np.asarray(mask, dtype=bool)
        if m.any():
            problems.append((m, column, text if callable(text) else (lambda _i: text)))

    for column in _TEXT:
        add((raw[column] == "").to_numpy(), column, "missing")
    wave, bad = _numbers(raw, "Wave")
    add(bad | np.isnan(wave) | (wave != np.round(wave)) | (wave < 0), "Wave",
        "not a wave number (a whole number such as 08)")
    n, bad = _numbers(raw, "Sample_size")
    add(bad | np.isnan(n) | (n != np.round(n)) | (n < 0), "Sample_size",
        "not a number of respondents (a whole number, 0 where no figure is published)")
    dates = {}
    for column in ("Date_of_measurement", "Date_of_report"):
        dates[column] = pd.to_datetime(raw[column], format="ISO8601", errors="coerce")
        add(dates[column].isna().to_numpy(), column, "missing or not a date (YYYY-MM-DD)")
    value, bad_value = _numbers(raw, "Value")
    lower, bad_lower = _numbers(raw, "Lower_limit")
    upper, bad_upper = _numbers(raw, "Upper_limit")
    number = "not a number (RIVM writes percentages with a decimal point, e.g. 82.3)"
    add(bad_value, "Value", number)
    add(bad_lower, "Lower_limit", number)
    add(bad_upper, "Upper_limit", number)
    has_v, has_l, has_u = ~np.isnan(value), ~np.isnan(lower), ~np.isnan(upper)
    add(has_u & ~has_l & ~bad_lower, "Lower_limit", "missing while Upper_limit is given")
    add(has_l & ~has_u & ~bad_upper, "Upper_limit", "missing while Lower_limit is given")
    add((has_l | has_u) & ~has_v & ~bad_value, "Value", "missing while its limits are given")
    with np.errstate(invalid="ignore"):
        add(lower > value, "Lower_limit", "above the Value")
        add(value > upper, "Upper_limit", "below the Value")
        percent = (raw["Figure_type"] == "Percentage").to_numpy()
        for column, x in (("Value", value), ("Lower_limit", lower), ("Upper_limit", upper)):
            add(percent & ((x < 0) | (x > 100)), column, "a percentage outside [0, 100]")
    change, bad = _numbers(raw, "Change_wrt_previous_measurement")
    add(bad | (~np.isnan(change) & ~np.isin(change, (-1.0, 0.0, 1.0))),
        "Change_wrt_previous_measurement", "not a change flag (-1, 0, 1 or empty)")
    if not problems:  # keys are compared on parsed waves (08 and 8 are one wave)
        keys = raw[list(_RIVM_KEY)].assign(Wave=wave)
        duplicated = keys.duplicated().to_numpy()
        if duplicated.any():
            group = keys.groupby(list(_RIVM_KEY), sort=False).ngroup().to_numpy()

            def first_line(i: int) -> str:
                j = int(np.flatnonzero(group == group[i])[0])
                return ("repeats the wave, region, subgroup, indicator and figure type of "
                        f"line {j + 2}")

            add(duplicated, "/".join(_RIVM_KEY), first_line)
    if problems:
        _raise_first(name, raw, problems)

    return pd.DataFrame({
        "wave": wave.astype(np.int64),
        "date": dates["Date_of_measurement"],
        "region_code": raw["Region_code"],
        "region": raw["Region_name"],
        "subgroup_category": raw["Subgroup_category"],
        "subgroup": raw["Subgroup"],
        "indicator_category": raw["Indicator_category"],
        "indicator": raw["Indicator"],
        "figure_type": raw["Figure_type"],
        "n": n.astype(np.int64),
        "estimate": _proportion(value, percent),
        "ci_low": _proportion(lower, percent),
        "ci_high": _proportion(upper, percent),
        "change": pd.Series(change).astype("Int8"),
        "report_date": dates["Date_of_report"],
    })


def _proportion(x: NDArray[np.float64], percent: NDArray[np.bool_]) -> NDArray[np.float64]:
    """Percentages / 100, rounded to 12 decimals (0.577, not 0.5770000000000001)."""
    return np.where(percent, np.round(x / 100.0, 12), x)


def _raise_first(name: str, raw: pd.DataFrame, problems: list[Problem]) -> None:
    """Raise the problem found on the earliest line."""
    rows = [np.flatnonzero(mask) for mask, _, _ in problems]
    order = [(int(r[0]), RIVM_COLUMNS.index(c) if c in RIVM_COLUMNS else -1)
             for r, (_, c, _) in zip(rows, problems, strict=True)]
    k = min(range(len(problems)), key=order.__getitem__)  # earliest line, then column
    where, column, text = rows[k], problems[k][1], problems[k][2]
    i = int(where[0])
    if "/" in column:
        found, label = "", f"columns {column.replace('/', ', ')}"
    else:
        value = raw[column].iloc[i]
        found, label = f", found {value!r}" if value != "" else "", f"column {column!r}"
    lines = ", ".join(str(int(r) + 2) for r in where[:5]) + (", ..." if where.size > 5 else "")
    count = (f" {plural(int(where.size), 'line')} {'has' if where.size == 1 else 'have'} "
             f"this problem (lines {lines})." if where.size > 1 else "")
    others = len(problems) - 1
    more = (f" The file has {plural(others, 'other problem')} (fix this one first)."
            if others else "")
    raise FileFormatError(f"{name}, line {i + 2}, {label}: {text(i)}{found}.{count}{more}")


# ------------------------------------------------------------------ published figures
def _require(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{what} needs a DataFrame from read_rivm_behaviour, not "
                        f"{type(frame).__name__}.")
    for c in columns:
        if c not in frame.columns:
            raise ColumnNotFoundError(
                f"{what} needs the column {c!r} (as read_rivm_behaviour returns it)."
                f"{close_matches(c, list(map(str, frame.columns)))}")


def _make_figures(estimate: NDArray[np.float64], low: NDArray[np.float64],
                  high: NDArray[np.float64], n: NDArray[np.int64],
                  labels: Sequence[str | None]) -> list[PublishedFigure]:
    """PublishedFigures with the interval where it has a width, else n only."""
    with_ci = ~np.isnan(low) & ~np.isnan(high) & (high > low)
    return [
        PublishedFigure(float(p), ci=(float(lo), float(hi)) if c else None,
                        n=int(k) if k > 0 else None, label=lab)
        for p, lo, hi, k, c, lab in zip(estimate, low, high, n, with_ci, labels, strict=True)
    ]


def published_figures(frame: pd.DataFrame, *, label: str | None = "wave"
                      ) -> list[PublishedFigure]:
    """Turn rows of :func:`read_rivm_behaviour` into published figures.

    Parameters
    ----------
    frame : pandas.DataFrame
        Rows of :func:`read_rivm_behaviour` (any selection, e.g. one indicator); every
        row needs an estimate and must be a percentage (``figure_type``).
    label : str or None, default "wave"
        The column that labels each figure, as ``"<column> <value>"`` (e.g.
        ``"wave 8"``); None for no labels.

    Returns
    -------
    list of PublishedFigure
        One per row, in the frame's order, with the estimate and interval as
        proportions and ``n``. A zero-width interval (RIVM publishes 0% or 100% as
        (0, 0) or (100, 100)) is not passed on; its figure carries ``n`` only.

    Raises
    ------
    ComparisonError
        A row has no estimate (select ``frame[frame["estimate"].notna()]``) or is not
        a percentage.
    ColumnNotFoundError
        A required column is missing.

    Examples
    --------
    >>> import io
    >>> import nea_covid as nc
    >>> from nea_covid.readers import RIVM_COLUMNS, published_figures, read_rivm_behaviour
    >>> text = "\\n".join([
    ...     ";".join(RIVM_COLUMNS),
    ...     "2021-06-01;2021-02-16;08;NL00;Nederland;Alle;Totaal;Naleving;Werkt_thuis;"
    ...     "3050;Percentage;71.0;69.3;72.6;0",
    ...     "2021-06-01;2021-03-09;09;NL00;Nederland;Alle;Totaal;Naleving;Werkt_thuis;"
    ...     "3120;Percentage;68.2;66.5;69.9;-1"])
    >>> w8, w9 = published_figures(read_rivm_behaviour(io.StringIO(text)))
    >>> w8
    PublishedFigure(estimate=0.71, ci=(0.693, 0.726), standard_error=None, n=3050, deff=1.0, \
confidence_level=0.95, label='wave 8')
    >>> round(float(nc.compare_published(w8, w9, scale="logit").pvalue[0]), 4)
    0.0206
    """
    _require(frame, ["estimate", "ci_low", "ci_high", "n"], "published_figures")
    if label is not None:
        _require(frame, [label], "published_figures")
    estimate = frame["estimate"].to_numpy(dtype=float, na_value=np.nan)
    none = np.isnan(estimate)
    if none.any():
        raise ComparisonError(
            f"{plural(int(none.sum()), 'row')} of {len(frame)} "
            f"{'has' if none.sum() == 1 else 'have'} no estimate (RIVM published no "
            f"figure; first: index {frame.index[int(np.flatnonzero(none)[0])]!r}); select "
            "the published ones with frame[frame['estimate'].notna()].")
    if "figure_type" in frame.columns:
        other = (frame["figure_type"] != "Percentage").to_numpy()
        if other.any():
            raise ComparisonError(
                f"{plural(int(other.sum()), 'row')} {'is' if other.sum() == 1 else 'are'} "
                f"not a percentage (figure_type "
                f"{frame['figure_type'].iloc[int(np.flatnonzero(other)[0])]!r}); only "
                "proportions can be published figures.")
    labels: Sequence[str | None] = (
        (f"{label} " + frame[label].astype(str)).tolist() if label is not None
        else [None] * len(frame))
    return _make_figures(estimate, frame["ci_low"].to_numpy(dtype=float, na_value=np.nan),
                         frame["ci_high"].to_numpy(dtype=float, na_value=np.nan),
                         frame["n"].to_numpy(dtype=np.int64), labels)


def compare_waves(frame: pd.DataFrame, scale: Literal["logit", "linear"] = "logit", *,
                  alpha: float = 0.05) -> pd.DataFrame:
    """Test every wave against the previous one, beside RIVM's own change flags.

    For each region × subgroup × indicator, the figure of each wave is compared with
    that of the previous wave that has it (RIVM's "previous measurement": an indicator
    not asked in every wave is compared across the gap) by
    :func:`~nea_covid.compare_published`, the waves taken as
    independent samples, all pairs at once (in blocks of 2,000 pairs, because
    ``compare_published`` keeps a dense covariance matrix of its pairs).

    Parameters
    ----------
    frame : pandas.DataFrame
        From :func:`read_rivm_behaviour` (or a selection of its rows, e.g. the
        national ones, ``frame[frame["region_code"] == "NL00"]``). Only rows with
        ``figure_type == "Percentage"`` are used.
    scale : {"logit", "linear"}, default "logit"
        "logit" reads the intervals as symmetric on the log-odds scale, as RIVM's
        come from a logistic model, and tests the log odds ratio; "linear" tests the
        difference in proportions.
    alpha : float, default 0.05
        Level of the two-sided test behind our flag.

    Returns
    -------
    pandas.DataFrame
        One row per compared pair: the key columns (``region_code``, ``region`` if
        present, ``subgroup_category``, ``subgroup``, ``indicator_category``,
        ``indicator``), ``base_wave``, ``wave``, ``base_estimate``, ``estimate``
        (proportions in the two waves), ``difference``, ``log_odds_ratio`` (logit scale
        only), ``standard_error`` (of the log odds ratio or the difference),
        ``statistic``, ``pvalue``, ``change`` (ours: ``sign`` of the change where
        ``pvalue < alpha``, else 0), ``rivm_change`` (RIVM's published flag for
        ``wave``) and ``agrees`` (``change == rivm_change``; NA without a flag).

        ``attrs["skipped"]`` counts the pairs of consecutive waves that are not
        compared, by reason: ``"no estimate"`` (RIVM published no figure in one of
        the waves), ``"neither interval nor n"``, and on the logit scale
        ``"interval touches 0% or 100%"`` (a figure of 0% or 100%, or an interval
        reaching either, has no log odds), on the linear scale ``"both intervals of
        zero width"`` (no variance). The last two also raise a
        :class:`~nea_covid.SurveyWarning` naming their count, so they never pass
        unnoticed; compare those pairs with ``scale="linear"`` or leave them out.

    Notes
    -----
    On RIVM's file of 4 May 2021 the logit-scale verdicts agree with RIVM's flags for
    more than 99% of the national pairs and never point the other way; the
    disagreements sit at the edge of significance, where the published one-decimal
    rounding decides.

    Examples
    --------
    >>> import io
    >>> from nea_covid.readers import RIVM_COLUMNS, compare_waves, read_rivm_behaviour
    >>> text = "\\n".join([
    ...     ";".join(RIVM_COLUMNS),
    ...     "2021-06-01;2021-02-16;08;NL00;Nederland;Alle;Totaal;Naleving;Werkt_thuis;"
    ...     "3050;Percentage;71.0;69.3;72.6;0",
    ...     "2021-06-01;2021-03-09;09;NL00;Nederland;Alle;Totaal;Naleving;Werkt_thuis;"
    ...     "3120;Percentage;68.2;66.5;69.9;-1",
    ...     "2021-06-01;2021-03-30;10;NL00;Nederland;Alle;Totaal;Naleving;Werkt_thuis;"
    ...     "3080;Percentage;67.5;65.8;69.2;0"])
    >>> result = compare_waves(read_rivm_behaviour(io.StringIO(text)))
    >>> result[["base_wave", "wave", "difference", "pvalue", "change", "rivm_change", "agrees"]]
       base_wave  wave  difference    pvalue  change  rivm_change  agrees
    0          8     9      -0.028  0.020643      -1           -1    True
    1          9    10      -0.007  0.568526       0            0    True
    >>> result.attrs["skipped"]
    {'no estimate': 0, 'neither interval nor n': 0, 'interval touches 0% or 100%': 0}
    """
    _require(frame, ["wave", *_KEY, "n", "estimate", "ci_low", "ci_high", "change"],
             "compare_waves")
    if scale not in ("logit", "linear"):
        raise ComparisonError(f"`scale` must be 'logit' or 'linear', not {scale!r}.")
    if not (isinstance(alpha, float | int) and 0 < alpha < 1):
        raise ComparisonError(f"`alpha` must be in (0, 1), not {alpha!r}.")
    f = frame
    if "figure_type" in f.columns:
        f = f[(f["figure_type"] == "Percentage").to_numpy()]
    key = list(_KEY)
    dup = f.duplicated([*key, "wave"]).to_numpy()
    if dup.any():
        raise ComparisonError(
            f"{plural(int(dup.sum()), 'row')} repeat a wave of the same region, subgroup and "
            f"indicator (first: index {f.index[int(np.flatnonzero(dup)[0])]!r}); each "
            "figure must appear once.")
    describe = key[:1] + (["region"] if "region" in f.columns else []) + key[1:]
    figure = ["wave", "n", "estimate", "ci_low", "ci_high"]
    # the previous measurement of each figure is the previous wave that has it (RIVM's
    # Change_wrt_previous_measurement), not necessarily wave - 1
    f = f.sort_values([*key, "wave"], kind="stable")
    following = f.groupby(key, sort=False, dropna=False)["wave"].shift(-1)
    base = f[describe + figure].assign(_next=following.astype("Int64"))
    base = base[base["_next"].notna().to_numpy()]
    later = f[[*key, *figure, "change"]]
    pairs = base.merge(later, left_on=[*key, "_next"], right_on=[*key, "wave"],
                       suffixes=("_base", ""), sort=True)

    def arr(column: str) -> NDArray[np.float64]:
        return pairs[column].to_numpy(dtype=float, na_value=np.nan)

    sides = [(arr("estimate" + s), arr("ci_low" + s), arr("ci_high" + s), arr("n" + s))
             for s in ("_base", "")]
    no_estimate = np.isnan(sides[0][0]) | np.isnan(sides[1][0])
    no_precision = np.zeros(len(pairs), dtype=bool)
    edge = np.zeros(len(pairs), dtype=bool)
    zero = np.ones(len(pairs), dtype=bool)
    with np.errstate(invalid="ignore"):
        for p, lo, hi, n in sides:
            has_ci = ~np.isnan(lo) & ~np.isnan(hi)
            no_precision |= ~has_ci & ~(n > 0)
            edge |= (p <= 0) | (p >= 1) | (has_ci & ((lo <= 0) | (hi >= 1)))
            zero &= (has_ci & (hi <= lo)) | (~has_ci & ((p <= 0) | (p >= 1)))
    no_precision &= ~no_estimate
    last = (edge if scale == "logit" else zero) & ~no_estimate & ~no_precision
    reason = _SKIP_BOUNDARY if scale == "logit" else _SKIP_ZERO
    skipped = {_SKIP_NONE: int(no_estimate.sum()), _SKIP_PRECISION: int(no_precision.sum()),
               reason: int(last.sum())}
    if last.any():
        warnings.warn(
            f"compare_waves left out {plural(int(last.sum()), 'pair')} of waves on the "
            f"{scale} scale: {reason} (counts by reason in result.attrs['skipped'])"
            + ("; compare them with scale='linear'." if scale == "logit" else "."),
            SurveyWarning, stacklevel=2)
    ok = ~(no_estimate | no_precision | last)
    kept = pairs[ok]
    out = kept[describe].reset_index(drop=True)
    out["base_wave"] = kept["wave_base"].to_numpy(dtype=np.int64)
    out["wave"] = kept["wave"].to_numpy(dtype=np.int64)
    out["base_estimate"] = sides[0][0][ok]
    out["estimate"] = sides[1][0][ok]
    out["difference"] = out["estimate"] - out["base_estimate"]
    if ok.any():
        def figures(s: int, waves: NDArray[np.int64]) -> list[PublishedFigure]:
            p, lo, hi, n = sides[s]
            return _make_figures(p[ok], lo[ok], hi[ok], n[ok].astype(np.int64),
                                 np.char.add("wave ", waves.astype(str)).tolist())

        before = figures(0, out["base_wave"].to_numpy())
        after = figures(1, out["wave"].to_numpy())
        # compare_published holds the (diagonal) covariance of its pairs as a dense
        # n x n matrix: 3 GB for the 20,000 pairs of RIVM's file, so the pairs go in
        # blocks (the tests are per pair: the results are the same as in one call)
        parts = [compare_published(before[i:i + _BLOCK], after[i:i + _BLOCK], scale=scale)
                 for i in range(0, len(before), _BLOCK)]
        effect, se, statistic, pvalue = (
            np.concatenate([getattr(r, a) for r in parts])
            for a in ("estimate", "standard_error", "statistic", "pvalue"))
    else:
        effect = se = statistic = pvalue = np.zeros(0)
    if scale == "logit":
        out["log_odds_ratio"] = effect
    out["standard_error"] = se
    out["statistic"] = statistic
    out["pvalue"] = pvalue
    ours = np.where(pvalue < alpha, np.sign(effect), 0.0)
    out["change"] = pd.array(np.where(np.isnan(pvalue), np.nan, ours), dtype="Int8")
    out["rivm_change"] = pd.array(kept["change"].to_numpy(dtype=float, na_value=np.nan),
                                  dtype="Int8")
    out["agrees"] = (out["change"] == out["rivm_change"]).astype("boolean")
    out.attrs.update(skipped=skipped, scale=scale, alpha=float(alpha))
    return out
