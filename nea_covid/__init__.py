"""nea_covid: design-based survey analysis, validated against R's survey package.

>>> import nea_covid as nc
>>> d = nc.SurveyDesign(nc.datasets.load_api("strat"), weights="pw", strata="stype", fpc="fpc")
>>> est = nc.mean(d, "api00", by="stype")
"""

from __future__ import annotations

from nea_covid import datasets, plot  # plot imports matplotlib only to draw
from nea_covid.calibration import CalibrationInfo
from nea_covid.chisq import ChisqTest, chisq
from nea_covid.comparison import Comparison, JointTest
from nea_covid.contrasts import compare, contrast, ttest
from nea_covid.design import SurveyDesign
from nea_covid.errors import (
    ArgumentError,
    CalibrationError,
    ColumnNotFoundError,
    ComparisonError,
    ConvergenceError,
    DegreesOfFreedomError,
    DesignError,
    EmptyDomainWarning,
    FileFormatError,
    FPCError,
    HarmonisationError,
    LonelyPSUError,
    LonelyPSUWarning,
    MissingValueError,
    NestingError,
    PopulationError,
    SurveyError,
    SurveyWarning,
    VariableTypeError,
    WeightError,
    ZeroDenominatorWarning,
    ZeroVarianceWarning,
)
from nea_covid.estimators import mean, proportion, ratio, total
from nea_covid.export import publication_table, read_publication_table, to_csv, to_excel
from nea_covid.extrapolate import (
    Extrapolation,
    PublishedCheck,
    check_published,
    extrapolate,
    format_count,
    format_share,
    rounds_to,
)
from nea_covid.glm import Regression, glm
from nea_covid.harmonisation import (
    DEFINITIONS,
    Definition,
    HarmonisedEstimate,
    codebook,
    get_definition,
    harmonise,
    harmonised_proportion,
    read_crosswalk,
    with_definition,
)
from nea_covid.progress import progress_enabled, set_progress
from nea_covid.published import PublishedFigure, compare_published
from nea_covid.quantiles import quantile
from nea_covid.readers import read_rivm_behaviour, read_spss
from nea_covid.replicates import ReplicateDesign
from nea_covid.results import ConfidenceInterval, Estimate

__version__ = "0.1.0"

__all__ = [
    "DEFINITIONS",
    "ArgumentError",
    "CalibrationError",
    "CalibrationInfo",
    "ChisqTest",
    "ColumnNotFoundError",
    "Comparison",
    "ComparisonError",
    "ConfidenceInterval",
    "ConvergenceError",
    "Definition",
    "DegreesOfFreedomError",
    "DesignError",
    "EmptyDomainWarning",
    "Estimate",
    "Extrapolation",
    "FPCError",
    "FileFormatError",
    "HarmonisationError",
    "HarmonisedEstimate",
    "JointTest",
    "LonelyPSUError",
    "LonelyPSUWarning",
    "MissingValueError",
    "NestingError",
    "PopulationError",
    "PublishedCheck",
    "PublishedFigure",
    "Regression",
    "ReplicateDesign",
    "SurveyDesign",
    "SurveyError",
    "SurveyWarning",
    "VariableTypeError",
    "WeightError",
    "ZeroDenominatorWarning",
    "ZeroVarianceWarning",
    "__version__",
    "check_published",
    "chisq",
    "codebook",
    "compare",
    "compare_published",
    "contrast",
    "datasets",
    "extrapolate",
    "format_count",
    "format_share",
    "get_definition",
    "glm",
    "harmonise",
    "harmonised_proportion",
    "mean",
    "plot",
    "progress_enabled",
    "proportion",
    "publication_table",
    "quantile",
    "ratio",
    "read_crosswalk",
    "read_publication_table",
    "read_rivm_behaviour",
    "read_spss",
    "rounds_to",
    "set_progress",
    "to_csv",
    "to_excel",
    "total",
    "ttest",
    "with_definition",
]
