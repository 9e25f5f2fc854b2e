"""The API reference's table of contents: every public name, in groups.

``docs/conf.py`` turns this table into one reST page per group (in
``docs/reference/generated/``, git-ignored), each an ``autosummary`` table whose entries
get their own page generated from the numpydoc docstrings. Names that do not exist (yet)
are left out, so a group fills itself in when its module lands; names of
``nea_covid.__all__`` that no group lists go to a last page, "Not yet grouped", and
``tests/test_docs.py`` fails until they are given a group here.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Group:
    """One page of the reference: ``names`` are looked up in ``module``; ``"*"`` stands
    for the rest of that module's ``__all__`` (in its order)."""

    slug: str
    title: str
    intro: str
    sections: tuple[tuple[str, str, tuple[str, ...]], ...] = field(default=())
    # each section: (heading, module, names)


GROUPS: tuple[Group, ...] = (
    Group("designs", "Designs",
          "A design is built once from a DataFrame and the names of its design columns, "
          "validated, and never changed: subsets and calibrations return new designs. "
          "Every estimator takes either kind.",
          (("Taylor-linearisation designs", "nea_covid", ("SurveyDesign",)),
           ("Replicate-weight designs", "nea_covid", ("ReplicateDesign",)))),
    Group("estimators", "Estimators",
          "Each takes a design, one or more column names, ``by=`` (domains, all in one "
          "pass with the full covariance across cells) and ``missing=``, and returns an "
          ":class:`~nea_covid.Estimate`.",
          (("", "nea_covid", ("mean", "total", "proportion", "ratio", "quantile")),)),
    Group("results", "Results",
          "Frozen result objects: the estimate, its covariance across every cell, "
          "degrees of freedom, design effects, intervals, and tidy (``to_frame``) and "
          "labelled (``to_xarray``) forms.",
          (("", "nea_covid", ("Estimate", "ConfidenceInterval")),)),
    Group("comparisons", "Comparisons, tests and models",
          "Changes between waves and other contrasts are computed from an estimate's "
          "cells and covariance, never from the data again; tests and models follow R's "
          "``svyttest``, ``svychisq`` and ``svyglm``.",
          (("Comparisons and contrasts", "nea_covid",
            ("compare", "contrast", "ttest", "Comparison", "JointTest")),
           ("Published figures", "nea_covid", ("compare_published", "PublishedFigure")),
           ("Tables and models", "nea_covid", ("chisq", "ChisqTest", "glm", "Regression")))),
    Group("calibration", "Calibration",
          "Calibration is a method of every design: each returns a new design whose "
          "weights reproduce the population margins and whose variances use the "
          "calibration (residuals for Taylor designs, every replicate calibrated for "
          "replicate designs).",
          (("Methods of SurveyDesign and ReplicateDesign", "nea_covid",
            ("SurveyDesign.poststratify", "SurveyDesign.rake", "SurveyDesign.calibrate",
             "SurveyDesign.trim_weights")),
           ("What was done", "nea_covid", ("CalibrationInfo",)))),
    Group("extrapolation", "Extrapolation and formatting",
          "Shares as counts of people, with standard errors; published figures checked "
          "against their own rounding; numbers printed as Dutch and English publications "
          "print them.",
          (("Extrapolation", "nea_covid", ("extrapolate", "Extrapolation")),
           ("Published figures and rounding", "nea_covid",
            ("format_count", "format_share", "rounds_to", "check_published",
             "PublishedCheck")),
           ("Number formatting", "nea_covid.formatting",
            ("format_number", "format_interval", "round_half_up", "label", "LABELS")))),
    Group("harmonisation", "Harmonisation",
          "One concept, several source definitions: versioned definitions (population, "
          "base, wording, crosswalk) applied to data and carried into the estimate.",
          (("", "nea_covid",
            ("DEFINITIONS", "get_definition", "Definition", "harmonise",
             "harmonised_proportion", "HarmonisedEstimate", "with_definition",
             "read_crosswalk", "codebook")),)),
    Group("data", "Readers and datasets",
          "Real files (SPSS, RIVM's open data) and the bundled data sets: R's public "
          "``api`` and ``nhanes`` samples and the SYNTHETIC NEA-COVID panel and RIVM "
          "trend survey.",
          (("Readers", "nea_covid", ("read_spss", "read_rivm_behaviour")),
           ("Bundled data sets (``nc.datasets``)", "nea_covid.datasets",
            ("load_api", "load_nhanes", "load_nea_covid", "load_rivm_trend",
             "value_labels")))),
    Group("plot", "Plotting (``nc.plot``)",
          "Figures for publication from results: 95% intervals, Dutch or English "
          "labels, a colour-blind-safe palette and alt text (needs "
          "``pip install nea_covid[plot]``).",
          (("", "nea_covid.plot",
            ("trend", "domains", "counts", "changes", "coefficients", "alt_text", "save",
             "style", "PALETTE", "*")),)),
    Group("export", "Export and progress",
          "Tables as publications print them, CSV and Excel files (``nea_covid[excel]``), "
          "and progress bars for long computations (``nea_covid[progress]``).",
          (("Tables and files", "nea_covid",
            ("publication_table", "to_csv", "to_excel", "read_publication_table")),
           ("Progress", "nea_covid", ("set_progress", "progress_enabled")))),
    Group("claims", "The letters' claims",
          "The claims table of the two letters and its audit (see "
          ":doc:`/letters`); ``python -m nea_covid reproduce`` prints it.",
          (("", "nea_covid.claims", ("load_claims", "reproduce_claims", "evaluate")),)),
    Group("errors", "Errors and warnings",
          "Every error is a subclass of :class:`ValueError` (unknown columns also of "
          ":class:`KeyError`), so ``except ValueError`` still works; warnings name the "
          "remedy.",
          (("Errors", "nea_covid",
            ("SurveyError", "ArgumentError", "DesignError", "ColumnNotFoundError",
             "WeightError",
             "MissingValueError", "VariableTypeError", "NestingError", "FPCError",
             "LonelyPSUError", "DegreesOfFreedomError", "CalibrationError",
             "ConvergenceError", "ComparisonError", "PopulationError",
             "HarmonisationError", "FileFormatError", "*Error")),
           ("Warnings", "nea_covid",
            ("SurveyWarning", "EmptyDomainWarning", "LonelyPSUWarning",
             "ZeroDenominatorWarning", "ZeroVarianceWarning", "*Warning")))),
)

#: Names of ``nea_covid.__all__`` that are not objects to document on a page of their own.
NOT_DOCUMENTED = ("__version__", "datasets", "plot")


def _resolve(module: Any, dotted: str) -> bool:
    obj = module
    for part in dotted.split("."):
        if not hasattr(obj, part):
            return False
        obj = getattr(obj, part)
    return True


def _module(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def resolved() -> list[tuple[Group, list[tuple[str, str, list[str]]]]]:
    """The groups with the names that exist now; wildcards (``"*"``: the rest of the
    module's ``__all__``; ``"*Error"``: the rest ending in "Error") expanded, every
    name at most once. Groups left empty are dropped."""
    out = []
    listed = {(m, n) for g in GROUPS for _, m, names in g.sections for n in names}
    for group in GROUPS:
        sections = []
        for heading, module_name, names in group.sections:
            module = _module(module_name)
            if module is None:
                continue
            found: list[str] = []
            for name in names:
                if name.startswith("*"):
                    suffix = name[1:]
                    found += [n for n in getattr(module, "__all__", ())
                              if n.endswith(suffix) and (module_name, n) not in listed
                              and n not in found and n not in NOT_DOCUMENTED]
                elif _resolve(module, name) and name not in found:
                    found.append(name)
            if found:
                sections.append((heading, module_name, found))
        if sections:
            out.append((group, sections))
    return out


def ungrouped() -> list[str]:
    """Names of ``nea_covid.__all__`` that no group shows."""
    import nea_covid

    shown = {(m, n) for _, sections in resolved() for _, m, names in sections for n in names}
    return [n for n in nea_covid.__all__
            if n not in NOT_DOCUMENTED and ("nea_covid", n) not in shown]
