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
``survey.ultimate.cluster = FALSE``). Scores are kept sparse (row, column, value):
a row contributes only to the columns of its own domain cell, so 100 domains cost no
more than one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from nea_covid.design import CERTAINTY_TOLERANCE, Stage, SurveyDesign

__all__ = ["Scores", "taylor_vcov"]

#: Dense unit-total matrices up to this many elements; sparse algebra beyond.
_DENSE_LIMIT = 20_000_000


@dataclass(frozen=True, eq=False)
class Scores:
    """A sparse score matrix in coordinate form.

    Attributes
    ----------
    rows : ndarray of intp, shape (k,)
        Data row of each entry.
    cols : ndarray of intp, shape (k,)
        Column (estimated quantity) of each entry.
    values : ndarray of float, shape (k,)
        The score. Entries sharing a row and column are summed.
    n_columns : int
        Number of estimated quantities.
    """

    rows: NDArray[np.intp]
    cols: NDArray[np.intp]
    values: NDArray[np.float64]
    n_columns: int

    @classmethod
    def from_cells(
        cls, rows: NDArray[np.intp], cell: NDArray[np.intp], values: NDArray[np.float64]
    ) -> Scores:
        """Scores of ``m`` quantities per cell: row ``i`` contributes ``values[i, j]``
        to column ``cell[i] * m + j``."""
        m = values.shape[1]
        n_cells = int(cell.max()) + 1 if cell.size else 0
        cols = (cell[:, None] * m + np.arange(m)).ravel()
        return cls(np.repeat(rows, m), cols, values.ravel(), n_cells * m)

    def with_columns(self, n_columns: int) -> Scores:
        return Scores(self.rows, self.cols, self.values, n_columns)


def unit_totals(
    scores: Scores, unit: NDArray[np.intp], n_units: int
) -> NDArray[np.float64] | sp.csr_matrix:
    """Score totals per sampling unit: dense (n_units, C) or sparse when large."""
    c = scores.n_columns
    u = unit[scores.rows]
    if n_units * c <= _DENSE_LIMIT:
        flat = np.bincount(u * c + scores.cols, weights=scores.values, minlength=n_units * c)
        return flat.reshape(n_units, c)
    return sp.csr_matrix((scores.values, (u, scores.cols)), shape=(n_units, c))


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
    stage: Stage, parent: NDArray[np.intp], scores: Scores
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """R's ``nstrat / nokstrat`` for ``lonely_psu="average"``, per column and unit.

    R computes each domain on its own rows, so for every column (domain cell) it
    counts, under each parent unit, the groups that hold rows of that column and the
    non-lonely ones among them. Returns the factor per (unit, column) and the columns
    whose variance is undefined (a parent whose every group is lonely: NaN in R).
    """
    c, g_count = scores.n_columns, stage.n_groups
    entry_group = stage.group[stage.unit[scores.rows]]
    present = np.bincount(scores.cols * g_count + entry_group, minlength=c * g_count) > 0
    present = present.reshape(c, g_count).astype(np.float64)
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


def taylor_vcov(design: SurveyDesign, scores: Scores) -> NDArray[np.float64]:
    """Covariance matrix of the score totals under the design.

    Parameters
    ----------
    design : SurveyDesign
    scores : Scores
        Linearised contributions of the estimates (already weighted).

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
    previous: Stage | None = None
    undefined = np.zeros(c, dtype=bool)
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
    scores: Scores,
    scale: NDArray[np.float64],
    centred: NDArray[np.bool_],
    factor: NDArray[np.float64] | None = None,
) -> NDArray[np.float64]:
    """``sum_u scale_g(u) (T_u - centre_g)(T_u - centre_g)^T`` for one stage;
    ``factor`` (units x columns) rescales each unit's deviations per column."""
    totals = unit_totals(scores, stage.unit, stage.n_units)
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
        return np.asarray(dev.T @ dev, dtype=np.float64)
    # sparse: sum_u s T T' - sum_g s_g n_g M M'   (units with zero totals included)
    means = np.asarray((_indicator(group, n_groups) @ totals).todense()) / stage.group_size[:, None]
    means[~centred] = 0.0
    weighted = totals.multiply(unit_scale[:, None]).tocsr()
    first = np.asarray((totals.T @ weighted).todense())
    m_scaled = means * np.sqrt(scale * stage.group_size)[:, None]
    return np.asarray(first - m_scaled.T @ m_scaled)


def _indicator(group: NDArray[np.intp], n_groups: int) -> sp.csr_matrix:
    """Sparse (n_groups, len(group)) matrix with a 1 where unit ``u`` is in group ``g``."""
    return sp.csr_matrix(
        (np.ones(group.shape[0]), (group, np.arange(group.shape[0]))),
        shape=(n_groups, group.shape[0]),
    )
