"""Publication tables: rounded, intervals as text, in Dutch or English, to CSV and Excel.

:func:`publication_table` turns a result (an :class:`~nea_covid.Estimate`,
:class:`~nea_covid.Comparison`, :class:`~nea_covid.Extrapolation`,
:class:`~nea_covid.Regression`, :class:`~nea_covid.ChisqTest` or
:class:`~nea_covid.JointTest`) into the table a report prints: one row per cell, the
estimate rounded, the confidence interval as one text column ``[45,1; 49,9]``, the
number of observations, p-values as ``<0,001``, and column headers in the language of
the report. :func:`to_csv` and :func:`to_excel` write it; :func:`read_publication_table`
reads such a file back.

**Numbers stay numbers.** Rounded estimates, standard errors, bounds and counts are
numeric columns (rounded half away from zero, as published figures are), so analysts
can compute with them; Excel shows them with a number format of the same decimals (and
thousands separators, in the reader's own Excel language). Only what cannot be one
number is text: the interval and the p-values (``<0.001``). ``text=True`` gives a
table of text instead, every number printed with the language's separators
(``1.234,5``), for pasting into a document.

**Default decimals** (``digits=None``):

- shares printed as percentages (proportions; ``percent=True``): 1 decimal;
- totals and extrapolated counts: whole numbers;
- everything else (means, ratios, quantiles, differences, regression coefficients):
  enough decimals to show the smallest standard error in the table with two
  significant digits (a standard error of 9.4 gives 1 decimal, 0.031 gives 3), from 0
  to 6;
- n: whole numbers; design effects and test statistics: 2 decimals; p-values: 3
  decimals, below 0.001 as ``<0.001``.

``digits=`` sets the decimals of the estimate, its standard error and interval.

**Files.** Dutch CSV is what Dutch Excel reads: ``;`` between fields, decimal comma;
English CSV uses ``,`` and a decimal point. Both are UTF-8 with a byte-order mark, so
that Excel shows "ë" correctly (pandas and R's readr skip the mark). Excel files
(``pip install "nea_covid[excel]"``) have a bold, frozen header row, fitted column
widths and number formats; the same table always gives the same bytes. Footnotes
(confidence level and degrees of freedom, rows omitted for missing values, the
definition behind a harmonised estimate, ...) are kept out of the table unless asked
for with ``notes=``.

Examples
--------
>>> import nea_covid as nc
>>> d = nc.SurveyDesign(nc.datasets.load_api("strat"), weights="pw", strata="stype",
...                     fpc="fpc")
>>> est = nc.proportion(d, "awards", by="stype")
>>> nc.publication_table(est, language="nl").head(2)
  stype variabele categorie  schatting (%)      95%-btbi    n
0     E    awards        No           27.0  [18,3; 35,7]  100
1     E    awards       Yes           73.0  [64,3; 81,7]  100
"""

from __future__ import annotations

import csv
import datetime
import importlib
import io
import os
import re
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

import numpy as np
import pandas as pd

from nea_covid.errors import SurveyError
from nea_covid.formatting import (
    Language,
    check_digits,
    check_language,
    ci_label,
    default_digits,
    format_interval,
    format_number,
    label,
    level_text,
    number_text,
    round_half_up,
)

if TYPE_CHECKING:
    from nea_covid.chisq import ChisqTest
    from nea_covid.comparison import Comparison, JointTest
    from nea_covid.extrapolate import Extrapolation
    from nea_covid.glm import Regression
    from nea_covid.results import Estimate

    Result: TypeAlias = (Estimate | Comparison | Extrapolation | Regression | ChisqTest
                         | JointTest)

__all__ = ["publication_table", "read_publication_table", "to_csv", "to_excel"]

_UNITS = {"percent": {"en": " (%)", "nl": " (%)"},
          "points": {"en": " (%-points)", "nl": " (%-punten)"},
          "log_odds": {"en": " (log odds ratio)", "nl": " (log-oddsratio)"}}
#: Column keys whose values are numbers (used to read files back).
_NUMERIC_KEYS = ("estimate", "count", "difference", "ratio", "log_odds_ratio", "share",
                 "standard_error", "share_standard_error", "population", "population_se",
                 "base_estimate", "other_estimate", "ci_low", "ci_high", "n_obs", "deff",
                 "df", "ndf", "ddf", "quantile")
_STATISTIC_HEADERS = ("t", "z", "F", "X²")
_EXCEL_TIME = datetime.datetime(2000, 1, 1)  # fixed: the same table gives the same bytes
_ZIP_TIME = (2000, 1, 1, 0, 0, 0)
_MAX_WIDTH = 60
_WORKBOOKS = (".xlsx", ".xlsm")


# ---------------------------------------------------------------------- arguments
def _language(language: Any) -> Language:
    try:
        check_language(language)
    except ValueError as exc:
        raise SurveyError(str(exc)) from None
    return "nl" if language == "nl" else "en"


def _digits(digits: Any) -> int | None:
    try:
        return None if digits is None else check_digits(digits)
    except ValueError as exc:
        raise SurveyError(str(exc)) from None


def _say(language: Language, en: str, nl: str) -> str:
    """The English or the Dutch text."""
    return en if language == "en" else nl


def _flag(value: Any, name: str) -> bool | None:
    if value is None or isinstance(value, bool | np.bool_):
        return None if value is None else bool(value)
    raise SurveyError(f"`{name}` must be True, False or None, not {value!r}.")


def _se_digits(standard_error: Any) -> int:
    """Decimals that show the smallest standard error with two significant digits."""
    return default_digits(standard_error)


# ---------------------------------------------------------------------- columns
@dataclass
class _Column:
    """One column of a publication table before it gets its header."""

    key: str
    values: Any  # array-like, or a function that computes it (when the column is shown)
    kind: Literal["cell", "number", "integer", "text"]
    digits: int | None = None
    unit: str = ""  # "", "percent", "points" or "log_odds" (a key of _UNITS)
    header_key: str | None = None  # label to use instead of ``key``
    scale: float = 1.0  # multiply before rounding (100 for percentages)


@dataclass
class _Table:
    cells: list[_Column]
    columns: dict[str, _Column]
    default: list[str]
    notes: list[str] = field(default_factory=list)
    level: float = 0.95
    method: str | None = None  # interval method of an Estimate (None: its own)


def _cells(frame: pd.DataFrame) -> list[_Column]:
    return [_Column(str(c), frame[c].to_numpy(), "cell") for c in frame.columns]


def _interval(key: str, low: Any, high: Any, digits: int, scale: float,
              language: Language) -> _Column:
    texts = format_interval(np.asarray(low, dtype=np.float64),
                            np.asarray(high, dtype=np.float64), digits=digits,
                            language=language, percent=scale == 100)
    texts = [t.replace("-inf", "-∞").replace("inf", "∞") for t in texts]
    return _Column(key, texts, "text")


def _pvalues(p: Any, language: Language) -> list[str]:
    p = np.asarray(p, dtype=np.float64).reshape(-1)
    texts = format_number(np.where(p < 0.001, np.nan, p), digits=3, language=language)
    small = "<" + number_text(0.001, 3, language)
    return [small if (x < 0.001) else t for x, t in zip(p.tolist(), texts, strict=True)]


def _main_columns(table: _Table, result: Any, digits: int, scale: float, unit: str,
                  header: str, language: Language) -> None:
    """estimate, standard_error, ci, ci_low, ci_high of ``result`` in ``table.columns``."""
    low, high = (result.confidence_interval(table.level) if table.method is None
                 else result.confidence_interval(table.level, table.method))
    table.columns["estimate"] = _Column("estimate", result.estimate, "number", digits, unit,
                                        header, scale)
    table.columns["standard_error"] = _Column("standard_error", result.standard_error,
                                              "number", digits, unit, None, scale)
    table.columns["ci"] = _interval("ci", low, high, digits, scale, language)
    table.columns["ci_low"] = _Column("ci_low", low, "number", digits, unit, None, scale)
    table.columns["ci_high"] = _Column("ci_high", high, "number", digits, unit, None, scale)


def _ci_note(level: float, df: float, language: Language, method: str = "t") -> str:
    names = {"t": ("t distribution", "t-verdeling"),
             "mean": ("t distribution", "t-verdeling"),
             "logit": ("logit method", "logitmethode"),
             "likelihood": ("likelihood method", "likelihoodmethode"),
             "asin": ("arcsine method", "arcsinusmethode"),
             "beta": ("Korn-Graubard (beta) method", "Korn-Graubard-methode (bèta)"),
             "xlogit": ("xlogit method", "xlogit-methode"),
             "woodruff": ("Woodruff method", "methode van Woodruff")}
    en, nl = names.get(method, (method, method))
    pct = level_text(level, language)
    if not np.isfinite(df):
        return _say(language, f"{pct}% confidence intervals (normal distribution).",
                    f"{pct}%-betrouwbaarheidsintervallen (normale verdeling).")
    dfs = format_number(df, digits=0 if float(df).is_integer() else 1, language=language)
    return _say(language, f"{pct}% confidence intervals ({en}), {dfs} degrees of freedom.",
                f"{pct}%-betrouwbaarheidsintervallen ({nl}), {dfs} vrijheidsgraden.")


def _missing_note(n_missing: int, language: Language) -> list[str]:
    if not n_missing:
        return []
    count = format_number(n_missing, digits=0, language=language)
    one = n_missing == 1
    return [_say(language, f"{count} row{'' if one else 's'} omitted because of missing values.",
                 f"{count} {'rij' if one else 'rijen'} weggelaten wegens ontbrekende waarden.")]


_STATISTICS = {"mean": ("mean", "gemiddelde"), "total": ("total", "totaal"),
               "proportion": ("share", "aandeel"), "ratio": ("ratio", "ratio"),
               "quantile": ("quantile", "kwantiel")}


def _estimate_table(est: Estimate, language: Language, digits: int | None, percent: bool | None,
                    level: float, method: str | None) -> _Table:
    pct = est.statistic == "proportion" if percent is None else percent
    scale = 100.0 if pct else 1.0
    if digits is None:
        digits = 1 if pct else 0 if est.statistic == "total" else _se_digits(
            est.standard_error * scale)
    table = _Table(_cells(est.cells), {}, ["estimate", "ci", "n_obs"], level=level,
                   method=method)
    _main_columns(table, est, digits, scale, "percent" if pct else "", "estimate", language)
    table.columns["n_obs"] = _Column("n_obs", est.n_obs, "integer")
    table.columns["deff"] = _Column("deff", est.deff, "number", 2)
    table.columns["df"] = _Column("df", np.full(len(est), est.df), "integer")
    what = _say(language, *_STATISTICS.get(est.statistic, (est.statistic, est.statistic)))
    table.notes.append(_say(language, "Estimates: ", "Schattingen: ") + what
                       + (" in %" if pct else "") + ".")
    table.notes.append(_ci_note(level, est.df, language, method or est.interval_method))
    table.notes.extend(_missing_note(est.n_missing, language))
    _definition(table, est, language)
    return table


def _definition(table: _Table, result: Estimate | Extrapolation, language: Language) -> None:
    """The definition column and note of a harmonised estimate or its counts."""
    definition = getattr(result, "definition", None)
    if definition is None:
        return
    table.columns["definition"] = _Column("definition", [definition.id] * len(result), "text")
    base = definition.population.base or definition.population.description
    source = f"{definition.id} ({definition.source})"
    table.notes.append(_say(language, f"Definition: {source}; base: {base}.",
                            f"Definitie: {source}; basis: {base}."))


def _extrapolation_table(ext: Extrapolation, language: Language, digits: int | None,
                         percent: bool | None, level: float) -> _Table:
    pct = ext.statistic == "proportion" if percent is None else percent
    share_scale = 100.0 if pct else 1.0
    share_digits = 1 if pct else _se_digits(ext.share_standard_error)
    count_digits = 0 if digits is None else digits
    table = _Table(_cells(ext.cells), {}, ["share", "estimate", "ci"], level=level)
    for key in ("share", "share_standard_error"):
        table.columns[key] = _Column(key, getattr(ext, key), "number", share_digits,
                                     "percent" if pct else "", None, share_scale)
    for key in ("population", "population_se"):
        table.columns[key] = _Column(key, getattr(ext, key), "number", 0)
    _main_columns(table, ext, count_digits, 1.0, "", "count", language)
    table.columns["df"] = _Column("df", np.full(len(ext), ext.df), "integer")
    table.notes.append(_ci_note(level, ext.df, language))
    populations = np.unique(ext.population)
    shown = (format_number(populations[0], digits=0, language=language)
             if populations.size == 1 else None)
    en, nl = {"fixed": ("taken as known", "als bekend verondersteld"),
              "goodman": ("with its uncertainty (Goodman's formula)",
                          "met zijn onzekerheid (formule van Goodman)"),
              "delta": ("with its uncertainty (delta method)",
                        "met zijn onzekerheid (deltamethode)")}[ext.method]
    of = (f" of {shown}", f" van {shown}") if shown else ("", "")
    table.notes.append(_say(language, f"Number = share × population{of[0]}, the population {en}.",
                            f"Aantal = aandeel × populatie{of[1]}, de populatie {nl}."))
    _definition(table, ext, language)
    return table


def _comparison_table(cmp: Comparison, language: Language, digits: int | None,
                      percent: bool | None, level: float) -> _Table:
    extra = cmp.extra.reset_index(drop=True)
    shares = cmp.kind == "published" or (cmp.kind == "difference"
                                         and "level" in cmp.cells.columns)
    pct = shares if percent is None else percent
    linear = cmp.scale == "linear"
    est_scale = 100.0 if pct and linear else 1.0
    if digits is None:
        digits = 1 if pct and linear else _se_digits(cmp.standard_error * est_scale)
    header = {"difference": "difference", "ratio": "ratio"}.get(cmp.kind, "estimate")
    if cmp.kind == "published":
        header = "difference" if linear else "log_odds_ratio"
    unit = ("points" if header == "difference" else "percent") if pct and linear else ""
    table = _Table(_cells(cmp.cells), {}, [], level=level)
    for key in extra.columns:
        values = extra[key].to_numpy(dtype=np.float64)
        share_digits = 1 if pct else digits
        # in percent the two estimates are headed "from (%)" and "to (%)"
        short = {"base_estimate": "base", "other_estimate": "other"}.get(str(key))
        table.columns[str(key)] = _Column(
            str(key), values, "number", share_digits,
            ("points" if key == "difference" else "percent") if pct else "",
            short if pct else None, 100.0 if pct else 1.0)
    _main_columns(table, cmp, digits, est_scale, unit, header, language)
    if cmp.kind == "published" and not linear:
        # the interval, standard error and p-value are of the log odds ratio, shown
        # next to the difference in %-points: the headers say which
        for key in ("ci", "standard_error", "ci_low", "ci_high"):
            table.columns[key].unit = "log_odds"
    table.columns["statistic"] = _Column("statistic", cmp.statistic, "number", 2,
                                         header_key="t" if np.isfinite(cmp.df) else "z")
    table.columns["df"] = _Column("df", np.full(len(cmp), cmp.df), "number",
                                  0 if float(cmp.df).is_integer() else 1)
    table.columns["pvalue"] = _Column("pvalue", _pvalues(cmp.pvalue, language), "text")
    from nea_covid.comparison import ADJUSTMENTS

    for method in ADJUSTMENTS:  # computed only if shown
        table.columns[f"pvalue_{method}"] = _Column(
            f"pvalue_{method}",
            lambda m=method: _pvalues(cmp.adjusted_pvalues(m), language), "text")
    table.default = [k for k in ("base_estimate", "other_estimate") if k in extra.columns]
    if cmp.kind == "published" and not linear:
        table.default.append("difference")
    table.default += ["estimate", "ci", "pvalue"]
    table.notes.append(_ci_note(level, cmp.df, language))
    side = {"two-sided": ("two-sided", "tweezijdig"), "less": ("one-sided (less)",
            "eenzijdig (kleiner)"), "greater": ("one-sided (greater)",
            "eenzijdig (groter)")}[cmp.alternative]
    en, nl = ("linear", "lineaire") if linear else ("logit (log odds ratio)",
                                                   "logit- (log-oddsratio)")
    what = {"difference": ("Differences: to minus from.", "Verschillen: naar min van."),
            "ratio": ("Ratios: to divided by from.", "Verhoudingen: naar gedeeld door van."),
            "published": (f"Published figures compared on the {en} scale.",
                          f"Gepubliceerde cijfers vergeleken op {nl} schaal.")}.get(cmp.kind)
    if what:
        table.notes.append(_say(language, *what))
    table.notes.append(_say(language, f"p-values {side[0]}.", f"p-waarden {side[1]}."))
    return table


def _regression_table(fit: Regression, language: Language, digits: int | None,
                      percent: bool | None, level: float) -> _Table:
    if percent:
        raise SurveyError("`percent` does not apply to regression coefficients.")
    if digits is None:
        digits = _se_digits(fit.standard_error)
    table = _Table(_cells(fit.cells), {}, ["estimate", "ci", "pvalue"], level=level)
    _main_columns(table, fit, digits, 1.0, "", "estimate", language)
    table.columns["statistic"] = _Column("statistic", fit.statistic, "number", 2,
                                         header_key="t")
    table.columns["df"] = _Column("df", np.full(len(fit), fit.df), "integer")
    table.columns["pvalue"] = _Column("pvalue", _pvalues(fit.pvalue, language), "text")
    n = format_number(fit.n_obs, digits=0, language=language)
    en, nl = ("linear", "lineair") if fit.family == "gaussian" else (
        "logistic (quasibinomial)", "logistisch (quasibinomiaal)")
    table.notes.append(_say(language, f"Model: {fit.formula}, {en}; {n} observations.",
                            f"Model: {fit.formula}, {nl}; {n} waarnemingen."))
    table.notes.append(_ci_note(level, fit.df, language))
    table.notes.extend(_missing_note(fit.n_missing, language))
    return table


def _test_table(test: ChisqTest | JointTest, language: Language) -> _Table:
    from nea_covid.chisq import ChisqTest

    if isinstance(test, ChisqTest):
        cells = pd.DataFrame({"variables": [f"{test.row} × {test.column}"]})
        name = "F" if test.statistic_name == "F" else "X²"
    else:
        cells = pd.DataFrame({"test": [test.method]})
        name = "X²" if test.method == "Chisq" else "F"
    method, ndf, ddf = test.method, test.ndf, test.ddf
    table = _Table(_cells(cells), {}, ["statistic", "ndf", "ddf", "pvalue"])
    table.columns["statistic"] = _Column("statistic", np.array([test.statistic]), "number",
                                         2, header_key=name)
    for key, value in (("ndf", ndf), ("ddf", ddf)):
        v = np.nan if value is None or not np.isfinite(value) else float(value)
        table.columns[key] = _Column(key, np.array([v]), "number",
                                     0 if np.isnan(v) or v.is_integer() else 2)
    table.columns["pvalue"] = _Column("pvalue", _pvalues([test.pvalue], language), "text")
    table.notes.append(_say(language, "Test: ", "Toets: ") + f"{method}.")
    if isinstance(test, ChisqTest):
        df = format_number(test.df, digits=0, language=language)
        table.notes.append(_say(language, f"Design degrees of freedom: {df}.",
                                f"Vrijheidsgraden van het design: {df}."))
        table.notes.extend(_missing_note(test.n_missing, language))
    return table


def _build(result: Any, language: Language, digits: int | None, percent: bool | None,
           confidence_level: float | None, method: str | None = None) -> _Table:
    from nea_covid.chisq import ChisqTest
    from nea_covid.comparison import Comparison, JointTest
    from nea_covid.extrapolate import Extrapolation
    from nea_covid.glm import Regression
    from nea_covid.intervals import check_level
    from nea_covid.results import Estimate

    if isinstance(result, ChisqTest | JointTest):
        if digits is not None or percent:
            raise SurveyError("`digits` and `percent` do not apply to a test's one-row table.")
        return _test_table(result, language)
    if not isinstance(result, Estimate | Comparison | Extrapolation | Regression):
        raise SurveyError(
            "A publication table is made from an Estimate, Comparison, Extrapolation, "
            f"Regression, ChisqTest or JointTest, not a {type(result).__name__}.")
    level = check_level(result.confidence_level if confidence_level is None
                        else confidence_level)
    if method is not None and not isinstance(result, Estimate):
        raise SurveyError(
            f"`method` chooses the interval of an Estimate; a {type(result).__name__} has "
            "t intervals only.")
    if isinstance(result, Estimate):
        if method is not None:
            try:
                result.confidence_interval(level, method)  # type: ignore[arg-type]
            except ValueError as exc:
                raise SurveyError(str(exc)) from None
        return _estimate_table(result, language, digits, percent, level, method)
    if isinstance(result, Extrapolation):
        return _extrapolation_table(result, language, digits, percent, level)
    if isinstance(result, Comparison):
        return _comparison_table(result, language, digits, percent, level)
    return _regression_table(result, language, digits, percent, level)


def _header(col: _Column, language: Language, level: float) -> str:
    if col.kind == "cell":
        return label(col.key, language)
    if col.key == "ci":
        return ci_label(level, language) + (_UNITS[col.unit][language] if col.unit else "")
    key = col.header_key or col.key
    text = key if key in _STATISTIC_HEADERS else label(key, language)
    return text + (_UNITS[col.unit][language] if col.unit else "")


def _values(col: _Column, text: bool, language: Language) -> Any:
    if callable(col.values):
        col.values = col.values()
    if col.kind in ("cell", "text"):
        return pd.Series(col.values, dtype=object) if text else col.values
    values = np.asarray(col.values, dtype=np.float64) * col.scale
    digits = 0 if col.kind == "integer" else col.digits
    if text:
        assert digits is not None
        return format_number(values, digits=digits, language=language)
    if digits is None:
        return values
    rounded = round_half_up(values, digits)
    if digits == 0 and np.isfinite(rounded).all():  # whole numbers as integers
        return rounded.astype(np.int64)
    if digits == 0 and not np.isinf(rounded).any():  # ... with NaN as <NA>
        return pd.array([None if np.isnan(v) else int(v) for v in rounded.tolist()],
                        dtype="Int64")
    return rounded


def publication_table(
    result: Result,
    *,
    language: Literal["en", "nl"] = "en",
    digits: int | None = None,
    percent: bool | None = None,
    confidence_level: float | None = None,
    columns: Sequence[str] | None = None,
    text: bool = False,
    method: str | None = None,
) -> pd.DataFrame:
    """The table a report prints: rounded numbers, intervals as text, translated headers.

    Parameters
    ----------
    result : Estimate, Comparison, Extrapolation, Regression, ChisqTest or JointTest
        A :class:`~nea_covid.HarmonisedEstimate` also names its definition in the notes.
    language : {"en", "nl"}, default "en"
        Headers, interval and p-value texts, notes. Dutch uses the decimal comma in
        texts (``[45,1; 49,9]``, ``<0,001``).
    digits : int, optional
        Decimals of the estimate, its standard error and interval; by default 1 for
        percentages, 0 for totals and counts, otherwise enough to show the smallest
        standard error with two significant digits (see :mod:`nea_covid.export`).
    percent : bool, optional
        Shares as percentages (times 100; differences of shares in percentage
        points). Default: for proportions, comparisons of proportions, published
        figures and the shares of an extrapolation of proportions.
    confidence_level : float, optional
        Level of the intervals; default the result's own (0.95).
    columns : list of str, optional
        Which result columns to show after the cell columns, in this order. Default:
        Estimate ``["estimate", "ci", "n_obs"]``; Comparison ``["base_estimate",
        "other_estimate", "estimate", "ci", "pvalue"]`` (those it has); Extrapolation
        ``["share", "estimate", "ci"]``; Regression ``["estimate", "ci", "pvalue"]``;
        tests ``["statistic", "ndf", "ddf", "pvalue"]``. Others: ``standard_error``,
        ``ci_low``, ``ci_high``, ``df``, ``deff``, ``definition`` (harmonised
        estimates), ``statistic``, ``pvalue_holm``, ``pvalue_bh`` (and the other
        adjustments of :meth:`Comparison.adjusted_pvalues`), ``population``,
        ``population_se``, ``share_standard_error``.
    text : bool, default False
        Every number as text with the language's separators (``1.234,5``), for
        pasting into a document; by default numbers stay numeric (rounded).
    method : str, optional
        Interval method of an :class:`~nea_covid.Estimate`, as in
        :meth:`Estimate.confidence_interval` (proportions: "logit", "beta" for
        Korn-Graubard, ...); default the estimate's own. The notes name it.

    Returns
    -------
    pandas.DataFrame
        One row per cell; numbers rounded half away from zero (whole numbers as
        ``Int64``). ``.attrs["notes"]`` holds the footnotes (level and degrees of
        freedom of the intervals, rows omitted, the definition of a harmonised
        estimate, ...), ``.attrs["digits"]`` the decimals of each numeric column, used
        by :func:`to_csv` and :func:`to_excel`.

    Examples
    --------
    >>> import nea_covid as nc
    >>> d = nc.SurveyDesign(nc.datasets.load_api("strat"), weights="pw", strata="stype",
    ...                     fpc="fpc")
    >>> nc.publication_table(nc.mean(d, "api00", by="stype"))
      stype variable  estimate      95% CI    n
    0     E    api00       674  [650; 699]  100
    1     H    api00       626  [596; 655]   50
    2     M    api00       637  [605; 669]   50

    Shares are percentages; a change between domains has its p-value:

    >>> awards = nc.proportion(d, "awards", by="stype")
    >>> change = nc.publication_table(nc.compare(awards, "stype"), language="nl")
    >>> change.iloc[:, 3:]
      van naar  van (%)  naar (%)  verschil (%-punten)        95%-btbi p-waarde
    0   E    H     73.0      32.0                -41.0  [-56,4; -25,6]   <0,001
    1   H    M     32.0      48.0                 16.0    [-2,7; 34,7]    0,093
    >>> for note in change.attrs["notes"]:
    ...     print(note)
    95%-betrouwbaarheidsintervallen (t-verdeling), 197 vrijheidsgraden.
    Verschillen: naar min van.
    p-waarden tweezijdig.
    """
    lang = _language(language)
    dig = _digits(digits)
    pct = _flag(percent, "percent")
    as_text = _flag(text, "text")
    spec = _build(result, lang, dig, pct, confidence_level, method)
    if columns is None:
        chosen = list(spec.default)
    else:
        if isinstance(columns, str):
            columns = [columns]
        chosen = [str(c) for c in columns]
        unknown = [c for c in chosen if c not in spec.columns]
        if unknown:
            raise SurveyError(
                f"{type(result).__name__} has no column {unknown[0]!r} for a publication "
                f"table; choose from {', '.join(map(repr, spec.columns))}.")
        if len(set(chosen)) != len(chosen):
            raise SurveyError("`columns` names a column twice.")
    out: dict[str, Any] = {}
    digit_map: dict[str, int] = {}
    for col in [*spec.cells, *(spec.columns[c] for c in chosen)]:
        header = _header(col, lang, spec.level)
        if header in out:
            raise SurveyError(
                f"Two columns of the table would both be called {header!r}; rename the "
                "by-variable or choose other `columns`.")
        out[header] = _values(col, bool(as_text), lang)
        if col.kind == "integer":
            digit_map[header] = 0
        elif col.kind == "number" and col.digits is not None:
            digit_map[header] = col.digits
    frame = pd.DataFrame(out)
    frame.attrs["notes"] = list(spec.notes)
    frame.attrs["digits"] = {} if as_text else digit_map
    frame.attrs["language"] = lang
    return frame


# ---------------------------------------------------------------------- writing
def _table_of(result: Any, language: Language, options: dict[str, Any]) -> pd.DataFrame:
    if isinstance(result, pd.DataFrame):
        if options:
            raise SurveyError(
                f"{', '.join(map(repr, options))} cannot be applied to a DataFrame; pass "
                "the result itself, or make the table with nc.publication_table().")
        return result
    return publication_table(result, language=language, **options)


def _file_options(language: Any, notes: Any, allowed: tuple[str, ...],
                  **options: Any) -> tuple[Language, str | None, dict[str, Any]]:
    """The checked language and ``notes`` mode of a file, and the table options given."""
    return (_language(language), _notes_mode(notes, allowed),
            {k: v for k, v in options.items() if v is not None})


def _notes_mode(notes: Any, allowed: tuple[str, ...]) -> str | None:
    if notes is False or notes is None:
        return None
    if notes is True:
        return allowed[0]
    if notes in allowed:
        return str(notes)
    raise SurveyError(
        "`notes` must be True, False or one of "
        f"{', '.join(map(repr, allowed))}, not {notes!r}.")


def _csv_column(values: pd.Series, digits: int | None, decimal: str) -> pd.Series:
    """Numbers printed with fixed decimals and the language's decimal mark."""
    if not (pd.api.types.is_numeric_dtype(values.dtype)
            and not pd.api.types.is_bool_dtype(values.dtype)):
        return values
    numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
    texts = []
    for x in numbers.tolist():
        if not np.isfinite(x):
            texts.append("" if np.isnan(x) else ("-∞" if x < 0 else "∞"))
            continue
        t = f"{x:.{digits}f}" if digits is not None else (
            str(int(x)) if pd.api.types.is_integer_dtype(values.dtype) else repr(x))
        texts.append(t.replace(".", decimal))
    return pd.Series(texts, index=values.index, dtype=object)


def _open_error(path: Path, exc: OSError) -> OSError:
    reason = exc.strerror or str(exc)
    if isinstance(exc, FileNotFoundError) and not path.parent.exists():
        reason = f"the directory {str(path.parent)!r} does not exist"
    elif isinstance(exc, IsADirectoryError) or path.is_dir():
        reason = "it is a directory"
    new = type(exc)(exc.errno, f"Cannot write {str(path)!r}: {reason}.")
    new.filename = str(path)
    return new


@contextmanager
def writing(path: Path) -> Iterator[None]:
    """Write ``path`` inside the block; an OSError names the path and the reason ("the
    directory ... does not exist", "it is a directory"). Missing directories are not
    created: a typo in a path is an error, not a new folder. Shared by the tables'
    files and :func:`nea_covid.plot.save`."""
    try:
        yield
    except OSError as exc:
        raise _open_error(path, exc) from exc


def _write(path: Path, data: bytes) -> None:
    with writing(path), open(path, "wb") as handle:
        handle.write(data)


def to_csv(
    result: Result | pd.DataFrame,
    path: str | os.PathLike[str],
    *,
    language: Literal["en", "nl"] = "en",
    digits: int | None = None,
    percent: bool | None = None,
    confidence_level: float | None = None,
    columns: Sequence[str] | None = None,
    method: str | None = None,
    notes: bool | Literal["file", "below"] = False,
    encoding: str = "utf-8-sig",
) -> Path:
    """Write a result's :func:`publication_table` to a CSV file that Excel opens.

    Parameters
    ----------
    result : result or pandas.DataFrame
        Anything :func:`publication_table` takes, or a table it made (then the
        table options must be left out).
    path : str or path-like
    language : {"en", "nl"}, default "en"
        Dutch: ``;`` between fields and a decimal comma (Dutch Excel); English: ``,``
        and a decimal point. Numbers are written with the table's decimals
        (``48,0``), without thousands separators.
    digits, percent, confidence_level, columns, method
        As for :func:`publication_table`.
    notes : {False, True, "file", "below"}, default False
        The table's footnotes: False leaves them out (a clean rectangular table);
        True or "file" writes them to ``<name>.notes.txt`` beside the CSV file;
        "below" adds them as lines under the table after an empty line.
    encoding : str, default "utf-8-sig"
        UTF-8 with a byte-order mark, so that Excel shows accents ("ë") correctly;
        "utf-8" leaves the mark out.

    Returns
    -------
    pathlib.Path
        The file written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import pandas as pd
    >>> import nea_covid as nc
    >>> d = nc.SurveyDesign(nc.datasets.load_api("strat"), weights="pw", strata="stype",
    ...                     fpc="fpc")
    >>> est = nc.proportion(d, "awards")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = nc.to_csv(est, pathlib.Path(tmp) / "awards.csv", language="nl")
    ...     print(path.read_text(encoding="utf-8-sig"))
    ...     back = pd.read_csv(path, sep=";", decimal=",")
    variabele;categorie;schatting (%);95%-btbi;n
    awards;No;36,1;"[29,3; 42,9]";200
    awards;Yes;63,9;"[57,1; 70,7]";200
    <BLANKLINE>
    >>> back["schatting (%)"].tolist(), back["95%-btbi"].tolist()
    ([36.1, 63.9], ['[29,3; 42,9]', '[57,1; 70,7]'])
    """
    lang, mode, options = _file_options(language, notes, ("file", "below"), digits=digits,
                                        percent=percent, confidence_level=confidence_level,
                                        columns=columns, method=method)
    table = _table_of(result, lang, options)
    sep, decimal = (";", ",") if lang == "nl" else (",", ".")
    digit_map = table.attrs.get("digits", {})
    printed = pd.DataFrame({c: _csv_column(table[c], digit_map.get(c), decimal)
                            for c in table.columns})
    text = printed.to_csv(sep=sep, index=False, lineterminator="\n")
    footnotes = list(table.attrs.get("notes", []))
    if mode == "below" and footnotes:
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=sep, lineterminator="\n")
        for note in footnotes:
            writer.writerow([note])
        text += "\n" + buffer.getvalue()
    target = Path(os.fspath(path))
    try:
        data = text.encode(encoding)
    except LookupError:
        raise SurveyError(f"Unknown `encoding` {encoding!r}.") from None
    _write(target, data)
    if mode == "file":
        _write(_notes_path(target), ("\n".join(footnotes) + "\n").encode(encoding))
    return target


def _notes_path(path: Path) -> Path:
    return path.with_name(path.stem + ".notes.txt")


class _FixedTimeZip(zipfile.ZipFile):
    """A zip archive whose members all carry one fixed timestamp."""

    def writestr(self, zinfo_or_arcname: Any, data: Any, compress_type: Any = None,
                 compresslevel: Any = None) -> None:
        if isinstance(zinfo_or_arcname, str):
            info = zipfile.ZipInfo(zinfo_or_arcname, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            zinfo_or_arcname = info
        super().writestr(zinfo_or_arcname, data, compress_type, compresslevel)

    def write(self, filename: Any, arcname: Any = None, compress_type: Any = None,
              compresslevel: Any = None) -> None:
        # openpyxl writes worksheets from temporary files: take their bytes, not
        # their modification times
        with open(filename, "rb") as handle:
            data = handle.read()
        name = arcname if arcname is not None else os.path.basename(filename)
        self.writestr(name, data, compress_type, compresslevel)


def _openpyxl() -> Any:
    try:  # imported by name: optional, without type stubs
        return importlib.import_module("openpyxl")
    except ImportError as exc:
        raise ImportError(
            'Writing Excel files needs openpyxl: pip install "nea_covid[excel]" (or pip '
            "install openpyxl).") from exc


def _sheet_names(names: list[Any], language: Language, mode: str | None) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()
    reserved = label("notes", language).lower() if mode == "sheet" else None
    for name in names:
        if not isinstance(name, str) or not name.strip():
            raise SurveyError(f"Sheet names must be non-empty text, not {name!r}.")
        bad = sorted(set(name) & set("[]:*?/\\"))
        if bad or len(name) > 31:
            raise SurveyError(
                f"Excel does not allow the sheet name {name!r}: at most 31 characters, "
                "none of [ ] : * ? / \\.")
        if name.lower() in seen or name.lower() == reserved:
            raise SurveyError(f"The sheet name {name!r} is used twice (Excel ignores case).")
        seen.add(name.lower())
        out.append(name)
    return out


def _number_format(digits: int | None) -> str:
    if digits is None:
        return "General"
    return "#,##0" if digits == 0 else "#,##0." + "0" * digits


def _cell_value(value: Any) -> Any:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def _shown_width(value: Any, digits: int | None) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int | float):
        return len(str(value))
    return len(f"{value:,.{digits if digits is not None else 2}f}")


def _fill_sheet(ws: Any, table: pd.DataFrame, notes_below: list[str], styles: Any) -> None:
    digit_map = table.attrs.get("digits", {})
    headers = [str(c) for c in table.columns]
    numeric = [pd.api.types.is_numeric_dtype(table[c].dtype)
               and not pd.api.types.is_bool_dtype(table[c].dtype) for c in table.columns]
    right = styles.Alignment(horizontal="right")
    bold = styles.Font(bold=True)
    line = styles.Border(bottom=styles.Side(style="thin"))
    for j, header in enumerate(headers, start=1):
        cell = ws.cell(row=1, column=j, value=header)
        cell.font = bold
        cell.border = line
        if numeric[j - 1]:
            cell.alignment = right
    widths = [len(h) for h in headers]
    for j, column in enumerate(table.columns, start=1):
        digits = digit_map.get(str(column))
        fmt = _number_format(digits) if numeric[j - 1] else None
        texts_right = not numeric[j - 1] and all(
            isinstance(v, str) and (v.startswith(("[", "<")) or v[:1].isdigit() or v == "-")
            for v in table[column].tolist())
        for i, raw in enumerate(table[column].tolist(), start=2):
            value = _cell_value(raw)
            if value is not None and not isinstance(value, str | int | float | bool):
                value = str(value)
            cell = ws.cell(row=i, column=j, value=value)
            if fmt is not None:
                cell.number_format = fmt
            elif texts_right:
                cell.alignment = right
            widths[j - 1] = max(widths[j - 1], _shown_width(value, digits))
    for j, width in enumerate(widths, start=1):
        letter = styles.get_column_letter(j)
        ws.column_dimensions[letter].width = min(width + 2, _MAX_WIDTH)
    ws.freeze_panes = "A2"
    if notes_below:
        italic = styles.Font(italic=True)
        start = len(table) + 3
        for k, note in enumerate(notes_below):
            ws.cell(row=start + k, column=1, value=note).font = italic


def to_excel(
    result: Result | pd.DataFrame | Mapping[str, Result | pd.DataFrame],
    path: str | os.PathLike[str],
    *,
    language: Literal["en", "nl"] = "en",
    digits: int | None = None,
    percent: bool | None = None,
    confidence_level: float | None = None,
    columns: Sequence[str] | None = None,
    method: str | None = None,
    notes: bool | Literal["below", "sheet"] = False,
    sheet_name: str | None = None,
) -> Path:
    """Write publication tables to an Excel workbook (``.xlsx``), one sheet each.

    Numbers stay numbers, shown with the table's decimals (Excel's number format, with
    thousands separators; Dutch Excel shows the decimal comma), intervals and p-values
    are text. The header row is bold and frozen, the columns are as wide as their
    contents. The file depends only on the tables: writing the same results again
    gives the same bytes (the workbook's timestamps are fixed).

    Needs openpyxl: ``pip install "nea_covid[excel]"``.

    Parameters
    ----------
    result : result, pandas.DataFrame, or mapping of sheet name to either
        One table, or several: ``{"shares": est, "changes": nc.compare(est, "wave")}``
        writes one sheet per entry, in order. Sheet names: at most 31 characters,
        none of ``[ ] : * ? / \\``.
    path : str or path-like
        Ends in ``.xlsx``.
    language, digits, percent, confidence_level, columns, method
        As for :func:`publication_table`; applied to every result.
    notes : {False, True, "below", "sheet"}, default False
        The footnotes: True or "below" writes them under each table (after an empty
        row, in italics); "sheet" on a last sheet ("notes" / "toelichting") listing
        each sheet's notes.
    sheet_name : str, optional
        The sheet of a single result (default "table" / "tabel").

    Returns
    -------
    pathlib.Path
        The file written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import pandas as pd
    >>> import nea_covid as nc
    >>> d = nc.SurveyDesign(nc.datasets.load_api("strat"), weights="pw", strata="stype",
    ...                     fpc="fpc")
    >>> est = nc.mean(d, "api00", by="stype")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = nc.to_excel({"means": est, "changes": nc.compare(est, "stype")},
    ...                        pathlib.Path(tmp) / "api.xlsx", notes="sheet")
    ...     sheets = pd.read_excel(path, sheet_name=None)
    >>> list(sheets)
    ['means', 'changes', 'notes']
    >>> sheets["means"]["95% CI"].tolist()
    ['[650; 699]', '[596; 655]', '[605; 669]']
    """
    lang, mode, options = _file_options(language, notes, ("below", "sheet"), digits=digits,
                                        percent=percent, confidence_level=confidence_level,
                                        columns=columns, method=method)
    target = Path(os.fspath(path))
    if target.suffix.lower() not in _WORKBOOKS:
        raise SurveyError(
            f"An Excel workbook is written to a '.xlsx' file, not {str(target)!r} (Excel "
            "refuses to open a workbook with another extension).")
    if isinstance(result, Mapping):
        if not result:
            raise SurveyError("The mapping of sheet names to results is empty.")
        if sheet_name is not None:
            raise SurveyError("`sheet_name` is for a single result; a mapping names its "
                              "sheets itself.")
        items = list(result.items())
    else:
        items = [(sheet_name if sheet_name is not None else label("table", lang), result)]
    names = _sheet_names([k for k, _ in items], lang, mode)
    tables = [_table_of(value, lang, options) for _, value in items]
    openpyxl = _openpyxl()
    styles = importlib.import_module("openpyxl.styles")
    utils = importlib.import_module("openpyxl.utils")

    class _Styles:
        Alignment = styles.Alignment
        Font = styles.Font
        Border = styles.Border
        Side = styles.Side
        get_column_letter = staticmethod(utils.get_column_letter)

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, table in zip(names, tables, strict=True):
        ws = wb.create_sheet(title=name)
        below = list(table.attrs.get("notes", [])) if mode == "below" else []
        _fill_sheet(ws, table, below, _Styles)
    if mode == "sheet":
        ws = wb.create_sheet(title=label("notes", lang))
        header = [label("sheet", lang), label("note", lang)]
        rows = [[name, note] for name, table in zip(names, tables, strict=True)
                for note in table.attrs.get("notes", [])]
        _fill_sheet(ws, pd.DataFrame(rows, columns=header), [], _Styles)
    wb.properties.creator = "nea_covid"
    wb.properties.lastModifiedBy = "nea_covid"
    wb.properties.created = _EXCEL_TIME
    wb.properties.modified = _EXCEL_TIME
    writer_module = importlib.import_module("openpyxl.writer.excel")
    buffer = io.BytesIO()
    archive = _FixedTimeZip(buffer, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
    writer_module.ExcelWriter(wb, archive).save()  # (save_workbook would stamp "now")
    _write(target, buffer.getvalue())
    return target


# ---------------------------------------------------------------------- reading
def _numeric_headers(language: Language) -> set[str]:
    heads = set(_STATISTIC_HEADERS)
    for key in (*_NUMERIC_KEYS, "base", "other"):  # "from (%)": the estimates compared
        text = label(key, language)
        heads |= {text + u[language] for u in _UNITS.values()}
        if key in _NUMERIC_KEYS:
            heads.add(text)
    return heads


def _as_kind(values: pd.Series, whole: bool) -> pd.Series:
    """Numbers as :func:`publication_table` makes them: a column of whole numbers
    (written without decimals) as int64, or Int64 when some are missing; any other
    as float64 (also when its values happen to be whole, 45.0)."""
    numbers = pd.to_numeric(values).astype(np.float64)
    if not whole or np.isinf(numbers.to_numpy()).any():
        return numbers
    if numbers.isna().any():
        return numbers.astype("Int64")
    return numbers.astype(np.int64)


_WHOLE = re.compile(r"-?\d+")


def _to_number(values: pd.Series, decimal: str) -> pd.Series:
    text = values.astype(object).where(values.notna(), None)
    cleaned = [None if v is None or v == "" else
               str(v).replace("∞", "inf").replace(decimal, ".") if decimal != "." else
               str(v).replace("∞", "inf") for v in text.tolist()]
    whole = all(_WHOLE.fullmatch(v) for v in cleaned if v is not None)
    try:
        return _as_kind(pd.Series(cleaned, index=values.index, dtype=object), whole)
    except (ValueError, TypeError):
        return values


def _excel_kinds(frame: pd.DataFrame, source: Path, sheet_name: str | int) -> pd.DataFrame:
    """The numeric columns of a sheet read by pandas, cast by their Excel number
    format: "#,##0" (whole numbers) as int64 / Int64, "#,##0.0..." as float64 (pandas
    reads 45.0 as 45, and whole numbers with a gap as floats)."""
    if frame.empty:
        return frame
    workbook = _openpyxl().load_workbook(source, read_only=True)
    try:
        sheet = workbook[sheet_name] if isinstance(sheet_name, str) else \
            workbook.worksheets[sheet_name]
        row = next(sheet.iter_rows(min_row=2, max_row=2, max_col=frame.shape[1]))
        formats = [cell.number_format for cell in row]
    finally:
        workbook.close()
    out = frame.copy()
    for column, fmt in zip(frame.columns, formats, strict=False):
        if fmt.startswith("#,##0") and pd.api.types.is_numeric_dtype(frame[column].dtype):
            out[column] = _as_kind(frame[column], whole=fmt == "#,##0")
    return out


def read_publication_table(
    path: str | os.PathLike[str],
    *,
    language: Literal["en", "nl"] = "en",
    sheet_name: str | int = 0,
) -> pd.DataFrame:
    """Read a table written by :func:`to_csv` or :func:`to_excel` back into a DataFrame.

    Notes written below the table are left out. From CSV, the columns with numbers
    (estimates, bounds, n, ...) come back as numbers, every other column as text
    (intervals, p-values, and the cell columns: labels such as "2019" stay text);
    from Excel every cell comes back as it was written. Numbers come back with the
    dtypes of :func:`publication_table`: whole-number columns as int64 (``Int64``
    when some are missing), the others as float64 (also 45.0), read from the
    decimals written (CSV) or the cells' number format (Excel).

    Parameters
    ----------
    path : str or path-like
        A ``.csv`` (or other text) file, or a ``.xlsx`` workbook.
    language : {"en", "nl"}, default "en"
        The language the file was written in (separators, headers).
    sheet_name : str or int, default 0
        The sheet of a workbook.

    Returns
    -------
    pandas.DataFrame

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import nea_covid as nc
    >>> d = nc.SurveyDesign(nc.datasets.load_api("strat"), weights="pw", strata="stype",
    ...                     fpc="fpc")
    >>> est = nc.mean(d, "api00", by="stype")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = nc.to_csv(est, pathlib.Path(tmp) / "api.csv", language="nl", notes="below")
    ...     back = nc.read_publication_table(path, language="nl")
    >>> back.equals(nc.publication_table(est, language="nl"))
    True
    """
    lang = _language(language)
    source = Path(os.fspath(path))
    if source.suffix.lower() in _WORKBOOKS:
        _openpyxl()
        frame = pd.read_excel(source, sheet_name=sheet_name, engine="openpyxl")
        empty = frame.isna().all(axis=1).to_numpy()
        if empty.any():
            frame = frame.iloc[: int(np.argmax(empty))]
        return _excel_kinds(frame.reset_index(drop=True), source, sheet_name)
    try:
        text = source.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise type(exc)(exc.errno, f"Cannot read {str(source)!r}: "
                        f"{exc.strerror or exc}.") from exc
    lines = text.split("\n")
    if "" in lines:
        lines = lines[: lines.index("")]
    sep, decimal = (";", ",") if lang == "nl" else (",", ".")
    frame = pd.read_csv(io.StringIO("\n".join(lines)), sep=sep, dtype=str,
                        keep_default_na=False, na_values=[""])
    numeric = _numeric_headers(lang)
    for column in frame.columns:
        if column in numeric:
            frame[column] = _to_number(frame[column], decimal)
    return frame
