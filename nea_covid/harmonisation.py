"""Definition harmonisation: concepts, source definitions and crosswalks.

"48% work at home" (TNO), "53% can work at home" (TNO under RIVM's definition) and
"73% work from home as much as possible" (RIVM) are estimates of different concepts in
different populations. A :class:`Definition` says exactly how one source measures one
concept, as declarative, versioned data (DDI's concept / question / variable split):

* the :class:`Concept` it measures;
* the **question** (wording) and **reference period**;
* the :class:`Population` and the base (denominator): employment status (werknemers
  only, or all workers including the self-employed, and whether people without work
  are in the base), the age window, and further conditions (a conditional base such as
  "of those who can work from home");
* the **crosswalk**: one :class:`CrosswalkRow` per source answer code (source variable,
  code, label) giving its harmonised category, its class of missing value, or the next
  source variable that decides (routing), in the spirit of R's ``retroharmonize``.

Shipped definitions (:data:`DEFINITIONS`, a :class:`Registry` keyed by name and version)
keep their crosswalk in ``nea_covid/data/crosswalk.csv`` (one row per source code, to be
read and diffed by analysts) and their population and wording in this module. The source
variables and codes they expect are documented in one place, :data:`SOURCE_VARIABLES`
(:func:`codebook` prints them).

``definition.apply(df)`` (or :func:`harmonise`) returns a copy of the data with three
new columns and never changes the number of rows: the harmonised variable (a
categorical), its class of missing value, and the base (True for the rows in the
definition's population and in the question's universe). :func:`harmonised_proportion`
estimates the harmonised variable on its base and returns a :class:`HarmonisedEstimate`:
an :class:`~nea_covid.Estimate` that records the definition which produced it.

Missing classes
---------------
``inapplicable``
    The question does not apply (e.g. no work at the moment): outside the base.
``dont_know``, ``declined``, ``no_answer``
    Item nonresponse: in the base with a missing value (estimators' ``missing=``
    decides); a missing value (NaN) in a source variable a row needs is ``no_answer``.
``unknown_code``
    A code the crosswalk does not know, with ``unknown="missing"`` (the default,
    ``unknown="raise"``, refuses them).
``out_of_population``
    The row is outside the definition's population: outside the base.

Examples
--------
>>> import pandas as pd
>>> import nea_covid.harmonisation as h
>>> df = pd.DataFrame({"work_location": [1, 2, 3, 3, 4], "employment_status": 1,
...                    "age_2019": [30, 41, 52, 25, 60]})
>>> definition = h.get_definition("tno_works_at_home")
>>> out = definition.apply(df)
>>> out[["works_at_home", "works_at_home_base"]]
  works_at_home  works_at_home_base
0           yes                True
1           yes                True
2            no                True
3            no                True
4           NaN               False
"""

from __future__ import annotations

import dataclasses
import io
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from nea_covid.design import BaseDesign, require_rows
from nea_covid.domains import By, Missing
from nea_covid.errors import HarmonisationError, close_matches, plural
from nea_covid.estimators import proportion
from nea_covid.results import Estimate, IntervalMethod

__all__ = [
    "CONCEPTS",
    "DEFINITIONS",
    "MISSING_CLASSES",
    "SOURCE_VARIABLES",
    "Concept",
    "CrosswalkRow",
    "Definition",
    "HarmonisedEstimate",
    "Population",
    "Registry",
    "SourceVariable",
    "codebook",
    "get_definition",
    "harmonise",
    "harmonised_proportion",
    "read_crosswalk",
    "with_definition",
]

Code = int | str
Unknown = Literal["raise", "missing"]

#: Classes of missing values a crosswalk row may give (the first four) and the two
#: :meth:`Definition.apply` assigns itself.
MISSING_CLASSES: tuple[str, ...] = (
    "inapplicable", "dont_know", "declined", "no_answer", "unknown_code", "out_of_population",
)
_CROSSWALK_MISSING = MISSING_CLASSES[:4]
_OUT_OF_BASE = ("inapplicable", "out_of_population")

#: Employment status codes (variable ``employment_status``).
EMPLOYEE, SELF_EMPLOYED, WITHOUT_WORK = 1, 2, 3


# ---------------------------------------------------------------------- source variables
@dataclass(frozen=True)
class SourceVariable:
    """A variable of a source data set, as the bundled data (and the synthetic data
    generator) must name and code it.

    Attributes
    ----------
    name : str
    surveys : str
        Which data sets carry it.
    description : str
    codes : mapping of code to label, or None
        None for numeric variables (ages).
    """

    name: str
    surveys: str
    description: str
    codes: Mapping[Code, str] | None = None


_TNO_LOCATION: dict[Code, str] = {1: "only at home", 2: "partly at home and partly on location",
                 3: "only on location", 4: "no work at the moment"}
_COULD_MORE: dict[Code, str] = {1: "yes, but my employer expects me on location",
               2: "yes, but I prefer to work on location", 3: "no"}

#: The source variables every shipped definition reads: one place for their names and
#: codes (the NEA-COVID and RIVM data sets follow them).
SOURCE_VARIABLES: Mapping[str, SourceVariable] = MappingProxyType({
    v.name: v for v in (
        SourceVariable(
            "employment_status", "NEA-COVID, RIVM trend, RIVM cohort",
            "Employment status at the reference period.",
            {EMPLOYEE: "employee (werknemer)",
             SELF_EMPLOYED: "self-employed (zelfstandige, incl. zzp)",
             WITHOUT_WORK: "without work"}),
        SourceVariable(
            "age_2019", "NEA-COVID",
            "Age in years at the NEA 2019 interview (the panel's sampling frame: 15-74)."),
        SourceVariable(
            "age", "RIVM trend, RIVM cohort", "Age in years at the interview."),
        SourceVariable(
            "work_location", "NEA-COVID",
            "Where the respondent works at the wave (asked of every panel member).",
            _TNO_LOCATION),
        SourceVariable(
            "could_work_more_at_home", "NEA-COVID",
            "Could you do (more of) your work at home? Asked of those not fully at home "
            "(work_location 2 or 3); missing otherwise.", _COULD_MORE),
        SourceVariable(
            "can_work_from_home", "RIVM trend, RIVM cohort",
            "Can you work from home? Asked of working respondents.",
            {1: "yes, fully", 2: "yes, partly", 3: "no", 8: "don't know"}),
        SourceVariable(
            "wfh_as_much_as_possible", "RIVM trend",
            "Do you work from home as much as possible? (compliance item; RIVM's own "
            "coding is not public, these codes are the library's convention)",
            {1: "yes", 2: "no", 8: "don't know"}),
    )
})


def codebook() -> pd.DataFrame:
    """The source variables and codes of :data:`SOURCE_VARIABLES`, one row per code.

    Examples
    --------
    >>> from nea_covid.harmonisation import codebook
    >>> codebook().query("variable == 'work_location'")[["code", "label"]]
       code                                  label
    5     1                           only at home
    6     2  partly at home and partly on location
    7     3                       only on location
    8     4                  no work at the moment
    """
    numeric: dict[Code | None, str] = {None: "(numeric)"}
    rows = [
        (v.name, v.surveys, v.description, code, label)
        for v in SOURCE_VARIABLES.values()
        for code, label in (v.codes or numeric).items()
    ]
    frame = pd.DataFrame(rows, columns=["variable", "surveys", "description", "code", "label"])
    frame["code"] = pd.Series([r[3] for r in rows], dtype=object)
    return frame


# ---------------------------------------------------------------------- definitions
@dataclass(frozen=True)
class Concept:
    """What is measured, independent of any source (DDI's *concept*).

    Attributes
    ----------
    name : str
        Identifier, e.g. ``"works_at_home"``.
    label : str
        One line for tables.
    description : str
    """

    name: str
    label: str
    description: str = ""


#: The concepts of the shipped definitions.
CONCEPTS: Mapping[str, Concept] = MappingProxyType({
    c.name: c for c in (
        Concept("works_at_home", "works at home (fully or partly)",
                "Did (some of) the work at home in the reference period."),
        Concept("works_at_home_extent", "works at home fully / partly / not",
                "Where the work is done: only at home, partly at home, only on location."),
        Concept("can_work_at_home", "can work at home",
                "Works at home, or could do (more of) the work at home."),
        Concept("could_work_more_at_home", "could work (more) at home",
                "Not fully at home, but could do (more of) the work at home, and why not."),
        Concept("can_work_at_home_extent", "can work at home fully / partly / not",
                "Self-assessed possibility of working from home."),
        Concept("wfh_as_much_as_possible", "works from home as much as possible",
                "Compliance with the advice to work from home where possible."),
    )
})


@dataclass(frozen=True)
class CrosswalkRow:
    """One source answer code and what it becomes.

    Exactly one of ``category`` (a harmonised category), ``missing`` (a class of
    missing value: "inapplicable", "dont_know", "declined", "no_answer") or ``then``
    (another source variable decides: routing, e.g. on-location workers are asked
    whether they could work at home) is given.
    """

    variable: str
    code: Code
    label: str
    category: str | None = None
    missing: str | None = None
    then: str | None = None


def _clean_code(value: Any) -> Code:
    """Codes are whole numbers or text; ``1.0`` and ``"1"`` from a CSV become ``1``."""
    if isinstance(value, bool | np.bool_):
        raise HarmonisationError(f"Answer code {value!r} is a boolean; use 0/1 or text.")
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        if not float(value).is_integer():
            raise HarmonisationError(f"Answer code {value!r} is not a whole number.")
        return int(value)
    text = str(value).strip()
    return int(text) if re.fullmatch(r"-?\d+", text) else text


@dataclass(frozen=True, eq=False)
class Population:
    """Who a definition is about, and the base (denominator) of its estimates.

    Attributes
    ----------
    description : str
        In words, for tables.
    employment_status : tuple of int
        Codes of ``employment_status`` in the population: ``(1,)`` for werknemers only,
        ``(1, 2)`` for all workers including the self-employed; include 3 to keep
        people without work in the base. Empty: no filter.
    age : (int or None, int or None)
        Inclusive age window, e.g. ``(15, 74)`` or ``(16, None)`` for 16+.
    age_variable : str
        Column holding the age the window applies to.
    conditions : mapping of str to tuple of codes
        Further filters: the variable's value must be one of the codes (a conditional
        base, e.g. ``{"can_work_from_home": (1, 2)}``).
    base : str
        The denominator of the published figure in words, including any assumption
        about it.
    """

    description: str
    employment_status: tuple[int, ...] = ()
    age: tuple[int | None, int | None] = (None, None)
    age_variable: str = "age"
    conditions: Mapping[str, tuple[Code, ...]] = field(default_factory=dict)
    base: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "employment_status",
                           tuple(int(c) for c in self.employment_status))
        object.__setattr__(self, "conditions", MappingProxyType(
            {str(k): tuple(_clean_code(c) for c in v) for k, v in self.conditions.items()}))
        low, high = self.age
        if low is not None and high is not None and low > high:
            raise HarmonisationError(f"Age window {self.age} is empty.")

    @property
    def without_work_in_base(self) -> bool:
        """Whether people without work (``employment_status`` 3) are in the base."""
        return not self.employment_status or WITHOUT_WORK in self.employment_status

    @property
    def variables(self) -> tuple[str, ...]:
        """The columns the population filter reads."""
        names = ["employment_status"] if self.employment_status else []
        if self.age != (None, None):
            names.append(self.age_variable)
        return tuple(dict.fromkeys([*names, *self.conditions]))

    def age_window(self) -> str:
        """The age window in words ("15-74", "16+", "any")."""
        low, high = self.age
        if low is None and high is None:
            return "any"
        if high is None:
            return f"{low}+"
        return f"up to {high}" if low is None else f"{low}-{high}"

    def mask(self, data: pd.DataFrame) -> NDArray[np.bool_]:
        """True for the rows of ``data`` in the population (one value per row).

        A missing value in a variable the filter needs (among the rows the earlier
        filters keep) is an error.
        """
        keep = np.ones(data.shape[0], dtype=bool)
        checks: list[tuple[str, tuple[Code, ...] | None]] = []  # None: the age window
        if self.employment_status:
            checks.append(("employment_status", self.employment_status))
        if self.age != (None, None):
            checks.append((self.age_variable, None))
        checks.extend(self.conditions.items())
        low, high = self.age
        for name, allowed in checks:  # variables, not rows
            column = data[name][keep]
            missing = column.isna().to_numpy()
            if missing.any():
                raise HarmonisationError(
                    f"Population variable {name!r} is missing in "
                    f"{plural(int(missing.sum()), 'row')} the population filter needs; "
                    "fill or drop them first."
                )
            if allowed is not None:
                inside = column.isin(allowed)
            else:
                ages = pd.to_numeric(column, errors="coerce")
                if ages.isna().any():
                    raise HarmonisationError(f"Age column {name!r} is not numeric.")
                inside = ages.between(-np.inf if low is None else low,
                                      np.inf if high is None else high)
            keep[keep] = np.asarray(inside, dtype=bool)
        return keep


def _version_key(version: str) -> tuple[tuple[int, str], ...]:
    return tuple((int(p), "") if p.isdigit() else (-1, p) for p in re.split(r"[.\-]", version))


@dataclass(frozen=True, eq=False)
class Definition:
    """How one source measures one concept: population, question, crosswalk.

    Parameters
    ----------
    name, version : str
        Identify the definition in a :class:`Registry`; change the version whenever
        the population, the wording or the crosswalk changes.
    concept : Concept
    source : str
        Survey (and waves) the definition applies to.
    variable : str
        Name of the harmonised variable (a new column; not a source variable).
    categories : sequence of str
        Harmonised categories, in order (harmonised codes are 1, 2, ... in this order).
    crosswalk : sequence of CrosswalkRow
        One row per source code. The first variable is asked of everyone in the
        population; later variables are reached by routing (``then``).
    population : Population
    question : str
        Wording (or a marked paraphrase where the wording is not public).
    reference_period : str
    published : str, optional
        The published figure this definition reproduces, with its source.
    notes : str, optional

    Raises
    ------
    HarmonisationError
        A code mapped twice, a row with no or several targets, an unknown category or
        missing class, routing to a variable without rows or backwards, or a harmonised
        variable named like a source variable.

    Examples
    --------
    >>> import pandas as pd
    >>> from nea_covid.harmonisation import Concept, CrosswalkRow, Definition, Population
    >>> d = Definition(
    ...     name="example", version="1", concept=Concept("works_at_home", "works at home"),
    ...     source="a survey", variable="at_home", categories=("yes", "no"),
    ...     crosswalk=[CrosswalkRow("q1", 1, "at home", category="yes"),
    ...                CrosswalkRow("q1", 2, "elsewhere", category="no"),
    ...                CrosswalkRow("q1", 9, "no work", missing="inapplicable")],
    ...     population=Population("everyone"), question="Where do you work?",
    ...     reference_period="2020")
    >>> d.to_frame()[["variable", "code", "harmonised_code", "harmonised_label", "missing"]]
      variable  code  harmonised_code harmonised_label       missing
    0       q1     1              1.0              yes           NaN
    1       q1     2              2.0               no           NaN
    2       q1     9              NaN              NaN  inapplicable
    >>> d.apply(pd.DataFrame({"q1": [1, 2, 9]}))
       q1 at_home at_home_missing  at_home_base
    0   1     yes             NaN          True
    1   2      no             NaN          True
    2   9     NaN    inapplicable         False
    """

    name: str
    version: str
    concept: Concept
    source: str
    variable: str
    categories: tuple[str, ...]
    crosswalk: tuple[CrosswalkRow, ...]
    population: Population
    question: str
    reference_period: str
    published: str = ""
    notes: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "version", str(self.version))
        object.__setattr__(self, "categories", tuple(str(c) for c in self.categories))
        object.__setattr__(self, "crosswalk", tuple(
            dataclasses.replace(r, code=_clean_code(r.code)) for r in self.crosswalk))
        self._validate()

    # ------------------------------------------------------------------ validation
    def _validate(self) -> None:
        where = f"Definition {self.name!r} v{self.version}"
        if not self.name or not self.version:
            raise HarmonisationError("A definition needs a non-empty name and version.")
        if not self.crosswalk:
            raise HarmonisationError(f"{where} has no crosswalk rows.")
        if len(set(self.categories)) != len(self.categories) or not self.categories:
            raise HarmonisationError(
                f"{where}: the harmonised categories {list(self.categories)} must be "
                "non-empty and distinct.")
        seen: dict[tuple[str, Code], CrosswalkRow] = {}
        for row in self.crosswalk:
            key = (row.variable, row.code)
            if key in seen:
                raise HarmonisationError(
                    f"{where} maps code {row.code!r} of {row.variable!r} twice "
                    f"({seen[key].label!r} and {row.label!r}); each source code needs "
                    "exactly one row.")
            seen[key] = row
            targets = [t for t in (row.category, row.missing, row.then) if t is not None]
            if len(targets) != 1:
                raise HarmonisationError(
                    f"{where}: code {row.code!r} of {row.variable!r} needs exactly one of "
                    f"a category, a missing class or a routing (`then`), not {targets}.")
            if row.category is not None and row.category not in self.categories:
                raise HarmonisationError(
                    f"{where}: code {row.code!r} of {row.variable!r} maps to "
                    f"{row.category!r}, which is not one of the categories "
                    f"{list(self.categories)}.")
            if row.missing is not None and row.missing not in _CROSSWALK_MISSING:
                raise HarmonisationError(
                    f"{where}: code {row.code!r} of {row.variable!r} has missing class "
                    f"{row.missing!r}; use one of {list(_CROSSWALK_MISSING)}.")
        order = self.source_variables
        for row in self.crosswalk:
            if row.then is not None and (
                row.then not in order or order.index(row.then) <= order.index(row.variable)
            ):
                raise HarmonisationError(
                    f"{where}: code {row.code!r} of {row.variable!r} routes to "
                    f"{row.then!r}, which has no crosswalk rows after {row.variable!r}.")
        routed = {row.then for row in self.crosswalk if row.then is not None}
        unreachable = [v for v in order[1:] if v not in routed]
        if unreachable:
            raise HarmonisationError(
                f"{where}: no code routes to {unreachable}; only the first variable "
                f"({order[0]!r}) is asked of everyone.")
        taken = set(order) | set(self.population.variables)
        clash = [c for c in self.output_columns if c in taken]
        if clash:
            raise HarmonisationError(
                f"{where}: the harmonised column(s) {clash} would have the name of a "
                "source variable; choose another harmonised variable name.")

    # ------------------------------------------------------------------ metadata
    @property
    def id(self) -> str:
        """``"name v<version>"``, as recorded in estimates."""
        return f"{self.name} v{self.version}"

    @property
    def source_variables(self) -> tuple[str, ...]:
        """The crosswalk's variables in the order they are asked."""
        return tuple(dict.fromkeys(row.variable for row in self.crosswalk))

    @property
    def required_columns(self) -> tuple[str, ...]:
        """Every column :meth:`apply` reads."""
        return tuple(dict.fromkeys([*self.source_variables, *self.population.variables]))

    @property
    def missing_column(self) -> str:
        """Name of the column with the class of missing value."""
        return f"{self.variable}_missing"

    @property
    def base_column(self) -> str:
        """Name of the boolean column marking the base (population and universe)."""
        return f"{self.variable}_base"

    @property
    def output_columns(self) -> tuple[str, str, str]:
        """The three columns :meth:`apply` adds."""
        return (self.variable, self.missing_column, self.base_column)

    def source_codes(self, category: str) -> pd.DataFrame:
        """The source codes that map to a harmonised category (the crosswalk read
        backwards).

        Examples
        --------
        >>> from nea_covid.harmonisation import get_definition
        >>> get_definition("tno_works_at_home").source_codes("yes")[["variable", "code"]]
                variable  code
        0  work_location     1
        1  work_location     2
        """
        if category not in self.categories:
            raise HarmonisationError(
                f"{category!r} is not a category of {self.id}: {list(self.categories)}.")
        frame = self.to_frame()
        return frame[frame["harmonised_label"] == category].reset_index(drop=True)

    def summary(self) -> pd.Series:
        """Population, base, wording and period in one row (for a methods appendix)."""
        p = self.population
        conditions = "; ".join(f"{k} in {list(v)}" for k, v in p.conditions.items())
        fields: dict[str, Any] = {
            "definition": self.name, "version": self.version,
            "concept": self.concept.label, "source": self.source,
            "harmonised_variable": self.variable,
            "categories": " / ".join(self.categories),
            "population": p.description,
            "employment_status": ", ".join(
                SOURCE_VARIABLES["employment_status"].codes[c]  # type: ignore[index]
                for c in p.employment_status) or "any",
            "age": p.age_window(),
            "without_work_in_base": p.without_work_in_base,
            "conditions": conditions, "base": p.base,
            "reference_period": self.reference_period, "question": self.question,
            "published": self.published, "notes": self.notes,
        }
        return pd.Series(fields, name=self.id)

    def to_frame(self) -> pd.DataFrame:
        """The crosswalk as a methods-appendix table: one row per source code, with
        the harmonised code and label or the missing class (or the routing)."""
        position = {c: i + 1 for i, c in enumerate(self.categories)}
        rows = [
            (self.name, self.version, self.source, r.variable, r.code, r.label, self.variable,
             position.get(r.category, np.nan) if r.category else np.nan,
             r.category, r.missing, r.then)
            for r in self.crosswalk
        ]
        return pd.DataFrame(rows, columns=[
            "definition", "version", "source", "variable", "code", "label",
            "harmonised_variable", "harmonised_code", "harmonised_label", "missing", "then",
        ])

    def __repr__(self) -> str:
        return (f"Definition({self.id}: {self.concept.label!r} in {self.source}; "
                f"population: {self.population.description})")

    # ------------------------------------------------------------------ applying
    def apply(self, data: pd.DataFrame, *, unknown: Unknown = "raise") -> pd.DataFrame:
        """The data with the harmonised variable, its missing class and its base.

        Parameters
        ----------
        data : pandas.DataFrame
            Never modified; the result has the same rows and index.
        unknown : {"raise", "missing"}, default "raise"
            Answer codes the crosswalk does not know: an error naming the variable,
            the codes and their counts, or the missing class "unknown_code" (counted
            in the missing-class column).

        Returns
        -------
        pandas.DataFrame
            ``data`` with three new columns: :attr:`variable` (categorical, NaN where
            missing), :attr:`missing_column` (the class of missing value) and
            :attr:`base_column` (True in the population and the question's universe).
        """
        clash = [c for c in self.output_columns if c in data.columns]
        if clash:
            raise HarmonisationError(
                f"The data already has column(s) {clash}; drop them to harmonise again "
                f"with {self.id}.")
        return data.assign(**self._derive(data, unknown))

    def _derive(self, data: pd.DataFrame, unknown: Unknown) -> dict[str, Any]:
        if not isinstance(data, pd.DataFrame):
            raise HarmonisationError(f"`data` must be a DataFrame, not {type(data).__name__}.")
        if unknown not in ("raise", "missing"):
            raise HarmonisationError(f"unknown must be 'raise' or 'missing', not {unknown!r}.")
        absent = [c for c in self.required_columns if c not in data.columns]
        if absent:
            hints = "".join(close_matches(c, list(map(str, data.columns))) for c in absent)
            raise HarmonisationError(
                f"{self.id} needs column(s) {absent} that are not in the data.{hints}")
        n_cat, n_miss = len(self.categories), len(MISSING_CLASSES)
        order = self.source_variables
        missing_id = {m: n_cat + i for i, m in enumerate(MISSING_CLASSES)}
        target = np.full(data.shape[0], missing_id["out_of_population"], dtype=np.int64)
        waiting = np.where(self.population.mask(data), 0, -1)  # variable each row needs
        for step, name in enumerate(order):  # variables, not rows
            rows = np.flatnonzero(waiting == step)
            if rows.size == 0:
                continue
            lookup = {
                r.code: (self.categories.index(r.category) if r.category is not None
                         else missing_id[r.missing] if r.missing is not None
                         else n_cat + n_miss + order.index(str(r.then)))
                for r in self.crosswalk if r.variable == name
            }
            column = data[name].iloc[rows]
            if isinstance(column.dtype, pd.CategoricalDtype):
                column = column.astype(object)
            mapped = column.map(lookup).to_numpy(dtype=np.float64, na_value=np.nan)
            observed = column.notna().to_numpy()
            strange = observed & np.isnan(mapped)
            if strange.any() and unknown == "raise":
                counts = column[strange].value_counts(sort=True)
                shown = ", ".join(f"{code!r} ({plural(int(k), 'row')})"
                                  for code, k in counts.items())
                raise HarmonisationError(
                    f"Variable {name!r} has answer code(s) that {self.id} does not know: "
                    f"{shown}. Known codes: {sorted(lookup, key=str)}. Add them to the "
                    "crosswalk, or pass unknown='missing' to count them as missing.")
            codes = np.where(~observed, missing_id["no_answer"],
                             np.where(strange, missing_id["unknown_code"],
                                      np.nan_to_num(mapped))).astype(np.int64)
            routed = codes >= n_cat + n_miss
            waiting[rows] = np.where(routed, codes - (n_cat + n_miss), -1)
            target[rows[~routed]] = codes[~routed]
        is_category = target < n_cat
        value = pd.Categorical.from_codes(
            np.where(is_category, target, -1), dtype=pd.CategoricalDtype(list(self.categories)))
        missing = pd.Categorical.from_codes(
            np.where(is_category, -1, target - n_cat),
            dtype=pd.CategoricalDtype(list(MISSING_CLASSES)))
        base = ~np.isin(target, [missing_id[m] for m in _OUT_OF_BASE])
        return {self.variable: value, self.missing_column: missing, self.base_column: base}


def harmonise(data: pd.DataFrame, definition: Definition, *,
              unknown: Unknown = "raise") -> pd.DataFrame:
    """Apply a definition to a data set: ``definition.apply(data, unknown=unknown)``.

    Examples
    --------
    >>> import pandas as pd
    >>> import nea_covid.harmonisation as h
    >>> df = pd.DataFrame({"work_location": [1, 3, 3, 4],
    ...                    "could_work_more_at_home": [None, 2, 3, None],
    ...                    "employment_status": 1, "age_2019": 40})
    >>> h.harmonise(df, h.get_definition("tno_can_work_at_home"))["can_work_at_home"].tolist()
    ['yes', 'yes', 'no', nan]
    """
    return definition.apply(data, unknown=unknown)


# ---------------------------------------------------------------------- registry
class Registry:
    """Definitions kept by (name, version).

    Examples
    --------
    >>> from nea_covid.harmonisation import DEFINITIONS, Registry
    >>> mine = Registry()
    >>> _ = mine.register(DEFINITIONS.get("tno_works_at_home", "1"))
    >>> ("tno_works_at_home", "1") in mine, len(mine)
    (True, 1)
    >>> mine.register(DEFINITIONS.get("tno_works_at_home", "1"))
    Traceback (most recent call last):
    ...
    nea_covid.errors.HarmonisationError: Definition 'tno_works_at_home' version '1' is already ...
    """

    def __init__(self, definitions: Iterable[Definition] = ()) -> None:
        self._items: dict[tuple[str, str], Definition] = {}
        for definition in definitions:
            self.register(definition)

    def register(self, definition: Definition) -> Definition:
        """Add a definition; a second one with the same name and version is an error."""
        if not isinstance(definition, Definition):
            raise HarmonisationError(
                f"Only Definition objects can be registered, not {type(definition).__name__}.")
        key = (definition.name, definition.version)
        if key in self._items:
            raise HarmonisationError(
                f"Definition {definition.name!r} version {definition.version!r} is already "
                "registered; give the changed definition a new version.")
        self._items[key] = definition
        return definition

    def versions(self, name: str) -> list[str]:
        """The versions of ``name``, oldest first."""
        return sorted((v for n, v in self._items if n == name), key=_version_key)

    def get(self, name: str, version: str | None = None) -> Definition:
        """The definition ``name`` at ``version`` (the latest version if omitted)."""
        versions = self.versions(name)
        if not versions:
            names = sorted({n for n, _ in self._items})
            raise HarmonisationError(
                f"No definition named {name!r}." + close_matches(name, names)
                + f" Known: {names}.")
        chosen = versions[-1] if version is None else str(version)
        if chosen not in versions:
            raise HarmonisationError(
                f"Definition {name!r} has no version {chosen!r}; it has {versions}.")
        return self._items[(name, chosen)]

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            return any(n == key for n, _ in self._items)
        return key in self._items

    def __iter__(self) -> Iterator[Definition]:
        return iter(self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def to_frame(self) -> pd.DataFrame:
        """One row per definition: concept, source, population, age window, whether
        people without work are in the base, the base, period, wording."""
        return pd.DataFrame([d.summary() for d in self]).reset_index(drop=True)

    def crosswalk(self) -> pd.DataFrame:
        """Every definition's crosswalk in one table (one row per source code)."""
        return pd.concat([d.to_frame() for d in self], ignore_index=True)


# ---------------------------------------------------------------------- crosswalk files
_CSV_COLUMNS = ["definition", "version", "variable", "code", "label", "harmonised",
                "missing", "then"]


def read_crosswalk(source: Any) -> dict[tuple[str, str], tuple[CrosswalkRow, ...]]:
    """Crosswalk rows from a CSV file (or DataFrame), grouped by (definition, version).

    Columns: definition, version, variable, code, label, harmonised (category),
    missing (class), then (routing); empty cells are absent values.

    Examples
    --------
    >>> import io
    >>> from nea_covid.harmonisation import read_crosswalk
    >>> text = "definition,version,variable,code,label,harmonised,missing,then\\n" \\
    ...        "mine,1,q1,1,yes,yes,,\\nmine,1,q1,9,no work,,inapplicable,\\n"
    >>> rows = read_crosswalk(io.StringIO(text))[("mine", "1")]
    >>> rows[1]
    CrosswalkRow(variable='q1', code=9, label='no work', category=None,
                 missing='inapplicable', then=None)
    """
    frame = source if isinstance(source, pd.DataFrame) else pd.read_csv(
        source, dtype=str, keep_default_na=False)
    absent = [c for c in _CSV_COLUMNS if c not in frame.columns]
    if absent:
        raise HarmonisationError(f"The crosswalk table lacks column(s) {absent}.")
    frame = frame.astype(object).where(frame.notna(), "")

    def text(value: Any) -> str | None:
        out = str(value).strip()
        return out or None

    out: dict[tuple[str, str], list[CrosswalkRow]] = {}
    for rec in frame[_CSV_COLUMNS].itertuples(index=False):  # crosswalk rows, not data
        key = (str(rec.definition).strip(), str(rec.version).strip())
        out.setdefault(key, []).append(CrosswalkRow(
            variable=str(rec.variable).strip(), code=_clean_code(rec.code),
            label=str(rec.label).strip(), category=text(rec.harmonised),
            missing=text(rec.missing), then=text(rec.then)))
    return {k: tuple(v) for k, v in out.items()}


# ---------------------------------------------------------------------- estimates
@dataclass(frozen=True, eq=False, repr=False)
class HarmonisedEstimate(Estimate):
    """An :class:`~nea_covid.Estimate` that records the definition which produced it.

    Everything an Estimate does works unchanged; :meth:`to_frame` adds a
    ``definition`` column (``"name v<version>"``) so that tables mixing sources say
    which definition each row follows, and :meth:`to_xarray` stores it in ``attrs``.

    Attributes
    ----------
    definition : Definition
    """

    definition: Definition | None = None

    @property
    def definition_id(self) -> str:
        """``"name v<version>"`` of the definition."""
        return "" if self.definition is None else self.definition.id

    def as_estimate(self) -> Estimate:
        """The plain :class:`~nea_covid.Estimate`, without the definition."""
        return Estimate(**{f.name: getattr(self, f.name) for f in dataclasses.fields(Estimate)})

    def to_frame(self, confidence_level: float | None = None,
                 method: IntervalMethod | None = None) -> pd.DataFrame:
        """As :meth:`Estimate.to_frame`, with a last column ``definition``."""
        frame = self.as_estimate().to_frame(confidence_level, method)
        frame["definition"] = self.definition_id
        return frame

    def to_xarray(self, confidence_level: float | None = None,
                  method: IntervalMethod | None = None) -> Any:
        """As :meth:`Estimate.to_xarray`, with ``attrs["definition"]``."""
        ds = self.as_estimate().to_xarray(confidence_level, method)
        ds.attrs["definition"] = self.definition_id
        return ds

    def _footer(self) -> str:
        if self.definition is None:
            return ""
        p = self.definition.population
        return (f"Definition: {self.definition_id} ({self.definition.source}); "
                f"base: {p.base or p.description}")

    def __repr__(self) -> str:
        return f"{self.as_estimate()!r}\n{self._footer()}"

    def _repr_html_(self) -> str:
        return f"{self.as_estimate()._repr_html_()}<p>{self._footer()}</p>"


def with_definition(estimate: Estimate, definition: Definition) -> HarmonisedEstimate:
    """Attach the definition that produced ``estimate`` (any estimator's result)."""
    fields = {f.name: getattr(estimate, f.name) for f in dataclasses.fields(Estimate)}
    return HarmonisedEstimate(**fields, definition=definition)


def harmonised_proportion(
    design: BaseDesign, definition: Definition, *, by: By = None,
    missing: Missing = "raise", unknown: Unknown = "raise",
) -> HarmonisedEstimate:
    """Estimate the shares of a definition's harmonised categories on its base.

    The definition is applied to the design's data (its source variables); the
    estimate is :func:`nea_covid.proportion` of the harmonised variable on the domain
    of the base (``design.subset``: every PSU stays in the variance).

    Parameters
    ----------
    design : SurveyDesign or ReplicateDesign
    definition : Definition
    by : str or list of str, optional
        Domains, as for :func:`nea_covid.proportion`.
    missing : {"raise", "omit"}, default "raise"
        Rows of the base with item nonresponse ("dont_know", "declined", "no_answer",
        "unknown_code"): an error, or left out and counted in ``n_missing``.
    unknown : {"raise", "missing"}, default "raise"
        As for :meth:`Definition.apply`.

    Returns
    -------
    HarmonisedEstimate
        With ``definition`` set.

    Examples
    --------
    >>> import pandas as pd
    >>> import nea_covid as nc
    >>> import nea_covid.harmonisation as h
    >>> df = pd.DataFrame({"work_location": [1, 1, 2, 3, 3, 4], "employment_status": 1,
    ...                    "age_2019": 40, "w": [1.0, 2, 1, 1, 3, 2]})
    >>> d = nc.SurveyDesign(df, weights="w")
    >>> est = h.harmonised_proportion(d, h.get_definition("tno_works_at_home"))
    >>> est.to_frame()[["level", "estimate", "n_obs", "definition"]]
      level  estimate  n_obs            definition
    0   yes       0.5      5  tno_works_at_home v1
    1    no       0.5      5  tno_works_at_home v1
    """
    require_rows(design, "`nc.harmonised_proportion`")
    columns = definition._derive(design.data, unknown)
    harmonised = design.with_columns(columns)
    base = harmonised.subset(np.asarray(columns[definition.base_column]))
    return with_definition(proportion(base, definition.variable, by=by, missing=missing),
                           definition)


# ---------------------------------------------------------------------- shipped
def _shipped_crosswalk() -> dict[tuple[str, str], tuple[CrosswalkRow, ...]]:
    text = resources.files("nea_covid").joinpath("data", "crosswalk.csv").read_text("utf-8")
    return read_crosswalk(io.StringIO(text))


_TNO = "TNO NEA-COVID-19 panel (W1-W5, 2020-2023)"
_TNO_PERIOD = ("the wave's fieldwork (W1 Jun-Jul 2020, W2 Nov 2020, W3 Mar 2021, "
               "W4 Nov-Dec 2021, W5 Jun-Jul 2023); the situation at the interview")
_TNO_WORKERS = Population(
    "werknemers of the NEA 2019 cohort (15-74 in 2019) still in work at the wave",
    employment_status=(EMPLOYEE,), age=(15, 74), age_variable="age_2019",
    base="werknemers in work at the wave: 'no work at the moment' is outside the base, "
         "so only at home + partly + only on location = 100%")
_TNO_WORDING = ("Where do you currently do your work? (paraphrase; TNO's exact wording "
                "is not public) - only at home / partly at home and partly on location / "
                "only on location / no work at the moment")
_RIVM_TREND = "RIVM trend survey (trendonderzoek), every 3 weeks from 29 Sep 2020"
_RIVM_WORKERS = "working people 16+, werknemers and self-employed (incl. zzp)"
_WORKERS = (EMPLOYEE, SELF_EMPLOYED)

def _spec(**fields: Any) -> dict[str, Any]:
    """One shipped definition's metadata (its crosswalk is in crosswalk.csv)."""
    return fields


_METADATA: tuple[dict[str, Any], ...] = (
    _spec(
        name="tno_works_at_home", version="1", concept="works_at_home", source=_TNO,
        variable="works_at_home", categories=("yes", "no"), population=_TNO_WORKERS,
        question=_TNO_WORDING, reference_period=_TNO_PERIOD,
        published="48% in W2, November 2020 (34.5% only at home + 13.5% partly); "
                  "45% in W1 (letter of 16 Nov 2020; letter Kamerstuk 25 295 nr. 983)"),
    _spec(
        name="tno_works_at_home_extent", version="1", concept="works_at_home_extent",
        source=_TNO, variable="works_at_home_extent", categories=("fully", "partly", "no"),
        population=_TNO_WORKERS, question=_TNO_WORDING, reference_period=_TNO_PERIOD,
        published="W2: 34.5% / 13.5% / 52%; W3: 35% / 14% / 51%"),
    _spec(
        name="tno_can_work_at_home", version="1", concept="can_work_at_home", source=_TNO,
        variable="can_work_at_home", categories=("yes", "no"), population=_TNO_WORKERS,
        question=_TNO_WORDING + "; then, if only on location: could you do (more of) your "
                 "work at home? (paraphrase)",
        reference_period=_TNO_PERIOD,
        published="53% in W2 (TNO re-computed under RIVM's definition; not published "
                  "by TNO, quoted in Kamerstuk 25 295 nr. 983)",
        notes="RIVM's definition applied to TNO's data: works at home fully or partly, "
              "plus on-location workers who say they could work at home (either reason)."),
    _spec(
        name="tno_could_work_more_at_home", version="1", concept="could_work_more_at_home",
        source=_TNO, variable="could_work_more_at_home_reason",
        categories=("yes, employer expects on location", "yes, own preference", "no"),
        population=Population(
            "werknemers of the NEA 2019 cohort in work, not fully at home",
            employment_status=(EMPLOYEE,), age=(15, 74), age_variable="age_2019",
            conditions={"work_location": (2, 3)},
            base="werknemers not fully at home (partly or only on location); "
                 "multiply by their share of all werknemers (65.5% in W2) for '% of all'"),
        question="Could you do (more of) your work at home? (paraphrase) - yes, but my "
                 "employer expects me on location / yes, but I prefer to work on location "
                 "/ no",
        reference_period=_TNO_PERIOD,
        published="W2: 14% of those not fully at home = 9.2% of all werknemers, split "
                  "4.8% / 4.4% by reason",
        notes="Sources disagree on which reason has 4.8% and which 4.4%; the labels "
              "follow the codes, not a published number."),
    _spec(
        name="rivm_can_work_at_home", version="1", concept="can_work_at_home",
        source="RIVM behaviour cohort (gedragsonderzoek), round 9: 30 Dec 2020-3 Jan 2021",
        variable="can_work_at_home", categories=("yes", "no"),
        population=Population(
            _RIVM_WORKERS + " (volunteers from GGD panels; RIVM: not representative)",
            employment_status=_WORKERS, age=(16, None),
            base="all working respondents 16+"),
        question="Can you work from home? (self-assessment; paraphrase) - yes fully / "
                 "yes partly / no",
        reference_period="the round's fieldwork", published="66% (round 9)",
        notes="Fully and partly both count as 'can'."),
    _spec(
        name="rivm_can_work_at_home_extent", version="1", concept="can_work_at_home_extent",
        source="RIVM behaviour cohort (gedragsonderzoek) or trend survey",
        variable="can_work_at_home_extent", categories=("fully", "partly", "no"),
        population=Population(_RIVM_WORKERS, employment_status=_WORKERS, age=(16, None),
                              base="all working respondents 16+"),
        question="Can you work from home? (self-assessment; paraphrase) - yes fully / "
                 "yes partly / no",
        reference_period="the wave's or round's fieldwork"),
    _spec(
        name="rivm_wfh_as_much_as_possible", version="1", concept="wfh_as_much_as_possible",
        source=_RIVM_TREND, variable="works_at_home_as_much_as_possible",
        categories=("yes", "no"),
        population=Population(
            _RIVM_WORKERS, employment_status=_WORKERS, age=(16, None),
            base="all working people 16+, including those who cannot work from home "
                 "(ASSUMPTION: RIVM's published base appears to be all working people; "
                 "see rivm_wfh_as_much_as_possible_if_can for the letter's reading)"),
        question="Indicator 'works from home if possible' (RIVM open data); item wording "
                 "paraphrased: do you work from home as much as possible?",
        reference_period="the wave's fieldwork (wave 6: 5-11 Jan 2021)",
        published="72.7% [71.0, 74.4], n = 3,107 (wave 6; RIVM open data COVID-19_gedrag)"),
    _spec(
        name="rivm_wfh_as_much_as_possible_if_can", version="1",
        concept="wfh_as_much_as_possible", source=_RIVM_TREND,
        variable="works_at_home_as_much_as_possible", categories=("yes", "no"),
        population=Population(
            _RIVM_WORKERS + " who say they can work from home",
            employment_status=_WORKERS, age=(16, None),
            conditions={"can_work_from_home": (1, 2)},
            base="working people 16+ who can work from home fully or partly (the "
                 "letter's reading: '73% of those who say they can work from home')"),
        question="Indicator 'works from home if possible' (RIVM open data); item wording "
                 "paraphrased: do you work from home as much as possible?",
        reference_period="the wave's fieldwork (wave 6: 5-11 Jan 2021)",
        published="73% as quoted in Kamerstuk 25 295 nr. 983 (same item as "
                  "rivm_wfh_as_much_as_possible; only the base differs)"),
)


def _shipped() -> list[Definition]:
    rows = _shipped_crosswalk()
    out = []
    for meta in _METADATA:
        key = (meta["name"], meta["version"])
        if key not in rows:
            raise HarmonisationError(f"crosswalk.csv has no rows for {key}.")
        out.append(Definition(**{**meta, "concept": CONCEPTS[meta["concept"]]},
                              crosswalk=rows[key]))
    extra = sorted(set(rows) - {(m["name"], m["version"]) for m in _METADATA})
    if extra:
        raise HarmonisationError(f"crosswalk.csv has rows for unknown definitions {extra}.")
    return out


#: The shipped definitions (TNO NEA-COVID and RIVM), by name and version.
DEFINITIONS: Registry = Registry(_shipped())


def get_definition(name: str, version: str | None = None) -> Definition:
    """A shipped definition from :data:`DEFINITIONS` (latest version if omitted).

    Examples
    --------
    >>> from nea_covid.harmonisation import get_definition
    >>> summary = get_definition("tno_can_work_at_home").summary()
    >>> summary["age"], summary["without_work_in_base"], summary["employment_status"]
    ('15-74', False, 'employee (werknemer)')
    """
    return DEFINITIONS.get(name, version)

