"""Replicate-weight designs: JK1, JKn, BRR, Fay, bootstrap, successive difference.

A :class:`ReplicateDesign` holds, besides the full-sample weights, ``R`` sets of
replicate weights, either as final weights per row (``n x R``) or as adjustment
factors per sampling unit (``units x R``, as R's compressed weights). Every estimator
works unchanged: its point estimate uses the full-sample weights, and the design turns
the estimator's scores into *replicate estimates* with one matrix product (replicate
factors transposed times per-unit sums), then into a covariance matrix as R's
``svrVar``:

.. math::

    \\hat V = \\text{scale} \\sum_r \\text{rscale}_r\\,
              (\\hat\\theta_r - \\bar\\theta)(\\hat\\theta_r - \\bar\\theta)^\\top

with ``theta_bar`` the mean of the replicates (``mse=False``) or the full-sample
estimate (``mse=True``).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Self, TypeAlias

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from nea_covid.design import BaseDesign, SurveyDesign, is_dask_frame
from nea_covid.errors import (
    DesignError,
    MissingValueError,
    SurveyWarning,
    WeightError,
    plural,
    row_labels,
)
from nea_covid.hadamard import hadamard
from nea_covid.progress import bar, progress_enabled

__all__ = ["ReplicateDesign", "ReplicateEstimates", "ReplicateMethod", "svr_variance"]

ReplicateMethod: TypeAlias = Literal[
    "JK1", "JKn", "BRR", "Fay", "bootstrap", "SDR", "other"
]
_METHODS = ("JK1", "JKn", "BRR", "Fay", "bootstrap", "SDR", "other")


@dataclass(frozen=True, eq=False)
class ReplicateEstimates:
    """Replicate estimates of some quantities and how R's ``svrVar`` turns them into a
    covariance matrix; kept on results so that functions of them (nonlinear
    contrasts) can be evaluated per replicate.

    Attributes
    ----------
    thetas : ndarray, shape (R, columns)
    scale : float
    rscales : ndarray, shape (R,)
    mse : bool
        Centre at the full-sample estimate (True) or the mean of the replicates with
        ``rscales > 0`` (False).
    """

    thetas: NDArray[np.float64]
    scale: float
    rscales: NDArray[np.float64]
    mse: bool

    def vcov(self, full: NDArray[np.float64]) -> NDArray[np.float64]:
        """``scale * sum_r rscales_r (theta_r - centre)(theta_r - centre)'``."""
        return svr_variance(self.thetas, full, self.scale, self.rscales, self.mse)

    def map(self, function: Any) -> ReplicateEstimates:
        """The same replicates passed through ``function`` (R, columns) -> (R, c')."""
        out = np.asarray(function(self.thetas), dtype=np.float64)
        out = out.reshape(self.thetas.shape[0], -1)
        return ReplicateEstimates(out, self.scale, self.rscales, self.mse)


def svr_variance(
    thetas: NDArray[np.float64], full: NDArray[np.float64], scale: float,
    rscales: NDArray[np.float64], mse: bool,
) -> NDArray[np.float64]:
    """R's ``svrVar``: the covariance of estimates from their replicates ``thetas``
    (R, columns); ``full`` are the full-sample estimates (the centre when ``mse``).

    Replicates whose estimate is undefined (NaN: a domain without rows in that
    replicate) are left out of the variance of that estimate, with a warning, as R's
    ``svrVar`` discards them; a covariance uses the replicates defined for both
    estimates. Estimates undefined in every replicate (empty cells) keep a NaN variance.
    """
    thetas = np.asarray(thetas, dtype=np.float64)
    r = np.asarray(rscales, dtype=np.float64)
    root = np.sqrt(r)[:, None]
    undefined = np.isnan(thetas)
    with np.errstate(invalid="ignore"):
        if not undefined.any():
            if mse:
                centre = np.asarray(full, dtype=np.float64).ravel()
            else:
                used = thetas[r > 0]
                centre = (used.mean(axis=0) if used.shape[0]
                          else np.full(thetas.shape[1], np.nan))
            dev = (thetas - centre) * root
            return np.asarray(scale * (dev.T @ dev), dtype=np.float64)
        defined = ~undefined
        partly = undefined.any(axis=0) & defined.any(axis=0)
        if partly.any():
            dropped = int(undefined[:, partly].any(axis=1).sum())
            warnings.warn(
                f"{plural(dropped, 'replicate')} gave undefined (NaN) estimates for "
                f"{plural(int(partly.sum()), 'estimate')} (typically a domain without rows "
                f"in {'that replicate' if dropped == 1 else 'those replicates'}); "
                f"{'it was' if dropped == 1 else 'they were'} left out of the variance of "
                "those estimates, as R's svrVar does.",
                SurveyWarning, stacklevel=2)
        if mse:
            centre = np.asarray(full, dtype=np.float64).ravel()
        else:
            use = defined & (r > 0)[:, None]
            count = use.sum(axis=0)
            total = np.where(use, thetas, 0.0).sum(axis=0)
            centre = np.full(thetas.shape[1], np.nan)
            np.divide(total, count, out=centre, where=count > 0)
        dev = np.where(defined, thetas - centre, 0.0) * root
        out = np.asarray(scale * (dev.T @ dev), dtype=np.float64)
    unknown = np.isnan(centre) | ~defined.any(axis=0)
    out[unknown, :] = np.nan
    out[:, unknown] = np.nan
    return out


class ReplicateDesign(BaseDesign):
    """A design described by replicate weights.

    Parameters
    ----------
    data : pandas.DataFrame or dask.dataframe.DataFrame
        Never modified. A Dask DataFrame gives a design computed from per-partition
        sums (:mod:`nea_covid.distributed`).
    weights : str
        Column of full-sample weights.
    replicate_weights : list of str, or str
        The replicate-weight columns, or a regular expression matching their names
        (as R's ``repweights="repwt[0-9]+"``).
    method : {"JK1", "JKn", "BRR", "Fay", "bootstrap", "SDR", "other"}
        How the replicates were made; sets R's default ``scale`` and ``rscales``:
        BRR ``1/R``; Fay ``1/(R (1 - rho)^2)``; bootstrap ``1/(R - 1)``; SDR
        (successive difference) ``4/R``; JK1 ``(R - 1)/R``; JKn needs ``rscales``
        (``(n_h - 1)/n_h`` for the stratum each replicate drops a PSU from); "other" 1.
    scale, rscales : float, sequence of float, optional
        Override the defaults (R's ``scale=`` and ``rscales=``).
    mse : bool, default False
        Centre the replicates at the full-sample estimate instead of their mean.
    combined_weights : bool, default True
        True: the replicate columns are final weights. False: they are adjustment
        factors, multiplied by ``weights``.
    rho : float, optional
        Fay's coefficient (required for ``method="Fay"``).

    Notes
    -----
    Degrees of freedom are R's: the rank of the replicate-weight matrix minus one.
    Domains (``by=``, ``subset``) keep every row, as for Taylor designs; replicate
    estimates of a domain use only its rows, as R's ``svyby``.

    Examples
    --------
    >>> import nea_covid as nc
    >>> d = nc.SurveyDesign(nc.datasets.load_api("strat"), weights="pw", strata="stype",
    ...                     fpc="fpc")
    >>> rd = d.to_replicate("JKn")
    >>> round(float(nc.mean(rd, "api00").standard_error[0]), 4)
    9.4089
    """

    __slots__ = ("_replicates", "_row_major_cache", "_scaled_by_weights", "_unit", "method",
                 "mse", "rho", "rscales", "scale")

    _replicates: NDArray[np.float64]
    _row_major_cache: NDArray[np.float64] | None
    _scaled_by_weights: bool
    _unit: NDArray[np.intp] | None
    method: str
    mse: bool
    rho: float | None
    rscales: NDArray[np.float64]
    scale: float

    def __new__(cls, data: Any = None, *args: Any, **kwargs: Any) -> Self:
        if is_dask_frame(kwargs.get("data", data)):  # a Dask DataFrame: partial sums
            from nea_covid.distributed import DaskReplicateDesign

            return object.__new__(DaskReplicateDesign)  # type: ignore[return-value]
        return object.__new__(cls)

    def __init__(
        self,
        data: pd.DataFrame,
        *,
        weights: str | None = None,
        replicate_weights: Sequence[str] | str,
        method: ReplicateMethod = "other",
        scale: float | None = None,
        rscales: Sequence[float] | float | None = None,
        mse: bool = False,
        combined_weights: bool = True,
        rho: float | None = None,
    ) -> None:
        self._init_data(data)
        if weights is None:
            warnings.warn("No full-sample weights given: equal weights assumed.",
                          SurveyWarning, stacklevel=2)
            w = np.ones(self.n_rows)
        else:
            w = self._weight_column(weights)
        self._set_weights(w)
        columns = self._replicate_columns(replicate_weights)
        reps = self._replicate_matrix(columns)
        self._setup(reps, None, not combined_weights, method, scale, rscales, mse, rho,
                    combined_weights, columns)

    # ------------------------------------------------------------------ building
    def _replicate_columns(self, spec: Sequence[str] | str) -> list[str]:
        if isinstance(spec, str):
            if spec in self._data.columns:
                return [spec]
            try:
                pattern = re.compile(spec)
            except re.error as exc:
                raise DesignError(f"Invalid replicate-weight pattern {spec!r}: {exc}.") from None
            found = [c for c in self._data.columns if isinstance(c, str) and pattern.search(c)]
            if not found:
                raise DesignError(
                    f"No column matches the replicate-weight pattern {spec!r}."
                )
            return found
        cols = list(spec)
        if len(set(cols)) != len(cols):
            raise DesignError("`replicate_weights` names a column twice.")
        for c in cols:
            self._column(c, "replicate weights")
        return cols

    def _replicate_matrix(self, columns: list[str]) -> NDArray[np.float64]:
        if len(columns) < 2:
            raise DesignError(
                f"A replicate design needs at least 2 replicate weights, not {len(columns)}."
            )
        frame = self._data[columns]
        bad_type = [c for c in columns if not pd.api.types.is_numeric_dtype(frame[c].dtype)
                    or pd.api.types.is_bool_dtype(frame[c].dtype)]
        if bad_type:
            raise WeightError(f"Replicate-weight column {bad_type[0]!r} is not numeric.")
        # usually a view of the frame's own block (column-major): no copy; pandas
        # copy-on-write keeps it unchanged if the user edits the frame later
        reps = frame.to_numpy(dtype=np.float64, na_value=np.nan)
        if np.isfinite(reps).all():
            return reps
        for what, mask, cls in (("missing", np.isnan(reps), MissingValueError),
                                ("infinite", np.isinf(reps), WeightError)):
            if mask.any():
                j = int(np.flatnonzero(mask.any(axis=0))[0])
                raise cls(
                    f"Replicate-weight column {columns[j]!r} has "
                    f"{plural(int(mask[:, j].sum()), f'{what} value')} "
                    f"({row_labels(self._data.index, mask[:, j])}); "
                    f"{int(mask.any(axis=0).sum())} of the {len(columns)} columns have some."
                )
        return reps

    def _row_major(self) -> NDArray[np.float64]:
        """The per-row replicate weights in row-major order (cached): sparse products
        by cell read them row by row."""
        cached = self._row_major_cache
        if cached is None or cached.shape != self._replicates.shape:
            cached = np.ascontiguousarray(self._replicates)
            object.__setattr__(self, "_row_major_cache", cached)
        return cached

    def _setup(
        self,
        replicates: NDArray[np.float64],
        unit: NDArray[np.intp] | None,
        scaled_by_weights: bool,
        method: str,
        scale: float | None,
        rscales: Sequence[float] | float | NDArray[np.float64] | None,
        mse: bool,
        rho: float | None,
        combined_weights: bool = False,
        names: Sequence[str] = (),
    ) -> None:
        if method not in _METHODS:
            raise DesignError(
                f"`method` must be one of {', '.join(map(repr, _METHODS))}, not {method!r}."
            )
        n_rep = replicates.shape[1]
        rho = _check_rho(rho, method)
        if scale is not None:
            try:
                scale = float(scale)
            except (TypeError, ValueError):
                raise DesignError(f"`scale` must be a number, not {scale!r}.") from None
            if not (np.isfinite(scale) and scale > 0):
                raise DesignError(f"`scale` must be positive and finite, not {scale}.")
        if not isinstance(mse, bool | np.bool_):
            raise DesignError(f"`mse` must be True or False, not {mse!r}.")
        guessed_from_factors = method == "JK1" and not combined_weights and unit is None
        if scale is not None:
            default_scale = scale
        elif guessed_from_factors:  # R: 1/max(first column), i.e. (n - 1)/n
            default_scale = 1 / _largest_factors(replicates[:, :1], names, "`scale=`")[0]
        else:
            default_scale = {
                "BRR": 1 / n_rep,
                "Fay": 1 / (n_rep * (1 - (rho or 0.0)) ** 2),
                "bootstrap": 1 / (n_rep - 1),
                "SDR": 4 / n_rep,
                "JK1": (n_rep - 1) / n_rep,
                "JKn": 1.0,
                "other": 1.0,
            }[method]
        if rscales is None:
            if method == "JKn":
                if combined_weights:
                    raise DesignError(
                        "method='JKn' with final replicate weights needs `rscales=` "
                        "((n_h - 1)/n_h for the stratum each replicate drops a PSU from)."
                    )
                r = 1 / _largest_factors(replicates, names, "`rscales=`")
            else:
                r = np.ones(n_rep)
        else:
            try:
                r = np.asarray(rscales, dtype=np.float64).reshape(-1)
            except (TypeError, ValueError):
                raise DesignError("`rscales` must be numbers, one per replicate.") from None
            if r.size == 1:
                r = np.full(n_rep, r[0])
            if r.shape != (n_rep,) or np.any(r < 0) or not np.all(np.isfinite(r)):
                raise DesignError(
                    f"`rscales` needs {n_rep} finite non-negative values (one per replicate)."
                )
            if not np.any(r > 0):
                raise DesignError(
                    "`rscales` are all zero: no replicate would contribute to the variance."
                )
        self._replicates = replicates
        self._row_major_cache = None
        self._unit = unit
        self._scaled_by_weights = scaled_by_weights
        self.method = method
        self.scale = float(default_scale if scale is None else scale)
        self.rscales = r
        self.mse = bool(mse)
        self.rho = rho
        self.degf = self._rank() - 1

    def _rank(self, rows: NDArray[np.bool_] | None = None) -> int:
        """Rank of the replicate weights (R: ``qr(weights(design, "analysis"))$rank``),
        of the rows in ``rows`` when given (R recomputes it for a subset)."""
        from scipy.linalg.blas import dsyrk

        from nea_covid.variance import _blas_controller

        reps = self._replicates
        keep = None if rows is None else rows.copy()
        if self._scaled_by_weights:  # rows with zero weight have zero replicate weights
            keep = (self._weights != 0) if keep is None else keep & (self._weights != 0)
        if keep is not None:
            if self._unit is not None:
                present = np.zeros(reps.shape[0], dtype=bool)
                present[self._unit[keep]] = True
                reps = reps[present]
            elif not keep.all():
                reps = reps[keep]
        if reps.shape[0] == 0:
            return 0

        # the Gram matrix R'R from one symmetric rank-k update (half a matrix product)
        # (no copy: pass whichever of reps / reps.T is column-major)
        with _blas_controller().limit(limits=1, user_api="blas"):
            if reps.flags.f_contiguous:
                gram = np.asarray(dsyrk(1.0, reps, trans=1))
            else:
                gram = np.asarray(dsyrk(1.0, np.ascontiguousarray(reps).T))
            eig = np.linalg.eigvalsh(gram, UPLO="U")
        # R's QR tolerance 1e-5 on the columns is 1e-10 on the Gram matrix
        return int(np.sum(eig > 1e-10 * eig.max())) if eig.max() > 0 else 0

    # ------------------------------------------------------------------ variance
    @property
    def n_replicates(self) -> int:
        """Number of replicates."""
        return int(self._replicates.shape[1])

    def replicate_weights(self) -> NDArray[np.float64]:
        """The final replicate weights, one row per data row (``n x R``), zero outside
        the domain."""
        reps = self._replicates if self._unit is None else self._replicates[self._unit]
        if self._scaled_by_weights:
            reps = reps * self._weights[:, None]
        if self._domain is not None:
            reps = reps * self._domain[:, None]
        return np.asarray(reps, dtype=np.float64)

    def _replicate_thetas(self, scores: Any) -> NDArray[np.float64]:
        """The estimates under every set of replicate weights, shape (R, columns)."""
        reps = self._replicates
        one_dense_product = (getattr(scores, "n_cells", 0) == 1 and scores.rows is None
                             and scores.codes is None)
        if self._unit is None and not one_dense_product:
            reps = self._row_major()
        return np.asarray(
            scores.replicate_estimates(reps, self._unit, self._scaled_by_weights),
            dtype=np.float64)

    def _variance(self, scores: Any) -> tuple[NDArray[np.float64], ReplicateEstimates]:
        thetas = self._replicate_thetas(scores)
        info = ReplicateEstimates(thetas, self.scale, self.rscales, self.mse)
        full = np.asarray(scores.theta, dtype=np.float64).ravel()
        return info.vcov(full), info

    def _vcov(self, scores: Any) -> NDArray[np.float64]:
        return self._variance(scores)[0]

    def _compute_degf(self) -> int:
        """R's ``degf``: the rank of the (subset's) replicate weights minus one."""
        return self._rank(self._domain) - 1

    def _recalibrated(self, weights: NDArray[np.float64], residualizer: Any,
                      transform: Any, info: Any) -> ReplicateDesign:
        reps = self.replicate_weights()
        new = self._copy()
        new._set_weights(weights)
        new._replicates = np.asarray(transform(reps), dtype=np.float64)
        new._row_major_cache = None
        new._unit = None
        new._scaled_by_weights = False
        new.calibration = info
        new.degf = new._rank() - 1
        return new

    def __repr__(self) -> str:
        lines = [
            f"ReplicateDesign: {self.n_rows} rows, {self.n_replicates} {self.method} "
            f"replicates",
            f"  scale {self.scale:.6g}; rscales "
            + ("all 1" if np.all(self.rscales == 1) else "varying")
            + f"; mse={self.mse}",
        ]
        if self._domain is not None:
            lines.append(f"  domain: {int(self._domain.sum())} of {self.n_rows} rows")
        lines.append(f"  degrees of freedom: {self.degf}")
        return "\n".join(lines)


def _largest_factors(factors: NDArray[np.float64], names: Sequence[str], remedy: str
                     ) -> NDArray[np.float64]:
    """The largest factor of each replicate (R guesses JK1's scale and JKn's rscales
    from it, as 1/max); a DesignError naming the columns without a positive one."""
    largest = factors.max(axis=0) if factors.shape[0] else np.zeros(factors.shape[1])
    bad = np.flatnonzero(~(largest > 0))
    if bad.size:
        shown = ", ".join(repr(names[j]) if j < len(names) else str(j) for j in bad[:5])
        raise DesignError(
            f"{plural(int(bad.size), 'replicate-factor column')} ({shown}"
            f"{', ...' if bad.size > 5 else ''}) {'has' if bad.size == 1 else 'have'} no "
            "positive factor, so the jackknife multiplier cannot be guessed as 1/max "
            f"(as R does); pass {remedy}."
        )
    return np.asarray(largest, dtype=np.float64)


def _check_rho(rho: Any, method: str) -> float | None:
    if method == "Fay" and rho is None:
        raise DesignError("method='Fay' needs Fay's coefficient: pass `rho=`.")
    if rho is None:
        return None
    if method not in ("Fay", "BRR"):
        warnings.warn(f"`rho` is ignored for method={method!r}.", SurveyWarning, stacklevel=4)
        return None
    try:
        value = float(rho)
    except (TypeError, ValueError):
        raise DesignError(f"`rho` must be a number in [0, 1), not {rho!r}.") from None
    if not 0 <= value < 1:
        raise DesignError(f"`rho` must be in [0, 1), not {rho}.")
    return value


# ---------------------------------------------------------------------- conversions
def _first_appearance_order(codes: NDArray[np.intp], n_codes: int) -> NDArray[np.intp]:
    """Codes sorted by the row where each first appears (R's ``unique()`` order)."""
    first = np.full(n_codes, codes.shape[0], dtype=np.intp)
    np.minimum.at(first, codes, np.arange(codes.shape[0]))
    return np.argsort(first, kind="stable")


def to_replicate(
    design: SurveyDesign,
    method: str = "auto",
    *,
    rho: float | None = None,
    replicates: int = 50,
    rng: np.random.Generator | None = None,
    mse: bool = False,
    progress: bool | None = None,
) -> ReplicateDesign:
    """Replicate weights for a Taylor design, as R's ``as.svrepdesign``."""
    progress_enabled(progress)  # validates the keyword for every method
    if design._domain is not None:
        raise DesignError("Convert the full design, then subset the replicate design.")
    if design._calibration:
        warnings.warn(
            "This design is calibrated: its replicates will carry the calibrated weights "
            "but not recalibrate (as R's as.svrepdesign). Convert first, then calibrate "
            "the replicate design, so that every replicate is calibrated.",
            SurveyWarning, stacklevel=3)
    stage = design._stages[0]
    has_strata = bool(design._spec["strata"])
    if method == "auto":
        method = "JKn" if has_strata else "JK1"
    order = _first_appearance_order(stage.unit, stage.n_units)
    position = np.empty(stage.n_units, dtype=np.intp)
    position[order] = np.arange(stage.n_units)  # unit code -> R's PSU index
    group = stage.group  # stratum of each unit
    popsize = stage.popsize
    if method in ("JK1", "JKn") and stage.n_units > 20_000:
        raise DesignError(
            f"A jackknife needs one replicate per PSU: {stage.n_units:,} here (a "
            f"{stage.n_units:,} x {stage.n_units:,} factor matrix). Group PSUs into variance "
            "units first, or use 'bootstrap'."
        )
    if method == "JK1":
        if has_strata:
            raise DesignError("JK1 is for unstratified designs; use 'JKn' (or 'bootstrap').")
        factors, scale, rscales = _jk1(stage.n_units, position, popsize)
    elif method == "JKn":
        if not has_strata:
            raise DesignError("JKn needs strata; use 'JK1' for an unstratified design.")
        factors, scale, rscales = _jkn(design, position, order)
    elif method in ("BRR", "Fay"):
        rho = _check_rho(rho, method)
        if not has_strata:
            raise DesignError(f"{method} needs strata with two PSUs each.")
        fay = 0.0 if method == "BRR" else rho
        if fay is None:
            raise DesignError("method='Fay' needs Fay's coefficient: pass `rho=`.")
        if popsize is not None:
            warnings.warn("The finite population correction is dropped in BRR/Fay "
                          "replicates (as in R).", SurveyWarning, stacklevel=3)
        factors = _brr(design, order, fay)
        scale = 1 / (factors.shape[1] * (1 - fay) ** 2)
        rscales = np.ones(factors.shape[1])
        method = "BRR" if fay == 0 else "Fay"
    elif method == "SDR":
        factors = _sdr(stage.n_units, position)
        scale, rscales = 4 / factors.shape[1], np.ones(factors.shape[1])
    elif method == "bootstrap":
        if not isinstance(rng, np.random.Generator):
            raise DesignError("Bootstrap replicates are random: pass `rng=` a numpy Generator "
                              "(e.g. numpy.random.default_rng(2020)) to make them reproducible.")
        if not isinstance(replicates, int | np.integer) or replicates < 2:
            raise DesignError(f"`replicates` must be a whole number >= 2, not {replicates!r}.")
        if np.all(stage.group_size < 2):
            raise DesignError(
                "Every stratum has one PSU: a bootstrap that resamples PSUs within strata "
                "has no variance to replicate. Collapse strata, or use 'JKn' with "
                "lonely_psu='adjust'.")
        factors, scale = _bootstrap(group, stage.group_size, popsize, replicates, rng,
                                    progress=progress)
        rscales = np.ones(replicates)
    else:
        raise DesignError(
            f"Conversion to {method!r} is not available; use 'JK1', 'JKn', 'BRR', 'Fay', "
            "'bootstrap' or 'SDR'."
        )
    out = object.__new__(ReplicateDesign)
    out._data = design._data
    out._domain = None
    out._calibration = ()
    out.calibration = None
    out._set_weights(design._weights)
    out._setup(factors, stage.unit, True, method, scale, rscales, mse,
               rho if method == "Fay" else None)
    return out


def _jk1(n_units: int, position: NDArray[np.intp], popsize: NDArray[np.float64] | None
         ) -> tuple[NDArray[np.float64], float, NDArray[np.float64]]:
    n = n_units
    f = 1.0 if popsize is None else float((popsize[0] - n) / popsize[0])
    if f <= 0:
        raise DesignError("The population was sampled completely (fpc = sample size): "
                          "there is no sampling variance to replicate.")
    factors = np.full((n, n), n / (n - 1))
    factors[np.arange(n), position] = 0.0  # replicate j drops R's j-th PSU
    return factors, f * (n - 1) / n, np.ones(n)


def _jkn(design: SurveyDesign, position: NDArray[np.intp], order: NDArray[np.intp]
         ) -> tuple[NDArray[np.float64], float, NDArray[np.float64]]:
    """One replicate per PSU, dropping it and reweighting its stratum (R's
    ``jknweights``); strata in order of appearance, PSUs in order of appearance
    within them."""
    stage = design._stages[0]
    group = stage.group
    n_h = stage.group_size
    f = stage.finite_correction()
    certain = f == 0  # census strata: no replicates (R's survey.drop.replicates)
    drop_lonely = (n_h == 1) & ~certain
    # R's column order: strata by first appearance, then PSUs by first appearance
    stratum_rank = np.full(stage.n_groups, stage.n_units, dtype=np.intp)
    np.minimum.at(stratum_rank, group, position)
    units = np.flatnonzero(~(drop_lonely | certain)[group])
    unit_key = stratum_rank[group[units]] * (stage.n_units + 1) + position[units] + 1
    factors = np.ones((stage.n_units, units.shape[0]))
    same = group[:, None] == group[units][None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        inflate = np.where(n_h > 1, n_h / (n_h - 1), 1.0)
    factors[same] = np.broadcast_to(inflate[group][:, None], same.shape)[same]
    factors[units, np.arange(units.shape[0])] = 0.0
    rscales = f[group[units]] * (n_h[group[units]] - 1) / n_h[group[units]]
    col_key = unit_key
    scale = 1.0
    if drop_lonely.any():
        lonely_groups = np.flatnonzero(drop_lonely)
        if design.lonely_psu == "adjust":
            n_strata = float(stage.n_groups)
            extra = np.where(group[:, None] == lonely_groups[None, :], 0.0,
                             n_strata / (n_strata - 1))
            factors = np.concatenate([factors, extra], axis=1)
            rscales = np.concatenate(
                [rscales, np.full(lonely_groups.size, (n_strata - 1) / n_strata)])
            col_key = np.concatenate(
                [col_key, stratum_rank[lonely_groups] * (stage.n_units + 1)])
    if col_key.shape[0] == 0:
        if certain.all():
            raise DesignError("Every stratum was sampled completely (fpc = sample size): "
                              "there is no sampling variance to replicate.")
        raise DesignError(
            "Every stratum has one PSU (or was sampled completely): a jackknife has no "
            f"replicate to make under lonely_psu={design.lonely_psu!r}. Collapse strata, or "
            "use lonely_psu='adjust'.")
    if design.lonely_psu == "average" and col_key.shape[0] < stage.n_units:
        scale = stage.n_units / col_key.shape[0]
    sort = np.argsort(col_key, kind="stable")
    del order
    return factors[:, sort], scale, rscales[sort]


def _sdr(n_units: int, position: NDArray[np.intp]) -> NDArray[np.float64]:
    """Successive-difference replicates (Fay & Train 1995) for PSUs in the order the
    data list them (a systematic sample's sort order): PSU ``i`` takes rows ``i`` and
    ``i + 1`` of a Hadamard matrix with ``n + 2`` or more rows, factor
    ``1 + 2^(-3/2) (h[i] - h[i+1])``. With ``mse=True`` the variance of a total is
    then exactly ``sum (u_i - u_(i+1))^2 / 2 + (u_1^2 + u_n^2) / 2``."""
    h = 2.0 * hadamard(n_units + 1) - 1.0  # +-1 entries; row 0 is all ones
    rows = position + 1
    return np.asarray(1 + 2 ** -1.5 * (h[rows] - h[rows + 1]), dtype=np.float64)


def _brr(design: SurveyDesign, order: NDArray[np.intp], rho: float) -> NDArray[np.float64]:
    """Half-sample replicates from R's Hadamard matrix (R's ``brrweights``): strata
    with two PSUs form one pair each; strata with an even number of PSUs more than two
    are split into consecutive pairs; factors ``2 - rho`` and ``rho``."""
    stage = design._stages[0]
    group, n_h = stage.group, stage.group_size
    if np.any(n_h < 2):
        raise DesignError(
            f"BRR needs at least two PSUs per stratum; {plural(int((n_h < 2).sum()), 'stratum')} "
            "of them have one."
        )
    if np.any((n_h > 2) & (n_h % 2 == 1)):
        raise DesignError("BRR can split strata with more than two PSUs only into pairs: "
                          "those strata need an even number of PSUs.")
    labels = np.asarray(stage.labels, dtype=object).astype(str)
    # PSUs ordered by stratum label (R sorts the labels as text), then appearance
    rank = np.empty(stage.n_units, dtype=np.intp)
    rank[order] = np.arange(stage.n_units)
    label_rank = np.argsort(np.argsort(labels, kind="stable"), kind="stable")
    psu_order = np.lexsort((rank, label_rank[group]))
    within = np.empty(stage.n_units, dtype=np.intp)
    sorted_groups = group[psu_order]
    starts = np.flatnonzero(np.r_[True, sorted_groups[1:] != sorted_groups[:-1]])
    counts = np.diff(np.r_[starts, stage.n_units])
    within[psu_order] = np.arange(stage.n_units) - np.repeat(starts, counts)
    # pseudo-strata: large strata first (in label order), then the pairs
    is_large = n_h[group] > 2
    pairs_large = np.where(is_large, within // 2, 0)
    large_groups = np.flatnonzero(n_h > 2)
    good_groups = np.flatnonzero(n_h == 2)
    large_sorted = large_groups[np.argsort(label_rank[large_groups], kind="stable")]
    good_sorted = good_groups[np.argsort(label_rank[good_groups], kind="stable")]
    offset = np.zeros(stage.n_groups, dtype=np.intp)
    sizes = (n_h[large_sorted] // 2).astype(np.intp)
    offset[large_sorted] = np.cumsum(np.r_[0, sizes[:-1]]) if sizes.size else []
    n_large_pairs = int(sizes.sum())
    offset[good_sorted] = n_large_pairs + np.arange(good_sorted.size)
    pseudo = offset[group] + pairs_large  # 0-based pseudo-stratum of each PSU
    n_pairs = n_large_pairs + good_sorted.size
    first_half = within % 2 == 0  # R: weights[, 1] = 0 for the first PSU of a pair
    h = hadamard(n_pairs)[1: n_pairs + 1, :]  # rows 2..n+1
    chosen = h[pseudo, :]  # (units, R): 0 -> column 1, 1 -> column 2
    # column 1 holds (0 for first, 1 for second); column 2 the reverse
    in_col1 = np.where(first_half, 0.0, 1.0)[:, None]
    in_col2 = 1.0 - in_col1
    wa = np.where(chosen == 0, in_col1, in_col2)
    wb = 1.0 - wa
    return np.asarray(wa * (2 - rho) + wb * rho, dtype=np.float64)


#: Blocks of strata in which bootstrap replicates are drawn (see ``_bootstrap``).
_BOOTSTRAP_BLOCKS = 16


def _bootstrap(
    group: NDArray[np.intp],
    n_h: NDArray[np.float64],
    popsize: NDArray[np.float64] | None,
    replicates: int,
    rng: np.random.Generator,
    *,
    progress: bool | None = None,
) -> tuple[NDArray[np.float64], float]:
    """R's ``bootweights``: in each stratum draw ``n_h`` PSUs, with replacement, or
    without replacement from ``N_h`` copies when there is an fpc (Canty & Davison's
    rescaled bootstrap handles the rest through ``scale``); the replicate factor of a
    PSU is how often it was drawn.

    Without fpc the draws are made for blocks of whole strata (about
    ``_BOOTSTRAP_BLOCKS`` blocks), taking the same random numbers in the same order as
    one pass would: the factors do not depend on the blocking, the peak memory is a
    block's, and a progress bar advances per block."""
    n_units = group.shape[0]
    counts = np.zeros((n_units, replicates))
    # units of each stratum, contiguous, in random order (R shuffles them first)
    shuffle: NDArray[np.float64] = np.asarray(rng.random(size=n_units))
    by_group = np.lexsort((shuffle, group))
    sizes = n_h.astype(np.intp)
    ends = np.cumsum(sizes)
    start = np.r_[0, ends[:-1]]
    with bar(n_units, "bootstrap replicates", progress=progress, unit="PSU") as shown:
        if popsize is None or np.all(np.isinf(popsize)):
            # each unit slot (slots in stratum order) draws a unit of its stratum
            # uniformly, all replicates at once; a block of slots [lo, hi) covering
            # whole strata draws only units in it
            targets = np.linspace(0, n_units, _BOOTSTRAP_BLOCKS + 1)[1:]
            cuts = np.unique(ends[np.minimum(np.searchsorted(ends, targets), ends.size - 1)])
            size_slot = np.repeat(sizes, sizes)
            start_slot = np.repeat(start, sizes)
            columns = np.arange(replicates)
            lo = 0
            for hi in cuts.tolist():  # blocks of strata, not replicates
                m = hi - lo
                draws = np.floor(rng.random((m, replicates)) * size_slot[lo:hi, None])
                slot = (start_slot[lo:hi, None] - lo) + draws.astype(np.intp)
                counts[by_group[lo:hi]] = np.bincount(
                    (slot * replicates + columns).ravel(), minlength=m * replicates
                ).reshape(m, replicates)
                shown.update(m)
                lo = hi
        else:
            # without replacement from a pseudo-population of N_h copies of the n_h
            # PSUs: multivariate hypergeometric counts, drawn one PSU position at a
            # time for all strata and replicates together
            big_n = np.where(np.isinf(popsize), 100 * n_h, np.round(popsize)).astype(np.int64)
            base = big_n // n_h.astype(np.int64)
            extra = big_n - base * n_h.astype(np.int64)
            remaining_pop = np.repeat(big_n[:, None], replicates, axis=1)
            remaining_draw = np.repeat(n_h.astype(np.int64)[:, None], replicates, axis=1)
            for k in range(int(n_h.max())):  # positions within a stratum, not strata
                active = n_h > k
                g = np.flatnonzero(active)
                unit_k = by_group[start[g] + k]
                copies = base[g][:, None] + (k < extra[g])[:, None]
                got = rng.hypergeometric(copies, np.maximum(remaining_pop[g] - copies, 0),
                                         remaining_draw[g])
                counts[unit_k] = got
                remaining_pop[g] -= copies
                remaining_draw[g] -= got
                shown.update(g.size)
    harmonic = 1 / np.mean(1 / n_h)
    scale = harmonic / ((harmonic - 1) * (replicates - 1))
    return counts, float(scale)
