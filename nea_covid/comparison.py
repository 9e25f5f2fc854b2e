"""The result type of comparisons and tests: :class:`Comparison`.

One row per comparison (a contrast, a change between two waves, a t-test, two
published figures), each with its estimate, standard error, test statistic, p-value
and confidence interval, plus p-values adjusted for multiple testing across the rows.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import stats

from nea_covid.errors import (
    ComparisonError,
    DegreesOfFreedomError,
    ZeroVarianceWarning,
    plural,
)
from nea_covid.intervals import check_level
from nea_covid.results import (
    CellResult,
    ConfidenceInterval,
    inference_columns,
    readonly,
    table_html,
    table_repr,
    table_xarray,
)

__all__ = ["Alternative", "Comparison", "JointTest"]

Alternative = Literal["two-sided", "less", "greater"]
_ALTERNATIVES = ("two-sided", "less", "greater")

#: ``to_frame()`` column -> statsmodels ``multipletests`` method.
ADJUSTMENTS = {"holm": "holm", "bh": "fdr_bh", "bonferroni": "bonferroni", "by": "fdr_by",
               "hommel": "hommel", "sidak": "sidak", "holm-sidak": "holm-sidak"}


def check_alternative(alternative: str) -> None:
    if alternative not in _ALTERNATIVES:
        raise ComparisonError(
            f"`alternative` must be one of {', '.join(map(repr, _ALTERNATIVES))}, "
            f"not {alternative!r}."
        )


@dataclass(frozen=True, eq=False, repr=False)
class Comparison(CellResult):
    """Estimated differences, contrasts or tests, one row per comparison.

    Attributes
    ----------
    kind : str
        "contrast", "difference", "ratio", "t-test" or "published".
    cells : pandas.DataFrame
        One row per comparison, describing it (e.g. ``contrast``; or the domain
        columns, ``variable``, ``along``, ``base`` and ``other``).
    estimate : ndarray
        The estimated contrasts (differences ``other - base``, ratios
        ``other / base``, ...).
    vcov : ndarray, shape (n, n)
        Their covariance.
    standard_error : ndarray
    null_value : ndarray
        The value under the null hypothesis (0 for differences, 1 for ratios, ``mu``
        for a one-sample t-test).
    statistic : ndarray
        ``(estimate - null_value) / standard_error``; NaN (with a
        :class:`~nea_covid.ZeroVarianceWarning`) where the standard error is zero or
        undefined.
    df : float
        Degrees of freedom of the t reference distribution (``inf``: normal).
    pvalue : ndarray
        p-values for ``alternative``.
    alternative : {"two-sided", "less", "greater"}
    confidence_level : float
        Level of the intervals in :meth:`to_frame` (default 0.95).
    scale : str
        Scale on which estimate, intervals and test are computed ("linear", "ratio"
        or "logit" = log odds ratio).
    extra : pandas.DataFrame
        Further per-row columns shown by :meth:`to_frame` (e.g. the two estimates
        compared).
    """

    kind: str
    cells: pd.DataFrame
    estimate: NDArray[np.float64]
    vcov: NDArray[np.float64]
    df: float
    null_value: NDArray[np.float64]
    alternative: str = "two-sided"
    confidence_level: float = 0.95
    scale: str = "linear"
    extra: pd.DataFrame = field(default_factory=pd.DataFrame)
    standard_error: NDArray[np.float64] = field(init=False)
    statistic: NDArray[np.float64] = field(init=False)
    pvalue: NDArray[np.float64] = field(init=False)

    def __post_init__(self) -> None:
        check_alternative(self.alternative)
        check_level(self.confidence_level)
        est = readonly(self.estimate).reshape(-1)
        n = est.shape[0]
        vcov = readonly(self.vcov).reshape(n, n)
        null = readonly(np.broadcast_to(np.asarray(self.null_value, dtype=float), (n,)))
        var = np.diag(vcov)
        with np.errstate(invalid="ignore"):
            se = np.sqrt(np.where(var < 0, np.nan, var))
        zero = ~(se > 0) & np.isfinite(est)
        if zero.any():
            warnings.warn(
                f"{plural(int(zero.sum()), 'comparison')} of {n} "
                f"{'has' if zero.sum() == 1 else 'have'} zero or undefined variance "
                f"({'; '.join(self._label(i) for i in np.flatnonzero(zero)[:5])}); "
                "the test statistic and p-value are NaN there.",
                ZeroVarianceWarning,
                stacklevel=3,
            )
        with np.errstate(divide="ignore", invalid="ignore"):
            stat = np.where(se > 0, (est - null) / se, np.nan)
        dist = self._distribution()
        if self.alternative == "two-sided":
            p = 2 * dist.sf(np.abs(stat))
        elif self.alternative == "greater":
            p = dist.sf(stat)
        else:
            p = dist.cdf(stat)
        for name, value in (("estimate", est), ("vcov", vcov), ("null_value", null),
                            ("standard_error", se), ("statistic", stat),
                            ("pvalue", np.minimum(p, 1.0))):
            object.__setattr__(self, name, readonly(value))
        object.__setattr__(self, "df", float(self.df))
        object.__setattr__(self, "cells", self.cells.reset_index(drop=True))

    def _distribution(self) -> Any:
        return stats.norm() if not np.isfinite(self.df) else stats.t(self.df)

    # ------------------------------------------------------------------ inference
    def confidence_interval(self, confidence_level: float | None = None) -> ConfidenceInterval:
        """Confidence intervals for each comparison: ``estimate +- q * SE`` with ``q``
        the t quantile on :attr:`df` (normal when infinite); one-sided for a one-sided
        ``alternative`` (as R's ``t.test``)."""
        level = check_level(self.confidence_level if confidence_level is None
                            else confidence_level)
        dist = self._distribution()
        est, se = self.estimate, self.standard_error
        if self.alternative == "two-sided":
            q = dist.ppf(0.5 + level / 2)
            return ConfidenceInterval(est - q * se, est + q * se)
        q = dist.ppf(level)
        inf = np.full_like(est, np.inf)
        if self.alternative == "greater":
            return ConfidenceInterval(est - q * se, inf)
        return ConfidenceInterval(-inf, est + q * se)

    def adjusted_pvalues(self, method: str = "holm") -> NDArray[np.float64]:
        """p-values adjusted for testing all rows at once, with statsmodels'
        ``multipletests``: "holm", "bh" (Benjamini-Hochberg, false discovery rate),
        "bonferroni", "by", "hommel", "sidak", "holm-sidak" (or any statsmodels
        method name). Rows with a NaN p-value stay NaN and do not count."""
        from statsmodels.stats.multitest import multipletests

        sm_method = ADJUSTMENTS.get(method, method)
        out = np.full(self.pvalue.shape, np.nan)
        ok = np.isfinite(self.pvalue)
        if ok.any():
            try:
                out[ok] = multipletests(self.pvalue[ok], method=sm_method)[1]
            except ValueError:
                raise ComparisonError(
                    f"Unknown multiple-testing method {method!r}; use one of "
                    f"{', '.join(map(repr, ADJUSTMENTS))}."
                ) from None
        return out

    def joint_test(self, method: Literal["Wald", "adjWald", "Chisq"] = "Wald", *,
                   df: float | None = None) -> JointTest:
        """One Wald test that every row equals its null value (e.g. "no change in any
        sector"), from the rows' joint covariance.

        Parameters
        ----------
        method : {"Wald", "adjWald", "Chisq"}, default "Wald"
            "Wald": ``F = X^2 / k`` on ``(k, df)`` degrees of freedom, as R's
            ``regTermTest(method="Wald")``; "adjWald": the adjusted Wald test
            ``F = X^2 (df - k + 1) / (k df)`` on ``(k, df - k + 1)``, as Stata's ``test``
            after ``svy``; "Chisq": ``X^2`` on ``k`` degrees of freedom. ``X^2 = d' V^- d``
            with ``d = estimate - null_value``.
        df : float, optional
            Denominator degrees of freedom instead of :attr:`df` (e.g. a regression's
            residual df: R's ``regTermTest`` on ``svyglm(y ~ group)`` uses the design
            df minus the number of groups plus one).

        Returns
        -------
        JointTest

        Notes
        -----
        Rows that are linear combinations of others (e.g. both levels of a yes/no
        proportion) add nothing: ``k`` is the rank of their correlation matrix and
        ``V^-`` the pseudo-inverse, where R's ``solve`` would stop.

        Examples
        --------
        Did the mean score change from 1999 to 2000 in any school type?

        >>> import nea_covid as nc
        >>> d = nc.SurveyDesign(nc.datasets.load_api("clus1"), clusters="dnum",
        ...                     weights="pw", fpc="fpc")
        >>> change = nc.compare(nc.mean(d, ["api99", "api00"], by="stype"), "variable")
        >>> test = change.joint_test()
        >>> test.ndf, test.ddf, f"{test.pvalue:.2g}"
        (3, 14.0, '2.4e-07')
        """
        if method not in ("Wald", "adjWald", "Chisq"):
            raise ComparisonError(
                f"`method` must be 'Wald', 'adjWald' or 'Chisq', not {method!r}.")

        d = self.estimate - self.null_value
        bad = ~np.isfinite(d) | ~np.isfinite(np.diag(self.vcov))
        if bad.any():
            raise ComparisonError(
                "The joint test needs finite estimates and covariances in every row; "
                f"{plural(int(bad.sum()), 'row')} ("
                + "; ".join(self._label(i) for i in np.flatnonzero(bad)[:5])
                + ") have none (empty domains?). Compare without them.")
        # rank and pseudo-inverse on the correlation scale, so that the units of the
        # rows (a share beside an income in euros) do not decide which rows count
        sd = np.sqrt(np.clip(np.diag(self.vcov), 0.0, None))
        live = sd > 0
        if not live.any():
            warnings.warn("The rows have zero variance; the joint test is NaN.",
                          ZeroVarianceWarning, stacklevel=2)
            return JointTest(method, float("nan"), 0, self.df, float("nan"), float("nan"))
        corr = self.vcov[np.ix_(live, live)] / np.outer(sd[live], sd[live])
        eig = np.linalg.eigvalsh(corr)
        k = int(np.sum(eig > 1e-10 * float(eig.max())))
        z = d[live] / sd[live]
        chisq = float(z @ np.linalg.pinv(corr, rcond=1e-10, hermitian=True) @ z)
        df = self.df if df is None else float(df)
        if method == "Chisq" or not np.isfinite(df):
            return JointTest("Chisq", chisq, k, float("inf"), chisq,
                             float(stats.chi2(k).sf(chisq)))
        if method == "Wald":
            f, ddf = chisq / k, df
        else:
            ddf = df - k + 1
            if ddf < 1:
                raise DegreesOfFreedomError(
                    f"The adjusted Wald test of {k} rows needs more than {k - 1} design "
                    f"degrees of freedom; the design has {df:g}. Use method='Wald'.")
            f = chisq * ddf / (k * df)
        return JointTest(method, f, k, ddf, chisq, float(stats.f(k, ddf).sf(f)))

    # ------------------------------------------------------------------ output
    def to_frame(self, confidence_level: float | None = None,
                 adjust: tuple[str, ...] = ("holm", "bh")) -> pd.DataFrame:
        """A tidy DataFrame, one row per comparison.

        Columns: the describing columns of :attr:`cells`, any extra columns,
        ``estimate``, ``standard_error``, ``ci_low``, ``ci_high``, ``statistic``,
        ``df``, ``pvalue``, and ``pvalue_<method>`` for each method in ``adjust``
        (default Holm and Benjamini-Hochberg; see :meth:`adjusted_pvalues`).
        """
        out = inference_columns(
            pd.concat([self.cells, self.extra.reset_index(drop=True)], axis=1),
            self.estimate, self.standard_error, self.confidence_interval(confidence_level),
            self.statistic, self.df, self.pvalue)
        for method in adjust:
            out[f"pvalue_{method}"] = self.adjusted_pvalues(method)
        return out

    def to_xarray(self, confidence_level: float | None = None) -> Any:
        """An :class:`xarray.Dataset` indexed by the describing columns (``df`` and the
        other scalars in its attributes)."""
        return table_xarray(
            self.to_frame(confidence_level), list(self.cells.columns), kind=self.kind,
            df=self.df, alternative=self.alternative, scale=self.scale,
            confidence_level=self.confidence_level if confidence_level is None
            else confidence_level)

    def _title(self) -> str:
        df = "normal" if not np.isfinite(self.df) else f"df={self.df:g}"
        side = "" if self.alternative == "two-sided" else f", alternative={self.alternative}"
        return f"Comparison: {self.kind}, {len(self)} rows, {df}{side}"

    def __repr__(self) -> str:
        return table_repr(self._title(), self.to_frame(), "rows")

    def _repr_html_(self) -> str:
        return table_html(self._title(), self.to_frame(), self.confidence_level)


@dataclass(frozen=True)
class JointTest:
    """A joint Wald test of several comparisons (:meth:`Comparison.joint_test`).

    Attributes
    ----------
    method : str
        "Wald", "adjWald" or "Chisq".
    statistic : float
        The F statistic (``X^2`` for "Chisq").
    ndf, ddf : float
        Numerator and denominator degrees of freedom (``ddf`` infinite for "Chisq").
    chisq : float
        The Wald ``X^2 = d' V^- d``.
    pvalue : float
    """

    method: str
    statistic: float
    ndf: float
    ddf: float
    chisq: float
    pvalue: float

    def to_frame(self) -> pd.DataFrame:
        """One row: method, statistic, ndf, ddf, chisq, pvalue."""
        return pd.DataFrame([{"method": self.method, "statistic": self.statistic,
                              "ndf": self.ndf, "ddf": self.ddf, "chisq": self.chisq,
                              "pvalue": self.pvalue}])

    def to_xarray(self) -> Any:
        """An :class:`xarray.Dataset` of the scalars (no dimensions)."""
        import xarray as xr

        frame = self.to_frame()
        return xr.Dataset({c: ((), frame[c].iloc[0]) for c in frame.columns
                           if c != "method"}, attrs={"method": self.method})
