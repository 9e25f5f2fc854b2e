"""Design-based generalised linear models, as R's ``svyglm``.

:func:`glm` fits a linear (``family="gaussian"``) or logistic (``family="binomial"``,
R's ``quasibinomial``) regression by weighted iteratively reweighted least squares,
following R's ``glm.fit`` step for step: weights rescaled to mean 1, R's starting
values, the convergence rule ``|dev - dev_old| / (|dev| + 0.1) < 1e-8`` and at most 25
iterations, so that coefficients agree with R to rounding.

Standard errors are design-based:

* Taylor designs (:class:`nea_covid.SurveyDesign`): the sandwich of R's ``svy.varcoef``,
  the design variance of the per-row scores ``x_i r_i w_i A^{-1}`` (``r``: working
  residuals, ``w``: working weights, ``A = X'WX``), which the design's own variance
  code turns into a covariance (strata, clusters, fpc, calibration, lonely PSUs);
* replicate designs (:class:`nea_covid.ReplicateDesign`): the model is refitted under
  every set of replicate weights, starting from the full-sample coefficients (R's
  ``svyglm.svyrep.design``), all replicates at once: one matrix product gives every
  replicate's ``X'W_rX`` and the Newton steps are solved as a stack. Linear models
  need a single step (and for replicate factors per PSU, only per-PSU sums); logistic
  models iterate, each replicate freezing once it meets R's criterion.

The model formula is parsed by patsy, with R's treatment coding and level order
(categorical columns in their category order, text sorted); coefficients are
reported in R's order (terms by order of interaction, then as written).
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import patsy  # type: ignore[import-untyped]
from numpy.typing import NDArray
from scipy import linalg, stats
from scipy.linalg import lapack

from nea_covid.design import BaseDesign, SurveyDesign, require_rows
from nea_covid.errors import (
    ColumnNotFoundError,
    ConvergenceError,
    DegreesOfFreedomError,
    DesignError,
    MissingValueError,
    VariableTypeError,
    ZeroVarianceWarning,
    plural,
    row_labels,
)
from nea_covid.intervals import check_level, t_interval
from nea_covid.replicates import ReplicateDesign, ReplicateEstimates, svr_variance
from nea_covid.results import CellResult, ConfidenceInterval, inference_columns, readonly

__all__ = ["Regression", "glm", "glm_iterations"]

Family = Literal["gaussian", "binomial"]
_FAMILIES: dict[str, Family] = {"gaussian": "gaussian", "binomial": "binomial",
                                "quasibinomial": "binomial"}

#: R's glm.control(): epsilon and maxit.
EPSILON = 1e-8
MAX_ITER = 25
#: A model-matrix column is aliased when its weighted norm, after projection on the
#: columns before it, is below this fraction of its norm (R's lm tolerance).
ALIAS_TOLERANCE = 1e-7

_EPS = float(np.finfo(np.float64).eps)
_THRESH = 30.0  # R's logit link: eta beyond +-30 is clamped


# ---------------------------------------------------------------------- families
class _Family:
    """The link, variance and deviance functions of R's family objects, elementwise
    on arrays of any shape (rows, or rows x replicates)."""

    name: Family

    def linkfun(self, mu: NDArray[np.float64]) -> NDArray[np.float64]:
        raise NotImplementedError

    def linkinv(self, eta: NDArray[np.float64]) -> NDArray[np.float64]:
        raise NotImplementedError

    def mu_eta(self, eta: NDArray[np.float64],
               mu: NDArray[np.float64] | None = None) -> NDArray[np.float64]:
        """d mu / d eta (``mu``, when given, may be used instead of recomputing it)."""
        raise NotImplementedError

    def variance(self, mu: NDArray[np.float64]) -> NDArray[np.float64]:
        raise NotImplementedError

    def deviance(self, y: NDArray[np.float64], mu: NDArray[np.float64],
                 wt: NDArray[np.float64]) -> NDArray[np.float64]:
        """``sum(dev.resids(y, mu, wt))`` over rows (axis 0)."""
        raise NotImplementedError

    def mustart(self, y: NDArray[np.float64], wt: NDArray[np.float64]) -> NDArray[np.float64]:
        raise NotImplementedError


class _Gaussian(_Family):
    name: Family = "gaussian"

    def linkfun(self, mu: NDArray[np.float64]) -> NDArray[np.float64]:
        return mu

    def linkinv(self, eta: NDArray[np.float64]) -> NDArray[np.float64]:
        return eta

    def mu_eta(self, eta: NDArray[np.float64],
               mu: NDArray[np.float64] | None = None) -> NDArray[np.float64]:
        return np.ones_like(eta)

    def variance(self, mu: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.ones_like(mu)

    def deviance(self, y: NDArray[np.float64], mu: NDArray[np.float64],
                 wt: NDArray[np.float64]) -> NDArray[np.float64]:
        r = y - mu
        return np.asarray((wt * r * r).sum(axis=0), dtype=np.float64)

    def mustart(self, y: NDArray[np.float64], wt: NDArray[np.float64]) -> NDArray[np.float64]:
        return y


class _Logit(_Family):
    """R's ``binomial()`` / ``quasibinomial()`` logit link, with its C code's clamping
    (``stats:::logit_linkinv``, ``logit_mu_eta``, ``binomial_dev_resids``)."""

    name: Family = "binomial"

    def __init__(self, binary: bool = True) -> None:
        self.binary = binary  # every y is 0 or 1: one log per element

    def linkfun(self, mu: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.asarray(np.log(mu / (1 - mu)), dtype=np.float64)

    def linkinv(self, eta: NDArray[np.float64]) -> NDArray[np.float64]:
        if eta.size and eta.max() <= _THRESH and eta.min() >= -_THRESH:  # no clamping
            tmp = np.exp(eta)
        else:
            tmp = np.exp(np.clip(eta, -_THRESH, _THRESH))
            tmp = np.where(eta < -_THRESH, _EPS, np.where(eta > _THRESH, 1 / _EPS, tmp))
        denominator = tmp + 1
        np.divide(tmp, denominator, out=tmp)
        return np.asarray(tmp, dtype=np.float64)

    def mu_eta(self, eta: NDArray[np.float64],
               mu: NDArray[np.float64] | None = None) -> NDArray[np.float64]:
        if mu is not None and eta.size and np.abs(eta).max() <= 10:
            # e / (1 + e)^2 = mu (1 - mu) without a second exp: equal to rounding while
            # 1 - mu keeps its digits (|eta| <= 10: relative error below 1e-11)
            return np.asarray(mu * (1 - mu), dtype=np.float64)
        e = np.exp(np.clip(eta, -_THRESH, _THRESH))
        opexp = 1 + e
        out = np.where(np.abs(eta) > _THRESH, _EPS, e / (opexp * opexp))
        return np.asarray(out, dtype=np.float64)

    def variance(self, mu: NDArray[np.float64]) -> NDArray[np.float64]:
        return mu * (1 - mu)

    def deviance(self, y: NDArray[np.float64], mu: NDArray[np.float64],
                 wt: NDArray[np.float64]) -> NDArray[np.float64]:
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.binary:  # y log(y / mu) + (1 - y) log((1 - y) / (1 - mu)) = -log(t)
                terms = np.where(y != 0, mu, 1 - mu)
                np.log(terms, out=terms)
                terms *= wt
                return np.asarray(-2 * terms.sum(axis=0), dtype=np.float64)
            terms = (np.where(y != 0, y * np.log(y / mu), 0.0)
                     + np.where(1 - y != 0, (1 - y) * np.log((1 - y) / (1 - mu)), 0.0))
        return np.asarray((2 * wt * terms).sum(axis=0), dtype=np.float64)

    def mustart(self, y: NDArray[np.float64], wt: NDArray[np.float64]) -> NDArray[np.float64]:
        return (wt * y + 0.5) / (wt + 1)


def glm_iterations(
    step: Callable[[int, NDArray[np.intp]], NDArray[np.float64]],
    dev_start: NDArray[np.float64],
    *,
    epsilon: float = EPSILON,
    max_iter: int = MAX_ITER,
) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """R's ``glm.fit`` iteration loop for a batch of fits at once.

    ``step(iteration, active)`` advances the fits listed in ``active`` by one IRLS
    step (its state lives in the caller) and returns their new deviances. A fit
    freezes once ``|dev - dev_old| / (|dev| + 0.1) < epsilon`` (or its deviance is not
    finite), so every fit goes through exactly R's iterates.

    Returns
    -------
    iterations : ndarray of int
        Iterations each fit took (R's ``iter``).
    converged : ndarray of bool
    """
    dev_old = np.array(dev_start, dtype=np.float64, copy=True)
    k = dev_old.shape[0]
    iterations = np.zeros(k, dtype=np.int64)
    converged = np.zeros(k, dtype=bool)
    done = np.zeros(k, dtype=bool)
    for iteration in range(1, max_iter + 1):  # IRLS iterations, every fit at once
        active = np.flatnonzero(~done)
        if active.size == 0:
            break
        dev = np.asarray(step(iteration, active), dtype=np.float64)
        iterations[active] = iteration
        with np.errstate(invalid="ignore"):
            ok = np.abs(dev - dev_old[active]) / (np.abs(dev) + 0.1) < epsilon
        converged[active] = ok
        done[active] = ok | ~np.isfinite(dev)
        dev_old[active] = dev
    return iterations, converged


# ---------------------------------------------------------------------- result

@dataclass(frozen=True, eq=False, repr=False)
class Regression(CellResult):
    """A design-based regression fit (R's ``svyglm``), from :func:`glm`.

    Attributes
    ----------
    formula : str
        The model formula as given.
    family : {"gaussian", "binomial"}
        Linear or logistic (quasibinomial) model.
    cells : pandas.DataFrame
        One row per coefficient, column ``term`` (patsy's names: ``"Intercept"``,
        ``"ell"``, ``"stype[T.H]"``, ``"ell:stype[T.H]"``), in R's order.
    estimate : ndarray
        Coefficients.
    standard_error : ndarray
    vcov : ndarray, shape (n_coefficients, n_coefficients)
        Design-based covariance of the coefficients.
    statistic : ndarray
        t statistics, ``estimate / standard_error``.
    pvalue : ndarray
        Two-sided p-values from the t distribution on ``df`` degrees of freedom.
    df : int
        Residual degrees of freedom, R's ``df.residual``: the design's degrees of
        freedom plus one minus the number of coefficients.
    n_obs : int
        Rows in the fit (in the domain, complete, with non-zero weight).
    n_missing : int
        Rows of the domain left out for missing values (``missing="omit"``).
    dispersion : float
        The design-weighted variance of the Pearson residuals
        ``(y - mu) / sqrt(V(mu))`` (R's ``summary(fit)$dispersion``; see :func:`glm`).
    iterations : int
        IRLS iterations of the full-sample fit (R's ``fit$iter``).
    confidence_level : float
        Level of the intervals in :meth:`to_frame` (default 0.95).
    """

    formula: str
    family: Family
    cells: pd.DataFrame
    estimate: NDArray[np.float64]
    standard_error: NDArray[np.float64]
    vcov: NDArray[np.float64]
    statistic: NDArray[np.float64]
    pvalue: NDArray[np.float64]
    df: int
    n_obs: int
    n_missing: int
    dispersion: float
    iterations: int
    confidence_level: float = 0.95
    _replicates: ReplicateEstimates | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        for name in ("estimate", "standard_error", "vcov", "statistic", "pvalue"):
            object.__setattr__(self, name, readonly(getattr(self, name)))

    @property
    def terms(self) -> list[str]:
        """The coefficient names."""
        return [str(t) for t in self.cells["term"]]

    def confidence_interval(self, confidence_level: float | None = None) -> ConfidenceInterval:
        """Wald intervals ``estimate -+ t(df) * standard_error`` (R's
        ``confint(fit, method="Wald")`` for a ``svyglm``).

        Parameters
        ----------
        confidence_level : float, default 0.95

        Returns
        -------
        ConfidenceInterval
            ``(low, high)`` arrays, one value per coefficient.
        """
        level = check_level(self.confidence_level if confidence_level is None
                            else confidence_level)
        low, high = t_interval(self.estimate, self.standard_error, self.df, level)
        return ConfidenceInterval(np.asarray(low, dtype=np.float64),
                                  np.asarray(high, dtype=np.float64))

    def to_frame(self, confidence_level: float | None = None) -> pd.DataFrame:
        """A tidy DataFrame, one row per coefficient: ``term``, ``estimate``,
        ``standard_error``, ``ci_low``, ``ci_high``, ``statistic``, ``df``, ``pvalue``
        (the columns of :meth:`nea_covid.Comparison.to_frame`)."""
        return inference_columns(self.cells, self.estimate, self.standard_error,
                                 self.confidence_interval(confidence_level), self.statistic,
                                 self.df, self.pvalue)

    def to_xarray(self, confidence_level: float | None = None) -> Any:
        """An :class:`xarray.Dataset` with dimension ``term`` (and ``vcov`` over
        ``term`` x ``term_``)."""
        import xarray as xr

        frame = self.to_frame(confidence_level)
        ds = frame.drop(columns="df").set_index("term").to_xarray()
        terms = np.asarray(self.terms, dtype=object)
        ds["vcov"] = xr.DataArray(np.array(self.vcov), dims=("term", "term_"),
                                  coords={"term": terms, "term_": terms})
        ds.attrs.update(
            formula=self.formula, family=self.family, df=self.df, n_obs=self.n_obs,
            n_missing=self.n_missing, dispersion=self.dispersion,
            confidence_level=self.confidence_level if confidence_level is None
            else confidence_level,
        )
        return ds

    def term_test(self, *terms: str, method: Literal["Wald", "adjWald"] = "Wald") -> Any:
        """Test that all coefficients of one or more model terms are zero (R's
        ``regTermTest(fit, ~term, method="Wald")``).

        Parameters
        ----------
        *terms : str
            Terms as written in the formula: ``"stype"`` takes every coefficient of
            the factor (``stype[T.H]``, ``stype[T.M]``), ``"ell:stype"`` those of the
            interaction.
        method : {"Wald", "adjWald"}, default "Wald"
            F on ``(k, df)`` as R, or Stata's adjusted Wald F on ``(k, df - k + 1)``.

        Returns
        -------
        JointTest

        Examples
        --------
        >>> import nea_covid as nc
        >>> d = nc.SurveyDesign(nc.datasets.load_api("clus1"), clusters="dnum",
        ...                     weights="pw", fpc="fpc")
        >>> fit = nc.glm(d, "api00 ~ stype")
        >>> t = fit.term_test("stype")
        >>> round(t.statistic, 4), t.ndf, t.ddf, round(t.pvalue, 4)
        (1.2782, 2, 12.0, 0.3139)
        """
        from nea_covid.contrasts import contrast

        if not terms:
            raise DesignError("Name at least one term to test, e.g. fit.term_test('stype').")
        chosen = [i for i, name in enumerate(self.terms)
                  if any(_in_term(name, t) for t in terms)]
        missing = [t for t in terms if not any(_in_term(n, t) for n in self.terms)]
        if missing:
            raise DesignError(
                f"The model has no term {missing[0]!r}; its coefficients are "
                f"{', '.join(map(repr, self.terms))}.")
        weights = np.zeros((len(chosen), len(self)))
        weights[np.arange(len(chosen)), chosen] = 1.0
        rows = {self.terms[i]: w for i, w in zip(chosen, weights, strict=True)}
        return contrast(self, rows).joint_test(method)

    def _header(self) -> str:
        kind = "linear" if self.family == "gaussian" else "logistic (quasibinomial)"
        return (f"Regression: {kind}, {self.formula}\n"
                f"{self.n_obs} observations, df={self.df}"
                + (f", {self.n_missing} rows omitted (missing)" if self.n_missing else "")
                + f"; dispersion {self.dispersion:.6g}")

    def __repr__(self) -> str:
        frame = self.to_frame().drop(columns=["df"])
        body = frame.to_string(index=False, float_format=lambda x: f"{x:.6g}")
        return f"{self._header()}\n{body}"

    def _repr_html_(self) -> str:
        frame = self.to_frame().drop(columns=["df"])
        level = round(100 * self.confidence_level)
        head = self._header().replace("\n", "; ")
        table = frame.to_html(index=False, float_format=lambda x: f"{x:.6g}", border=0)
        return (f"<div><p><b>Regression</b>: {head} &mdash; {level}% intervals</p>"
                f"{table}</div>")


def _in_term(coefficient: str, term: str) -> bool:
    """Whether a coefficient (``stype[T.H]``, ``ell:stype[T.H]``) belongs to a term
    (``stype``, ``ell:stype``)."""
    parts = coefficient.replace(" ", "").split(":")
    wanted = term.replace(" ", "").split(":")
    return len(parts) == len(wanted) and all(
        p == w or p.startswith(f"{w}[") for p, w in zip(parts, wanted, strict=True))


# ---------------------------------------------------------------------- model frame
@dataclass(frozen=True, eq=False)
class _Model:
    """The model matrix and response of the rows in the fit."""

    x: NDArray[np.float64]  # (n, p), C order
    y: NDArray[np.float64]  # (n,)
    rows: NDArray[np.intp]  # positions of the rows in the design's data
    terms: list[str]
    n_missing: int
    n_domain: int


_Q_CALL = re.compile(r"""Q\((['"])(.*?)\1\)""")


def _names_read(code: str) -> tuple[list[str], list[str]]:
    """The plain names a factor's Python code reads (not those it calls) and the
    column names it quotes with ``Q("...")``."""
    try:
        tree = ast.parse(code.strip(), mode="eval")
    except SyntaxError:
        return [], []  # patsy reports it
    called = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    names: list[str] = []
    quoted: list[str] = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id == "Q" and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)):
            quoted.append(node.args[0].value)
        elif isinstance(node, ast.Name) and id(node) not in called:
            names.append(node.id)
    return names, quoted


def _columns_used(design: BaseDesign, desc: Any, env: Any) -> list[str]:
    """The data columns a formula reads; unknown names raise ColumnNotFoundError."""
    columns = design._data.columns
    found: list[str] = []
    known = set(patsy.builtins.__all__) | set(dir(builtins))
    for term in [*desc.lhs_termlist, *desc.rhs_termlist]:
        for factor in term.factors:
            names, quoted = _names_read(factor.name())
            for name in quoted:
                design._column(name)  # ColumnNotFoundError with close matches
                found.append(name)
            for name in names:
                if name in columns:
                    found.append(name)
                elif name not in known and name not in env.namespace:
                    dotted = [str(c) for c in columns if str(c).startswith(f"{name}.")
                              or str(c).startswith(f"{name} ")]
                    if dotted:
                        raise ColumnNotFoundError(
                            f"Variable column {name!r} is not in the data. Column names "
                            "with dots or spaces must be quoted in a formula: "
                            + ", ".join(f'Q("{c}")' for c in dotted[:3]) + ".")
                    design._column(name)
    return list(dict.fromkeys(found))


def _clean_frame(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """The model's columns as patsy should see them: text as categoricals with sorted
    levels (patsy's own level order, found in one vectorised pass instead of patsy's
    per-value loop), categoricals without unused categories (R's
    ``drop.unused.levels``), nullable numbers as floats with NaN."""
    changes: dict[str, Any] = {}
    for col in columns:
        values = frame[col]
        dtype = values.dtype
        if isinstance(dtype, pd.CategoricalDtype):
            changes[col] = values.cat.remove_unused_categories()
        elif pd.api.types.is_complex_dtype(dtype):
            raise VariableTypeError(f"Column {col!r} is complex; a model needs real numbers.")
        elif pd.api.types.is_bool_dtype(dtype):
            if isinstance(dtype, pd.api.extensions.ExtensionDtype):  # nullable boolean
                changes[col] = pd.Categorical(values, categories=[False, True])
        elif pd.api.types.is_numeric_dtype(dtype):
            if isinstance(dtype, pd.api.extensions.ExtensionDtype):  # nullable numbers
                changes[col] = values.to_numpy(dtype=np.float64, na_value=np.nan)
        elif pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype):
            with contextlib.suppress(TypeError):  # values that do not sort: left to patsy
                changes[col] = pd.Categorical(values)
    return frame.assign(**changes) if changes else frame


class _DenseScores:
    """Explicit scores of the rows in a model as a dense (rows, columns) matrix, for
    :func:`nea_covid.variance.taylor_vcov` (what :class:`nea_covid.scores.RowScores`
    holds in coordinate form, without repeating the row index per column)."""

    def __init__(self, rows: NDArray[np.intp], values: NDArray[np.float64]) -> None:
        self.rows = rows
        self.values = values

    @property
    def n_columns(self) -> int:
        return int(self.values.shape[1])

    def unit_totals(self, unit: NDArray[np.intp], n_units: int) -> NDArray[np.float64]:
        u = unit[self.rows]
        out = np.empty((n_units, self.n_columns))
        for j in range(self.n_columns):  # coefficients
            out[:, j] = np.bincount(u, weights=self.values[:, j], minlength=n_units)
        return out

    def presence(self, group: NDArray[np.intp], n_groups: int) -> NDArray[np.bool_]:
        hit = np.bincount(group[self.rows], minlength=n_groups) > 0
        return np.repeat(hit[None, :], self.n_columns, axis=0)

    def dense_rows(self, n_rows: int) -> NDArray[np.float64]:
        out = np.zeros((n_rows, self.n_columns))
        out[self.rows] = self.values
        return out


def _r_order(x_info: Any, desc: Any) -> tuple[NDArray[np.intp], list[str]]:
    """Column order and names of R's model matrix: terms by order of interaction,
    then as written in the formula; Q("name") shown as name."""
    written = list(desc.rhs_termlist)

    def key(term: Any) -> tuple[int, int]:
        position = written.index(term) if term in written else len(written)
        return (len(term.factors), position)

    order: list[int] = []
    for term in sorted(x_info.terms, key=key):
        s = x_info.term_slices[term]
        if s.stop == s.start:  # a factor with one level: no contrast exists
            raise DesignError(
                f"The term {term.name()!r} has a single level in the rows of the model, so "
                "it has no effect to estimate (R: 'contrasts can be applied only to "
                "factors with 2 or more levels'). Remove it from the formula.")
        order.extend(range(s.start, s.stop))
    names = [_Q_CALL.sub(r"\2", x_info.column_names[i]) for i in order]
    return np.asarray(order, dtype=np.intp), names


def _build(desc: Any, frame: pd.DataFrame, env: Any, formula: str) -> tuple[Any, Any]:
    """patsy's response and model matrix, dropping rows with missing values. When the
    columns have none, patsy's per-value missing-data scan is skipped (one vectorised
    check here), unless the formula's transformations create some."""
    complete = not frame.isna().to_numpy().any()
    actions = [patsy.NAAction(NA_types=[]), "drop"] if complete else ["drop"]
    for action in actions:
        try:
            y_frame, x_frame = patsy.dmatrices(desc, frame, eval_env=env, NA_action=action,
                                               return_type="dataframe")
        except patsy.PatsyError as exc:
            raise DesignError(f"Formula {formula!r}: {exc}") from None
        if action == "drop" or not (np.isnan(y_frame.to_numpy()).any()
                                    or np.isnan(x_frame.to_numpy()).any()):
            break
    return y_frame, x_frame


def _response(y_frame: pd.DataFrame, desc: Any, family: Family, formula: str
              ) -> NDArray[np.float64]:
    info = y_frame.design_info
    factor = desc.lhs_termlist[0].factors[0]
    finfo = info.factor_infos[factor]
    name = _Q_CALL.sub(r"\2", factor.name())
    if finfo.type == "categorical":
        levels = tuple(finfo.categories)
        boolean = levels == (False, True)
        if len(levels) == 2 and (boolean or family == "binomial"):
            # R: a logical response is 0/1; a two-level factor is the indicator of
            # its second level
            return np.ascontiguousarray(y_frame.to_numpy(dtype=np.float64)[:, 1])
        what = "text or categorical" if not boolean else "boolean"
        raise VariableTypeError(
            f"The response {name!r} is {what} with {plural(len(levels), 'level')} "
            f"({', '.join(map(repr, levels[:5]))}{', ...' if len(levels) > 5 else ''}). "
            + ("A logistic model needs a 0/1, boolean or two-level response."
               if family == "binomial" else
               "A linear model needs a numeric response; for a two-level response use "
               "family='binomial'.")
        )
    if y_frame.shape[1] != 1:
        raise VariableTypeError(f"The response {name!r} has {y_frame.shape[1]} columns; "
                                "it must be a single variable.")
    return np.ascontiguousarray(y_frame.to_numpy(dtype=np.float64)[:, 0])


def _model(design: BaseDesign, formula: str, family: Family, missing: str, env: Any) -> _Model:
    if not isinstance(formula, str):
        raise DesignError(f"`formula` must be a string like 'y ~ x1 + x2', not "
                          f"{type(formula).__name__}.")
    try:
        desc = patsy.ModelDesc.from_formula(formula)
    except patsy.PatsyError as exc:
        raise DesignError(f"Cannot parse the formula {formula!r}: {exc}") from None
    lhs = desc.lhs_termlist
    if len(lhs) != 1 or len(lhs[0].factors) != 1:
        raise DesignError(
            f"The formula {formula!r} needs one response on the left of '~', as in "
            "'api00 ~ ell + meals'.")
    if not desc.rhs_termlist:
        raise DesignError(f"The formula {formula!r} has no terms on the right of '~'.")
    columns = _columns_used(design, desc, env)
    domain = design._domain
    dom_rows = (np.arange(design.n_rows, dtype=np.intp) if domain is None
                else np.flatnonzero(domain))
    frame = design._data[columns] if columns else pd.DataFrame(index=design._data.index)
    if domain is not None:
        frame = frame.iloc[dom_rows]
    frame = frame.set_axis(pd.RangeIndex(dom_rows.shape[0]), axis=0)
    frame = _clean_frame(frame, columns)
    y_frame, x_frame = _build(desc, frame, env, formula)
    kept = np.asarray(x_frame.index, dtype=np.intp)
    n_missing = dom_rows.shape[0] - kept.shape[0]
    if n_missing:
        if missing == "raise":
            _raise_missing(design, frame, columns, kept, dom_rows, formula)
        if kept.shape[0] == 0:
            counts = {c: int(frame[c].isna().sum()) for c in columns}  # model columns
            worst = max(counts, key=counts.__getitem__) if counts else "?"
            raise MissingValueError(
                f"No row of the domain is complete for {formula!r}: column {worst!r} is "
                f"missing in {plural(counts.get(worst, 0), 'row')} of {frame.shape[0]}.")
        # again on the complete rows: levels seen only in dropped rows go (R's
        # na.omit with drop.unused.levels)
        frame = _clean_frame(frame.iloc[kept].set_axis(pd.RangeIndex(kept.shape[0]), axis=0),
                             columns)
        y_frame, x_frame = _build(desc, frame, env, formula)
    rows = dom_rows[kept]
    y = _response(y_frame, desc, family, formula)
    order, terms = _r_order(x_frame.design_info, desc)
    x = np.ascontiguousarray(x_frame.to_numpy(dtype=np.float64)[:, order])
    if not np.isfinite(y).all():
        mask = np.zeros(design.n_rows, dtype=bool)
        mask[rows[~np.isfinite(y)]] = True
        raise VariableTypeError(
            f"The response has {plural(int(mask.sum()), 'infinite value')} "
            f"({row_labels(design._data.index, mask)}); replace them before fitting.")
    bad = ~np.isfinite(x)
    if bad.any():
        cols = [terms[j] for j in np.flatnonzero(bad.any(axis=0))]
        raise VariableTypeError(
            f"The model matrix has infinite values in {', '.join(map(repr, cols))} "
            f"({plural(int(bad.any(axis=1).sum()), 'row')}); replace them before fitting.")
    return _Model(x, y, rows, terms, n_missing, int(dom_rows.shape[0]))


def _raise_missing(design: BaseDesign, frame: pd.DataFrame, columns: list[str],
                   kept: NDArray[np.intp], dom_rows: NDArray[np.intp], formula: str) -> None:
    dropped = np.ones(frame.shape[0], dtype=bool)
    dropped[kept] = False
    for col in columns:
        na = frame[col].isna().to_numpy()
        if na.any():
            mask = np.zeros(design.n_rows, dtype=bool)
            mask[dom_rows[na]] = True
            raise MissingValueError(
                f"Column {col!r} has {plural(int(na.sum()), 'missing value')} in the "
                f"domain ({row_labels(design._data.index, mask)}). Pass `missing='omit'` to "
                "leave those rows out of the model (they stay in the design for the "
                "variance), or impute them first."
            )
    mask = np.zeros(design.n_rows, dtype=bool)
    mask[dom_rows[dropped]] = True
    raise MissingValueError(
        f"The terms of {formula!r} are missing (NaN) in {plural(int(dropped.sum()), 'row')} "
        f"of the domain ({row_labels(design._data.index, mask)}), e.g. the log of a "
        "negative number. Pass `missing='omit'` to leave those rows out."
    )


# ---------------------------------------------------------------------- fitting
@dataclass(frozen=True, eq=False)
class _FullFit:
    beta: NDArray[np.float64]
    eta: NDArray[np.float64]
    mu: NDArray[np.float64]
    working_weights: NDArray[np.float64]  # of the last iteration (R's fit$weights)
    r_factor: NDArray[np.float64]  # R of the last iteration's QR of sqrt(W) X
    iterations: int


def _check_aliasing(r_factor: NDArray[np.float64], norms: NDArray[np.float64],
                    terms: list[str]) -> None:
    """Refuse columns whose QR diagonal is negligible against the column's norm."""
    aliased = np.abs(np.diag(r_factor)) <= ALIAS_TOLERANCE * norms
    if aliased.any():
        names = [terms[j] for j in np.flatnonzero(aliased)]
        raise DesignError(
            f"The model matrix is rank deficient: {', '.join(map(repr, names))} "
            f"{'is a linear combination' if len(names) == 1 else 'are linear combinations'}"
            " of the columns before (aliased; R would report NA coefficients). Remove "
            "the redundant terms, or levels without observations, from the formula."
        )


def _weighted_solve(x: NDArray[np.float64], sw: NDArray[np.float64], z: NDArray[np.float64],
                    terms: list[str] | None = None
                    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Least squares of ``sw z`` on ``sw X`` by Householder QR (as R's ``Cdqrls``):
    the coefficients and R. With ``terms``, first refuse aliased columns."""
    p = x.shape[1]
    # one Householder QR of [sqrt(W) X | sqrt(W) z]: its last column holds Q' sqrt(W) z,
    # so Q itself is never formed
    a = np.empty((x.shape[0], p + 1), order="F")  # LAPACK's layout: no copy
    np.multiply(x, sw[:, None], out=a[:, :p])
    np.multiply(z, sw, out=a[:, p])
    qr, _, _, info = lapack.dgeqrf(a, overwrite_a=True)
    if info != 0:  # pragma: no cover - LAPACK argument errors only
        raise DesignError(f"The least-squares step failed (LAPACK dgeqrf info={info}).")
    r_aug = np.triu(qr[: p + 1, : p + 1])
    r = np.ascontiguousarray(r_aug[:p, :p], dtype=np.float64)
    if terms is not None:
        _check_aliasing(r, np.sqrt(np.einsum("ij,ij,i->j", x, x, sw * sw)), terms)
    beta = linalg.solve_triangular(r, r_aug[:p, p], check_finite=False)
    return np.asarray(beta, dtype=np.float64), r


def _normal_solve(x: NDArray[np.float64], sw: NDArray[np.float64], z: NDArray[np.float64]
                  ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The same least squares as :func:`_weighted_solve` from the normal equations
    ``X'WX b = X'Wz`` (one pass over the rows instead of a QR's several), on
    equilibrated columns, for IRLS steps after the first (whose QR has checked the
    rank): the coefficients and the Cholesky factor ``R`` with ``R'R = X'WX``."""
    a = x * sw[:, None]
    gram = a.T @ a
    rhs = a.T @ (z * sw)
    d = 1.0 / np.sqrt(np.diag(gram))
    chol = linalg.cholesky(gram * np.outer(d, d), lower=False, check_finite=False)
    beta = d * linalg.cho_solve((chol, False), d * rhs, check_finite=False)
    return np.asarray(beta, dtype=np.float64), np.asarray(chol / d[None, :], dtype=np.float64)


def _fit_full(model: _Model, w: NDArray[np.float64], family: _Family) -> _FullFit:
    """R's ``glm.fit`` on the full sample: prior weights ``w`` (mean 1)."""
    x, y = model.x, model.y
    n_pos = int(np.count_nonzero(w))
    p = x.shape[1]
    if n_pos < p:
        raise DesignError(
            f"The model has {plural(p, 'coefficient')} but only "
            f"{plural(n_pos, 'observation')} with non-zero weight.")
    if family.name == "gaussian":
        beta, r = _weighted_solve(x, np.sqrt(w), y, model.terms)
        eta = x @ beta
        dev = float(family.deviance(y, eta, w))
        # R: dev_old = 0 at mustart = y; the second iteration repeats the first
        n_iter = 1 if abs(dev) / (abs(dev) + 0.1) < EPSILON else 2
        return _FullFit(beta, eta, eta, w, r, n_iter)

    state: dict[str, Any] = {}
    eta = family.linkfun(family.mustart(y, w))
    mu = family.linkinv(eta)
    state.update(eta=eta, mu=mu)

    def step(iteration: int, active: NDArray[np.intp]) -> NDArray[np.float64]:
        eta, mu = state["eta"], state["mu"]
        mu_eta = family.mu_eta(eta, mu)
        z = eta + (y - mu) / mu_eta
        sw = np.sqrt(w * mu_eta**2 / family.variance(mu))
        if iteration == 1:  # Householder QR: as R, and the rank check
            beta, r = _weighted_solve(x, sw, z, model.terms)
        else:
            beta, r = _normal_solve(x, sw, z)
        eta = x @ beta
        mu = family.linkinv(eta)
        state.update(beta=beta, r=r, ww=sw * sw, eta=eta, mu=mu)
        return np.array([float(family.deviance(y, mu, w))])

    dev_start = np.array([float(family.deviance(y, mu, w))])
    iterations, converged = glm_iterations(step, dev_start)
    beta = state["beta"]
    if not converged[0] or not np.isfinite(beta).all():
        raise ConvergenceError(
            f"The logistic model did not converge in {MAX_ITER} iterations (R would warn "
            "'glm.fit: algorithm did not converge'). Check for predictors that separate "
            "the outcome, or simplify the model.")
    _check_separation(state["mu"][w > 0], "the full sample")
    return _FullFit(beta, state["eta"], state["mu"], state["ww"], state["r"],
                    int(iterations[0]))


def _check_separation(mu: NDArray[np.float64], where: str) -> None:
    eps = 10 * _EPS
    extreme = (mu < eps) | (mu > 1 - eps)
    if extreme.any():
        raise ConvergenceError(
            f"Fitted probabilities are numerically 0 or 1 for "
            f"{plural(int(extreme.sum()), 'observation')} in {where}: the predictors "
            "(quasi-)completely separate the outcome, so some coefficients are infinite. "
            "Remove or merge the separating predictors or categories.")


def _packed(xt: NDArray[np.float64], scale: NDArray[np.float64] | None = None
            ) -> tuple[NDArray[np.float64], tuple[Any, Any]]:
    """The upper triangles of the rows' outer products ``g_i x_i x_i'``, one row per
    (j, k) pair, shape (p(p+1)/2, n), from the transposed model matrix ``xt`` (p, n)."""
    iu = np.triu_indices(xt.shape[0])
    out = np.empty((iu[0].shape[0], xt.shape[1]))
    gx = xt if scale is None else xt * scale
    for k, (i, j) in enumerate(zip(*iu, strict=True)):  # coefficient pairs
        np.multiply(gx[i], xt[j], out=out[k])
    return out, iu


def _unpack(packed: NDArray[np.float64], iu: tuple[Any, Any], p: int) -> NDArray[np.float64]:
    out = np.empty((packed.shape[0], p, p))
    out[:, iu[0], iu[1]] = packed
    out[:, iu[1], iu[0]] = packed
    return out


def _solve_stack(h: NDArray[np.float64], g: NDArray[np.float64], terms: list[str]
                 ) -> NDArray[np.float64]:
    """Solve ``h[r] d[r] = g[r]`` for every replicate, refusing singular ``h[r]``."""
    d = np.sqrt(np.einsum("rii->ri", h))
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = h / (d[:, :, None] * d[:, None, :])
    singular = ~np.isfinite(scaled).all(axis=(1, 2)) | (d == 0).any(axis=1)
    ok = ~singular
    if ok.any():
        eig = np.linalg.eigvalsh(scaled[ok])
        singular[ok] = eig[:, 0] <= ALIAS_TOLERANCE**2 * eig[:, -1]
    if singular.any():
        which = np.flatnonzero(singular) + 1
        shown = ", ".join(map(str, which[:5])) + (", ..." if which.size > 5 else "")
        raise DesignError(
            f"The model cannot be estimated in {plural(int(which.size), 'replicate')} "
            f"({shown}): among the rows with non-zero replicate weight the model matrix "
            "is rank deficient (e.g. a category observed only in the PSUs those replicates "
            f"drop). Coefficients: {', '.join(terms)}. Merge sparse categories.")
    return np.asarray(np.linalg.solve(h, g[:, :, None])[:, :, 0], dtype=np.float64)


def _replicate_weights(design: ReplicateDesign, rows: NDArray[np.intp]) -> NDArray[np.float64]:
    """Final replicate weights of the fit's rows, (rows, R)."""
    reps = design._replicates
    out = reps[design._unit[rows]] if design._unit is not None else reps[rows]
    if design._scaled_by_weights:
        out = out * design._weights[rows][:, None]
    return np.asarray(out, dtype=np.float64)


def _replicate_gaussian(design: ReplicateDesign, model: _Model, beta0: NDArray[np.float64]
                        ) -> NDArray[np.float64]:
    """Weighted least squares under every replicate: ``beta0 + (X'W_rX)^-1 X'W_r e``
    with ``e`` the full-sample residuals (one Newton step is exact), from one product
    of the replicate weights (or per-PSU factors) with per-row (per-PSU) sums."""
    x, p = model.x, model.x.shape[1]
    xt = np.ascontiguousarray(x.T)
    e = model.y - x @ beta0
    if design._unit is not None:
        # per-PSU sums of g x x' and g x e (g: the full-sample weight when the
        # factors multiply it), then one product with the (PSUs, R) factors
        unit = design._unit[model.rows]
        n_units = design._replicates.shape[0]
        g = design._weights[model.rows] if design._scaled_by_weights else None
        xx, iu = _packed(xt, g)
        ge = e if g is None else e * g
        values = np.concatenate([xx, xt * ge], axis=0)
        sums = np.empty((n_units, values.shape[0]))
        for k in range(values.shape[0]):  # coefficient pairs
            sums[:, k] = np.bincount(unit, weights=values[k], minlength=n_units)
        totals = np.asarray(design._replicates.T @ sums, dtype=np.float64)
    else:
        xx, iu = _packed(xt)
        values = np.concatenate([xx, xt * e], axis=0)
        totals = _replicate_weights(design, model.rows).T @ values.T
    q = xx.shape[0]
    h = _unpack(totals[:, :q], iu, p)
    delta = _solve_stack(h, totals[:, q:], model.terms)
    return np.asarray(beta0[None, :] + delta, dtype=np.float64)


def _replicate_logit(design: ReplicateDesign, model: _Model, beta0: NDArray[np.float64],
                     family: _Logit) -> NDArray[np.float64]:
    """R's ``glm.fit(start = beta0, weights = w_r / sum(w_r))`` for every replicate at
    once: Newton steps solved as a (replicates, p, p) stack; each replicate stops at
    R's criterion."""
    x, y = model.x, model.y[:, None]
    p = x.shape[1]
    wr = _replicate_weights(design, model.rows)
    n_rep = wr.shape[1]
    sums = wr.sum(axis=0)
    if np.any(sums <= 0):
        which = np.flatnonzero(sums <= 0) + 1
        raise DesignError(
            f"{plural(int(which.size), 'replicate')} ({', '.join(map(str, which[:5]))}) "
            "give zero weight to every row of the model.")
    wr /= sums
    xx = _packed(np.ascontiguousarray(x.T))[0].T  # (n, p(p+1)/2), column-major
    iu = np.triu_indices(p)
    betas = np.repeat(beta0[None, :], n_rep, axis=0)
    eta = x @ betas.T
    in_range = _logit_in_range(eta)
    state = {"mu": family.linkinv(eta)}
    del eta

    def step(iteration: int, active: NDArray[np.intp]) -> NDArray[np.float64]:
        every = active.size == n_rep
        m = state["mu"] if every else state["mu"][:, active]
        w = wr if every else wr[:, active]
        if in_range[active].all():
            # canonical link: mu.eta = V(mu), so W = w mu (1 - mu), W (z - eta) = w (y - mu)
            ww = m * (1 - m)
            ww *= w
            u = y - m
            u *= w
        else:  # |eta| > 30 somewhere: R's clamped mu.eta
            e = x @ betas[active].T
            mu_eta = family.mu_eta(e)
            ww = w * mu_eta**2 / family.variance(m)
            u = ww * ((y - m) / mu_eta)
        h = _unpack(ww.T @ xx, iu, p)
        g = u.T @ x
        del ww, u
        betas[active] += _solve_stack(h, g, model.terms)
        e = x @ betas[active].T
        in_range[active] = _logit_in_range(e)
        m = family.linkinv(e)
        del e
        if every:
            state["mu"] = m
        else:
            state["mu"][:, active] = m
        return family.deviance(y, m, w)

    _, converged = glm_iterations(step, family.deviance(y, state["mu"], wr))
    if not converged.all() or not np.isfinite(betas).all():
        which = np.flatnonzero(~converged | ~np.isfinite(betas).all(axis=1)) + 1
        raise ConvergenceError(
            f"The logistic model did not converge in {MAX_ITER} iterations in "
            f"{plural(int(which.size), 'replicate')} ({', '.join(map(str, which[:5]))}"
            f"{', ...' if which.size > 5 else ''}): check for predictors that separate "
            "the outcome in part of the sample.")
    mu = state["mu"]
    eps = 10 * _EPS
    extreme = (mu < eps) | (mu > 1 - eps)
    extreme &= wr > 0
    if extreme.any():
        _check_separation(mu[extreme], "some replicates")
    return betas


def _logit_in_range(eta: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Per column: whether every linear predictor is within R's +-30 (no clamping)."""
    return np.asarray((eta.max(axis=0) <= _THRESH) & (eta.min(axis=0) >= -_THRESH))


def _dispersion(model: _Model, w: NDArray[np.float64], mu: NDArray[np.float64],
                family: _Family) -> float:
    """``svyvar`` of the Pearson residuals ``(y - mu) / sqrt(V(mu))``."""
    pos = w > 0
    n = int(pos.sum())
    if n < 2:
        return float("nan")
    r = (model.y[pos] - mu[pos]) / np.sqrt(family.variance(mu[pos]))
    wp = w[pos]
    total = wp.sum()
    centre = (wp * r).sum() / total
    return float(n / (n - 1) * (wp * (r - centre) ** 2).sum() / total)


def _weight_mean(design: BaseDesign) -> float:
    """R's ``mean`` of the design weights over the design's rows: a subset of an
    uncalibrated Taylor design, or of a replicate design, keeps only its domain's
    rows; calibrated Taylor designs keep every row (zero weight outside)."""
    w, domain = design._weights, design._domain
    if domain is None:
        return float(w.mean())
    if isinstance(design, SurveyDesign) and design._calibration:
        return float(np.where(domain, w, 0.0).sum() / w.shape[0])
    return float(w[domain].mean())


# ---------------------------------------------------------------------- public
def glm(
    design: BaseDesign,
    formula: str,
    family: str = "gaussian",
    *,
    missing: Literal["raise", "omit"] = "raise",
) -> Regression:
    """Fit a design-based generalised linear model, as R's ``svyglm``.

    Parameters
    ----------
    design : SurveyDesign or ReplicateDesign
        A subset design (``design.subset(mask)``) fits the model in the domain, with
        every PSU kept for the variance.
    formula : str
        A patsy formula, ``"response ~ terms"``: ``+``, ``:``, ``*``, ``- 1`` / ``0 +``
        (no intercept), ``I(...)`` for arithmetic (``"I(api00 > 700) ~ ell"``),
        ``C(x)`` to treat numbers as categories, ``Q("sch.wide")`` for column names
        that are not Python identifiers. Text, boolean and categorical columns get
        treatment contrasts against their first level (text sorted, categoricals in
        category order), as R's default.
    family : {"gaussian", "binomial"}
        "gaussian": linear regression. "binomial" (also "quasibinomial"): logistic
        regression with R's ``quasibinomial()`` estimates and standard errors; the
        response is 0/1 (values in between are allowed, as in R), boolean, or a text
        or categorical column with two levels (modelled: the second level).
    missing : {"raise", "omit"}, default "raise"
        What to do with domain rows where a variable of the model is missing: raise
        MissingValueError, or leave them out of the model (R's ``na.omit``; they stay
        in the design for the variance).

    Returns
    -------
    Regression
        Coefficients, design-based covariance, t statistics and p-values on
        ``df = degf + 1 - n_coefficients`` (R's ``df.residual``), Wald intervals.

    Raises
    ------
    ColumnNotFoundError
        A name in the formula is neither a column nor a function in scope.
    MissingValueError
        Missing values with ``missing="raise"``.
    VariableTypeError
        Infinite values, a response of the wrong kind for the family, or (binomial)
        outside [0, 1].
    DesignError
        A formula patsy cannot evaluate, an unknown family, a rank-deficient model
        matrix (aliased terms are named; R would report NA coefficients), or a
        replicate in which the model cannot be estimated.
    DegreesOfFreedomError
        ``df`` would be zero or negative (more coefficients than the design has
        degrees of freedom).
    ConvergenceError
        IRLS does not converge in 25 iterations, or fitted probabilities are 0 or 1
        (separation), in the full sample or a replicate.

    Notes
    -----
    Like R, the model weights are the design weights divided by their mean, the
    coefficients come from R's IRLS iterations (``glm.fit``), and Taylor standard
    errors are the design variance of ``estfun %*% (X'WX)^-1`` (``svy.varcoef``).
    Replicate designs refit the model under each replicate's weights ``w_r/sum(w_r)``
    starting from the full-sample coefficients, and apply R's ``svrVar``; the
    replicate coefficients are kept (``_replicates``) for contrasts.

    Degrees of freedom follow R: for Taylor designs the design's ``degf`` among the
    rows in the model (after dropping missing values), for replicate designs the
    design's ``degf`` (before).

    ``dispersion`` is the design-weighted variance of ``(y - mu) / sqrt(V(mu))``
    over the rows in the model: R's ``summary(fit)$dispersion`` for Taylor designs
    without missing values. R's residuals are scaled by quirks of ``survey`` 4.1.1:
    with missing values, by ``mean(w[complete]) / mean(w[domain])``; on replicate
    designs by ``sum(w[complete]) / mean(w[domain])`` (about the sample size).

    Rank deficiency is an error rather than R's NA coefficients. R's character
    columns become factors with levels sorted in the locale's collation; here text
    is sorted by code point (they differ for mixed-case levels).

    Examples
    --------
    >>> import nea_covid as nc
    >>> apistrat = nc.datasets.load_api("strat")
    >>> d = nc.SurveyDesign(apistrat, weights="pw", strata="stype", fpc="fpc")
    >>> fit = nc.glm(d, "api00 ~ ell + meals + mobility")
    >>> fit.terms
    ['Intercept', 'ell', 'meals', 'mobility']
    >>> [round(float(b), 4) for b in fit.estimate]
    [820.8873, -0.4806, -3.1415, 0.2257]
    >>> fit.df
    194
    >>> logit = nc.glm(d, "I(api00 > 700) ~ ell + stype", family="binomial")
    >>> logit.terms
    ['Intercept', 'ell', 'stype[T.H]', 'stype[T.M]']
    """
    require_rows(design, "`nc.glm`")
    if not isinstance(design, BaseDesign):
        raise DesignError(
            f"`design` must be a SurveyDesign or ReplicateDesign, not {type(design).__name__}.")
    kind = _FAMILIES.get(family) if isinstance(family, str) else None
    if kind is None:
        raise DesignError(
            f"`family` must be 'gaussian' or 'binomial' (or 'quasibinomial'), not {family!r}.")
    if missing not in ("raise", "omit"):
        raise DesignError(f"`missing` must be 'raise' or 'omit', not {missing!r}.")
    env = patsy.EvalEnvironment.capture(1)
    model = _model(design, formula, kind, missing, env)
    fam: _Family
    if kind == "binomial":
        outside = (model.y < 0) | (model.y > 1)
        if outside.any():
            mask = np.zeros(design.n_rows, dtype=bool)
            mask[model.rows[outside]] = True
            raise VariableTypeError(
                f"A logistic model needs a response between 0 and 1; "
                f"{plural(int(outside.sum()), 'row')} ({row_labels(design._data.index, mask)})"
                " are outside. For a condition write e.g. 'I(api00 > 700) ~ ...'.")
        fam = _Logit(binary=bool(np.all((model.y == 0) | (model.y == 1))))
    else:
        fam = _Gaussian()
    p = model.x.shape[1]
    w_design = design._weights[model.rows]
    if not (w_design > 0).any():
        raise DesignError("No row of the domain with non-zero weight enters the model.")
    is_replicate = isinstance(design, ReplicateDesign)
    if is_replicate:
        degf = design.degf
    elif model.n_missing:
        complete = np.zeros(design.n_rows, dtype=bool)
        complete[model.rows] = True
        degf = design.subset(complete).degf
    else:
        degf = design.degf
    df = int(degf) + 1 - p
    if df <= 0:
        raise DegreesOfFreedomError(
            f"The model has {plural(p, 'coefficient')} but the design only "
            f"{plural(int(degf), 'degree')} of freedom: df.residual = degf + 1 - "
            f"coefficients = {df}, so standard errors and tests are undefined. Use fewer "
            "terms (or a design with more PSUs).")

    w = w_design / _weight_mean(design)
    full = _fit_full(model, w, fam)
    beta0 = full.beta
    replicates: ReplicateEstimates | None = None
    if isinstance(design, ReplicateDesign):
        if fam.name == "gaussian":
            betas = _replicate_gaussian(design, model, beta0)
        else:
            assert isinstance(fam, _Logit)
            betas = _replicate_logit(design, model, beta0, fam)
        replicates = ReplicateEstimates(betas, design.scale, design.rscales, design.mse)
        vcov = svr_variance(betas, beta0, design.scale, design.rscales, design.mse)
    else:
        # the scores estfun A^-1 are linear in estfun: V(estfun A^-1) = A^-1 V(estfun) A^-1
        r_inv = linalg.solve_triangular(full.r_factor, np.eye(p))
        a_inv = r_inv @ r_inv.T
        working = (model.y - full.mu) / fam.mu_eta(full.eta)
        estfun = model.x * (working * full.working_weights)[:, None]
        vcov = a_inv @ design._vcov(_DenseScores(model.rows, estfun)) @ a_inv
        vcov = (vcov + vcov.T) / 2
    vcov = np.asarray(vcov, dtype=np.float64)
    var = np.diag(vcov)
    se = np.sqrt(np.where(var < 0, np.nan, var))
    # a standard error at rounding level of the coefficient (a constant response) is
    # zero: no test, as for every other result
    zero = ~(se > 64 * np.finfo(np.float64).eps * np.abs(beta0))
    if zero.any():
        warnings.warn(
            f"{plural(int(zero.sum()), 'coefficient')} "
            f"({', '.join(model.terms[j] for j in np.flatnonzero(zero)[:5])}) "
            f"{'has' if zero.sum() == 1 else 'have'} zero or undefined variance; their "
            "t statistics and p-values are NaN.", ZeroVarianceWarning, stacklevel=2)
    with np.errstate(divide="ignore", invalid="ignore"):
        tstat = np.where(zero, np.nan, beta0 / se)
    pvalue = 2 * stats.t.sf(np.abs(tstat), df)
    return Regression(
        formula=formula,
        family=kind,
        cells=pd.DataFrame({"term": model.terms}),
        estimate=beta0,
        standard_error=se,
        vcov=vcov,
        statistic=tstat,
        pvalue=pvalue,
        df=df,
        n_obs=int(np.count_nonzero(w_design)),
        n_missing=model.n_missing,
        dispersion=_dispersion(model, w, full.mu, fam),
        iterations=full.iterations,
        _replicates=replicates,
    )

