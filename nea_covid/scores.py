"""Score matrices: the linearised contributions of estimates, kept implicit.

The variance code needs only the *totals of the scores per sampling unit* (and, for
``lonely_psu="average"``, which cells touch which strata). Two representations give
them:

* :class:`RatioScores` for every estimate of the form ``theta = sum(w a) / sum(w b)``
  per cell (means, totals, proportions, ratios, CDF values for quantiles). The score
  ``w (a - theta b) / sum(w b)`` is linear in the per-unit sums of ``w a`` and
  ``w b``, so unit totals come from two bincounts over the rows, keyed by
  (unit, cell); no n-by-columns score matrix is ever formed. Proportions pass the
  category codes instead of indicator columns: one bincount gives every level.
* :class:`RowScores`: explicit per-row scores in coordinate form, for anything else.

Unit totals are dense ``(units, columns)`` arrays unless that would be large (element
samples with many cells), in which case only the (unit, cell) pairs that occur are
kept, as a sparse matrix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, TypeAlias

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import NDArray

from nea_covid.errors import DesignError

__all__ = ["RatioScores", "RowScores", "ScoreMatrix"]

#: Dense unit-total matrices up to this many elements; sparse beyond.
DENSE_LIMIT = 20_000_000

Totals: TypeAlias = Any  # a dense (units, columns) ndarray or a scipy.sparse matrix


def weighted_bincount(
    key: NDArray[np.intp], weights: NDArray[np.float64] | None, size: int
) -> NDArray[np.float64]:
    """``np.bincount`` with weights, typed as float."""
    out: NDArray[np.float64] = np.bincount(key, weights=weights, minlength=size).astype(
        np.float64, copy=False)
    return out


class ScoreMatrix(Protocol):
    """What :func:`nea_covid.variance.taylor_vcov` needs from scores."""

    @property
    def n_columns(self) -> int: ...

    def unit_totals(self, unit: NDArray[np.intp], n_units: int) -> Totals:
        """Score totals per sampling unit, shape (n_units, n_columns)."""

    def presence(self, group: NDArray[np.intp], n_groups: int) -> NDArray[np.bool_]:
        """Whether each column has rows in each group (row-level group codes),
        shape (n_columns, n_groups)."""


@dataclass(frozen=True, eq=False)
class RowScores:
    """Explicit scores: entry ``values[e]`` of data row ``rows[e]`` in column ``cols[e]``."""

    rows: NDArray[np.intp]
    cols: NDArray[np.intp]
    values: NDArray[np.float64]
    n_columns: int

    @classmethod
    def from_cells(
        cls, rows: NDArray[np.intp], cell: NDArray[np.intp], values: NDArray[np.float64],
        n_cells: int,
    ) -> RowScores:
        """Row ``i`` contributes ``values[i, j]`` to column ``cell[i] * m + j``."""
        m = values.shape[1]
        cols = (cell[:, None] * m + np.arange(m)).ravel()
        return cls(np.repeat(rows, m), cols, values.ravel(), n_cells * m)

    def unit_totals(self, unit: NDArray[np.intp], n_units: int) -> Totals:
        c = self.n_columns
        u = unit[self.rows]
        if n_units * c <= DENSE_LIMIT:
            flat = weighted_bincount(u * c + self.cols, self.values, n_units * c)
            return flat.reshape(n_units, c)
        return sp.csr_matrix((self.values, (u, self.cols)), shape=(n_units, c))

    def dense_rows(self, n_rows: int) -> NDArray[np.float64]:
        """The scores as a dense (n_rows, columns) matrix."""
        out = np.zeros((n_rows, self.n_columns))
        np.add.at(out, (self.rows, self.cols), self.values)
        return out

    def replicate_estimates(self, *_: Any) -> NDArray[np.float64]:
        raise DesignError(
            "This interval needs a Taylor design (SurveyDesign); replicate designs give "
            "'t', 'logit', 'asin', 'beta', 'mean' and 'xlogit' intervals."
        )

    def presence(self, group: NDArray[np.intp], n_groups: int) -> NDArray[np.bool_]:
        g = group[self.rows]
        hit = np.bincount(self.cols * n_groups + g, minlength=self.n_columns * n_groups) > 0
        return hit.reshape(self.n_columns, n_groups)


@dataclass(frozen=True, eq=False)
class RatioScores:
    """Scores of ``theta[k, j] = sum(w a_j) / sum(w b_j)`` over the rows of cell ``k``.

    Attributes
    ----------
    rows : ndarray of intp or None
        Data rows entering the estimate; None means all rows, in order.
    cell : ndarray of intp
        Cell of each active row (ignored when ``n_cells == 1``).
    n_cells, width : int
        Cells and quantities per cell; column ``k * width + j``.
    weights : ndarray
        Weights of the active rows.
    weighted_numerator : ndarray (rows, width) or None
        ``w a`` per row; None when ``codes`` is given.
    codes : ndarray of intp or None
        Category code per row: ``a_j`` is the indicator of code ``j`` (proportions).
    weighted_denominator : ndarray (rows, width), "weights" or None
        ``w b`` per row; "weights" means ``b = 1`` (means, proportions); None gives
        totals.
    theta, scale : ndarray (n_cells, width)
        The estimates and ``sum(w b)`` (1 for totals).
    """

    rows: NDArray[np.intp] | None
    cell: NDArray[np.intp]
    n_cells: int
    width: int
    weights: NDArray[np.float64]
    weighted_numerator: NDArray[np.float64] | None
    codes: NDArray[np.intp] | None
    weighted_denominator: NDArray[np.float64] | str | None
    theta: NDArray[np.float64]
    scale: NDArray[np.float64]
    numerator: NDArray[np.float64] | None = None
    denominator: NDArray[np.float64] | str | None = None

    @property
    def n_columns(self) -> int:
        return self.n_cells * self.width

    def dense_rows(self, n_rows: int) -> NDArray[np.float64]:
        """The scores ``(w a - theta w b) / sum(w b)`` as a dense (n_rows, columns)
        matrix (for calibration residuals)."""
        k, m = self.n_cells, self.width
        w = self.weights
        rows = np.arange(w.shape[0]) if self.rows is None else self.rows
        cell = self.cell if k > 1 else np.zeros(w.shape[0], dtype=np.intp)
        if self.codes is not None:
            wa = np.zeros((w.shape[0], m))
            wa[np.arange(w.shape[0]), self.codes] = w
        else:
            assert self.weighted_numerator is not None
            wa = self.weighted_numerator
        b = self.weighted_denominator
        with np.errstate(divide="ignore", invalid="ignore"):
            if b is None:
                z = wa / self.scale[cell]
            elif isinstance(b, str):
                z = (wa - self.theta[cell] * w[:, None]) / self.scale[cell]
            else:
                z = (wa - self.theta[cell] * b) / self.scale[cell]
        z[~np.isfinite(z)] = 0.0
        out = np.zeros((n_rows, k * m))
        out[rows[:, None], cell[:, None] * m + np.arange(m)] = z
        return out

    def replicate_estimates(
        self, replicates: NDArray[np.float64], unit: NDArray[np.intp] | None,
        scaled_by_weights: bool,
    ) -> NDArray[np.float64]:
        """The estimates under every set of replicate weights, shape (R, columns).

        ``replicates`` are factors per sampling unit (``unit`` gives each row's unit)
        or per row (``unit`` None); factors multiply the full-sample weights when
        ``scaled_by_weights``, else they are the final weights. One matrix product
        with per-unit (or per-row, sparse) sums of ``a`` and ``b`` by cell."""
        k, m = self.n_cells, self.width
        if unit is not None and scaled_by_weights:
            key = self._keys(unit)
            n_units = replicates.shape[0]
            sa, sb = self._sums(key, n_units * k)
            a_rep = replicates.T @ sa.reshape(n_units, k * m)
            if sb is None:
                b_rep = None
            elif sb.shape[1] == 1:  # one denominator per cell (weights)
                b_rep = np.repeat(replicates.T @ sb.reshape(n_units, k), m, axis=1)
            else:
                b_rep = replicates.T @ sb.reshape(n_units, k * m)
        else:
            factors = replicates if unit is None else replicates[unit]
            a_rep, b_rep = self._row_products(factors, scaled_by_weights)
        if b_rep is None:
            return np.asarray(a_rep, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.asarray(a_rep / b_rep, dtype=np.float64)

    def _row_products(
        self, factors: NDArray[np.float64], scaled: bool
    ) -> tuple[NDArray[np.float64], NDArray[np.float64] | None]:
        """Replicate totals of ``g a`` and ``g b`` by cell (``g``: the full-sample weight
        when the factors multiply it, else 1) from per-row replicate weights, reading
        the (rows x R) matrix once: one dense product when there is a single cell and
        every row is active, one sparse product otherwise. Shapes (R, columns)."""
        k, m = self.n_cells, self.width
        n_rows = factors.shape[0]
        if k == 1 and self.rows is None and self.codes is None:
            return self._dense_product(factors, scaled)
        g = self.weights if scaled else np.ones_like(self.weights)
        rows = np.arange(self.cell.shape[0]) if self.rows is None else self.rows
        cell = self.cell if k > 1 else np.zeros(rows.shape[0], dtype=np.intp)
        b = self.denominator
        # the a-columns (k*m), then the b-columns (k for "weights", k*m for arrays)
        n_b = 0 if b is None else (k if isinstance(b, str) else k * m)
        if self.codes is not None:
            a_cols, a_vals = [cell * m + self.codes], [g]
        else:
            assert self.numerator is not None
            a_cols = [cell * m + j for j in range(m)]
            a_vals = [g * self.numerator[:, j] for j in range(m)]
        if b is None:
            b_cols: list[NDArray[np.intp]] = []
            b_vals: list[NDArray[np.float64]] = []
        elif isinstance(b, str):
            b_cols, b_vals = [k * m + cell], [g]
        else:
            b_cols = [k * m + cell * m + j for j in range(m)]
            b_vals = [g * b[:, j] for j in range(m)]
        width = k * m + n_b
        cols = np.concatenate(a_cols + b_cols)
        vals = np.concatenate(a_vals + b_vals)
        matrix = sp.csr_matrix(
            (vals, (np.tile(rows, len(a_cols) + len(b_cols)), cols)),
            shape=(n_rows, width))
        both = np.asarray((matrix.T @ factors).T)
        a_rep = both[:, : k * m]
        if b is None:
            return a_rep, None
        b_rep = both[:, k * m:]
        if isinstance(b, str):
            b_rep = np.repeat(b_rep, m, axis=1)
        return a_rep, b_rep

    def _dense_product(
        self, factors: NDArray[np.float64], scaled: bool
    ) -> tuple[NDArray[np.float64], NDArray[np.float64] | None]:
        """One cell, every row: the replicate totals of ``g a`` and ``g b`` from one
        dense product of the replicate weights with a column-major (rows, columns)
        block written in place (``g``: the full-sample weight when the factors
        multiply it, else 1)."""
        m = self.width
        b = self.denominator
        n_b = 0 if b is None else (1 if isinstance(b, str) else m)
        block = np.empty((self.weights.shape[0], m + n_b), order="F")
        assert self.numerator is not None
        if scaled:
            np.multiply(self.numerator, self.weights[:, None], out=block[:, :m])
        else:
            block[:, :m] = self.numerator
        if isinstance(b, str):
            block[:, m] = self.weights if scaled else 1.0
        elif b is not None:
            if scaled:
                np.multiply(b, self.weights[:, None], out=block[:, m:])
            else:
                block[:, m:] = b
        both = factors.T @ block
        if b is None:
            return both, None
        b_rep = both[:, m:]
        return both[:, :m], (np.repeat(b_rep, m, axis=1) if isinstance(b, str) else b_rep)

    def _keys(self, unit: NDArray[np.intp]) -> NDArray[np.intp]:
        u = unit if self.rows is None else unit[self.rows]
        return u if self.n_cells == 1 else u * self.n_cells + self.cell

    def _sums(self, key: NDArray[np.intp], size: int
              ) -> tuple[NDArray[np.float64], NDArray[np.float64] | None]:
        """Per-key sums of ``w a`` (size, width) and of ``w b`` (size, width or 1)."""
        w, m = self.weights, self.width
        if self.codes is not None:
            sa = weighted_bincount(key * m + self.codes, w, size * m)
            sa = sa.reshape(size, m)
        else:
            wa = self.weighted_numerator
            assert wa is not None
            sa = np.empty((size, m))
            for j in range(m):  # variables (or variable x quantile), never categories
                sa[:, j] = weighted_bincount(key, wa[:, j], size)
        b = self.weighted_denominator
        if b is None:
            return sa, None
        if isinstance(b, str):
            return sa, weighted_bincount(key, w, size)[:, None]
        sb = np.empty((size, m))
        for j in range(m):
            sb[:, j] = weighted_bincount(key, b[:, j], size)
        return sa, sb

    def _combine(self, sa: NDArray[np.float64], sb: NDArray[np.float64] | None,
                 cell_of_key: NDArray[np.intp] | slice) -> NDArray[np.float64]:
        if sb is None:
            return sa / self.scale[cell_of_key]
        with np.errstate(invalid="ignore", divide="ignore"):
            out = (sa - self.theta[cell_of_key] * sb) / self.scale[cell_of_key]
        out[~np.isfinite(out)] = 0.0  # empty cells: no contribution, NaN set later
        return out

    def unit_totals(self, unit: NDArray[np.intp], n_units: int) -> Totals:
        k, m = self.n_cells, self.width
        key = self._keys(unit)
        if n_units * k * m <= DENSE_LIMIT:
            sa, sb = self._sums(key, n_units * k)
            cells = np.tile(np.arange(k), n_units)
            totals = self._combine(sa, sb, cells)
            return totals.reshape(n_units, k * m)
        # large: only the (unit, cell) pairs that occur
        pair, uniques = pd.factorize(key)
        pair = np.asarray(pair, dtype=np.intp)
        uniques = np.asarray(uniques, dtype=np.int64)
        sa, sb = self._sums(pair, uniques.shape[0])
        cell_of_pair = (uniques % k).astype(np.intp)
        unit_of_pair = (uniques // k).astype(np.intp)
        values = self._combine(sa, sb, cell_of_pair)
        cols = (cell_of_pair[:, None] * m + np.arange(m)).ravel()
        rows = np.repeat(unit_of_pair, m)
        return sp.csr_matrix((values.ravel(), (rows, cols)), shape=(n_units, k * m))

    def presence(self, group: NDArray[np.intp], n_groups: int) -> NDArray[np.bool_]:
        g = group if self.rows is None else group[self.rows]
        cell = np.zeros_like(g) if self.n_cells == 1 else self.cell
        hit = np.bincount(cell * n_groups + g, minlength=self.n_cells * n_groups) > 0
        return np.repeat(hit.reshape(self.n_cells, n_groups), self.width, axis=0)


@dataclass(frozen=True, eq=False)
class CalibratedScores:
    """Scores replaced by their calibration residuals (R: ``svyrecvar`` with
    ``postStrata``), kept as a dense (rows, columns) matrix."""

    base: Any
    residuals: NDArray[np.float64]

    @classmethod
    def of(cls, base: Any, residualizers: tuple[Any, ...], n_rows: int) -> CalibratedScores:
        z = base.dense_rows(n_rows)
        shadow = None
        for step in residualizers:
            if getattr(step, "shadow", None) is not None and shadow is None:
                shadow = step.shadow(base)  # a Dask design's aggregates (raking)
            z, shadow = step.apply_tracked(z, shadow)
        return cls(base, z)

    @property
    def n_columns(self) -> int:
        return int(self.residuals.shape[1])

    def unit_totals(self, unit: NDArray[np.intp], n_units: int) -> Totals:
        indicator = sp.csr_matrix(
            (np.ones(unit.shape[0]), (unit, np.arange(unit.shape[0]))),
            shape=(n_units, unit.shape[0]),
        )
        return np.asarray(indicator @ self.residuals)

    def presence(self, group: NDArray[np.intp], n_groups: int) -> NDArray[np.bool_]:
        return np.asarray(self.base.presence(group, n_groups))
