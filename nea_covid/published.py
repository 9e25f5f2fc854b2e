"""Comparisons of published figures: :class:`PublishedFigure` and
:func:`compare_published`.

Many users have only the published tables: a share with its 95% confidence interval,
or with the number of respondents and an assumed design effect. From either, the
standard error is recovered on the scale the test uses:

* ``scale="linear"``: the interval is taken as symmetric, ``SE = (high - low) / (2 z)``;
  from ``n``, ``SE = sqrt(deff p (1 - p) / n)``;
* ``scale="logit"``: the interval is taken as symmetric on the log-odds scale (as
  intervals from a logistic model, e.g. RIVM's behaviour survey),
  ``SE = (logit(high) - logit(low)) / (2 z)``; from ``n`` or a linear SE by the delta
  method, ``SE_logit = SE / (p (1 - p))``.

The two figures are then compared with a z-test of their difference (linear: the
difference in proportions; logit: the log odds ratio).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from nea_covid.comparison import Alternative, Comparison, check_alternative
from nea_covid.errors import ComparisonError
from nea_covid.intervals import check_level

__all__ = ["PublishedFigure", "compare_published"]

Scale = Literal["linear", "logit"]


def _logit(p: float) -> float:
    return float(np.log(p / (1 - p)))


@dataclass(frozen=True)
class PublishedFigure:
    """A published proportion with what is known of its precision.

    Parameters
    ----------
    estimate : float
        The proportion, in [0, 1] (divide percentages by 100).
    ci : (float, float), optional
        Its confidence interval (lower, upper), as proportions.
    standard_error : float, optional
        Its standard error (of the proportion).
    n : int, optional
        Number of respondents; with ``deff`` (default 1) gives the standard error of
        a proportion, ``sqrt(deff p (1 - p) / n)``, when neither ``ci`` nor
        ``standard_error`` is given.
    deff : float, default 1
        Assumed design effect (only with ``n``).
    confidence_level : float, default 0.95
        Level of ``ci``.
    label : str, optional
        Shown in comparisons (e.g. "wave 8").

    Examples
    --------
    >>> import nea_covid as nc
    >>> a = nc.PublishedFigure(0.700, ci=(0.682, 0.717), n=3134, label="wave 8")
    >>> round(a.standard_error_on("logit"), 5)
    0.04251
    """

    estimate: float
    ci: tuple[float, float] | None = None
    standard_error: float | None = None
    n: int | None = None
    deff: float = 1.0
    confidence_level: float = 0.95
    label: str | None = None

    def __post_init__(self) -> None:
        p = _finite(self.estimate, "estimate")
        if not 0 <= p <= 1:
            hint = " (divide percentages by 100)" if 1 < p <= 100 else ""
            raise ComparisonError(
                f"A published proportion must be in [0, 1], not {p}{hint}.")
        check_level(self.confidence_level)
        if self.ci is None and self.standard_error is None and self.n is None:
            raise ComparisonError(
                "A published figure needs its precision: `ci=(low, high)`, "
                "`standard_error=` or `n=` (with an assumed `deff=`).")
        if self.ci is not None:
            try:
                low, high = (float(v) for v in self.ci)
            except (TypeError, ValueError):
                raise ComparisonError(
                    f"`ci` must be two numbers (low, high), not {self.ci!r}.") from None
            if not (np.isfinite(low) and np.isfinite(high)):
                raise ComparisonError(f"The interval ({low}, {high}) must be finite.")
            if not low <= p <= high or not low < high:
                raise ComparisonError(
                    f"The published interval ({low}, {high}) does not contain its estimate "
                    f"{p}; check the order and the units (proportions, not percentages).")
            if low < 0 or high > 1:
                raise ComparisonError(
                    f"The interval ({low}, {high}) of a proportion must lie in [0, 1].")
        if self.standard_error is not None and not _finite(
                self.standard_error, "standard_error") >= 0:
            raise ComparisonError(
                f"standard_error must be non-negative, not {self.standard_error}.")
        if self.n is not None:
            if isinstance(self.n, bool) or not isinstance(self.n, int | np.integer):
                raise ComparisonError(f"n must be a whole number, not {self.n!r}.")
            if self.n < 1:
                raise ComparisonError(f"n must be at least 1, not {self.n}.")
        if not _finite(self.deff, "deff") > 0:
            raise ComparisonError(f"deff must be positive, not {self.deff}.")
        if self.deff != 1.0 and (self.n is None or self.ci is not None
                                 or self.standard_error is not None):
            raise ComparisonError(
                "`deff` applies only to a standard error derived from `n` (without `ci` "
                "or `standard_error`).")

    def standard_error_on(self, scale: Scale = "linear") -> float:
        """The standard error on the linear (proportion) or logit (log-odds) scale."""
        if scale not in ("linear", "logit"):
            raise ComparisonError(f"`scale` must be 'linear' or 'logit', not {scale!r}.")
        p = float(self.estimate)
        z = float(stats.norm.ppf(0.5 + self.confidence_level / 2))
        if self.ci is not None:
            low, high = (float(v) for v in self.ci)
            if scale == "linear":
                return (high - low) / (2 * z)
            if low <= 0 or high >= 1:
                raise ComparisonError(
                    f"On the logit scale the interval ({low}, {high}) must lie strictly "
                    "inside (0, 1); use scale='linear'.")
            return (_logit(high) - _logit(low)) / (2 * z)
        if self.standard_error is not None:
            se = float(self.standard_error)
        else:
            assert self.n is not None
            se = float(np.sqrt(self.deff * p * (1 - p) / float(self.n)))
        if scale == "linear":
            return se
        if not 0 < p < 1:
            raise ComparisonError(
                f"A proportion of {p} has no log odds; use scale='linear'.")
        return se / (p * (1 - p))

    def on(self, scale: Scale) -> float:
        """The estimate on the given scale."""
        p = float(self.estimate)
        if scale == "linear":
            return p
        if not 0 < p < 1:
            raise ComparisonError(f"A proportion of {p} has no log odds; use scale='linear'.")
        return _logit(p)


def _finite(value: object, name: str) -> float:
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ComparisonError(f"`{name}` must be a number, not {value!r}.") from None
    if not np.isfinite(out):
        raise ComparisonError(f"`{name}` must be finite, not {out}.")
    return out


def _figures(value: object, name: str) -> list[PublishedFigure]:
    figures = [value] if isinstance(value, PublishedFigure) else value
    if not isinstance(figures, list | tuple) or not figures or not all(
            isinstance(f, PublishedFigure) for f in figures):
        raise TypeError(
            f"`{name}` must be a nc.PublishedFigure or a list of them, not "
            f"{type(value).__name__}.")
    return list(figures)


def compare_published(
    base: PublishedFigure | Sequence[PublishedFigure],
    other: PublishedFigure | Sequence[PublishedFigure],
    *,
    scale: Scale = "linear",
    samples: Literal["independent", "paired"] = "independent",
    correlation: float | None = None,
    alternative: Alternative = "two-sided",
    confidence_level: float = 0.95,
) -> Comparison:
    """Test the change from one published figure to another.

    Parameters
    ----------
    base, other : PublishedFigure, or lists of them of equal length
        The figures compared: the result estimates ``other - base``, one row per pair
        (with p-values adjusted across the rows in ``to_frame()``).
    scale : {"linear", "logit"}, default "linear"
        "linear": the difference in proportions (percentage points), with the
        intervals read as symmetric. "logit": the log odds ratio, with intervals read
        as symmetric on the log-odds scale (intervals from a logistic model).
    samples : {"independent", "paired"}, default "independent"
        "independent" for separate samples (cross-sections). For two waves of one
        panel the estimates are correlated and the independent test is conservative
        when the correlation is positive; give the assumed ``correlation`` with
        ``samples="paired"``.
    correlation : float, optional
        Correlation between the two estimates (``samples="paired"`` only).
    alternative : {"two-sided", "less", "greater"}
    confidence_level : float, default 0.95

    Returns
    -------
    Comparison
        One row per pair, on the normal reference distribution (``df = inf``):
        ``estimate``, ``standard_error``, interval, statistic and p-value all refer to
        the difference (linear) or the log odds ratio (logit); ``to_frame()`` also
        shows both figures and the difference in proportions.

    Examples
    --------
    RIVM's behaviour survey: working from home in waves 8 and 9.

    >>> import nea_covid as nc
    >>> w8 = nc.PublishedFigure(0.700, ci=(0.682, 0.717), n=3134)
    >>> w9 = nc.PublishedFigure(0.674, ci=(0.656, 0.692), n=3149)
    >>> round(float(nc.compare_published(w8, w9, scale="logit").pvalue[0]), 3)
    0.043
    """
    check_alternative(alternative)
    a, b = _figures(base, "base"), _figures(other, "other")
    if len(a) != len(b):
        raise ComparisonError(
            f"`base` has {len(a)} figures and `other` {len(b)}; compare them in pairs.")
    if scale not in ("linear", "logit"):
        raise ComparisonError(f"`scale` must be 'linear' or 'logit', not {scale!r}.")
    if samples == "independent":
        if correlation not in (None, 0, 0.0):
            raise ComparisonError(
                "`correlation` needs samples='paired'; independent samples are uncorrelated.")
        rho = 0.0
    elif samples == "paired":
        if correlation is None:
            raise ComparisonError(
                "samples='paired' needs the assumed `correlation` between the two "
                "estimates (published figures do not carry it).")
        rho = _finite(correlation, "correlation")
        if not -1 <= rho <= 1:
            raise ComparisonError(f"correlation must be in [-1, 1], not {rho}.")
    else:
        raise ComparisonError(f"`samples` must be 'independent' or 'paired', not {samples!r}.")
    sa = np.array([f.standard_error_on(scale) for f in a])  # per figure, not per row
    sb = np.array([f.standard_error_on(scale) for f in b])
    estimate = np.array([f.on(scale) for f in b]) - np.array([f.on(scale) for f in a])
    var = sa**2 + sb**2 - 2 * rho * sa * sb
    pa = np.array([float(f.estimate) for f in a])
    pb = np.array([float(f.estimate) for f in b])
    cells = pd.DataFrame({"base": [f.label or "base" for f in a],
                          "other": [f.label or "other" for f in b]})
    extra = pd.DataFrame({"base_estimate": pa, "other_estimate": pb, "difference": pb - pa})
    return Comparison(
        kind="published", cells=cells, estimate=estimate, vcov=np.diag(var), df=np.inf,
        null_value=np.zeros(1), alternative=alternative, confidence_level=confidence_level,
        scale=scale, extra=extra,
    )
