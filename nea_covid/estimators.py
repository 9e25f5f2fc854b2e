"""Means, totals, proportions and ratios with Taylor-linearisation variance.

All four are ratios of weighted totals computed per cell in one grouped pass:
``theta = sum(w a) / sum(w b)`` (a total has no denominator), with the influence
score ``w (a - theta b) / sum(w b)`` per row. The scores of all cells go to the
design's variance method at once (Taylor: :mod:`nea_covid.variance`; replicates:
:mod:`nea_covid.replicates`), which gives the covariance across every cell.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from nea_covid.design import BaseDesign
from nea_covid.domains import MAX_COLUMNS, By, Missing, Prepared, prepare
from nea_covid.errors import (
    DesignError,
    VariableTypeError,
    ZeroDenominatorWarning,
    plural,
)
from nea_covid.results import Estimate
from nea_covid.scores import RatioScores, weighted_bincount

__all__ = ["mean", "proportion", "ratio", "total"]

Variables = str | Sequence[str]


def _names(variables: Variables, what: str = "variables") -> list[str]:
    if isinstance(variables, str) or not isinstance(variables, Iterable):
        return [variables]
    names = list(variables)
    if not names:
        raise VariableTypeError(f"No {what} given.")
    return names


def numeric_matrix(
    design: BaseDesign, names: list[str]
) -> tuple[NDArray[np.float64], dict[str, NDArray[np.bool_]]]:
    """The named columns as a float matrix (n, p), and for each a mask of its missing
    values (NaN or NA); infinite values are an error."""
    columns = []
    for name in names:
        col = design._column(name)
        dtype = col.dtype
        if pd.api.types.is_complex_dtype(dtype) or not (
            pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype)
        ):
            raise VariableTypeError(
                f"Column {name!r} is not numeric ({dtype}); means, totals and ratios need "
                "numbers. For the share of each category use `nc.proportion(design, "
                f"{name!r})`."
            )
        columns.append(col.to_numpy(dtype=np.float64, na_value=np.nan))
    y = columns[0][:, None] if len(columns) == 1 else np.column_stack(columns)
    incomplete: dict[str, NDArray[np.bool_]] = {}
    if np.isfinite(y).all():  # the common case: one pass
        return y, incomplete
    for j, name in enumerate(names):
        bad = np.isinf(y[:, j])
        if bad.any():
            raise VariableTypeError(
                f"Column {name!r} has {plural(int(bad.sum()), 'infinite value')}; "
                "replace them before estimating."
            )
        incomplete[name] = np.isnan(y[:, j])
    return y, incomplete


def _cell_labels(prep: Prepared, columns: pd.DataFrame) -> pd.DataFrame:
    """Cross the cells' by-values with the per-cell column labels, cell-major."""
    k, m = prep.n_cells, len(columns)
    left = prep.labels.iloc[np.repeat(np.arange(k), m)].reset_index(drop=True)
    right = columns.iloc[np.tile(np.arange(m), k)].reset_index(drop=True)
    return pd.concat([left, right], axis=1)


Denominator = NDArray[np.float64] | Literal["weights"] | None


def check_size(n_cells: int, width: int, by: tuple[str, ...]) -> None:
    """Refuse estimates whose dense covariance matrix would not fit comfortably."""
    if n_cells * width > MAX_COLUMNS:
        gib = (n_cells * width) ** 2 * 8 / 2**30
        raise DesignError(
            f"`by={list(by)}` gives {n_cells:,} cells x {width} quantities; the covariance "
            f"across all of them would take {gib:,.1f} GiB. Use fewer or coarser by-columns, "
            "or estimate per group of domains with `design.subset(...)`."
        )


def _cell_column_sums(
    prep: Prepared, weighted: NDArray[np.float64] | None, codes: NDArray[np.intp] | None,
    width: int,
) -> NDArray[np.float64]:
    """Per-cell sums of ``w * a``, given as a dense (rows, width) array or as codes."""
    k = prep.n_cells
    if codes is not None:
        key = codes if k == 1 else prep.cell * width + codes
        return weighted_bincount(key, prep.weights, k * width).reshape(k, width)
    assert weighted is not None
    out = np.empty((k, width))
    for j in range(width):  # variables, not cells or categories
        # column by column (also for one cell: a 2-D ``sum(axis=0)`` adds in another
        # order than the 1-D sum of the weights, so the mean of a column that equals
        # the weights, e.g. a share of 1 or F at the maximum, came out as 1 - 2e-15)
        out[:, j] = (weighted[:, j].sum() if k == 1
                     else weighted_bincount(prep.cell, weighted[:, j], k))
    return out


def _weight_sums(prep: Prepared, a_tot: NDArray[np.float64], by_codes: bool
                 ) -> NDArray[np.float64]:
    """Per-cell sums of the weights (``sum w b`` for ``b = 1``), added in the order the
    numerators are, so that a share of 1 is exactly 1 (and its scores exactly 0)."""
    if by_codes:  # every active row has a level: the sum of the level sums
        return np.asarray(a_tot.sum(axis=1), dtype=np.float64)
    return _cell_column_sums(prep, prep.weights[:, None], None, 1)[:, 0]


def ratio_of_totals(
    design: BaseDesign,
    prep: Prepared,
    numerator: NDArray[np.float64] | None,
    denominator: Denominator,
    statistic: str,
    columns: pd.DataFrame,
    *,
    codes: NDArray[np.intp] | None = None,
    with_deff: bool = True,
) -> Estimate:
    """The shared engine: ``sum(w a) / sum(w b)`` per cell and column, its
    covariance, and R's design effects.

    Parameters
    ----------
    numerator : ndarray (active rows, m) or None
        ``a``; None when ``codes`` gives ``a`` as category indicators.
    denominator : ndarray (active rows, m), "weights" or None
        ``b``; "weights" means ``b = 1`` (means and proportions); None gives totals.
    codes : ndarray of intp, optional
        Category code (0..m-1) of each active row, for proportions.
    """
    m = len(columns)
    k = prep.n_cells
    check_size(k, m, prep.by)
    w = prep.weights[:, None]
    wa = None if numerator is None else w * numerator
    wb: NDArray[np.float64] | str | None = (
        denominator if denominator is None or isinstance(denominator, str) else w * denominator)
    a_tot = _cell_column_sums(prep, wa, codes, m)
    if wb is None:
        scale = np.ones((k, m))
        theta = a_tot
    else:
        if isinstance(wb, str):
            scale = np.repeat(_weight_sums(prep, a_tot, codes is not None)[:, None], m, axis=1)
        else:
            scale = _cell_column_sums(prep, wb, None, m)
        with np.errstate(divide="ignore", invalid="ignore"):
            theta = a_tot / scale
    scores = RatioScores(prep.rows, prep.cell, k, m, prep.weights, wa, codes, wb, theta,
                         scale, numerator, denominator)
    vcov, replicates = design._variance(scores)
    empty = np.repeat(prep.n_obs == 0, m)
    estimate = theta.ravel().copy()
    estimate[empty] = np.nan
    vcov[empty, :] = np.nan
    vcov[:, empty] = np.nan
    undefined = (scale.ravel() == 0) & ~empty
    if undefined.any():
        warnings.warn(
            f"The denominator sums to zero in {plural(int(undefined.sum()), 'cell')}; "
            "those ratios are infinite or undefined and their standard errors NaN.",
            ZeroDenominatorWarning,
            stacklevel=3,
        )
        vcov[undefined, :] = np.nan
        vcov[:, undefined] = np.nan
    var = np.diag(vcov).copy()
    se = np.sqrt(np.where(var < 0, np.nan, var))
    deff = (design_effect(prep, scores, numerator, denominator, var) if with_deff
            else np.full(var.shape[0], np.nan))
    return Estimate(
        statistic=statistic,
        cells=_cell_labels(prep, columns),
        estimate=estimate,
        vcov=vcov,
        standard_error=se,
        df=design.degf,
        n_obs=np.repeat(prep.n_obs, m),
        deff=deff,
        by=prep.by,
        n_missing=prep.n_missing,
        _n_rows=np.repeat(prep.n_rows, m),
        _domain_df=np.repeat(prep.domain_df, m),
        _replicates=replicates,
        _by_levels=prep.levels,
    )


def _squared_deviations(
    prep: Prepared, scores: RatioScores, numerator: NDArray[np.float64] | None,
    denominator: Denominator,
) -> NDArray[np.float64]:
    """Per cell and column, ``sum w (a - theta b - c)^2`` with ``c`` the weighted mean
    of ``a`` for totals (R's ``svyvar`` centring) and 0 for ratios, where the
    linearised variable has mean zero."""
    w, theta, m = prep.weights, scores.theta, scores.width
    if scores.codes is not None:
        return indicator_squares(theta, scores.scale)
    big_w = prep.cell_sums(w)
    assert numerator is not None
    out = np.empty((prep.n_cells, m))
    b = denominator
    for j in range(m):  # variables, not cells
        a = numerator[:, j]
        if b is None:
            dev = a - _per_row(prep, theta[:, j] / big_w)
        elif isinstance(b, str):
            dev = a - _per_row(prep, theta[:, j])
        else:
            dev = a - _per_row(prep, theta[:, j]) * b[:, j]
        out[:, j] = prep.cell_sums(w * dev * dev)
    return out


def indicator_squares(theta: NDArray[np.float64], scale: NDArray[np.float64]
                      ) -> NDArray[np.float64]:
    """``sum w (a - p)^2`` per cell and level for level indicators ``a``, in closed
    form from the weighted level counts ``theta * scale``."""
    # sum w (a - p)^2 = hits (1 - p)^2 + others p^2 = hits others / (hits + others),
    # with ``others`` the weight of the other levels summed directly: W - hits
    # cancels for a share near 1 (1e-5 of the design effect at a share of 1 - 1e-11)
    hits = theta * scale  # weighted count per level (scale is 1 for totals)
    others = np.zeros_like(hits)  # sums of the levels before and after, no subtraction
    others[:, 1:] += np.cumsum(hits, axis=1)[:, :-1]
    others[:, :-1] += np.cumsum(hits[:, ::-1], axis=1)[:, ::-1][:, 1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(hits * others / (hits + others), dtype=np.float64)


def _per_row(prep: Prepared, per_cell: NDArray[np.float64]) -> NDArray[np.float64] | float:
    """A per-cell quantity for every active row (a scalar when there is one cell)."""
    return float(per_cell[0]) if prep.n_cells == 1 else per_cell[prep.cell]


def design_effect(
    prep: Prepared,
    scores: RatioScores,
    numerator: NDArray[np.float64] | None,
    denominator: Denominator,
    var: NDArray[np.float64],
) -> NDArray[np.float64]:
    """R's ``deff=TRUE``: the variance over the simple-random-sampling (without
    replacement) variance of the linearised variable ``r = (a - theta b) / sum(w b)``
    (``r = a`` for totals) in each cell, ``s^2_r W^2 (W - n) / (W n)`` with ``W`` the
    cell's weight sum and ``n`` its number of observations with non-zero weight.

    Where the weights sum to the sample size or less (weights of 1, or weights
    normalised to the sample size) the comparison is undefined and the design effect
    is NaN; R gives NA, a warning or an arbitrarily large number there.
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        squares = _squared_deviations(prep, scores, numerator, denominator)
    return deff_from_squares(squares, scores.scale, prep.cell_sums(prep.weights),
                             prep.n_obs, var)


def deff_from_squares(
    squares: NDArray[np.float64], scale: NDArray[np.float64], weight_sums: NDArray[np.float64],
    n_obs: NDArray[np.int64], var: NDArray[np.float64],
) -> NDArray[np.float64]:
    """:func:`design_effect` from ``sum w (a - theta b - c)^2`` per cell and column,
    the denominators ``scale``, the cells' weight sums and observations."""
    big_w = weight_sums[:, None]
    n = n_obs.astype(np.float64)[:, None]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        s2 = squares / scale**2 / big_w * n / (n - 1)
        v_srs = s2 * big_w**2 * (big_w - n) / (big_w * n)
        deff = var / v_srs.ravel()
    # weights summing to about the sample size or less (e.g. normalised weights) leave
    # R's without-replacement SRS variance meaningless: NaN, where R gives NA or a
    # huge number
    degenerate = np.repeat((big_w - n <= 1e-8 * big_w).ravel(), squares.shape[1])
    deff[degenerate] = np.nan
    return np.asarray(deff)


def _variable_frame(names: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"variable": names})


def mean(
    design: BaseDesign, variables: Variables, *, by: By = None, missing: Missing = "raise"
) -> Estimate:
    """Estimate population means, for the whole population or by domain.

    Parameters
    ----------
    design : SurveyDesign or ReplicateDesign
    variables : str or list of str
        Numeric (or boolean) columns.
    by : str or list of str, optional
        Domain columns: one cell per observed combination, estimated in one pass,
        with the covariance across all cells.
    missing : {"raise", "omit"}, default "raise"
        "omit" leaves rows with a missing value (in any of ``variables`` or ``by``)
        out of the estimate's domain, as R's ``na.rm=TRUE``; they stay in the design,
        and ``Estimate.n_missing`` counts them.

    Returns
    -------
    Estimate

    Notes
    -----
    The mean is the ratio ``sum(w y) / sum(w)``; its influence score is
    ``w (y - mean) / sum(w)`` (Lumley 2010, section 2.3; Särndal et al. 1992, 5.6).

    Examples
    --------
    >>> import nea_covid as nc
    >>> d = nc.SurveyDesign(nc.datasets.load_api("strat"), weights="pw", strata="stype",
    ...                     fpc="fpc")
    >>> est = nc.mean(d, "api00")
    >>> round(float(est.estimate[0]), 2), round(float(est.standard_error[0]), 4)
    (662.29, 9.4089)
    """
    names = _names(variables)
    if design._partitioned:  # a Dask DataFrame: nea_covid.distributed
        return design._estimate("mean", names, [], by, missing)
    y, incomplete = numeric_matrix(design, names)
    prep = prepare(design, incomplete, by, missing)
    return ratio_of_totals(design, prep, prep.take(y), "weights", "mean",
                           _variable_frame(names))


def total(
    design: BaseDesign, variables: Variables, *, by: By = None, missing: Missing = "raise"
) -> Estimate:
    """Estimate population totals ``sum(w y)``, for the whole population or by domain.

    Parameters are as for :func:`mean`.

    Examples
    --------
    >>> import nea_covid as nc
    >>> d = nc.SurveyDesign(nc.datasets.load_api("strat"), weights="pw", strata="stype",
    ...                     fpc="fpc")
    >>> round(float(nc.total(d, "enroll").estimate[0]))
    3687178
    """
    names = _names(variables)
    if design._partitioned:
        return design._estimate("total", names, [], by, missing)
    y, incomplete = numeric_matrix(design, names)
    prep = prepare(design, incomplete, by, missing)
    return ratio_of_totals(design, prep, prep.take(y), None, "total", _variable_frame(names))


def ratio(
    design: BaseDesign,
    numerator: Variables,
    denominator: Variables,
    *,
    by: By = None,
    missing: Missing = "raise",
) -> Estimate:
    """Estimate ratios of population totals ``sum(w y) / sum(w x)``.

    Parameters
    ----------
    design : SurveyDesign or ReplicateDesign
    numerator, denominator : str or list of str
        Numeric columns; every numerator is divided by every denominator (as R's
        ``svyratio``), and each cell's ``variable`` reads ``"y/x"``.
    by, missing
        As for :func:`mean`; missingness is checked jointly over all columns.

    Notes
    -----
    Linearised by the score ``w (y - R x) / sum(w x)`` (Lumley 2010, section 3.5).

    Examples
    --------
    >>> import nea_covid as nc
    >>> d = nc.SurveyDesign(nc.datasets.load_api("strat"), weights="pw", strata="stype",
    ...                     fpc="fpc")
    >>> round(float(nc.ratio(d, "api.stu", "enroll").estimate[0]), 4)
    0.837
    """
    num = _names(numerator, "numerator variables")
    den = _names(denominator, "denominator variables")
    all_names = list(dict.fromkeys(num + den))
    pairs = [(a, b) for b in den for a in num]
    if design._partitioned:
        return design._estimate(
            "ratio", [p[0] for p in pairs], [p[1] for p in pairs], by, missing,
            pd.DataFrame({"variable": [f"{p}/{q}" for p, q in pairs]}))
    y, incomplete = numeric_matrix(design, all_names)
    prep = prepare(design, incomplete, by, missing)
    pos = {name: j for j, name in enumerate(all_names)}
    values = prep.take(y)
    a = values[:, [pos[p[0]] for p in pairs]]
    b = values[:, [pos[p[1]] for p in pairs]]
    frame = pd.DataFrame({"variable": [f"{p}/{q}" for p, q in pairs]})
    return ratio_of_totals(design, prep, a, b, "ratio", frame)


def levels_of(design: BaseDesign, name: str) -> tuple[NDArray[np.intp], pd.Index]:
    """Codes (-1 for missing) and levels of a categorical-like column: categories of a
    pandas Categorical (all of them, as R's factor levels), False/True for booleans,
    sorted distinct values for text and whole numbers."""
    col = design._column(name)
    dtype = col.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return np.asarray(col.cat.codes, dtype=np.intp), pd.Index(col.cat.categories)
    if pd.api.types.is_bool_dtype(dtype):
        arr = col.astype("boolean")
        codes = np.where(arr.isna(), -1, arr.fillna(False).astype(int)).astype(np.intp)
        return codes, pd.Index([False, True])
    if pd.api.types.is_float_dtype(dtype):
        values = col.to_numpy(dtype=np.float64, na_value=np.nan)
        infinite = np.isinf(values)
        if infinite.any():
            raise VariableTypeError(
                f"Column {name!r} has {plural(int(infinite.sum()), 'infinite value')}; "
                "replace them (or make them missing) before estimating."
            )
        finite = values[~np.isnan(values)]
        if not np.all(finite == np.round(finite)):
            raise VariableTypeError(
                f"Column {name!r} has non-integer numbers; proportions need categories "
                "(categorical, text, boolean or integer-coded). Use `nc.mean` for a "
                "numeric variable, or cut it into classes first."
            )
    codes, uniques = pd.factorize(col, sort=True)
    return np.asarray(codes, dtype=np.intp), pd.Index(uniques)


def proportion(
    design: BaseDesign, variables: Variables, *, by: By = None, missing: Missing = "raise"
) -> Estimate:
    """Estimate the population share of every category of one or more variables.

    Parameters
    ----------
    design : SurveyDesign or ReplicateDesign
    variables : str or list of str
        Categorical, text, boolean or integer-coded columns; one cell per level
        (all categories of a pandas Categorical, the observed values otherwise).
    by, missing
        As for :func:`mean`.

    Returns
    -------
    Estimate
        With a ``level`` column in :attr:`Estimate.cells`. Intervals take R's
        ``svyciprop`` methods: ``est.confidence_interval(method="logit")`` and
        "likelihood", "asin", "beta", "mean", "xlogit".

    Notes
    -----
    A proportion is the mean of the level's indicator (R's ``svymean`` on a factor).

    Examples
    --------
    >>> import nea_covid as nc
    >>> d = nc.SurveyDesign(nc.datasets.load_api("strat"), weights="pw", strata="stype",
    ...                     fpc="fpc")
    >>> est = nc.proportion(d, "awards")
    >>> [round(float(p), 4) for p in est.estimate]
    [0.3611, 0.6389]
    """
    names = _names(variables)
    if design._partitioned:
        return design._estimate("proportion", names, [], by, missing)
    coded = [levels_of(design, name) for name in names]
    incomplete = {name: codes < 0 for name, (codes, _) in zip(names, coded, strict=True)}
    prep = prepare(design, incomplete, by, missing, with_domain_df=True)
    offsets = np.cumsum([0] + [len(levels) for _, levels in coded])
    frame = pd.DataFrame({
        "variable": [name for name, (_, lv) in zip(names, coded, strict=True) for _ in lv],
        "level": [level for _, lv in coded for level in lv],
    })
    if len(coded) == 1:
        est = ratio_of_totals(design, prep, None, "weights", "proportion", frame,
                              codes=prep.take(coded[0][0]))
    else:  # several variables: explicit indicator columns
        indicators = np.zeros((prep.cell.shape[0], int(offsets[-1])))
        rows = np.arange(indicators.shape[0])
        for (codes, _), offset in zip(coded, offsets, strict=False):
            indicators[rows, offset + prep.take(codes)] = 1.0
        est = ratio_of_totals(design, prep, indicators, "weights", "proportion", frame)
    from nea_covid.profile import attach_likelihood_interval

    return attach_likelihood_interval(est, design, prep, [prep.take(c) for c, _ in coded],
                                      [len(lv) for _, lv in coded])
