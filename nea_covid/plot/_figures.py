"""The charts: trends over waves, dot-and-whisker across domains, counts, changes and
regression coefficients."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from nea_covid.formatting import (
    Language,
    check_digits,
    check_language,
    ci_label,
    default_digits,
    format_number,
    label,
    level_text,
)
from nea_covid.plot._alt import register, value_text
from nea_covid.plot._data import (
    Labels,
    PlotError,
    Points,
    check_column,
    checked,
    column_label,
    display,
    groups,
    is_positive_level,
    ordered,
    points,
    row_names,
    select,
)
from nea_covid.plot._style import (
    GREY,
    auto_digits,
    new_axes,
    number_formatter,
    series_style,
    style,
    tidy_axes,
)
from nea_covid.plot._words import count, word

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["changes", "coefficients", "counts", "domains", "draw", "trend"]

Precision = Literal["auto", "million", "thousand", "units"]

#: most rows or series an alt text lists one by one
_LISTED = 12
#: most rows a dot-and-whisker chart draws (more would overlap their labels)
MAX_ROWS = 60
#: the columns of a point that are plotted
_BOUNDS = ["estimate", "ci_low", "ci_high"]


@dataclass(frozen=True)
class ValueAxis:
    """How estimates become plotted numbers and texts."""

    scale: float  # plotted = estimate * scale
    label: str  # axis label
    unit: str  # after numbers in alt texts: "%", " million", ""
    digits: int  # decimals in alt texts (a publication table's, default_digits)
    sign: bool  # "+" before positive numbers (changes)
    what: str  # what the values are, without unit (alt texts; never the axis label)


# ---------------------------------------------------------------------- arguments
def _type_name(result: Any) -> str | None:
    """"Estimate", "Extrapolation", "Comparison" or "Regression"; None for other objects."""
    from nea_covid.comparison import Comparison
    from nea_covid.extrapolate import Extrapolation
    from nea_covid.glm import Regression
    from nea_covid.results import Estimate

    types = {"Estimate": Estimate, "Extrapolation": Extrapolation,
             "Comparison": Comparison, "Regression": Regression}
    return next((name for name, cls in types.items() if isinstance(result, cls)), None)


def _checked_points(kind: str, result: Any, language: str, confidence_level: float | None,
                    method: str | None = None, *,
                    allowed: tuple[str, ...] = ("Estimate", "Extrapolation"),
                    hint: str | None = None, **columns: str | None) -> Points:
    """The points of a result of the types chart ``kind`` draws, once the columns that
    arguments name (``along="wave"``) are known to describe its cells."""
    checked(check_language, language)
    name = _type_name(result)
    if name is not None and name not in allowed:
        hint = hint or (f"use {type(result).__name__}.plot() or nc.plot.draw() for its "
                        "default chart")
        raise TypeError(f"nc.plot.{kind} draws {' and '.join(allowed)} results, not a "
                        f"{type(result).__name__}; {hint}.")
    pts = points(result, confidence_level, method)  # a clear TypeError for other objects
    for argument, column in columns.items():
        if column is not None:
            check_column(pts, column, argument)
    return pts


# ---------------------------------------------------------------------- labels
def _variable_text(pts: Points, language: Language, labels: Labels) -> str | None:
    """The one variable (with its level, if it is not a plain yes) the points show."""
    variable = pts.constant("variable")
    if variable is None:
        return None
    text = display(variable, "variable", language, labels, pts.result)
    level = pts.constant("level")
    if level is not None and not (_named(variable, labels) and is_positive_level(
            level, _n_levels(pts, variable))):
        text = f"{text} = {display(level, 'level', language, labels)}"
    return text


def _named(variable: Any, labels: Labels) -> bool:
    """Whether the name shown for a variable says what its "yes" is: a harmonised
    concept's (``works_at_home``: "works at home (fully or partly)"), or the user's
    label; a plain variable name ("awards") does not."""
    from nea_covid.harmonisation import CONCEPTS

    own = labels.get(str(variable)) if labels else None
    return str(variable) in CONCEPTS or (own is not None and not isinstance(own, Mapping))


def _n_levels(pts: Points, variable: Any) -> int:
    """The number of levels of ``variable`` in the result (0 for a comparison, which
    keeps one level of a yes/no variable)."""
    cells = getattr(pts.result, "cells", pts.frame)
    if "base" in cells.columns:
        return 0
    return len(pd.unique(cells.loc[cells["variable"] == variable, "level"]))


def _quantity(pts: Points, language: Language, labels: Labels) -> str:
    """What the estimates are, for an axis label: "works at home", "mean of api00"."""
    variable = _variable_text(pts, language, labels)
    statistic = pts.quantity
    name = (word(statistic, language) if statistic in ("mean", "total")
            else label(statistic, language) if statistic in ("ratio", "quantile")
            else label("share" if statistic == "proportion" else "estimate", language))
    if variable is None or statistic not in ("mean", "total", "ratio", "quantile"):
        return name if variable is None else variable
    if statistic == "quantile":
        q = pts.constant("quantile")
        if q is None:
            return variable
        name = word("median", language) if float(q) == 0.5 else \
            f"{name} {display(float(q), 'quantile', language)}"
    of = "" if statistic == "ratio" else f" {word('of', language)}"
    return f"{name}{of} {variable}"


def _axis(what: str, scale: float = 1.0, unit: str = "", suffix: str = "", *,
          digits: int, axis_label: str | None, sign: bool = False) -> ValueAxis:
    """An axis of ``what`` times ``scale``, labelled "what (unit)" ("..., unit" after a
    parenthesis), ``suffix`` after numbers in alt texts; the user's ``axis_label``
    replaces the label (the alt text still names ``what``)."""
    text = (f"{what}, {unit}" if what.endswith(")") else f"{what} ({unit})") if unit else what
    return ValueAxis(scale, text if axis_label is None else axis_label, suffix, digits,
                     sign, what)


def _digits(pts: Points, digits: int | None, scale: float = 1.0, *, percent: bool = False,
            whole: bool = False) -> int:
    """``digits``, else the decimals of the result's publication table
    (:func:`nea_covid.formatting.default_digits` of its standard errors in the units
    plotted), so that the alt text prints the numbers the table prints."""
    if digits is not None:
        return checked(check_digits, digits)  # type: ignore[no-any-return]
    return default_digits(pts.standard_error * scale, percent=percent, whole=whole)


def _percent_axis(pts: Points, percent: bool, what: str, unit: str, suffix: str,
                  digits: int | None, axis_label: str | None, sign: bool = False) -> ValueAxis:
    """Estimates as they are, or times 100 in ``unit`` when ``percent``."""
    digits = _digits(pts, digits, percent=percent)
    if percent:
        return _axis(what, 100.0, unit, suffix, digits=digits, axis_label=axis_label, sign=sign)
    return _axis(what, digits=digits, axis_label=axis_label, sign=sign)


def _estimate_axis(pts: Points, percent: bool | None, language: Language, labels: Labels,
                   digits: int | None, axis_label: str | None) -> ValueAxis:
    if pts.quantity in ("count", "total"):
        return _count_axis(pts, "auto", None, language, labels, digits, axis_label)
    percent = pts.quantity == "proportion" if percent is None else bool(percent)
    return _percent_axis(pts, percent, _quantity(pts, language, labels), "%", "%", digits,
                         axis_label)


def _count_axis(pts: Points, precision: Precision, unit: str | None, language: Language,
                labels: Labels, digits: int | None, axis_label: str | None) -> ValueAxis:
    largest = float(np.nanmax(np.abs(pts.frame[["estimate", "ci_high"]].to_numpy())))
    if precision == "auto":
        precision = "million" if largest >= 1e6 else "thousand" if largest >= 1e4 else "units"
    if precision not in ("million", "thousand", "units"):
        raise PlotError(f"`precision` must be 'auto', 'million', 'thousand' or 'units', "
                        f"not {precision!r}.")
    factor = {"million": 1e-6, "thousand": 1e-3, "units": 1.0}[precision]
    variable = _variable_text(pts, language, labels)
    if unit is None and pts.quantity == "total":
        unit = what = _quantity(pts, language, labels)
    elif unit is None:
        unit = what = label("count", language) if variable is None else \
            f"{variable}, {label('count', language)}"
    else:  # the alt text names what is counted, not only the unit ("werknemers")
        what = unit if variable is None else f"{variable}, {unit}"
    # whole numbers on an axis in units, as a publication table prints counts; in
    # millions or thousands enough to show the standard errors in that unit
    d = _digits(pts, digits, factor, whole=precision == "units")
    size = "" if precision == "units" else label(precision, language)
    return replace(_axis(unit, factor, size, f" {size}" if size else "", digits=d,
                         axis_label=axis_label), what=what)


# ---------------------------------------------------------------------- alt texts
def _head(chart: str, of: str, how: str, pts: Points, language: Language,
          **fields: object) -> str:
    """"Line chart of works at home by wave, with 95% confidence intervals as error
    bars": the kind of chart, what it shows (``fields`` fill in the phrase ``of``) and
    how its intervals are drawn."""
    ci = word("intervals", language, level=level_text(pts.confidence_level, language))
    return f"{word(chart, language)} {word(of, language, **fields)}, {word(how, language, ci=ci)}"


def _definition(pts: Points, language: Language) -> str:
    definition_id = getattr(pts.result, "definition_id", "")
    return f" {word('definition', language, definition=definition_id)}." \
        if definition_id else ""


def _listing(names: Sequence[str], texts: Sequence[str], language: Language,
             keep: Sequence[bool] | None = None) -> str:
    """"name: value; ..." of the points (those ``keep`` marks), the first few only."""
    items = [f"{n}: {t}" if n else t
             for i, (n, t) in enumerate(zip(names, texts, strict=True))
             if keep is None or keep[i]]
    if len(items) > _LISTED:
        rest = len(items) - _LISTED + 1
        items = [*items[:_LISTED - 1], word("and_more", language, n=rest)]
    return "; ".join(items)


def _values(frame: pd.DataFrame, axis: ValueAxis, language: Language) -> list[str]:
    """Each point's estimate and interval as text, "no estimate" where there is none."""
    return [value_text(e, lo, hi, scale=axis.scale, unit=axis.unit, language=language,
                       digits=axis.digits, sign=axis.sign) if np.isfinite(e)
            else word("no_estimate", language)
            for e, lo, hi in frame[_BOUNDS].to_numpy().tolist()]


def _record(ax: Axes, text: str, frame: pd.DataFrame, axis: ValueAxis,
            names: Sequence[str], language: Language) -> None:
    """Keep the alt text of a chart and its table: the points in plotted units, with
    their names."""
    table = frame.copy()
    table.insert(list(table.columns).index("estimate"), "label", list(names))
    for column in _BOUNDS:
        table[column] = table[column] * axis.scale
    register(ax, text, table, language)


# ---------------------------------------------------------------------- drawing
def _sorted_points(frame: pd.DataFrame, keys: tuple[Any, ...], axis: ValueAxis,
                   ) -> tuple[np.ndarray[Any, Any], pd.DataFrame, np.ndarray[Any, Any]]:
    """The order of the points by ``keys`` (the last one first, as in numpy.lexsort),
    the points in that order and their plotted estimates and bounds."""
    order = np.lexsort(keys)
    frame = frame.iloc[order].reset_index(drop=True)
    return order, frame, frame[_BOUNDS].to_numpy() * axis.scale


@contextmanager
def _canvas(ax: Axes | None, size: tuple[float, float]) -> Iterator[tuple[Axes, bool]]:
    """Draw in the project style on ``ax``, or on a new figure of ``size`` inches (then
    the flag is True)."""
    with style():
        yield new_axes(ax, size), ax is None


def _errorbar(ax: Axes, x: Any, values: Any, *, horizontal: bool,
              style_: Mapping[str, Any], label_: str | None, hollow: bool = False) -> None:
    """Markers with whiskers at positions ``x``; ``values`` has a row (estimate, low,
    high) per point. Horizontal whiskers stand alone, vertical ones are joined by the
    series' line."""
    y, low, high = np.asarray(values, dtype=float).T
    err = np.vstack([np.clip(y - low, 0, None), np.clip(high - y, 0, None)])
    err = np.where(np.isfinite(err), err, 0.0)
    color = style_["color"]
    common: dict[str, Any] = {
        "color": color, "marker": style_["marker"], "markersize": 5.5, "capsize": 2.5,
        "elinewidth": 1.1, "capthick": 1.1, "markeredgewidth": 1.2, "label": label_,
        "markerfacecolor": "white" if hollow else color, "markeredgecolor": color,
        "linestyle": "none" if horizontal else style_["linestyle"], "zorder": 3}
    if horizontal:
        ax.errorbar(y, x, xerr=err, **common)
    else:
        ax.errorbar(x, y, yerr=err, **common)


def _band(ax: Axes, x: Any, values: Any, *, style_: Mapping[str, Any],
          label_: str | None) -> None:
    """A line through the estimates over a shaded band between the bounds."""
    y, low, high = np.asarray(values, dtype=float).T
    color = style_["color"]
    ax.fill_between(x, low, high, color=color, alpha=0.18, linewidth=0, zorder=2)
    ax.plot(x, y, color=color, marker=style_["marker"], markersize=4.5,
            linestyle=style_["linestyle"], label=label_, zorder=3)


def _finish(ax: Axes, own_figure: bool, pts: Points, *, value_axis: str, xlabel: str,
            ylabel: str, legend: bool, legend_title: str | None, title: str | None,
            note: str | None, language: Language, log: bool = False) -> None:
    """Axis labels, round value ticks in ``language`` (not on a log axis), the project
    look, the legend right of the Axes, the title and the note on the whiskers."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if not log:
        from matplotlib.ticker import MaxNLocator

        axis = ax.yaxis if value_axis == "y" else ax.xaxis
        axis.set_major_locator(MaxNLocator(nbins="auto", steps=[1, 2, 5, 10]))
        axis.set_major_formatter(number_formatter(language))
    tidy_axes(ax, value_axis)
    if legend and ax.get_legend_handles_labels()[0]:
        ax.legend(title=legend_title, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                  borderaxespad=0.0, alignment="left", handlelength=2.2)
    # the title (bold, left) and under it a small grey note on what the whiskers are
    # ("error bars: 95% CI"); on a figure of its own the title starts at the figure's
    # left edge (row labels of a forest take room left of the Axes), wrapped to fit
    if note:
        ax.annotate(f"{word(note, language)}: {ci_label(pts.confidence_level, language)}",
                    xy=(0, 1), xycoords="axes fraction", xytext=(0, 5),
                    textcoords="offset points", ha="left", va="bottom", fontsize=7.5,
                    color=GREY)
    if not title:
        return
    if not own_figure:
        ax.set_title(title, loc="left", pad=18 if note else 6)
        return
    import textwrap

    fig: Any = ax.figure  # a figure of its own: a Figure, never a SubFigure
    width = float(fig.get_size_inches()[0])
    chars = max(20, int(width * 72 / (0.62 * 10.0)))  # bold 10 pt: ~6.2 pt per character
    wrapped = "\n".join(textwrap.wrap(title, chars)) if "\n" not in title else title
    fig.suptitle(wrapped, x=0.01, ha="left", fontsize=10.0, fontweight="bold")


# ---------------------------------------------------------------------- trend
def trend(
    result: Any,
    along: str = "wave",
    *,
    ax: Axes | None = None,
    band: bool = False,
    percent: bool | None = None,
    where: Mapping[str, Any] | None = None,
    levels: Any = None,
    language: Language = "en",
    labels: Labels = None,
    confidence_level: float | None = None,
    method: str | None = None,
    title: str | None = None,
    ylabel: str | None = None,
    digits: int | None = None,
    dodge: float | None = None,
    note: bool = True,
) -> Axes:
    """Draw estimates with their confidence intervals over waves (or any by-variable).

    One line per combination of the other columns of the cells (other by-variables,
    variables, levels), over the levels of ``along`` in the result's order; error bars
    by default, shaded bands with ``band=True``.

    Parameters
    ----------
    result : Estimate or Extrapolation
        E.g. ``nc.proportion(d, "works_at_home", by="wave")`` or
        ``nc.mean(d, "y", by=["wave", "sector"])``.
    along : str, default "wave"
        The column of the cells on the horizontal axis.
    ax : matplotlib Axes, optional
        Draw here; by default on a new figure.
    band : bool, default False
        Shaded intervals instead of error bars.
    percent : bool, optional
        Show estimates times 100 on a percent axis; default for proportions.
    where : mapping, optional
        Plot only the cells with these values, e.g. ``{"sector": [1, 2]}``.
    levels : list or "all", optional
        Levels of a proportion to plot. Default: of a variable with two levels only
        the one that says yes (yes, ja, 1, True), else the second; the other is its
        complement.
    language : {"en", "nl"}, default "en"
        Labels, number formatting (decimal comma in Dutch) and alt text.
    labels : mapping, optional
        Display names for variables, levels, columns and values, e.g.
        ``{"works_at_home": "werkt thuis", "wave": "peiling"}``; the values of one
        column as a mapping under its name: ``{"sector": {1: "zorg", 2: "onderwijs"}}``.
    confidence_level : float, optional
        Default the result's (0.95).
    method : str, optional
        Interval method of an :class:`~nea_covid.Estimate` (e.g. "logit").
    title : str, optional
        Title above the chart (left-aligned).
    ylabel : str, optional
        Instead of the label made from the result.
    digits : int, optional
        Decimals of the numbers in the alt text; default those of the result's
        publication table (:func:`nea_covid.publication_table`: 1 for percentages,
        else enough to show the standard errors with two significant digits).
    dodge : float, optional
        Horizontal offset between series so that error bars do not overlap (default
        a small offset when there are several series with error bars).
    note : bool, default True
        A small note above the chart saying what the bars are.

    Returns
    -------
    matplotlib.axes.Axes
        With its alt text in :func:`nea_covid.plot.alt_text` and its numbers in
        :func:`nea_covid.plot.table`.

    Raises
    ------
    ColumnNotFoundError
        ``along`` (or a ``where`` column) is not a column of the cells.
    PlotError
        The selection leaves nothing to plot.
    TypeError
        The result is not an estimate or extrapolation.

    Examples
    --------
    >>> import nea_covid as nc
    >>> panel = nc.datasets.load_nea_covid()
    >>> d = nc.SurveyDesign(panel, strata="stratum", clusters="panel_id", weights="weight")
    >>> est = nc.harmonised_proportion(d, nc.get_definition("tno_works_at_home"), by="wave")
    >>> ax = nc.plot.trend(est, language="nl", labels={"works_at_home": "werkt thuis"})
    >>> ax.get_ylabel()
    'werkt thuis (%)'
    >>> [t.get_text() for t in ax.get_xticklabels()]
    ['2019', '2020-06', '2020-11', '2021-03']
    """
    pts = select(_checked_points("trend", result, language, confidence_level, method,
                                 along=along), where, levels)
    axis = _estimate_axis(pts, percent, language, labels, digits, ylabel)
    return _trend(pts, along, axis, ax=ax, band=band, language=language, labels=labels,
                  title=title, dodge=dodge, note=note)


def _trend(pts: Points, along: str, axis: ValueAxis, *, ax: Axes | None, band: bool,
           language: Language, labels: Labels, title: str | None, dodge: float | None,
           note: bool) -> Axes:
    position, levels = ordered(pts, along)
    series_columns = pts.varying(exclude=(along,))
    series = groups(pts.frame, series_columns)
    n_series = int(series.max()) + 1
    if dodge is None:
        dodge = 0.0 if band or n_series == 1 else min(0.08, 0.3 / n_series)
    offsets = (np.arange(n_series) - (n_series - 1) / 2) * dodge
    order, frame, values = _sorted_points(pts.frame, (position, series), axis)
    position, series = position[order], series[order]
    drawn = replace(pts, frame=frame)
    names = row_names(drawn, series_columns, language, labels)
    x = position + offsets[series]
    starts = np.flatnonzero(np.r_[True, series[1:] != series[:-1]])
    spans = list(enumerate(zip(starts.tolist(), np.r_[starts[1:], len(series)].tolist(),
                               strict=True)))  # (series, (first point, end))
    legend = n_series > 1
    along_label = column_label(along, language, labels)
    with _canvas(ax, (7.4, 3.8) if legend else (6.3, 3.8)) as (ax, own_figure):
        for i, (a, b) in spans:
            name = names[a] if legend else None
            if band:
                _band(ax, x[a:b], values[a:b], style_=series_style(i), label_=name)
            else:
                _errorbar(ax, x[a:b], values[a:b], horizontal=False, style_=series_style(i),
                          label_=name)
        k = len(levels)
        step = max(1, int(np.ceil(k / 12)))
        ax.set_xticks(np.arange(k)[::step],
                      [display(v, along, language, labels) for v in levels][::step])
        margin = min(0.1, 0.5 - abs(offsets).max())
        ax.set_xlim(-0.5 + margin, k - 0.5 - margin)
        _finish(ax, own_figure, pts, value_axis="y", xlabel=along_label, ylabel=axis.label,
                legend=legend, legend_title=", ".join(
                    column_label(c, language, labels) for c in series_columns),
                title=title, note=("bands" if band else "error_bars") if note else None,
                language=language)
    texts = _values(frame, axis, language)
    spoken = row_names(drawn, series_columns, language, labels, spoken=True)
    along_texts = row_names(drawn, [along], language, labels, spoken=True)
    head = (_head("line_chart", "trend_of", "with_bands" if band else "with_error_bars",
                  pts, language, quantity=axis.what, along=along_label) + ". "
            + word("series_over" if n_series > 1 else "one_series_over", language,
                   n=n_series, k=len(levels),
                   along=along_label, first=display(levels[0], along, language, labels),
                   last=display(levels[-1], along, language, labels)) + ". ")
    shown = values[np.isfinite(values[:, 0]), 0]
    if shown.size:
        low, high = (format_number(float(v), digits=axis.digits, language=language) + axis.unit
                     for v in (shown.min(), shown.max()))
        head += word("range", language, low=low, high=high) + ". "
    lines = []
    for i, (a, b) in spans:
        if i == _LISTED:
            lines.append(word("and_more", language, n=n_series - _LISTED) + ".")
            break
        ok = [j for j in range(a, b) if np.isfinite(values[j, 0])]
        if not ok:
            continue
        name = spoken[a] if legend else axis.what
        first, last = ok[0], ok[-1]
        if first == last:
            lines.append(word("single", language, name=name, v0=texts[first],
                              x0=along_texts[first]) + ".")
        else:
            lines.append(word("from_to", language, name=name, v0=texts[first],
                              x0=along_texts[first], v1=texts[last],
                              x1=along_texts[last]) + ".")
    text = head + " ".join(lines) + _definition(pts, language)
    _record(ax, text, frame, axis, names, language)
    return ax


# ---------------------------------------------------------------------- forests
def _forest(pts: Points, axis: ValueAxis, *, ax: Axes | None, rows: Sequence[str],
            hue: str | None, sort: bool, reference: float | None, language: Language,
            labels: Labels, title: str | None, note: bool,
            filled: np.ndarray[Any, Any] | None = None,
            legend_texts: tuple[str, str] | None = None,
            log: bool = False, row_title: str | None = None, null_line: bool = False,
            ) -> tuple[Axes, pd.DataFrame, list[str]]:
    """Dot-and-whisker rows (one per combination of ``rows``), series by ``hue``;
    ``filled`` marks the points drawn filled (labelled ``legend_texts[0]``), the others
    are hollow (``legend_texts[1]``). Returns the Axes, the points in drawing order and
    their row names."""
    row = groups(pts.frame, rows)
    hue_codes = groups(pts.frame, [hue] if hue else [])
    n_rows, n_hue = int(row.max()) + 1, int(hue_codes.max()) + 1
    if n_rows > MAX_ROWS:
        raise PlotError(
            f"{n_rows} rows are too many for one dot-and-whisker chart (at most "
            f"{MAX_ROWS}): their labels would overlap. Draw fewer: select rows with "
            f"`where=` (e.g. where={{{rows[0]!r}: [...]}}), `levels=` or `terms=`, or "
            "split them over several charts.")
    if sort:
        key = pd.Series(pts.frame["estimate"].to_numpy()).groupby(row).first()
        rank = np.empty(n_rows, dtype=np.intp)
        rank[np.argsort(-key.to_numpy(), kind="stable")] = np.arange(n_rows)
        row = rank[row]
    order, frame, values = _sorted_points(pts.frame, (hue_codes, row), axis)
    row, hue_codes = row[order], hue_codes[order]
    if filled is not None:
        filled = filled[order]
    drawn = replace(pts, frame=frame)
    row_text = row_names(drawn, rows, language, labels)
    offset = 0.0 if n_hue == 1 else min(0.22, 0.6 / n_hue)
    y = row + (hue_codes - (n_hue - 1) / 2) * offset
    labels_per_row = pd.Series(row_text).groupby(row).first()
    hue_names = row_names(drawn, [hue], language, labels) if hue else []
    height = max(2.0, 0.28 * n_rows * max(1.0, 0.6 * n_hue) + 1.3)
    legend = n_hue > 1 or legend_texts is not None
    with _canvas(ax, (7.4 if legend else 6.3, min(height, 12.0))) as (ax, own_figure):
        if reference is not None:
            ax.axvline(reference * axis.scale, color=GREY, linewidth=0.9,
                       linestyle="-" if null_line else "--", zorder=1)
        estimated = np.isfinite(values[:, 0])
        for h in range(n_hue):
            sel = hue_codes == h
            if filled is None:
                name = next((hue_names[j] for j in np.flatnonzero(sel)[:1]), None) \
                    if hue else None
                parts = [(sel, name, False)]
            else:
                assert legend_texts is not None
                parts = [(sel & filled, legend_texts[0], False),
                         (sel & ~filled, legend_texts[1], True)]
            for part, name, hollow in parts:
                # rows without an estimate draw nothing and stay out of the legend
                _errorbar(ax, y[part], values[part], horizontal=True, style_=series_style(h),
                          label_=name if estimated[part].any() else None, hollow=hollow)
        ax.set_yticks(labels_per_row.index.to_numpy(dtype=float),
                      [str(t) for t in labels_per_row.tolist()])
        ax.set_ylim(n_rows - 0.5, -0.5)
        ax.tick_params(axis="y", length=0)
        if log:
            ax.set_xscale("log")
        if row_title is None:
            row_title = ", ".join(column_label(c, language, labels) for c in rows)
        _finish(ax, own_figure, pts, value_axis="x", xlabel=axis.label, ylabel=row_title,
                legend=legend, legend_title=column_label(hue, language, labels) if hue else None,
                title=title, note="lines" if note else None, language=language, log=log)
    return ax, frame, row_text


def _domains(pts: Points, axis: ValueAxis, *, ax: Axes | None, hue: str | None, sort: bool,
             reference: float | None, language: Language, labels: Labels,
             title: str | None, note: bool) -> Axes:
    """A row per cell (series by ``hue``), with its alt text: the forest of
    :func:`domains`, and of :func:`counts` without ``along``."""
    # when no column varies, the variable names the rows, else all columns
    rows = pts.varying(exclude=(hue,) if hue else ()) or (
        [] if hue else ["variable"] if "variable" in pts.columns else list(pts.columns))
    named = [*rows, hue] if hue else rows
    ax, frame, _ = _forest(pts, axis, ax=ax, rows=rows, hue=hue, sort=sort,
                           reference=reference, language=language, labels=labels,
                           title=title, note=note)
    drawn = replace(pts, frame=frame)
    spoken = row_names(drawn, named, language, labels, spoken=True)
    text = _head("forest_chart", "forest_of", "with_lines", pts, language,
                 quantity=axis.what, n=count(len(frame), "row", language),
                 rows=", ".join(column_label(c, language, labels) for c in named) or "-") + ". "
    texts = _values(frame, axis, language)
    est = frame["estimate"].to_numpy()
    ok = np.flatnonzero(np.isfinite(est))
    if len(frame) <= _LISTED:
        text += _listing(spoken, texts, language) + "."
    elif ok.size:
        hi, lo = ok[np.argmax(est[ok])], ok[np.argmin(est[ok])]
        text += word("highest_lowest", language, high=f"{spoken[hi]}: {texts[hi]}",
                     low=f"{spoken[lo]}: {texts[lo]}") + "."
    if reference is not None:
        ref = format_number(reference * axis.scale, language=language, digits=axis.digits)
        text += " " + word("reference_line", language, value=f"{ref}{axis.unit}") + "."
    _record(ax, text + _definition(pts, language), frame, axis,
            row_names(drawn, named, language, labels), language)
    return ax


def domains(
    result: Any,
    *,
    ax: Axes | None = None,
    sort: bool = False,
    reference: float | None = None,
    hue: str | None = None,
    percent: bool | None = None,
    where: Mapping[str, Any] | None = None,
    levels: Any = None,
    language: Language = "en",
    labels: Labels = None,
    confidence_level: float | None = None,
    method: str | None = None,
    title: str | None = None,
    xlabel: str | None = None,
    digits: int | None = None,
    note: bool = True,
) -> Axes:
    """Draw estimates across domains as dots with interval whiskers (a forest plot).

    One horizontal row per cell, labelled with its values of the cells' columns that
    vary (domains, variables, levels); with ``hue``, one coloured series per value of
    that column within each row.

    Parameters
    ----------
    result : Estimate or Extrapolation
    ax : matplotlib Axes, optional
    sort : bool, default False
        Rows from the largest estimate (top) to the smallest, instead of the cells'
        order.
    reference : float, optional
        A dashed vertical line at this value, in the estimate's units (a share as
        0.48, drawn at 48%), e.g. the national figure.
    hue : str, optional
        A column of the cells drawn as coloured series within each row, e.g.
        ``"variable"`` or ``"wave"``.
    percent, where, levels, language, labels, confidence_level, method, digits, note
        As in :func:`trend`.
    title : str, optional
    xlabel : str, optional
        Instead of the label made from the result (the alt text still names what the
        estimates are).

    Returns
    -------
    matplotlib.axes.Axes
        Rows without an estimate (an empty domain) are left empty; the alt text says
        "no estimate".

    Raises
    ------
    PlotError
        More than 60 rows to draw (their labels would overlap): select some with
        ``where`` or ``levels``, or draw several charts.

    Examples
    --------
    >>> import nea_covid as nc
    >>> d = nc.SurveyDesign(nc.datasets.load_api("strat"), weights="pw", strata="stype",
    ...                     fpc="fpc")
    >>> est = nc.proportion(d, "sch.wide", by="stype")
    >>> ax = nc.plot.domains(est, sort=True, reference=0.8, language="nl")
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['E', 'M', 'H']
    """
    pts = select(_checked_points("domains", result, language, confidence_level, method,
                                 hue=hue), where, levels)
    axis = _estimate_axis(pts, percent, language, labels, digits, xlabel)
    return _domains(pts, axis, ax=ax, hue=hue, sort=sort, reference=reference,
                    language=language, labels=labels, title=title, note=note)


# ---------------------------------------------------------------------- counts
def counts(
    extrapolation: Any,
    along: str | None = None,
    *,
    ax: Axes | None = None,
    unit: str | None = None,
    precision: Precision = "auto",
    band: bool = False,
    where: Mapping[str, Any] | None = None,
    levels: Any = None,
    language: Language = "en",
    labels: Labels = None,
    confidence_level: float | None = None,
    title: str | None = None,
    axis_label: str | None = None,
    digits: int | None = None,
    sort: bool = False,
    note: bool = True,
) -> Axes:
    """Draw extrapolated counts (or estimated totals) with their intervals, on an axis
    in millions or thousands.

    Parameters
    ----------
    extrapolation : Extrapolation or Estimate of totals
        From :func:`nea_covid.extrapolate` (or ``nc.total``).
    along : str, optional
        A column of the cells (``"wave"``) to draw the counts as lines over; default a
        dot-and-whisker row per cell.
    ax : matplotlib Axes, optional
    unit : str, optional
        What is counted, for the axis label: ``unit="werknemers"`` gives "werknemers
        (miljoen)". Default "number" ("aantal"), after the variable's name.
    precision : {"auto", "million", "thousand", "units"}, default "auto"
        Axis unit: millions from a million up, thousands from 10,000.
    band, where, levels, language, labels, confidence_level, title, digits, note
        As in :func:`trend`.
    axis_label : str, optional
        Instead of the label made from ``unit`` and ``precision``.
    sort : bool, default False
        Rows by size (without ``along``).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import nea_covid as nc
    >>> panel = nc.datasets.load_nea_covid()
    >>> d = nc.SurveyDesign(panel, strata="stratum", clusters="panel_id", weights="weight")
    >>> share = nc.harmonised_proportion(d, nc.get_definition("tno_works_at_home"), by="wave")
    >>> ax = nc.plot.counts(nc.extrapolate(share, population=7_549_000), along="wave",
    ...                     unit="werknemers", language="nl")
    >>> ax.get_ylabel()
    'werknemers (miljoen)'
    """
    from nea_covid.results import Estimate

    total = isinstance(extrapolation, Estimate) and extrapolation.statistic == "total"
    pts = select(_checked_points(
        "counts", extrapolation, language, confidence_level,
        allowed=("Extrapolation", "Estimate") if total else ("Extrapolation",),
        hint="counts come from nc.extrapolate(estimate, population=...) or nc.total",
        along=along), where, levels)
    axis = _count_axis(pts, precision, unit, language, labels, digits, axis_label)
    if along is not None:
        return _trend(pts, along, axis, ax=ax, band=band, language=language, labels=labels,
                      title=title, dodge=None, note=note)
    return _domains(pts, axis, ax=ax, hue=None, sort=sort, reference=None,
                    language=language, labels=labels, title=title, note=note)


# ---------------------------------------------------------------------- changes
_ADJUST_NAMES = {"holm": "Holm", "bh": "Benjamini-Hochberg", "bonferroni": "Bonferroni",
                 "by": "Benjamini-Yekutieli", "hommel": "Hommel", "sidak": "Šidák",
                 "holm-sidak": "Holm-Šidák"}


def _comparison_names(pts: Points, language: Language, labels: Labels,
                      spoken: bool = False) -> list[str]:
    """Row names of comparisons: the varying describing columns, with ``base`` and
    ``other`` as "base → other"."""
    columns = pts.varying(exclude=("along",))
    paired = "base" in pts.columns and "other" in pts.columns
    rest = [c for c in columns if c not in ("base", "other")]
    if not paired and not rest:  # no column tells the rows apart: name them by all
        rest = [c for c in pts.columns if c != "along"]
    names = row_names(pts, rest, language, labels, spoken)
    if paired and ("base" in columns or "other" in columns or not rest):
        arrows = _arrows(pts, language, labels)
        names = [f"{n}: {a}" if n else a for n, a in zip(names, arrows, strict=True)]
    return names


def _arrows(pts: Points, language: Language, labels: Labels) -> list[str]:
    """"base → other" of each comparison."""
    along = pts.constant("along")
    column = str(along) if along is not None else "base"
    base = [display(v, column, language, labels) for v in pts.frame["base"].tolist()]
    other = [display(v, column, language, labels) for v in pts.frame["other"].tolist()]
    return [f"{b} → {o}" for b, o in zip(base, other, strict=True)]


def _changes_axis(pts: Points, percent: bool | None, language: Language, labels: Labels,
                  digits: int | None, axis_label: str | None) -> ValueAxis:
    result = pts.result
    scale_ = getattr(result, "scale", "linear")
    if percent is None:
        extra = getattr(result, "extra", pd.DataFrame())
        shares = [c for c in ("base_estimate", "other_estimate") if c in extra.columns]
        in_unit = bool(shares) and bool(np.all(
            (extra[shares].to_numpy(dtype=float) >= 0) & (extra[shares].to_numpy(
                dtype=float) <= 1)))
        percent = scale_ == "linear" and pts.quantity in ("difference", "published") and (
            "level" in pts.columns or (pts.quantity == "published" and in_unit))
    what = label("ratio" if pts.quantity == "ratio" else "log_odds_ratio" if scale_ == "logit"
                 else "contrast" if pts.quantity == "contrast"
                 else "change" if pts.constant("along") == "wave" else "difference", language)
    variable = _variable_text(pts, language, labels)
    if variable is not None:
        what = f"{what} in {variable}" if pts.quantity != "ratio" else f"{what}, {variable}"
    rows = pts.varying(exclude=("along",))
    if "base" in pts.columns and "other" in pts.columns and len(pts.frame) > 1 and not (
            "base" in rows or "other" in rows):  # one pair for every row: say which
        what = f"{what}, {_arrows(pts, language, labels)[0]}"
    points_ = word("percentage_points", language)
    return _percent_axis(pts, bool(percent), what, points_, f" {points_}", digits, axis_label,
                         sign=pts.null_value == 0)


def changes(
    comparison: Any,
    *,
    ax: Axes | None = None,
    adjust: str | None = None,
    alpha: float = 0.05,
    percent: bool | None = None,
    where: Mapping[str, Any] | None = None,
    sort: bool = False,
    language: Language = "en",
    labels: Labels = None,
    confidence_level: float | None = None,
    title: str | None = None,
    xlabel: str | None = None,
    digits: int | None = None,
    note: bool = True,
) -> Axes:
    """Draw differences (changes between waves, contrasts, tests) with their intervals
    around the line of no difference; significant ones filled, others hollow.

    Parameters
    ----------
    comparison : Comparison
        From :func:`nea_covid.compare`, :func:`nea_covid.contrast`,
        :func:`nea_covid.ttest` or :func:`nea_covid.compare_published`.
    ax : matplotlib Axes, optional
    adjust : {"holm", "bh", "bonferroni", ...}, optional
        Decide significance on p-values adjusted for testing all rows of the comparison
        at once (:meth:`nea_covid.Comparison.adjusted_pvalues`); default unadjusted.
        The adjustment is over **every** row of ``comparison``, also those ``where``
        leaves out (the family of tests is the comparison made, not the rows drawn);
        the legend and the alt text then say so ("Holm adjustment over all 6
        comparisons"). To adjust over the drawn rows only, compare only those. The
        intervals drawn are not adjusted.
    alpha : float, default 0.05
        Significance level.
    percent : bool, optional
        Differences of proportions in percentage points (default when the comparison
        is of proportions).
    where : mapping, optional
        Draw only the rows with these values, e.g. ``{"other": "2021-03"}``. At most
        60 rows are drawn (more would overlap their labels): select them with
        ``where``.
    sort : bool, default False
        Rows from the largest difference (top) to the smallest.
    language, labels, confidence_level, title, digits, note
        As in :func:`trend`.
    xlabel : str, optional

    Returns
    -------
    matplotlib.axes.Axes
        Rows without an estimate (or p-value) are listed in the alt text as not
        estimable, and left out of the significant and not significant ones.

    Raises
    ------
    PlotError
        More than 60 rows to draw, a bad ``alpha``, or ``where`` matches nothing.

    Examples
    --------
    >>> import nea_covid as nc
    >>> panel = nc.datasets.load_nea_covid()
    >>> d = nc.SurveyDesign(panel, strata="stratum", clusters="panel_id", weights="weight")
    >>> est = nc.harmonised_proportion(d, nc.get_definition("tno_works_at_home"), by="wave")
    >>> ax = nc.plot.changes(nc.compare(est, "wave"), adjust="holm")
    >>> ax.get_xlabel()
    'change in works at home (percentage points)'
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['significant after Holm adjustment (p < 0.05)']

    Drawing some rows of a comparison still adjusts over all of them, and says so:

    >>> ax = nc.plot.changes(nc.compare(est, "wave"), adjust="holm",
    ...                      where={"other": "2021-03"})
    >>> ax.get_legend().get_texts()[0].get_text()
    'significant after Holm adjustment over all 3 comparisons (p < 0.05)'
    """
    pts = _checked_points("changes", comparison, language, confidence_level,
                          allowed=("Comparison",),
                          hint="use nc.plot.trend or nc.plot.domains for estimates")
    if isinstance(alpha, bool) or not isinstance(alpha, int | float | np.number) \
            or not 0 < alpha < 1:
        raise PlotError(f"`alpha` must be a number in (0, 1), not {alpha!r}.")
    p = np.asarray(comparison.pvalue if adjust is None
                   else comparison.adjusted_pvalues(adjust), dtype=np.float64)
    if adjust is not None:
        pts.frame[f"pvalue_{adjust}"] = p
    pts.frame["significant"] = p < alpha
    n_tested = len(pts.frame)
    pts = select(pts, where, "all")
    axis = _changes_axis(pts, percent, language, labels, digits, xlabel)
    pts.frame["_name"] = _comparison_names(pts, language, labels)
    pts.frame["_spoken"] = _comparison_names(pts, language, labels, spoken=True)
    method = _ADJUST_NAMES.get(adjust, str(adjust)) if adjust else None
    # with `where`, the adjustment still covers every row of the comparison: say so
    over = "_all" if method and len(pts.frame) < n_tested else ""
    a = str(format_number(alpha, digits=auto_digits([alpha], 1), language=language))
    significant = (word("significant_after" + over, language, method=method, n=n_tested)
                   if method else label("significant", language)) + f" (p < {a})"
    ax, frame, _ = _forest(
        replace(pts, columns=("_name",)), axis, ax=ax, rows=["_name"], hue=None, sort=sort,
        reference=pts.null_value, language=language, labels=labels, title=title, note=note,
        filled=pts.frame["significant"].to_numpy(dtype=bool),
        legend_texts=(significant, word("not_significant", language)), row_title="",
        null_line=True)
    names, spoken = frame.pop("_name").tolist(), frame.pop("_spoken").tolist()
    texts = _values(frame, axis, language)
    sig = frame["significant"].to_numpy(dtype=bool)
    p_drawn = frame[f"pvalue_{adjust}" if adjust else "pvalue"].to_numpy(dtype=np.float64)
    known = np.isfinite(frame["estimate"].to_numpy(dtype=np.float64)) & np.isfinite(p_drawn)
    null = format_number(pts.null_value * axis.scale, digits=0, language=language)
    how = word("after" + over, language, method=method, n=n_tested) if method else ""
    head = (_head("forest_chart", "changes_of", "with_lines", pts, language,
                  n=count(len(frame), "comparison", language), quantity=axis.what)
            + "; " + word("null_line", language, value=null) + ". ")
    parts = []
    if sig.any():
        parts.append(word("significant_list", language, how=how, alpha=a,
                          items=_listing(spoken, texts, language, sig.tolist())))
    elif known.any():
        parts.append(word("none_significant", language, how=how, alpha=a))
    if (known & ~sig).any():
        parts.append(word("not_significant_list", language, items=_listing(
            spoken, texts, language, (known & ~sig).tolist())))
    if not known.all():
        parts.append(word("not_estimable_list", language, items=_listing(
            [""] * len(spoken), spoken, language, (~known).tolist())))
    body = "; ".join(parts)
    _record(ax, head + body[:1].upper() + body[1:] + ".", frame, axis, names, language)
    return ax


# ---------------------------------------------------------------------- coefficients
def coefficients(
    regression: Any,
    *,
    ax: Axes | None = None,
    intercept: bool = False,
    terms: Sequence[str] | None = None,
    exponentiate: bool = False,
    sort: bool = False,
    language: Language = "en",
    labels: Labels = None,
    confidence_level: float | None = None,
    title: str | None = None,
    xlabel: str | None = None,
    digits: int | None = None,
    note: bool = True,
) -> Axes:
    """Draw a regression's coefficients with their intervals around zero.

    Parameters
    ----------
    regression : Regression
        From :func:`nea_covid.glm`.
    ax : matplotlib Axes, optional
    intercept : bool, default False
        Also draw the intercept (usually on another scale than the slopes).
    terms : list of str, optional
        Only these coefficients (patsy's names, e.g. ``"stype[T.H]"``).
    exponentiate : bool, default False
        Draw ``exp(coefficient)`` (odds ratios of a logistic model) on a log axis
        around 1.
    sort, language, labels, confidence_level, title, xlabel, digits, note
        As in :func:`domains`.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import nea_covid as nc
    >>> d = nc.SurveyDesign(nc.datasets.load_api("strat"), weights="pw", strata="stype",
    ...                     fpc="fpc")
    >>> fit = nc.glm(d, "api00 ~ ell + meals + stype")
    >>> ax = nc.plot.coefficients(fit, labels={"stype[T.H]": "high school"})
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['ell', 'meals', 'high school', 'stype[T.M]']
    """
    pts = _checked_points("coefficients", regression, language, confidence_level,
                          allowed=("Regression",),
                          hint="draw estimates with nc.plot.trend or nc.plot.domains")
    keep = np.ones(len(pts.frame), dtype=bool)
    term = pts.frame["term"].astype(str)
    if terms is not None:
        wanted = [str(t) for t in terms]
        unknown = sorted(set(wanted) - set(term))
        if unknown:
            raise PlotError(f"`terms` names {len(unknown)} coefficient(s) the model does "
                            f"not have ({', '.join(map(repr, unknown))}); it has "
                            f"{', '.join(map(repr, term))}.")
        keep &= term.isin(wanted).to_numpy()
    elif not intercept:
        keep &= (term != "Intercept").to_numpy()
    if not keep.any():
        raise PlotError("No coefficient is left to plot (the model has only an intercept; "
                        "use intercept=True).")
    frame = pts.frame.loc[keep].reset_index(drop=True)
    null = 0.0
    if exponentiate:
        frame[_BOUNDS] = np.exp(frame[_BOUNDS].to_numpy())
        null = 1.0
    pts = replace(pts, frame=frame, null_value=null)
    family = getattr(regression, "family", "gaussian")
    what = (word("odds_ratio", language) if exponentiate and family == "binomial"
            else f"exp({word('coefficient', language)})" if exponentiate
            else word("coefficient", language))
    # the decimals of the coefficients' table; of odds ratios, by their standard errors
    # (delta method: exp(b) * se(b))
    se = pts.standard_error[keep] * (np.exp(frame["estimate"].to_numpy(dtype=np.float64))
                                     if exponentiate else 1.0)
    axis = _axis(what, digits=_digits(replace(pts, standard_error=se), digits),
                 axis_label=xlabel)
    ax, drawn, names = _forest(pts, axis, ax=ax, rows=["term"], hue=None, sort=sort,
                               reference=null, language=language, labels=labels,
                               title=title, note=note, log=exponentiate, row_title="",
                               null_line=True)
    text = (_head("coefficient_chart", "coefficients_of", "with_lines", pts, language,
                  n=count(len(drawn), "coefficient", language),
                  family=word("logistic" if family == "binomial" else "linear", language),
                  formula=getattr(regression, "formula", ""))
            + "; " + word("null_line_at", language,
                          value=format_number(null, digits=0, language=language))
            + ". " + _listing(names, _values(drawn, axis, language), language) + ".")
    _record(ax, text, drawn, axis, names, language)
    return ax


# ---------------------------------------------------------------------- dispatch
def default_kind(result: Any) -> str:
    """The chart that suits a result: Regression → coefficients, Comparison → changes,
    Extrapolation → counts, an estimate with a ``wave`` column → trend, else domains."""
    kind = {"Regression": "coefficients", "Comparison": "changes",
            "Extrapolation": "counts"}.get(_type_name(result) or "")
    if kind is None:
        points(result)  # TypeError for what cannot be plotted
        kind = "trend" if "wave" in result.cells.columns else "domains"
    return kind


def draw(result: Any, kind: str | None = None, **kwargs: Any) -> Axes:
    """Draw a result with the chart that suits it (what ``result.plot()`` does).

    Parameters
    ----------
    result : Estimate, Extrapolation, Comparison or Regression
    kind : {"trend", "domains", "counts", "changes", "coefficients"}, optional
        Default: an estimate with a ``wave`` column → :func:`trend` along the waves,
        another estimate → :func:`domains`, an extrapolation → :func:`counts` (along
        the waves if it has them), a comparison → :func:`changes`, a regression →
        :func:`coefficients`.
    **kwargs
        Passed to the chart's function (``ax=``, ``language=``, ...).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import nea_covid as nc
    >>> d = nc.SurveyDesign(nc.datasets.load_api("strat"), weights="pw", strata="stype",
    ...                     fpc="fpc")
    >>> ax = nc.mean(d, "api00", by="stype").plot()
    >>> ax.get_xlabel()
    'mean of api00'
    """
    if kind is None:
        kind = default_kind(result)
        if kind == "counts" and "along" not in kwargs and "wave" in result.cells.columns:
            kwargs["along"] = "wave"
    if kind not in _CHARTS:
        raise PlotError(f"`kind` must be one of {', '.join(map(repr, _CHARTS))}, not "
                        f"{kind!r}.")
    return _CHARTS[kind](result, **kwargs)  # type: ignore[no-any-return]


_CHARTS: dict[str, Any] = {"trend": trend, "domains": domains, "counts": counts,
                           "changes": changes, "coefficients": coefficients}
