"""Words of charts and alt texts in English and Dutch (column labels come from
:func:`nea_covid.formatting.label`)."""

from __future__ import annotations

from nea_covid.formatting import Language

__all__ = ["count", "word"]

#: Each phrase as (English, Dutch); ``{fields}`` are filled in by :func:`word`.
WORDS: dict[str, tuple[str, str]] = {
    # axis labels and nouns (singular and plural, for :func:`count`)
    "mean": ("mean", "gemiddelde"),
    "total": ("total", "totaal"),
    "median": ("median", "mediaan"),
    "of": ("of", "van"),
    "percentage_points": ("percentage points", "procentpunten"),
    "odds_ratio": ("odds ratio", "oddsratio"),
    "coefficient": ("coefficient", "coëfficiënt"),
    "coefficients": ("coefficients", "coëfficiënten"),
    "comparison": ("comparison", "vergelijking"),
    "comparisons": ("comparisons", "vergelijkingen"),
    "row": ("row", "rij"),
    "rows": ("rows", "rijen"),
    "linear": ("linear", "lineaire"),
    "logistic": ("logistic", "logistische"),
    # notes above the axes and the legend of changes
    "error_bars": ("error bars", "foutbalken"),
    "bands": ("bands", "banden"),
    "lines": ("lines", "lijnen"),
    "not_significant": ("not significant", "niet significant"),
    "significant_after": ("significant after {method} adjustment",
                          "significant na {method}-correctie"),
    "significant_after_all": ("significant after {method} adjustment over all {n} comparisons",
                              "significant na {method}-correctie over alle {n} vergelijkingen"),
    # alt texts
    "line_chart": ("Line chart", "Lijndiagram"),
    "forest_chart": ("Dot-and-whisker chart", "Stip-en-snordiagram"),
    "coefficient_chart": ("Coefficient plot", "Coëfficiëntendiagram"),
    "chart": ("Chart", "Diagram"),
    "axes": ("x axis: {x}; y axis: {y}", "x-as: {x}; y-as: {y}"),
    "definition": ("Definition: {definition}", "Definitie: {definition}"),
    "and_more": ("and {n} more", "en {n} meer"),
    "after": (" after {method} adjustment", " na {method}-correctie"),
    "after_all": (" after {method} adjustment over all {n} comparisons",
                  " na {method}-correctie over alle {n} vergelijkingen"),
    "no_estimate": ("no estimate", "geen schatting"),
    "single": ("{name}: {v0} in {x0}", "{name}: {v0} in {x0}"),
    "from_to": ("{name}: {v0} in {x0}, {v1} in {x1}", "{name}: {v0} in {x0}, {v1} in {x1}"),
    "trend_of": ("of {quantity} by {along}", "van {quantity} per {along}"),
    "forest_of": ("of {quantity} for {n} ({rows})", "van {quantity} voor {n} ({rows})"),
    "changes_of": ("of {n} ({quantity})", "van {n} ({quantity})"),
    "range": ("Values range from {low} to {high}", "De waarden lopen van {low} tot {high}"),
    "intervals": ("{level}% confidence intervals", "{level}%-betrouwbaarheidsintervallen"),
    "with_error_bars": ("with {ci} as error bars", "met {ci} als foutbalken"),
    "with_bands": ("with {ci} as shaded bands", "met {ci} als gearceerde banden"),
    "with_lines": ("with {ci} as horizontal lines", "met {ci} als horizontale lijnen"),
    "series_over": ("{n} series over {k} values of {along} ({first} to {last})",
                    "{n} reeksen over {k} waarden van {along} ({first} tot {last})"),
    "one_series_over": ("1 series over {k} values of {along} ({first} to {last})",
                        "1 reeks over {k} waarden van {along} ({first} tot {last})"),
    "highest_lowest": ("Highest {high}; lowest {low}", "Hoogste {high}; laagste {low}"),
    "reference_line": ("A dashed line marks {value}", "Een stippellijn markeert {value}"),
    "null_line_at": ("the vertical line marks {value}", "de verticale lijn markeert {value}"),
    "null_line": ("the vertical line marks no difference ({value})",
                  "de verticale lijn markeert geen verschil ({value})"),
    "significant_list": ("Significant{how} at α = {alpha}: {items}",
                         "Significant{how} bij α = {alpha}: {items}"),
    "none_significant": ("None is significant{how} at α = {alpha}",
                         "Geen enkele is significant{how} bij α = {alpha}"),
    "not_significant_list": ("not significant: {items}", "niet significant: {items}"),
    "not_estimable_list": ("cannot be estimated: {items}", "niet te schatten: {items}"),
    "coefficients_of": ("of {n} of the {family} model {formula}",
                        "van {n} van het {family} model {formula}"),
}


def word(key: str, language: Language, **fields: object) -> str:
    """The phrase ``key`` in ``language``, with ``fields`` filled in."""
    text = WORDS[key][0 if language == "en" else 1]
    return text.format(**fields) if fields else text


def count(n: int, noun: str, language: Language) -> str:
    """``"1 row"``, ``"3 rows"``, ``"3 rijen"``."""
    return f"{n} {word(noun if n == 1 else noun + 's', language)}"
