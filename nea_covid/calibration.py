"""Calibration of weights to population margins: post-stratification, raking, GREG
(linear, raking and bounded logit distance functions) and weight trimming.

Each method returns a new design; the original is untouched. Calibrated Taylor
designs remember how their weights were made, so that variances use the calibration
residuals as R's ``survey`` does (``svyrecvar`` with ``postStrata``): standard errors
shrink where the calibration variables explain the outcome. Replicate designs
calibrate every replicate the same way, and their variance needs nothing more.

References: Deville & Särndal (1992); Deville, Särndal & Sautory (1993); Lumley (2010),
chapter 7.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from nea_covid.errors import CalibrationError, DesignError, SurveyWarning, plural

__all__ = ["CalibrationInfo", "Margins"]

Margins: TypeAlias = Mapping[str, Any]
CalibrationMethod: TypeAlias = Literal["linear", "raking", "logit"]

#: R's ``grake`` rescales the weights first when every population total is over
#: this many times the sample total.
_RESCALE_THRESHOLD = 20


@dataclass(frozen=True)
class CalibrationInfo:
    """How a design's weights were calibrated.

    Attributes
    ----------
    method : str
        "poststratify", "rake", "linear", "raking", "logit" or "trim".
    iterations : int
        Iterations used (1 for closed-form methods).
    max_deviation : float
        Largest absolute difference between the calibrated weighted totals and the
        population totals, over all margins.
    margins : tuple of str
        The calibration variables.
    """

    method: str
    iterations: int
    max_deviation: float
    margins: tuple[str, ...]


# ---------------------------------------------------------------------- margins
@dataclass(frozen=True, eq=False)
class MarginSpec:
    """One margin: a categorical variable's level codes and population counts, or a
    numeric variable and its total."""

    name: str
    codes: NDArray[np.intp] | None  # per row, for categorical margins
    levels: list[Any]
    totals: NDArray[np.float64]  # per level, or one total
    values: NDArray[np.float64] | None  # per row, for numeric margins

    def columns(self) -> NDArray[np.float64]:
        """The margin's model-matrix columns (n x levels, or n x 1)."""
        if self.codes is None:
            assert self.values is not None
            return self.values[:, None]
        out = np.zeros((self.codes.shape[0], len(self.levels)))
        out[np.arange(self.codes.shape[0]), self.codes] = 1.0
        return out


def _as_mapping(name: str, totals: Any) -> dict[Any, float] | float:
    if isinstance(totals, pd.DataFrame):
        if name in totals.columns:
            count = [c for c in totals.columns if c != name]
            if len(count) != 1:
                raise DesignError(
                    f"The margin table for {name!r} needs one column of counts besides "
                    f"{name!r}; it has {count}."
                )
            return _unique(name, list(zip(totals[name], totals[count[0]], strict=True)))
        raise DesignError(f"The margin table has no column {name!r}.")
    if isinstance(totals, pd.Series):
        return _unique(name, list(totals.items()))
    if isinstance(totals, Mapping):
        return dict(totals)
    if isinstance(totals, int | float | np.integer | np.floating) and not isinstance(
            totals, bool | np.bool_):
        return float(totals)
    raise DesignError(
        f"Margin {name!r}: give a mapping level -> population count (or a Series), or a "
        f"number (the population total of a numeric variable), not {type(totals).__name__}."
    )


def _unique(name: str, pairs: list[tuple[Any, Any]]) -> dict[Any, Any]:
    """Level -> count from a table's rows; a level listed twice is an error (a dict
    would silently keep the last count)."""
    seen: dict[Any, Any] = {}
    twice = []
    for level, count in pairs:
        if _key(level) in seen and _key(level) not in twice:
            twice.append(_key(level))
        seen[_key(level)] = (level, count)
    if twice:
        raise CalibrationError(
            f"Margin {name!r}: {plural(len(twice), 'level')} listed more than once: "
            f"{', '.join(repr(seen[k][0]) for k in twice[:5])}. Give one count per level "
            "(add up the rows first)."
        )
    return dict(seen.values())


def _count(name: str, level: Any, value: Any) -> float:
    """A population count as a float; strings are refused (a Dutch "4.421" would
    parse as 4.421, not 4421)."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise CalibrationError(
            f"Margin {name!r}: the population count of level {level!r} is not a number "
            f"({value!r}). Give numbers (convert text with `pd.to_numeric`, minding "
            "thousands separators)."
        )
    return float(value)


def parse_margins(design: Any, margins: Margins) -> list[MarginSpec]:
    """Validate margins against the design's data (every level counted, every count a
    level, counts finite and non-negative)."""
    from nea_covid.estimators import levels_of, numeric_matrix

    if not isinstance(margins, Mapping) or not margins:
        raise DesignError("Give the margins as a mapping: variable -> population counts.")
    specs = []
    for name, raw in margins.items():
        totals = _as_mapping(name, raw)
        if isinstance(totals, float):
            y, incomplete = numeric_matrix(design, [name])
            if incomplete:
                raise CalibrationError(
                    f"Calibration variable {name!r} has "
                    f"{plural(int(incomplete[name].sum()), 'missing value')}; every row "
                    "needs a value."
                )
            if not np.isfinite(totals):
                raise CalibrationError(f"The population total of {name!r} is not finite.")
            specs.append(MarginSpec(name, None, [name], np.array([totals]), y[:, 0].copy()))
            continue
        codes, levels = levels_of(design, name)
        missing = codes < 0
        if missing.any():
            raise CalibrationError(
                f"Calibration variable {name!r} has {plural(int(missing.sum()), 'missing value')}"
                "; every row needs a category."
            )
        observed = np.bincount(codes, minlength=len(levels)) > 0
        level_list = list(levels)
        keyed = {_key(k): (k, v) for k, v in totals.items()}
        absent = [lv for lv, seen in zip(level_list, observed, strict=True)
                  if seen and _key(lv) not in keyed]
        if absent:
            raise CalibrationError(
                f"Margin {name!r}: {plural(len(absent), 'level')} in the data "
                f"{'has' if len(absent) == 1 else 'have'} no population count: "
                f"{', '.join(map(repr, absent[:5]))}."
            )
        seen_keys = {_key(lv) for lv, s in zip(level_list, observed, strict=True) if s}
        extra = [k for k, (orig, _) in keyed.items() if k not in seen_keys]
        if extra:
            raise CalibrationError(
                f"Margin {name!r}: {plural(len(extra), 'level')} with a population count "
                f"{'has' if len(extra) == 1 else 'have'} no sample cases: "
                f"{', '.join(repr(keyed[k][0]) for k in extra[:5])}. Collapse it into a "
                "neighbouring category (and add up the counts)."
            )
        kept = [i for i, s in enumerate(observed) if s]
        values = np.array([_count(name, level_list[i], keyed[_key(level_list[i])][1])
                           for i in kept])
        bad = ~np.isfinite(values) | (values < 0)
        if bad.any():
            raise CalibrationError(
                f"Margin {name!r}: population counts must be finite and non-negative; "
                f"level {level_list[kept[int(np.flatnonzero(bad)[0])]]!r} has "
                f"{values[bad][0]}."
            )
        if not values.sum() > 0:
            raise CalibrationError(
                f"Margin {name!r}: the population counts add up to 0; give the number of "
                "population units per level."
            )
        remap = np.full(len(level_list), -1, dtype=np.intp)
        remap[kept] = np.arange(len(kept))
        specs.append(MarginSpec(name, remap[codes], [level_list[i] for i in kept], values,
                                None))
    return specs


def _key(level: Any) -> Any:
    """Compare levels across types that pandas and users mix (1 vs 1.0 vs np.int64)."""
    if isinstance(level, np.generic):
        level = level.item()
    if isinstance(level, float) and level.is_integer():
        return int(level)
    return level


def check_population_sizes(specs: list[MarginSpec]) -> None:
    """Categorical margins must describe one population: equal sums of counts."""
    sizes = {s.name: float(s.totals.sum()) for s in specs if s.codes is not None}
    if sizes:
        low, high = min(sizes.values()), max(sizes.values())
        if high - low > 1e-9 * max(abs(high), 1.0):
            raise CalibrationError(
                "The categorical margins add up to different population sizes: "
                + ", ".join(f"{k}: {v:,.6g}" for k, v in sizes.items()) + "."
            )


def check_reached(weights: NDArray[np.float64], specs: list[MarginSpec], what: str) -> float:
    """The largest deviation from the margins; an error when they are visibly missed
    (a level whose sample weights are all zero, collinear or contradictory totals).

    Every level and total is judged on its own scale (its total, or the sum of the
    absolute weighted values that make it, whichever is larger, and for a level a
    hundredth of a millionth of its margin's population): a level of 400 missed
    entirely next to a population of 1e9, or next to a numeric total of 5e7, is an
    error, and rounding in a total of 0 made of values of 1e12 is not."""
    worst, missed = 0.0, []
    sums: NDArray[np.float64]
    size: NDArray[np.float64]
    for spec in specs:
        if spec.codes is not None:
            n_levels = len(spec.levels)
            if weights.ndim == 1:
                sums = np.asarray(np.bincount(spec.codes, weights=weights,
                                              minlength=n_levels)[:, None], dtype=np.float64)
                size = np.asarray(np.bincount(spec.codes, weights=np.abs(weights),
                                              minlength=n_levels)[:, None], dtype=np.float64)
            else:
                indicator = _indicator(spec.codes, n_levels)
                sums, size = np.asarray(indicator @ weights), np.asarray(
                    indicator @ np.abs(weights))
            floor = 1e-8 * float(np.sum(np.abs(spec.totals)))
        else:
            assert spec.values is not None
            w2 = weights[:, None] if weights.ndim == 1 else weights
            sums = (spec.values @ w2)[None, :]
            size = (np.abs(spec.values) @ np.abs(w2))[None, :]
            floor = 0.0
        target = spec.totals[:, None]
        deviation = np.abs(sums - target)
        allowed = 1e-6 * np.maximum(np.abs(target), size) + floor
        worst = max(worst, float(np.max(deviation)))
        if not np.all(deviation <= allowed):
            missed.append(spec.name)
    if missed:
        raise CalibrationError(
            f"{what} cannot reproduce the margins ({', '.join(s.name for s in specs)}): "
            f"they are missed by {worst:,.6g} ({', '.join(map(repr, missed))} beyond "
            "rounding). A level may have no sample weight (in the full sample or a "
            "replicate), or numeric totals may be collinear or contradictory."
        )
    return worst


def _check_means_in_range(specs: list[MarginSpec]) -> None:
    """A numeric total divided by the population size of the categorical margins
    must lie within the variable's sample range: outside it no positive weights reach
    it (linear calibration would return negative weights without a word). Typically
    the categorical margins are shares and the numeric total a count, or the total is
    in other units than the column."""
    categorical = [s for s in specs if s.codes is not None]
    if not categorical:
        return
    size = float(categorical[0].totals.sum())
    for spec in specs:
        if spec.values is None or not spec.values.size:
            continue
        low, high = float(spec.values.min()), float(spec.values.max())
        if low == high:  # a constant: collinear with the counts, check_reached judges it
            continue
        mean = float(spec.totals[0]) / size
        slack = 1e-9 * max(abs(low), abs(high), abs(mean))
        if not low - slack <= mean <= high + slack:
            raise CalibrationError(
                f"Margin {spec.name!r}: its total {float(spec.totals[0]):,.6g} over the "
                f"population of {size:,.6g} that the categorical margins give is "
                f"{mean:,.6g} per unit, outside the sample's range [{low:,.6g}, "
                f"{high:,.6g}]: no positive weights reach it. Give the categorical "
                "margins as counts, not shares, and the total in the column's units."
            )


def model_matrix(specs: list[MarginSpec]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Model matrix and population totals spanning the same space as R's
    ``model.matrix(~ a + b + x)`` (intercept and treatment contrasts): full dummies for
    the first categorical margin, all but the first level for the others."""
    check_population_sizes(specs)
    _check_means_in_range(specs)
    columns, totals = [], []
    first = True
    for spec in specs:
        x, t = spec.columns(), spec.totals
        if spec.codes is not None and not first:
            x, t = x[:, 1:], t[1:]
        if spec.codes is not None:
            first = False
        columns.append(x)
        totals.append(t)
    return np.concatenate(columns, axis=1), np.concatenate(totals)


# ---------------------------------------------------------------------- weights
def poststratify_weights(
    weights: NDArray[np.float64], codes: NDArray[np.intp], totals: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Weights (n,) or (n, R) scaled so each post-stratum adds up to its total."""
    n_levels = totals.shape[0]
    if weights.ndim == 1:
        sums = np.bincount(codes, weights=weights, minlength=n_levels)
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = np.where(sums > 0, totals / sums, 0.0)
        return weights * factor[codes]
    indicator = _indicator(codes, n_levels)
    sums = np.asarray(indicator @ weights)  # (levels, R)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(sums > 0, totals[:, None] / sums, 0.0)
    return weights * factor[codes]


def _indicator(codes: NDArray[np.intp], n_levels: int) -> Any:
    import scipy.sparse as sp

    return sp.csr_matrix((np.ones(codes.shape[0]), (codes, np.arange(codes.shape[0]))),
                         shape=(n_levels, codes.shape[0]))


def rake_weights(
    weights: NDArray[np.float64], specs: list[MarginSpec], max_iter: int, tol: float,
    *, progress: bool | None = None, what: str = "raking",
) -> tuple[NDArray[np.float64], int, float, list[NDArray[np.float64]]]:
    """Iterative proportional fitting of weights (n,) or (n, R) to categorical margins.

    Returns the weights, the iterations, the largest deviation, and for each margin
    the weights right after its last post-stratification (R keeps them for the
    variance). A progress bar (``progress``, :mod:`nea_covid.progress`) counts the
    iterations."""
    from nea_covid.progress import bar

    check_iteration_args(max_iter, tol)
    w = weights.copy()
    population = float(specs[0].totals.sum())
    after: list[NDArray[np.float64]] = []
    deviation = np.inf
    with bar(None, what, progress=progress, unit="iteration") as shown:
        for iteration in range(1, max_iter + 1):
            after = []
            for spec in specs:
                assert spec.codes is not None
                w = poststratify_weights(w, spec.codes, spec.totals)
                after.append(w)
            deviation = _max_deviation(w, specs)
            shown.note(f"deviation {deviation:.3g}")
            shown.update()
            if deviation <= tol * population:
                return w, iteration, deviation, after
    raise CalibrationError(
        f"Raking did not converge in {max_iter} iterations: the margins are still off by "
        f"{deviation:,.6g} (tolerance {tol * population:,.3g}). Raise `max_iter`, check "
        "that the margins are consistent, or collapse sparse categories."
    )


def _max_deviation(w: NDArray[np.float64], specs: list[MarginSpec]) -> float:
    worst = 0.0
    for spec in specs:
        if spec.codes is not None:
            if w.ndim == 1:
                sums = np.bincount(spec.codes, weights=w, minlength=len(spec.levels))
                worst = max(worst, float(np.max(np.abs(sums - spec.totals))))
            else:
                sums = np.asarray(_indicator(spec.codes, len(spec.levels)) @ w)
                worst = max(worst, float(np.max(np.abs(sums - spec.totals[:, None]))))
        else:
            assert spec.values is not None
            total = spec.values @ w
            worst = max(worst, float(np.max(np.abs(total - spec.totals[0]))))
    return worst


def _distance(method: str, bounds: tuple[float, float]) -> tuple[Any, Any]:
    """R's calibration functions: ``g = 1 + F(u)`` and its derivative."""
    low, high = bounds
    if method == "linear":
        def f(u: Any) -> Any:
            return np.clip(u + 1, low, high) - 1

        def df(u: Any) -> Any:
            return ((u < high - 1) & (u > low - 1)).astype(np.float64)
    elif method == "raking":
        def f(u: Any) -> Any:
            return np.clip(np.exp(u), low, high) - 1

        def df(u: Any) -> Any:
            return np.where((u < high - 1) & (u > low - 1), np.exp(u), 0.0)
    elif method == "logit":
        if not (np.isfinite(low) and np.isfinite(high)):
            raise CalibrationError("Logit calibration needs finite `bounds=(lower, upper)`.")
        if not low < 1 < high:
            raise CalibrationError(f"Logit bounds must satisfy lower < 1 < upper, not {bounds}.")
        a = (high - low) / ((high - 1) * (1 - low))

        def f(u: Any) -> Any:
            e = np.exp(a * u)
            return (low * (high - 1) + high * (1 - low) * e) / (high - 1 + (1 - low) * e) - 1

        def df(u: Any) -> Any:
            e = np.exp(a * u)
            den = high - 1 + (1 - low) * e
            return (high * (1 - low) * e * a / den
                    - (low * (high - 1) + high * (1 - low) * e) * ((1 - low) * e * a) / den**2)
    else:
        raise DesignError(f"`method` must be 'linear', 'raking' or 'logit', not {method!r}.")
    return f, df


def _pinv(t_mat: NDArray[np.float64], what: str, **kw: Any) -> NDArray[np.float64]:
    """``np.linalg.pinv`` of the (replicates, p, p) normal matrices; a calibration that
    diverged (a level without sample weight in a replicate makes them infinite) is a
    :class:`CalibrationError`, not numpy's "SVD did not converge"."""
    if not np.all(np.isfinite(t_mat)):
        bad = int(np.sum(~np.isfinite(t_mat).all(axis=(1, 2))))
        raise CalibrationError(
            f"{what} cannot reproduce the margins: the calibration diverged in "
            f"{plural(bad, 'replicate' if t_mat.shape[0] > 1 else 'sample')}. A level may "
            "have no sample weight (in the full sample or a replicate): collapse it with a "
            "neighbouring category.")
    return np.asarray(np.linalg.pinv(t_mat, **kw), dtype=np.float64)


def _weighted_basis(x: NDArray[np.float64], w: NDArray[np.float64]) -> NDArray[np.float64]:
    """A (p, k) with ``x @ A`` orthonormal under the weights ``w`` (n,): the columns
    scaled to unit weighted norm, then turned by the SVD of ``sqrt(w) x``, dropping
    directions that are collinear to rounding.

    GREG's solution depends only on the space the columns of ``x`` span, but the normal
    equations ``x' W x`` square its condition: a variable far from zero (1e4 + N(0, 1)
    next to the intercept) or on a scale of 1e9 made them singular to rounding, so the
    pseudo-inverse dropped a direction and the weights missed the totals. In this basis
    the same equations are close to the identity."""
    norms = np.sqrt(np.maximum(w, 0.0) @ np.square(x))
    norms = np.where((norms > 0) & np.isfinite(norms), norms, 1.0)
    scaled = x / norms
    _, s, vt = np.linalg.svd(np.sqrt(np.maximum(w, 0.0))[:, None] * scaled,
                             full_matrices=False)
    keep = s > (s[0] if s.size else 0.0) * max(x.shape) * np.finfo(float).eps
    return np.asarray((vt[keep].T / s[keep]) / norms[:, None], dtype=np.float64)


def check_iteration_args(max_iter: Any, tol: Any) -> None:
    """``max_iter`` a positive integer, ``tol`` a positive finite number."""
    if isinstance(max_iter, bool) or not isinstance(max_iter, int | np.integer) \
            or max_iter < 1:
        raise DesignError(f"`max_iter` must be a positive integer, not {max_iter!r}.")
    if isinstance(tol, bool) or not isinstance(tol, int | float | np.integer | np.floating) \
            or not (np.isfinite(tol) and tol > 0):
        raise DesignError(f"`tol` must be a positive finite number, not {tol!r}.")


def greg_factors(
    x: NDArray[np.float64],
    w: NDArray[np.float64],
    totals: NDArray[np.float64],
    method: str,
    bounds: tuple[float, float],
    max_iter: int,
    tol: float,
    *,
    progress: bool | None = None,
    what: str = "calibrating",
) -> tuple[NDArray[np.float64], int]:
    """Calibration factors ``g`` for weights ``w`` (n,) or, one set per column, (n, R),
    as R's ``calibrate``: closed form for unbounded linear calibration, Newton
    iterations as R's ``grake`` otherwise (all columns at once; a progress bar,
    :mod:`nea_covid.progress`, counts them). Both solve in a basis of the calibration
    variables that is orthonormal under the (mean) weights (:func:`_weighted_basis`);
    the iterates are R's, the misfit that stops them is R's, in the original units."""
    from nea_covid.progress import bar

    check_iteration_args(max_iter, tol)
    single = w.ndim == 1
    w2 = w[:, None] if single else w
    sample = x.T @ w2  # (p, R)
    basis = _weighted_basis(x, w2.mean(axis=1))
    xa = x @ basis  # (n, k)
    if method == "linear" and bounds == (-np.inf, np.inf):
        t_mat = np.einsum("ip,ir,iq->rpq", xa, w2, xa)
        lam = np.einsum("rpq,qr->pr", _pinv(t_mat, what),
                        basis.T @ (totals[:, None] - sample))
        g = 1 + xa @ lam
        return (g[:, 0] if single else g), 1
    f, df = _distance(method, bounds)
    with np.errstate(divide="ignore", invalid="ignore"):
        scales = totals[:, None] / sample
    rescale = np.where(np.min(scales, axis=0) > _RESCALE_THRESHOLD, np.mean(scales, axis=0),
                       1.0)
    if np.any(rescale != 1.0) and any(np.isfinite(bounds)):
        warnings.warn(
            f"Every population total is over {_RESCALE_THRESHOLD} times its sample total, "
            f"so the weights were first multiplied by {float(np.max(rescale)):.3g} (as R's "
            f"calibrate); the bounds {bounds} apply to the factors after that rescaling, "
            "not to w_new / w. Scale the weights to the population first to bound w_new / w.",
            SurveyWarning, stacklevel=3)
    with np.errstate(invalid="ignore"):  # inf * 0: a replicate without a level (_pinv)
        w2 = w2 * rescale
        sample = sample * rescale
    eta = np.zeros((xa.shape[1], w2.shape[1]))
    u = xa @ eta
    iteration = 1
    with (np.errstate(over="ignore", invalid="ignore"),
          bar(None, what, progress=progress, unit="iteration") as shown):
        while True:
            t_mat = np.einsum("ip,ir,iq->rpq", xa, w2 * df(u), xa)
            misfit = totals[:, None] - sample - x.T @ (w2 * f(u))
            step = np.einsum("rpq,qr->pr",
                             _pinv(t_mat, what, rcond=256 * np.finfo(float).eps),
                             basis.T @ misfit)
            eta = eta + step
            u = xa @ eta
            g = 1 + f(u)
            while iteration < max_iter and not (np.all(np.isfinite(g))
                                                and np.all(np.isfinite(df(u)))):
                iteration += 1
                step = step / 2
                eta = eta - step
                u = xa @ eta
                g = 1 + f(u)
            misfit = totals[:, None] - sample - x.T @ (w2 * f(u))
            achieved = float(np.max(np.abs(misfit) / (1 + np.abs(totals))[:, None]))
            # R's test, or a misfit at rounding level (a total near 0 made of values of
            # 1e12 cannot come closer than eps times their sum, which R never accepts)
            rounding = 1e3 * np.finfo(float).eps * (np.abs(x).T @ np.abs(w2 * g))
            shown.note(f"misfit {achieved:.3g}")
            shown.update()
            if achieved < tol or bool(np.all(np.abs(misfit) <= rounding)):
                break
            iteration += 1
            if iteration > max_iter:
                raise CalibrationError(
                    f"{method.capitalize()} calibration did not converge in {max_iter} "
                    f"iterations (relative misfit {achieved:.3g}); the bounds {bounds} may "
                    "be infeasible for these margins. Widen the bounds or raise `max_iter`."
                )
    g = g * rescale
    return (g[:, 0] if single else g), iteration


def trim(
    weights: NDArray[np.float64], lower: float, upper: float, strict: bool
) -> NDArray[np.float64]:
    """R's ``trimWeights`` for weights (n,) or, per column, (n, R): clip to
    [lower, upper] and share what was cut off equally among the weights that were
    inside; with ``strict``, repeat until all are inside."""
    w = weights.copy() if weights.ndim == 2 else weights[:, None].copy()
    for _ in range(1000 if strict else 1):
        outside = ((w < lower) | (w > upper)) & (w != 0)  # zeros (dropped units) stay
        if not outside.any():
            break
        clipped = np.where(outside, np.clip(w, lower, upper), w)
        inside = ~outside & (w != 0)
        n_inside = inside.sum(axis=0)
        if np.any(n_inside == 0):
            raise CalibrationError("Every weight is outside the trimming bounds.")
        clipped += inside * ((w - clipped).sum(axis=0) / n_inside)
        w = clipped
    if strict and (((w < lower) | (w > upper)) & (w != 0)).any():
        raise CalibrationError("Trimming did not settle within the bounds.")
    return w if weights.ndim == 2 else w[:, 0]


# ---------------------------------------------------------------------- variance
@dataclass(frozen=True, eq=False)
class Residualizer:
    """How a Taylor design's scores are replaced by calibration residuals (R's
    ``postStrata`` entries, applied in ``svyrecvar``)."""

    kind: Literal["poststratify", "rake", "greg"]
    codes: tuple[NDArray[np.intp], ...] = ()
    weights_after: tuple[NDArray[np.float64], ...] = ()
    old_weights: NDArray[np.float64] | None = None
    x: NDArray[np.float64] | None = None
    g: NDArray[np.float64] | None = None
    #: Rows each row stands for (raking residuals of a Dask design's aggregates); None: 1.
    frequency: NDArray[np.float64] | None = None
    #: Of those, the rows with a non-zero weight (aggregates with a ``shadow``).
    positive: NDArray[np.float64] | None = None
    #: Aggregates of rows with different weights: the sums of ``z / w`` per aggregate
    #: (``w`` the weights before calibration, ``old_weights`` their sums), from the
    #: scores; R's raking averages ``z / psw`` per row, and ``psw / w`` is the same for
    #: every row of an aggregate.
    shadow: Callable[[Any], NDArray[np.float64]] | None = None

    def apply(self, z: NDArray[np.float64]) -> NDArray[np.float64]:
        """Residuals of scores ``z`` (rows x columns)."""
        return self.apply_tracked(z, None)[0]

    def apply_tracked(self, z: NDArray[np.float64], shadow: NDArray[np.float64] | None
                      ) -> tuple[NDArray[np.float64], NDArray[np.float64] | None]:
        """Residuals of scores ``z`` and, for raking, of their ``shadow`` (the sums of
        ``z / w`` per aggregate, see :attr:`shadow`; None for rows)."""
        if self.kind == "rake":
            return self._raked(z, shadow)
        return self._residuals(z), None

    def _raked(self, z: NDArray[np.float64], shadow: NDArray[np.float64] | None
               ) -> tuple[NDArray[np.float64], NDArray[np.float64] | None]:
        """R's ten back-fitting sweeps over the margins: ``z - psw * mean(z / psw)``
        per level, the mean over rows."""
        out = z.copy()
        freq = self.frequency
        u = None if shadow is None else shadow.copy()
        for _ in range(10):  # R's svyrecvar backfits ten times
            for codes, psw in zip(self.codes, self.weights_after, strict=True):
                n_levels = int(codes.max()) + 1
                with np.errstate(divide="ignore", invalid="ignore"):
                    if u is None:
                        scaled = np.where(psw[:, None] > 0, out / psw[:, None], 0.0)
                        if freq is not None:  # a row of f rows of equal weight: f times
                            scaled *= freq[:, None]
                    else:  # z / psw summed over an aggregate's rows: u / (psw / w)
                        assert self.old_weights is not None
                        ratio = np.where(self.old_weights > 0, psw / self.old_weights, 0.0)
                        scaled = np.where(ratio[:, None] > 0, u / ratio[:, None], 0.0)
                sums = _indicator(codes, n_levels) @ scaled
                counts = np.bincount(codes, weights=freq, minlength=n_levels)[:, None]
                means = (sums / counts)[codes]
                out = out - psw[:, None] * means
                if u is not None:
                    assert self.positive is not None
                    u = u - (self.positive * ratio)[:, None] * means
        return out, u

    def _residuals(self, z: NDArray[np.float64]) -> NDArray[np.float64]:
        """Post-stratification and GREG residuals of ``z``."""
        if self.kind == "poststratify":
            codes, new_w = self.codes[0], self.weights_after[0]
            assert self.old_weights is not None
            old = self.old_weights
            n_levels = int(codes.max()) + 1
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(new_w > 0, old / new_w, 0.0)
            sums = _indicator(codes, n_levels) @ (z * ratio[:, None])
            size = np.bincount(codes, weights=old, minlength=n_levels)
            with np.errstate(divide="ignore", invalid="ignore"):
                means = np.where(size[:, None] > 0, sums / size[:, None], 0.0)
            return z - means[codes] * new_w[:, None]
        assert self.x is not None
        assert self.g is not None
        assert self.old_weights is not None
        half = np.sqrt(self.old_weights)
        # columns scaled to unit weighted norm: lstsq drops singular values below
        # eps * rows of the largest, and a variable on a scale of 1e12 next to the
        # dummies would otherwise be dropped (its residuals left in the variance)
        norms = np.linalg.norm(self.x * half[:, None], axis=0)
        design = self.x * half[:, None] / np.where(norms > 0, norms, 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            u = np.where((self.g * half)[:, None] != 0, z / (self.g * half)[:, None], 0.0)
        beta = np.linalg.lstsq(design, u, rcond=None)[0]
        return (u - design @ beta) * (self.g * half)[:, None]
