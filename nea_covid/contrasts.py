"""Contrasts of estimates: linear and nonlinear combinations of cells, changes
between waves, t-tests.

Every function here starts from a result with cells, estimates and their full
covariance (:class:`~nea_covid.Estimate`, or a :class:`~nea_covid.Regression`), so
it never needs the data again:

* a linear contrast ``L theta`` has covariance ``L V L'``;
* a nonlinear one ``f(theta)`` has ``J V J'`` with ``J`` the Jacobian of ``f`` at the
  estimate (the delta method, as R's ``svycontrast`` with an expression); on
  replicate designs ``f`` is evaluated on every replicate's estimates instead and the
  replicates give the variance (R's ``svycontrast`` on results with
  ``return.replicates=TRUE``).

Because the covariance comes from the design, the change between two waves of a
panel (the same persons or PSUs in both) automatically has the paired standard error;
``samples="independent"`` drops the covariance between the waves, which is right for
independent cross-sections only.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from nea_covid.comparison import Alternative, Comparison, check_alternative
from nea_covid.design import BaseDesign, SurveyDesign, require_rows
from nea_covid.domains import By, Missing
from nea_covid.errors import (
    ComparisonError,
    DegreesOfFreedomError,
    EmptyDomainWarning,
    ZeroDenominatorWarning,
    plural,
)
from nea_covid.replicates import svr_variance

__all__ = ["compare", "contrast", "ttest"]

Samples = Literal["paired", "independent"]
Weights = Mapping[Any, float] | Sequence[float] | NDArray[np.float64]


# ---------------------------------------------------------------------- cell names
class CellNames:
    """Resolve user keys to cells: a cell is named by its by-level, a tuple of its
    levels, or its variable, whichever identifies it uniquely. Lookups go through
    dictionaries built once (exact values first, then their text, so that ``1`` and
    ``"1"`` both name level 1)."""

    def __init__(self, cells: pd.DataFrame) -> None:
        self.cells = cells.reset_index(drop=True)
        varying = [c for c in self.cells.columns
                   if not (self.cells[c] == self.cells[c].iloc[0]).all()]
        self.varying = varying or ["variable"]
        self.keys: list[tuple[Any, ...]] = [
            tuple(row) for row in self.cells[self.varying].itertuples(index=False)]
        full = [tuple(row) for row in self.cells.itertuples(index=False)]
        self._index: dict[tuple[str, Any], list[int]] = {}
        for i, (key, whole) in enumerate(zip(self.keys, full, strict=True)):
            for entry in {("tuple", key), ("tuple", _text(key)), ("full", whole),
                          ("full", _text(whole))}:
                self._index.setdefault(entry, []).append(i)
            for value in set(key):
                self._index.setdefault(("value", value), []).append(i)
            for value in {str(v) for v in key}:
                self._index.setdefault(("text", value), []).append(i)

    def name(self, i: int) -> str:
        key = self.keys[i]
        return str(key[0]) if len(key) == 1 else "(" + ", ".join(map(str, key)) + ")"

    def names(self) -> list[str]:
        return [self.name(i) for i in range(len(self.keys))]

    def key(self, i: int) -> Any:
        """The simplest key naming cell ``i``: its level, or the tuple of its levels."""
        key = self.keys[i]
        return key[0] if len(key) == 1 else key

    def _matches(self, key: Any) -> list[int]:
        lookups: list[tuple[str, Any]]
        if isinstance(key, tuple):
            lookups = [("tuple", key), ("tuple", _text(key)), ("full", key),
                       ("full", _text(key))]
        else:
            lookups = [("value", key), ("text", str(key))]
        for entry in lookups:
            try:
                hits = self._index.get(entry)
            except TypeError:  # unhashable key
                hits = None
            if hits:
                return hits
        return []

    def index(self, key: Any) -> int:
        hits = self._matches(key)
        if len(hits) == 1:
            return hits[0]
        if not hits:
            shown = ", ".join(repr(n) for n in self.names()[:20])
            more = f", ... ({len(self.keys)} in all)" if len(self.keys) > 20 else ""
            raise ComparisonError(
                f"No cell is named {key!r}. The cells are: {shown}{more}"
                + (f" (as tuples of {', '.join(self.varying)})" if len(self.varying) > 1
                   else "") + "."
            )
        raise ComparisonError(
            f"{key!r} names {plural(len(hits), 'cell')}: "
            f"{', '.join(self.name(i) for i in hits[:10])}; name one cell with a tuple of "
            f"({', '.join(self.varying)})."
        )


def _text(values: tuple[Any, ...]) -> tuple[str, ...]:
    return tuple(str(v) for v in values)


def _same_value(a: Any, b: Any) -> bool:
    try:
        if a == b:
            return True
    except (TypeError, ValueError):
        pass
    return str(a) == str(b)


class _Cells(Mapping[Any, Any]):
    """The mapping handed to a nonlinear contrast: ``c[key]`` is a cell's value (an
    array when evaluated on many points at once). Records which cells were read."""

    def __init__(self, names: CellNames, values: NDArray[np.float64],
                 positions: NDArray[np.intp] | None = None) -> None:
        self._names = names
        self._values = values
        # row of ``values`` holding each cell (None: row i is cell i)
        self._positions = positions
        self.read: set[int] = set()

    def __getitem__(self, key: Any) -> Any:
        i = self._names.index(key)
        self.read.add(i)
        if self._positions is None:
            return self._values[i]
        row = self._positions[i]
        if row < 0:
            raise ComparisonError(
                "The nonlinear contrast reads different cells at different points; it "
                "must always use the same cells.")
        return self._values[row]

    def __iter__(self) -> Any:
        return (self._names.key(i) for i in range(len(self._names.keys)))

    def __len__(self) -> int:
        return len(self._names.keys)


# ---------------------------------------------------------------------- sources
def _source(result: Any) -> tuple[pd.DataFrame, NDArray[np.float64], NDArray[np.float64],
                                  float, Any]:
    try:
        cells, est, vcov, df = result.cells, result.estimate, result.vcov, result.df
    except AttributeError:
        raise TypeError(
            "Contrasts and comparisons need a result with estimates and their covariance "
            f"(nc.mean, nc.total, nc.proportion, nc.ratio, nc.glm, ...), not "
            f"{type(result).__name__}."
        ) from None
    return (cells, np.asarray(est, dtype=np.float64), np.asarray(vcov, dtype=np.float64),
            float(df), getattr(result, "_replicates", None))


def _check_df(df: float, what: str) -> None:
    if not df >= 1:
        raise DegreesOfFreedomError(
            f"The design has {df:g} degrees of freedom, too few for {what}: a t reference "
            "distribution needs at least 1. Use a design with more PSUs (or fewer strata)."
        )


def quadratic_form(jac: NDArray[np.float64], vcov: NDArray[np.float64]) -> NDArray[np.float64]:
    """``J V J'`` over the cells ``J`` uses (unused cells may be NaN: empty domains),
    with ``J`` as a sparse matrix (differences touch two cells each).

    A variance within rounding error of zero relative to ``|J| |V| |J|'`` (e.g. the
    difference of two identical cells) is set to exactly zero, so that such contrasts
    are recognised as having no variance instead of a tiny random one."""
    import scipy.sparse as sp

    used = np.any(jac != 0, axis=0)
    j = sp.csr_matrix(jac[:, used])
    v = vcov[np.ix_(used, used)]
    with np.errstate(invalid="ignore"):
        jv = np.asarray(j @ v)
        out = np.asarray(j @ jv.T, dtype=np.float64).T
        absj = abs(j)
        bound = np.asarray(absj.multiply(np.asarray(absj @ np.abs(v))).sum(axis=1)).ravel()
    out = (out + out.T) / 2
    noise = np.abs(np.diag(out)) <= 64 * np.finfo(np.float64).eps * bound
    out[noise, :] = 0.0
    out[:, noise] = 0.0
    return out


# ---------------------------------------------------------------------- contrast
def contrast(
    result: Any,
    weights: Weights | Mapping[str, Weights] | pd.Series | pd.DataFrame
    | Callable[[Mapping[Any, Any]], Any],
    *,
    null: float | Sequence[float] = 0.0,
    alternative: Alternative = "two-sided",
    confidence_level: float = 0.95,
    method: Literal["replicates", "delta"] = "replicates",
) -> Comparison:
    """Linear or nonlinear combinations of the cells of an estimate, with their
    design-based standard errors (R's ``svycontrast``).

    Parameters
    ----------
    result : Estimate or Regression
        Any result with cells and their covariance (estimates by domain carry the
        covariance across domains).
    weights : mapping, sequence, mapping of mappings, 2-D array, or callable
        * a mapping from cell names to weights, ``{"E": 1, "H": -1}`` (cells not named
          get weight 0); a cell is named by its by-level, by a tuple of its levels
          (e.g. ``("2020-11", True)`` for a proportion by wave), or by its variable,
          whichever names it uniquely;
        * a sequence of one weight per cell, in the order of ``result.cells``;
        * a pandas Series (index: cell names);
        * several contrasts at once: a mapping from contrast names to either of the
          above, a 2-D array (one row per contrast), or a DataFrame (index: contrast
          names, columns: cell names);
        * a callable ``f(c)`` for a nonlinear contrast, where ``c[name]`` is a cell's
          estimate; it returns a number, a sequence, or a mapping of named numbers.
          It must use elementwise numpy operations (``np.log``, ``/``, ...): it is
          evaluated on arrays to differentiate it numerically
          (:func:`scipy.differentiate.jacobian`, to about 1e-12) and, on replicate
          designs, on all replicates at once.
    null : float or sequence, default 0
        Value of each contrast under the null hypothesis.
    alternative : {"two-sided", "less", "greater"}
    confidence_level : float, default 0.95
    method : {"replicates", "delta"}, default "replicates"
        Variance of a nonlinear contrast on a replicate design: from the contrast
        evaluated on every replicate (R's ``svycontrast`` on results with
        ``return.replicates=TRUE``), or by the delta method from the covariance (R's
        ``svycontrast`` without replicates). Taylor designs always use the delta
        method; linear contrasts are the same either way.

    Returns
    -------
    Comparison
        One row per contrast, with t-tests on the design's degrees of freedom.

    Notes
    -----
    Linear contrasts: ``L theta`` with covariance ``L V L'``. Nonlinear: the delta
    method ``J V J'`` on Taylor designs; on replicate designs the contrast is
    evaluated on each replicate and the replicates give its variance, as R's
    ``svycontrast`` on results computed with ``return.replicates=TRUE`` (quantiles
    carry no replicates and use the delta method).

    Examples
    --------
    >>> import numpy as np
    >>> import nea_covid as nc
    >>> d = nc.SurveyDesign(nc.datasets.load_api("clus1"), clusters="dnum", weights="pw",
    ...                     fpc="fpc")
    >>> est = nc.mean(d, ["api00", "api99"])
    >>> ch = nc.contrast(est, {"api00": 1, "api99": -1})
    >>> round(float(ch.estimate[0]), 2), round(float(ch.standard_error[0]), 3)
    (37.19, 3.085)
    >>> ratio = nc.contrast(est, lambda c: np.log(c["api00"] / c["api99"]))
    >>> round(float(ratio.estimate[0]), 4)
    0.0595
    """
    check_alternative(alternative)
    if method not in ("replicates", "delta"):
        raise ComparisonError(f"`method` must be 'replicates' or 'delta', not {method!r}.")
    cells, est, vcov, df, replicates = _source(result)
    if method == "delta":
        replicates = None
    names = CellNames(cells)
    if callable(weights):
        labels, value, var = _nonlinear(weights, names, est, vcov, replicates)
    else:
        labels, matrix = _linear_matrix(weights, names)
        used = np.any(matrix != 0, axis=0)
        value = matrix[:, used] @ est[used]
        var = quadratic_form(matrix, vcov)
    _check_df(df, "a t-test")
    return Comparison(
        kind="contrast", cells=pd.DataFrame({"contrast": labels}), estimate=value,
        vcov=var, df=df, null_value=_null(null, len(labels)),
        alternative=alternative, confidence_level=confidence_level,
    )


def _one_row(weights: Any, names: CellNames) -> NDArray[np.float64]:
    n = len(names.keys)
    if isinstance(weights, pd.Series):
        weights = dict(weights.items())
    if isinstance(weights, Mapping):
        if not weights:
            raise ComparisonError("The contrast has no weights.")
        row = np.zeros(n)
        for key, w in weights.items():
            row[names.index(key)] += _number(w, key)
        return row
    if isinstance(weights, str) or not isinstance(weights, Sequence | np.ndarray):
        raise ComparisonError(
            f"Contrast weights must be a mapping from cell names to numbers, one number "
            f"per cell, or a callable; not {type(weights).__name__}.")
    row = np.array([_number(w, f"cell {i + 1}") for i, w in enumerate(weights)])
    if row.shape[0] != n:
        raise ComparisonError(
            f"The contrast has {row.shape[0]} weights, but the estimate has "
            f"{plural(n, 'cell')} ({', '.join(names.names()[:10])}"
            f"{', ...' if n > 10 else ''}); give one weight per cell or a mapping from "
            "cell names to weights."
        )
    return row


def _number(w: Any, key: Any) -> float:
    if isinstance(w, str | bytes):
        raise ComparisonError(f"The weight of {key!r} must be a number, not {w!r}.")
    try:
        value = float(w)
    except (TypeError, ValueError):
        raise ComparisonError(f"The weight of {key!r} must be a number, not {w!r}.") from None
    if not np.isfinite(value):
        raise ComparisonError(f"The weight of {key!r} is {value}; weights must be finite.")
    return value


def _linear_matrix(weights: Any, names: CellNames) -> tuple[list[str], NDArray[np.float64]]:
    """Contrast labels and the (contrasts, cells) weight matrix."""
    if isinstance(weights, pd.DataFrame):  # rows: contrasts; columns: cell names
        if weights.empty:
            raise ComparisonError("The contrast has no weights.")
        return ([str(k) for k in weights.index],
                np.vstack([_one_row(dict(row.items()), names)
                           for _, row in weights.iterrows()]))
    if isinstance(weights, Mapping) and weights and all(
            isinstance(v, Mapping | Sequence | np.ndarray | pd.Series)
            and not isinstance(v, str) for v in weights.values()):
        labels = [str(k) for k in weights]
        return labels, np.vstack([_one_row(v, names) for v in weights.values()])
    if (isinstance(weights, np.ndarray) and weights.ndim == 2) or (
            isinstance(weights, Sequence) and not isinstance(weights, str) and weights
            and all(isinstance(r, Sequence | np.ndarray) and not isinstance(r, str)
                    for r in weights)):
        rows = [_one_row(list(r), names) for r in weights]
        if not rows:
            raise ComparisonError("The contrast has no weights.")
        return [f"contrast{i + 1}" for i in range(len(rows))], np.vstack(rows)
    return ["contrast"], _one_row(weights, names)[None, :]


def _null(null: Any, k: int) -> NDArray[np.float64]:
    try:
        values = np.asarray(null, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise ComparisonError(f"`null` must be numbers, not {null!r}.") from None
    if values.shape[0] not in (1, k) or not np.all(np.isfinite(values)):
        raise ComparisonError(
            f"`null` needs one finite value, or one per contrast ({k}); got {null!r}.")
    return np.broadcast_to(values, (k,)).copy()


def _as_outputs(value: Any, batch: tuple[int, ...]) -> tuple[list[str] | None, list[Any]]:
    """A nonlinear contrast's return value as (names or None, list of outputs); an
    array with one axis more than the points holds several outputs."""
    if isinstance(value, Mapping):
        return [str(k) for k in value], list(value.values())
    if isinstance(value, pd.Series):
        return [str(k) for k in value.index], list(value.to_numpy())
    if isinstance(value, list | tuple):
        return None, list(value)
    if isinstance(value, np.ndarray) and value.ndim == len(batch) + 1:
        return None, list(value)
    return None, [value]


_NOT_ELEMENTWISE = (
    "A nonlinear contrast must compute each result elementwise from the cells with "
    "numpy operations (np.log, np.exp, +, -, *, /, **): it is evaluated on arrays of "
    "many points at once. Python's math functions, float(), if/max()/min() on cells, or "
    "sums over a list of cells do not work; use np.maximum, np.where, or c['a'] + "
    "c['b'] instead.")


def _evaluate(
    function: Callable[[Mapping[Any, Any]], Any], names: CellNames,
    points: NDArray[np.float64], positions: NDArray[np.intp] | None = None,
) -> tuple[list[str] | None, NDArray[np.float64], set[int]]:
    """``function`` at ``points`` (one row per cell read, then any batch axes):
    (names, outputs of shape (k, batch...), cells read). With ``positions`` the
    function must read exactly the cells it read at the estimate."""
    cells = _Cells(names, points, positions)
    batch = points.shape[1:]
    with np.errstate(all="ignore"):
        try:
            labels, outs = _as_outputs(function(cells), batch)
        except ComparisonError:
            raise
        except (TypeError, ValueError, ArithmeticError, KeyError, IndexError) as exc:
            raise ComparisonError(
                f"The nonlinear contrast failed ({type(exc).__name__}: {exc}). "
                + _NOT_ELEMENTWISE) from None
        if labels is not None and len(set(labels)) != len(labels):
            raise ComparisonError(
                f"The nonlinear contrast returned duplicate names: {labels}.")
        stacked = np.empty((len(outs), *batch))
        for j, out in enumerate(outs):  # the contrast's outputs (few)
            try:
                if out is None:
                    raise TypeError
                arr = np.asarray(out, dtype=np.float64)
            except (TypeError, ValueError):
                raise ComparisonError(
                    f"A nonlinear contrast must return numbers, not {out!r}.") from None
            if arr.shape != batch and arr.ndim != 0:
                raise ComparisonError(
                    f"The nonlinear contrast returned shape {arr.shape} for points of "
                    f"shape {batch}. " + _NOT_ELEMENTWISE)
            stacked[j] = arr
    if not stacked.shape[0]:
        raise ComparisonError("The nonlinear contrast returned no value.")
    if positions is not None and cells.read != set(np.flatnonzero(positions >= 0).tolist()):
        raise ComparisonError(
            "The nonlinear contrast reads different cells at different points; it must "
            "always use the same cells (use np.where instead of if/else).")
    return labels, stacked, cells.read


def _evaluate_checked(
    function: Callable[[Mapping[Any, Any]], Any], names: CellNames,
    points: NDArray[np.float64], positions: NDArray[np.intp], at: NDArray[np.float64],
    value: NDArray[np.float64],
) -> NDArray[np.float64]:
    """``function`` on a batch of points (cells read, n), with the estimate ``at``
    appended as one more point that must give ``value`` again: a function that is
    not elementwise (a reduction, or an ``if`` on the whole batch) is caught."""
    batch = np.column_stack([points.reshape(points.shape[0], -1), at])
    out = _evaluate(function, names, batch, positions)[1]
    again = out[:, -1]
    same = np.isclose(again, value, rtol=1e-12, atol=0.0) | (np.isnan(again) & np.isnan(value))
    if not np.all(same):
        raise ComparisonError(
            "The nonlinear contrast gives a different value at the estimates when "
            "evaluated among other points. " + _NOT_ELEMENTWISE)
    return out[:, :-1].reshape(out.shape[0], *points.shape[1:])


def _nonlinear(
    function: Callable[[Mapping[Any, Any]], Any], names: CellNames,
    est: NDArray[np.float64], vcov: NDArray[np.float64], replicates: Any,
) -> tuple[list[str], NDArray[np.float64], NDArray[np.float64]]:
    labels, value2d, read = _evaluate(function, names, est)
    value = value2d.reshape(-1)
    k = value.shape[0]
    if labels is None:
        labels = ["contrast"] if k == 1 else [f"contrast{i + 1}" for i in range(k)]
    used = np.array(sorted(read), dtype=np.intp)
    if used.size == 0:  # a constant
        return labels, value, np.zeros((k, k))
    if not np.all(np.isfinite(est[used])):
        empty = [names.name(i) for i in used if not np.isfinite(est[i])]
        raise ComparisonError(
            f"The nonlinear contrast uses cells without an estimate (empty domains): "
            f"{', '.join(empty[:5])}.")
    positions = np.full(est.shape[0], -1, dtype=np.intp)
    positions[used] = np.arange(used.size)
    if replicates is not None:
        reps = _evaluate_checked(function, names, replicates.thetas[:, used].T, positions,
                                 est[used], value)
        var = svr_variance(reps.T, value, replicates.scale, replicates.rscales,
                           replicates.mse)
        return labels, value, var
    jac = _jacobian(function, names, est[used], positions, value)
    return labels, value, quadratic_form(jac, vcov[np.ix_(used, used)])


def _jacobian(function: Callable[[Mapping[Any, Any]], Any], names: CellNames,
              x0: NDArray[np.float64], positions: NDArray[np.intp],
              value: NDArray[np.float64]) -> NDArray[np.float64]:
    """Jacobian (k, cells read) of the contrast at the estimates ``x0`` of the cells it
    reads, by scipy's adaptive finite differences with a step relative to each cell's
    size (about 1e-12 relative for smooth functions)."""
    from scipy.differentiate import jacobian

    def f(x: NDArray[np.float64]) -> NDArray[np.float64]:
        return _evaluate_checked(function, names, x, positions, x0, value)

    scale = np.where(x0 != 0, np.abs(x0), 1.0)
    for relative in (1e-3, 1e-6):
        with np.errstate(all="ignore"):
            jac = np.asarray(jacobian(f, x0, initial_step=relative * scale).df)
        jac = jac.reshape(-1, x0.shape[0])
        if np.all(np.isfinite(jac)):
            return jac
    raise ComparisonError(
        "The nonlinear contrast could not be differentiated at the estimates (it is "
        "undefined or not smooth there); check the function and the cells it uses."
    )


# ---------------------------------------------------------------------- compare
_RESERVED = ("along", "base", "other", "base_estimate", "other_estimate")


def _level_order(values: pd.Series, known: Any = None) -> tuple[NDArray[np.intp], list[Any]]:
    """Each cell's level position, and the levels in the estimate's order: the
    by-column's code order (category order, else sorted) when the estimate knows it,
    else the order of first appearance (variables as given, levels in code order)."""
    codes, uniques = pd.factorize(values)
    found = list(uniques)
    order = list(range(len(found)))
    if known is not None:
        position = {v: i for i, v in enumerate(list(known))}
        if all(v in position for v in found):
            order = sorted(order, key=lambda i: position[found[i]])
    rank = np.empty(len(found), dtype=np.intp)
    rank[order] = np.arange(len(found))
    return rank[codes], [found[i] for i in order]


def _find_level(levels: list[Any], wanted: Any, along: str) -> int:
    """Position of ``wanted`` among ``levels``: an equal level, else one whose text
    matches (``"1"`` for 1), if only one does."""
    exact = [i for i, level in enumerate(levels) if _equal(level, wanted)]
    hits = exact or [i for i, level in enumerate(levels) if str(level) == str(wanted)]
    if len(hits) == 1:
        return hits[0]
    shown = ", ".join(repr(v) for v in levels)
    if not hits:
        raise ComparisonError(f"{along!r} has no level {wanted!r}; its levels are {shown}.")
    raise ComparisonError(
        f"{wanted!r} matches several levels of {along!r} ({shown}); pass the level itself.")


def _equal(a: Any, b: Any) -> bool:
    """Equal levels: equal values of one kind (numbers with numbers: 1 == 1.0), not
    True == 1 or 1 == "1"."""
    def number(v: Any) -> bool:
        return isinstance(v, int | float | np.integer | np.floating) and not isinstance(
            v, bool | np.bool_)

    try:
        if number(a) and number(b):
            return bool(a == b)
        return (bool(a == b) and type(a) is type(b)) or bool(a == b and str(a) == str(b))
    except (TypeError, ValueError):
        return False


def compare(
    result: Any,
    along: str,
    base: Any = None,
    other: Any = None,
    *,
    where: Mapping[str, Any] | None = None,
    ratio: bool = False,
    samples: Samples = "paired",
    alternative: Alternative = "two-sided",
    confidence_level: float = 0.95,
) -> Comparison:
    """Compare cells along one dimension: change between waves, difference between
    groups, for every other domain, variable and level at once.

    Parameters
    ----------
    result : Estimate
        For example ``nc.proportion(d, "works_home", by=["wave", "sector"])``.
    along : str
        The column of ``result.cells`` to compare along: a by-variable (``"wave"``),
        or ``"variable"`` for two variables of a wide file (``api99`` vs ``api00``).
    base, other : level of ``along``, optional
        Compare ``other`` with ``base``. With only ``base``, every other level is
        compared with it; with only ``other``, it is compared with the first level;
        with neither, each level with the one before it (successive waves). Levels are
        in the estimate's order (category order, else sorted).
    where : mapping, optional
        Compare only the cells with these values, e.g. ``{"sector": ["care",
        "education"]}`` (a list keeps several values) or ``{"level": "no"}``.
    ratio : bool, default False
        Estimate ``other / base`` (null value 1; delta method, or the replicates on a
        replicate design) instead of the difference ``other - base``.
    samples : {"paired", "independent"}, default "paired"
        "paired" takes the covariance between the two estimates from the design: right
        whenever they come from one design, and necessary when the same persons or
        PSUs are in both (a panel). "independent" ignores that covariance; use it only
        for cross-sections drawn independently (such as RIVM's trend waves) that were
        analysed in one long file with a design that links them (e.g. through shared
        strata). When the waves share no PSU and no stratum the two agree.
    alternative : {"two-sided", "less", "greater"}
    confidence_level : float, default 0.95

    Returns
    -------
    Comparison
        One row per comparison: the remaining by-columns, ``variable`` (and
        ``level``), ``along``, ``base``, ``other``, the two estimates, the difference
        (or ratio) with SE, CI, t statistic on the design df, p-value, and p-values
        adjusted across all rows (Holm and Benjamini-Hochberg) in ``to_frame()``.
        For a proportion of a variable with two levels only one level is compared,
        unless ``where`` names levels: the one that says yes (True, 1, "yes", "ja"),
        else the second; the other mirrors it (same standard error and p-value,
        opposite sign) and would count twice in the multiple-testing adjustment.
        Comparisons whose domain lacks one of the two cells are NaN, with an
        :class:`~nea_covid.EmptyDomainWarning`.

    Examples
    --------
    The same schools measured in 1999 and 2000 (two "waves" of a panel):

    >>> import nea_covid as nc
    >>> d = nc.SurveyDesign(nc.datasets.load_api("clus1"), clusters="dnum", weights="pw",
    ...                     fpc="fpc")
    >>> est = nc.mean(d, ["api99", "api00"])
    >>> paired = nc.compare(est, along="variable", base="api99", other="api00")
    >>> independent = nc.compare(est, along="variable", base="api99", other="api00",
    ...                          samples="independent")
    >>> round(float(paired.standard_error[0]), 3), round(float(independent.standard_error[0]), 2)
    (3.085, 33.78)
    """
    check_alternative(alternative)
    if samples not in ("paired", "independent"):
        raise ComparisonError(
            f"`samples` must be 'paired' or 'independent', not {samples!r}.")
    cells, est, vcov, df, replicates = _source(result)
    cells = cells.reset_index(drop=True)
    if along not in cells.columns:
        raise ComparisonError(
            f"The estimate has no column {along!r} to compare along; its cells have "
            f"{', '.join(map(repr, cells.columns))}."
        )
    group_cols = [c for c in cells.columns if c != along]
    clash = [c for c in group_cols if c in _RESERVED]
    if clash:
        raise ComparisonError(
            f"The cells have a column named {clash[0]!r}, which compare() uses for its "
            "own output; rename that by-variable (or, for a comparison of comparisons, "
            "use nc.contrast on the estimate).")
    keep = np.ones(len(cells), dtype=bool) if where is None else _where(cells, where)
    if not keep.any():
        raise ComparisonError(f"No cell is left after `where={where!r}`.")
    known = (getattr(result, "_by_levels", None) or {}).get(along)
    lv, levels = _level_order(cells.loc[keep, along], known)
    lv_all = np.full(len(cells), -1, dtype=np.intp)
    lv_all[keep] = lv
    if "level" in cells.columns and along != "level" and not (where and "level" in where):
        keep &= _second_of_two(cells)
    pairs = _pairs(levels, base, other, along)
    table = _pair_cells(cells.loc[keep], lv_all[keep], pairs, group_cols)
    pair = table["_pair"].to_numpy()
    table["along"] = along
    table["base"] = pd.Series([levels[b] for b, _ in pairs], dtype=object).iloc[pair].to_numpy()
    table["other"] = pd.Series([levels[o] for _, o in pairs], dtype=object).iloc[pair].to_numpy()
    incomplete = table["_base"].isna() | table["_other"].isna()
    if incomplete.all():
        b, o = levels[pairs[0][0]], levels[pairs[0][1]]
        raise ComparisonError(f"No domain has both {along}={b!r} and {along}={o!r}.")
    if incomplete.any():
        shown = "; ".join(
            ", ".join(f"{c}={r[c]}" for c in [*group_cols, "base", "other"])
            for _, r in table.loc[incomplete].head(5).iterrows())
        warnings.warn(
            f"{plural(int(incomplete.sum()), 'comparison')} along {along!r} "
            f"{'lacks' if incomplete.sum() == 1 else 'lack'} one of the two cells ({shown}); "
            "their estimates are NaN.", EmptyDomainWarning, stacklevel=2)
    ib = table["_base"].fillna(-1).to_numpy(dtype=np.intp)
    io = table["_other"].fillna(-1).to_numpy(dtype=np.intp)
    value, var = _pair_variance(est, vcov, ib, io, ratio,
                                None if samples == "independent" else replicates,
                                lv_all if samples == "independent" else None)
    _check_df(df, "a t-test")
    described = table[[*group_cols, "along", "base", "other"]].reset_index(drop=True)
    with np.errstate(invalid="ignore"):
        extra = pd.DataFrame({"base_estimate": np.where(ib >= 0, est[ib], np.nan),
                              "other_estimate": np.where(io >= 0, est[io], np.nan)})
    return Comparison(
        kind="ratio" if ratio else "difference", cells=described, estimate=value, vcov=var,
        df=df, null_value=np.asarray(1.0 if ratio else 0.0), alternative=alternative,
        confidence_level=confidence_level, scale="ratio" if ratio else "linear",
        extra=extra,
    )


_POSITIVE = {"true", "1", "1.0", "yes", "ja", "y", "j"}


def _second_of_two(cells: pd.DataFrame) -> NDArray[np.bool_]:
    """Cells to keep by default: for a variable with exactly two levels, the one that
    says yes (True, 1, "yes", "ja"), else the second level."""
    grouped = cells.groupby("variable", sort=False)["level"]
    n_levels = grouped.transform("nunique").to_numpy()
    positive = cells["level"].map(lambda v: str(v).strip().lower() in _POSITIVE).to_numpy(
        dtype=bool)
    has_positive = pd.Series(positive).groupby(cells["variable"].to_numpy()).transform(
        "any").to_numpy(dtype=bool)
    last = (cells["level"] == grouped.transform("last")).to_numpy()
    chosen = np.where(has_positive, positive, last)
    return np.asarray((n_levels != 2) | chosen, dtype=bool)


def _pair_cells(cells: pd.DataFrame, lv: NDArray[np.intp], pairs: list[tuple[int, int]],
                group_cols: list[str]) -> pd.DataFrame:
    """One row per (pair of levels, domain): the positions of its base and other
    cells (NaN where a domain lacks one), by two merges over all pairs at once."""
    pair_df = pd.DataFrame({"_pair": np.arange(len(pairs)),
                            "_b": [b for b, _ in pairs], "_o": [o for _, o in pairs]})
    tbl = cells[group_cols].assign(_lv=lv, _pos=cells.index.to_numpy())
    left = tbl.merge(pair_df, left_on="_lv", right_on="_b").rename(columns={"_pos": "_base"})
    right = tbl.merge(pair_df, left_on="_lv", right_on="_o").rename(
        columns={"_pos": "_other"})
    keys = [*group_cols, "_pair"]
    table = left[[*keys, "_base"]].merge(right[[*keys, "_other"]], on=keys, how="outer",
                                         sort=False)
    table = table.assign(_order=table["_base"].fillna(table["_other"])).sort_values(
        ["_pair", "_order"], kind="stable").reset_index(drop=True)
    return table


def _pair_variance(
    est: NDArray[np.float64], vcov: NDArray[np.float64], ib: NDArray[np.intp],
    io: NDArray[np.intp], ratio: bool, replicates: Any, levels: NDArray[np.intp] | None,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Differences (or ratios) of pairs of cells and their covariance, from gathers of
    the covariance (``a_i theta_o + b_i theta_b`` linearised), never a dense Jacobian.
    ``levels`` given: covariances between cells of different levels are dropped
    (independent samples). Rows with a missing cell (index -1) are NaN."""
    ok = (ib >= 0) & (io >= 0)
    b_idx, o_idx = np.where(ok, ib, 0), np.where(ok, io, 0)
    eb, eo = est[b_idx], est[o_idx]
    with np.errstate(divide="ignore", invalid="ignore"):
        if ratio:
            value = eo / eb
            a, b = 1.0 / eb, -eo / eb**2
        else:
            value = eo - eb
            a, b = np.ones_like(eo), -np.ones_like(eb)
    zero_base = ok & (eb == 0) if ratio else np.zeros_like(ok)
    if zero_base.any():
        warnings.warn(
            f"The base of {plural(int(zero_base.sum()), 'ratio')} is zero; those ratios "
            "are infinite or undefined and their standard errors NaN.",
            ZeroDenominatorWarning, stacklevel=3)
    value = np.where(ok, value, np.nan)
    if ratio and replicates is not None:
        t = replicates.thetas
        with np.errstate(divide="ignore", invalid="ignore"):
            var = svr_variance(t[:, o_idx] / t[:, b_idx], value, replicates.scale,
                               replicates.rscales, replicates.mse)
    else:
        v_oo = vcov[np.ix_(o_idx, o_idx)]
        v_ob = vcov[np.ix_(o_idx, b_idx)]
        v_bb = vcov[np.ix_(b_idx, b_idx)]
        if levels is not None:
            lo, lb = levels[o_idx], levels[b_idx]
            v_oo = v_oo * (lo[:, None] == lo[None, :])
            v_ob = v_ob * (lo[:, None] == lb[None, :])
            v_bb = v_bb * (lb[:, None] == lb[None, :])
        with np.errstate(invalid="ignore"):
            cross = np.outer(a, b) * v_ob
            var = np.outer(a, a) * v_oo + cross + cross.T + np.outer(b, b) * v_bb
            bound = (a**2 * np.abs(np.diag(v_oo)) + 2 * np.abs(a * b * np.diag(v_ob))
                     + b**2 * np.abs(np.diag(v_bb)))
        noise = np.abs(np.diag(var)) <= 64 * np.finfo(np.float64).eps * bound
        var[noise, :] = 0.0
        var[:, noise] = 0.0
    bad = ~ok | zero_base
    var = np.array(var, dtype=np.float64)
    var[bad, :] = np.nan
    var[:, bad] = np.nan
    return value, var


def _where(cells: pd.DataFrame, where: Mapping[str, Any]) -> NDArray[np.bool_]:
    """Which cells have the given column values."""
    keep = np.ones(len(cells), dtype=bool)
    for column, wanted in where.items():
        if column not in cells.columns:
            raise ComparisonError(
                f"`where` names {column!r}, which is not a column of the cells "
                f"({', '.join(map(repr, cells.columns))}).")
        values = wanted if isinstance(wanted, list | tuple | set) else [wanted]
        present = list(pd.unique(cells[column]))
        chosen = [lv for lv in present if any(_same_value(lv, v) for v in values)]
        if not chosen:
            raise ComparisonError(
                f"`where` asks for {column}={wanted!r}; the cells have "
                f"{', '.join(repr(v) for v in present)}.")
        keep &= cells[column].isin(chosen).to_numpy()
    return keep


def _pairs(levels: list[Any], base: Any, other: Any, along: str) -> list[tuple[int, int]]:
    """Pairs of level positions (base, other) to compare."""
    if len(levels) < 2:
        raise ComparisonError(
            f"{along!r} has only {plural(len(levels), 'level')} "
            f"({', '.join(map(repr, levels))}); a comparison needs two."
        )
    if base is None and other is None:
        return [(i, i + 1) for i in range(len(levels) - 1)]
    b = 0 if base is None else _find_level(levels, base, along)
    if other is None:
        return [(b, i) for i in range(len(levels)) if i != b]
    o = _find_level(levels, other, along)
    if b == o:
        raise ComparisonError(f"`base` and `other` are the same level ({levels[b]!r}).")
    return [(b, o)]


# ---------------------------------------------------------------------- t-test
def ttest(
    design: BaseDesign,
    variable: str,
    group: str | None = None,
    *,
    mu: float = 0.0,
    alternative: Alternative = "two-sided",
    missing: Missing = "raise",
    confidence_level: float = 0.95,
) -> Comparison:
    """Design-based t-test of a mean (R's ``svyttest``).

    Parameters
    ----------
    design : SurveyDesign or ReplicateDesign
    variable : str
        Numeric (or 0/1) column.
    group : str, optional
        A column with exactly two observed levels: tests the difference of the domain
        means (second level minus first, levels ordered as in ``nc.mean(...,
        by=group)``). Without it, a one-sample test of ``mean == mu``.
    mu : float, default 0
        The mean (or difference) under the null hypothesis.
    alternative : {"two-sided", "less", "greater"}
    missing : {"raise", "omit"}
        As for :func:`nea_covid.mean`.
    confidence_level : float, default 0.95

    Returns
    -------
    Comparison
        One row; df is the design's degrees of freedom minus one, as R (for two groups
        with ``missing="omit"`` on a Taylor design: of the design without the
        incomplete rows, as R's ``svyglm``).

    Notes
    -----
    The two-group estimate equals R's ``svyglm(variable ~ group)`` slope, and its
    standard error the design-based SE of the difference of the two domain means.

    Examples
    --------
    >>> import nea_covid as nc
    >>> d = nc.SurveyDesign(nc.datasets.load_api("clus1"), clusters="dnum", weights="pw",
    ...                     fpc="fpc")
    >>> t = nc.ttest(d, "api00", group="awards")
    >>> round(float(t.statistic[0]), 4), t.df, round(float(t.pvalue[0]), 4)
    (1.4454, 13.0, 0.172)
    """
    require_rows(design, "`nc.ttest`")
    from nea_covid.estimators import mean

    check_alternative(alternative)
    by: By = None if group is None else group
    est = mean(design, variable, by=by, missing=missing)
    degf = design.degf
    if group is not None and est.n_missing and isinstance(design, SurveyDesign):
        # R's svyglm: the residual df of the design without the incomplete rows
        complete = ~(design._column(variable).isna().to_numpy()
                     | design._column(group).isna().to_numpy())
        degf = design.subset(complete).degf
    df = float(degf - 1)
    _check_df(df, "a t-test (it needs a design with at least 3 PSUs)")
    if group is None:
        matrix = np.ones((1, 1))
        cells = pd.DataFrame({"variable": [variable], "test": ["mean"]})
    else:
        observed = np.flatnonzero(est.n_obs > 0)
        if observed.shape[0] != 2:
            levels = ", ".join(repr(v) for v in est.cells[group].iloc[observed])
            raise ComparisonError(
                f"A two-group t-test needs exactly two observed levels of {group!r}; it "
                f"has {observed.shape[0]} ({levels}). Subset the design, or use "
                "`nc.compare` on `nc.mean(..., by=...)` for more groups."
            )
        first, second = (est.cells[group].iloc[i] for i in observed)
        matrix = np.zeros((1, len(est)))
        matrix[0, observed[1]], matrix[0, observed[0]] = 1.0, -1.0
        cells = pd.DataFrame({"variable": [variable], "group": [group],
                              "test": [f"{second} - {first}"]})
    used = np.flatnonzero(matrix[0])
    value = matrix[:, used] @ est.estimate[used]
    var = quadratic_form(matrix, est.vcov)
    return Comparison(
        kind="t-test", cells=cells, estimate=value, vcov=var, df=df,
        null_value=np.asarray(mu, dtype=np.float64), alternative=alternative,
        confidence_level=confidence_level,
    )
