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

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from nea_covid.errors import CalibrationError, DesignError, plural

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
            return dict(zip(totals[name], totals[count[0]], strict=True))
        raise DesignError(f"The margin table has no column {name!r}.")
    if isinstance(totals, pd.Series):
        return dict(totals.items())
    if isinstance(totals, Mapping):
        return dict(totals)
    if isinstance(totals, int | float | np.integer | np.floating):
        return float(totals)
    raise DesignError(
        f"Margin {name!r}: give a mapping level -> population count (or a Series), or a "
        f"number (the population total of a numeric variable), not {type(totals).__name__}."
    )


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
        values = np.array([float(keyed[_key(level_list[i])][1]) for i in kept])
        bad = ~np.isfinite(values) | (values < 0)
        if bad.any():
            raise CalibrationError(
                f"Margin {name!r}: population counts must be finite and non-negative; "
                f"level {level_list[kept[int(np.flatnonzero(bad)[0])]]!r} has "
                f"{values[bad][0]}."
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
    (a level whose sample weights are all zero, collinear or contradictory totals)."""
    deviation = _max_deviation(weights, specs)
    scale = max(float(np.max(np.abs(s.totals))) for s in specs)
    if not deviation <= 1e-6 * max(scale, 1.0):
        raise CalibrationError(
            f"{what} cannot reproduce the margins ({', '.join(s.name for s in specs)}): "
            f"they are missed by {deviation:,.6g}. A level may have no sample weight (in "
            "the full sample or a replicate), or numeric totals may be collinear or "
            "contradictory."
        )
    return deviation


def model_matrix(specs: list[MarginSpec]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Model matrix and population totals spanning the same space as R's
    ``model.matrix(~ a + b + x)`` (intercept and treatment contrasts): full dummies for
    the first categorical margin, all but the first level for the others."""
    check_population_sizes(specs)
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
    :mod:`nea_covid.progress`, counts them)."""
    from nea_covid.progress import bar

    single = w.ndim == 1
    w2 = w[:, None] if single else w
    sample = x.T @ w2  # (p, R)
    if method == "linear" and bounds == (-np.inf, np.inf):
        t_mat = np.einsum("ip,ir,iq->rpq", x, w2, x)
        lam = np.einsum("rpq,qr->pr", np.linalg.pinv(t_mat), totals[:, None] - sample)
        g = 1 + x @ lam
        return (g[:, 0] if single else g), 1
    f, df = _distance(method, bounds)
    with np.errstate(divide="ignore", invalid="ignore"):
        scales = totals[:, None] / sample
    rescale = np.where(np.min(scales, axis=0) > _RESCALE_THRESHOLD, np.mean(scales, axis=0),
                       1.0)
    w2 = w2 * rescale
    sample = sample * rescale
    eta = np.zeros((x.shape[1], w2.shape[1]))
    u = x @ eta
    iteration = 1
    with (np.errstate(over="ignore", invalid="ignore"),
          bar(None, what, progress=progress, unit="iteration") as shown):
        while True:
            t_mat = np.einsum("ip,ir,iq->rpq", x, w2 * df(u), x)
            misfit = totals[:, None] - sample - x.T @ (w2 * f(u))
            step = np.einsum("rpq,qr->pr",
                             np.linalg.pinv(t_mat, rcond=256 * np.finfo(float).eps), misfit)
            eta = eta + step
            u = x @ eta
            g = 1 + f(u)
            while iteration < max_iter and not (np.all(np.isfinite(g))
                                                and np.all(np.isfinite(df(u)))):
                iteration += 1
                step = step / 2
                eta = eta - step
                u = x @ eta
                g = 1 + f(u)
            misfit = totals[:, None] - sample - x.T @ (w2 * f(u))
            achieved = float(np.max(np.abs(misfit) / (1 + np.abs(totals))[:, None]))
            shown.note(f"misfit {achieved:.3g}")
            shown.update()
            if achieved < tol:
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

    def apply(self, z: NDArray[np.float64]) -> NDArray[np.float64]:
        """Residuals of scores ``z`` (rows x columns)."""
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
        if self.kind == "rake":
            out = z.copy()
            for _ in range(10):  # R's svyrecvar backfits ten times
                for codes, psw in zip(self.codes, self.weights_after, strict=True):
                    n_levels = int(codes.max()) + 1
                    with np.errstate(divide="ignore", invalid="ignore"):
                        scaled = np.where(psw[:, None] > 0, out / psw[:, None], 0.0)
                    sums = _indicator(codes, n_levels) @ scaled
                    counts = np.bincount(codes, minlength=n_levels)[:, None]
                    out = out - psw[:, None] * (sums / counts)[codes]
            return out
        assert self.x is not None
        assert self.g is not None
        assert self.old_weights is not None
        half = np.sqrt(self.old_weights)
        design = self.x * half[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            u = np.where((self.g * half)[:, None] != 0, z / (self.g * half)[:, None], 0.0)
        beta = np.linalg.lstsq(design, u, rcond=None)[0]
        return (u - design @ beta) * (self.g * half)[:, None]
