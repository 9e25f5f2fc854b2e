"""Exceptions and warnings raised by nea_covid.

Every problem with the user's data is reported with one of these classes, each a
subclass of :class:`ValueError` (and :class:`KeyError` for unknown columns), so
``except ValueError`` keeps working. Messages name the column, count the offending
rows, show the first few row labels and say how to fix the problem.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "ArgumentError",
    "CalibrationError",
    "ColumnNotFoundError",
    "ComparisonError",
    "ConvergenceError",
    "DegreesOfFreedomError",
    "DesignError",
    "EmptyDomainWarning",
    "FPCError",
    "FileFormatError",
    "HarmonisationError",
    "LonelyPSUError",
    "LonelyPSUWarning",
    "MissingValueError",
    "NestingError",
    "PopulationError",
    "SurveyError",
    "SurveyWarning",
    "VariableTypeError",
    "WeightError",
    "ZeroDenominatorWarning",
    "ZeroVarianceWarning",
]


class SurveyError(ValueError):
    """Base class of every error nea_covid raises about its input."""


class ArgumentError(SurveyError):
    """An argument outside what it accepts: a confidence level outside (0, 1), an
    unknown interval method, language or data set."""


class ColumnNotFoundError(SurveyError, KeyError):
    """A column named in a design or an estimator is not in the data."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class DesignError(SurveyError):
    """The design specification is inconsistent (arguments, stages, domains)."""


class WeightError(SurveyError):
    """Weights are negative, missing, infinite, all zero or not numeric."""


class MissingValueError(SurveyError):
    """Missing values where none are allowed (design columns, or variables with
    ``missing="raise"``)."""


class FPCError(SurveyError):
    """A finite population correction is impossible or inconsistent."""


class NestingError(SurveyError):
    """Cluster identifiers repeat across strata while ``nest=False``."""


class LonelyPSUError(SurveyError):
    """A stratum has a single primary sampling unit under ``lonely_psu="raise"``."""


class CalibrationError(SurveyError):
    """Weights cannot be calibrated to the margins given (inconsistent or missing
    counts, levels without sample cases, no convergence, infeasible bounds)."""


class VariableTypeError(SurveyError, TypeError):
    """A variable has the wrong type for the estimator (e.g. text passed to ``mean``)."""


class ComparisonError(SurveyError):
    """A comparison or contrast names cells that do not exist, or its weights do not
    match the cells; a published figure is inconsistent (CI not containing the
    estimate, bounds outside [0, 1])."""


class DegreesOfFreedomError(SurveyError):
    """The design has too few degrees of freedom for the test or model asked for."""


class ConvergenceError(SurveyError):
    """An iterative fit (a regression model) did not converge, or its estimates are
    infinite (e.g. complete separation in a logistic model)."""


class HarmonisationError(SurveyError):
    """A harmonisation definition is inconsistent (a code mapped twice, a duplicate
    name and version) or does not fit the data (unknown answer codes, missing
    variables)."""


class PopulationError(SurveyError):
    """A population total or table for extrapolation is invalid (negative, missing,
    not matching the estimate's domains)."""


class FileFormatError(SurveyError):
    """A data file is malformed; the message names the file and the line."""


class SurveyWarning(UserWarning):
    """Base class of the warnings nea_covid emits."""


class EmptyDomainWarning(SurveyWarning):
    """A domain (cell) has no observations; its estimate is NaN."""


class LonelyPSUWarning(SurveyWarning):
    """A stratum has a single PSU and is handled by the design's ``lonely_psu`` rule."""


class ZeroDenominatorWarning(SurveyWarning):
    """A ratio's denominator sums to zero in a cell; its estimate is inf or NaN."""


class ZeroVarianceWarning(SurveyWarning):
    """A comparison or test has zero (or undefined) variance; its statistic and p-value
    are NaN."""


def row_labels(index: Any, mask: Any, limit: int = 5) -> str:
    """Describe the first ``limit`` rows selected by ``mask`` by their index labels."""
    import numpy as np

    positions = np.flatnonzero(np.asarray(mask))
    return labels_text([index[int(p)] for p in positions[:limit]], int(positions.size))


def labels_text(labels: Any, count: int) -> str:
    """``"rows 3, 7, ..."``: the first index labels of ``count`` rows."""
    import numpy as np

    shown = [str(v) if isinstance(v, int | np.integer) else repr(v) for v in labels]
    more = "" if count <= len(shown) else ", ..."
    return ("row " if count == 1 else "rows ") + ", ".join(shown) + more


def plural(count: int, noun: str) -> str:
    """``plural(1, "row") == "1 row"``, ``plural(3, "row") == "3 rows"``."""
    if count == 1:
        return f"{count} {noun}"
    if noun.endswith("stratum"):
        return f"{count} {noun[:-2]}a"
    return f"{count} {noun}s"


def close_matches(name: str, candidates: Sequence[str]) -> str:
    """A hint naming the columns closest to ``name``, or an empty string."""
    import difflib

    found = difflib.get_close_matches(str(name), [str(c) for c in candidates], n=3)
    return f" Did you mean {', '.join(repr(f) for f in found)}?" if found else ""
