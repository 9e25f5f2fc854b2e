"""Survey designs: stratified multi-stage cluster samples with finite population corrections.

A :class:`SurveyDesign` is built once from a DataFrame and column names. It validates
the design columns, turns them into integer codes per sampling stage, derives weights
where needed, and is immutable afterwards: estimators read it, ``subset`` returns a new
design restricted to a domain. The variance computations in :mod:`nea_covid.variance`
only ever see the integer codes prepared here.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Self, TypeAlias

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from nea_covid.errors import (
    CalibrationError,
    ColumnNotFoundError,
    DesignError,
    FPCError,
    LonelyPSUError,
    LonelyPSUWarning,
    MissingValueError,
    NestingError,
    SurveyError,
    WeightError,
    close_matches,
    plural,
    row_labels,
)

if TYPE_CHECKING:
    from nea_covid.results import Estimate

__all__ = ["BaseDesign", "LonelyPSU", "SurveyDesign"]

LonelyPSU: TypeAlias = Literal["raise", "remove", "adjust", "average", "certainty"]
_LONELY_RULES = ("raise", "remove", "adjust", "average", "certainty")
Columns: TypeAlias = str | Sequence[str] | None

#: Sampling fractions below this are treated as certainty selections (as R's survey).
CERTAINTY_TOLERANCE = 1e-7


@dataclass(frozen=True, eq=False)
class Stage:
    """Integer codes of one sampling stage, as the variance code needs them.

    Attributes
    ----------
    unit : ndarray of intp, shape (n,)
        Code of each row's sampling unit at this stage (unique across the sample,
        nested in the units of the previous stage).
    group : ndarray of intp, shape (n_units,)
        Stratum of each unit, nested in its parent unit (R's ``strata[, stage]``).
    group_size : ndarray of float, shape (n_groups,)
        Number of sampled units in each group in the full design (R's ``nPSU``).
    popsize : ndarray of float, shape (n_groups,), or None
        Number of population units in each group (``inf`` or None: with replacement).
    fraction_before : ndarray of float, shape (n_groups,)
        Product of the sampling fractions of the earlier stages above each group; the
        multiplier of this stage's variance contribution.
    labels : pandas.Index
        Human-readable name of each group, for messages.
    """

    unit: NDArray[np.intp]
    group: NDArray[np.intp]
    group_size: NDArray[np.float64]
    popsize: NDArray[np.float64] | None
    fraction_before: NDArray[np.float64]
    labels: pd.Index

    @property
    def n_units(self) -> int:
        return int(self.group.shape[0])

    @property
    def n_groups(self) -> int:
        return int(self.group_size.shape[0])

    def finite_correction(self) -> NDArray[np.float64]:
        """``(N - n) / N`` per group, 1 where sampled with replacement."""
        if self.popsize is None:
            return np.ones(self.n_groups)
        with np.errstate(invalid="ignore", divide="ignore"):
            f = (self.popsize - self.group_size) / self.popsize
        return np.where(np.isinf(self.popsize), 1.0, f)

    def sampling_fraction(self) -> NDArray[np.float64]:
        """``n / N`` per group, 0 where sampled with replacement."""
        if self.popsize is None:
            return np.zeros(self.n_groups)
        return self.group_size / self.popsize


def design_value_error(role: str, col: str, what: str, count: int, where: str) -> SurveyError:
    """The error for ``count`` bad values (``what``: "missing", "infinite",
    "negative", "nonpositive") in a design column; ``where`` names the first rows."""
    if role == "weights":
        return WeightError(
            f"Weights column {col!r} has {plural(count, f'{what} weight')} ({where}). Survey "
            "weights must be finite and non-negative; to leave rows out of estimates use "
            "`design.subset(...)`."
        )
    if role == "fpc":
        if what == "missing":
            return MissingValueError(
                f"fpc column {col!r} has {plural(count, 'missing value')} ({where}). The fpc "
                "must be known for every row."
            )
        return FPCError(
            f"fpc column {col!r} has {plural(count, 'value')} <= 0 ({where}). Give "
            "population sizes (>= 1) or sampling fractions in (0, 1]."
        )
    return MissingValueError(
        f"{role.capitalize()} column {col!r} has {plural(count, 'missing value')} ({where}). "
        "Design columns must be complete: fill them in, or drop those rows before building "
        "the design."
    )


def rows_needed(what: str) -> DesignError:
    """The error for ``what`` on a design whose rows are a Dask DataFrame."""
    return DesignError(
        f"{what} is not available for a design on a Dask DataFrame (yet): it needs the "
        "rows in memory. On Dask, estimate means, totals, ratios, proportions and "
        "quantiles (and compare, contrast or extrapolate their results), or compute "
        "on a pandas DataFrame (`ddf[columns].compute()` if it fits)."
    )


def require_rows(design: Any, what: str) -> None:
    """Refuse a design on a Dask DataFrame where ``what`` needs its rows in memory."""
    if getattr(design, "_partitioned", False):
        raise rows_needed(what)


def is_dask_frame(data: Any) -> bool:
    """Whether ``data`` is a Dask DataFrame (checked without importing dask)."""
    return type(data).__module__.split(".")[0] == "dask" and hasattr(data, "to_delayed")


def _as_list(columns: Columns, what: str) -> list[str]:
    if columns is None:
        return []
    if isinstance(columns, str) or not isinstance(columns, Iterable):
        return [columns]  # any hashable column label
    return list(columns)


def factorize(values: pd.Series) -> tuple[NDArray[np.intp], pd.Index]:
    """Integer codes (0..k-1, in sorted or category order) and the distinct values."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        cat = values.cat.remove_unused_categories()
        return np.asarray(cat.cat.codes, dtype=np.intp), pd.Index(cat.cat.categories)
    if pd.api.types.is_integer_dtype(values.dtype) and not isinstance(
        values.dtype, pd.api.extensions.ExtensionDtype
    ):
        fast = _factorize_small_ints(values.to_numpy())
        if fast is not None:
            return fast
    codes, uniques = pd.factorize(values, sort=True)
    return np.asarray(codes, dtype=np.intp), pd.Index(uniques)


def _factorize_small_ints(v: NDArray[Any]) -> tuple[NDArray[np.intp], pd.Index] | None:
    """Sorted factorisation of integers spanning a small range, by counting."""
    if v.size == 0:
        return None
    low, high = int(v.min()), int(v.max())
    if high - low > 4 * v.size + 1000:
        return None
    shifted = (v - low).astype(np.intp, copy=False)
    present = np.bincount(shifted, minlength=high - low + 1) > 0
    lookup = np.cumsum(present, dtype=np.intp) - 1
    values = np.flatnonzero(present) + low
    return lookup[shifted], pd.Index(values.astype(v.dtype))


def combine_codes(*codes: NDArray[np.intp]) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Code the distinct combinations of several code arrays.

    Returns the combined code per row and, for each combination, the row index of its
    first occurrence.
    """
    key = np.zeros(codes[0].shape[0], dtype=np.int64)
    for c in codes:
        span = int(c.max()) + 1 if c.size else 1
        key = key * span + c
    out, first = _factorize_int(key)
    return out, first


def _factorize_int(key: NDArray[np.int64]) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    fast = _factorize_small_ints(key)
    if fast is not None:
        codes, n_distinct = fast[0], len(fast[1])
    else:
        raw, uniques = pd.factorize(key, sort=True)
        codes, n_distinct = np.asarray(raw, dtype=np.intp), len(uniques)
    first = np.empty(n_distinct, dtype=np.intp)
    first[codes[::-1]] = np.arange(codes.shape[0] - 1, -1, -1, dtype=np.intp)
    return codes, first


def _copy_on_write() -> bool:
    """Whether pandas protects shallow copies from later edits (always from 3.0)."""
    if int(pd.__version__.split(".")[0]) >= 3:
        return True
    return bool(pd.get_option("mode.copy_on_write") is True)


def _bounds(bounds: Any) -> tuple[float, float]:
    if bounds is None:
        return (-np.inf, np.inf)
    try:
        low, high = (float(b) for b in bounds)
    except (TypeError, ValueError):
        raise DesignError(f"`bounds` must be two numbers (lower, upper), not {bounds!r}.") from None
    if not low < 1 < high:
        raise DesignError(f"`bounds` must satisfy lower < 1 < upper, not {bounds!r}.")
    return low, high


class BaseDesign:
    """What every design shares: the data, the weights, the domain, and how
    estimators reach them. :class:`SurveyDesign` adds strata and clusters (Taylor
    variance); :class:`nea_covid.ReplicateDesign` adds replicate weights."""

    __slots__ = ("_all_positive", "_calibration", "_data", "_domain", "_n_positive",
                 "_weights", "calibration", "degf")

    #: Whether the rows live in partitions (a Dask DataFrame): estimators then go
    #: through :mod:`nea_covid.distributed`.
    _partitioned = False

    _all_positive: bool
    _calibration: tuple[Any, ...]
    calibration: Any
    _data: pd.DataFrame
    _domain: NDArray[np.bool_] | None
    _n_positive: int
    _weights: NDArray[np.float64]
    degf: int

    def _init_data(self, data: pd.DataFrame) -> None:
        if not isinstance(data, pd.DataFrame):
            raise DesignError(
                f"`data` must be a pandas DataFrame, not {type(data).__name__}."
            )
        if data.shape[0] == 0:
            raise DesignError("`data` has no rows.")
        # a shallow copy: with pandas copy-on-write, later edits of the user's frame
        # do not reach the design, and nothing is copied now.
        self._data = data.copy(deep=not _copy_on_write())
        self._domain = None
        self._calibration = ()
        self.calibration = None

    def _set_weights(self, weights: NDArray[np.float64]) -> None:
        self._weights = weights
        self._n_positive = int(np.count_nonzero(weights))
        self._all_positive = self._n_positive == weights.shape[0]

    def _compute_degf(self) -> int:
        raise NotImplementedError

    # ------------------------------------------------------------------ calibration
    def _copy(self) -> Self:
        new = object.__new__(type(self))
        for cls in type(self).__mro__:
            for slot in getattr(cls, "__slots__", ()):
                object.__setattr__(new, slot, getattr(self, slot))
        return new

    def _recalibrated(self, weights: NDArray[np.float64], residualizer: Any,
                      transform: Any, info: Any) -> Self:
        """A copy with new weights; Taylor designs remember ``residualizer`` for the
        variance, replicate designs apply ``transform`` to every replicate."""
        raise NotImplementedError

    def _check_full(self, what: str) -> None:
        if self._domain is not None:
            raise DesignError(
                f"{what} the full design, then take the subset: calibration margins refer "
                "to the whole population."
            )

    def poststratify(self, variable: str, totals: Any) -> Self:
        """Post-stratify the weights to population counts of one categorical variable.

        Parameters
        ----------
        variable : str
            A categorical column (every level in the data needs a count).
        totals : mapping, pandas.Series or DataFrame
            Population count per level (a DataFrame: the variable and one count
            column).

        Returns
        -------
        SurveyDesign or ReplicateDesign
            New design with ``calibration`` describing what was done. Taylor
            variances use the post-stratification residuals, replicate designs
            post-stratify every replicate (R's ``postStratify``).

        Examples
        --------
        >>> import nea_covid as nc
        >>> d = nc.SurveyDesign(nc.datasets.load_api("clus1"), weights="pw",
        ...                     clusters="dnum", fpc="fpc")
        >>> ps = d.poststratify("stype", {"E": 4421, "H": 755, "M": 1018})
        >>> round(float(ps.weights.sum()))
        6194
        """
        from nea_covid import calibration as cal

        self._check_full("Post-stratify")
        spec = cal.parse_margins(self, {variable: totals})[0]
        if spec.codes is None:
            raise CalibrationError(
                f"Post-stratification needs a categorical variable; for the numeric "
                f"{variable!r} use `design.calibrate(...)`."
            )
        codes, counts = spec.codes, spec.totals
        weights = cal.poststratify_weights(self._weights, codes, counts)
        step = cal.Residualizer("poststratify", codes=(codes,), weights_after=(weights,),
                                old_weights=self._weights)
        info = cal.CalibrationInfo("poststratify", 1,
                                   cal.check_reached(weights, [spec], "Post-stratification"),
                                   (variable,))

        def every(w: NDArray[np.float64]) -> NDArray[np.float64]:
            out = cal.poststratify_weights(w, codes, counts)
            cal.check_reached(out, [spec], "Post-stratification of the replicates")
            return out

        return self._recalibrated(weights, step, every, info)

    def rake(self, margins: Any, *, max_iter: int = 100, tol: float = 1e-10,
             progress: bool | None = None) -> Self:
        """Rake (iterative proportional fitting) to several categorical margins.

        Parameters
        ----------
        margins : mapping
            Variable -> population counts per level (mapping, Series or DataFrame).
        max_iter : int, default 100
        tol : float, default 1e-10
            Stop when every margin is reproduced to ``tol`` times the population size.
        progress : bool, optional
            Show a progress bar over the iterations (when raking takes over half a
            second; see :mod:`nea_covid.progress`). None: the setting of
            :func:`nea_covid.set_progress`.

        Returns
        -------
        SurveyDesign or ReplicateDesign
            ``calibration`` reports the iterations and the largest deviation. Taylor
            variances use R's raking residuals (ten back-fitting sweeps, as
            ``svyrecvar``); replicate designs rake every replicate.

        Examples
        --------
        >>> import nea_covid as nc
        >>> d = nc.SurveyDesign(nc.datasets.load_api("clus1"), weights="pw",
        ...                     clusters="dnum", fpc="fpc")
        >>> r = d.rake({"stype": {"E": 4421, "H": 755, "M": 1018},
        ...             "sch.wide": {"No": 1072, "Yes": 5122}})
        >>> r.calibration.max_deviation < 1e-6
        True
        """
        from nea_covid import calibration as cal

        self._check_full("Rake")
        specs = cal.parse_margins(self, margins)
        numeric = [s.name for s in specs if s.codes is None]
        if numeric:
            raise CalibrationError(
                f"Raking needs categorical margins; {numeric[0]!r} is numeric. Use "
                "`design.calibrate(..., method='raking')` to include numeric totals."
            )
        cal.check_population_sizes(specs)
        weights, iterations, deviation, after = cal.rake_weights(
            self._weights, specs, max_iter, tol, progress=progress)
        step = cal.Residualizer(
            "rake", codes=tuple(s.codes for s in specs if s.codes is not None),
            weights_after=tuple(after))
        info = cal.CalibrationInfo("rake", iterations, deviation,
                                   tuple(s.name for s in specs))
        return self._recalibrated(
            weights, step,
            lambda w: cal.rake_weights(w, specs, max_iter, tol, progress=progress,
                                       what="raking the replicates")[0], info)

    def calibrate(
        self,
        margins: Any,
        *,
        method: str = "linear",
        bounds: tuple[float, float] | None = None,
        max_iter: int = 50,
        tol: float = 1e-10,
        progress: bool | None = None,
    ) -> Self:
        """Calibrate (GREG) to categorical counts and numeric totals.

        Parameters
        ----------
        margins : mapping
            Categorical variable -> counts per level, numeric variable -> population
            total, e.g. ``{"stype": {"E": 4421, "H": 755, "M": 1018},
            "api99": 3914069}``.
        method : {"linear", "raking", "logit"}, default "linear"
            The distance function (Deville & Särndal 1992): linear (GREG), raking
            (multiplicative), or logit with ``bounds``.
        bounds : (lower, upper), optional
            Bounds on the calibration factors ``g = w_new / w`` (required for logit).
        max_iter : int, default 50
        tol : float, default 1e-10
            Relative misfit ``|achieved - total| / (1 + |total|)`` to stop at.
        progress : bool, optional
            Show a progress bar over the iterations of raking and logit calibration
            (when they take over half a second; see :mod:`nea_covid.progress`). None:
            the setting of :func:`nea_covid.set_progress`.

        Returns
        -------
        SurveyDesign or ReplicateDesign
            Taylor variances use the calibration residuals (R's ``calibrate``);
            replicate designs calibrate every replicate.

        Raises
        ------
        CalibrationError
            Margins that cannot be met. Unlike R, also a numeric total whose mean per
            unit (over the population the categorical margins give) lies outside the
            variable's sample range: no positive weights reach it, and R's linear
            calibration returns negative weights without a warning. It is nearly always
            a unit mistake (categorical margins as shares next to a count).

        Examples
        --------
        >>> import nea_covid as nc
        >>> d = nc.SurveyDesign(nc.datasets.load_api("clus1"), weights="pw",
        ...                     clusters="dnum", fpc="fpc")
        >>> c = d.calibrate({"stype": {"E": 4421, "H": 755, "M": 1018},
        ...                  "api99": 3914069})
        >>> round(float(nc.total(c, "api99").estimate[0]))
        3914069
        """
        from nea_covid import calibration as cal

        self._check_full("Calibrate")
        specs = cal.parse_margins(self, margins)
        x, totals = cal.model_matrix(specs)
        span = _bounds(bounds)
        g, iterations = cal.greg_factors(x, self._weights, totals, method, span, max_iter,
                                         tol, progress=progress)
        weights = self._weights * g
        step = cal.Residualizer("greg", x=x, g=g, old_weights=self._weights)
        info = cal.CalibrationInfo(method, iterations,
                                   cal.check_reached(weights, specs, "Calibration"),
                                   tuple(s.name for s in specs))

        def every(w: NDArray[np.float64]) -> NDArray[np.float64]:
            out = w * cal.greg_factors(x, w, totals, method, span, max_iter, tol,
                                       progress=progress,
                                       what="calibrating the replicates")[0]
            cal.check_reached(out, specs, "Calibration of the replicates")
            return out

        return self._recalibrated(weights, step, every, info)

    def trim_weights(self, lower: float = -np.inf, upper: float = np.inf, *,
                     strict: bool = False) -> Self:
        """Trim weights to [lower, upper], sharing the excess equally among the other
        weights (R's ``trimWeights``); ``strict`` repeats until none is outside.

        Examples
        --------
        >>> import nea_covid as nc
        >>> d = nc.SurveyDesign(nc.datasets.load_api("strat"), weights="pw",
        ...                     strata="stype")
        >>> float(d.trim_weights(upper=40, strict=True).weights.max()) <= 40
        True
        """
        from nea_covid import calibration as cal

        self._check_full("Trim")
        try:
            lower, upper = float(lower), float(upper)
        except (TypeError, ValueError):
            raise DesignError("`lower` and `upper` must be numbers.") from None
        if not lower < upper:
            raise DesignError(f"`lower` ({lower}) must be below `upper` ({upper}).")
        weights = cal.trim(self._weights, lower, upper, strict)
        info = cal.CalibrationInfo("trim", 1, 0.0, ())
        return self._recalibrated(weights, None,
                                  lambda w: cal.trim(w, lower, upper, strict), info)

    def _vcov(self, scores: Any) -> NDArray[np.float64]:
        """Covariance of the estimates whose scores are given."""
        raise NotImplementedError

    def _estimate(self, statistic: str, numerators: list[str], denominators: list[str],
                  by: Any, missing: Any, frame: pd.DataFrame | None = None) -> Estimate:
        """A ratio estimate of a partitioned design (:mod:`nea_covid.distributed`)."""
        raise NotImplementedError

    def _variance(self, scores: Any) -> tuple[NDArray[np.float64], Any]:
        """The covariance, and the replicate estimates where the design has them
        (:class:`nea_covid.replicates.ReplicateEstimates`; None for Taylor designs)."""
        return self._vcov(scores), None

    def _domain_degf(
        self, rows: NDArray[np.intp] | None, cell: NDArray[np.intp], n_cells: int
    ) -> NDArray[np.float64]:
        """Degrees of freedom of each cell's domain (R's ``degf`` of its subset)."""
        return np.full(n_cells, float(self.degf))

    def _column(self, name: Any, role: str = "variable") -> pd.Series:
        try:
            found = name in self._data.columns
        except TypeError:  # unhashable
            found = False
        if not found:
            raise ColumnNotFoundError(
                f"{role.capitalize()} column {name!r} is not in the data."
                + close_matches(str(name), list(map(str, self._data.columns)))
            )
        column = self._data[name]
        if isinstance(column, pd.DataFrame):
            raise DesignError(
                f"The data has {column.shape[1]} columns named {name!r}; rename them so that "
                "each name is unique."
            )
        series: pd.Series = column
        return series

    def _weight_column(self, col: Any) -> NDArray[np.float64]:
        """A validated column of weights: numeric, finite, non-negative, not all zero."""
        values = self._column(col, "weights")
        n = values.shape[0]
        if not pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(
            values.dtype
        ):
            raise WeightError(
                f"Weights column {col!r} must be numeric, not {values.dtype}."
            )
        w = values.to_numpy(dtype=np.float64, na_value=np.nan).copy()
        problems = [
            ("missing", np.isnan(w)),
            ("infinite", np.isinf(w)),
            ("negative", w < 0),
        ]
        for what, mask in problems:
            if mask.any():
                raise design_value_error("weights", col, what, int(mask.sum()),
                                         row_labels(self._data.index, mask))
        if not (w > 0).any():
            raise WeightError(f"Weights column {col!r} is zero in all {n} rows.")
        return w

    # ------------------------------------------------------------------ public
    @property
    def data(self) -> pd.DataFrame:
        """The data the design was built from. A copy-on-write copy: changing it does
        not change the design."""
        return self._data.copy(deep=False)

    @property
    def n_rows(self) -> int:
        """Number of rows of the data, inside and outside the domain."""
        return int(self._data.shape[0])

    @property
    def weights(self) -> pd.Series:
        """The analysis weights, one per row of the data; zero outside a subset's domain."""
        w = self.analysis_weights()
        return pd.Series(w, index=self._data.index, name="weights", copy=False)

    @property
    def domain(self) -> NDArray[np.bool_]:
        """Boolean mask of the rows in the design's domain (all True unless subset)."""
        if self._domain is None:
            return np.ones(self.n_rows, dtype=bool)
        return self._domain.copy()

    def analysis_weights(self) -> NDArray[np.float64]:
        """The weights as a numpy array, zero outside the domain."""
        if self._domain is None:
            return self._weights.copy()
        return np.where(self._domain, self._weights, 0.0)

    def with_columns(self, columns: Any) -> Self:
        """The same design (weights, stages, domain, calibration) with new variables
        added to its data, e.g. derived or harmonised ones.

        Parameters
        ----------
        columns : mapping of str to array-like, or pandas.DataFrame
            One value per row of the design's data: arrays in its row order, Series
            and DataFrame columns aligned on its index (their labels must be the
            data's). Existing columns are not replaced.

        Returns
        -------
        SurveyDesign or ReplicateDesign

        Examples
        --------
        >>> import nea_covid as nc
        >>> apistrat = nc.datasets.load_api("strat")
        >>> d = nc.SurveyDesign(apistrat, weights="pw", strata="stype", fpc="fpc")
        >>> high = d.with_columns({"high": apistrat["api00"] > 700})
        >>> [round(float(p), 4) for p in nc.proportion(high, "high").estimate]
        [0.5957, 0.4043]
        """
        index = self._data.index
        parts: dict[Any, Any] = {}
        items = columns.items() if isinstance(columns, pd.DataFrame) else dict(columns).items()
        for name, values in items:
            if name in self._data.columns:
                raise DesignError(
                    f"The data already has a column {name!r}; give the new variable another "
                    "name.")
            if isinstance(values, pd.Series):  # aligned on the data's index
                unmatched = ~values.index.isin(index)
                if values.shape[0] != self.n_rows or unmatched.any():
                    raise DesignError(
                        f"Column {name!r} is indexed differently from the data "
                        f"({int(unmatched.sum())} of {values.shape[0]} labels not in the "
                        f"data's index, {self.n_rows} rows wanted); pass values in the "
                        "data's index, or a plain array in its row order.")
                values = values.reindex(index)
            else:
                if not isinstance(values, pd.api.extensions.ExtensionArray | pd.Index
                                  | np.ndarray):
                    values = np.asarray(values)  # lists; categoricals keep their dtype
                length = len(values) if getattr(values, "ndim", 1) else 1
                if length != self.n_rows:
                    raise DesignError(
                        f"Column {name!r} has {length} rows; the design has {self.n_rows}.")
                if isinstance(values, pd.Index):
                    values = values.array
            parts[name] = values
        new = self._copy()
        new._data = pd.concat([self._data, pd.DataFrame(parts, index=index)], axis=1)
        return new

    def subset(self, mask: Any) -> Self:
        """Restrict estimation to a domain, keeping every PSU in the variance.

        Parameters
        ----------
        mask : array-like of bool or pandas.Series
            True for the rows in the domain; a Series must share the data's index.

        Returns
        -------
        SurveyDesign or ReplicateDesign
            A new design of the same kind whose estimates refer to the domain. Rows outside it get
            zero weight but stay in the design, so strata and PSUs without domain
            members still count in the variance (the correct domain variance, as R's
            ``subset.survey.design``). Degrees of freedom are recomputed as R's
            ``degf`` on the subset.

        Examples
        --------
        >>> import nea_covid as nc
        >>> apistrat = nc.datasets.load_api("strat")
        >>> d = nc.SurveyDesign(apistrat, weights="pw", strata="stype", fpc="fpc")
        >>> elementary = d.subset(apistrat["stype"] == "E")
        >>> elementary.degf
        99
        """
        keep = self._mask_array(mask)
        new = self._copy()
        new._domain = keep if self._domain is None else (self._domain & keep)
        new.degf = new._compute_degf()
        return new

    def _mask_array(self, mask: Any) -> NDArray[np.bool_]:
        if isinstance(mask, pd.Series):
            if not mask.index.equals(self._data.index):
                raise DesignError(
                    "The domain mask is a Series whose index differs from the data's index; "
                    "build it from the same DataFrame (e.g. `df['stype'] == 'E'`)."
                )
            missing = mask.isna().to_numpy()
            if missing.any():
                raise MissingValueError(
                    f"The domain mask has {plural(int(missing.sum()), 'missing value')} "
                    f"({row_labels(self._data.index, missing)}); use `.fillna(False)` to "
                    "leave those rows out of the domain."
                )
            values = mask.to_numpy()
        else:
            values = np.asarray(mask)
        if values.shape != (self.n_rows,):
            raise DesignError(
                f"The domain mask has shape {values.shape}; it needs one value per row "
                f"({self.n_rows})."
            )
        if values.dtype != np.bool_:
            if values.dtype == object and all(isinstance(v, bool | np.bool_) for v in values):
                values = values.astype(bool)
            else:
                raise DesignError(
                    f"The domain mask must be boolean, not {values.dtype}."
                )
        return np.asarray(values, dtype=bool).copy()



class SurveyDesign(BaseDesign):
    """A stratified multi-stage sample design, validated once.

    Parameters
    ----------
    data : pandas.DataFrame or dask.dataframe.DataFrame
        One row per sampled unit (person, school, ...). Never modified. A Dask
        DataFrame (e.g. ``dd.read_parquet(...)``) gives a design whose estimates are
        computed from per-partition sums with the same results
        (:mod:`nea_covid.distributed`; needs the ``dask`` extra).
    weights : str, optional
        Column of sampling weights (inverse inclusion probabilities). When omitted,
        weights are derived from ``fpc`` (the product over stages of N/n), or all equal
        to 1 if there is no ``fpc``.
    strata : str or list of str, optional
        Stratum column; a list gives one stratum column per sampling stage (as R's
        ``strata=~a+b``). To stratify by a cross-classification, combine the columns
        into one first.
    clusters : str or list of str, optional
        Cluster (PSU) identifier column; a list gives one column per stage, from the
        primary sampling units down. Omitted: every row is its own PSU.
    fpc : str or list of str, optional
        Finite population correction per stage, as population sizes (number of units
        in the stratum at that stage) or as sampling fractions in (0, 1], as R.
        Stages without fpc are treated as sampled with replacement.
    nest : bool, default False
        Whether cluster identifiers are only unique within strata (e.g. NHANES PSUs
        1 and 2 in every stratum). With ``nest=False`` the same PSU id in two strata
        is an error, as in R.
    lonely_psu : {"raise", "remove", "adjust", "average", "certainty"}, default "raise"
        What to do with a stratum holding a single PSU, with the semantics of R's
        ``options(survey.lonely.psu=)``: raise an error; contribute nothing
        ("remove", "certainty"); centre the PSU at the grand mean, i.e. use its
        uncentred total ("adjust"); or replace it by the average variance of the other
        strata ("average").

    Notes
    -----
    The variance is R's full multistage estimator (``survey.ultimate.cluster=FALSE``):
    stage ``s`` contributes when every earlier stage has an fpc, multiplied by the
    product of the earlier sampling fractions (Särndal, Swensson & Wretman 1992,
    result 4.3.1). Without any fpc this is the with-replacement (ultimate cluster)
    variance. Where R errors because an fpc is given for fewer stages than clusters,
    nea_covid treats the later stages as sampled with replacement.

    Degrees of freedom follow R's ``degf``: the number of PSUs minus the number of
    strata, counting only rows with non-zero weight in the design.

    Examples
    --------
    >>> import nea_covid as nc
    >>> apistrat = nc.datasets.load_api("strat")
    >>> d = nc.SurveyDesign(apistrat, weights="pw", strata="stype", fpc="fpc")
    >>> d.degf
    197
    >>> round(float(nc.mean(d, "api00").estimate[0]), 3)
    662.287
    """

    __slots__ = ("_fpc_mode", "_spec", "_stages", "lonely_psu", "nest")

    _fpc_mode: str | None
    _spec: dict[str, list[str]]
    _stages: tuple[Stage, ...]
    lonely_psu: LonelyPSU
    nest: bool

    def __new__(cls, data: Any = None, *args: Any, **kwargs: Any) -> Self:
        if is_dask_frame(kwargs.get("data", data)):  # a Dask DataFrame: partial sums
            from nea_covid.distributed import DaskSurveyDesign

            return object.__new__(DaskSurveyDesign)  # type: ignore[return-value]
        return object.__new__(cls)

    def __init__(
        self,
        data: pd.DataFrame,
        *,
        weights: str | None = None,
        strata: Columns = None,
        clusters: Columns = None,
        fpc: Columns = None,
        nest: bool = False,
        lonely_psu: LonelyPSU = "raise",
    ) -> None:
        self._init_data(data)
        self._read_spec(weights, strata, clusters, fpc, nest, lonely_psu)
        stages, fpc_mode = self._build_stages()
        self._fpc_mode = fpc_mode
        self._stages = stages
        self._set_weights(self._build_weights())
        self._check_lonely()
        self.degf = self._compute_degf()

    def _read_spec(self, weights: Columns, strata: Columns, clusters: Columns, fpc: Columns,
                   nest: bool, lonely_psu: Any) -> None:
        """Check the design arguments and that their columns exist; set ``_spec``."""
        if lonely_psu not in _LONELY_RULES:
            raise DesignError(
                f"`lonely_psu` must be one of {', '.join(map(repr, _LONELY_RULES))}, "
                f"not {lonely_psu!r}."
            )
        self.nest = bool(nest)
        self.lonely_psu = lonely_psu
        spec = {
            "weights": _as_list(weights, "weights"),
            "strata": _as_list(strata, "strata"),
            "clusters": _as_list(clusters, "clusters"),
            "fpc": _as_list(fpc, "fpc"),
        }
        if len(spec["weights"]) > 1:
            raise DesignError("`weights` must be a single column name.")
        n_stages = max(len(spec["clusters"]), 1)
        for key in ("strata", "fpc"):
            if len(spec[key]) > n_stages:
                raise DesignError(
                    f"`{key}` names {len(spec[key])} columns but the design has "
                    f"{plural(n_stages, 'sampling stage')} (one per `clusters` column). "
                    "To cross-classify strata, combine the columns into one first."
                )
        for key, cols in spec.items():
            for col in cols:
                self._column(col, role=key)
        self._spec = spec

    # ------------------------------------------------------------------ building
    def _design_codes(self, col: str, role: str) -> tuple[NDArray[np.intp], pd.Index]:
        values = self._column(col, role)
        missing = values.isna().to_numpy()
        if missing.any():
            raise design_value_error(role, col, "missing", int(missing.sum()),
                                     row_labels(self._data.index, missing))
        return factorize(values)

    def _build_stages(self) -> tuple[tuple[Stage, ...], str | None]:
        spec = self._spec
        n = self._data.shape[0]
        n_stages = max(len(spec["clusters"]), 1)
        strata = [self._design_codes(c, "strata") for c in spec["strata"]]
        clusters = [self._design_codes(c, "clusters") for c in spec["clusters"]]
        fpc_values = [self._fpc_column(c) for c in spec["fpc"]]
        fpc_mode = self._fpc_mode_of(fpc_values)

        zeros = np.zeros(n, dtype=np.intp)
        stages: list[Stage] = []
        parent: NDArray[np.intp] | None = None
        before = None
        for s in range(n_stages):
            if strata:
                h_codes, h_labels = strata[min(s, len(strata) - 1)]
            else:
                h_codes, h_labels = zeros, pd.Index(["(all)"])
            c_codes = clusters[s][0] if clusters else np.arange(n, dtype=np.intp)
            if parent is None:
                group_row, group_first = combine_codes(h_codes)
                if self.nest:
                    unit, _ = combine_codes(h_codes, c_codes)
                else:
                    unit, _ = combine_codes(c_codes)
                    self._check_nesting(unit, group_row)
                labels = pd.Index(np.asarray(h_labels, dtype=object)[h_codes[group_first]])
            else:
                group_row, group_first = combine_codes(parent, h_codes)
                unit, _ = combine_codes(parent, h_codes, c_codes)
                labels = pd.Index(np.arange(group_first.size))
            n_units = int(unit.max()) + 1
            group = np.empty(n_units, dtype=np.intp)
            group[unit] = group_row
            group_size = np.bincount(group, minlength=group_first.size).astype(np.float64)
            popsize = None
            if s < len(fpc_values):
                popsize = self._popsize(fpc_values[s], fpc_mode, group_row, group_size, s)
            # every row of a group shares its parent unit, hence the same multiplier
            fraction_before = (
                np.ones(group_first.size) if before is None else before[group_first]
            )
            stages.append(Stage(unit, group, group_size, popsize, fraction_before, labels))
            row_fraction = (
                np.zeros(n) if popsize is None else (group_size / popsize)[group_row]
            )
            before = row_fraction if before is None else before * row_fraction
            parent = unit
        return tuple(stages), fpc_mode

    def _check_nesting(self, unit: NDArray[np.intp], group_row: NDArray[np.intp]) -> None:
        pair, _ = combine_codes(unit, group_row)
        n_pairs = int(pair.max()) + 1
        n_units = int(unit.max()) + 1
        if n_pairs > n_units:
            # units appearing with more than one stratum
            first_group = np.full(n_units, -1, dtype=np.intp)
            first_group[unit] = group_row
            bad_units = np.unique(unit[first_group[unit] != group_row])
            col = self._spec["clusters"][0] if self._spec["clusters"] else "(rows)"
            raise NestingError(
                f"Cluster column {col!r}: {plural(bad_units.size, 'PSU id')} appear in more "
                f"than one stratum of {self._spec['strata'][0]!r}. PSU ids are not nested in "
                "strata; if they are only unique within strata (as in NHANES), pass "
                "`nest=True`."
            )

    def _fpc_column(self, col: str) -> NDArray[np.float64]:
        values = self._column(col, "fpc")
        if not pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(
            values.dtype
        ):
            raise FPCError(f"fpc column {col!r} must be numeric, not {values.dtype}.")
        arr = values.to_numpy(dtype=np.float64, na_value=np.nan)
        for what, mask in (("missing", np.isnan(arr)), ("nonpositive", arr <= 0)):
            if mask.any():
                raise design_value_error("fpc", col, what, int(mask.sum()),
                                         row_labels(self._data.index, mask))
        return arr

    def _fpc_mode_of(self, fpc_values: list[NDArray[np.float64]]) -> str | None:
        if not fpc_values:
            return None
        big = any(bool((v > 1).any()) for v in fpc_values)
        small = any(bool((v < 1).any()) for v in fpc_values)
        if big and small:
            counts = ", ".join(
                f"{c!r}: {int((v > 1).sum())} above 1 and {int((v < 1).sum())} below 1"
                for c, v in zip(self._spec["fpc"], fpc_values, strict=True)
            )
            raise FPCError(
                "The fpc must be given either as population sizes (all >= 1) or as sampling "
                f"fractions (all <= 1), not a mix ({counts})."
            )
        return "size" if big else "fraction"

    def _popsize(
        self,
        values: NDArray[np.float64],
        mode: str | None,
        group_row: NDArray[np.intp],
        group_size: NDArray[np.float64],
        stage: int,
    ) -> NDArray[np.float64]:
        col = self._spec["fpc"][stage]
        per_group = np.empty(group_size.shape[0])
        per_group[group_row] = values
        varies = values != per_group[group_row]
        if varies.any():
            n_groups = np.unique(group_row[varies]).size
            raise FPCError(
                f"fpc column {col!r} varies within {plural(n_groups, 'stratum')} at stage "
                f"{stage + 1} ({row_labels(self._data.index, varies)}). The fpc is a property "
                "of the stratum: one population size (or fraction) per stratum."
            )
        popsize = per_group if mode == "size" else group_size / per_group
        too_small = popsize < group_size
        if too_small.any():
            rows = too_small[group_row]
            raise FPCError(
                f"fpc column {col!r} is smaller than the number of sampled units at stage "
                f"{stage + 1} in {plural(int(too_small.sum()), 'stratum')} "
                f"({row_labels(self._data.index, rows)}): that implies more than 100% "
                "sampling. Give the population size of each stratum, or the sampling fraction."
            )
        return popsize

    def _build_weights(self) -> NDArray[np.float64]:
        cols = self._spec["weights"]
        n = self._data.shape[0]
        if cols:
            return self._weight_column(cols[0])
        if not self._spec["fpc"]:
            return np.ones(n)
        n_stages = len(self._stages)
        if len(self._spec["fpc"]) < n_stages:
            raise DesignError(
                "Weights cannot be derived from the fpc: it is given for "
                f"{len(self._spec['fpc'])} of {n_stages} stages. Pass `weights=` or an fpc "
                "for every stage."
            )
        prob = np.ones(n)
        for stage in self._stages:
            group_row = stage.group[stage.unit]
            prob *= stage.sampling_fraction()[group_row]
        return 1.0 / prob

    def _variance_stages(self) -> tuple[Stage, ...]:
        """The stages that contribute to the variance: the first, and each later one
        whose every earlier stage has an fpc."""
        out = [self._stages[0]]
        for stage in self._stages[1:]:
            if out[-1].popsize is None:
                break
            out.append(stage)
        return tuple(out)

    def _check_lonely(self) -> None:
        """Raise under ``lonely_psu="raise"``; otherwise warn which rule is applied."""
        for s, stage in enumerate(self._variance_stages()):
            lonely = (stage.group_size == 1) & (stage.finite_correction() >= CERTAINTY_TOLERANCE)
            if not lonely.any():
                continue
            count = int(lonely.sum())
            if s > 0:
                what = (f"{plural(count, 'unit')} of stage {s} {'has' if count == 1 else 'have'}"
                        f" only one sampled unit at stage {s + 1}")
                if stage.popsize is None:
                    what += (f" (no fpc is given for stage {s + 1}: if those are the only "
                             "units there, give the stage's fpc and they count as certain)")
            elif self._spec["strata"]:
                shown = ", ".join(map(repr, stage.labels[lonely][:5])) + (
                    ", ..." if count > 5 else "")
                what = (f"{plural(count, 'stratum')} of {self._spec['strata'][0]!r} "
                        f"{'has' if count == 1 else 'have'} only one PSU ({shown})")
            else:
                what = "The design has only one PSU"
            if self.lonely_psu == "raise":
                raise LonelyPSUError(
                    f"{what}, so the variance within it cannot be estimated. Choose a rule "
                    "with `lonely_psu=` ('adjust' is a conservative choice, 'average', "
                    "'remove', 'certainty'), or collapse strata."
                )
            warnings.warn(
                f"{what}; handled by lonely_psu={self.lonely_psu!r}.",
                LonelyPSUWarning,
                stacklevel=3,
            )

    def _compute_degf(self) -> int:
        first = self._stages[0]
        if self._domain is None and self._all_positive:
            return first.n_units - first.n_groups
        inset = self._weights != 0
        if self._domain is not None:
            inset = inset & self._domain
        units = first.unit[inset]
        if units.size == 0:
            return 0
        n_units = np.count_nonzero(np.bincount(units, minlength=first.n_units))
        n_groups = np.count_nonzero(
            np.bincount(first.group[units], minlength=first.n_groups)
        )
        return int(n_units - n_groups)

    def to_replicate(
        self,
        method: str = "auto",
        *,
        rho: float | None = None,
        replicates: int = 50,
        rng: np.random.Generator | None = None,
        mse: bool = False,
        progress: bool | None = None,
    ) -> Any:
        """Replicate weights for this design, as R's ``as.svrepdesign``.

        Parameters
        ----------
        method : {"auto", "JK1", "JKn", "BRR", "Fay", "bootstrap", "SDR"}
            "auto" is JKn for stratified designs, JK1 otherwise. JK1, JKn, BRR and
            Fay give the same replicate weights as R (BRR from R's Hadamard matrices;
            strata with more than two PSUs split into pairs); bootstrap is R's
            rescaled bootstrap with fpc (random: needs ``rng``); SDR is successive
            difference replication (Fay & Train 1995) in the data's PSU order, which
            R's ``as.svrepdesign`` does not offer.
        rho : float, optional
            Fay's coefficient, for ``method="Fay"``.
        replicates : int, default 50
            Number of bootstrap replicates.
        rng : numpy.random.Generator, optional
            Random generator for the bootstrap.
        mse : bool, default False
            Centre replicate variances at the full-sample estimate.
        progress : bool, optional
            Show a progress bar while bootstrap replicates are drawn (when that takes
            over half a second; see :mod:`nea_covid.progress`). None: the setting of
            :func:`nea_covid.set_progress`.

        Returns
        -------
        ReplicateDesign

        Notes
        -----
        As R, replicates are made for the first-stage units; fpcs of later stages
        are dropped, and BRR/Fay drop the fpc altogether.

        Examples
        --------
        >>> import nea_covid as nc
        >>> d = nc.SurveyDesign(nc.datasets.load_api("clus1"), weights="pw",
        ...                     clusters="dnum", fpc="fpc")
        >>> d.to_replicate("JK1").n_replicates
        15
        """
        from nea_covid.replicates import to_replicate

        return to_replicate(self, method, rho=rho, replicates=replicates, rng=rng, mse=mse,
                            progress=progress)

    def _on_units(self, data: pd.DataFrame, unit: NDArray[np.intp],
                  weights: NDArray[np.float64]) -> SurveyDesign:
        """This design, whose rows are its finest sampling units, carried over to
        ``data``, whose row ``i`` is a part of unit ``unit[i]`` with weight
        ``weights[i]``: the weighted sums of a Dask design (:mod:`nea_covid.distributed`)
        then give every estimate and Taylor variance of the rows they sum."""
        new = object.__new__(SurveyDesign)
        new._init_data(data)
        new._spec, new.nest, new.lonely_psu = self._spec, self.nest, self.lonely_psu
        new._fpc_mode = self._fpc_mode
        new._stages = tuple(
            Stage(s.unit[unit], s.group, s.group_size, s.popsize, s.fraction_before, s.labels)
            for s in self._stages)
        new._set_weights(weights)
        new.degf = new._compute_degf()
        return new

    def _recalibrated(self, weights: NDArray[np.float64], residualizer: Any,
                      transform: Any, info: Any) -> Self:
        new = self._copy()
        new._set_weights(weights)
        if residualizer is not None:
            new._calibration = (*self._calibration, residualizer)
        new.calibration = info
        new.degf = new._compute_degf()
        return new

    def _vcov(self, scores: Any) -> NDArray[np.float64]:
        from nea_covid.variance import taylor_vcov

        return taylor_vcov(self, scores)

    def _domain_degf(
        self, rows: NDArray[np.intp] | None, cell: NDArray[np.intp], n_cells: int
    ) -> NDArray[np.float64]:
        """Per cell: PSUs minus strata among the cell's rows with non-zero weight."""
        from nea_covid.domains import domain_degf

        return domain_degf(self, rows, cell, n_cells)

    @property
    def n_strata(self) -> int:
        """Number of first-stage strata."""
        return self._stages[0].n_groups

    @property
    def n_psu(self) -> int:
        """Number of primary sampling units."""
        return self._stages[0].n_units

    @property
    def n_stages(self) -> int:
        """Number of sampling stages (clusters columns, or 1)."""
        return len(self._stages)

    def __repr__(self) -> str:
        spec = self._spec
        stages = self.n_stages
        parts = [
            f"SurveyDesign: {self.n_rows} rows",
            f"{plural(self.n_strata, 'stratum')}" if spec["strata"] else "no strata",
            f"{self.n_psu} PSUs" + (f" ({stages} stages)" if stages > 1 else ""),
        ]
        lines = [", ".join(parts)]
        lines.append(
            "  weights: "
            + (repr(spec["weights"][0]) if spec["weights"]
               else ("derived from fpc" if spec["fpc"] else "equal"))
            + (f"; fpc: {', '.join(map(repr, spec['fpc']))} ({self._fpc_mode}s)"
               if spec["fpc"] else "; no fpc (with replacement)")
        )
        if self._domain is not None:
            lines.append(f"  domain: {int(self._domain.sum())} of {self.n_rows} rows")
        lines.append(f"  degrees of freedom: {self.degf}; lonely PSUs: {self.lonely_psu!r}")
        return "\n".join(lines)
