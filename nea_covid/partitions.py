"""Per-partition partial sums: what one block of rows contributes to an estimate.

A Dask design (:mod:`nea_covid.distributed`) never brings its rows together. Each
partition (a pandas DataFrame) is reduced here, with numpy and pandas only, to small
tables that are *added* across partitions:

- :func:`design_summary`: validation counts per column and the rows per sampling unit
  (one row per distinct design key), from which the design is built;
- :func:`cell_sums`: per (sampling unit or stratum, domain cell, status) the weighted
  sums ``sum w``, ``sum w a``, ``sum w b`` and row counts: the input of every ratio
  estimate and its Taylor variance;
- :func:`centred_sums`: with the estimates known, per cell ``sum w (a - theta b - c)^2``
  (design effects) and, for element samples, the within-(stratum, cell) centred
  cross-products of the scores;
- :func:`replicate_sums`: per cell the totals of ``a`` and ``b`` under every
  replicate weight; :func:`replicate_summary`: their validation counts and Gram matrix;
- :func:`combo_sums`: the weights (and replicate weights) per combination of the
  calibration variables' levels;
- :func:`quantile_ranges`, :func:`quantile_histogram`, :func:`quantile_values`: the
  passes of the exact quantile search.

Tables of several partitions are added by :func:`add_frames` (sums by key, and
within-group sums of squares merged exactly).

Nothing here imports dask; each function takes a pandas DataFrame and returns pandas
or numpy objects. The same functions applied to one in-memory frame give the sums of
the whole sample.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

__all__ = ["cell_sums", "centred_sums", "design_summary", "replicate_summary", "replicate_sums"]

#: Index labels kept per problem, for error messages (as ``errors.row_labels``).
LABELS_KEPT = 5
#: Status of a row in an estimate: in a cell, missing (in the domain), outside it.
ACTIVE, MISSING, OUTSIDE = 0, 1, 2
UNIT = "__unit"
STATUS = "__status"
WEIGHT_KEY = "__weight"


@dataclass(frozen=True)
class Problem:
    """Rows of one partition with one problem: their count and first index labels."""

    count: int
    labels: tuple[Any, ...]

    @classmethod
    def of(cls, index: pd.Index, mask: NDArray[np.bool_]) -> Problem:
        positions = np.flatnonzero(mask)
        return cls(int(positions.size), tuple(index[positions[:LABELS_KEPT]]))

    def __add__(self, other: Problem) -> Problem:
        return Problem(self.count + other.count,
                       (self.labels + other.labels)[:LABELS_KEPT])


def problems(part: pd.DataFrame, checks: dict[tuple[str, str], NDArray[np.bool_]]
             ) -> dict[tuple[str, str], Problem]:
    return {key: Problem.of(part.index, mask) for key, mask in checks.items() if mask.any()}


def add_problems(parts: list[dict[tuple[str, str], Problem]]) -> dict[tuple[str, str], Problem]:
    """Problems of several partitions, in partition order."""
    out: dict[tuple[str, str], Problem] = {}
    for found in parts:
        for key, problem in found.items():
            out[key] = out[key] + problem if key in out else problem
    return out


def float_values(column: pd.Series) -> NDArray[np.float64]:
    return column.to_numpy(dtype=np.float64, na_value=np.nan)


# ---------------------------------------------------------------------- the design
def design_summary(
    part: pd.DataFrame, weights: str | None, keys: list[str], fpc: list[str],
    domain: str | None = None,
) -> tuple[dict[tuple[str, str], Problem], pd.DataFrame]:
    """Validation problems of one partition and its rows per design key.

    Returns the problems, keyed (column, what) with what one of "missing",
    "infinite", "negative", "nonpositive", and a frame with one row per distinct
    combination of ``keys + fpc`` holding ``__rows`` (rows) and ``__positive`` (rows
    with a non-zero weight); rows with a missing key are left out of it.
    """
    checks: dict[tuple[str, str], NDArray[np.bool_]] = {}
    if weights is not None:
        w = float_values(part[weights])
        checks[(weights, "missing")] = np.isnan(w)
        checks[(weights, "infinite")] = np.isinf(w)
        checks[(weights, "negative")] = w < 0
        positive = w != 0
    else:
        positive = np.ones(part.shape[0], dtype=bool)
    if domain is not None:
        inside = part[domain]
        checks[(domain, "missing")] = inside.isna().to_numpy()
        positive = positive & inside.fillna(False).to_numpy(dtype=bool)
    complete = np.ones(part.shape[0], dtype=bool)
    for col in keys:
        missing = part[col].isna().to_numpy()
        checks[(col, "missing")] = missing
        complete &= ~missing
    for col in fpc:
        values = float_values(part[col])
        checks[(col, "missing")] = np.isnan(values)
        checks[(col, "nonpositive")] = values <= 0
        complete &= ~np.isnan(values)
    if not keys + fpc:
        counts = pd.DataFrame({"__rows": [np.int64(part.shape[0])],
                               "__positive": [np.int64(positive.sum())]})
        return problems(part, checks), counts
    frame = part.loc[complete, keys + fpc].assign(
        __rows=np.int64(1), __positive=positive[complete].astype(np.int64))
    counts = frame.groupby(keys + fpc, sort=False, observed=True, dropna=False).sum()
    return problems(part, checks), counts.reset_index()


def positions(part: pd.DataFrame, columns: Sequence[str], index: pd.Index
              ) -> NDArray[np.intp]:
    """Each row's position in ``index`` (the distinct values of ``columns``; -1 if
    absent); 0 for every row when there are no columns."""
    if not columns:
        return np.zeros(part.shape[0], dtype=np.intp)
    if len(columns) == 1:
        found = index.get_indexer(pd.Index(part[columns[0]]))
    else:
        found = index.get_indexer(pd.MultiIndex.from_frame(part[list(columns)]))
    return np.asarray(found, dtype=np.intp)


def unit_codes(part: pd.DataFrame, keys: list[str], table: pd.Index) -> NDArray[np.intp]:
    """Each row's position in ``table``, the index of distinct design keys."""
    return positions(part, keys, table)


# ---------------------------------------------------------------------- an estimate
@dataclass(frozen=True)
class Plan:
    """What :func:`cell_sums` computes for one estimate.

    Attributes
    ----------
    keys : list of str
        Design-key columns (strata and clusters), coded by ``table``.
    table : pandas.Index
        Distinct design keys; a row's code is its position (the sampling unit, or the
        stratum for element samples).
    weights : str or None
        The weights column; None uses ``unit_weights``.
    unit_weights : ndarray or None
        Weight of every row by its key code (weights derived from the fpc).
    numerators, denominators : list of str
        Numeric columns; ``a`` and ``b`` (no denominators: ``b = 1``).
    categorical : str or None
        A column whose levels are counted (proportions): sums per level.
    by : list of str
    domain : str or None
        A boolean column marking the design's domain (subsets).
    levels : pandas.Index or None
        The levels of ``categorical``, once known (after the first pass).
    weight_key : bool
        Keep rows of different (uncalibrated) weights apart (Taylor designs raked after
        another calibration).
    unweighted : bool
        Also the unweighted sums ``__ua{j}`` of ``a``, ``__ub{j}`` of ``b`` and the
        count ``__u1``, over active rows with a non-zero weight (raked Taylor designs).
    moments : bool
        Also the within-group sums of squares of the numerators (design effects).
    calibration : tuple of str
        Level columns of the calibration margins, kept as keys.
    factors : pandas.Series or None
        Calibration factor per combination of their levels (index: the levels).
    replicate_factors : ndarray (combinations, R) or None
        The same for every replicate weight (calibrated replicate designs).
    """

    keys: list[str]
    table: pd.Index
    weights: str | None
    unit_weights: NDArray[np.float64] | None
    numerators: list[str]
    denominators: list[str]
    categorical: str | None
    by: list[str]
    domain: str | None = None
    levels: pd.Index | None = None  # of ``categorical``, once known
    weight_key: bool = False  # keep rows of different (uncalibrated) weights apart
    unweighted: bool = False  # also unweighted sums of a and b (raking residuals)
    moments: bool = False  # also within-group sums of squares of the numerators
    calibration: tuple[str, ...] = ()
    factors: pd.Series | None = None  # calibration factor per level combination
    replicate_factors: NDArray[np.float64] | None = None  # (combinations, R)

    @property
    def width(self) -> int:
        if self.categorical is not None:
            return 0 if self.levels is None else len(self.levels)
        return len(self.numerators)


def row_weights(part: pd.DataFrame, plan: Plan, unit: NDArray[np.intp]
                ) -> NDArray[np.float64]:
    """The analysis weights of a partition's rows (calibrated, zero outside)."""
    if plan.weights is not None:
        w = float_values(part[plan.weights])
    else:
        assert plan.unit_weights is not None
        w = plan.unit_weights[unit]
    if plan.factors is not None:
        w = w * calibration_factor(part, plan)
    return w


def combo_of(part: pd.DataFrame, plan: Plan) -> NDArray[np.intp]:
    """Each row's combination of calibration levels (position in ``plan.factors``)."""
    assert plan.factors is not None
    return positions(part, plan.calibration, plan.factors.index)


def calibration_factor(part: pd.DataFrame, plan: Plan) -> NDArray[np.float64]:
    assert plan.factors is not None
    return np.asarray(plan.factors.to_numpy()[combo_of(part, plan)], dtype=np.float64)


def _status(part: pd.DataFrame, plan: Plan, a: NDArray[np.float64] | None,
            level_missing: NDArray[np.bool_] | None
            ) -> tuple[NDArray[np.int8], dict[tuple[str, str], NDArray[np.bool_]]]:
    """Each row's status and, within the domain, the masks of missing values per
    column (by-columns, then variables)."""
    n = part.shape[0]
    inside = (np.ones(n, dtype=bool) if plan.domain is None
              else part[plan.domain].fillna(False).to_numpy(dtype=bool))
    checks: dict[tuple[str, str], NDArray[np.bool_]] = {}
    bad = np.zeros(n, dtype=bool)
    for col in plan.by:
        mask = part[col].isna().to_numpy() & inside
        checks[(col, "missing")] = mask
        bad |= mask
    if a is not None:
        for j, col in enumerate(list(dict.fromkeys(plan.numerators + plan.denominators))):
            column = a[:, j]
            checks[(col, "infinite")] = np.isinf(column)
            mask = np.isnan(column) & inside
            checks[(col, "missing")] = mask
            bad |= mask
    if level_missing is not None and plan.categorical is not None:
        levels = part[plan.categorical]
        if pd.api.types.is_float_dtype(levels.dtype):
            numbers = float_values(levels)
            checks[(plan.categorical, "infinite")] = np.isinf(numbers)
            finite = np.isfinite(numbers)
            checks[(plan.categorical, "noninteger")] = finite & (
                numbers != np.round(np.where(finite, numbers, 0.0)))
        mask = level_missing & inside
        checks[(plan.categorical, "missing")] = mask
        bad |= mask
    status = np.where(inside, np.where(bad, MISSING, ACTIVE), OUTSIDE).astype(np.int8)
    return status, checks


def cell_sums(part: pd.DataFrame, plan: Plan
              ) -> tuple[dict[tuple[str, str], Problem], pd.DataFrame]:
    """The value problems of one partition (missing, infinite, non-integer levels),
    and per (unit, status, by-values[, level][, calibration levels]): ``__w`` (sum of
    weights), ``__rows``, ``__positive`` (rows with w != 0), and for each numerator
    ``j`` the sums ``__a{j}`` of ``w a`` and ``__b{j}`` of ``w b`` (ratios only)."""
    unit = unit_codes(part, plan.keys, plan.table)
    w = row_weights(part, plan, unit)
    names = list(dict.fromkeys(plan.numerators + plan.denominators))
    values = (np.column_stack([float_values(part[c]) for c in names]) if names
              else None)
    level_missing = (part[plan.categorical].isna().to_numpy()
                     if plan.categorical is not None else None)
    status, checks = _status(part, plan, values, level_missing)
    active = status == ACTIVE
    key_cols = list(dict.fromkeys([*plan.by, *([plan.categorical] if plan.categorical else []),
                                   *plan.calibration]))
    frame = pd.DataFrame({UNIT: unit, STATUS: status}, index=part.index)
    for col in key_cols:
        frame[col] = part[col]
    frame["__w"] = w
    if plan.factors is not None:  # the weights before calibration, for replaying it
        frame["__w0"] = row_weights(part, dataclasses.replace(plan, factors=None), unit)
        if plan.weight_key:
            frame[WEIGHT_KEY] = frame["__w0"]
            key_cols.append(WEIGHT_KEY)
    frame["__rows"] = np.int64(1)
    frame["__positive"] = (w != 0).astype(np.int64)
    if values is not None:
        pos = {c: j for j, c in enumerate(names)}
        # (infinite values are an error, raised from the problems: sums stay finite)
        ok = np.where(active[:, None] & np.isfinite(values), values, 0.0)
        for j, col in enumerate(plan.numerators):
            frame[f"__a{j}"] = w * ok[:, pos[col]]
        for j, col in enumerate(plan.denominators):
            frame[f"__b{j}"] = w * ok[:, pos[col]]
    if plan.unweighted:  # rows with a non-zero weight, unweighted (raking residuals)
        counted = active & (w != 0)
        frame["__u1"] = counted.astype(np.float64)
        if values is not None:
            for j, col in enumerate(plan.numerators):
                frame[f"__ua{j}"] = np.where(counted, ok[:, pos[col]], 0.0)
            for j, col in enumerate(plan.denominators):
                frame[f"__ub{j}"] = np.where(counted, ok[:, pos[col]], 0.0)
    keys = [UNIT, STATUS, *key_cols]
    ids, first = group_ids(frame, keys)
    sums = frame[keys].iloc[first].reset_index(drop=True)
    size = first.shape[0]
    for col in frame.columns.difference(keys, sort=False):
        sums[col] = np.bincount(ids, weights=frame[col].to_numpy(np.float64), minlength=size)
    sums = sums.astype({"__rows": np.int64, "__positive": np.int64})
    if values is not None and plan.moments:
        # within each group, sum w (a - mean a)^2 (design effects without a pass)
        big_w = sums["__w"].to_numpy()
        for j, col in enumerate(plan.numerators):
            mean = np.zeros(size)
            np.divide(sums[f"__a{j}"].to_numpy(), big_w, out=mean, where=big_w > 0)
            dev = ok[:, pos[col]] - mean[ids]
            sums[f"__q{j}"] = np.bincount(ids, weights=w * dev * dev, minlength=size)
    return problems(part, checks), sums


def group_ids(frame: pd.DataFrame, keys: list[str]
              ) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Each row's group (distinct combination of ``keys``, missing values included) and
    the first row of every group, from one factorisation per key column."""
    n = frame.shape[0]
    combined = np.zeros(n, dtype=np.int64)
    span = 1
    for col in keys:
        codes, uniques = pd.factorize(frame[col], use_na_sentinel=False)
        size = max(len(uniques), 1)
        if span * size >= 2**62:  # too many combinations for one integer: pandas
            groups = frame.groupby(keys, sort=False, observed=True, dropna=False).ngroup()
            return _with_first(np.asarray(groups, dtype=np.intp))
        combined = combined * size + codes
        span *= size
    found, _ = pd.factorize(combined)
    return _with_first(np.asarray(found, dtype=np.intp))


def _with_first(ids: NDArray[np.intp]) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    n_groups = int(ids.max()) + 1 if ids.size else 0
    first = np.empty(n_groups, dtype=np.intp)
    first[ids[::-1]] = np.arange(ids.shape[0])[::-1]
    return ids, first


def combo_sums(part: pd.DataFrame, plan: Plan, columns: list[str],
               replicates: list[str] | None = None, scaled: bool = False,
               ) -> tuple[dict[tuple[str, str], Problem], pd.DataFrame]:
    """Per combination of the calibration ``columns``: the weights before calibration
    (``__w0``), the rows, and (``replicates``) the replicate weights ``r0, r1, ...``
    (final ones: multiplied by the weights when they are factors); missing values per
    column."""
    unit = unit_codes(part, plan.keys, plan.table)
    w = row_weights(part, dataclasses.replace(plan, factors=None), unit)
    checks = {(col, "missing"): part[col].isna().to_numpy() for col in columns}
    frame = part[columns].copy()
    frame["__w0"] = w
    frame["__rows"] = np.int64(1)
    if replicates:
        reps = part[replicates].to_numpy(dtype=np.float64, na_value=np.nan)
        if scaled:
            reps = reps * w[:, None]
        for j in range(len(replicates)):  # replicate columns, not rows
            frame[f"__r{j}"] = reps[:, j]
    sums = frame.groupby(columns, sort=False, observed=True, dropna=False).sum()
    return problems(part, checks), sums.reset_index()


def add_frames(frames: list[pd.DataFrame], keys: list[str]) -> pd.DataFrame:
    """Sum partial tables with the same key columns (a node of the reduction tree).
    Within-group sums of squares ``__q{j}`` (about the group's mean ``__a{j} / __w``)
    are combined exactly: ``sum q_i + sum w_i (mean_i - mean)^2`` (Chan et al.)."""
    both = pd.concat(frames, ignore_index=True)
    if not keys:
        both = both.assign(**{UNIT: 0})
        keys = [UNIT]
        drop = True
    else:
        drop = False
    ids, first = group_ids(both, keys)
    size = first.shape[0]
    out = both[keys].iloc[first].reset_index(drop=True)
    moments = [c for c in both.columns if c.startswith("__q")]
    for col in both.columns.difference(keys, sort=False):
        if col not in moments:
            summed = np.bincount(ids, weights=both[col].to_numpy(np.float64), minlength=size)
            integer = pd.api.types.is_integer_dtype(both[col].dtype)
            out[col] = summed.astype(np.int64) if integer else summed
    if moments:
        w = both["__w"].to_numpy(np.float64)
        big_w = out["__w"].to_numpy(np.float64)
        for col in moments:
            a = both["__a" + col[3:]].to_numpy(np.float64)
            mean_i, mean = np.zeros(w.shape[0]), np.zeros(size)
            np.divide(a, w, out=mean_i, where=w > 0)
            np.divide(out["__a" + col[3:]].to_numpy(np.float64), big_w, out=mean, where=big_w > 0)
            dev = mean_i - mean[ids]
            out[col] = np.bincount(ids, weights=both[col].to_numpy(np.float64) + w * dev * dev,
                                   minlength=size)
    return out.drop(columns=[UNIT]) if drop else out


def centred_sums(part: pd.DataFrame, plan: Plan, cells: pd.Index,
                 theta: NDArray[np.float64], centre: NDArray[np.float64],
                 unit_mean: NDArray[np.float64] | None, n_units: int,
                 ) -> tuple[NDArray[np.float64], NDArray[np.float64] | None]:
    """With the estimates known: per cell and numerator ``sum w (a - theta b - c)^2``
    (``centre`` c per cell), and for element samples (``unit_mean`` given, the mean
    score ``w (a - theta b)`` per (stratum, cell) and numerator) the centred
    cross-products per (stratum, cell): shape (strata * cells, m, m)."""
    unit = unit_codes(part, plan.keys, plan.table)
    w = row_weights(part, plan, unit)
    k, m = len(cells), plan.width
    cell = cell_of(part, plan.by, cells)
    a, b, status = _values(part, plan)
    keep = (status == ACTIVE) & (cell >= 0)
    cell, unit, w, a, b = cell[keep], unit[keep], w[keep], a[keep], b[keep]
    dev = a - theta[cell] * b - centre[cell]
    squares = np.empty((k, m))
    for j in range(m):  # numerators, not cells
        squares[:, j] = np.bincount(cell, weights=w * dev[:, j] ** 2, minlength=k)
    if unit_mean is None:
        return squares, None
    key = unit * k + cell
    v = w[:, None] * (a - theta[cell] * b) - unit_mean[key]
    cross = np.empty((n_units * k, m, m))
    for i in range(m):
        for j in range(i, m):  # pairs of numerators
            cross[:, i, j] = np.bincount(key, weights=v[:, i] * v[:, j],
                                         minlength=n_units * k)
            cross[:, j, i] = cross[:, i, j]
    return squares, cross


def _values(part: pd.DataFrame, plan: Plan
            ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int8]]:
    """``a`` and ``b`` (rows, m) of an estimate (level indicators for proportions; ``b``
    is 1 for means, proportions and totals) and each row's status."""
    if plan.categorical is not None:
        assert plan.levels is not None
        column = part[plan.categorical]
        code = np.asarray(plan.levels.get_indexer(pd.Index(column)), dtype=np.intp)
        status, _ = _status(part, plan, None, column.isna().to_numpy())
        a = (code[:, None] == np.arange(len(plan.levels))).astype(np.float64)
        return a, np.ones_like(a), status
    names = list(dict.fromkeys(plan.numerators + plan.denominators))
    values = np.column_stack([float_values(part[c]) for c in names])
    status, _ = _status(part, plan, values, None)
    pos = {c: j for j, c in enumerate(names)}
    a = values[:, [pos[c] for c in plan.numerators]]
    b = (np.ones_like(a) if not plan.denominators
         else values[:, [pos[c] for c in plan.denominators]])
    return a, b, status


def cell_of(part: pd.DataFrame, by: list[str], cells: pd.Index) -> NDArray[np.intp]:
    """Each row's cell (position in ``cells``, the by-values), -1 for none."""
    return positions(part, by, cells)


def replicate_summary(part: pd.DataFrame, plan: Plan, replicates: list[str], scaled: bool
                      ) -> tuple[dict[tuple[str, str], Problem], int, int,
                                 NDArray[np.float64], NDArray[np.float64]]:
    """Problems of the weights and replicate weights of one partition, its rows, rows
    with a non-zero weight, each replicate column's largest value, and the Gram matrix
    of the replicate weights as the design stores them (R's rank for ``degf``): the
    columns as given (factors: of rows with a non-zero weight), or after calibration
    the final weights; rows of the domain only."""
    checks: dict[tuple[str, str], NDArray[np.bool_]] = {}
    n = part.shape[0]
    if plan.weights is not None:
        w = float_values(part[plan.weights])
        checks[(plan.weights, "missing")] = np.isnan(w)
        checks[(plan.weights, "infinite")] = np.isinf(w)
        checks[(plan.weights, "negative")] = w < 0
        positive = w != 0
    else:
        positive = np.ones(n, dtype=bool)
    raw = part[replicates].to_numpy(dtype=np.float64, na_value=np.nan)
    for j, col in enumerate(replicates):
        checks[(col, "missing")] = np.isnan(raw[:, j])
        checks[(col, "infinite")] = np.isinf(raw[:, j])
    finite = np.where(np.isfinite(raw), raw, 0.0)
    largest = finite.max(axis=0) if n else np.full(len(replicates), -np.inf)
    keep = np.ones(n, dtype=bool)
    if plan.domain is not None:
        keep &= part[plan.domain].fillna(False).to_numpy(dtype=bool)
    if plan.replicate_factors is not None:
        stored = np.where(np.isfinite(raw), replicate_matrix(part, plan, replicates, scaled),
                          0.0)
    else:
        stored = finite
        if scaled:
            keep &= positive
    used = stored[keep]
    return (problems(part, checks), n, int(positive.sum()), largest, used.T @ used)


def replicate_matrix(part: pd.DataFrame, plan: Plan, replicates: list[str], scaled: bool
                     ) -> NDArray[np.float64]:
    """The final replicate weights of a partition's rows (rows x R): the columns, times
    the weights when they are factors, times the calibration factors per replicate."""
    reps = part[replicates].to_numpy(dtype=np.float64, na_value=np.nan)
    if scaled:
        unit = unit_codes(part, plan.keys, plan.table)
        reps = reps * row_weights(part, dataclasses.replace(plan, factors=None), unit)[:, None]
    if plan.replicate_factors is not None:
        reps = reps * plan.replicate_factors[combo_of(part, plan)]
    return reps


def replicate_sums(part: pd.DataFrame, plan: Plan, replicates: list[str], cells: pd.Index,
                   scaled: bool) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Per cell and quantity, the totals of ``g a`` and ``g b`` under every replicate
    weight ``g`` (shape (R, cells * m) each; ``b`` is 1 for means, proportions and
    totals), from two sparse products per partition. ``scaled``: the replicate
    columns are factors of the full-sample weights."""
    import scipy.sparse as sp

    reps = replicate_matrix(part, plan, replicates, scaled)
    a, b, status = _values(part, plan)
    cell = cell_of(part, plan.by, cells)
    rows = np.flatnonzero((status == ACTIVE) & (cell >= 0))
    k, m, n = len(cells), a.shape[1], part.shape[0]
    cols = (cell[rows][:, None] * m + np.arange(m)).ravel()
    at = (cols, np.repeat(rows, m))
    a_matrix = sp.csr_matrix((a[rows].ravel(), at), shape=(k * m, n))
    b_matrix = sp.csr_matrix((b[rows].ravel(), at), shape=(k * m, n))
    return np.asarray((a_matrix @ reps).T), np.asarray((b_matrix @ reps).T)


# ---------------------------------------------------------------------- quantiles
def quantile_rows(part: pd.DataFrame, plan: Plan, cells: pd.Index, variable: int
                  ) -> tuple[NDArray[np.intp], NDArray[np.float64], NDArray[np.float64]]:
    """Cell, value and weight of the rows a quantile of ``plan.numerators[variable]``
    reads: active rows (complete in every variable) with a non-zero weight."""
    unit = unit_codes(part, plan.keys, plan.table)
    w = row_weights(part, plan, unit)
    a, _, status = _values(part, plan)
    cell = cell_of(part, plan.by, cells)
    keep = (status == ACTIVE) & (cell >= 0) & (w != 0)
    return cell[keep], a[keep, variable], w[keep]


def quantile_ranges(part: pd.DataFrame, plan: Plan, cells: pd.Index
                    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Per cell and variable the smallest and largest value (+inf / -inf if none)."""
    k, m = len(cells), len(plan.numerators)
    low, high = np.full((k, m), np.inf), np.full((k, m), -np.inf)
    for j in range(m):  # variables, not cells
        cell, x, _ = quantile_rows(part, plan, cells, j)
        np.minimum.at(low[:, j], cell, x)
        np.maximum.at(high[:, j], cell, x)
    return low, high


def _targets_of_rows(cell: NDArray[np.intp], slots: NDArray[np.intp]
                     ) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """(row, target) pairs: every row with every target of its cell (``slots``: the
    targets of each cell, padded with -1)."""
    rows, targets = [], []
    for s in range(slots.shape[1]):  # targets per cell (a few quantiles), not rows
        t = slots[cell, s]
        ok = np.flatnonzero(t >= 0)
        rows.append(ok)
        targets.append(t[ok])
    return np.concatenate(rows), np.concatenate(targets)


def quantile_histogram(part: pd.DataFrame, plan: Plan, cells: pd.Index, variable: int,
                       slots: NDArray[np.intp], low: NDArray[np.float64],
                       high: NDArray[np.float64], n_bins: int
                       ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Per target ``t``: the weight of its cell's values below ``low[t]``, and the
    weights and row counts in ``n_bins`` equal bins of ``[low[t], high[t]]``."""
    cell, x, w = quantile_rows(part, plan, cells, variable)
    row, t = _targets_of_rows(cell, slots)
    x, w = x[row], w[row]
    n_targets = low.shape[0]
    below = np.bincount(t, weights=np.where(x < low[t], w, 0.0), minlength=n_targets)
    inside = (x >= low[t]) & (x <= high[t])
    t, x, w = t[inside], x[inside], w[inside]
    width = (high - low)[t]
    with np.errstate(divide="ignore", invalid="ignore"):
        position = np.where(width > 0, (x - low[t]) / width * n_bins, 0.0)
    b = np.clip(position.astype(np.intp), 0, n_bins - 1)
    key = t * n_bins + b
    size = n_targets * n_bins
    weights = np.bincount(key, weights=w, minlength=size).reshape(n_targets, n_bins)
    counts = np.bincount(key, minlength=size).reshape(n_targets, n_bins)
    return (np.asarray(below, dtype=np.float64), np.asarray(weights, dtype=np.float64),
            np.asarray(counts, dtype=np.float64))


def quantile_values(part: pd.DataFrame, plan: Plan, cells: pd.Index, variable: int,
                    slots: NDArray[np.intp], low: NDArray[np.float64],
                    high: NDArray[np.float64]) -> tuple[Any, ...]:
    """Per target ``t``: the weight below ``low[t]``, the largest value below it, the
    smallest above ``high[t]``, and the distinct values in ``[low[t], high[t]]`` with
    their weights and row counts (a frame ``__t, __x, __w, __n``)."""
    cell, x, w = quantile_rows(part, plan, cells, variable)
    row, t = _targets_of_rows(cell, slots)
    x, w = x[row], w[row]
    n_targets = low.shape[0]
    under = x < low[t]
    below = np.bincount(t, weights=np.where(under, w, 0.0), minlength=n_targets)
    previous = np.full(n_targets, -np.inf)
    np.maximum.at(previous, t[under], x[under])
    over = x > high[t]
    following = np.full(n_targets, np.inf)
    np.minimum.at(following, t[over], x[over])
    inside = ~under & ~over
    values = pd.DataFrame({"__t": t[inside], "__x": x[inside], "__w": w[inside],
                           "__n": np.int64(1)})
    values = values.groupby(["__t", "__x"], sort=False).sum().reset_index()
    return below, previous, following, values


def add_quantile_values(parts: list[tuple[Any, ...]]) -> tuple[Any, ...]:
    """Combine :func:`quantile_values` of several partitions."""
    below = sum(p[0] for p in parts)
    previous = np.maximum.reduce([p[1] for p in parts])
    following = np.minimum.reduce([p[2] for p in parts])
    values = add_frames([p[3] for p in parts], ["__t", "__x"])
    return below, previous, following, values
