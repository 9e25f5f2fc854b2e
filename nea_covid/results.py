"""The one result type of every estimator: :class:`Estimate`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from nea_covid import intervals
from nea_covid.errors import ArgumentError

__all__ = ["ConfidenceInterval", "Estimate"]

IntervalMethod = Literal["t", "mean", "logit", "likelihood", "asin", "beta", "xlogit", "woodruff"]


class ConfidenceInterval(NamedTuple):
    """Lower and upper bounds, one per cell."""

    low: NDArray[np.float64]
    high: NDArray[np.float64]


def readonly(a: Any, dtype: Any = np.float64) -> NDArray[Any]:
    """A read-only copy of ``a`` (result arrays cannot be changed by accident)."""
    out = np.array(a, dtype=dtype)
    out.setflags(write=False)
    return out


class CellResult:
    """What every result with one row per quantity shares: rows described by
    ``cells``, values in ``estimate``."""

    cells: pd.DataFrame
    estimate: NDArray[np.float64]

    def _label(self, i: int) -> str:
        row = self.cells.iloc[i]
        return ", ".join(f"{c}={row[c]}" for c in self.cells.columns)

    def __len__(self) -> int:
        return int(self.estimate.shape[0])

    def plot(self, kind: str | None = None, **kwargs: Any) -> Any:
        """Draw the result with its intervals (matplotlib: ``nea_covid[plot]``).

        The default chart follows the result: an :class:`Estimate` with a ``wave``
        column over the waves (:func:`nea_covid.plot.trend`), other estimates a row per
        cell (:func:`nea_covid.plot.domains`); an :class:`~nea_covid.Extrapolation` its
        counts (:func:`nea_covid.plot.counts`); a :class:`~nea_covid.Comparison` the
        differences, significant ones filled (:func:`nea_covid.plot.changes`); a
        :class:`~nea_covid.Regression` its coefficients
        (:func:`nea_covid.plot.coefficients`). ``kind`` and ``**kwargs`` as
        :func:`nea_covid.plot.draw`.

        Returns
        -------
        matplotlib.axes.Axes

        Examples
        --------
        >>> import nea_covid as nc
        >>> d = nc.SurveyDesign(nc.datasets.load_api("strat"), weights="pw",
        ...                     strata="stype", fpc="fpc")
        >>> ax = nc.mean(d, "api00", by="stype").plot(sort=True, language="nl")
        >>> change = nc.compare(nc.mean(d, ["api99", "api00"], by="stype"), "variable")
        >>> ax = change.plot(adjust="holm")
        """
        from nea_covid.plot import draw

        return draw(self, kind, **kwargs)

    def publication_table(self, **kwargs: Any) -> pd.DataFrame:
        """The table a report prints: rounded numbers, the interval as text
        ("[45,1; 49,9]"), Dutch or English headers; keywords as
        :func:`nea_covid.publication_table`."""
        from nea_covid.export import publication_table

        result: Any = self  # one of the result classes
        return publication_table(result, **kwargs)

    def to_csv(self, path: Any, **kwargs: Any) -> Any:
        """Write :meth:`publication_table` to a CSV file (``language="nl"``: ``;`` and a
        decimal comma, as Dutch Excel reads it); keywords as :func:`nea_covid.to_csv`.
        Returns the path written. (:meth:`to_frame` gives the unrounded numbers.)"""
        from nea_covid.export import to_csv

        result: Any = self  # one of the result classes
        return to_csv(result, path, **kwargs)

    def to_excel(self, path: Any, **kwargs: Any) -> Any:
        """Write :meth:`publication_table` to an Excel workbook (``.xlsx``, needs
        ``nea_covid[excel]``); keywords as :func:`nea_covid.to_excel`. Returns the path
        written."""
        from nea_covid.export import to_excel

        result: Any = self  # one of the result classes
        return to_excel(result, path, **kwargs)


def inference_columns(
    frame: pd.DataFrame, estimate: NDArray[np.float64], standard_error: NDArray[np.float64],
    ci: ConfidenceInterval, statistic: NDArray[np.float64], df: float,
    pvalue: NDArray[np.float64],
) -> pd.DataFrame:
    """``frame`` with the tests' columns in the order every result uses: estimate,
    standard_error, ci_low, ci_high, statistic, df, pvalue."""
    out = frame.copy()
    out["estimate"] = estimate
    out["standard_error"] = standard_error
    out["ci_low"] = ci.low
    out["ci_high"] = ci.high
    out["statistic"] = statistic
    out["df"] = df
    out["pvalue"] = pvalue
    return out.reset_index(drop=True)


def table_xarray(frame: pd.DataFrame, dims: list[str], **attrs: Any) -> Any:
    """A result's table as an :class:`xarray.Dataset` over ``dims`` (unobserved
    combinations NaN), with ``df`` and the other scalars as attributes."""
    ds = frame.drop(columns="df", errors="ignore").set_index(dims).to_xarray()
    ds.attrs.update(attrs)
    return ds


def table_repr(title: str, frame: pd.DataFrame, noun: str = "rows") -> str:
    """A result's text display: its title and the first 20 rows of its table."""
    body = frame.drop(columns=["df"], errors="ignore").head(20).to_string(
        index=False, float_format=lambda x: f"{x:.6g}")
    more = f"\n... {len(frame) - 20} more {noun}" if len(frame) > 20 else ""
    return f"{title}\n{body}{more}"


def table_html(title: str, frame: pd.DataFrame, confidence_level: float) -> str:
    """A result's HTML display (Jupyter): its title and table."""
    level = round(100 * confidence_level)
    table = frame.drop(columns=["df"], errors="ignore").to_html(
        index=False, float_format=lambda x: f"{x:.6g}", border=0)
    return f"<div><p><b>{title}</b> &mdash; {level}% intervals</p>{table}</div>"


@dataclass(frozen=True, eq=False, repr=False)
class Estimate(CellResult):
    """Design-based estimates with their full covariance matrix.

    One object for means, totals, proportions, ratios and quantiles, for the whole
    population or for domains. The cells (one per estimated quantity) are described
    by :attr:`cells`; all arrays follow that order.

    Attributes
    ----------
    statistic : str
        "mean", "total", "proportion", "ratio" or "quantile".
    cells : pandas.DataFrame
        One row per cell: a column per ``by`` variable, ``variable``, and ``level``
        (proportions) or ``quantile`` (quantiles).
    estimate : ndarray
        Point estimates.
    vcov : ndarray, shape (n_cells, n_cells)
        Covariance across all cells (also across domains, so that domains and waves
        can be contrasted). For quantiles, see :func:`nea_covid.quantile`.
    standard_error : ndarray
        Standard errors.
    df : int
        Degrees of freedom for intervals and tests (the design's ``degf``).
    n_obs : ndarray of int
        Number of observations (rows with the variable observed) per cell.
    deff : ndarray
        Design effects as R's ``deff=TRUE`` (variance over the variance of simple
        random sampling without replacement of the same size); NaN where undefined:
        quantiles, empty cells, and weights that sum to the sample size or less
        (normalised weights), where the comparison has no meaning.
    by : tuple of str
        The domain variables.
    n_missing : int
        Rows of the domain left out because of missing values (``missing="omit"``).
    confidence_level : float
        Level of the intervals in :meth:`to_frame` (default 0.95).
    """

    statistic: str
    cells: pd.DataFrame
    estimate: NDArray[np.float64]
    vcov: NDArray[np.float64]
    standard_error: NDArray[np.float64]
    df: int
    n_obs: NDArray[np.int64]
    deff: NDArray[np.float64]
    by: tuple[str, ...] = ()
    n_missing: int = 0
    confidence_level: float = 0.95
    interval_method: str = "t"
    _n_rows: NDArray[np.int64] | None = field(default=None, repr=False)
    _domain_df: NDArray[np.float64] | None = field(default=None, repr=False)
    _special_interval: Callable[[float, str], ConfidenceInterval] | None = field(
        default=None, repr=False
    )
    _replicates: Any = field(default=None, repr=False)  # ReplicateEstimates or None
    _by_levels: dict[str, Any] | None = field(default=None, repr=False)  # code order

    def __post_init__(self) -> None:
        for name in ("estimate", "vcov", "standard_error", "deff"):
            object.__setattr__(self, name, readonly(getattr(self, name)))
        object.__setattr__(self, "n_obs", readonly(self.n_obs, np.int64))

    # ------------------------------------------------------------------ inference
    def confidence_interval(
        self, confidence_level: float | None = None, method: IntervalMethod | None = None
    ) -> ConfidenceInterval:
        """Confidence intervals for every cell.

        Parameters
        ----------
        confidence_level : float, default 0.95
        method : str, optional
            "t" (estimate +- t quantile on the design df times SE; the default) for
            every statistic. Proportions also take R's ``svyciprop`` methods:
            "logit", "likelihood", "asin", "beta" (Korn-Graubard), "mean" (= "t"),
            "xlogit". Quantiles use Woodruff intervals ("woodruff", their default).
            Like R, "beta" corrects its effective sample size with each domain's own
            degrees of freedom (R's ``degf`` of the domain's subset design).

        Returns
        -------
        ConfidenceInterval
            ``(low, high)`` arrays, one value per cell.
        """
        level = intervals.check_level(self.confidence_level if confidence_level is None
                            else confidence_level)
        method = method or self.interval_method  # type: ignore[assignment]
        if method in ("t", "mean", "wald") and self.statistic != "quantile":
            low, high = intervals.t_interval(self.estimate, self.standard_error, self.df, level)
            return ConfidenceInterval(low, high)
        if self.statistic == "proportion" and method in ("logit", "asin", "beta", "xlogit"):
            low, high = intervals.proportion_interval(
                method, self.estimate, self.standard_error, self.df, level,
                n_obs=self.n_obs if self._n_rows is None else self._n_rows,
                domain_df=self._domain_df,
            )
            return ConfidenceInterval(low, high)
        if self._special_interval is not None:
            return self._special_interval(level, str(method))
        raise ArgumentError(
            f"Interval method {method!r} is not available for a {self.statistic}; "
            "use 't'" + (" (or 'logit', 'likelihood', 'asin', 'beta', 'xlogit')"
                         if self.statistic == "proportion" else "") + "."
        )

    # ------------------------------------------------------------------ output
    def to_frame(
        self, confidence_level: float | None = None, method: IntervalMethod | None = None
    ) -> pd.DataFrame:
        """A tidy DataFrame, one row per cell.

        Columns: each ``by`` variable, ``variable``, ``level`` (proportions) or
        ``quantile`` (quantiles), ``estimate``, ``standard_error``, ``ci_low``,
        ``ci_high``, ``df``, ``n_obs``, ``deff``.
        """
        ci = self.confidence_interval(confidence_level, method)
        out = self.cells.copy()
        out["estimate"] = self.estimate
        out["standard_error"] = self.standard_error
        out["ci_low"] = ci.low
        out["ci_high"] = ci.high
        out["df"] = self.df
        out["n_obs"] = self.n_obs
        out["deff"] = self.deff
        return out.reset_index(drop=True)

    def to_xarray(
        self, confidence_level: float | None = None, method: IntervalMethod | None = None
    ) -> Any:
        """An :class:`xarray.Dataset` with the by-variables, ``variable`` and ``level``
        (or ``quantile``) as dimensions; unobserved combinations are NaN."""
        return table_xarray(
            self.to_frame(confidence_level, method), list(self.cells.columns),
            statistic=self.statistic, df=self.df, n_missing=self.n_missing,
            confidence_level=self.confidence_level if confidence_level is None
            else confidence_level)

    def __repr__(self) -> str:
        frame = self.to_frame()
        shown = frame.drop(columns=["df"]).head(20)
        head = (
            f"Estimate: {self.statistic}"
            + (f" by {', '.join(self.by)}" if self.by else "")
            + f", {len(self)} cells, df={self.df}"
            + (f", {self.n_missing} rows omitted (missing)" if self.n_missing else "")
        )
        body = shown.to_string(index=False, float_format=lambda x: f"{x:.6g}")
        more = f"\n... {len(frame) - 20} more cells" if len(frame) > 20 else ""
        return f"{head}\n{body}{more}"

    def _repr_html_(self) -> str:
        frame = self.to_frame().drop(columns=["df"])
        level = round(100 * self.confidence_level)
        caption = (
            f"{self.statistic}" + (f" by {', '.join(self.by)}" if self.by else "")
            + f" &mdash; {level}% intervals, df = {self.df}"
            + (f"; {self.n_missing} rows omitted (missing)" if self.n_missing else "")
        )
        table = frame.to_html(index=False, float_format=lambda x: f"{x:.6g}", border=0)
        return f"<div><p><b>Estimate</b>: {caption}</p>{table}</div>"
