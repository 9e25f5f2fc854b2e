"""Taylor-linearisation variance from influence scores.

Every estimator in nea_covid hands this module a *score matrix*: one column per
estimated quantity (cell x variable), one row per data row, holding the row's
linearised contribution. The design-based covariance of the estimates is the
covariance of the score totals, computed stage by stage:

.. math::

    \\hat V = \\sum_{s} \\sum_{g \\in \\text{groups}_s} \\pi_{<s,g}\\, (1 - f_g)
              \\frac{n_g}{n_g - 1} \\sum_{u \\in g} (T_u - \\bar T_g)(T_u - \\bar T_g)^\\top

where ``T_u`` are score totals of the sampling units of stage ``s``, groups are the
strata of that stage nested in the units above, ``f_g = n_g / N_g`` and ``pi_{<s,g}``
is the product of the sampling fractions of the earlier stages (R's ``svyrecvar`` with
``survey.ultimate.cluster = FALSE``). Scores arrive as unit totals
(:mod:`nea_covid.scores`): a row contributes only to the columns of its own domain
cell, so 100 domains cost little more than one.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from nea_covid.design import CERTAINTY_TOLERANCE, Stage, SurveyDesign
from nea_covid.scores import CalibratedScores, ScoreMatrix

__all__ = ["taylor_vcov"]

def _stage_scales(
    stage: Stage, lonely_psu: str
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Per-group variance multipliers, whether each group is centred, and the
    stage-wide factor for ``lonely_psu="average"``."""
    n_g = stage.group_size
    f = stage.finite_correction()
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(n_g > 1, f * n_g / (n_g - 1), f) * stage.fraction_before
    certain = f < CERTAINTY_TOLERANCE
    scale[certain] = 0.0
    lonely = (n_g == 1) & ~certain
    centred = np.ones(n_g.shape[0], dtype=bool)
    if lonely.any():
        if lonely_psu == "adjust":
            centred[lonely] = False
        else:  # remove / certainty: a centred single PSU contributes nothing
            scale[lonely] = 0.0
    return scale, centred


def _average_factors(
    stage: Stage, parent: NDArray[np.intp], scores: ScoreMatrix
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """R's ``nstrat / nokstrat`` for ``lonely_psu="average"``, per column and unit.

    R computes each domain on its own rows, so for every column (domain cell) it
    counts, under each parent unit, the groups that hold rows of that column and the
    non-lonely ones among them. Returns the factor per (unit, column) and the columns
    whose variance is undefined (a parent whose every group is lonely: NaN in R).
    """
    present = scores.presence(stage.group[stage.unit], stage.n_groups).astype(np.float64)
    lonely = (stage.group_size == 1) & (stage.finite_correction() >= CERTAINTY_TOLERANCE)
    by_parent = _indicator(parent, int(parent.max()) + 1).T  # (groups, parents)
    n_all = np.asarray(by_parent.T @ present.T).T  # (columns, parents)
    n_ok = np.asarray(by_parent.T @ (present * ~lonely).T).T
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(n_all > 0, n_all / n_ok, 1.0)
    undefined: NDArray[np.bool_] = np.asarray(np.isinf(factor).any(axis=1))
    factor[np.isinf(factor)] = 0.0
    return np.asarray(factor[:, parent[stage.group]].T, dtype=np.float64), undefined


def _parent_of_groups(stage: Stage, previous: Stage | None) -> NDArray[np.intp]:
    """The unit of the previous stage above each group (all 0 at the first stage)."""
    if previous is None:
        return np.zeros(stage.n_groups, dtype=np.intp)
    unit_parent = np.empty(stage.n_units, dtype=np.intp)
    unit_parent[stage.unit] = previous.unit
    first_unit = np.empty(stage.n_groups, dtype=np.intp)
    first_unit[stage.group] = np.arange(stage.n_units)
    return unit_parent[first_unit]


def taylor_vcov(design: SurveyDesign, scores: ScoreMatrix) -> NDArray[np.float64]:
    """Covariance matrix of the score totals under the design.

    Parameters
    ----------
    design : SurveyDesign
    scores : ScoreMatrix
        Linearised contributions of the estimates (see :mod:`nea_covid.scores`).

    Returns
    -------
    ndarray, shape (C, C)

    Notes
    -----
    Lonely PSUs follow the design's ``lonely_psu`` rule as R does. Under "average",
    R scales each domain's variance by the strata that domain touches; the factor is
    therefore computed per column, and covariances between columns use the geometric
    mean of their factors.
    """
    c = scores.n_columns
    v = np.zeros((c, c))
    if c == 0:
        return v
    if design._calibration:
        scores = CalibratedScores.of(scores, design._calibration, design.n_rows)
    previous: Stage | None = None
    undefined = np.zeros(c, dtype=bool)
    with np.errstate(over="ignore", invalid="ignore"):  # absurd magnitudes give inf/NaN
        for stage in design._variance_stages():
            scale, centred = _stage_scales(stage, design.lonely_psu)
            factor = None
            if design.lonely_psu == "average":
                factor, nan_cols = _average_factors(
                    stage, _parent_of_groups(stage, previous), scores
                )
                undefined |= nan_cols
            v += _stage_quadratic(stage, scores, scale, centred, factor)
            previous = stage
    v[undefined, :] = np.nan
    v[:, undefined] = np.nan
    return v


def _stage_quadratic(
    stage: Stage,
    scores: ScoreMatrix,
    scale: NDArray[np.float64],
    centred: NDArray[np.bool_],
    factor: NDArray[np.float64] | None = None,
) -> NDArray[np.float64]:
    """``sum_u scale_g(u) (T_u - centre_g)(T_u - centre_g)^T`` for one stage;
    ``factor`` (units x columns) rescales each unit's deviations per column."""
    totals = scores.unit_totals(stage.unit, stage.n_units)
    if factor is not None and not isinstance(totals, np.ndarray):
        totals = np.asarray(totals.todense())
    n_groups = stage.n_groups
    group = stage.group
    unit_scale = scale[group]
    if isinstance(totals, np.ndarray):
        means = (_indicator(group, n_groups) @ totals) / stage.group_size[:, None]
        means[~centred] = 0.0
        dev = totals - means[group]
        dev *= np.sqrt(unit_scale)[:, None]
        if factor is not None:
            dev *= np.sqrt(factor)
        return _crossprod(dev)
    # sparse: sum_u s T T' - sum_g s_g n_g M M'   (units with zero totals included)
    totals = totals.tocsr()
    means = np.asarray((_indicator(group, n_groups) @ totals).todense()) / stage.group_size[:, None]
    means[~centred] = 0.0
    weighted = totals.multiply(unit_scale[:, None]).tocsr()
    first = np.asarray((totals.T @ weighted).todense())
    m_scaled = means * np.sqrt(scale * stage.group_size)[:, None]
    v = np.asarray(first - _crossprod(m_scaled))
    return _recentred(v, first, totals, means, group, unit_scale)


#: Relative cancellation (moment over centred variance) beyond which the moment form
#: above has lost more than about 1e-11 of its accuracy (float64 epsilon 2.2e-16).
_CANCELLATION = 4e4
#: Elements of the dense blocks of exact deviations (memory bound of the fallback).
_BLOCK_ELEMENTS = 2_000_000


def _recentred(
    v: NDArray[np.float64], first: NDArray[np.float64], totals: Any,
    means: NDArray[np.float64], group: NDArray[np.intp], unit_scale: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Recompute, from exactly centred deviations, the rows and columns of ``v`` whose
    moment form cancelled: where unit totals share a large common value (a total of
    a variable far from zero with weights constant within strata), ``sum s T T'`` and
    ``sum s n M M'`` agree in most of their digits and their difference does not.

    The deviations ``T - M`` of the affected columns are non-zero only in the groups
    that hold the column (domains that are unions of strata touch few groups): they are
    formed as a sparse matrix over those (group, column) pairs, or, when that would be
    as large as a dense matrix, densely in blocks of units (bounded memory).
    Covariances with the other columns use ``sum_u s (T_u - M)_a T_ub``, exact because
    deviations sum to zero within each centred group (and ``M`` is 0 in uncentred
    ones).
    """
    diag = np.abs(np.diag(v))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.diag(first) / diag
    bad = np.flatnonzero((ratio > _CANCELLATION) | ((diag == 0) & (np.diag(first) > 0)))
    if bad.size == 0:
        return v
    others = np.setdiff1d(np.arange(v.shape[0]), bad)
    t_bad = totals[:, bad].tocsr()
    t_others = totals[:, others]
    m_bad = means[:, bad]
    n_groups = m_bad.shape[0]
    held = np.asarray((_indicator(group, n_groups) @ (t_bad != 0)).todense()) > 0
    held |= m_bad != 0
    sizes = np.bincount(group, minlength=n_groups)
    if int(sizes @ held.sum(axis=1)) <= _BLOCK_ELEMENTS * 10:
        dev = _sparse_deviations(t_bad, m_bad, group, held, sizes)
        scaled = sp.diags(unit_scale) @ dev
        inner = np.asarray((dev.T @ scaled).todense())
        outer = np.asarray((scaled.T @ t_others).todense())
    else:
        inner = np.zeros((bad.size, bad.size))
        outer = np.zeros((bad.size, others.size))
        root = np.sqrt(unit_scale)
        block = max(1, _BLOCK_ELEMENTS // bad.size)
        for start in range(0, totals.shape[0], block):  # memory-bounded blocks of units
            rows = slice(start, start + block)
            dense = t_bad[rows].toarray() - m_bad[group[rows]]
            inner += _crossprod(dense * root[rows, None])
            outer += np.asarray((t_others[rows].T @ (dense * unit_scale[rows, None])).T)
    v = v.copy()
    v[np.ix_(bad, bad)] = inner
    v[np.ix_(bad, others)] = outer
    v[np.ix_(others, bad)] = outer.T
    return v


def _sparse_deviations(
    t_bad: Any, m_bad: NDArray[np.float64], group: NDArray[np.intp],
    held: NDArray[np.bool_], sizes: NDArray[np.intp],
) -> Any:
    """``T - M`` (units x columns, CSR) on the units of every (group, column) pair in
    ``held``; zero elsewhere, where both ``T`` and ``M`` are."""
    order = np.argsort(group, kind="stable")
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    pair_group, pair_col = np.nonzero(held)
    lengths = sizes[pair_group]
    offsets = np.repeat(starts[pair_group] - np.cumsum(lengths) + lengths, lengths)
    rows = order[offsets + np.arange(int(lengths.sum()))]
    cols = np.repeat(pair_col, lengths)
    values = np.asarray(t_bad[rows, cols]).ravel() - m_bad[group[rows], cols]
    return sp.csr_matrix((values, (rows, cols)), shape=t_bad.shape)


@functools.cache
def _blas_controller() -> Any:
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def _crossprod(dev: NDArray[np.float64]) -> NDArray[np.float64]:
    """``dev.T @ dev`` on one BLAS thread: these matrices are small (units x cells),
    and multi-threaded OpenBLAS is many times slower on them on small machines."""
    with _blas_controller().limit(limits=1, user_api="blas"):
        return np.asarray(dev.T @ dev, dtype=np.float64)


def _indicator(group: NDArray[np.intp], n_groups: int) -> sp.csr_matrix:
    """Sparse (n_groups, len(group)) matrix with a 1 where unit ``u`` is in group ``g``."""
    return sp.csr_matrix(
        (np.ones(group.shape[0]), (group, np.arange(group.shape[0]))),
        shape=(n_groups, group.shape[0]),
    )
