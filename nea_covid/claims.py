"""The letters' claims table and its audit.

Every figure the two letters to the House (16 November 2020 and Kamerstuk 25 295, nr. 983)
print is one row of ``nea_covid/data/claims.csv``: the quoted sentence, the published
value, and the computation that reproduces it from the bundled data:

``estimate``
    a share (``definition`` from :data:`~nea_covid.harmonisation.DEFINITIONS` and its
    ``level``, or a data ``variable`` with its codes ``level`` on a ``base``) in one wave,
    with its 95% confidence interval;
``mean``
    the mean of a numeric data ``variable`` (``level`` empty; e.g. hours a week worked
    at home) on a ``base`` in one wave, in the claim's ``unit``, with its 95% CI;
``extrapolation``
    such a share times ``population`` (:func:`~nea_covid.extrapolate`), and the letter's
    own ``expression`` (e.g. ``48% × 7,500,000``) checked against the printed count.
    The letter multiplies a share of werknemers *in work* by *all* werknemers; the
    "printed count inside our CI" judgement follows that reading (said so in the
    computation text), which also reports the data's own count, the weighted total of
    the indicator over the share's base;
``change``
    the change between two ``waves`` of the panel, paired (:func:`~nea_covid.compare`);
``arithmetic``
    the letter's own ``expression`` over published numbers, evaluated by a tiny parser
    (numbers, ``+ - − × * / ( )`` and ``%``; nothing else) and checked with
    :func:`~nea_covid.rounds_to` at the printed precision (``digits`` decimals of the
    unit: percentage points, or millions for ``persons``);
``estimate``, ``mean`` and ``change`` are judged by the published figure's own
rounding: printed with ``digits`` decimals, it stands for the interval
``value ± 0.5·10^-digits`` (a change of two such figures for ``± 10^-digits``), and it
is consistent with our estimate when that interval overlaps our 95% CI. An
``expression`` on an estimate row says how the letter's figure follows from its words
(``2/3 × 45`` for "45 procent ..., waarvan twee derde"). Every rounded number is
printed rounded half away from zero, as :func:`~nea_covid.rounds_to` judges it.

``published``
    a figure the letters quote from a source that is not bundled (KiM, the RIVM
    cohort, other research), its source in ``expression``: recorded, neither
    reproduced nor audited (verdict ``"published only"``).

A ``base`` is ``variable=code|code`` conditions joined by ``;``; ``variable@wave=...``
selects the panel members with those codes in that wave (all their rows). ``missing``:
``"no"`` counts a missing answer (a question routed past) as not having the level,
``"omit"`` leaves it out. The bundled data are SYNTHETIC: estimates reproduce the
published figures by construction; the audit of the letters' arithmetic does not depend
on them.

Examples
--------
>>> from nea_covid.claims import evaluate, load_claims
>>> evaluate("48% × 7,500,000")
3600000.0
>>> load_claims().query("kind == 'arithmetic'").shape[0]
9
"""

from __future__ import annotations

import re
from importlib import resources
from typing import Any, Literal

import numpy as np
import pandas as pd

from nea_covid.contrasts import compare
from nea_covid.design import SurveyDesign
from nea_covid.errors import ArgumentError
from nea_covid.estimators import mean, total
from nea_covid.extrapolate import extrapolate, format_count, rounds_to
from nea_covid.formatting import round_half_up
from nea_covid.harmonisation import get_definition, harmonised_proportion
from nea_covid.results import Estimate

__all__ = ["COLUMNS", "MAX_DEPTH", "evaluate", "load_claims", "reproduce_claims"]

#: Columns of :func:`reproduce_claims`.
COLUMNS: tuple[str, ...] = (
    "id", "letter", "quote", "published", "ours", "ci_low", "ci_high", "extrapolated",
    "pvalue", "definition", "verdict", "computation", "kind", "unit", "in_ci",
)
_KINDS = ("estimate", "mean", "extrapolation", "change", "arithmetic", "published")
_UNITS = {"%": 1.0, "persons": 1e6, "h/week": 1.0}

# ---------------------------------------------------------------------- arithmetic
#: Deepest nesting of parentheses and unary minus signs :func:`evaluate` accepts.
MAX_DEPTH = 100
_TOKEN = re.compile(r"\s*(?:(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)|([-+−×*/()%]))")


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise ArgumentError(
                f"Cannot parse {text!r} at position {pos}: only numbers and the operators "
                "+ - − × * / ( ) % are allowed.")
        out.append(match.group(1) or match.group(2))
        pos = match.end()
    return out


def evaluate(expression: str) -> float:
    """Evaluate arithmetic over numbers, safely (no ``eval``).

    Parameters
    ----------
    expression : str
        Numbers (``7,500,000`` with thousands commas, ``9.2``), ``+``, ``-`` or ``−``,
        ``*`` or ``×``, ``/``, parentheses and a postfix ``%`` (divides by 100).

    Returns
    -------
    float

    Raises
    ------
    ArgumentError (a ValueError)
        For anything else (names, ``**``, empty input, division by zero, parentheses
        or unary minus signs nested deeper than :data:`MAX_DEPTH`).

    Examples
    --------
    >>> evaluate("100 − 9.2")
    90.8
    >>> round(evaluate("55 × 5,120 / 7,937"), 1)
    35.5
    >>> evaluate("__import__('os')")
    Traceback (most recent call last):
    ...
    nea_covid.errors.ArgumentError: Cannot parse "__import__('os')" at position 0: only numbers and the operators + - − × * / ( ) % are allowed.
    """  # noqa: E501
    if not isinstance(expression, str):
        raise ArgumentError(f"An expression must be a string, not {type(expression).__name__}.")
    tokens = _tokens(expression)
    pos = 0
    depth = 0

    def deeper() -> None:
        nonlocal depth
        depth += 1
        if depth > MAX_DEPTH:
            raise ArgumentError(
                f"{expression[:40]!r}... nests parentheses or unary minus signs deeper "
                f"than {MAX_DEPTH} levels.")

    def peek() -> str | None:
        return tokens[pos] if pos < len(tokens) else None

    def take() -> str:
        nonlocal pos
        if pos >= len(tokens):
            raise ArgumentError(f"Unexpected end of {expression!r}.")
        pos += 1
        return tokens[pos - 1]

    def expr() -> float:
        value = term()
        while peek() in ("+", "-", "−"):
            op = take()
            value = value + term() if op == "+" else value - term()
        return value

    def term() -> float:
        value = factor()
        while peek() in ("*", "×", "/"):
            op = take()
            right = factor()
            if op == "/":
                if right == 0:
                    raise ArgumentError(f"Division by zero in {expression!r}.")
                value /= right
            else:
                value *= right
        return value

    def factor() -> float:
        nonlocal depth
        if peek() in ("-", "−"):
            take()
            deeper()
            value = -factor()
            depth -= 1
            return value
        token = take()
        if token == "(":
            deeper()
            value = expr()
            depth -= 1
            if take() != ")":
                raise ArgumentError(f"Unbalanced parentheses in {expression!r}.")
        elif token[0].isdigit():
            value = float(token.replace(",", ""))
        else:
            raise ArgumentError(f"Unexpected {token!r} in {expression!r}.")
        while peek() == "%":
            take()
            value /= 100
        return value

    result = expr()
    if pos != len(tokens):
        raise ArgumentError(f"Unexpected {tokens[pos]!r} in {expression!r}.")
    return float(round(result, 10))


# ---------------------------------------------------------------------- the table
def load_claims() -> pd.DataFrame:
    """The claims table shipped as ``nea_covid/data/claims.csv``, one row per claim.

    Returns
    -------
    pandas.DataFrame
        Text columns ``id``, ``letter``, ``quote``, ``published`` (``;`` between the
        two values of a change), ``unit`` ("%" or "persons"), ``digits`` (printed
        decimals), ``kind``, ``dataset``, ``definition``, ``variable``, ``level``,
        ``base``, ``missing``, ``waves``, ``population``, ``expression`` (the letter's
        arithmetic, or how an estimate's published figure follows from the letter's
        words; empty strings where not used).

    Examples
    --------
    >>> from nea_covid.claims import load_claims
    >>> claims = load_claims()
    >>> claims.set_index("id").loc["ext_at_home", ["published", "expression"]].tolist()
    ['3500000', '48% × 7,500,000']
    """
    path = resources.files("nea_covid").joinpath("data", "claims.csv")
    with resources.as_file(path) as p:
        frame = pd.read_csv(p, dtype=str, keep_default_na=False, encoding="utf-8")
    bad = sorted(set(frame["kind"]) - set(_KINDS))
    if bad:
        raise ArgumentError(f"claims.csv: unknown kinds {bad}; use one of {_KINDS}.")
    if frame["id"].duplicated().any():
        raise ArgumentError("claims.csv: ids must be unique.")
    return frame


def _designs() -> dict[str, tuple[pd.DataFrame, SurveyDesign]]:
    from nea_covid.datasets import load_nea_covid, load_rivm_trend

    panel = load_nea_covid()
    rivm = load_rivm_trend()
    out = {}
    for name, frame, clusters in (("nea_covid", panel, "panel_id"), ("rivm_trend", rivm, None)):
        frame = frame.copy()
        frame["_wave"] = frame["wave"].astype(str)
        out[name] = (frame, SurveyDesign(frame, strata="stratum", clusters=clusters,
                                         weights="weight"))
    return out


def _codes(text: str) -> list[int]:
    return [int(c) for c in text.split("|")]


def _base(frame: pd.DataFrame, spec: str) -> pd.Series:
    mask = pd.Series(True, index=frame.index)
    for cond in filter(None, (c.strip() for c in spec.split(";"))):
        left, codes = cond.split("=")
        if "@" in left:
            variable, wave = left.split("@")
            rows = (frame["_wave"] == wave) & frame[variable].isin(_codes(codes))
            mask &= frame["panel_id"].isin(frame.loc[rows, "panel_id"])
        else:
            mask &= frame[left].isin(_codes(codes)).fillna(False).astype(bool)
    return mask


def _estimate(data: dict[str, tuple[pd.DataFrame, SurveyDesign]], row: pd.Series,
              waves: list[str]) -> tuple[Estimate, pd.DataFrame, str]:
    """The estimate by wave (one row per wave, columns wave / estimate / ci)."""
    frame, design = data[row["dataset"]]
    mask = frame["_wave"].isin(waves) & _base(frame, row["base"])
    missing: Literal["raise", "omit"] = "omit" if row["missing"] == "omit" else "raise"
    if row["definition"]:
        definition = get_definition(row["definition"])
        est: Estimate = harmonised_proportion(design.subset(mask), definition, by="_wave",
                                              missing=missing)
        out = est.to_frame()
        out = out[out["level"].astype(str) == row["level"]]
        what = f"{definition.name} v{definition.version} = {row['level']}"
    else:
        variable = row["variable"]
        if row["level"]:  # a share: the indicator of the codes
            values = frame[variable].isin(_codes(row["level"])).astype(float)
            if row["missing"] != "no":
                values[frame[variable].isna()] = np.nan
            what = f"{variable} in {{{row['level'].replace('|', ', ')}}}"
            if row["missing"] == "no":
                what += " (not asked = no)"
        else:  # a mean of the variable itself
            values = frame[variable].astype(float)
            what = f"mean {variable}"
        design = SurveyDesign(frame.assign(_claim=values), strata="stratum",
                              clusters="panel_id" if row["dataset"] == "nea_covid" else None,
                              weights="weight")
        est = mean(design.subset(mask), "_claim", by="_wave", missing=missing)
        out = est.to_frame()
    if row["base"]:
        what += f"; base {row['base']}"
    return est, out.set_index("_wave"), what


def _fixed(value: float, digits: int, signed: bool = False) -> str:
    """``value`` with ``digits`` decimals, rounded half away from zero as the letters
    (and :func:`~nea_covid.rounds_to`) round: 76.5 → "77", not "76"."""
    rounded = float(round_half_up(np.asarray([value], dtype=np.float64), digits)[0]) + 0.0
    return f"{rounded:+.{digits}f}" if signed else f"{rounded:.{digits}f}"


def _own_count(data: dict[str, tuple[pd.DataFrame, SurveyDesign]], row: pd.Series,
               wave: str) -> tuple[float, float, float]:
    """The data's own count: the weighted total of the claim's indicator over its base
    in ``wave`` (estimate, ci_low, ci_high), not the share times a population."""
    frame, _ = data[row["dataset"]]
    mask = (frame["_wave"] == wave) & _base(frame, row["base"])
    if row["definition"]:
        definition = get_definition(row["definition"])
        applied = definition.apply(frame)
        on_base = applied[f"{definition.variable}_base"].fillna(False).astype(bool)
        values = (applied[definition.variable].astype(str) == row["level"]).astype(float)
        values[~on_base | applied[definition.variable].isna()] = np.nan
        mask &= on_base
    else:
        values = frame[row["variable"]].isin(_codes(row["level"])).astype(float)
        if row["missing"] != "no":
            values[frame[row["variable"]].isna()] = np.nan
    design = SurveyDesign(frame.assign(_claim=values), strata="stratum",
                          clusters="panel_id" if row["dataset"] == "nea_covid" else None,
                          weights="weight")
    est = total(design.subset(mask), "_claim", missing="omit").to_frame().iloc[0]
    return float(est["estimate"]), float(est["ci_low"]), float(est["ci_high"])


def _pct(x: float) -> str:
    return f"{_fixed(100 * x, 1)}%"


def _decimals(digits: int) -> str:
    return f"{digits} decimal" + ("" if digits == 1 else "s")


def _half(digits: int) -> float:
    """Half a unit in the last printed decimal: a figure printed with ``digits``
    decimals stands for ``value ± _half(digits)``."""
    return 0.5 * 10.0 ** -digits


def _overlaps(published: float, half: float, low: float, high: float) -> bool:
    """The published figure's rounding interval meets our confidence interval."""
    return bool(published - half <= high and low <= published + half)


def _range(published: float, half: float, decimals: int, signed: bool = False) -> str:
    """The published figure's rounding interval, e.g. "[44.5, 45.5]"."""
    sign = "+" if signed else ""
    return (f"[{published - half:{sign}.{decimals}f}, "
            f"{published + half:{sign}.{decimals}f}]")


def _rounds(value: float, published: float, unit: str, digits: int) -> bool:
    return bool(rounds_to(value, published, precision=_UNITS[unit], digits=digits))


def _shown(value: float, unit: str, digits: int) -> str:
    if unit == "persons":
        return str(format_count(value, "en", precision="million", digits=digits))
    return _fixed(value, digits)


def _arithmetic(row: pd.Series) -> dict[str, Any]:
    unit, digits = row["unit"], int(row["digits"])
    published = float(row["published"])
    value = evaluate(row["expression"])
    ok = _rounds(value, published, unit, digits)
    if unit == "persons":
        text = (f"{row['expression']} = {value:,.0f} → "
                f"{format_count(value, 'en', precision='million', digits=digits)}")
        printed = format_count(published, "en", precision="million", digits=digits,
                               prefix=None)
    else:
        text = f"{row['expression']} = {value:g} → {_fixed(value, digits)}"
        printed = f"{published:g}"
    text += (f" = {printed} as printed" if ok else f", not {printed} as printed")
    return {"ours": value, "verdict": "consistent" if ok else "inconsistent",
            "computation": text}


def _claim(data: dict[str, tuple[pd.DataFrame, SurveyDesign]], row: pd.Series
           ) -> dict[str, Any]:
    kind = row["kind"]
    out: dict[str, Any] = {c: row[c] for c in ("id", "letter", "quote", "kind", "unit")}
    out.update(published=np.nan, ours=np.nan, ci_low=np.nan, ci_high=np.nan,
               extrapolated="", pvalue=np.nan, definition="", in_ci=pd.NA)
    if kind == "arithmetic":
        out["published"] = float(row["published"])
        out.update(_arithmetic(row))
        return out
    if kind == "published":
        values = [float(v) for v in row["published"].split(";")]
        shown = " → ".join(f"{v:g}{row['unit']}" for v in values)
        out.update(published=values[-1] - values[0] if len(values) == 2 else values[0],
                   verdict="published only",
                   computation=f"published {shown} ({row['expression']}); not in the "
                               "bundled data, not reproduced")
        if len(values) == 2:
            out["unit"] = "pp"
        return out
    waves = row["waves"].split(";")
    est, by_wave, what = _estimate(data, row, waves)
    out["definition"] = f"{row['dataset']}: {what}"
    population = float(row["population"]) if row["population"] else None
    if kind == "change":
        low_pub, high_pub = (float(v) for v in row["published"].split(";"))
        comparison = compare(est, "_wave", base=waves[0], other=waves[1]).to_frame()
        if "level" in comparison:
            comparison = comparison[comparison["level"].astype(str) == row["level"]]
        c = comparison.iloc[0]
        out.update(published=high_pub - low_pub, ours=100 * float(c["estimate"]),
                   ci_low=100 * float(c["ci_low"]), ci_high=100 * float(c["ci_high"]),
                   pvalue=float(c["pvalue"]), unit="pp")
        digits = int(row["digits"])
        half = 2 * _half(digits)  # each of the two printed figures is rounded
        inside = _overlaps(out["published"], half, out["ci_low"], out["ci_high"])
        out["in_ci"] = inside
        out["verdict"] = "consistent" if inside else "inconsistent"
        out["computation"] = (
            f"published {low_pub:g}% → {high_pub:g}% ({out['published']:+g} pp; as "
            f"printed with {_decimals(digits)}, somewhere in "
            f"{_range(out['published'], half, digits + 1, signed=True)} pp); ours "
            f"{_pct(float(c['base_estimate']))} → {_pct(float(c['other_estimate']))}: "
            f"{_fixed(out['ours'], 1, True)} pp [{_fixed(out['ci_low'], 1, True)}, "
            f"{_fixed(out['ci_high'], 1, True)}], paired (same panel members), "
            f"p = {out['pvalue']:.2g}; published change "
            f"{'overlaps' if inside else 'does not overlap'} our 95% CI")
        return out
    cell = by_wave.loc[waves[0]]
    share, low, high = (float(cell[k]) for k in ("estimate", "ci_low", "ci_high"))
    count: pd.Series | None = None
    if population is not None:
        counts = extrapolate(est, population=population).to_frame().set_index("_wave")
        if "level" in counts:
            counts = counts[counts["level"].astype(str) == row["level"]]
        count = counts.loc[waves[0]]
        out["extrapolated"] = str(format_count(float(count["estimate"]), "en"))
    ours = f"{_pct(share)} [{_pct(low)}, {_pct(high)}] ({row['dataset']}, wave {waves[0]})"
    digits = int(row["digits"])
    if kind in ("mean", "estimate"):
        published = float(row["published"])
        scale = 1.0 if kind == "mean" else 100.0
        half = _half(digits)
        inside = _overlaps(published, half, scale * low, scale * high)
        out.update(published=published, ours=scale * share, ci_low=scale * low,
                   ci_high=scale * high, in_ci=inside,
                   verdict="consistent" if inside else "inconsistent")
        unit = f" {row['unit']}" if kind == "mean" else "%"
        if kind == "mean":
            ours = (f"{_fixed(share, 1)} [{_fixed(low, 1)}, {_fixed(high, 1)}]{unit} "
                    f"({row['dataset']}, wave {waves[0]})")
        shown = f"{published:g}{unit}"
        if row["expression"]:
            shown = (f"{published:g}{unit} (about {row['expression']} = "
                     f"{evaluate(row['expression']):g}{unit})")
        text = (f"ours {ours}; published {shown}, printed with {_decimals(digits)}, "
                f"stands for {_range(published, half, digits + 1)}{unit}: "
                f"{'overlaps' if inside else 'does not overlap'} our 95% CI")
        if count is not None:
            text += (f"; × {population:,.0f} = {out['extrapolated']} (share of the "
                     f"base × all {population:,.0f} werknemers, as the letter does)")
        out["computation"] = text
        return out
    # extrapolation: the letter's arithmetic and the published count against our CI
    assert count is not None
    assert population is not None
    published = float(row["published"])
    letter = _arithmetic(row)
    c_est, c_low, c_high = (float(count[k]) for k in ("estimate", "ci_low", "ci_high"))
    inside = c_low <= published <= c_high
    out.update(published=published, ours=c_est, ci_low=c_low, ci_high=c_high,
               in_ci=bool(inside))
    out["verdict"] = letter["verdict"]
    own, own_low, own_high = _own_count(data, row, waves[0])
    out["computation"] = (
        f"letter: {letter['computation']}; ours, the letter's reading (share of "
        f"werknemers in work × all {population:,.0f} werknemers, as the letter does, "
        f"though the share's base excludes those not in work): {_pct(share)} × "
        f"{population:,.0f} = {c_est:,.0f} [{c_low:,.0f}, {c_high:,.0f}] "
        f"({out['extrapolated']}); printed count {'inside' if inside else 'outside'} "
        f"that 95% CI; the data's own count (weighted total over the base): {own:,.0f} "
        f"[{own_low:,.0f}, {own_high:,.0f}] ({format_count(own, 'en')})")
    return out


def reproduce_claims(claims: pd.DataFrame | None = None) -> pd.DataFrame:
    """Compute and audit every claim from the bundled (synthetic) data.

    Parameters
    ----------
    claims : pandas.DataFrame, optional
        A claims table as :func:`load_claims` returns it (default: the shipped one).

    Returns
    -------
    pandas.DataFrame
        One row per claim with :data:`COLUMNS`: ``published`` and ``ours`` in the
        claim's ``unit`` (percent, percentage points for a change, persons for an
        extrapolation), our 95% interval ``ci_low``/``ci_high``, ``extrapolated`` (our
        count as a letter would print it), ``pvalue`` (changes), ``definition`` (what was
        estimated), ``verdict`` ("consistent" / "inconsistent" / "published only"),
        ``computation`` (the
        audit written out) and ``in_ci`` (data claims only: for estimates, means and
        changes, the published figure's rounding interval overlaps our 95% CI; for
        extrapolations, the printed count lies in our 95% CI for the letter's reading).

    Examples
    --------
    >>> from nea_covid.claims import load_claims, reproduce_claims
    >>> claims = load_claims()
    >>> out = reproduce_claims(claims[claims["id"] == "count_at_home"])
    >>> print(out.iloc[0]["computation"])
    48% × 7,500,000 = 3,600,000 → about 3.6 million, not 3.5 million as printed
    """
    table = load_claims() if claims is None else claims
    needs_data = bool((~table["kind"].isin(["arithmetic", "published"])).any())
    data = _designs() if needs_data else {}
    rows = [_claim(data, row) for _, row in table.iterrows()]
    return pd.DataFrame(rows, columns=list(COLUMNS))

