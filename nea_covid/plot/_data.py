"""From a result object to the points a chart shows: one row per cell with its
estimate and interval, selected and labelled (no matplotlib here)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from nea_covid.errors import ColumnNotFoundError, SurveyError, close_matches, plural
from nea_covid.formatting import Language, format_number, label
from nea_covid.intervals import check_level
from nea_covid.plot._style import auto_digits

__all__ = ["PlotError", "Points", "checked", "display", "points", "select"]

Labels = Mapping[str, Any] | None  # str -> str, or a column -> {value: str}


class PlotError(SurveyError):
    """A chart cannot be drawn as asked: a selection leaves no points, an unknown
    ``kind``, or arguments that do not fit the result."""


@dataclass(frozen=True)
class Points:
    """What a chart shows, one row per point.

    ``frame`` has the describing ``columns`` and ``estimate``, ``ci_low``, ``ci_high``
    (and ``pvalue`` for comparisons and regressions).
    """

    frame: pd.DataFrame
    columns: tuple[str, ...]
    quantity: str  # mean, total, proportion, ratio, quantile, count, or the comparison kind
    confidence_level: float
    result: Any
    by_levels: Mapping[str, Any] = field(default_factory=dict)
    null_value: float = 0.0
    #: standard errors of every cell of the result (before any selection): the
    #: decimals of the alt text follow them as a publication table's do
    standard_error: np.ndarray[Any, Any] = field(
        default_factory=lambda: np.empty(0, dtype=np.float64))

    def varying(self, exclude: Sequence[str] = ()) -> list[str]:
        """The describing columns with more than one value (in the cells' order)."""
        return [c for c in self.columns if c not in exclude
                and len(pd.unique(self.frame[c])) > 1]

    def constant(self, column: str) -> Any:
        """The value of a column that has one value, else None."""
        if column not in self.frame.columns:
            return None
        values = pd.unique(self.frame[column])
        return values[0] if len(values) == 1 else None


_UNPLOTTABLE = {
    "ChisqTest": "a chi-squared test is one statistic, not estimates with intervals; "
                 "plot the proportions it tests (nc.proportion(..., by=...)) instead",
    "JointTest": "a joint test is one statistic, not estimates with intervals; plot the "
                 "comparisons it tests (nc.plot.changes)",
    "PublishedCheck": "a check of a published figure has no interval to plot",
}


def points(result: Any, confidence_level: float | None = None,
           method: str | None = None) -> Points:
    """The estimates and intervals of any result type."""
    from nea_covid.comparison import Comparison
    from nea_covid.extrapolate import Extrapolation
    from nea_covid.glm import Regression
    from nea_covid.results import Estimate

    name = type(result).__name__
    if name in _UNPLOTTABLE:
        raise TypeError(f"A {name} cannot be plotted: {_UNPLOTTABLE[name]}.")
    if confidence_level is not None:
        confidence_level = checked(check_level, confidence_level)
    null = 0.0
    pvalue = None
    if isinstance(result, Estimate):
        ci = result.confidence_interval(confidence_level, method)  # type: ignore[arg-type]
        quantity = result.statistic
    elif isinstance(result, Extrapolation):
        ci = result.confidence_interval(confidence_level)
        quantity = "count"
    elif isinstance(result, Comparison):
        ci = result.confidence_interval(confidence_level)
        quantity = result.kind
        pvalue = result.pvalue
        nulls = np.unique(result.null_value)
        null = float(nulls[0]) if nulls.size == 1 else 0.0
    elif isinstance(result, Regression):
        ci = result.confidence_interval(confidence_level)
        quantity = "coefficient"
        pvalue = result.pvalue
    else:
        raise TypeError(
            "nc.plot draws estimates (nc.mean, nc.proportion, nc.total, nc.ratio, "
            "nc.quantile), extrapolations (nc.extrapolate), comparisons (nc.compare, "
            f"nc.contrast, nc.ttest) and regressions (nc.glm), not {name}.")
    frame = result.cells.reset_index(drop=True).copy()
    columns = tuple(str(c) for c in frame.columns)
    frame["estimate"] = np.asarray(result.estimate, dtype=np.float64)
    frame["ci_low"] = np.asarray(ci.low, dtype=np.float64)
    frame["ci_high"] = np.asarray(ci.high, dtype=np.float64)
    if pvalue is not None:
        frame["pvalue"] = np.asarray(pvalue, dtype=np.float64)
    level = result.confidence_level if confidence_level is None else float(confidence_level)
    return Points(frame=frame, columns=columns, quantity=quantity, confidence_level=level,
                  result=result, by_levels=getattr(result, "_by_levels", None) or {},
                  null_value=null, standard_error=np.asarray(
                      result.standard_error, dtype=np.float64).reshape(-1))


def checked(check: Callable[..., Any], *args: Any) -> Any:
    """``check(*args)``, its ValueError (a message naming the argument) as a PlotError."""
    try:
        return check(*args)
    except ValueError as exc:
        raise PlotError(str(exc)) from None


def check_column(pts: Points, column: str, argument: str) -> None:
    """``ColumnNotFoundError`` unless ``column`` describes the cells."""
    if column not in pts.columns:
        raise ColumnNotFoundError(
            f"`{argument}={column!r}` is not a column of the result's cells; they have "
            f"{', '.join(map(repr, pts.columns))}.{close_matches(column, pts.columns)}")


def _matching(values: pd.Series, wanted: Any) -> np.ndarray[Any, np.dtype[np.bool_]]:
    items = list(wanted) if isinstance(wanted, list | tuple | set | frozenset) else [wanted]
    exact = values.isin(items).to_numpy(dtype=bool)
    text = values.astype(str).isin([str(v) for v in items]).to_numpy(dtype=bool)
    return exact | text


def select(pts: Points, where: Mapping[str, Any] | None = None,
           levels: Any = None) -> Points:
    """The points with the ``where`` values, and of the proportion levels ``levels``
    (None: for a variable with two levels only the one that says yes, else the second;
    "all": every level)."""
    frame = pts.frame
    keep = np.ones(len(frame), dtype=bool)
    for column, wanted in (where or {}).items():
        check_column(pts, column, "where")
        hit = _matching(frame[column], wanted)
        if not hit.any():
            present = ", ".join(repr(v) for v in pd.unique(frame[column])[:20])
            raise PlotError(
                f"`where` asks for {column}={wanted!r}, which no cell has; {column!r} has "
                f"{present}.")
        keep &= hit
    if "level" in pts.columns and not (where and "level" in where):
        if levels is None:
            from nea_covid.contrasts import _second_of_two

            keep &= _second_of_two(frame)
        elif not (isinstance(levels, str) and levels == "all"):
            hit = _matching(frame["level"], levels)
            if not hit.any():
                present = ", ".join(repr(v) for v in pd.unique(frame["level"]))
                raise PlotError(f"`levels={levels!r}` matches no level; the levels are "
                                f"{present} (or levels='all').")
            keep &= hit
    elif levels is not None and not (isinstance(levels, str) and levels == "all") \
            and "level" not in pts.columns:
        raise PlotError("`levels` selects categories of a proportion; this result has "
                        "no `level` column.")
    if not keep.any():
        raise PlotError(f"No point is left to plot after `where={dict(where or {})!r}` "
                        f"(the result has {plural(len(frame), 'cell')}).")
    return replace(pts, frame=frame.loc[keep].reset_index(drop=True))


def ordered(pts: Points, column: str) -> tuple[np.ndarray[Any, Any], list[Any]]:
    """Each point's position along ``column`` and the levels in the result's order
    (the by-variable's category order, else the order of first appearance)."""
    from nea_covid.contrasts import _level_order

    rank, levels = _level_order(pts.frame[column], pts.by_levels.get(column))
    return np.asarray(rank, dtype=np.intp), levels


def groups(frame: pd.DataFrame, columns: Sequence[str]) -> np.ndarray[Any, Any]:
    """Group number of each row over ``columns`` (order of first appearance)."""
    if not columns:
        return np.zeros(len(frame), dtype=np.intp)
    return np.asarray(frame.groupby(list(columns), sort=False, dropna=False).ngroup(),
                      dtype=np.intp)


_YES_NO = {"yes": "yes", "no": "no", "ja": "yes", "nee": "no"}


def display(value: Any, column: str, language: Language, labels: Labels = None,
            result: Any = None) -> str:
    """How a cell value is printed in a chart: the user's ``labels``, then yes/no in
    the language, a harmonised concept's label (English), numbers with the language's
    decimal separator."""
    if labels:
        own = labels.get(column)
        if isinstance(own, Mapping):  # {"sector": {1: "care", 2: "education"}}
            for key in (value, str(value)):
                if key in own:
                    return str(own[key])
        text = labels.get(str(value))
        if text is not None and not isinstance(text, Mapping):
            return str(text)
    if column == "variable":
        definition = getattr(result, "definition", None)
        concept = getattr(definition, "concept", None)
        if language == "en" and concept is not None and concept.name == value:
            return str(concept.label)
        return label(str(value), language) if "_" in str(value) else str(value)
    if column == "level" and str(value).strip().lower() in _YES_NO:
        return label(_YES_NO[str(value).strip().lower()], language)
    if isinstance(value, float | np.floating) and not float(value).is_integer():
        return str(format_number(float(value), digits=auto_digits([value], 2),
                                 language=language))
    if isinstance(value, float | np.floating):
        return str(int(value))
    return str(value)


def column_label(column: str, language: Language, labels: Labels = None) -> str:
    """The axis or legend label of a describing column."""
    if labels and column in labels and not isinstance(labels[column], Mapping):
        return str(labels[column])
    return label(column, language)


def row_names(pts: Points, columns: Sequence[str], language: Language,
              labels: Labels = None, spoken: bool = False) -> list[str]:
    """One text per point: its values of ``columns`` joined by ", " (``spoken``: codes
    that are numbers after the column's name, "sector 3", as an alt text needs them)."""
    if not columns:
        return [""] * len(pts.frame)
    parts = []
    for c in columns:
        texts = [display(v, c, language, labels, pts.result) for v in pts.frame[c].tolist()]
        if spoken and all(_NUMBER.fullmatch(t) for t in texts):
            name = column_label(c, language, labels)
            texts = [f"{name} {t}" for t in texts]
        parts.append(texts)
    return [", ".join(p) for p in zip(*parts, strict=True)]


_NUMBER = re.compile(r"-?[\d.,]+")


def is_positive_level(value: Any, n_levels: int) -> bool:
    """Whether a proportion's level says yes, so that it goes without saying on an
    axis: yes, ja, true; or 1 of a variable with two levels."""
    text = str(value).strip().lower()
    return text in {"yes", "ja", "true", "y", "j"} or (text in {"1", "1.0"} and n_levels == 2)
