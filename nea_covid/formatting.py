"""Numbers and words as Dutch and English publications print them.

One place for the conventions that tables (:mod:`nea_covid.export`), figures
(:mod:`nea_covid.plot`) and printed counts (:func:`nea_covid.format_count`) share:
rounding half away from zero (as published figures are; ``np.round`` rounds half to
even), the decimal comma and thousands point in Dutch, intervals as ``[low; high]``, and
the labels of result columns in both languages.

Examples
--------
>>> format_number([1234.5, 0.25], digits=1)
['1.234,5', '0,3']
>>> format_number(1234.5, digits=1, language="en")
'1,234.5'
>>> format_interval(0.4512, 0.4987, digits=1, percent=True)
'[45,1; 49,9]'
>>> label("estimate", "nl"), label("ci", "en")
('schatting', '95% CI')
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from nea_covid.errors import ArgumentError

__all__ = [
    "LABELS",
    "Language",
    "check_digits",
    "check_language",
    "ci_label",
    "default_digits",
    "format_interval",
    "format_number",
    "label",
    "level_text",
    "number_text",
    "round_half_up",
]

Language = Literal["nl", "en"]


def check_language(language: str) -> None:
    """Raise :class:`~nea_covid.ArgumentError` unless ``language`` is "nl" or "en"."""
    if language not in ("nl", "en"):
        raise ArgumentError(f"`language` must be 'nl' or 'en', not {language!r}.")


def check_digits(digits: int) -> int:
    """``digits`` as an int; :class:`~nea_covid.ArgumentError` unless a whole number >= 0."""
    if isinstance(digits, bool) or not isinstance(digits, int | np.integer) or digits < 0:
        raise ArgumentError(f"`digits` must be a whole number >= 0, not {digits!r}.")
    return int(digits)


def default_digits(standard_error: Any = (), *, percent: bool = False,
                   whole: bool = False) -> int:
    """The decimals a table or chart prints an estimate with, unless told otherwise.

    Shares in percent: 1; totals and counts (``whole``): 0; everything else (means,
    ratios, differences, coefficients): enough to show the smallest standard error
    with two significant digits (0 to 6; 2 when no standard error is positive).
    Publication tables (:mod:`nea_covid.export`) and charts (:mod:`nea_covid.plot`)
    both use it, so that a figure's alt text and its table print the same numbers.

    Examples
    --------
    >>> default_digits([9.4]), default_digits([0.031, 5]), default_digits(percent=True)
    (1, 3, 1)
    """
    if percent:
        return 1
    if whole:
        return 0
    se = np.asarray(standard_error, dtype=np.float64).reshape(-1)
    se = se[np.isfinite(se) & (se > 0)]
    if se.size == 0:
        return 2
    return int(np.clip(1 - np.floor(np.log10(se.min())), 0, 6))


def round_half_up(x: Any, digits: int) -> NDArray[np.float64]:
    """Round half away from zero, as published figures are (``np.round`` rounds half
    to even); the binary noise of products such as ``0.485 * 100`` is removed first.

    Examples
    --------
    >>> round_half_up([0.125, -2.5, 48.5], 0).tolist(), round_half_up(0.485 * 100, 0).item()
    ([0.0, -3.0, 49.0], 49.0)
    """
    x = np.asarray(x, dtype=np.float64)
    factor = 10.0 ** digits
    scaled = np.round(np.abs(x) * factor, 6)
    return np.asarray(np.sign(x) * np.floor(scaled + 0.5) / factor, dtype=np.float64)


def number_text(x: float, digits: int, language: str) -> str:
    """One already rounded number with thousands separators in ``language``."""
    text = f"{x:,.{digits}f}"
    if language == "nl":
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text


def _texts(x: NDArray[np.float64], digits: int, language: str, missing: str) -> list[str]:
    rounded = round_half_up(x, digits)
    return [missing if np.isnan(r) else number_text(r + 0.0, digits, language)
            for r in rounded.tolist()]


def _shaped(texts: list[str], value: Any) -> Any:
    if isinstance(value, pd.Series):
        return pd.Series(texts, index=value.index, dtype=object)
    if np.ndim(value) == 0:
        return texts[0]
    return texts


def _floats(value: Any) -> NDArray[np.float64]:
    if isinstance(value, pd.Series):
        return value.to_numpy(dtype=np.float64, na_value=np.nan).reshape(-1)
    try:
        return np.asarray(value, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise ArgumentError(f"Only numbers can be formatted, not {value!r}.") from None


def format_number(value: Any, digits: int = 1, language: Language = "nl", *,
                  scale: float = 1.0, missing: str = "-") -> Any:
    """Numbers rounded half away from zero, with the language's separators.

    Parameters
    ----------
    value : number, array-like or pandas.Series
    digits : int, default 1
    language : {"nl", "en"}, default "nl"
        Dutch: decimal comma and thousands point; English: the reverse.
    scale : float, default 1
        Multiply first (100 for percentages).
    missing : str, default "-"
        Text for NaN.

    Returns
    -------
    str, list of str or pandas.Series
        Same shape as ``value``.

    Examples
    --------
    >>> format_number(0.4801, digits=1, scale=100)
    '48,0'
    """
    check_language(language)
    digits = check_digits(digits)
    texts = _texts(_floats(value) * scale, digits, language, missing)
    return _shaped(texts, value)


def format_interval(low: Any, high: Any, digits: int = 1, language: Language = "nl", *,
                    percent: bool = False, missing: str = "-") -> Any:
    """Intervals as publications print them: ``[45,1; 49,9]``.

    The separator is a semicolon in both languages, so that the decimal comma of Dutch
    numbers cannot be confused with it.

    Parameters
    ----------
    low, high : number, array-like or pandas.Series
    digits : int, default 1
    language : {"nl", "en"}, default "nl"
    percent : bool, default False
        Multiply by 100 (shares printed as percentages).
    missing : str, default "-"
        Text for an interval with a NaN bound.

    Examples
    --------
    >>> format_interval([0.451, 0.5], [0.499, float("nan")], percent=True, language="en")
    ['[45.1; 49.9]', '-']
    """
    check_language(language)
    digits = check_digits(digits)
    scale = 100.0 if percent else 1.0
    lo, hi = _floats(low) * scale, _floats(high) * scale
    if lo.shape != hi.shape:
        raise ArgumentError(f"`low` and `high` differ in length ({lo.size} and {hi.size}).")
    lo_t = _texts(lo, digits, language, missing)
    hi_t = _texts(hi, digits, language, missing)
    texts = [missing if missing in (a, b) and (np.isnan(x) or np.isnan(y)) else f"[{a}; {b}]"
             for a, b, x, y in zip(lo_t, hi_t, lo.tolist(), hi.tolist(), strict=True)]
    return _shaped(texts, low)


#: Column and axis labels, English and Dutch (CBS usage).
LABELS: dict[str, dict[str, str]] = {
    "estimate": {"en": "estimate", "nl": "schatting"},
    "share": {"en": "share", "nl": "aandeel"},
    "percentage": {"en": "%", "nl": "%"},
    "standard_error": {"en": "standard error", "nl": "standaardfout"},
    "ci": {"en": "95% CI", "nl": "95%-btbi"},
    "ci_long": {"en": "95% confidence interval", "nl": "95%-betrouwbaarheidsinterval"},
    "ci_low": {"en": "lower bound", "nl": "ondergrens"},
    "ci_high": {"en": "upper bound", "nl": "bovengrens"},
    "df": {"en": "df", "nl": "vrijheidsgraden"},
    "n_obs": {"en": "n", "nl": "n"},
    "deff": {"en": "design effect", "nl": "designeffect"},
    "variable": {"en": "variable", "nl": "variabele"},
    "level": {"en": "category", "nl": "categorie"},
    "quantile": {"en": "quantile", "nl": "kwantiel"},
    "wave": {"en": "wave", "nl": "meting"},
    "sector": {"en": "sector", "nl": "sector"},
    "difference": {"en": "difference", "nl": "verschil"},
    "change": {"en": "change", "nl": "verandering"},
    "ratio": {"en": "ratio", "nl": "verhouding"},
    "base": {"en": "from", "nl": "van"},
    "other": {"en": "to", "nl": "naar"},
    "base_estimate": {"en": "from (estimate)", "nl": "van (schatting)"},
    "other_estimate": {"en": "to (estimate)", "nl": "naar (schatting)"},
    "statistic": {"en": "t", "nl": "t"},
    "pvalue": {"en": "p-value", "nl": "p-waarde"},
    "pvalue_holm": {"en": "p-value (Holm)", "nl": "p-waarde (Holm)"},
    "pvalue_bh": {"en": "p-value (BH)", "nl": "p-waarde (BH)"},
    "significant": {"en": "significant", "nl": "significant"},
    "population": {"en": "population", "nl": "populatie"},
    "count": {"en": "number", "nl": "aantal"},
    "million": {"en": "million", "nl": "miljoen"},
    "thousand": {"en": "thousand", "nl": "duizend"},
    "yes": {"en": "yes", "nl": "ja"},
    "no": {"en": "no", "nl": "nee"},
    "term": {"en": "term", "nl": "term"},
    "along": {"en": "compared along", "nl": "vergeleken naar"},
    "contrast": {"en": "contrast", "nl": "contrast"},
    "group": {"en": "group", "nl": "groep"},
    "test": {"en": "test", "nl": "toets"},
    "variables": {"en": "variables", "nl": "variabelen"},
    "definition": {"en": "definition", "nl": "definitie"},
    "ndf": {"en": "df (numerator)", "nl": "vrijheidsgraden (teller)"},
    "ddf": {"en": "df (denominator)", "nl": "vrijheidsgraden (noemer)"},
    "share_standard_error": {"en": "standard error (share)", "nl": "standaardfout (aandeel)"},
    "population_se": {"en": "standard error (population)", "nl": "standaardfout (populatie)"},
    "log_odds_ratio": {"en": "log odds ratio", "nl": "log-oddsratio"},
    "notes": {"en": "notes", "nl": "toelichting"},
    "note": {"en": "note", "nl": "toelichting"},
    "sheet": {"en": "sheet", "nl": "blad"},
    "table": {"en": "table", "nl": "tabel"},
}


def label(key: str, language: Language = "en") -> str:
    """The label of ``key`` (a result column or axis) in ``language``; unknown keys
    come back unchanged, with underscores as spaces.

    Examples
    --------
    >>> label("standard_error", "nl"), label("age_class", "nl")
    ('standaardfout', 'age class')
    """
    check_language(language)
    entry = LABELS.get(key)
    return entry[language] if entry else key.replace("_", " ")


def level_text(confidence_level: float, language: Language = "en") -> str:
    """A confidence level in percent, as its labels print it: ``"95"``, ``"97,5"``."""
    text = f"{100 * confidence_level:.10g}"
    return text.replace(".", ",") if language == "nl" else text


def ci_label(confidence_level: float = 0.95, language: Language = "en") -> str:
    """The label of the interval column at any confidence level.

    Examples
    --------
    >>> ci_label(0.9, "en"), ci_label(0.975, "nl")
    ('90% CI', '97,5%-btbi')
    """
    return label("ci", language).replace("95", level_text(confidence_level, language), 1)
