"""Population extrapolation: shares times population totals, with their uncertainty.

A letter that says "48% of werknemers, circa 3.5 million people" multiplies an
estimated share by a population total. :func:`extrapolate` does that for every cell of
an estimate at once, with the covariance of the counts (so that extrapolated domains
can be contrasted and compared like any estimate), and :func:`format_count`,
:func:`format_share` and :func:`rounds_to` print and audit the rounded figures.

The variance of a product ``p N`` of an estimated share ``p`` (covariance ``V`` across
cells) and a population total ``N``:

* a fixed (known) population: ``Var(p N) = N^2 Var(p)``; across cells
  ``diag(N) V diag(N)``;
* an uncertain population with standard error ``s``, independent of the survey:
  Goodman's (1960) exact variance of a product of independent factors,
  ``Var(p N) = N^2 Var(p) + p^2 s^2 + Var(p) s^2`` (``method="goodman"``, the
  default), or the delta method without the last term (``method="delta"``). Across
  cells ``i`` and ``j`` the covariance is ``N_i N_j V_ij + p_i p_j S_ij + V_ij S_ij``,
  where ``S_ij`` is the covariance of the two cells' populations: ``s^2`` when both
  cells use the same population figure (one total for every cell, or a table by
  sector used for every wave), else 0 (different rows of a population table are taken
  as independent).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from nea_covid import intervals
from nea_covid.errors import ArgumentError, PopulationError, plural
from nea_covid.formatting import (
    Language,
    check_digits,
    check_language,
    number_text,
    round_half_up,
)
from nea_covid.replicates import ReplicateEstimates
from nea_covid.results import (
    CellResult,
    ConfidenceInterval,
    Estimate,
    readonly,
    table_html,
    table_repr,
    table_xarray,
)

__all__ = ["Extrapolation", "PublishedCheck", "check_published", "extrapolate", "format_count",
           "format_share", "rounds_to"]

Method = Literal["goodman", "delta"]
Precision = Literal["million", "thousand", "auto"]

#: statistics whose estimates are shares (or per-unit averages) of a population
_EXTRAPOLATABLE = ("mean", "proportion", "ratio")
_WORDS = {("million", "nl"): "miljoen", ("million", "en"): "million",
          ("thousand", "nl"): "duizend", ("thousand", "en"): "thousand"}
_UNITS = {"million": 1e6, "thousand": 1e3}
_PREFIX = {"nl": "circa", "en": "about"}


@dataclass(frozen=True, eq=False, repr=False)
class Extrapolation(CellResult):
    """Population counts estimated as share times population total, one per cell.

    Usable wherever an :class:`~nea_covid.Estimate` is: :func:`nea_covid.contrast` and
    :func:`nea_covid.compare` read its cells, estimates, covariance, degrees of freedom
    and (fixed populations on replicate designs) replicate estimates.

    Attributes
    ----------
    cells : pandas.DataFrame
        The cells of the estimate extrapolated (by-variables, ``variable``, ``level``).
    estimate : ndarray
        Extrapolated counts ``share * population``.
    vcov : ndarray, shape (n_cells, n_cells)
        Their covariance (see :func:`extrapolate`).
    standard_error : ndarray
    df : int
        Degrees of freedom of the estimate (the design's); intervals are
        ``estimate +- t(df) * standard_error``, also when the population is uncertain.
    share : ndarray
        The estimates that were extrapolated.
    share_standard_error : ndarray
    population : ndarray
        The population total of each cell.
    population_se : ndarray
        Its standard error (0 for a fixed population).
    statistic : str
        The statistic extrapolated ("mean", "proportion" or "ratio").
    method : str
        "fixed" (no population uncertainty), "goodman" or "delta".
    by : tuple of str
    confidence_level : float
        Level of the intervals in :meth:`to_frame` (default 0.95).
    definition : Definition or None
        The definition of the share, when it was a
        :class:`~nea_covid.HarmonisedEstimate`: counts say which concept they count.
    """

    cells: pd.DataFrame
    estimate: NDArray[np.float64]
    vcov: NDArray[np.float64]
    df: int
    share: NDArray[np.float64]
    share_standard_error: NDArray[np.float64]
    population: NDArray[np.float64]
    population_se: NDArray[np.float64]
    statistic: str = "mean"
    method: str = "fixed"
    by: tuple[str, ...] = ()
    confidence_level: float = 0.95
    standard_error: NDArray[np.float64] = field(init=False)
    definition: Any = None  # harmonisation.Definition (not imported: no cycle)
    _replicates: ReplicateEstimates | None = field(default=None, repr=False)
    _by_levels: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def definition_id(self) -> str:
        """``"name v<version>"`` of :attr:`definition`, or "" without one."""
        return "" if self.definition is None else str(self.definition.id)

    def __post_init__(self) -> None:
        for name in ("estimate", "vcov", "share", "share_standard_error", "population",
                     "population_se"):
            object.__setattr__(self, name, readonly(getattr(self, name)))
        var = np.diag(self.vcov)
        with np.errstate(invalid="ignore"):
            se = np.sqrt(np.where(var < 0, np.nan, var))
        object.__setattr__(self, "standard_error", readonly(se))
        object.__setattr__(self, "cells", self.cells.reset_index(drop=True))

    # ------------------------------------------------------------------ inference
    def confidence_interval(self, confidence_level: float | None = None) -> ConfidenceInterval:
        """``estimate +- t(df) * standard_error`` for every cell.

        Parameters
        ----------
        confidence_level : float, default :attr:`confidence_level` (0.95)

        Returns
        -------
        ConfidenceInterval
        """
        level = intervals.check_level(self.confidence_level if confidence_level is None
                            else confidence_level)
        low, high = intervals.t_interval(self.estimate, self.standard_error, self.df, level)
        return ConfidenceInterval(np.asarray(low, dtype=np.float64),
                                  np.asarray(high, dtype=np.float64))

    # ------------------------------------------------------------------ output
    def to_frame(self, confidence_level: float | None = None) -> pd.DataFrame:
        """A tidy DataFrame, one row per cell.

        Columns: the columns of :attr:`cells`, ``share``, ``population``
        (``population_se`` when the population is uncertain), ``estimate``,
        ``standard_error``, ``ci_low``, ``ci_high``, ``df``, and ``definition`` when
        the share had one.
        """
        ci = self.confidence_interval(confidence_level)
        out = self.cells.copy()
        out["share"] = self.share
        out["population"] = self.population
        if self.method != "fixed":
            out["population_se"] = self.population_se
        out["estimate"] = self.estimate
        out["standard_error"] = self.standard_error
        out["ci_low"] = ci.low
        out["ci_high"] = ci.high
        out["df"] = self.df
        if self.definition is not None:
            out["definition"] = self.definition_id
        return out.reset_index(drop=True)

    def to_xarray(self, confidence_level: float | None = None) -> Any:
        """An :class:`xarray.Dataset` with the columns of :attr:`cells` as dimensions
        (``df`` and the method in its attributes)."""
        return table_xarray(
            self.to_frame(confidence_level), list(self.cells.columns),
            statistic=self.statistic, method=self.method, df=self.df,
            confidence_level=self.confidence_level if confidence_level is None
            else confidence_level)

    def _title(self) -> str:
        how = {"fixed": "fixed population", "goodman": "uncertain population (Goodman)",
               "delta": "uncertain population (delta method)"}[self.method]
        return (f"Extrapolation: {self.statistic}"
                + (f" by {', '.join(self.by)}" if self.by else "")
                + f" x population, {how}, {len(self)} cells, df={self.df}")

    def __repr__(self) -> str:
        return table_repr(self._title(), self.to_frame(), "cells")

    def _repr_html_(self) -> str:
        return table_html(self._title(), self.to_frame(), self.confidence_level)


# ---------------------------------------------------------------------- extrapolate
def extrapolate(
    estimate: Estimate,
    population: Any,
    population_se: Any = None,
    *,
    method: Method = "goodman",
    confidence_level: float = 0.95,
) -> Extrapolation:
    """Counts in the population: an estimated share (or mean) times a population total.

    Parameters
    ----------
    estimate : Estimate
        A mean, proportion or ratio (``nc.mean``, ``nc.proportion``, ``nc.ratio``),
        possibly by domains. A ratio is multiplied by the population total of its
        denominator. Totals (already counts) and quantiles cannot be extrapolated.
    population : number, mapping, pandas.Series or pandas.DataFrame
        * one number: the same population for every cell, e.g. ``7_435_000``;
        * one population per domain: a mapping from a by-variable to a Series (or a
          dict) indexed by its levels, ``{"sector": pd.Series({"care": 1.3e6, ...})}``
          (a tuple of by-variables with a MultiIndex for several); a Series whose
          index is named after by-variables; or a DataFrame with by-variable columns, a
          ``population`` column and optionally a ``population_se`` column.
          The table may use only some of the by-variables (e.g. populations by sector
          for an estimate by wave and sector: every wave uses the same figures).
          Every domain of the estimate needs a row; rows for domains the estimate does
          not have are ignored.
    population_se : number or mapping or pandas.Series, optional
        Standard error of an uncertain population total (itself an estimate, e.g. from
        the labour force survey), taken as independent of the survey: one number with
        one population, else in the same form as ``population`` (or a
        ``population_se`` column of the DataFrame). Omitted or zero: a fixed
        population.
    method : {"goodman", "delta"}, default "goodman"
        Variance with an uncertain population: Goodman's exact variance of a product
        of independent factors, ``N^2 Var(p) + p^2 Var(N) + Var(p) Var(N)``, or the
        delta method without the last term. The same for fixed populations.
    confidence_level : float, default 0.95
        Level of the intervals in ``to_frame()``.

    Returns
    -------
    Extrapolation
        Counts per cell with their covariance ``diag(N) V diag(N)`` (fixed
        populations), plus ``p_i p_j S_ij + V_ij S_ij`` (Goodman) for uncertain ones,
        where ``S_ij`` is the variance of the population figure that cells ``i`` and
        ``j`` share (0 when they use different rows of a population table, which are
        taken as independent). Intervals use the t distribution on the estimate's
        degrees of freedom. On replicate designs with a fixed population the result
        carries the replicate counts (replicates times ``N``), so nonlinear contrasts
        use the replicates as for any estimate.

    Raises
    ------
    PopulationError
        A negative, missing, infinite or non-numeric population or standard error; a
        domain of the estimate without population; a population table for an
        estimate without by-variables, or naming a column that is not a by-variable;
        an estimate that is a total or a quantile.

    Notes
    -----
    Where the population total is the design's own weighted total of the domain (the
    estimated total of a column of ones), the extrapolated mean equals
    ``nc.total(design, y)``; its standard error ``N SE(mean)`` equals that of the
    total only when the weighted total has no variance (e.g. a design post-stratified
    to ``N``).

    Examples
    --------
    >>> import nea_covid as nc
    >>> from nea_covid.extrapolate import extrapolate
    >>> d = nc.SurveyDesign(nc.datasets.load_api("strat"), weights="pw", strata="stype",
    ...                     fpc="fpc")
    >>> share = nc.proportion(d, "sch.wide")
    >>> ex = extrapolate(share, population=6194)
    >>> [round(float(v)) for v in ex.estimate], [round(float(v)) for v in ex.standard_error]
    ([1066, 5128], [151, 151])
    >>> uncertain = extrapolate(share, population=6194, population_se=100)
    >>> round(float(uncertain.standard_error[1]), 1)
    172.0

    One population per domain:

    >>> import pandas as pd
    >>> sizes = pd.Series({"E": 4421, "H": 755, "M": 1018})
    >>> ex = extrapolate(nc.mean(d, "api00", by="stype"), population={"stype": sizes})
    >>> ex.to_frame()[["stype", "population", "estimate"]].round(0)
      stype  population   estimate
    0     E      4421.0  2981655.0
    1     H       755.0   472494.0
    2     M      1018.0   648059.0
    """
    if not isinstance(estimate, Estimate):
        raise PopulationError(
            "extrapolate() needs an estimate of shares or means (nc.mean, nc.proportion, "
            f"nc.ratio), not {type(estimate).__name__}.")
    if estimate.statistic == "total":
        raise PopulationError(
            "The estimate is a total, already a count in the population; extrapolating "
            "it would multiply by the population twice. Extrapolate a mean or proportion "
            "instead (or use the total as it is).")
    if estimate.statistic not in _EXTRAPOLATABLE:
        raise PopulationError(
            f"A {estimate.statistic} cannot be extrapolated to a count: only means, "
            "proportions and ratios are shares of a population.")
    if method not in ("goodman", "delta"):
        raise PopulationError(f"`method` must be 'goodman' or 'delta', not {method!r}.")

    rows, n_rows, se_rows = _population_rows(estimate, population, population_se)
    n = n_rows[rows]
    s = se_rows[rows]
    p = np.asarray(estimate.estimate, dtype=np.float64)
    v = np.asarray(estimate.vcov, dtype=np.float64)
    uncertain = bool(np.any(s > 0))
    with np.errstate(invalid="ignore"):
        counts = p * n
        vcov = v * np.outer(n, n)
        if uncertain:
            # covariance of the cells' populations: shared rows share their variance
            pop_cov = np.where(rows[:, None] == rows[None, :], np.outer(s, s), 0.0)
            vcov = vcov + pop_cov * np.outer(p, p)
            if method == "goodman":
                vcov = vcov + v * pop_cov
    replicates = None
    if estimate._replicates is not None and not uncertain:
        rep: ReplicateEstimates = estimate._replicates
        replicates = ReplicateEstimates(rep.thetas * n[None, :], rep.scale, rep.rscales,
                                        rep.mse)
    return Extrapolation(
        cells=estimate.cells.copy(), estimate=counts, vcov=vcov, df=estimate.df,
        share=p, share_standard_error=np.asarray(estimate.standard_error, dtype=np.float64),
        population=n, population_se=s, statistic=estimate.statistic,
        method=method if uncertain else "fixed", by=tuple(estimate.by),
        confidence_level=confidence_level, definition=getattr(estimate, "definition", None),
        _replicates=replicates, _by_levels=estimate._by_levels,
    )


def _population_rows(
    estimate: Estimate, population: Any, population_se: Any,
) -> tuple[NDArray[np.intp], NDArray[np.float64], NDArray[np.float64]]:
    """For every cell the row of the population table it uses, and the rows'
    populations and standard errors (one row for a single number)."""
    if _is_scalar(population):
        n = _check_values([_item(population)], "population")
        if population_se is None:
            s = np.zeros(1)
        elif _is_scalar(population_se):
            s = _check_values([_item(population_se)], "population_se")
        else:
            raise PopulationError(
                "With one population figure, `population_se` must be one number too, not "
                f"{type(population_se).__name__}.")
        return np.zeros(len(estimate), dtype=np.intp), n, s

    if not estimate.by:
        raise PopulationError(
            "A population per domain was given, but the estimate has no by-variables; "
            "give one number (the population of the whole estimate), or estimate by "
            "domain (`by=`).")
    table = _table(population, "population", estimate.by)
    if "population_se" in table.columns and population_se is not None:
        raise PopulationError(
            "The population table has a `population_se` column and `population_se` was "
            "given as well; give the standard errors once.")
    keys = [c for c in table.columns if c not in ("population", "population_se")]
    _check_unique(table, keys, "population")
    if population_se is not None:
        if _is_scalar(population_se):
            raise PopulationError(
                "With a population per domain, give a standard error per domain: a "
                "`population_se` column in the population table, or `population_se` in "
                "the same form as `population` (not one number).")
        se_table = _table(population_se, "population_se", estimate.by)
        se_keys = [c for c in se_table.columns if c != "population_se"]
        if sorted(se_keys) != sorted(keys):
            raise PopulationError(
                f"`population_se` is given by {', '.join(se_keys)} but `population` by "
                f"{', '.join(keys)}; give both by the same variables.")
        _check_unique(se_table, keys, "population_se")
        table = _merge(table, se_table, keys, "population_se")

    cells = estimate.cells[keys].reset_index(drop=True)
    found = _merge(cells, table[keys].assign(_row=np.arange(len(table))), keys, "_row")
    missing = found["_row"].isna().to_numpy()
    if missing.any():
        absent = cells.loc[missing, keys].drop_duplicates()
        hint = ""
        if missing.all():  # nothing matches: often numbers against text, or a typo
            hint = (f" None of its domains match the estimate's; the table has "
                    f"{_domains(table[keys].drop_duplicates(), 3)} "
                    f"({', '.join(str(table[k].dtype) for k in keys)}), the estimate "
                    f"{_domains(absent, 3)} ({', '.join(str(cells[k].dtype) for k in keys)}).")
        raise PopulationError(
            f"The population table has no population for "
            f"{plural(len(absent), 'domain')} of the estimate: {_domains(absent)}. "
            f"Add a row for each (rows for other domains are ignored).{hint}")
    # only the rows the estimate uses are checked and used (others are ignored)
    used, rows = np.unique(found["_row"].to_numpy(dtype=np.intp), return_inverse=True)
    table = table.iloc[used].reset_index(drop=True)
    n_table = _check_values(table["population"], "population", table, keys)
    s_table = (np.zeros(len(table)) if "population_se" not in table.columns else
               _check_values(table["population_se"], "population_se", table, keys))
    return rows.astype(np.intp).reshape(-1), n_table, s_table


def _check_unique(table: pd.DataFrame, keys: list[str], what: str) -> None:
    duplicated = table.duplicated(subset=keys, keep=False).to_numpy()
    if duplicated.any():
        raise PopulationError(
            f"The {what} table has {plural(int(duplicated.sum()), 'row')} for the same "
            f"domain ({_domains(table.loc[duplicated, keys].drop_duplicates())}); give one "
            "figure per domain.")


def _table(value: Any, column: str, by: tuple[str, ...]) -> pd.DataFrame:
    """A population (or standard error) table as a DataFrame: key columns and ``column``."""
    if isinstance(value, pd.DataFrame):
        frame = value.reset_index(drop=True)
        if column not in frame.columns:
            raise PopulationError(
                f"The population table needs a {column!r} column (besides the "
                f"by-variables); it has {', '.join(map(repr, frame.columns))}.")
    elif isinstance(value, pd.Series):
        names = list(value.index.names)
        if any(name is None for name in names):
            raise PopulationError(
                f"The {column} Series needs an index named after the by-variable(s) of the "
                f"estimate ({', '.join(by)}), or pass it as a mapping, "
                f"{{{by[0]!r}: series}}.")
        frame = value.rename(column).reset_index()
    elif isinstance(value, Mapping):
        if len(value) != 1:
            raise PopulationError(
                f"Give `{column}` as a mapping from one by-variable (or a tuple of "
                f"by-variables) to its table, e.g. {{{by[0]!r}: series}}; got "
                f"{plural(len(value), 'key')}. For several by-variables use a DataFrame.")
        (key, levels), = value.items()
        names = list(key) if isinstance(key, tuple) else [key]
        series = levels if isinstance(levels, pd.Series) else pd.Series(levels)
        if series.index.nlevels != len(names):
            raise PopulationError(
                f"The {column} table for {key!r} is indexed by {series.index.nlevels} "
                f"levels, not {len(names)}.")
        frame = series.rename(column).rename_axis(names).reset_index()
    else:
        raise PopulationError(
            f"`{column}` must be a number, a mapping {{by-variable: Series}}, a Series or "
            f"a DataFrame, not {type(value).__name__}.")
    keys = [c for c in frame.columns if c not in ("population", "population_se")]
    if not keys:
        raise PopulationError(
            f"The {column} table has no by-variable column to match the estimate's domains "
            f"({', '.join(by)}).")
    unknown = [k for k in keys if k not in by]
    if unknown:
        raise PopulationError(
            f"The {column} table has {', '.join(map(repr, unknown))}, which "
            f"{'is not a by-variable' if len(unknown) == 1 else 'are not by-variables'} "
            f"of the estimate (by {', '.join(map(repr, by))}).")
    return frame


def _merge(left: pd.DataFrame, right: pd.DataFrame, keys: list[str], column: str
           ) -> pd.DataFrame:
    """``left`` with ``column`` of ``right`` matched on ``keys`` (object dtype on both
    sides, so that categories, strings and numbers match by value)."""
    lk = left.astype(dict.fromkeys(keys, object))
    rk = right[[*keys, column]].astype(dict.fromkeys(keys, object))
    return lk.merge(rk, on=keys, how="left", sort=False)


def _domains(frame: pd.DataFrame, limit: int = 5) -> str:
    """Describe the first domains (rows of key columns) of ``frame``."""
    shown = frame.head(limit).astype(object)
    described = shown.apply(
        lambda r: ", ".join(f"{c}={r[c]!r}" for c in frame.columns), axis=1)
    text = "; ".join(described.tolist())
    return text + (", ..." if len(frame) > limit else "")


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, Mapping | pd.Series | pd.DataFrame | list | tuple) and (
        np.ndim(value) == 0)


def _item(value: Any) -> Any:
    """A numpy scalar or 0-d array as a Python scalar."""
    return value.item() if isinstance(value, np.ndarray | np.generic) else value


def _check_values(values: Any, what: str, table: pd.DataFrame | None = None,
                  keys: list[str] | None = None) -> NDArray[np.float64]:
    """Population figures (or standard errors) as floats: numeric, finite, >= 0."""
    def where(bad: NDArray[np.bool_]) -> str:
        if table is None or keys is None:
            return ""
        return f" ({_domains(table.loc[bad, keys])})"

    series = pd.Series(values).reset_index(drop=True)
    kind = pd.api.types.infer_dtype(series, skipna=True)
    if kind not in ("integer", "floating", "mixed-integer-float", "decimal", "empty"):
        numeric = series.map(
            lambda v: isinstance(v, int | float | np.integer | np.floating)
            and not isinstance(v, bool | np.bool_)).to_numpy(dtype=bool)
        bad = ~numeric & series.notna().to_numpy()
        shown = ", ".join(repr(v) for v in series[bad].head(3))
        raise PopulationError(f"The {what} must be numbers; got {shown}{where(bad)}.")
    out = series.to_numpy(dtype=np.float64, na_value=np.nan)
    missing = np.isnan(out)
    if missing.any():
        raise PopulationError(
            f"The {what} is missing (NaN){where(missing)}; every domain needs a figure.")
    infinite = np.isinf(out)
    if infinite.any():
        raise PopulationError(f"The {what} is infinite{where(infinite)}.")
    negative = out < 0
    if negative.any():
        shown = ", ".join(f"{v:g}" for v in out[negative][:3])
        raise PopulationError(
            f"The {what} must not be negative; got {shown}{where(negative)}.")
    return out


# ---------------------------------------------------------------------- formatting
def _as_array(value: Any) -> tuple[NDArray[np.float64], Any]:
    """Values as a float array, and how to return results (None: one string)."""
    try:
        if isinstance(value, pd.Series):
            array = value.to_numpy(dtype=np.float64, na_value=np.nan)
            shape: Any = value.index
        else:
            array = np.asarray(value, dtype=np.float64)
            shape = None if array.ndim == 0 else list
    except (TypeError, ValueError):
        raise PopulationError(f"Only numbers can be formatted, not {value!r}.") from None
    if np.isinf(array).any():
        raise PopulationError("Infinite values cannot be formatted as published figures.")
    return array.reshape(-1), shape


def _output(texts: list[str], shape: Any) -> str | list[str] | pd.Series:
    if shape is None:
        return texts[0]
    if shape is list:
        return texts
    return pd.Series(texts, index=shape, dtype=object)


def format_count(
    value: Any,
    language: Language = "nl",
    precision: Precision = "auto",
    digits: int = 1,
    prefix: str | None = "auto",
) -> str | list[str] | pd.Series:
    """A count as a letter prints it: "circa 3,6 miljoen", "about 3.6 million".

    Parameters
    ----------
    value : number, array-like or pandas.Series
    language : {"nl", "en"}, default "nl"
        Dutch: decimal comma, thousands point, "miljoen"/"duizend"; English: decimal
        point, thousands comma, "million"/"thousand".
    precision : {"auto", "million", "thousand"}, default "auto"
        The unit; "auto" takes millions from 1 million (after rounding), thousands from
        1,000, and whole numbers below.
    digits : int, default 1
        Decimals of the unit (whole numbers below a thousand have none).
    prefix : str or None, default "auto"
        Word before the number: "auto" is "circa" (nl) or "about" (en); None for none.

    Returns
    -------
    str, list of str or pandas.Series
        One string for a number, a list for an array, a Series (same index) for a
        Series. Missing values print as "-". Rounding is half away from zero.

    Examples
    --------
    >>> format_count(0.48 * 7.5e6)
    'circa 3,6 miljoen'
    >>> format_count(0.48 * 7.5e6, language="en")
    'about 3.6 million'
    >>> format_count([0.52 * 7.5e6, 350_400, 812], prefix=None)
    ['3,9 miljoen', '350,4 duizend', '812']
    >>> format_count(7_435_000, language="en", precision="thousand", digits=0, prefix=None)
    '7,435 thousand'
    """
    check_language(language)
    digits = check_digits(digits)
    if precision not in ("auto", "million", "thousand"):
        raise ArgumentError(
            f"`precision` must be 'auto', 'million' or 'thousand', not {precision!r}.")
    x, shape = _as_array(value)
    if precision == "auto":
        millions = np.abs(round_half_up(x / 1e6, digits)) >= 1
        thousands = ~millions & (np.abs(round_half_up(x / 1e3, digits)) >= 1)
        unit = np.where(millions, 1e6, np.where(thousands, 1e3, 1.0))
    else:
        unit = np.full(x.shape, _UNITS[precision])
    places = np.where(unit > 1, digits, 0)
    rounded = np.where(places > 0, round_half_up(x / unit, digits), round_half_up(x / unit, 0))
    word = {1e6: " " + _WORDS["million", language], 1e3: " " + _WORDS["thousand", language],
            1.0: ""}
    lead = "" if prefix is None else (_PREFIX[language] if prefix == "auto" else prefix) + " "
    texts = [
        "-" if np.isnan(r) else f"{lead}{number_text(r + 0.0, int(d), language)}{word[u]}"
        for r, d, u in zip(rounded.tolist(), places.tolist(), unit.tolist(), strict=True)
    ]
    return _output(texts, shape)


def format_share(
    value: Any, language: Language = "nl", digits: int = 0,
) -> str | list[str] | pd.Series:
    """A share (0.48) as a percentage: "48%", "48,0%" (Dutch), "48.0%" (English).

    Parameters
    ----------
    value : number, array-like or pandas.Series
        Shares between 0 and 1.
    language : {"nl", "en"}, default "nl"
    digits : int, default 0
        Decimals of the percentage (rounded half away from zero).

    Returns
    -------
    str, list of str or pandas.Series

    Examples
    --------
    >>> format_share(0.48)
    '48%'
    >>> format_share(0.345, digits=1), format_share(0.345, language="en", digits=1)
    ('34,5%', '34.5%')
    >>> format_share([0.485, 0.52])
    ['49%', '52%']
    """
    check_language(language)
    digits = check_digits(digits)
    x, shape = _as_array(value)
    rounded = round_half_up(x * 100, digits)
    texts = ["-" if np.isnan(r) else f"{number_text(r + 0.0, digits, language)}%"
             for r in rounded.tolist()]
    return _output(texts, shape)


def rounds_to(
    value: Any, published: Any, precision: Literal["million", "thousand"] | float = "million",
    digits: int = 1,
) -> Any:
    """Whether ``value`` rounds to the ``published`` figure (audit of a letter's
    rounding).

    Parameters
    ----------
    value, published : number or array-like
        The computed and the printed figure, in the same units (3.5 million is
        ``3.5e6``).
    precision : {"million", "thousand"} or float, default "million"
        The unit the figure is printed in (a number: the unit itself, e.g. 1 for
        percentages).
    digits : int, default 1
        Decimals of the unit printed.

    Returns
    -------
    bool or ndarray of bool
        ``value`` rounded half away from zero to ``digits`` decimals of the unit equals
        ``published``.

    Examples
    --------
    48% of 7.5 million is 3.6 million, not "circa 3.5 million"; 52% is 3.9 million:

    >>> rounds_to(0.48 * 7.5e6, 3.5e6), rounds_to(0.52 * 7.5e6, 3.9e6)
    (False, True)
    >>> rounds_to(56.7 + 20.0, 75, precision=1, digits=0)
    False
    """
    digits = check_digits(digits)
    if isinstance(precision, str):
        if precision not in _UNITS:
            raise ArgumentError(
                f"`precision` must be 'million', 'thousand' or a number, not {precision!r}.")
        unit = _UNITS[precision]
    else:
        unit = float(precision)
        if not (np.isfinite(unit) and unit > 0):
            raise ArgumentError(f"`precision` must be a positive number, not {precision!r}.")
    try:
        x = np.asarray(value, dtype=np.float64)
        target = np.asarray(published, dtype=np.float64) / unit
    except (TypeError, ValueError):
        raise PopulationError("`value` and `published` must be numbers.") from None
    if x.shape != target.shape and x.ndim and target.ndim:
        raise PopulationError(
            f"`value` has {x.size} numbers and `published` {target.size}; give one published "
            "figure per value.")
    same = np.abs(round_half_up(x / unit, digits) - target) <= 1e-9 * np.maximum(
        1.0, np.abs(target))
    return bool(same) if np.ndim(same) == 0 else same


@dataclass(frozen=True)
class PublishedCheck:
    """Whether published shares, counts and their base agree, from
    :func:`check_published`.

    Attributes
    ----------
    consistent : bool
        One base (within the base's rounding) and shares and counts that round to the
        published ones satisfy ``count = share x base`` for every pair.
    bases : tuple of float
        The bases that fit every pair (lowest, highest); NaN when none does.
    computation : str
        The arithmetic, in words, one line per pair and a verdict.
    """

    consistent: bool
    bases: tuple[float, float]
    computation: str

    def __bool__(self) -> bool:
        return self.consistent


def _rounding_range(value: Any, unit: float, digits: int) -> tuple[Any, Any]:
    half = 0.5 * unit * 10.0 ** (-digits)
    return value - half, value + half


def check_published(
    share: Any, count: Any, base: float, *, share_digits: int = 0,
    count_precision: Literal["million", "thousand"] | float = "million",
    count_digits: int = 1, base_precision: Literal["million", "thousand"] | float | None = None,
    base_digits: int = 1, rounding: dict[str, Any] | None = None,
) -> PublishedCheck:
    """Say whether published shares, counts and their common base agree under the
    stated rounding, showing the arithmetic.

    Parameters
    ----------
    share : float or sequence
        Published shares as proportions (0.48 for "48%").
    count : float or sequence
        The published counts (3.5e6 for "circa 3,5 miljoen"), one per share.
    base : float
        The population the shares refer to (7.5e6).
    share_digits : int, default 0
        Decimals of the percentages as printed ("48%": 0; "34.5%": 1).
    count_precision, count_digits
        Unit and decimals of the printed counts ("3.5 million": "million", 1).
    base_precision, base_digits
        Unit and decimals of the printed base when it is rounded too ("7.5 million":
        "million", 1); None (default) takes the base as exact.
    rounding : dict, optional
        The same in one argument: ``{"share": 0, "count": ("million", 1), "base":
        ("million", 1)}`` (any of the three keys).

    Returns
    -------
    PublishedCheck
        Consistent when one base fits every pair: for each, the bases ``b`` with some
        share and count that round to the published ones and ``count = share x b``,
        intersected with each other and with the base's own rounding.

    Examples
    --------
    The letter's "48% of 7.5 million werknemers, circa 3.5 million" does not fit the
    7.5 million it names:

    >>> check_published(0.48, 3.5e6, 7.5e6).consistent
    False

    With "52%, circa 3.9 million" on the same base, and the base itself rounded: if
    the percentages are exact (here to one decimal), no base fits both; only if 48%
    may be as low as 47.5% does one (7.45 to 7.47 million):

    >>> check = check_published([0.48, 0.52], [3.5e6, 3.9e6], 7.5e6,
    ...                         base_precision="million", share_digits=1)
    >>> print(check.computation)
    48.0% (47.95-48.05%) of b is "3.5 million" (3.45-3.55) for b = 7.180-7.404 million
    52.0% (51.95-52.05%) of b is "3.9 million" (3.85-3.95) for b = 7.397-7.603 million
    the base "7.5 million" is 7.450-7.550 million
    no single base fits: inconsistent
    >>> check_published([0.48, 0.52], [3.5e6, 3.9e6], 7.5e6, base_precision="million").bases
    (7450000.0, 7473684.210526316)
    """
    if rounding is not None:
        unknown = set(rounding) - {"share", "count", "base"}
        if unknown:
            raise PopulationError(
                f"`rounding` takes the keys 'share', 'count' and 'base', not {sorted(unknown)}.")
        share_digits = int(rounding.get("share", share_digits))
        for key in ("count", "base"):
            if key in rounding and not (isinstance(rounding[key], tuple | list)
                                        and len(rounding[key]) == 2):
                raise PopulationError(
                    f"`rounding[{key!r}]` is a pair (unit, decimals), e.g. ('million', 1), "
                    f"not {rounding[key]!r}.")
        if "count" in rounding:
            count_precision, count_digits = rounding["count"]
        if "base" in rounding:
            base_precision, base_digits = rounding["base"]
    shares = np.atleast_1d(np.asarray(share, dtype=np.float64))
    counts = np.atleast_1d(np.asarray(count, dtype=np.float64))
    if shares.shape != counts.shape or shares.ndim != 1 or shares.size == 0:
        raise PopulationError("`share` and `count` need the same (non-zero) number of values.")
    for name, values in (("share", shares), ("count", counts),
                         ("base", np.asarray([base], dtype=np.float64))):
        if not (np.all(np.isfinite(values)) and np.all(values >= 0)):
            raise PopulationError(f"`{name}` must be finite and non-negative.")
    if np.any(shares > 1):
        raise PopulationError("`share` is a proportion in [0, 1] (0.48 for 48%).")

    def unit_of(precision: Any) -> float:
        if isinstance(precision, str):
            if precision not in _UNITS:
                raise PopulationError(
                    f"A precision must be 'million', 'thousand' or a number, not {precision!r}.")
            return _UNITS[precision]
        try:
            unit = float(precision)
        except (TypeError, ValueError):
            unit = float("nan")
        if not (np.isfinite(unit) and unit > 0):
            raise PopulationError(f"A precision must be a positive number, not {precision!r}.")
        return unit

    sd, cd = check_digits(share_digits), check_digits(count_digits)
    s_lo, s_hi = _rounding_range(100 * shares, 1.0, sd)
    s_lo, s_hi = np.maximum(s_lo, 0.0) / 100, np.minimum(s_hi, 100.0) / 100
    c_unit = unit_of(count_precision)
    c_lo, c_hi = _rounding_range(counts, c_unit, cd)
    c_lo = np.maximum(c_lo, 0.0)
    with np.errstate(divide="ignore"):
        b_lo_each = np.where(s_hi > 0, c_lo / s_hi, 0.0)
        b_hi_each = np.where(s_lo > 0, c_hi / s_lo, np.inf)
    if base_precision is None:
        base_lo = base_hi = float(base)
    else:
        base_lo, base_hi = _rounding_range(float(base), unit_of(base_precision),
                                           check_digits(base_digits))
    lo = max(float(b_lo_each.max()), base_lo)
    hi = min(float(b_hi_each.min()), base_hi)
    # exact bases: allow for binary noise in the products
    consistent = lo <= hi * (1 + 1e-12)
    name = {1e6: " million", 1e3: " thousand"}.get(c_unit, "")

    def rng(a: float, b: float) -> str:
        return f"{a / c_unit:.3f}-{b / c_unit:.3f}{name}"

    lines = [
        f"{100 * p:.{sd}f}% ({100 * a:.{sd + 1}f}-{100 * b:.{sd + 1}f}%) of b is "
        f"\"{c / c_unit:.{cd}f}{name}\" ({c_lo_i / c_unit:.{cd + 1}f}-"
        f"{c_hi_i / c_unit:.{cd + 1}f}) for b = {rng(bl, bh)}"
        for p, a, b, c, c_lo_i, c_hi_i, bl, bh in zip(
            shares, s_lo, s_hi, counts, c_lo, c_hi, b_lo_each, b_hi_each, strict=True)]
    if base_precision is None:
        lines.append(f"the base is {float(base) / c_unit:.4g}{name} exactly")
    else:
        b_unit = unit_of(base_precision)
        b_name = {1e6: " million", 1e3: " thousand"}.get(b_unit, "")
        b_text = number_text(float(round_half_up(np.asarray(float(base) / b_unit),
                                                   base_digits)), base_digits, "en")
        lines.append(f"the base \"{b_text}{b_name}\" is {rng(base_lo, base_hi)}")
    lines.append(f"bases {rng(lo, hi)} fit: consistent" if consistent
                 else "no single base fits: inconsistent")
    bases = (lo, hi) if consistent else (float("nan"), float("nan"))
    return PublishedCheck(bool(consistent), bases, "\n".join(lines))
