"""Confidence intervals from estimates and standard errors.

Pure numpy/scipy functions on arrays; :class:`nea_covid.Estimate` calls them.
The proportion intervals follow R's ``svyciprop`` (Lumley 2010, section 2.6;
Korn & Graubard 1998 for "beta").
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import special, stats

from nea_covid.errors import ArgumentError

__all__ = ["check_level", "proportion_interval", "t_critical", "t_interval"]

Array = NDArray[np.float64]


def check_level(level: object) -> float:
    """A confidence level in (0, 1) as a float; :class:`~nea_covid.ArgumentError`
    otherwise (with a hint for percentages).

    Examples
    --------
    >>> check_level(0.9)
    0.9
    """
    try:
        value = float(level)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ArgumentError(f"confidence_level must be a number in (0, 1), not {level!r}."
                            ) from None
    if not 0 < value < 1:
        hint = " (write 0.95, not 95)" if 1 < value < 100 else ""
        raise ArgumentError(f"confidence_level must be in (0, 1), not {value}{hint}.")
    return value


def t_critical(df: float, confidence_level: float) -> float:
    """Two-sided critical value of Student's t (normal when ``df`` is infinite);
    NaN when ``df <= 0``."""
    if df <= 0:
        return float("nan")
    q = 1 - (1 - confidence_level) / 2
    return float(stats.norm.ppf(q) if np.isinf(df) else stats.t.ppf(q, df))


def t_interval(
    estimate: Array, standard_error: Array, df: float, confidence_level: float
) -> tuple[Array, Array]:
    """``estimate -+ t(df) * standard_error``."""
    t = t_critical(df, confidence_level)
    return estimate - t * standard_error, estimate + t * standard_error


def proportion_interval(
    method: str,
    p: Array,
    standard_error: Array,
    df: float,
    confidence_level: float,
    *,
    n_obs: NDArray[np.int64],
    domain_df: NDArray[np.float64] | None = None,
) -> tuple[Array, Array]:
    """Intervals for proportions as R's ``svyciprop``.

    Parameters
    ----------
    method : {"logit", "asin", "xlogit", "beta"}
        "logit" and "xlogit": a t interval for ``logit(p)`` with the delta-method SE,
        transformed back (R computes "logit" from an intercept-only quasibinomial
        ``svyglm``, whose Wald interval is the same). "asin": the same on
        ``asin(sqrt(p))``. "beta": Korn & Graubard's Clopper-Pearson interval with
        the effective sample size ``p(1-p)/SE^2``, df-adjusted.
    n_obs : array of int
        Number of rows per cell (R's ``nrow(design)``), for "beta".
    domain_df : array, optional
        Degrees of freedom of each cell's domain (R's ``degf`` of the subset design),
        which R's "beta" uses for its effective-sample-size correction whatever ``df``
        is; defaults to ``df``.
    """
    t = t_critical(df, confidence_level)
    with np.errstate(divide="ignore", invalid="ignore"):
        if method in ("logit", "xlogit"):
            eta = special.logit(p)
            se = standard_error / (p * (1 - p))
            return special.expit(eta - t * se), special.expit(eta + t * se)
        if method == "asin":
            eta = np.arcsin(np.sqrt(p))
            se = standard_error / (2 * np.sqrt(p) * np.sqrt(1 - p))
            return np.sin(eta - t * se) ** 2, np.sin(eta + t * se) ** 2
        if method == "beta":
            alpha = 1 - confidence_level
            n_eff = p * (1 - p) / standard_error**2
            own_df = np.full(p.shape, float(df)) if domain_df is None else domain_df
            own_df = np.where(own_df > 0, own_df, np.nan)
            adjust = stats.t.ppf(alpha / 2, n_obs - 1) / stats.t.ppf(alpha / 2, own_df)
            n_eff = n_eff * adjust**2
            low = stats.beta.ppf(alpha / 2, n_eff * p, n_eff * (1 - p) + 1)
            high = stats.beta.ppf(1 - alpha / 2, n_eff * p + 1, n_eff * (1 - p))
            # Clopper-Pearson bounds always bracket p; with a (numerically) zero SE the
            # beta quantiles lose that by rounding, so restore it
            low = np.where(np.isnan(low), low, np.minimum(low, p))
            high = np.where(np.isnan(high), high, np.maximum(high, p))
            return np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)
    raise ArgumentError(f"Unknown proportion interval method {method!r}.")
