"""Domains (``by=`` cells) and the rows that enter an estimate.

:func:`prepare` turns a design, the analysis variables' missingness, the ``by``
columns and the ``missing`` rule into integer cell codes for the active rows, in one
vectorised pass. Rows outside the design's domain, with a missing ``by`` value or
(``missing="omit"``) a missing analysis value get no cell: they leave the estimate's
domain but stay in the design, so the variance still sees every PSU.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from nea_covid.design import BaseDesign, SurveyDesign, factorize
from nea_covid.errors import (
    DesignError,
    EmptyDomainWarning,
    MissingValueError,
    plural,
    row_labels,
)

__all__ = ["By", "Missing", "Prepared", "prepare"]

By: TypeAlias = str | Sequence[str] | None
Missing: TypeAlias = Literal["raise", "omit"]

#: Use a dense presence table for combined by-keys up to this many combinations.
_DENSE_KEYS = 50_000_000


@dataclass(frozen=True, eq=False)
class Prepared:
    """The active rows of an estimate and their cells.

    Attributes
    ----------
    rows : ndarray of intp or None
        Positions of the rows that enter the estimate; None when all rows do.
    cell : ndarray of intp
        Cell code of each active row (0..n_cells-1).
    n_cells : int
    labels : pandas.DataFrame
        By-values of each cell (no columns without ``by``).
    weights : ndarray
        Analysis weights of the active rows.
    n_obs : ndarray of int
        Active rows with non-zero weight per cell.
    n_missing : int
        Domain rows left out because of missing values.
    by : tuple of str
    n_rows : ndarray of int
        Active rows per cell (R's ``nrow`` of the domain's subset design).
    domain_df : ndarray
        Degrees of freedom of each cell's domain, R's ``degf`` of its subset design
        (PSUs minus strata among the cell's rows with non-zero weight).
    levels : dict of str to pandas.Index
        Each by-column's levels in code order (category order, else sorted).
    """

    rows: NDArray[np.intp] | None
    cell: NDArray[np.intp]
    n_cells: int
    labels: pd.DataFrame
    weights: NDArray[np.float64]
    n_obs: NDArray[np.int64]
    n_missing: int
    by: tuple[str, ...]
    n_rows: NDArray[np.int64]
    domain_df: NDArray[np.float64]
    levels: dict[str, pd.Index] = field(default_factory=dict)

    def take(self, values: NDArray[Any]) -> NDArray[Any]:
        """The active rows of a per-row array."""
        return values if self.rows is None else values[self.rows]

    @property
    def row_index(self) -> NDArray[np.intp]:
        """Positions of the active rows."""
        return np.arange(self.cell.shape[0]) if self.rows is None else self.rows

    def cell_sums(self, values: NDArray[Any]) -> NDArray[np.float64]:
        """Per-cell sums of ``values`` (shape (k,) or (k, m)) over the active rows."""
        if self.n_cells == 1:
            return np.atleast_1d(values.sum(axis=0)).reshape((1, *values.shape[1:])).astype(
                np.float64, copy=False)
        if values.ndim == 1:
            return np.bincount(self.cell, weights=values, minlength=self.n_cells).astype(
                np.float64, copy=False)
        m = values.shape[1]
        idx = (self.cell[:, None] * m + np.arange(m)).ravel()
        flat = np.bincount(idx, weights=values.ravel(), minlength=self.n_cells * m)
        return flat.reshape(self.n_cells, m).astype(np.float64, copy=False)


#: Column names of ``Estimate.to_frame()``; a by-variable may not take one of them.
RESERVED = ("variable", "level", "quantile", "estimate", "standard_error", "ci_low",
            "ci_high", "df", "n_obs", "deff")

#: Most cells (domains x quantities) one estimate may have: the covariance across all
#: of them is dense (10,000 cells: 800 MB).
MAX_COLUMNS = 10_000


def by_columns(by: By) -> tuple[str, ...]:
    if by is None:
        return ()
    if isinstance(by, str) or not isinstance(by, Iterable):
        cols: tuple[str, ...] = (by,)
    else:
        cols = tuple(by)
    if len(set(cols)) != len(cols):
        raise DesignError(f"`by` names a column twice: {list(cols)}.")
    clash = [c for c in cols if c in RESERVED]
    if clash:
        raise DesignError(
            f"`by` column {clash[0]!r} has the name of a result column; rename it "
            f"(e.g. `df.rename(columns={{{clash[0]!r}: '{clash[0]}_'}})`)."
        )
    return cols


def prepare(
    design: BaseDesign,
    incomplete: dict[str, NDArray[np.bool_]],
    by: By,
    missing: Missing,
    *,
    with_domain_df: bool = False,
) -> Prepared:
    """Cells and active rows for an estimate.

    Parameters
    ----------
    design : SurveyDesign
    incomplete : dict
        For each analysis variable, a boolean array marking rows where it is missing.
    by : str or list of str, optional
    missing : {"raise", "omit"}
    with_domain_df : bool, default False
        Compute each cell's own degrees of freedom (needed by "beta" intervals only);
        otherwise they are NaN.
    """
    if missing not in ("raise", "omit"):
        raise DesignError(f"`missing` must be 'raise' or 'omit', not {missing!r}.")
    by_cols = by_columns(by)
    index = design.data.index
    if (design._domain is None and not by_cols
            and not any(mask.any() for mask in incomplete.values())):
        return _all_rows(design)
    in_domain = design.domain

    codes: list[NDArray[np.intp]] = []
    uniques: list[pd.Index] = []
    ok = in_domain.copy()
    n_missing = 0
    problems: list[tuple[str, NDArray[np.bool_]]] = []
    for col in by_cols:
        c, u = factorize(design._column(col, "by"))
        codes.append(c)
        uniques.append(u)
        problems.append((col, (c < 0) & in_domain))
    for name, mask in incomplete.items():
        problems.append((name, mask & in_domain))
    if missing == "raise":
        for name, mask in problems:
            if mask.any():
                raise missing_error(name, int(mask.sum()), row_labels(index, mask))
    # cells are the by-combinations observed in the domain (whatever the variables'
    # missingness), so that a variable missing in a whole cell shows as an empty cell.
    by_ok = in_domain.copy()
    for c in codes:
        by_ok &= c >= 0
    for _, mask in problems:
        ok &= ~mask
    n_missing = int((in_domain & ~ok).sum())

    cell_all, labels, n_cells = _cell_codes(codes, uniques, by_ok, by_cols)
    rows: NDArray[np.intp] | None = np.flatnonzero(ok)
    if rows is not None and rows.shape[0] == ok.shape[0]:
        rows = None
    cell = cell_all if rows is None else cell_all[rows]
    w = design._weights if rows is None else design._weights[rows]
    n_rows = np.bincount(cell, minlength=n_cells).astype(np.int64)
    n_obs = n_rows if design._all_positive else np.bincount(
        cell[w != 0], minlength=n_cells).astype(np.int64)
    if not by_cols:
        domain_df = np.full(n_cells, float(design.degf))
    elif with_domain_df:
        domain_df = design._domain_degf(rows, cell, n_cells)
    else:
        domain_df = np.full(n_cells, np.nan)
    empty = n_obs == 0
    if n_cells == 0 or empty.any():
        which = (
            "the domain has no rows" if n_cells == 0 else
            f"{plural(int(empty.sum()), 'cell')} without observations"
            + (f" ({_describe(labels, empty)})" if by_cols else "")
        )
        warnings.warn(
            f"Empty domain: {which}; the estimates there are NaN.",
            EmptyDomainWarning,
            stacklevel=3,
        )
    return Prepared(rows, cell, n_cells, labels, w, n_obs, n_missing, by_cols, n_rows,
                    domain_df, dict(zip(by_cols, uniques, strict=True)))


def missing_error(name: str, count: int, where: str) -> MissingValueError:
    """The error for ``count`` missing values of ``name`` in an estimate's domain."""
    return MissingValueError(
        f"Column {name!r} has {plural(count, 'missing value')} in the domain ({where}). Pass "
        "`missing='omit'` to leave those rows out of this estimate (they stay in the design "
        "for the variance), or impute them first."
    )


def _all_rows(design: BaseDesign) -> Prepared:
    """Every row in one cell: the common case, without copies."""
    w = design._weights
    n = w.shape[0]
    n_obs = np.array([design._n_positive], dtype=np.int64)
    return Prepared(None, np.zeros(n, dtype=np.intp), 1, pd.DataFrame(index=range(1)), w,
                    n_obs, 0, (), np.array([n], dtype=np.int64),
                    np.array([float(design.degf)]))


def domain_degf(
    design: SurveyDesign, rows: NDArray[np.intp] | None, cell: NDArray[np.intp], n_cells: int
) -> NDArray[np.float64]:
    """Per cell: PSUs minus strata among the cell's rows with non-zero weight."""
    stage = design._stages[0]
    unit = stage.unit if rows is None else stage.unit[rows]
    w = design._weights if rows is None else design._weights[rows]
    if design._all_positive:
        key = unit.astype(np.int64) * n_cells + cell
    else:
        keep = w != 0
        key = unit[keep].astype(np.int64) * n_cells + cell[keep]
    if stage.n_units * n_cells <= _DENSE_KEYS:
        present = np.bincount(key, minlength=stage.n_units * n_cells) > 0
        unit_key = np.flatnonzero(present)
    else:
        unit_key = np.unique(key)
    cells_of_units = unit_key % n_cells
    group_key = stage.group[unit_key // n_cells].astype(np.int64) * n_cells + cells_of_units
    if stage.n_groups * n_cells <= _DENSE_KEYS:
        group_key = np.flatnonzero(np.bincount(group_key, minlength=stage.n_groups * n_cells))
    else:
        group_key = np.unique(group_key)
    n_units = np.bincount(cells_of_units, minlength=n_cells)
    n_groups = np.bincount(group_key % n_cells, minlength=n_cells)
    return (n_units - n_groups).astype(np.float64)


def _describe(labels: pd.DataFrame, mask: NDArray[np.bool_]) -> str:
    shown = labels[mask].head(3).to_dict("records")
    text = "; ".join(", ".join(f"{k}={v}" for k, v in r.items()) for r in shown)
    return text + ("; ..." if mask.sum() > 3 else "")


def _cell_codes(
    codes: list[NDArray[np.intp]],
    uniques: list[pd.Index],
    valid: NDArray[np.bool_],
    by_cols: tuple[str, ...],
) -> tuple[NDArray[np.intp], pd.DataFrame, int]:
    """Code the by-combinations present among ``valid`` rows, first by-column slowest."""
    n = valid.shape[0]
    if not codes:
        cell = np.where(valid, 0, -1).astype(np.intp)
        return cell, pd.DataFrame(index=range(1)), 1
    if len(codes) == 1 and valid.all():  # factorize's codes are the cells already
        frame = pd.DataFrame({by_cols[0]: np.asarray(uniques[0])})
        return codes[0], frame, len(uniques[0])
    sizes = [max(len(u), 1) for u in uniques]
    key = np.zeros(n, dtype=np.int64)
    for c, size in zip(codes, sizes, strict=True):
        key = key * size + np.where(c >= 0, c, 0)
    total = int(np.prod(np.array(sizes, dtype=np.float64)))
    if total <= _DENSE_KEYS:
        present = np.bincount(key[valid], minlength=total) > 0
        present_keys = np.flatnonzero(present)
        lookup = np.cumsum(present) - 1
        cell = np.where(valid, lookup[key], -1).astype(np.intp)
    else:
        present_keys, inverse = np.unique(key[valid], return_inverse=True)
        cell = np.full(n, -1, dtype=np.intp)
        cell[valid] = inverse
    labels = {}
    rest = present_keys.copy()
    for col, u, size in zip(reversed(by_cols), reversed(uniques), reversed(sizes), strict=True):
        labels[col] = u.take(rest % size)
        rest = rest // size
    frame = pd.DataFrame({col: np.asarray(labels[col]) for col in by_cols})
    for col, u in zip(by_cols, uniques, strict=True):
        if isinstance(u, pd.CategoricalIndex) or isinstance(u.dtype, pd.CategoricalDtype):
            frame[col] = pd.Categorical(frame[col], categories=u)
    return cell, frame, int(present_keys.shape[0])
