"""Quantiles with Woodruff confidence intervals, for all domains in one pass.

The quantile of each cell is read off the weighted empirical CDF (R's
``qrule="math"``: the smallest ``x`` with ``F(x) >= p``, and the next value where
``F`` jumps past ``p``). Its interval is Woodruff's (1952): a confidence interval
for ``F(q)`` from the design-based SE of the domain mean of ``x <= q``, mapped back
through the inverse CDF; the SE is the interval's width over ``2 t``, as R's
``svyquantile`` (survey >= 4.1).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from nea_covid import intervals
from nea_covid.design import BaseDesign
from nea_covid.domains import By, Missing, Prepared, prepare
from nea_covid.errors import ArgumentError, VariableTypeError
from nea_covid.estimators import (
    _names,
    check_size,
    numeric_matrix,
    ratio_of_totals,
)
from nea_covid.results import ConfidenceInterval, Estimate

__all__ = ["quantile"]

_INTERVALS = ("mean", "beta", "xlogit", "asin")

#: Cumulative weights this close (relative to the total) to ``p * total`` are ties.
TIE_TOLERANCE = 1e-12


class _SortedCells:
    """The active rows sorted by (cell, x) with cumulative weights per cell."""

    def __init__(
        self, x: NDArray[np.float64], w: NDArray[np.float64], cell: NDArray[np.intp],
        n_cells: int,
    ) -> None:
        keep = w != 0  # R's qrule_math drops zero weights
        x, w, cell = x[keep], w[keep], cell[keep]
        order = np.lexsort((x, cell))
        self.x = x[order]
        self.cell = cell[order]
        counts = np.bincount(self.cell, minlength=n_cells)
        self.start = np.concatenate(([0], np.cumsum(counts)[:-1]))
        self.count = counts
        # R accumulates cumsum() and sum() in long double; so do we, per cell. One
        # running sum over all cells would swallow a light cell's weights after a heavy
        # one (1e-8 after 1e5 x 1e8), so each cell's weights are first scaled to sum
        # to about 1 and given alternating signs: the running sum stays within [-1, 1]
        # and every cell keeps the relative precision of a sum of its own.
        w = w[order].astype(np.longdouble)
        scale = np.bincount(self.cell, weights=np.asarray(w, dtype=np.float64),
                            minlength=n_cells)
        scale = np.where(scale > 0, scale, 1.0).astype(np.longdouble)
        sign = np.where(np.arange(n_cells) % 2 == 0, 1.0, -1.0).astype(np.longdouble)
        factor = (sign * scale)[self.cell]
        cum = np.concatenate(([np.longdouble(0)], np.cumsum(w / factor)))
        before = cum[self.start]
        self.cumw = ((cum[1:] - before[self.cell]) * factor).astype(np.float64)
        ends = self.start + counts
        self.total = ((cum[ends] - before) * sign * scale).astype(np.float64)

    def qrule_math(self, target_cell: NDArray[np.intp], p: NDArray[np.float64]
                   ) -> NDArray[np.float64]:
        """R's ``qrule_math`` for each (cell, p) pair, with exact ties resolved exactly.

        A cumulative weight within ``TIE_TOLERANCE`` (relative to the cell's total) of
        ``p * total`` counts as equal to it, so the quantile is the smallest ``x`` with
        ``F(x) >= p`` as the rule intends. R compares floating-point sums exactly, and
        its weights (``1 / (1 / w)``) can differ from ``w`` in the last bit, so at an
        exact tie (equal weights and ``n p`` a whole number) R may return the next value.
        """
        level = p * self.total[target_cell]
        tol = TIE_TOLERANCE * self.total[target_cell]
        n = self.x.shape[0]
        values = np.concatenate((self.cumw, level + tol))
        cells = np.concatenate((self.cell, target_cell))
        kind = np.concatenate((np.zeros(n, dtype=np.int8), np.ones(p.shape[0], dtype=np.int8)))
        merged = np.lexsort((kind, values, cells))
        data_before = np.cumsum(kind[merged] == 0)
        where = np.empty(merged.shape[0], dtype=np.intp)
        where[merged] = np.arange(merged.shape[0])
        count = data_before[where[n:]] - self.start[target_cell]  # cumw <= level in cell
        pos = np.maximum(count - 1, 0)  # R's last(): the first row when none qualifies
        size = self.count[target_cell]
        out = np.full(p.shape[0], np.nan)
        ok = np.flatnonzero(size > 0)
        i_low = self.start[target_cell[ok]] + pos[ok]
        i_up = self.start[target_cell[ok]] + np.minimum(pos[ok] + 1, size[ok] - 1)
        tie = np.abs(self.cumw[i_low] - level[ok]) <= tol[ok]
        out[ok] = np.where(tie, self.x[i_low], self.x[i_up])
        return out


def quantile(
    design: BaseDesign,
    variables: str | Sequence[str],
    quantiles: float | Sequence[float] = 0.5,
    *,
    by: By = None,
    missing: Missing = "raise",
    interval_type: str = "mean",
    confidence_level: float = 0.95,
) -> Estimate:
    """Estimate population quantiles with Woodruff confidence intervals.

    Parameters
    ----------
    design : SurveyDesign or ReplicateDesign
    variables : str or list of str
        Numeric columns.
    quantiles : float or list of float, default 0.5
        Probabilities in [0, 1].
    by, missing
        As for :func:`nea_covid.mean`.
    interval_type : {"mean", "beta", "xlogit", "asin"}, default "mean"
        How the interval for ``F(q)`` is formed before it is mapped back (R's
        ``interval.type``): a t interval, or the corresponding proportion interval.
    confidence_level : float, default 0.95
        Level of the Woodruff interval that defines the standard error (R's
        ``alpha = 1 - confidence_level``) and the default level of the intervals.

    Returns
    -------
    Estimate
        ``cells`` has a ``quantile`` column. ``standard_error`` is R's: the width of
        the Woodruff interval (at ``confidence_level``) over ``2 t``. ``vcov`` carries
        these variances on the diagonal and, off it, the covariances implied by the
        same linearisation (covariance of the CDF estimates times the Woodruff
        slopes), so quantiles can be contrasted; R reports no covariances.
        ``confidence_interval(level)`` recomputes the Woodruff interval at that level.

    Notes
    -----
    Quantile rule: R's ``qrule="math"`` (the inverse of the weighted empirical CDF),
    with exact ties resolved exactly (see ``_SortedCells.qrule_math``); R may return
    the next value there. Degrees of freedom: the design's for ``by=`` cells (R:
    ``svyby(..., svyquantile, df=degf(design))``), the subset's for ``design.subset()``
    (R's default), so the two can give slightly different SEs for the same domain.
    Woodruff (1952); Lumley (2010), section 2.4.3; Dorfman & Valliant (1993).

    Examples
    --------
    >>> import nea_covid as nc
    >>> d = nc.SurveyDesign(nc.datasets.load_api("strat"), weights="pw", strata="stype",
    ...                     fpc="fpc")
    >>> est = nc.quantile(d, "api00", [0.25, 0.5, 0.75])
    >>> est.estimate.tolist()
    [565.0, 668.0, 756.0]
    """
    if interval_type not in _INTERVALS:
        raise ArgumentError(
            f"`interval_type` must be one of {', '.join(map(repr, _INTERVALS))}, "
            f"not {interval_type!r}."
        )
    try:
        probs = np.atleast_1d(np.asarray(quantiles, dtype=np.float64))
    except (TypeError, ValueError):
        probs = np.array([np.nan])
    if probs.ndim != 1 or probs.size == 0 or np.any((probs < 0) | (probs > 1)) or np.any(
        np.isnan(probs)
    ):
        raise ArgumentError(f"`quantiles` must be probabilities in [0, 1], not {quantiles!r}.")
    names = _names(variables)
    if design._partitioned:
        numeric_matrix(design, names)  # the dtypes, on the (empty) meta frame
    for name in names:
        if pd.api.types.is_bool_dtype(design._column(name).dtype):
            raise VariableTypeError(f"Column {name!r} is boolean; quantiles need numbers.")
    if design._partitioned:  # a Dask DataFrame: nea_covid.distributed
        from nea_covid.distributed import PartitionedCells

        cells: Cells = PartitionedCells(design, names, by, missing)
    else:
        y, incomplete = numeric_matrix(design, names)
        prep = prepare(design, incomplete, by, missing, with_domain_df=True)
        cells = _RowCells(design, prep, prep.take(y))
    return woodruff_estimate(design.degf, names, probs, cells, interval_type,
                             confidence_level)


class Cells(Protocol):
    """What a quantile needs from its domain cells, in memory or on Dask."""

    n_cells: int
    labels: pd.DataFrame
    by: tuple[str, ...]
    levels: dict[str, pd.Index]
    n_obs: NDArray[np.int64]
    n_rows: NDArray[np.int64]
    domain_df: NDArray[np.float64]
    n_missing: int

    def search(self, variable: int, cell: NDArray[np.intp], p: NDArray[np.float64]
               ) -> NDArray[np.float64]:
        """R's ``qrule_math`` for each (cell, p) pair of one variable."""
        ...

    def cdf(self, qhat: NDArray[np.float64], columns: pd.DataFrame) -> Estimate:
        """Domain means of ``x <= qhat[cell, variable, quantile]`` with their
        covariance (Woodruff's CDF estimates)."""
        ...


class _RowCells:
    """Cells of an in-memory design: every row sorted per cell."""

    def __init__(self, design: BaseDesign, prep: Prepared, values: NDArray[np.float64]
                 ) -> None:
        self.design, self.prep, self.values = design, prep, values
        self.n_cells, self.labels, self.by = prep.n_cells, prep.labels, prep.by
        self.levels, self.n_obs, self.n_rows = prep.levels, prep.n_obs, prep.n_rows
        self.domain_df, self.n_missing = prep.domain_df, prep.n_missing
        self.sorted = [_SortedCells(values[:, j], prep.weights, prep.cell, prep.n_cells)
                       for j in range(values.shape[1])]

    def search(self, variable: int, cell: NDArray[np.intp], p: NDArray[np.float64]
               ) -> NDArray[np.float64]:
        return self.sorted[variable].qrule_math(cell, p)

    def cdf(self, qhat: NDArray[np.float64], columns: pd.DataFrame) -> Estimate:
        prep, values = self.prep, self.values
        below = (values[:, :, None] <= qhat[prep.cell]).reshape(values.shape[0], -1)
        return ratio_of_totals(self.design, prep, below.astype(np.float64), "weights",
                               "proportion", columns, with_deff=False)


def woodruff_estimate(degf: int, names: list[str], probs: NDArray[np.float64], cells: Cells,
                      interval_type: str, confidence_level: float) -> Estimate:
    """Quantiles of every cell, variable and probability, with Woodruff intervals."""
    k, q, p_vars = cells.n_cells, probs.size, len(names)
    check_size(k, q * p_vars, cells.by)
    # estimates, cell-major then variable then quantile
    target_cell = np.repeat(np.arange(k), q)
    target_p = np.tile(probs, k)
    qhat = np.stack([cells.search(j, target_cell, target_p).reshape(k, q)
                     for j in range(p_vars)], axis=1)  # (k, p_vars, q)

    # Woodruff: domain means of x <= qhat, all cells, variables and quantiles at once
    columns = pd.DataFrame({
        "variable": np.repeat(names, q),
        "quantile": np.tile(probs, p_vars),
    })
    cdf = cells.cdf(qhat, columns)
    f_hat = np.asarray(cdf.estimate)
    se_f = np.asarray(cdf.standard_error)
    estimate = qhat.reshape(-1)
    cell_of = np.repeat(np.arange(k), p_vars * q)
    var_of = np.tile(np.repeat(np.arange(p_vars), q), k)

    def cdf_interval(level: float, method: str) -> tuple[NDArray[np.float64], ...]:
        """The interval for F(q) that Woodruff's method maps back."""
        if method == "mean":
            return intervals.t_interval(f_hat, se_f, degf, level)
        return intervals.proportion_interval(
            method, f_hat, se_f, degf, level,
            n_obs=np.repeat(cells.n_rows, p_vars * q),
            domain_df=np.repeat(cells.domain_df, p_vars * q),
        )

    known: dict[tuple[float, str], ConfidenceInterval] = {}

    def woodruff(level: float, method: str) -> ConfidenceInterval:
        """The Woodruff interval at ``level`` (computed once per level and method: on
        a Dask design each one reads the data)."""
        method = interval_type if method in ("woodruff", "t") else method
        if (level, method) not in known:
            known[(level, method)] = _woodruff(level, method)
        return known[(level, method)]

    def _woodruff(level: float, method: str) -> ConfidenceInterval:
        if method not in _INTERVALS:
            raise ArgumentError(
                f"Quantile intervals are Woodruff intervals with interval_type in {_INTERVALS}"
                f", not {method!r}."
            )
        lo_p, hi_p = cdf_interval(level, method)
        low = np.full(estimate.shape[0], np.nan)
        high = np.full(estimate.shape[0], np.nan)
        for j in range(p_vars):  # a handful of variables, not domains
            this = var_of == j
            ok_lo = np.flatnonzero(this & ~np.isnan(lo_p) & (lo_p >= 0))
            ok_hi = np.flatnonzero(this & ~np.isnan(hi_p) & (hi_p <= 1))
            both = cells.search(j, np.concatenate([cell_of[ok_lo], cell_of[ok_hi]]),
                                np.concatenate([lo_p[ok_lo], hi_p[ok_hi]]))
            low[ok_lo] = both[: ok_lo.size]
            high[ok_hi] = both[ok_lo.size:]
        return ConfidenceInterval(low, high)

    level = intervals.check_level(confidence_level)
    ci = woodruff(level, interval_type)
    se = (ci.high - ci.low) / (2 * intervals.t_critical(degf, level))
    lo_p, hi_p = cdf_interval(level, interval_type)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = (ci.high - ci.low) / (hi_p - lo_p)
    # a quantile whose interval has no width has variance 0, hence covariances 0 (the
    # CDF's interval has no width either, and 0 / 0 would make them NaN)
    slope[ci.high == ci.low] = 0.0
    vcov = np.asarray(cdf.vcov) * slope[:, None] * slope[None, :]
    np.fill_diagonal(vcov, se**2)
    k_labels = cells.labels.iloc[np.repeat(np.arange(k), len(columns))].reset_index(drop=True)
    tiled = columns.iloc[np.tile(np.arange(len(columns)), k)].reset_index(drop=True)
    return Estimate(
        statistic="quantile",
        cells=pd.concat([k_labels, tiled], axis=1),
        estimate=estimate,
        vcov=vcov,
        standard_error=se,
        df=degf,
        n_obs=np.repeat(cells.n_obs, p_vars * q),
        deff=np.full(estimate.shape[0], np.nan),
        by=cells.by,
        n_missing=cells.n_missing,
        confidence_level=level,
        interval_method="woodruff",
        _special_interval=woodruff,
        _by_levels=cells.levels,
    )
