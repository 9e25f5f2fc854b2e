"""Designs on Dask DataFrames: the same estimators, from per-partition partial sums.

``nc.SurveyDesign(ddf, ...)`` and ``nc.ReplicateDesign(ddf, ...)`` with a Dask
DataFrame return the classes below. Their rows never come together: every step maps
the partitions to small tables with :mod:`nea_covid.partitions` and adds them up in a
tree (only per-unit, per-cell or per-replicate sums travel). What the sums feed is the
in-memory code itself:

1. **Design.** One pass counts bad values per column (errors name the column, the
   count and the first rows, as in memory) and the rows per distinct design key. For
   clustered designs those keys are the finest sampling units, and an in-memory
   :class:`~nea_covid.SurveyDesign` over them (one row per unit) holds the strata,
   stages, fpc, lonely-PSU rule and degrees of freedom. Element samples (no clusters)
   keep one stage whose groups are the strata.
2. **Estimate.** One pass sums ``w``, ``w a`` and ``w b`` per (unit, domain status,
   by-values[, level]). Each sum becomes one row of an *aggregate* frame with weight
   ``sum w`` and values ``sum w a / sum w``: ratios of totals, their influence scores
   summed per unit, and hence the Taylor variance are the same on the aggregates as
   on the rows. The unchanged :func:`nea_covid.estimators.ratio_of_totals` runs on
   them, with the unit design's stages (:meth:`SurveyDesign._on_units`).
3. **What the aggregates cannot give** comes from one more pass with the estimates
   known: the design effects' ``sum w (a - theta b - c)^2`` per cell, the within
   (stratum, cell) centred cross-products of element samples (their units are rows;
   :func:`element_vcov`), and the replicate estimates of replicate designs.

Importing this module does not import dask; reductions import it when they run and
use the active scheduler (a ``dask.distributed.Client`` if one is running).
"""

from __future__ import annotations

import dataclasses
import functools
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from nea_covid import partitions as pt
from nea_covid.design import (
    CERTAINTY_TOLERANCE,
    BaseDesign,
    Columns,
    LonelyPSU,
    Stage,
    SurveyDesign,
    design_value_error,
    rows_needed,
)
from nea_covid.domains import Missing, by_columns, missing_error, prepare
from nea_covid.errors import (
    ArgumentError,
    CalibrationError,
    DesignError,
    EmptyDomainWarning,
    FPCError,
    LonelyPSUWarning,
    MissingValueError,
    SurveyError,
    SurveyWarning,
    VariableTypeError,
    WeightError,
    labels_text,
    plural,
)
from nea_covid.estimators import (
    check_size,
    deff_from_squares,
    indicator_squares,
    numeric_matrix,
    ratio_of_totals,
)
from nea_covid.replicates import ReplicateDesign, ReplicateEstimates
from nea_covid.results import Estimate
from nea_covid.variance import _stage_scales

__all__ = ["DaskReplicateDesign", "DaskSurveyDesign", "element_vcov", "reduce_partitions"]

#: Partial results combined per node of the reduction tree.
FAN_IN = 8
#: The column a subset's domain mask is kept in (user columns may not start with "__").
DOMAIN = "__nea_covid_domain"


# ---------------------------------------------------------------------- reduction
def _apply(part: pd.DataFrame, func: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    return func(part, *args)


def reduce_partitions(frame: Any, func: Callable[..., Any], combine: Callable[[list[Any]], Any],
                      *args: Any) -> Any:
    """``func(partition, *args)`` on every partition of the Dask DataFrame ``frame``,
    the results added by ``combine`` (a list of results -> one result) in a tree of
    :data:`FAN_IN` per node; computed with the active scheduler. ``args`` travel once
    (one graph node), not once per partition."""
    from dask.base import compute
    from dask.delayed import delayed

    shared = delayed(args, pure=False, traverse=False)
    level = [delayed(_apply, pure=True)(part, func, shared) for part in frame.to_delayed()]
    while len(level) > 1:
        level = [delayed(combine, pure=True)(level[i:i + FAN_IN])
                 for i in range(0, len(level), FAN_IN)]
    (result,) = compute(level[0])  # type: ignore[no-untyped-call]
    return result


def _add_tables(parts: list[tuple[Any, pd.DataFrame]], keys: list[str]
                ) -> tuple[Any, pd.DataFrame]:
    """Combine ``(problems, table)`` pairs: problems in partition order, tables summed
    by ``keys``."""
    found = pt.add_problems([p[0] for p in parts])
    return found, pt.add_frames([p[1] for p in parts], keys)


def _add_arrays(parts: list[Any]) -> Any:
    """Sum tuples of arrays (or None) element by element."""
    out = list(parts[0])
    for part in parts[1:]:
        out = [None if a is None else a + b for a, b in zip(out, part, strict=True)]
    return tuple(out)


def _rows_text(problem: pt.Problem) -> str:
    return labels_text(problem.labels, problem.count)


# ---------------------------------------------------------------------- designs
def _meta(data: Any) -> pd.DataFrame:
    """The empty pandas frame with the Dask DataFrame's columns and dtypes."""
    meta = data._meta
    if not isinstance(meta, pd.DataFrame):
        raise DesignError(f"`data` must be a Dask DataFrame, not {type(data).__name__}.")
    return meta


def _key_index(table: pd.DataFrame, keys: list[str]) -> pd.Index:
    if not keys:
        return pd.RangeIndex(table.shape[0])
    if len(keys) == 1:
        index: pd.Index = pd.Index(table[keys[0]].array)
        return index
    return pd.MultiIndex.from_frame(table[keys])


class _Partitioned:
    """What Dask designs share: the partitions, the domain column, how estimates
    reach the partial sums (mixed into the design classes)."""

    _frame: Any
    _keys: list[str]
    _table: pd.Index
    _unit_weights: NDArray[np.float64] | None
    _domain_column: str | None
    _rows: int

    _steps: tuple[tuple[str, tuple[Any, ...], dict[str, Any]], ...]
    _calibration_columns: tuple[str, ...]
    _factors: pd.Series | None
    _column: Callable[..., pd.Series]
    _copy: Callable[[], Any]
    _data: pd.DataFrame
    _domain: Any
    _calibration: tuple[Any, ...]
    calibration: Any

    def _plan(self, **kw: Any) -> pt.Plan:
        return pt.Plan(keys=self._keys, table=self._table,
                       weights=self._weight_name(), unit_weights=self._unit_weights,
                       domain=self._domain_column, calibration=self._calibration_columns,
                       factors=self._factors,
                       replicate_factors=getattr(self, "_replicate_factors", None),
                       weight_key=_raked(self) == "after another calibration",
                       unweighted=_raked(self) == "only", **kw)

    def _init_frame(self, data: Any) -> None:
        """The partitions, their (empty) meta frame for column checks, no domain and no
        calibration yet."""
        self._frame = data
        self._data = _meta(data)
        self._domain = None
        self._domain_column = None
        self._calibration = ()
        self.calibration = None
        self._steps, self._calibration_columns, self._factors = (), (), None

    def _estimate(self, statistic: str, numerators: list[str], denominators: list[str],
                  by: Any, missing: Missing, frame: pd.DataFrame | None = None) -> Estimate:
        return _estimate(self, statistic, numerators, denominators, by, missing, frame)

    # ------------------------------------------------------------------ calibration
    def poststratify(self, variable: str, totals: Any) -> Any:
        """As in memory (:meth:`nea_covid.SurveyDesign.poststratify`): one pass for the
        weights per level, post-stratified in memory; the same weights, replicate
        weights and Taylor residuals as in memory."""
        return self._calibrated("poststratify", (variable, totals), {}, [variable],
                                "Post-stratify")

    def rake(self, margins: Any, *, max_iter: int = 100, tol: float = 1e-10,
             progress: bool | None = None) -> Any:
        """As in memory (:meth:`nea_covid.SurveyDesign.rake`): one pass for the weights
        per combination of the margins' levels, raked in memory."""
        if not isinstance(margins, Mapping) or not margins:
            raise DesignError("Give the margins as a mapping: variable -> population counts.")
        return self._calibrated("rake", (margins,),
                                {"max_iter": max_iter, "tol": tol, "progress": progress},
                                list(margins), "Rake")

    def _calibrated(self, method: str, args: tuple[Any, ...], kwargs: dict[str, Any],
                    variables: list[str], what: str) -> Any:
        """A copy calibrated by ``method``: the weights per combination of every
        calibration variable so far (one pass), calibrated in memory by replaying all
        steps; the factor per combination multiplies each row's weight."""
        self._check_full(what)
        self._check_calibration(what)
        check_names(variables)
        for name in variables:
            self._column(name)
        columns = list(dict.fromkeys([*self._calibration_columns, *variables]))
        found, table = self._reduce(
            pt.combo_sums, functools.partial(_add_tables, keys=columns), self._empty_plan(),
            columns, *self._combo_arguments())
        _raise_calibration_problems(found, columns)
        new = self._copy()
        new._steps = (*self._steps, (method, args, kwargs))
        new._calibration_columns = tuple(columns)
        self._calibrate_combinations(new, table, columns)
        return new

    def _check_calibration(self, what: str) -> None:
        """Refuse a calibration this kind of design cannot carry (none here)."""

    def _combo_arguments(self) -> tuple[Any, ...]:
        return ()

    def _calibrate_combinations(self, new: Any, table: pd.DataFrame, columns: list[str]
                                ) -> None:
        raise NotImplementedError

    def __repr__(self) -> str:
        text = super().__repr__()  # the design class's own
        head, colon, rest = text.partition(":")
        return f"{head} (Dask){colon}{rest}\n  partitions: {self._frame.npartitions}"

    def _empty_plan(self) -> pt.Plan:
        return self._plan(numerators=[], denominators=[], categorical=None, by=[])

    def _domain_mask(self, mask: Any) -> Any:
        """The new domain column: ``mask`` (a boolean Dask Series of the same frame, or
        a column name) and the current domain."""
        if isinstance(mask, str):
            check_names([mask])
            self._column(mask, "domain")
            column = self._frame[mask]
        elif type(mask).__module__.split(".")[0] == "dask" and hasattr(mask, "dtype"):
            column = mask
        else:
            raise DesignError(
                "On a Dask design the domain mask is a boolean Dask Series of the same "
                "DataFrame (e.g. `ddf['stype'] == 'E'`) or the name of a boolean column, "
                f"not {type(mask).__name__}.")
        if not pd.api.types.is_bool_dtype(column.dtype):
            raise DesignError(f"The domain mask must be boolean, not {column.dtype}.")
        if self._domain_column is not None:
            column = self._frame[self._domain_column] & column
        try:
            return self._frame.assign(**{DOMAIN: column})
        except (ValueError, TypeError, NotImplementedError) as exc:
            raise _misaligned(exc) from None

    def _check_full(self, what: str) -> None:
        if self._domain_column is not None:
            raise DesignError(
                f"{what} the full design, then take the subset: calibration margins refer "
                "to the whole population.")

    def _weight_name(self) -> str | None:
        raise NotImplementedError

    def _reduce(self, func: Callable[..., Any], combine: Callable[[list[Any]], Any],
                *args: Any) -> Any:
        """:func:`reduce_partitions` over the columns the step reads (the columns of
        its plan, or of the design for design-level steps): parquet files are read
        for those columns only."""
        return reduce_partitions(self._frame[self._columns_of(func, args)], func, combine,
                                 *args)

    def _columns_of(self, func: Callable[..., Any], args: tuple[Any, ...]) -> list[str]:
        plan = next((a for a in args if isinstance(a, pt.Plan)), None)
        wanted: list[Any] = list(self._keys)
        if plan is not None:
            wanted += [plan.weights, *plan.numerators, *plan.denominators, plan.categorical,
                       *plan.by, plan.domain, *plan.calibration]
        else:
            wanted += [*(self._weight_name(), self._domain_column)]
        wanted += [a for a in args if isinstance(a, str)]
        wanted += [c for a in args if isinstance(a, list) for c in a if isinstance(c, str)]
        if func in (pt.replicate_summary, pt.replicate_sums) or (
                func is pt.combo_sums and len(args) > 2):
            wanted += list(getattr(self, "_names", []))
        columns = set(self._frame.columns)
        return [c for c in dict.fromkeys(wanted) if c is not None and c in columns]


class DaskSurveyDesign(_Partitioned, SurveyDesign):
    """A :class:`~nea_covid.SurveyDesign` whose rows are a Dask DataFrame.

    Made by ``nc.SurveyDesign(ddf, ...)`` with the same arguments; estimators
    (:func:`~nea_covid.mean`, :func:`~nea_covid.total`, :func:`~nea_covid.ratio`,
    :func:`~nea_covid.proportion`, with ``by=`` and ``missing=``) return the same
    :class:`~nea_covid.Estimate` as in memory (to rounding: sums are added in another
    order), computed when called with the active Dask scheduler.

    Notes
    -----
    Means, totals and proportions read the partitions once (design effects included);
    ratios of clustered designs once more for their design effects, element samples
    (no clusters) once more for their variance; quantiles take a few passes. Only
    per-unit and per-cell sums travel between workers. Clustered designs hold one row
    per finest sampling unit in memory, and an estimate one row per (unit, cell): a
    last stage whose units are the rows (e.g. ``clusters=["school", "row_id"]`` with
    an fpc at both stages) therefore brings a row per data row to the client, and so
    does raking after another calibration step when the weights vary from row to row
    (the aggregates then keep rows of different weights apart). Column names starting
    with ``"__"`` are reserved for the partial sums.

    Examples
    --------
    >>> import dask.dataframe as dd
    >>> import nea_covid as nc
    >>> apistrat = nc.datasets.load_api("strat")
    >>> ddf = dd.from_pandas(apistrat, npartitions=4)
    >>> d = nc.SurveyDesign(ddf, weights="pw", strata="stype", fpc="fpc")
    >>> round(float(nc.mean(d, "api00").standard_error[0]), 4)
    9.4089
    """

    _partitioned = True
    __slots__ = ("_calibration_columns", "_domain_column", "_element", "_factors", "_frame",
                 "_keys", "_rows", "_steps", "_table", "_unit_design", "_unit_weights")

    _unit_design: SurveyDesign | None
    _element: bool

    def __init__(
        self,
        data: Any,
        *,
        weights: str | None = None,
        strata: Columns = None,
        clusters: Columns = None,
        fpc: Columns = None,
        nest: bool = False,
        lonely_psu: LonelyPSU = "raise",
    ) -> None:
        self._init_frame(data)
        self._read_spec(weights, strata, clusters, fpc, nest, lonely_psu)
        spec = self._spec
        check_names([c for cols in spec.values() for c in cols])
        weight = spec["weights"][0] if spec["weights"] else None
        for role in ("weights", "fpc"):
            for col in spec[role]:
                _check_numeric(role, col, self._data[col].dtype)
        self._keys = list(dict.fromkeys(spec["strata"] + spec["clusters"]))
        fpc_cols = spec["fpc"]
        found, table = self._reduce(
            pt.design_summary,
            functools.partial(_add_tables, keys=self._keys + fpc_cols),
            weight, self._keys, fpc_cols)
        _raise_design_problems(found, spec)
        self._rows = int(table["__rows"].sum())
        if self._rows == 0:
            raise DesignError("`data` has no rows.")
        n_positive = int(table["__positive"].sum())
        if weight is not None and n_positive == 0:
            raise WeightError(f"Weights column {weight!r} is zero in all {self._rows} rows.")
        if self._keys:
            table = table.sort_values(self._keys, kind="stable", ignore_index=True)
        self._element = not spec["clusters"]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if self._element:
                self._build_element(table, weight)
            else:
                self._build_clustered(table, weight)
        for found in caught:  # (lonely PSUs) at the line that made the design
            warnings.warn(found.message, found.category, stacklevel=2)
        self._weights = np.empty(0)
        self._n_positive = n_positive
        self._all_positive = n_positive == self._rows

    # ------------------------------------------------------------------ building
    def _weight_name(self) -> str | None:
        return self._spec["weights"][0] if self._spec["weights"] else None

    def _build_clustered(self, table: pd.DataFrame, weight: str | None) -> None:
        spec = self._spec
        units = table[self._keys + spec["fpc"]].copy()
        if weight is not None:
            units["__w"] = (table["__positive"] > 0).astype(np.float64)
        # the units as an in-memory design: stages, fpc, nesting, lonely PSUs, degf
        self._unit_design = SurveyDesign(
            units, weights="__w" if weight is not None else None,
            strata=spec["strata"] or None, clusters=spec["clusters"], fpc=spec["fpc"] or None,
            nest=self.nest, lonely_psu=self.lonely_psu)
        self._table = _key_index(units, self._keys)
        self._stages = self._unit_design._stages
        self._fpc_mode = self._unit_design._fpc_mode
        self._unit_weights = None if weight is not None else self._unit_design._weights
        self.degf = self._unit_design.degf

    def _build_element(self, table: pd.DataFrame, weight: str | None) -> None:
        """One stage whose groups are the strata and whose units are the rows."""
        spec = self._spec
        keys, fpc_cols = self._keys, spec["fpc"]
        self._unit_design = None
        if (keys and table.duplicated(keys).any()) or (not keys and table.shape[0] > 1):
            n_bad = (int(table.loc[table.duplicated(keys, keep=False), keys]
                         .drop_duplicates().shape[0]) if keys else 1)
            raise FPCError(
                f"fpc column {fpc_cols[0]!r} varies within {plural(n_bad, 'stratum')} at "
                "stage 1. The fpc is a property of the stratum: one population size (or "
                "fraction) per stratum.")
        n_h = table["__rows"].to_numpy(dtype=np.float64)
        popsize = None
        self._fpc_mode = None
        if fpc_cols:
            values = table[fpc_cols[0]].to_numpy(dtype=np.float64)
            above, below = table["__rows"][values > 1].sum(), table["__rows"][values < 1].sum()
            if above and below:
                raise FPCError(
                    "The fpc must be given either as population sizes (all >= 1) or as "
                    f"sampling fractions (all <= 1), not a mix ({fpc_cols[0]!r}: {above} above "
                    f"1 and {below} below 1).")
            self._fpc_mode = "size" if above else "fraction"
            popsize = values if above else n_h / values
            small = popsize < n_h
            if small.any():
                raise FPCError(
                    f"fpc column {fpc_cols[0]!r} is smaller than the number of sampled units "
                    f"at stage 1 in {plural(int(small.sum()), 'stratum')}: that implies more "
                    "than 100% sampling. Give the population size of each stratum, or the "
                    "sampling fraction.")
        labels = (pd.Index(np.asarray(table[keys[0]], dtype=object)) if keys
                  else pd.Index(["(all)"]))
        none = np.zeros(0, dtype=np.intp)
        stage = Stage(none, none, n_h, popsize, np.ones(n_h.shape[0]), labels)
        self._stages = (stage,)
        self._check_lonely()
        self._table = _key_index(table, keys)
        if weight is None:
            self._unit_weights = (np.ones(n_h.shape[0]) if popsize is None
                                  else popsize / n_h)
        else:
            self._unit_weights = None
        positive = table["__positive"].to_numpy()
        self.degf = int(positive.sum() - np.count_nonzero(positive))

    # ------------------------------------------------------------------ public
    @property
    def n_rows(self) -> int:
        """Number of rows of the data, inside and outside the domain."""
        return self._rows

    @property
    def n_psu(self) -> int:
        """Number of primary sampling units."""
        return self._rows if self._element else self._stages[0].n_units

    @property
    def data(self) -> Any:
        """The Dask DataFrame the design was built from."""
        return self._frame

    @property
    def weights(self) -> Any:
        """Not available: the weights stay on the workers (a DesignError)."""
        raise rows_needed("`design.weights`")

    @property
    def domain(self) -> NDArray[np.bool_]:
        """Not available: the domain stays on the workers (a DesignError)."""
        raise rows_needed("`design.domain`")

    def analysis_weights(self) -> NDArray[np.float64]:
        raise rows_needed("`design.analysis_weights()`")

    def with_columns(self, columns: Any) -> Any:
        raise DesignError(
            "A Dask design takes new columns through its DataFrame: build the design again "
            "from `ddf.assign(...)`.")

    def to_replicate(self, *args: Any, **kwargs: Any) -> Any:
        raise rows_needed("`to_replicate`")

    def calibrate(self, *args: Any, **kwargs: Any) -> Any:
        raise rows_needed("`calibrate`")

    def trim_weights(self, *args: Any, **kwargs: Any) -> Any:
        raise rows_needed("`trim_weights`")

    def _check_calibration(self, what: str) -> None:
        if self._element:
            raise DesignError(
                f"{what}: the Taylor variance of a calibrated sample without clusters is not "
                "available on a Dask design (yet). Give `clusters=` if the sample has them, "
                "use replicate weights (`nc.ReplicateDesign`), or calibrate in pandas.")

    def _calibrate_combinations(self, new: Any, table: pd.DataFrame, columns: list[str]
                                ) -> None:
        """The factor per combination (the Taylor residuals are replayed per estimate,
        on the aggregates)."""
        combos = _replayed(_combo_design(table, columns), new._steps)
        new._factors = _ratios(combos._weights, table["__w0"].to_numpy(np.float64), columns,
                               table)
        new.calibration = combos.calibration

    def subset(self, mask: Any) -> Any:
        """As :meth:`nea_covid.SurveyDesign.subset`, with ``mask`` a boolean Dask
        Series of the design's DataFrame (or a column name); one pass recounts the
        degrees of freedom."""
        frame = self._domain_mask(mask)
        spec = self._spec
        weight = self._weight_name()
        columns = [c for c in dict.fromkeys([*self._keys, weight, *spec["fpc"], DOMAIN])
                   if c is not None]
        try:
            found, table = reduce_partitions(
                frame[columns], pt.design_summary,
                functools.partial(_add_tables, keys=self._keys + spec["fpc"]),
                weight, self._keys, spec["fpc"], DOMAIN)
        except (ValueError, TypeError, NotImplementedError, KeyError, IndexError,
                RuntimeError) as exc:  # Dask failing to line the mask up with the rows
            if isinstance(exc, SurveyError):
                raise
            raise _misaligned(exc) from None
        problem = found.get(("__domain", "missing"))
        if problem is not None:
            raise MissingValueError(
                f"The domain mask has {plural(problem.count, 'missing value')} "
                f"({_rows_text(problem)}); use `.fillna(False)` to leave those rows out of the "
                "domain.")
        positive = np.zeros(len(self._table))
        at = np.asarray(self._table.get_indexer(_key_index(table, self._keys))
                        if self._keys else np.zeros(table.shape[0], dtype=np.intp))
        np.add.at(positive, at, table["__positive"].to_numpy(np.float64))
        new = self._copy()
        new._frame, new._domain_column = frame, DOMAIN
        if self._element:
            new.degf = int(positive.sum() - np.count_nonzero(positive))
        else:
            assert self._unit_design is not None
            units = self._unit_design._copy()
            units._set_weights((positive > 0).astype(np.float64))
            new.degf = units._compute_degf()
        return new

    # ------------------------------------------------------------------ estimates
    def _aggregate_design(self, agg: pd.DataFrame, sums: pd.DataFrame,
                          plan: pt.Plan) -> BaseDesign:
        weights = sums["__w"].to_numpy(dtype=np.float64)
        if self._element:
            return _ElementAggregate(self, agg, weights, sums, plan)
        assert self._unit_design is not None
        unit = sums[pt.UNIT].to_numpy(dtype=np.intp)
        if self._steps:  # calibrate the aggregates as the rows: the same residuals
            for col in self._calibration_columns:
                if col not in agg:  # (a by-column already has its categories)
                    agg[col] = sums[col].to_numpy()
            design = _replayed(self._unit_design._on_units(
                agg, unit, sums["__w0"].to_numpy(dtype=np.float64)), self._steps)
            # raking residuals average z / psw per row (R): each aggregate counts its
            # rows, and either its rows share a weight or its sums of z / w are known
            rows = sums["__rows"].to_numpy(dtype=np.float64)
            extra: dict[str, Any] = {"frequency": rows}
            if plan.unweighted:
                w0 = sums["__w0"].to_numpy(dtype=np.float64)
                extra.update(positive=sums["__positive"].to_numpy(dtype=np.float64),
                             old_weights=w0,
                             shadow=_RakingShadow(sums, design._weights, w0, plan))
            design._calibration = tuple(
                dataclasses.replace(step, **extra) if step.kind == "rake" else step
                for step in design._calibration)
        else:
            design = self._unit_design._on_units(agg, unit, weights)
        assert isinstance(design, BaseDesign)
        return design



def check_names(names: Sequence[Any]) -> None:
    """Refuse column names the partial sums use themselves (``__w``, ``__unit``, ...)."""
    for name in names:
        if isinstance(name, str) and name.startswith("__"):
            raise ArgumentError(
                f"Column {name!r}: on a Dask design, names starting with '__' are reserved "
                "for nea_covid's partial sums; rename it (e.g. `ddf.rename(columns="
                f"{{{name!r}: {name.lstrip('_')!r}}})`).")


def _raked(design: Any) -> str | None:
    """How a Taylor design's calibration includes raking: "only" (its raking residuals
    come from unweighted sums per aggregate) or "after another calibration" (then the
    aggregates are kept apart by weight); None without raking."""
    if isinstance(design, ReplicateDesign):
        return None
    kinds = {step[0] for step in design._steps}
    if "rake" not in kinds:
        return None
    return "only" if kinds == {"rake"} else "after another calibration"


def _misaligned(exc: Exception) -> DesignError:
    return DesignError(
        "The domain mask does not line up with the design's DataFrame; build it from the "
        f"same DataFrame, from its columns (not its index) ({type(exc).__name__}: {exc}).")


def _ratios(new: NDArray[np.float64], old: NDArray[np.float64], columns: list[str],
            table: pd.DataFrame) -> pd.Series:
    """Calibration factors per combination (1 where the combination weighs nothing)."""
    factors = np.ones(old.shape[0])
    np.divide(new, old, out=factors, where=old > 0)
    return pd.Series(factors, index=_key_index(table, columns))


class _RakingShadow:
    """Per aggregate, the sums of ``z / w`` over its rows with a non-zero weight (``z``
    the scores, ``w`` the weights before calibration): ``f (sum a - theta sum b) /
    scale`` with ``f`` the aggregate's calibration factor, from the unweighted sums of
    the first pass. R's raking residuals average ``z / psw`` per row; with this, the
    aggregates need not keep rows of different weights apart."""

    def __init__(self, sums: pd.DataFrame, weights: NDArray[np.float64],
                 w0: NDArray[np.float64], plan: pt.Plan) -> None:
        width = sum(1 for c in sums.columns if c.startswith("__ua"))
        self.a = sums[[f"__ua{j}" for j in range(width)]].to_numpy(np.float64)
        self.b = (sums[[f"__ub{j}" for j in range(width)]].to_numpy(np.float64)
                  if plan.denominators
                  else np.repeat(sums[["__u1"]].to_numpy(np.float64), width, axis=1))
        self.factor = np.ones(w0.shape[0])
        np.divide(weights, w0, out=self.factor, where=w0 > 0)

    def __call__(self, scores: Any) -> NDArray[np.float64]:
        k, m = scores.n_cells, scores.width
        n = self.a.shape[0]
        rows = np.arange(n) if scores.rows is None else scores.rows
        cell = scores.cell if k > 1 else np.zeros(rows.shape[0], dtype=np.intp)
        a = self.a[rows]
        with np.errstate(divide="ignore", invalid="ignore"):
            v = a if scores.weighted_denominator is None else (
                a - scores.theta[cell] * self.b[rows])
            z = self.factor[rows, None] * v / scores.scale[cell]
        z[~np.isfinite(z)] = 0.0
        out = np.zeros((n, k * m))
        out[rows[:, None], cell[:, None] * m + np.arange(m)] = z
        return out


def _raise_calibration_problems(found: dict[tuple[str, str], pt.Problem],
                                columns: list[str]) -> None:
    for name in columns:
        problem = found.get((name, "missing"))
        if problem is not None:
            raise CalibrationError(
                f"Calibration variable {name!r} has {plural(problem.count, 'missing value')}; "
                "every row needs a category.")


def _combo_design(table: pd.DataFrame, columns: list[str]) -> SurveyDesign:
    """An in-memory design with one row per combination of calibration levels,
    weighted by the combination's weights: calibrating it calibrates the rows."""
    frame = table[[*columns, "__w0"]].reset_index(drop=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LonelyPSUWarning)
        return SurveyDesign(frame, weights="__w0", lonely_psu="certainty")


def _replayed(design: Any, steps: Sequence[tuple[str, tuple[Any, ...], dict[str, Any]]]
              ) -> Any:
    """``design`` calibrated by every step in turn, as the Dask design was."""
    for method, args, kwargs in steps:
        design = getattr(design, method)(*args, **kwargs)
    return design


def _check_numeric(role: str, col: str, dtype: Any) -> None:
    if not pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
        if role == "weights":
            raise WeightError(f"Weights column {col!r} must be numeric, not {dtype}.")
        raise FPCError(f"fpc column {col!r} must be numeric, not {dtype}.")


def _raise_design_problems(found: dict[tuple[str, str], pt.Problem],
                           spec: dict[str, list[str]]) -> None:
    """The first problem in the in-memory order: strata, clusters, fpc, weights."""
    order = [(role, col, what) for role in ("strata", "clusters") for col in spec[role]
             for what in ("missing",)]
    order += [("fpc", col, what) for col in spec["fpc"] for what in ("missing", "nonpositive")]
    order += [("weights", col, what) for col in spec["weights"]
              for what in ("missing", "infinite", "negative")]
    for role, col, what in order:
        problem = found.get((col, what))
        if problem is not None:
            raise design_value_error(role, col, what, problem.count, _rows_text(problem))


# ---------------------------------------------------------------------- element samples
class _Aggregate(BaseDesign):
    """An in-memory design over the aggregate rows of a Dask design whose variance is
    not a function of the aggregates: it reads the partitions again
    (``_variance``)."""

    __slots__ = ("_parent", "_plan", "_prep", "_sums", "squares")

    def __init__(self, parent: Any, data: pd.DataFrame, weights: NDArray[np.float64],
                 sums: pd.DataFrame, plan: pt.Plan) -> None:
        self._init_data(data)
        self._set_weights(weights)
        self._parent, self._sums, self._plan = parent, sums, plan
        self.degf = parent.degf
        self.squares: NDArray[np.float64] | None = None
        self._prep: Any = None

    def _compute_degf(self) -> int:
        return int(self._parent.degf)


class _ElementAggregate(_Aggregate):
    """Element samples: the rows are the units, so the variance needs, per (stratum,
    cell), the centred cross-products of the scores (:func:`element_vcov`)."""

    __slots__ = ()

    def _variance(self, scores: Any) -> tuple[NDArray[np.float64], None]:
        parent, sums, plan = self._parent, self._sums, self._plan
        stage = parent._stages[0]
        # the scores are w (a - theta b) / scale; w a / 1 for totals
        total = scores.weighted_denominator is None
        theta = np.zeros_like(scores.theta) if total else np.nan_to_num(scores.theta)
        scale = scores.scale
        k, m = theta.shape
        n_groups = stage.n_groups
        cells = _cells_index_of(self._prep, plan)
        # per (stratum, cell): active rows and sum w (a - theta b)
        rows = np.arange(sums.shape[0]) if scores.rows is None else scores.rows
        key = sums[pt.UNIT].to_numpy(dtype=np.intp)[rows] * k + (
            scores.cell if k > 1 else np.zeros(rows.shape[0], dtype=np.intp))
        n_hk = np.bincount(key, weights=sums["__rows"].to_numpy(np.float64)[rows],
                           minlength=n_groups * k)
        sa = _sum_columns(sums, "__a", m, rows, key, n_groups * k)
        sb = (_sum_columns(sums, "__b", m, rows, key, n_groups * k) if plan.denominators
              else np.repeat(np.bincount(key, weights=sums["__w"].to_numpy()[rows],
                                         minlength=n_groups * k)[:, None], m, axis=1))
        theta_of_key = np.tile(theta, (n_groups, 1))
        t_v = sa - theta_of_key * sb
        with np.errstate(divide="ignore", invalid="ignore"):
            unit_mean = np.where(n_hk[:, None] > 0, t_v / n_hk[:, None], 0.0)
        centre = _deff_centre(scores, self._prep)
        squares, cross = self._parent._reduce(
            pt.centred_sums, _add_arrays, plan, cells, theta, centre, unit_mean, n_groups)
        self.squares = squares
        vcov = element_vcov(stage, parent.lonely_psu, n_hk.reshape(n_groups, k).astype(float),
                            t_v.reshape(n_groups, k, m), cross.reshape(n_groups, k, m, m),
                            scale)
        return vcov, None

    def _domain_degf(self, rows: NDArray[np.intp] | None, cell: NDArray[np.intp],
                     n_cells: int) -> NDArray[np.float64]:
        """Per cell: rows with non-zero weight minus the strata holding them."""
        sums = self._sums
        take = np.arange(sums.shape[0]) if rows is None else rows
        group = sums[pt.UNIT].to_numpy(dtype=np.intp)[take]
        positive = sums["__positive"].to_numpy(dtype=np.float64)[take]
        n_groups = self._parent._stages[0].n_groups
        per = np.bincount(cell * n_groups + group, weights=positive,
                          minlength=n_cells * n_groups).reshape(n_cells, n_groups)
        return np.asarray(per.sum(axis=1) - (per > 0).sum(axis=1), dtype=np.float64)


def _sum_columns(sums: pd.DataFrame, prefix: str, m: int, rows: NDArray[np.intp],
                 key: NDArray[np.intp], size: int) -> NDArray[np.float64]:
    out = np.empty((size, m))
    for j in range(m):  # numerators, not cells
        out[:, j] = np.bincount(key, weights=sums[f"{prefix}{j}"].to_numpy(np.float64)[rows],
                                minlength=size)
    return out


def element_vcov(stage: Stage, lonely_psu: str, n_hk: NDArray[np.float64],
                 t_v: NDArray[np.float64], cross: NDArray[np.float64],
                 scale: NDArray[np.float64]) -> NDArray[np.float64]:
    """Taylor covariance of an element sample (each row its own PSU) from per
    (stratum h, cell k) sums: ``n_hk`` active rows, ``t_v`` (H, k, m) the sums of
    ``v = w (a - theta b)`` and ``cross`` (H, k, m, m) their centred cross-products.

    With scores ``z = v / scale`` and stratum sizes ``n_h`` (all rows, as
    :func:`nea_covid.variance.taylor_vcov`), each stratum contributes
    ``s_h sum_i (z_i - zbar_h)(z_i - zbar_h)'``. A row is in one cell, so this is, with
    ``mu_hk`` the mean score of the cell's rows and ``t_hk = n_hk mu_hk``: within-cell
    cross-products plus ``n_hk (n_h - n_hk) / n_h mu_hk mu_hk'`` on the cell's diagonal
    block and ``-t_hk t_hl' / n_h`` between cells; every term is exact (no difference
    of large moments). Lonely strata follow ``lonely_psu`` as in memory.
    """
    n_groups, k, m = t_v.shape
    s_h, centred = _stage_scales(stage, lonely_psu)
    n_h = stage.group_size
    c_h = centred.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        z_t = t_v / scale[None, :, :]  # sum of scores per (h, k, j)
        mu = np.where(n_hk[:, :, None] > 0, z_t / n_hk[:, :, None], 0.0)
        weight = np.where(n_h > 0, s_h * c_h / n_h, 0.0)
    flat = z_t.reshape(n_groups, k * m) * np.sqrt(weight)[:, None]
    vcov = -(flat.T @ flat)
    q = s_h[:, None] * n_hk * np.where(n_h[:, None] > 0,
                                       (n_h[:, None] - c_h[:, None] * n_hk) / n_h[:, None], 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):  # a zero denominator: NaN later
        inv_scale = 1.0 / scale
        diag = (np.einsum("hk,hki,hkj->kij", q, mu, mu)
                + np.einsum("h,hkij->kij", s_h, cross) * inv_scale[:, :, None]
                * inv_scale[:, None, :])
    for cell in range(k):  # diagonal blocks of the cells (m x m each)
        block = slice(cell * m, (cell + 1) * m)
        vcov[block, block] = diag[cell]
    if lonely_psu == "average":
        present = n_hk > 0
        lonely = (n_h == 1) & (stage.finite_correction() >= CERTAINTY_TOLERANCE)
        n_all = present.sum(axis=0).astype(np.float64)
        n_ok = (present & ~lonely[:, None]).sum(axis=0).astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = np.repeat(np.where(n_all > 0, n_all / n_ok, 1.0), m)
        undefined = np.isinf(factor)
        factor[undefined] = 0.0
        root = np.sqrt(factor)
        vcov = vcov * root[:, None] * root[None, :]
        vcov[undefined, :] = np.nan
        vcov[:, undefined] = np.nan
    return np.asarray(vcov, dtype=np.float64)


# ---------------------------------------------------------------------- replicate designs
class DaskReplicateDesign(_Partitioned, ReplicateDesign):
    """A :class:`~nea_covid.ReplicateDesign` whose rows are a Dask DataFrame.

    Made by ``nc.ReplicateDesign(ddf, ...)`` with the same arguments. Replicate
    estimates come from one sparse product per partition (per cell totals under
    every replicate weight); the rank of the replicate weights (degrees of freedom)
    from their Gram matrix, added over partitions.

    Examples
    --------
    >>> import dask.dataframe as dd
    >>> import nea_covid as nc
    >>> d = nc.SurveyDesign(nc.datasets.load_api("clus1"), weights="pw",
    ...                     clusters="dnum", fpc="fpc").to_replicate("JK1")
    >>> frame = d.data.assign(**dict(zip([f"r{i}" for i in range(15)],
    ...                                  d.replicate_weights().T)))
    >>> rd = nc.ReplicateDesign(dd.from_pandas(frame, npartitions=3), weights="pw",
    ...                         replicate_weights="^r[0-9]+$", method="JK1",
    ...                         scale=d.scale, rscales=d.rscales)
    >>> round(float(nc.mean(rd, "api00").standard_error[0]), 4)
    26.3294
    """

    _partitioned = True
    __slots__ = ("_calibration_columns", "_domain_column", "_factors", "_frame", "_gram",
                 "_keys", "_names", "_replicate_factors", "_rows", "_steps", "_table",
                 "_unit_weights", "_weight")

    _gram: NDArray[np.float64]
    _names: list[str]
    _weight: str | None

    def __init__(
        self,
        data: Any,
        *,
        weights: str | None = None,
        replicate_weights: Sequence[str] | str,
        method: Any = "other",
        scale: float | None = None,
        rscales: Sequence[float] | float | None = None,
        mse: bool = False,
        combined_weights: bool = True,
        rho: float | None = None,
    ) -> None:
        self._init_frame(data)
        self._keys, self._table, self._unit_weights = [], pd.RangeIndex(1), np.ones(1)
        self._replicate_factors: NDArray[np.float64] | None = None
        if weights is None:
            warnings.warn("No full-sample weights given: equal weights assumed.",
                          SurveyWarning, stacklevel=2)
        else:
            self._column(weights, "weights")
            _check_numeric("weights", weights, self._data[weights].dtype)
        self._weight = weights
        names = self._replicate_columns(replicate_weights)
        check_names([weights, *names])
        if len(names) < 2:
            raise DesignError(
                f"A replicate design needs at least 2 replicate weights, not {len(names)}.")
        bad_type = [c for c in names if not pd.api.types.is_numeric_dtype(self._data[c].dtype)
                    or pd.api.types.is_bool_dtype(self._data[c].dtype)]
        if bad_type:
            raise WeightError(f"Replicate-weight column {bad_type[0]!r} is not numeric.")
        self._names = names
        scaled = not combined_weights
        found, n_rows, n_positive, largest, gram = self._reduce(
            pt.replicate_summary, _add_replicate_summaries, self._empty_plan(), names, scaled)
        if weights is not None:
            for what in ("missing", "infinite", "negative"):
                problem = found.get((weights, what))
                if problem is not None:
                    raise design_value_error("weights", weights, what, problem.count,
                                             _rows_text(problem))
        for what, cls in (("missing", MissingValueError), ("infinite", WeightError)):
            bad = [c for c in names if (c, what) in found]
            if bad:
                problem = found[(bad[0], what)]
                raise cls(
                    f"Replicate-weight column {bad[0]!r} has "
                    f"{plural(problem.count, f'{what} value')} ({_rows_text(problem)}); "
                    f"{len(bad)} of the {len(names)} columns have some.")
        if n_rows == 0:
            raise DesignError("`data` has no rows.")
        if weights is not None and n_positive == 0:
            raise WeightError(f"Weights column {weights!r} is zero in all {n_rows} rows.")
        self._rows = int(n_rows)
        self._weights = np.empty(0)
        self._n_positive = int(n_positive)
        self._all_positive = n_positive == n_rows
        self._gram = gram
        self._setup(largest[None, :], None, scaled, method, scale, rscales, mse, rho,
                    combined_weights, names)

    def _weight_name(self) -> str | None:
        return self._weight

    def _rank(self, rows: NDArray[np.bool_] | None = None) -> int:
        eig = np.linalg.eigvalsh(self._gram, UPLO="U")
        return int(np.sum(eig > 1e-10 * eig.max())) if eig.max() > 0 else 0

    @property
    def n_rows(self) -> int:
        return self._rows

    @property
    def n_replicates(self) -> int:
        return len(self._names)

    @property
    def data(self) -> Any:
        return self._frame

    def replicate_weights(self) -> NDArray[np.float64]:
        raise rows_needed("`replicate_weights()`")

    @property
    def weights(self) -> Any:
        raise rows_needed("`design.weights`")

    def subset(self, mask: Any) -> Any:
        """As :meth:`nea_covid.ReplicateDesign.subset`, with ``mask`` a boolean Dask
        Series of the design's DataFrame (or a column name); one pass recounts the
        rank of the replicate weights (degrees of freedom)."""
        new = self._copy()
        new._frame, new._domain_column = self._domain_mask(mask), DOMAIN
        new._gram = new._summary()[4]
        new.degf = new._rank() - 1
        return new

    def calibrate(self, *args: Any, **kwargs: Any) -> Any:
        raise rows_needed("`calibrate`")

    def _summary(self) -> Any:
        return self._reduce(pt.replicate_summary, _add_replicate_summaries,
                            self._empty_plan(), self._names, self._scaled_by_weights)

    def _combo_arguments(self) -> tuple[Any, ...]:
        return (self._names, self._scaled_by_weights)

    def _calibrate_combinations(self, new: Any, table: pd.DataFrame, columns: list[str]
                                ) -> None:
        """Factors per combination, for the weights and for every replicate weight
        (each replicate calibrated on its own, as in memory)."""
        rep_cols = [f"__r{j}" for j in range(len(self._names))]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SurveyWarning)
            combos = ReplicateDesign(
                table[[*columns, "__w0", *rep_cols]].reset_index(drop=True), weights="__w0",
                replicate_weights=rep_cols, method=self.method,  # type: ignore[arg-type]
                scale=self.scale, rscales=list(self.rscales), mse=self.mse,
                combined_weights=True, rho=self.rho)
        combos = _replayed(combos, new._steps)
        r0 = table[rep_cols].to_numpy(np.float64)
        rep_factors = np.ones(r0.shape)
        np.divide(combos._replicates, r0, out=rep_factors, where=r0 != 0)
        new._factors = _ratios(combos._weights, table["__w0"].to_numpy(np.float64), columns,
                               table)
        new._replicate_factors = rep_factors
        new.calibration = combos.calibration
        new._gram = new._summary()[4]
        new.degf = new._rank() - 1

    def _aggregate_design(self, agg: pd.DataFrame, sums: pd.DataFrame,
                          plan: pt.Plan) -> BaseDesign:
        return _ReplicateAggregate(self, agg, sums["__w"].to_numpy(np.float64), sums, plan)


def _add_replicate_summaries(parts: list[Any]) -> Any:
    found = pt.add_problems([p[0] for p in parts])
    return (found, sum(p[1] for p in parts), sum(p[2] for p in parts),
            np.maximum.reduce([p[3] for p in parts]), sum(p[4] for p in parts))


class _ReplicateAggregate(_Aggregate):
    """Replicate designs: the replicate estimates come from the partitions."""

    __slots__ = ()

    def _variance(self, scores: Any) -> tuple[NDArray[np.float64], ReplicateEstimates]:
        parent, plan = self._parent, self._plan
        cells = _cells_index_of(self._prep, plan)
        a_rep, b_rep = parent._reduce(
            pt.replicate_sums, _add_arrays, plan, parent._names, cells,
            parent._scaled_by_weights)
        if scores.weighted_denominator is None:  # totals
            thetas = a_rep
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                thetas = a_rep / b_rep
        info = ReplicateEstimates(np.asarray(thetas, dtype=np.float64), parent.scale,
                                  parent.rscales, parent.mse)
        self.squares = None
        return info.vcov(np.asarray(scores.theta, dtype=np.float64).ravel()), info


# ---------------------------------------------------------------------- one estimate
def _deff_centre(scores: Any, prep: Any) -> NDArray[np.float64]:
    """R's centring of the design-effect sums: the mean of ``a`` for totals, else 0."""
    theta = np.nan_to_num(scores.theta)
    if scores.weighted_denominator is None:  # totals: the mean, theta / sum of weights
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.asarray(np.nan_to_num(theta / prep.cell_sums(prep.weights)[:, None]))
    return np.zeros_like(theta)


def _estimate(design: Any, statistic: str, numerators: list[str], denominators: list[str],
              by: Any, missing: Missing, frame: pd.DataFrame | None, *,
              with_deff: bool = True, with_domain_df: bool = False,
              stacklevel: int = 4, internal: bool = False) -> Estimate:
    """One ratio estimate on a Dask design: partial sums, the aggregate frame, and the
    in-memory :func:`~nea_covid.estimators.ratio_of_totals` on it. Its warnings (empty
    cells, zero denominators) are raised again at the caller's line (``stacklevel``
    from here); ``internal``: variables made by nea_covid itself."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est = _estimate_quietly(design, statistic, numerators, denominators, by, missing,
                                frame, with_deff, with_domain_df, internal)
    for found in caught:
        warnings.warn(found.message, found.category, stacklevel=stacklevel)
    return est


def _estimate_quietly(design: Any, statistic: str, numerators: list[str],
                      denominators: list[str], by: Any, missing: Missing,
                      frame: pd.DataFrame | None, with_deff: bool, with_domain_df: bool,
                      internal: bool) -> Estimate:
    if missing not in ("raise", "omit"):
        raise DesignError(f"`missing` must be 'raise' or 'omit', not {missing!r}.")
    by_cols = list(by_columns(by))
    check_names([*by_cols, *([] if internal else [*numerators, *denominators])])
    for col in by_cols:
        design._column(col, "by")
    categorical = None
    if statistic == "proportion":
        if len(numerators) != 1:
            raise DesignError(
                "On a Dask design, `proportion` takes one variable at a time; call it once "
                "per variable.")
        categorical = numerators[0]
        design._column(categorical)
        numerators = []
    else:
        numeric_matrix(design, list(dict.fromkeys(numerators + denominators)))  # dtypes
    plan = design._plan(numerators=numerators, denominators=denominators,
                        categorical=categorical, by=by_cols,
                        moments=with_deff and statistic in ("mean", "total"))
    keys = list(dict.fromkeys([pt.UNIT, pt.STATUS, *by_cols,
                               *([categorical] if categorical else []),
                               *design._calibration_columns]))
    if plan.weight_key:
        keys.append(pt.WEIGHT_KEY)
    found, sums = design._reduce(pt.cell_sums, functools.partial(_add_tables, keys=keys), plan)
    _raise_value_problems(found, [*dict.fromkeys(numerators + denominators)], categorical,
                          by_cols, missing)
    status = sums[pt.STATUS].to_numpy()
    n_missing = int(sums["__rows"].to_numpy()[status == pt.MISSING].sum())
    if categorical is not None:
        levels = _levels(design, categorical, sums)
        plan = dataclasses.replace(plan, levels=levels)
        sums = _levels_as_columns(sums, categorical, levels,
                                  [k for k in keys if k != categorical or k in by_cols
                                   or k in design._calibration_columns])
        status = sums[pt.STATUS].to_numpy()
        width = len(levels)
        frame = pd.DataFrame({"variable": [categorical] * width, "level": list(levels)})
    else:
        width = len(numerators)
    if frame is None:
        frame = pd.DataFrame({"variable": numerators})
    agg = _aggregate_frame(design, sums, by_cols, width, bool(denominators), status)
    agg_design = design._aggregate_design(agg, sums, plan)
    if (status == pt.OUTSIDE).any():  # a subset: the other rows stay for the variance
        agg_design = agg_design.subset(status != pt.OUTSIDE)
    names = [f"__y{j}" for j in range(width)]
    incomplete = {name: np.isnan(agg[name].to_numpy()) for name in names}
    prep = prepare(agg_design, incomplete, by_cols, "omit",
                   with_domain_df=with_domain_df or statistic == "proportion")
    check_size(prep.n_cells, width, prep.by)
    if isinstance(agg_design, _Aggregate):
        agg_design._prep = prep
    numerator = prep.take(agg[names].to_numpy(dtype=np.float64))
    denominator: Any = {"total": None, "ratio": None}.get(statistic, "weights")
    if statistic == "ratio":
        denominator = prep.take(agg[[f"__x{j}" for j in range(width)]].to_numpy(np.float64))
    est = ratio_of_totals(agg_design, prep, numerator, denominator, statistic, frame,
                          with_deff=False)
    # counts of rows, not of aggregates
    k = prep.n_cells
    n_obs = np.bincount(prep.cell, weights=prep.take(sums["__positive"].to_numpy(np.float64)),
                        minlength=k).astype(np.int64)
    n_rows = np.bincount(prep.cell, weights=prep.take(sums["__rows"].to_numpy(np.float64)),
                         minlength=k).astype(np.int64)
    deff = (_design_effect(design, agg_design, plan, prep, est, statistic, numerator,
                           denominator, n_obs, sums) if with_deff
            else np.full(est.estimate.shape[0], np.nan))
    extra: dict[str, Any] = {}
    if statistic == "proportion":
        extra["_special_interval"] = _no_likelihood_interval
    return dataclasses.replace(est, n_obs=np.repeat(n_obs, width), deff=deff,
                               n_missing=n_missing, _n_rows=np.repeat(n_rows, width), **extra)


def _no_likelihood_interval(level: float, method: str) -> Any:
    """Proportions on Dask: the profile-likelihood interval refits per row."""
    if method == "likelihood":
        raise rows_needed("The 'likelihood' interval (a logistic fit over the rows)")
    raise ArgumentError(
        f"Interval method {method!r} is not available for proportions; use 't', 'logit', "
        "'asin', 'beta', 'mean' or 'xlogit' (on Dask; 'likelihood' needs the rows).")


def _raise_value_problems(found: dict[tuple[str, str], pt.Problem], names: list[str],
                          categorical: str | None, by_cols: list[str], missing: str) -> None:
    """The errors of :func:`~nea_covid.estimators.numeric_matrix`,
    :func:`~nea_covid.estimators.levels_of` and :func:`~nea_covid.domains.prepare`."""
    for name in names:
        problem = found.get((name, "infinite"))
        if problem is not None:
            raise VariableTypeError(
                f"Column {name!r} has {plural(problem.count, 'infinite value')}; replace them "
                "before estimating.")
    if categorical is not None:
        problem = found.get((categorical, "infinite"))
        if problem is not None:
            raise VariableTypeError(
                f"Column {categorical!r} has {plural(problem.count, 'infinite value')}; "
                "replace them (or make them missing) before estimating.")
        if (categorical, "noninteger") in found:
            raise VariableTypeError(
                f"Column {categorical!r} has non-integer numbers; proportions need categories "
                "(categorical, text, boolean or integer-coded). Use `nc.mean` for a numeric "
                "variable, or cut it into classes first.")
    if missing == "raise":
        for name in [*by_cols, *names, *([categorical] if categorical else [])]:
            problem = found.get((name, "missing"))
            if problem is not None:
                raise missing_error(name, problem.count, _rows_text(problem))


def _levels(design: Any, name: str, sums: pd.DataFrame) -> pd.Index:
    """Levels of a categorical-like column as :func:`~nea_covid.estimators.levels_of`
    orders them: a Categorical's categories (when Dask knows them), False/True, else
    the sorted distinct values."""
    dtype = design._data[name].dtype
    categories = _categories(design, name)
    if categories is not None:
        return categories
    if pd.api.types.is_bool_dtype(dtype):
        return pd.Index([False, True])
    values = sums[name].dropna()
    if isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype(values.cat.categories.dtype)
    return pd.Index(pd.unique(values)).sort_values()


def _categories(design: Any, name: str) -> pd.Index | None:
    """The categories of a categorical column, in their order. Where Dask does not
    know them (categoricals read from parquet), one pass over the column unites the
    partitions' categories in their order (Dask's ``cat.as_known`` orders them by
    the values' appearance instead)."""
    dtype = design._data[name].dtype
    if not isinstance(dtype, pd.CategoricalDtype):
        return None
    if "__UNKNOWN_CATEGORIES__" not in list(dtype.categories):
        known: pd.Index = pd.Index(dtype.categories.array)
        return known
    united: pd.Index = pd.Index(reduce_partitions(design._frame[[name]], _partition_categories,
                                                  _united, name))
    return united


def _partition_categories(part: pd.DataFrame, name: str) -> list[Any]:
    return list(part[name].cat.categories)


def _united(parts: list[list[Any]]) -> list[Any]:
    """The categories of several partitions, in the order they first appear."""
    return list(dict.fromkeys(c for part in parts for c in part))


def _levels_as_columns(sums: pd.DataFrame, name: str, levels: pd.Index, keys: list[str]
                       ) -> pd.DataFrame:
    """Turn the level key into columns ``__a{j}``: the weight of each level's rows."""
    group = sums.groupby(keys, sort=False, dropna=False, observed=True).ngroup().to_numpy()
    first = np.unique(group, return_index=True)[1]
    out = sums.iloc[first][keys].reset_index(drop=True)
    size = first.shape[0]
    for col in ("__w", "__w0", "__rows", "__positive"):
        if col in sums:
            out[col] = np.bincount(group, weights=sums[col].to_numpy(np.float64),
                                   minlength=size)
    out["__rows"] = out["__rows"].astype(np.int64)
    out["__positive"] = out["__positive"].astype(np.int64)
    code = np.asarray(levels.get_indexer(pd.Index(sums[name])), dtype=np.intp)
    active = (sums[pt.STATUS].to_numpy() == pt.ACTIVE) & (code >= 0)
    n_levels = len(levels)
    counts = np.bincount(group[active] * n_levels + code[active],
                         weights=sums["__w"].to_numpy(np.float64)[active],
                         minlength=size * n_levels).reshape(size, n_levels)
    extra = pd.DataFrame(counts, columns=[f"__a{j}" for j in range(n_levels)])
    if "__u1" in sums:  # unweighted level counts (raking residuals)
        out["__u1"] = np.bincount(group, weights=sums["__u1"].to_numpy(np.float64),
                                  minlength=size)
        unweighted = np.bincount(group[active] * n_levels + code[active],
                                 weights=sums["__u1"].to_numpy(np.float64)[active],
                                 minlength=size * n_levels).reshape(size, n_levels)
        extra = pd.concat([extra, pd.DataFrame(
            unweighted, columns=[f"__ua{j}" for j in range(n_levels)])], axis=1)
    return pd.concat([out, extra], axis=1)


def _aggregate_frame(design: Any, sums: pd.DataFrame, by_cols: list[str], width: int,
                     has_denominators: bool, status: NDArray[Any]) -> pd.DataFrame:
    """One row per partial sum: by-values, ``__y{j} = sum w a / sum w`` (NaN where a
    value is missing) and ``__x{j}`` likewise for denominators; weights ``sum w``."""
    w = sums["__w"].to_numpy(np.float64)
    out: dict[str, Any] = {}
    for col in by_cols:
        values: Any = sums[col]
        categories = _categories(design, col)
        if categories is not None:
            values = pd.Categorical(values, categories=categories)
        out[col] = values
    missing = status == pt.MISSING
    for prefix, name, count in (("__a", "__y", width),
                                ("__b", "__x", width if has_denominators else 0)):
        for j in range(count):  # numerators, not cells
            value = np.zeros(w.shape[0])
            np.divide(sums[f"{prefix}{j}"].to_numpy(np.float64), w, out=value, where=w > 0)
            value[missing] = np.nan
            out[f"{name}{j}"] = value
    return pd.DataFrame(out)


def _squares_of_aggregates(sums: pd.DataFrame, prep: Any, theta: NDArray[np.float64],
                           big_w: NDArray[np.float64], total: bool) -> NDArray[np.float64]:
    """``sum w (a - c)^2`` per cell from each aggregate's weight ``W``, mean ``m`` and
    sum of squares ``q`` about it: ``sum q + W (m - c)^2``; ``c`` is the estimate
    (means) or the cell's mean (totals)."""
    k, width = theta.shape
    with np.errstate(divide="ignore", invalid="ignore"):
        centre = np.nan_to_num(theta / big_w[:, None] if total else theta)
    w = prep.take(sums["__w"].to_numpy(np.float64))
    out = np.empty((k, width))
    for j in range(width):  # variables, not cells
        mean = np.zeros(w.shape[0])
        np.divide(prep.take(sums[f"__a{j}"].to_numpy(np.float64)), w, out=mean, where=w > 0)
        dev = mean - centre[prep.cell, j]
        out[:, j] = np.bincount(prep.cell, minlength=k, weights=prep.take(
            sums[f"__q{j}"].to_numpy(np.float64)) + w * dev * dev)
    return out


def _design_effect(design: Any, agg: BaseDesign, plan: pt.Plan, prep: Any, est: Estimate,
                   statistic: str, numerator: NDArray[np.float64],
                   denominator: Any, n_obs: NDArray[np.int64],
                   sums: pd.DataFrame) -> NDArray[np.float64]:
    """R's design effects from the rows: closed form for proportions, else one more
    pass for ``sum w (a - theta b - c)^2`` per cell (element samples have it already)."""
    k = prep.n_cells
    width = numerator.shape[1]
    theta = est.estimate.reshape(k, width)
    big_w = prep.cell_sums(prep.weights)
    if statistic == "total":
        scale = np.ones((k, width))
    elif statistic == "ratio":
        scale = prep.cell_sums(prep.weights[:, None] * denominator)
    else:
        scale = np.repeat(big_w[:, None], width, axis=1)
    var = np.diag(est.vcov)
    if statistic == "proportion":
        with np.errstate(divide="ignore", invalid="ignore"):
            squares = indicator_squares(theta, scale)
    elif isinstance(agg, _Aggregate) and agg.squares is not None:
        squares = agg.squares
    elif "__q0" in sums:  # within-aggregate sums of squares from the first pass
        squares = _squares_of_aggregates(sums, prep, theta, big_w, statistic == "total")
    else:
        total = statistic == "total"
        with np.errstate(divide="ignore", invalid="ignore"):
            centre = (np.nan_to_num(theta / big_w[:, None]) if total
                      else np.zeros_like(theta))
        cells = _cells_index_of(prep, plan)
        squares, _ = design._reduce(pt.centred_sums, _add_arrays, plan, cells,
                                    np.zeros_like(theta) if total else np.nan_to_num(theta),
                                    centre, None, 0)
    return deff_from_squares(squares, scale, big_w, n_obs, var)


def _cells_index_of(prep: Any, plan: pt.Plan) -> pd.Index:
    if not plan.by:
        return pd.RangeIndex(1)
    if len(plan.by) == 1:
        cells: pd.Index = pd.Index(prep.labels[plan.by[0]].array)
        return cells
    return pd.MultiIndex.from_frame(prep.labels[list(plan.by)])


# ---------------------------------------------------------------------- quantiles
#: Bins per target and pass of the quantile search.
QUANTILE_BINS = 1024
#: A target's interval is read value by value once it holds at most this many rows.
QUANTILE_ROWS = 100_000
#: Histogram passes before the values are read whatever their number (ties).
QUANTILE_PASSES = 6


class PartitionedCells:
    """The cells of a quantile on a Dask design (:class:`nea_covid.quantiles.Cells`).

    The cells, counts and missing values come from the ratio estimate of the same
    variables (one pass). Each quantile is then found exactly by narrowing an interval
    of values per (cell, probability): a pass counts the weight in :data:`QUANTILE_BINS`
    bins of the interval, the bin where the weighted CDF crosses ``p`` becomes the next
    interval, until it holds at most :data:`QUANTILE_ROWS` rows; a last pass reads its
    distinct values with their weights, and R's ``qrule_math`` is applied to them with
    the weight below the interval. Typical data need two to four passes per search.
    """

    def __init__(self, design: Any, names: list[str], by: Any, missing: Missing) -> None:
        self.design, self.names = design, names
        means = _estimate(design, "mean", names, [], by, missing, None, with_deff=False,
                          with_domain_df=True, stacklevel=4)
        m = len(names)
        self.by = means.by
        self.n_cells = means.estimate.shape[0] // m
        first = np.arange(self.n_cells) * m
        self.labels = means.cells.iloc[first][list(self.by)].reset_index(drop=True)
        self.levels = means._by_levels or {}
        self.n_obs = means.n_obs[first]
        assert means._n_rows is not None
        assert means._domain_df is not None
        self.n_rows, self.domain_df = means._n_rows[first], means._domain_df[first]
        self.n_missing = means.n_missing
        self.plan = design._plan(numerators=names, denominators=[], categorical=None,
                                 by=list(self.by))
        self.cells = (pd.RangeIndex(1) if not self.by else _labels_index(self.labels, self.by))
        self.low, self.high = design._reduce(pt.quantile_ranges, _min_max, self.plan,
                                             self.cells)
        self.by_arg, self.missing = by, missing

    def search(self, variable: int, cell: NDArray[np.intp], p: NDArray[np.float64]
               ) -> NDArray[np.float64]:
        from nea_covid.quantiles import TIE_TOLERANCE

        n_targets = cell.shape[0]
        out = np.full(n_targets, np.nan)
        if n_targets == 0:
            return out
        slots = _slots(cell, self.n_cells)
        low = self.low[cell, variable].copy()
        high = self.high[cell, variable].copy()
        empty = ~(low <= high)
        low[empty], high[empty] = 0.0, -1.0  # no rows: nothing falls inside
        total = None
        for _ in range(QUANTILE_PASSES):  # passes over the data, each narrowing 1000-fold
            below, weights, counts = self.design._reduce(
                pt.quantile_histogram, _add_arrays, self.plan, self.cells, variable, slots,
                low, high, QUANTILE_BINS)
            if total is None:
                total = below + weights.sum(axis=1)
            level = p * total
            tol = TIE_TOLERANCE * total
            cum = below[:, None] + np.cumsum(weights, axis=1)
            crossing = np.minimum((cum <= (level + tol)[:, None]).sum(axis=1),
                                  QUANTILE_BINS - 1)
            done = empty | (counts.sum(axis=1) <= QUANTILE_ROWS) | (low == high)
            if done.all():
                break
            width = (high - low) / QUANTILE_BINS
            narrow = ~done
            new_low = low + crossing * width
            new_high = np.where(crossing == QUANTILE_BINS - 1, high,
                                low + (crossing + 1) * width)
            low = np.where(narrow, new_low, low)
            high = np.where(narrow, new_high, high)
        assert total is not None
        below, previous, following, values = self.design._reduce(
            pt.quantile_values, pt.add_quantile_values, self.plan, self.cells, variable,
            slots, low, high)
        return _qrule_math(p * total, TIE_TOLERANCE * total, below, previous, following,
                           values, n_targets, empty)

    def cdf(self, qhat: NDArray[np.float64], columns: pd.DataFrame) -> Estimate:
        cells = self.cells
        names, by = self.names, list(self.by)
        derived = [f"__below{i}" for i in range(len(columns))]
        source = self.design._frame[self.design._columns_of(pt.cell_sums, (self.plan,))]
        frame = source.map_partitions(
            _below_columns, names, by, cells, qhat.reshape(self.n_cells, -1), derived,
            meta=source._meta.assign(**{c: np.float64(0) for c in derived}))
        design = self.design._copy()
        design._frame, design._data = frame, frame._meta
        with warnings.catch_warnings():  # the same cells warned about already
            warnings.simplefilter("ignore", EmptyDomainWarning)
            est = _estimate(design, "mean", derived, [], self.by_arg, self.missing, columns,
                            with_deff=False, with_domain_df=True, internal=True)
        return dataclasses.replace(est, statistic="proportion")


def _below_columns(part: pd.DataFrame, names: list[str], by: list[str], cells: pd.Index,
                   qhat: NDArray[np.float64], derived: list[str]) -> pd.DataFrame:
    """Indicators ``x <= qhat`` of each row's cell (NaN where ``x`` is missing)."""
    cell = pt.cell_of(part, by, cells)
    q = qhat.shape[1] // len(names)
    out = {}
    for j, name in enumerate(names):  # variables and quantiles, not rows
        x = pt.float_values(part[name])
        for i in range(q):
            bound = np.where(cell >= 0, qhat[np.maximum(cell, 0), j * q + i], np.nan)
            value = (x <= bound).astype(np.float64)
            value[np.isnan(x)] = np.nan
            out[derived[j * q + i]] = value
    return part.assign(**out)


def _labels_index(labels: pd.DataFrame, by: Sequence[str]) -> pd.Index:
    if len(by) == 1:
        index: pd.Index = pd.Index(labels[by[0]].array)
        return index
    return pd.MultiIndex.from_frame(labels[list(by)])


def _min_max(parts: list[Any]) -> Any:
    return (np.minimum.reduce([p[0] for p in parts]), np.maximum.reduce([p[1] for p in parts]))


def _slots(cell: NDArray[np.intp], n_cells: int) -> NDArray[np.intp]:
    """The targets of each cell, one row per cell, padded with -1."""
    order = np.argsort(cell, kind="stable")
    counts = np.bincount(cell, minlength=n_cells)
    width = max(int(counts.max()), 1)
    rank = np.arange(cell.shape[0]) - np.repeat(np.cumsum(counts) - counts, counts)
    slots = np.full((n_cells, width), -1, dtype=np.intp)
    slots[cell[order], rank] = order
    return slots


def _qrule_math(level: NDArray[np.float64], tol: NDArray[np.float64],
                below: NDArray[np.float64], previous: NDArray[np.float64],
                following: NDArray[np.float64], values: pd.DataFrame, n_targets: int,
                empty: NDArray[np.bool_]) -> NDArray[np.float64]:
    """R's ``qrule_math`` (as :meth:`nea_covid.quantiles._SortedCells.qrule_math`)
    from each target's interval: its distinct values with their weights and rows, the
    weight ``below`` it, the value before it and the value after it.

    The last row with cumulative weight at most ``level + tol`` ends a distinct value
    ``v`` (or is ``previous``): the quantile is ``v`` when its cumulative weight ties
    with ``level``, else the next value. With no such row, R takes the second row."""
    values = values.sort_values(["__t", "__x"], ignore_index=True)
    t = values["__t"].to_numpy(dtype=np.intp)
    # two guards at the end: an empty last target reads x[start] and x[start + 1]
    x = np.append(values["__x"].to_numpy(dtype=np.float64), [np.nan, np.nan])
    w = values["__w"].to_numpy(dtype=np.float64)
    n = np.append(values["__n"].to_numpy(dtype=np.int64), [0, 0])
    targets = np.arange(n_targets)
    start = np.searchsorted(t, targets)
    stop = np.searchsorted(t, targets, side="right")
    running = np.cumsum(w)
    cum = running + (below - np.concatenate(([0.0], running))[start])[t]
    first_past = stop.copy()  # the first distinct value past the level, per target
    past = np.flatnonzero(cum > (level + tol)[t])
    np.minimum.at(first_past, t[past], past)
    inside = first_past > start
    last = np.maximum(first_past - 1, 0)
    value = np.where(inside, x[last], previous)
    weight = np.where(inside, np.append(cum, np.nan)[last], below)
    after = np.where(first_past < stop, x[first_past],
                     np.where(np.isfinite(following), following, value))
    out = np.where(np.abs(weight - level) <= tol, value, after)
    # no row at or below the level: R's pos 0, not a tie, so the second row
    nothing = ~inside & ~np.isfinite(previous)
    second = np.where(n[start] >= 2, x[start],
                      np.where(stop - start >= 2, x[start + 1],
                               np.where(np.isfinite(following), following, x[start])))
    out = np.where(nothing, second, out)
    out[empty] = np.nan
    return np.asarray(out, dtype=np.float64)
