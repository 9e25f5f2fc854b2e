"""Tests of association in two-way tables (R's ``svychisq``).

:func:`chisq` crosses two categorical variables and tests their independence with
the design-based tests of R's ``svychisq``: Rao & Scott's second-order corrected
Pearson statistic ("F", the default), its first-order correction ("Chisq"), the
saddlepoint approximation to the Pearson statistic's exact distribution (a linear
combination of chi-squares), and the Wald tests of Koch et al. ("Wald", "adjWald").

The cell proportions (or totals) and their full covariance come from one call of the
library's ratio-of-totals engine on the interaction of the two variables, so the
design's own variance (Taylor, calibrated, or replicate) is used as for every other
estimate. Everything after that is linear algebra on matrices of the table's size
(cells x cells).
"""

from __future__ import annotations

import dataclasses
import html
import math
import warnings
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import special
from scipy.linalg import lapack
from scipy.optimize import brentq

from nea_covid.design import BaseDesign, SurveyDesign, require_rows
from nea_covid.domains import Missing, Prepared, prepare
from nea_covid.errors import (
    DegreesOfFreedomError,
    DesignError,
    ZeroVarianceWarning,
    plural,
)
from nea_covid.estimators import levels_of, ratio_of_totals
from nea_covid.replicates import ReplicateDesign
from nea_covid.results import readonly
from nea_covid.scores import weighted_bincount

__all__ = ["ChisqTest", "Statistic", "chisq"]

Statistic: TypeAlias = Literal["F", "Chisq", "Wald", "adjWald", "saddlepoint"]
_STATISTICS = ("F", "Chisq", "Wald", "adjWald", "saddlepoint")

_RAO_SCOTT = "Pearson's X^2: Rao & Scott adjustment"
_SADDLEPOINT = "Pearson's X^2: saddlepoint approximation"
_WALD = "Design-based Wald test of association"

#: Most cells a table may have: Rao & Scott's matrices are (cells x cells).
MAX_CELLS = 2_500


@dataclass(frozen=True, eq=False, repr=False)
class ChisqTest:
    """Result of :func:`chisq`: a design-based test of association in a two-way table.

    Attributes
    ----------
    test : str
        The statistic asked for: "F", "Chisq", "Wald", "adjWald" or "saddlepoint".
    statistic_name : str
        R's name of the statistic: "F" (F, Wald, adjWald) or "X-squared" (Chisq,
        saddlepoint, where the statistic is Pearson's X^2 itself).
    statistic : float
        The test statistic (NaN where the variance is zero or singular).
    pvalue : float
    ndf, ddf : float or None
        Numerator and denominator degrees of freedom of the reference distribution;
        for "Chisq" ``ndf`` is the chi-square's df and ``ddf`` None; None for
        "saddlepoint" (R reports no parameter there).
    df : int
        The design degrees of freedom ``nu`` the test uses (R's ``nu``): PSUs minus
        strata over the design's rows for Taylor designs, ``degf`` for replicate
        designs.
    pearson : float
        Pearson's X^2 of the weighted table rescaled to the number of rows (R's
        ``chisq.test(svytable(..., Ntotal = N))``), before any design correction.
    design_effects : ndarray or None
        The eigenvalues of Rao & Scott's design-effect matrix Delta (R's ``Delta``;
        their mean is the first-order correction, Chisq's divisor), in decreasing
        order; None for the Wald tests, which do not compute it.
    method : str
        R's description of the test.
    row, column : str
        The two variables.
    counts : ndarray, shape (rows, columns)
        Weighted counts (estimated population totals) of the table's cells.
    row_levels, column_levels : pandas.Index
        The levels in the table: those observed (with positive weight) in rows where
        both variables are present.
    n_obs : int
        Rows entering the test (both variables observed, non-zero weight).
    n_missing : int
        Rows of the domain left out because a variable is missing (``missing="omit"``).
    n_rows : int
        R's ``N``: the rows the design holds, rows with missing values included; the
        table behind :attr:`pearson` is scaled to sum to it.
    """

    test: str
    statistic_name: str
    statistic: float
    pvalue: float
    ndf: float | None
    ddf: float | None
    df: int
    pearson: float
    design_effects: NDArray[np.float64] | None
    method: str
    row: str
    column: str
    counts: NDArray[np.float64]
    row_levels: pd.Index
    column_levels: pd.Index
    n_obs: int
    n_missing: int
    n_rows: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "counts", readonly(self.counts))
        if self.design_effects is not None:
            object.__setattr__(self, "design_effects", readonly(self.design_effects))

    @property
    def table(self) -> pd.DataFrame:
        """The weighted table: one row per level of :attr:`row`, one column per level of
        :attr:`column` (a new DataFrame on every access)."""
        return pd.DataFrame(
            np.array(self.counts),
            index=pd.Index(self.row_levels, name=self.row),
            columns=pd.Index(self.column_levels, name=self.column),
        )

    def to_frame(self) -> pd.DataFrame:
        """One row: ``name`` (R's statistic name), ``statistic``, ``ndf``, ``ddf``,
        ``pvalue``, ``method`` (NaN where R has no parameter)."""
        return pd.DataFrame({
            "name": [self.statistic_name],
            "statistic": [self.statistic],
            "ndf": [np.nan if self.ndf is None else self.ndf],
            "ddf": [np.nan if self.ddf is None else self.ddf],
            "pvalue": [self.pvalue],
            "method": [self.method],
        })

    def to_xarray(self) -> Any:
        """An :class:`xarray.Dataset`: the weighted ``table`` with the two variables as
        dimensions, ``design_effects`` (dimension ``component``, where computed), the
        scalars ``statistic``, ``pvalue``, ``ndf``, ``ddf``, ``df``, ``pearson``, and
        ``test``, ``statistic_name``, ``method``, ``n_obs``, ``n_missing`` as attributes."""
        import xarray as xr

        scalars = {
            "statistic": self.statistic, "pvalue": self.pvalue,
            "ndf": np.nan if self.ndf is None else self.ndf,
            "ddf": np.nan if self.ddf is None else self.ddf,
            "df": float(self.df), "pearson": self.pearson,
        }
        taken = {*scalars, "table", "design_effects", "component"}
        row_dim = str(self.row) + ("_" if str(self.row) in taken else "")
        col_dim = str(self.column) + ("_" if str(self.column) in taken else "")
        data: dict[str, Any] = {"table": ((row_dim, col_dim), np.array(self.counts))}
        if self.design_effects is not None:
            data["design_effects"] = (("component",), np.array(self.design_effects))
        data.update({k: ((), v) for k, v in scalars.items()})
        return xr.Dataset(
            data,
            coords={row_dim: np.asarray(self.row_levels), col_dim: np.asarray(self.column_levels)},
            attrs={"test": self.test, "statistic_name": self.statistic_name,
                   "method": self.method, "n_obs": self.n_obs, "n_missing": self.n_missing,
                   "n_rows": self.n_rows},
        )

    def _summary(self) -> tuple[str, str]:
        def num(x: float | None) -> str:
            return "NA" if x is None else f"{x:.6g}"

        head = (f"ChisqTest ({self.test}): {self.row} x {self.column}, "
                f"{len(self.row_levels)} x {len(self.column_levels)} table, "
                f"{self.n_obs} rows")
        if self.n_missing:
            head += f" ({self.n_missing} omitted: missing)"
        parts = [f"{self.statistic_name} = {num(self.statistic)}"]
        if self.ndf is not None:
            parts.append(f"{'df' if self.ddf is None else 'ndf'} = {num(self.ndf)}")
        if self.ddf is not None:
            parts.append(f"ddf = {num(self.ddf)}")
        parts.append(f"p-value = {num(self.pvalue)}")
        return head, ", ".join(parts)

    def __repr__(self) -> str:
        head, line = self._summary()
        lines = [head, f"  {line}", f"  {self.method}; design df = {self.df}; "
                 f"Pearson X^2 = {self.pearson:.6g}"]
        if self.design_effects is not None:
            shown = ", ".join(f"{v:.4g}" for v in self.design_effects[:8])
            more = ", ..." if self.design_effects.shape[0] > 8 else ""
            lines.append(f"  design effects (eigenvalues): {shown}{more}")
        table = self.table
        if table.shape[0] <= 20 and table.shape[1] <= 10:
            lines.append("weighted table:")
            lines.append(table.to_string(float_format=lambda x: f"{x:.6g}"))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head, line = self._summary()
        summary = self.to_frame().to_html(index=False, float_format=lambda x: f"{x:.6g}",
                                          border=0)
        table = self.table.to_html(float_format=lambda x: f"{x:.6g}", border=0)
        return (f"<div><p><b>{html.escape(head)}</b><br>{html.escape(line)}; design df = "
                f"{self.df}; Pearson X<sup>2</sup> = {self.pearson:.6g}</p>{summary}"
                f"<p>Weighted table</p>{table}</div>")


# ---------------------------------------------------------------------- the test
def chisq(
    design: BaseDesign,
    row: str,
    column: str,
    *,
    statistic: Statistic = "F",
    missing: Missing = "raise",
) -> ChisqTest:
    """Test the association of two categorical variables (R's ``svychisq``).

    Parameters
    ----------
    design : SurveyDesign or ReplicateDesign
        Also a subset (the test refers to the domain) or a calibrated design.
    row, column : str
        Categorical, text, boolean or integer-coded columns (two different ones).
    statistic : {"F", "Chisq", "Wald", "adjWald", "saddlepoint"}, default "F"
        "F": Rao & Scott's second-order correction, Pearson's X^2 divided by the trace
        of the design-effect matrix Delta, referred to an F distribution with ``d0`` and
        ``d0 * nu`` degrees of freedom, ``d0 = tr(Delta)^2 / tr(Delta^2)`` (R's
        default). "Chisq": the first-order correction, ``X^2 / mean(eigenvalues)``
        against chi-square with ``(r - 1)(c - 1)`` df (reported statistic: X^2).
        "saddlepoint": X^2 against the linear combination of chi-squares (and, for
        Taylor designs, the F-like ratio with ``d0 * nu`` denominator df) given by the
        eigenvalues, by R's saddlepoint approximation (Satterthwaite where it fails).
        "Wald": Wald statistic of the interaction contrasts of the cell totals over
        ``(r - 1)(c - 1)``, F with ``nu`` denominator df; "adjWald": its adjustment
        ``W (nu - k + 1) / (k nu)`` with ``nu - k + 1`` denominator df.
        R's "lincom" (exact distribution by numerical integration, CompQuadForm) is
        not offered.
    missing : {"raise", "omit"}, default "raise"
        "omit" leaves rows where either variable is missing out of the test (R's
        ``na.rm=TRUE``, its default); :attr:`ChisqTest.n_missing` counts them.

    Returns
    -------
    ChisqTest

    Raises
    ------
    ColumnNotFoundError
        A variable is not in the data.
    VariableTypeError
        A variable holds non-integer numbers.
    MissingValueError
        A variable has missing values in the domain and ``missing="raise"``.
    DesignError
        The two variables are the same, a variable has fewer than two observed
        levels, or an argument is invalid.
    DegreesOfFreedomError
        The design has too few degrees of freedom for the statistic (``nu < 1``, or
        ``nu - (r - 1)(c - 1) + 1 <= 0`` for "adjWald").

    Warns
    -----
    ZeroVarianceWarning
        The design-effect or Wald covariance matrix is zero, singular or undefined;
        the statistic and p-value are NaN.

    Notes
    -----
    Numbers agree with R's ``svychisq`` (survey 4.1.1), including its degrees of
    freedom: ``nu`` is the number of first-stage clusters minus the number of strata
    among the rows the design holds (every row for a calibrated design's subset, the
    domain's rows otherwise), or ``degf`` for replicate designs, and Pearson's X^2 is
    computed on the weighted table rescaled to the number of those rows. The table
    holds the levels observed (with positive weight) where both variables are
    present; R also counts levels seen only in incomplete or zero-weight rows, which
    makes its statistic NaN. For replicate designs R's "saddlepoint" result calls
    itself a Rao & Scott adjustment; here it is named a saddlepoint approximation.

    References: Rao & Scott (1984), Ann. Statist. 12, 46-60; Koch, Freeman & Freeman
    (1975), Int. Statist. Rev. 43, 59-78; Lumley (2010), section 6.2.

    Examples
    --------
    >>> import nea_covid as nc
    >>> d = nc.SurveyDesign(nc.datasets.load_api("strat"), weights="pw", strata="stype",
    ...                     fpc="fpc")
    >>> t = nc.chisq(d, "stype", "awards")
    >>> round(t.statistic, 4), round(t.ndf, 4), round(t.ddf, 2), f"{t.pvalue:.4g}"
    (14.1694, 1.8851, 371.37, '2.082e-06')
    >>> t.to_frame()[["name", "ndf", "ddf"]].round(2)
      name   ndf     ddf
    0    F  1.89  371.37
    >>> round(nc.chisq(d, "stype", "awards", statistic="Wald").statistic, 4)
    14.9444
    """
    require_rows(design, "`nc.chisq`")
    if not isinstance(design, BaseDesign):
        raise DesignError(
            f"`design` must be a SurveyDesign or ReplicateDesign, not {type(design).__name__}."
        )
    if statistic not in _STATISTICS:
        hint = (" R's 'lincom' (numerical integration of the exact distribution) is not "
                "available; 'saddlepoint' approximates the same distribution."
                if str(statistic) == "lincom" else "")
        raise DesignError(
            f"`statistic` must be one of {', '.join(map(repr, _STATISTICS))}, not "
            f"{statistic!r}.{hint}"
        )
    if missing not in ("raise", "omit"):
        raise DesignError(f"`missing` must be 'raise' or 'omit', not {missing!r}.")
    r_codes, r_levels = levels_of(design, row)
    if row == column:
        raise DesignError(
            f"`row` and `column` are the same column ({row!r}); a test of association "
            "needs two different variables."
        )
    c_codes, c_levels = levels_of(design, column)
    replicate = isinstance(design, ReplicateDesign)
    held = _held_rows(design)
    n_rows = design.n_rows if held is None else int(held.sum())
    nu = int(design.degf) if replicate else _cluster_df(design, held)

    prep = _prepared(design, row, column, r_codes, c_codes, missing)
    rc, cc = prep.take(r_codes), prep.take(c_codes)
    r_present = _observed(prep, rc, len(r_levels))
    c_present = _observed(prep, cc, len(c_levels))
    for name, levels, present in ((row, r_levels, r_present), (column, c_levels, c_present)):
        if int(present.sum()) < 2:
            seen = ", ".join(repr(v) for v in levels[present][:1])
            raise DesignError(
                f"Column {name!r} has {'a single level (' + seen + ')' if seen else 'no level'}"
                " among the rows where both variables are observed (with non-zero weight)"
                "; a test of association needs at least two levels of each variable."
            )
    if not (r_present.all() and c_present.all()):
        prep, rc, cc = _drop_unobserved(prep, rc, cc, r_present, c_present)
    nr, nc = int(r_present.sum()), int(c_present.sum())
    if nr * nc > MAX_CELLS:
        raise DesignError(
            f"The table of {row!r} x {column!r} has {nr} x {nc} = {nr * nc:,} cells; the "
            f"test works on (cells x cells) matrices and takes at most {MAX_CELLS:,} cells. "
            "Group the levels into fewer categories first."
        )
    numdf = (nr - 1) * (nc - 1)
    _check_df(statistic, nu, numdf, replicate)

    cells = rc + nr * cc  # R's interaction(): row level fastest
    counts = weighted_bincount(cells, prep.weights, nr * nc)
    pearson = _pearson(counts.reshape(nc, nr).T, n_rows)
    common: dict[str, Any] = {
        "test": statistic, "df": nu, "pearson": pearson, "row": row, "column": column,
        "counts": counts.reshape(nc, nr).T, "row_levels": r_levels[r_present],
        "column_levels": c_levels[c_present], "n_obs": int(prep.n_obs[0]),
        "n_missing": int(prep.n_missing), "n_rows": n_rows,
    }
    frame = pd.DataFrame({"variable": np.repeat("cell", nr * nc), "level": np.arange(nr * nc)})
    if statistic in ("Wald", "adjWald"):
        est = ratio_of_totals(design, prep, None, None, "total", frame, codes=cells,
                              with_deff=False)
        value, pvalue, ddf = _wald(np.asarray(est.estimate), np.asarray(est.vcov), nr, nc,
                                   nu, statistic)
        return ChisqTest(statistic_name="F", statistic=value, pvalue=pvalue, ndf=float(numdf),
                         ddf=ddf, design_effects=None, method=_WALD, **common)

    est = ratio_of_totals(design, prep, None, "weights", "proportion", frame, codes=cells,
                          with_deff=False)
    delta = _delta(np.asarray(est.estimate), np.asarray(est.vcov), nr, nc, n_rows)
    if delta is None:
        eigen = np.full(numdf, np.nan)
        trace = d0 = math.nan
    else:
        matrix, eigen = delta
        trace = float(np.trace(matrix))
        trace_sq = float(np.sum(matrix * matrix.T))  # tr(Delta^2)
        if np.isfinite(trace) and trace > 0 and np.isfinite(trace_sq) and trace_sq > 0:
            d0 = trace**2 / trace_sq
        else:
            _warn_zero("The Rao-Scott design-effect matrix is zero (the table's cells have "
                       "no sampling variance)", 2)
            trace = d0 = math.nan
    if statistic == "F":
        value = pearson / trace
        ddf_f = d0 * nu
        return ChisqTest(statistic_name="F", statistic=value,
                         pvalue=_f_sf(value, d0, ddf_f), ndf=d0, ddf=ddf_f,
                         design_effects=eigen, method=_RAO_SCOTT, **common)
    if statistic == "Chisq":
        pvalue = float(special.chdtrc(numdf, pearson / (trace / numdf)))
        return ChisqTest(statistic_name="X-squared",
                         statistic=pearson if np.isfinite(trace) else math.nan,
                         pvalue=pvalue, ndf=float(numdf), ddf=None, design_effects=eigen,
                         method=_RAO_SCOTT, **common)
    # saddlepoint
    if np.isfinite(trace):
        pvalue = (_pchisqsum_saddle(pearson, eigen) if replicate
                  else _pfsum_saddle(pearson, eigen, d0 * nu))
    else:
        pvalue = math.nan
    return ChisqTest(statistic_name="X-squared",
                     statistic=pearson if np.isfinite(trace) else math.nan, pvalue=pvalue,
                     ndf=None, ddf=None, design_effects=eigen, method=_SADDLEPOINT, **common)


# ---------------------------------------------------------------------- rows and levels
def _held_rows(design: BaseDesign) -> NDArray[np.bool_] | None:
    """The rows R's design object holds (None: all of them). R's subset of a Taylor
    design drops the other rows, unless the design is calibrated, when it keeps them
    with zero weight; replicate designs always drop them."""
    if design._domain is None:
        return None
    if isinstance(design, SurveyDesign) and design._calibration:
        return None
    return design._domain


def _cluster_df(design: BaseDesign, held: NDArray[np.bool_] | None) -> int:
    """R's ``nu`` for Taylor designs: distinct first-stage clusters minus distinct
    first-stage strata among the rows held (weights play no part)."""
    assert isinstance(design, SurveyDesign)
    first = design._stages[0]
    if held is None:
        return first.n_units - first.n_groups
    units = first.unit[held]
    n_units = np.count_nonzero(np.bincount(units, minlength=first.n_units))
    n_groups = np.count_nonzero(np.bincount(first.group[units], minlength=first.n_groups))
    return int(n_units - n_groups)


def _prepared(design: BaseDesign, row: str, column: str, r_codes: NDArray[np.intp],
              c_codes: NDArray[np.intp], missing: Missing) -> Prepared:
    """The active rows (domain, both variables observed), after checking that some
    have positive weight (so that ``prepare`` never meets an empty domain)."""
    incomplete = {row: r_codes < 0, column: c_codes < 0}
    usable = (r_codes >= 0) & (c_codes >= 0) & (design._weights > 0)
    if design._domain is not None:
        usable &= design._domain
    if not usable.any():
        if missing == "raise":
            in_domain = design.domain
            if any((mask & in_domain).any() for mask in incomplete.values()):
                prepare(design, incomplete, None, missing)  # raises MissingValueError
        raise DesignError(
            f"No row of the domain has both {row!r} and {column!r} observed with a "
            "non-zero weight: there is no table to test."
        )
    return prepare(design, incomplete, None, missing)


def _observed(prep: Prepared, codes: NDArray[np.intp], n_levels: int) -> NDArray[np.bool_]:
    """The levels seen with positive weight among the active rows."""
    w = prep.weights
    seen = codes if bool(np.all(w > 0)) else codes[w > 0]
    present: NDArray[np.bool_] = np.bincount(seen, minlength=n_levels) > 0
    return present


def _drop_unobserved(
    prep: Prepared, rc: NDArray[np.intp], cc: NDArray[np.intp],
    r_present: NDArray[np.bool_], c_present: NDArray[np.bool_],
) -> tuple[Prepared, NDArray[np.intp], NDArray[np.intp]]:
    """Recode to the observed levels; rows of unobserved levels (zero weight) leave."""
    keep = r_present[rc] & c_present[cc]
    r_new = np.cumsum(r_present) - 1
    c_new = np.cumsum(c_present) - 1
    if not keep.all():
        rows = prep.row_index[keep]
        prep = dataclasses.replace(prep, rows=rows, cell=prep.cell[keep],
                                   weights=prep.weights[keep])
        rc, cc = rc[keep], cc[keep]
    return prep, r_new[rc].astype(np.intp), c_new[cc].astype(np.intp)


def _check_df(statistic: str, nu: int, numdf: int, replicate: bool) -> None:
    uses_nu = statistic in ("F", "Wald", "adjWald") or (
        statistic == "saddlepoint" and not replicate)
    if uses_nu and nu < 1:
        what = ("rank of the replicate weights minus one" if replicate
                else "first-stage clusters minus strata")
        raise DegreesOfFreedomError(
            f"statistic={statistic!r} refers to the design's degrees of freedom, and this "
            f"design has {nu} ({what}). Use statistic='Chisq', or a design with more PSUs."
        )
    if statistic == "adjWald" and nu - numdf + 1 <= 0:
        raise DegreesOfFreedomError(
            f"statistic='adjWald' needs nu - (r - 1)(c - 1) + 1 > 0 denominator degrees of "
            f"freedom: the design has nu = {nu} and the table {numdf} numerator degrees of "
            f"freedom, which leaves {nu - numdf + 1}. With {plural(nu, 'degree')} of freedom "
            "the Wald covariance of the table cannot be estimated; use statistic='F' (Rao & "
            "Scott) or coarser categories."
        )


# ---------------------------------------------------------------------- statistics
def _pearson(table: NDArray[np.float64], n: int) -> float:
    """R's ``chisq.test(svytable(formula, design, Ntotal = n), correct = FALSE)``."""
    x = table * (n / table.sum())
    expected = np.outer(x.sum(axis=1), x.sum(axis=0)) / x.sum()
    return float(np.sum((x - expected) ** 2 / expected))


def _warn_zero(what: str, stacklevel: int) -> None:
    """Warn (at the user's call of :func:`chisq`) that the test is undefined."""
    warnings.warn(f"{what}; the statistic and p-value are NaN.", ZeroVarianceWarning,
                  stacklevel=stacklevel + 1)


def _solve(a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64] | None:
    """R's ``solve(a, b)``: None where R stops ("system is computationally singular",
    reciprocal condition number in the 1-norm below machine epsilon) or ``a`` is not
    finite."""
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return None
    anorm = float(np.max(np.sum(np.abs(a), axis=0))) if a.size else 0.0
    lu, piv, info = lapack.dgetrf(a)
    if info != 0 or anorm == 0:
        return None
    rcond, info = lapack.dgecon(lu, anorm, norm="1")
    if info != 0 or not rcond >= np.finfo(np.float64).eps:
        return None
    x, info = lapack.dgetrs(lu, piv, b)
    return np.asarray(x, dtype=np.float64) if info == 0 else None


def _delta(
    p: NDArray[np.float64], v: NDArray[np.float64], nr: int, nc: int, n: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]] | None:
    """Rao & Scott's design-effect matrix (R's ``Delta``) and its eigenvalues, from the
    cell proportions ``p`` (row level fastest) and their covariance ``v``."""
    # R: Cmat = qr.resid(qr(X1), X12[, interaction columns]); the residual of an
    # interaction indicator after the main effects is its double centring
    mr = np.eye(nr) - 1.0 / nr
    mc = np.eye(nc) - 1.0 / nc
    c = np.kron(mc[:, 1:], mr[:, 1:])  # columns: row level 2.. fastest, as R's X12
    with np.errstate(divide="ignore"):
        inv_p = np.where(p == 0, 0.0, 1.0 / p)
    cd = c * inv_p[:, None]
    denom = c.T @ (cd / n)
    numr = cd.T @ v @ cd
    delta = _solve(denom, numr)
    if delta is None or not np.all(np.isfinite(delta)):
        _warn_zero("The Rao-Scott design-effect matrix is singular or undefined (many empty "
                   "cells, or an undefined variance)", 3)
        return None
    # R: eigen(Delta) of the non-symmetric Delta; its eigenvalues are real (Delta is
    # similar to a symmetric matrix, denom being positive definite)
    eig = np.asarray(np.sort(np.real(np.linalg.eigvals(delta)))[::-1], dtype=np.float64)
    return delta, eig


def _wald(
    totals: NDArray[np.float64], v: NDArray[np.float64], nr: int, nc: int, nu: int,
    statistic: str,
) -> tuple[float, float, float]:
    """R's Wald tests on the interaction contrasts ``T_ij - R_i C_j / T``."""
    k = nr * nc
    rows = np.arange(k) % nr
    cols = np.arange(k) // nr
    row_tot = np.bincount(rows, weights=totals, minlength=nr)
    col_tot = np.bincount(cols, weights=totals, minlength=nc)
    grand = float(totals.sum())
    # R's Jcb: d Y / d (cell totals, row totals, column totals, grand total) ...
    in_row = (rows[:, None] == np.arange(nr)[None, :]).astype(np.float64)  # (k, nr)
    in_col = (cols[:, None] == np.arange(nc)[None, :]).astype(np.float64)  # (k, nc)
    jcb = np.concatenate([
        np.eye(k),
        -in_row * (col_tot[cols] / grand)[:, None],
        -in_col * (row_tot[rows] / grand)[:, None],
        (row_tot[rows] * col_tot[cols] / grand**2)[:, None],
    ], axis=1)
    # ... and the margins as sums of the cell totals
    margins = np.concatenate([np.eye(k), in_row.T, in_col.T, np.ones((1, k))], axis=0)
    jac = jcb @ margins
    y = totals - row_tot[rows] * col_tot[cols] / grand
    vy = jac @ v @ jac.T
    use = (rows > 0) & (cols > 0)
    numdf = (nr - 1) * (nc - 1)
    solved = _solve(vy[np.ix_(use, use)], y[use][:, None])
    if solved is None:
        hint = (f" (its rank is at most the design's nu = {nu}, fewer than the table's "
                f"{numdf} contrasts; use statistic='F')" if numdf > nu else "")
        _warn_zero(f"The covariance matrix of the Wald contrasts is singular or undefined"
                   f"{hint}", 3)
        wald = math.nan
    else:
        wald = float(y[use] @ solved[:, 0])
    if statistic == "Wald":
        value, ddf = wald / numdf, float(nu)
    else:
        ddf = float(nu - numdf + 1)
        value = wald * ddf / (numdf * nu)
    return value, _f_sf(value, float(numdf), ddf), ddf


def _f_sf(x: float, ndf: float, ddf: float) -> float:
    """R's ``pf(x, ndf, ddf, lower.tail = FALSE)``."""
    if not (np.isfinite(x) and np.isfinite(ndf) and np.isfinite(ddf)):
        return math.nan
    return float(special.fdtrc(ndf, ddf, x))


# ---------------------------------------------------------------------- saddlepoint
def _satterthwaite(a: NDArray[np.float64]) -> tuple[float, float]:
    """R's Satterthwaite scale and df of ``sum a_i chi2_1``."""
    tr = float(np.mean(a))
    if not (np.isfinite(tr) and tr > 0):
        return math.nan, math.nan
    tr2 = float(np.mean(a**2)) / tr**2
    return tr * tr2, a.shape[0] / tr2


def _pchisqsum_saddle(x: float, a: NDArray[np.float64]) -> float:
    """R's ``pchisqsum(x, df = 1, a, lower.tail = FALSE, method = "saddlepoint")``."""
    scale, df = _satterthwaite(a)
    guess = float(special.chdtrc(df, x / scale))
    sad = _saddle(x, a, np.ones(a.shape[0]))
    return guess if math.isnan(sad) else sad


def _pfsum_saddle(x: float, a: NDArray[np.float64], ddf: float) -> float:
    """R's ``pFsum(x, df = 1, a, ddf, lower.tail = FALSE, method = "saddlepoint")``: the
    upper tail of ``sum a_i chi2_1 / (chi2_ddf / ddf)``."""
    if math.isnan(ddf) or not ddf > 0:
        return math.nan
    if math.isinf(ddf):
        return _pchisqsum_saddle(x, a)
    scale, ndf = _satterthwaite(a)
    rval = _f_sf(x / ndf / scale, ndf, ddf)
    # saddle(0, c(a, rep(-x/ddf, trunc(ddf)))): the negative term's multiplicity as R's
    # rep() (truncated, and only where some df exceeds 1)
    copies = float(math.trunc(ddf)) if ddf > 1 else 1.0
    lam = np.append(a, -x / ddf)
    mult = np.append(np.ones(a.shape[0]), copies)
    s = _saddle(0.0, lam, mult)
    return rval if math.isnan(s) else s


def _saddle(x: float, lam: NDArray[np.float64], mult: NDArray[np.float64]) -> float:
    """R's ``saddle(x, lambda)`` (Kuonen 1999) for ``lambda`` holding ``lam[i]``
    ``mult[i]`` times; NaN where R gives NA (or stops: no root in the bracket)."""
    d = float(np.max(lam))
    if not (np.isfinite(d) and d > 0 and np.all(np.isfinite(lam)) and np.isfinite(x)):
        return math.nan
    lam = lam / d
    x = x / d
    n = float(mult.sum())

    def k0(z: float) -> float:
        return float(-np.sum(mult * np.log(1 - 2 * z * lam)) / 2)

    def k1(z: float) -> float:
        return float(np.sum(mult * lam / (1 - 2 * z * lam)))

    def k2(z: float) -> float:
        return float(2 * np.sum(mult * lam**2 / (1 - 2 * z * lam) ** 2))

    if np.any(lam < 0):
        lmin = float(np.max(1 / (2 * lam[lam < 0]))) * 0.99999
    elif x > float(np.sum(mult * lam)):
        lmin = -0.01
    else:
        if not x > 0:
            return math.nan
        lmin = -n / (2 * x)
    lmax = float(np.min(1 / (2 * lam[lam > 0]))) * 0.99999
    f_low, f_high = k1(lmin) - x, k1(lmax) - x
    if not (np.isfinite(f_low) and np.isfinite(f_high)) or f_low * f_high > 0:
        return math.nan
    if f_low == 0 or f_high == 0:
        zeta = lmin if f_low == 0 else lmax
    else:
        zeta = float(brentq(lambda z: k1(z) - x, lmin, lmax, xtol=1e-14, rtol=1e-15,
                            maxiter=1000))
    if abs(zeta) < 1e-4:
        return math.nan
    twice = 2 * (zeta * x - k0(zeta))
    if not twice > 0:  # R: sqrt() of a negative number, NaN
        return math.nan
    w = math.copysign(math.sqrt(twice), zeta)
    v = zeta * math.sqrt(k2(zeta))
    if not v / w > 0:  # R: log() of a negative number, NaN
        return math.nan
    return float(special.ndtr(-(w + math.log(v / w) / w)))
