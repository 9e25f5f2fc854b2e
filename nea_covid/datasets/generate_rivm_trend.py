"""Seeded generator of SYNTHETIC RIVM trend-survey microdata (waves 2-11).

The RIVM trend survey (trendonderzoek) is a series of independent cross-sections of
people aged 16+, about 5,000 per wave, stratified disproportionately over the 25 safety
regions (about 200 each) and weighted. Its microdata are not public; this module makes
an invented data set with the same design and the library's source-variable names and
codes (:data:`nea_covid.harmonisation.SOURCE_VARIABLES`), calibrated so that the weighted
national series "works from home as much as possible" (base: all working people 16+,
definition ``rivm_wfh_as_much_as_possible``) reproduces RIVM's published figures for
waves 2-11 and the wave-6 figures by age class and education.

Run ``python -m nea_covid.datasets.generate_rivm_trend`` to rewrite
``nea_covid/datasets/data/rivm_trend.csv.gz``; the same seed gives a byte-identical file
(gzip with ``mtime=0``). The data card ``rivm_trend.md`` next to it says what is
reproduced and what is invented.

How the data are made (vectorised, one ``numpy.random.Generator``):

1. per wave and region, about 200 respondents (180-220); design weight = the region's
   invented 16+ population / its sample size;
2. sex, age class (with an online-panel skew: fewer young people, more highly educated
   than the population), age in years, education;
3. employment status, can work from home (workers), share of hours at home;
4. weights: the design weights post-stratified per wave with
   :meth:`nea_covid.SurveyDesign.poststratify` to the invented population counts of
   age class x sex x education (:data:`POPULATION`);
5. "works from home as much as possible" (all workers): a logistic model in the wave,
   age class, education and whether one can work from home, whose wave and group
   shifts are solved on the drawn uniforms so that the *weighted* shares equal the
   published figures (:data:`PUBLISHED`, :data:`PUBLISHED_WAVE6`).

Examples
--------
>>> from nea_covid.datasets.generate_rivm_trend import generate
>>> small = generate(seed=1, n_per_region=20, waves=(6,))
>>> small.shape[0] > 400, sorted(small["region"].unique())[:2]
(True, ['VR01', 'VR02'])
"""

from __future__ import annotations

import argparse
import gzip
import io
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from nea_covid.errors import ArgumentError

__all__ = [
    "AGE_CLASSES",
    "EDUCATION",
    "POPULATION",
    "PUBLISHED",
    "PUBLISHED_WAVE6",
    "REGION_POPULATION",
    "SEED",
    "WAVE_DATES",
    "generate",
    "main",
    "population_totals",
    "write",
]

#: Default seed of the bundled file.
SEED = 20201020

#: First day of fieldwork per wave (RIVM open data ``Date_of_measurement``); the
#: fieldwork of a wave lasts 7 days (wave 6: 5-11 Jan 2021).
WAVE_DATES: dict[int, str] = {
    2: "2020-10-20", 3: "2020-11-10", 4: "2020-12-01", 5: "2020-12-15",
    6: "2021-01-05", 7: "2021-01-26", 8: "2021-02-16", 9: "2021-03-09",
    10: "2021-03-30", 11: "2021-04-20",
}

#: Published national "works from home if possible" (percent, 95% CI, n) per wave,
#: RIVM open data COVID-19_gedrag.csv (public domain), report of 4 May 2021.
PUBLISHED: dict[int, tuple[float, float, float, int]] = {
    2: (70.9, 69.2, 72.5, 3589), 3: (70.3, 68.6, 72.0, 3126),
    4: (69.8, 68.0, 71.5, 3216), 5: (71.0, 69.3, 72.6, 3369),
    6: (72.7, 71.0, 74.4, 3107), 7: (70.5, 68.8, 72.2, 3129),
    8: (70.0, 68.2, 71.7, 3134), 9: (67.4, 65.6, 69.2, 3149),
    10: (67.8, 66.0, 69.5, 3164), 11: (67.2, 65.3, 68.9, 3058),
}

#: Published wave-6 figures by age class and by education (percent).
PUBLISHED_WAVE6: dict[str, dict[str, float]] = {
    "age_class": {"16-24": 77.2, "25-39": 69.2, "40-54": 72.2, "55-69": 73.9, "70+": 90.1},
    "education": {"low": 79.0, "middle": 76.4, "high": 67.3},
}

AGE_CLASSES: tuple[str, ...] = ("16-24", "25-39", "40-54", "55-69", "70+")
_AGE_RANGE = ((16, 24), (25, 39), (40, 54), (55, 69), (70, 94))
EDUCATION: tuple[str, ...] = ("low", "middle", "high")
_SEXES: tuple[str, ...] = ("male", "female")

#: INVENTED 16+ population per safety region (thousands; round numbers of roughly the
#: right size, summing to 14,400).
REGION_POPULATION: dict[str, int] = dict(zip(
    [f"VR{h:02d}" for h in range(1, 26)],
    [500, 540, 410, 440, 520, 690, 560, 460, 1100, 560, 280, 460, 880, 210, 940,
     690, 1160, 390, 330, 940, 540, 660, 440, 510, 360], strict=True))

# INVENTED population of the Netherlands 16+ (thousands) by age class, the share of men
# per age class, and education shares (low, middle, high) by age class and sex.
_AGE_TOTALS = (1850, 3300, 3550, 3400, 2300)
_MALE_SHARE = (0.51, 0.50, 0.50, 0.495, 0.45)
_EDU_SHARES = {
    "male": ((0.32, 0.50, 0.18), (0.18, 0.42, 0.40), (0.22, 0.42, 0.36),
             (0.28, 0.40, 0.32), (0.40, 0.33, 0.27)),
    "female": ((0.26, 0.50, 0.24), (0.13, 0.39, 0.48), (0.20, 0.43, 0.37),
               (0.34, 0.39, 0.27), (0.55, 0.30, 0.15)),
}


def population_totals() -> pd.Series:
    """The INVENTED population counts (persons) the weights are post-stratified to.

    Returns
    -------
    pandas.Series
        Indexed by ``"<age class>|<sex>|<education>"`` (30 cells), summing to 14.4
        million.

    Examples
    --------
    >>> from nea_covid.datasets.generate_rivm_trend import population_totals
    >>> totals = population_totals()
    >>> len(totals), int(totals.sum())
    (30, 14400000)
    """
    cells: dict[str, float] = {}
    for a, age in enumerate(AGE_CLASSES):
        for sex in _SEXES:
            share = _MALE_SHARE[a] if sex == "male" else 1 - _MALE_SHARE[a]
            for e, edu in enumerate(EDUCATION):
                cells[f"{age}|{sex}|{edu}"] = (
                    _AGE_TOTALS[a] * 1000 * share * _EDU_SHARES[sex][a][e])
    return pd.Series(cells, name="population")


#: The post-stratification cells and counts (see :func:`population_totals`).
POPULATION: pd.Series = population_totals()

# Sample composition (online panel): age class shares of respondents (as in RIVM's
# wave-6 sample sizes), and an over-representation of the highly educated.
_SAMPLE_AGE = np.array([0.12, 0.205, 0.25, 0.245, 0.18])
_SAMPLE_EDU_TILT = np.array([0.85, 1.0, 1.3])
# P(working) by age class (logit) and education shift; P(self-employed | working).
_WORK_LOGIT = np.log(np.array([0.70, 0.90, 0.86, 0.55, 0.09])
                     / (1 - np.array([0.70, 0.90, 0.86, 0.55, 0.09])))
_WORK_EDU = np.array([-0.55, 0.0, 0.35])
_SELF_EMPLOYED = np.array([0.06, 0.12, 0.16, 0.20, 0.45])
# Can work from home among workers: P(fully), P(partly) by education; young workers
# (retail, hospitality) half as often; 1.5% don't know.
_CAN_FULLY = np.array([0.08, 0.18, 0.45])
_CAN_PARTLY = np.array([0.12, 0.24, 0.30])
_CAN_AGE = np.array([0.5, 1.0, 1.0, 0.95, 0.8])
_CAN_DONT_KNOW = 0.015
# "As much as possible" logit shift by can_work_from_home (1, 2, 3, 8) and its
# don't-know share; the age, education and wave shifts are solved (see _solve).
_WFH_CAN = {1: 0.9, 2: -1.0, 3: 0.25, 8: 0.0}
_WFH_DONT_KNOW = 0.01
_COLUMNS = ["respondent_id", "wave", "date", "region", "stratum", "sex", "age", "age_class",
            "education", "employment_status", "can_work_from_home",
            "wfh_as_much_as_possible", "share_hours_at_home", "weight"]


def _expit(x: NDArray[np.float64]) -> NDArray[np.float64]:
    out: NDArray[np.float64] = 1.0 / (1.0 + np.exp(-x))
    return out


def _wave_frame(rng: np.random.Generator, wave: int, n_per_region: int) -> pd.DataFrame:
    """Respondents of one wave with everything but the outcome and the final weight."""
    regions = np.array(list(REGION_POPULATION))
    spread = max(1, n_per_region // 10)
    sizes = rng.integers(n_per_region - spread, n_per_region + spread + 1, size=regions.size)
    region = np.repeat(np.arange(regions.size), sizes)
    n = region.size
    pop = np.array(list(REGION_POPULATION.values()), dtype=np.float64) * 1000
    design_weight = (pop / sizes)[region]

    age_c = rng.choice(len(AGE_CLASSES), size=n, p=_SAMPLE_AGE)
    male_share = np.array(_MALE_SHARE)[age_c]
    male = rng.random(n) < male_share
    edu_pop = np.where(male[:, None], np.array(_EDU_SHARES["male"])[age_c],
                       np.array(_EDU_SHARES["female"])[age_c]) * _SAMPLE_EDU_TILT
    edu_pop /= edu_pop.sum(axis=1, keepdims=True)
    edu = (rng.random(n)[:, None] > np.cumsum(edu_pop, axis=1)).sum(axis=1)
    edu = np.minimum(edu, len(EDUCATION) - 1)
    low, high = np.array(_AGE_RANGE).T
    span = high - low + 1
    # 70+: ages thin out (triangular towards 94)
    u = rng.random(n)
    u = np.where(age_c == 4, 1 - np.sqrt(1 - u), u)
    age = low[age_c] + np.floor(u * span[age_c]).astype(np.int64)

    works = rng.random(n) < _expit(_WORK_LOGIT[age_c] + _WORK_EDU[edu])
    self_emp = rng.random(n) < _SELF_EMPLOYED[age_c]
    employment = np.where(works, np.where(self_emp, 2, 1), 3)

    p_fully = _CAN_FULLY[edu] * _CAN_AGE[age_c]
    p_partly = _CAN_PARTLY[edu] * _CAN_AGE[age_c]
    draw = rng.random(n)
    can = np.select(
        [draw < _CAN_DONT_KNOW, draw < _CAN_DONT_KNOW + p_fully,
         draw < _CAN_DONT_KNOW + p_fully + p_partly], [8, 1, 2], 3)
    can_f = np.where(works, can, 0)

    hours = np.select(
        [can_f == 1, can_f == 2], [rng.beta(6.0, 1.5, n), rng.beta(2.5, 3.0, n)], np.nan)
    start = np.datetime64(WAVE_DATES[wave])
    date = start + rng.integers(0, 7, size=n).astype("timedelta64[D]")
    return pd.DataFrame({
        "wave": np.full(n, wave), "date": date, "region": regions[region],
        "stratum": [f"W{wave:02d}-{r}" for r in regions[region]],
        "sex": np.array(_SEXES)[np.where(male, 0, 1)], "age": age,
        "age_class": np.array(AGE_CLASSES)[age_c], "education": np.array(EDUCATION)[edu],
        "employment_status": employment,
        "can_work_from_home": np.where(works, can, -1),
        "share_hours_at_home": np.round(hours, 2),
        "_age_c": age_c, "_edu": edu, "_design_weight": design_weight,
        "_u": rng.random(n), "_dk": rng.random(n) < _WFH_DONT_KNOW,
    })


def _poststratify(frame: pd.DataFrame) -> NDArray[np.float64]:
    """The design weights post-stratified to :data:`POPULATION` (library's own method)."""
    from nea_covid.design import SurveyDesign

    cell = frame["age_class"] + "|" + frame["sex"] + "|" + frame["education"]
    data = pd.DataFrame({"cell": cell.to_numpy(), "w": frame["_design_weight"].to_numpy(),
                         "region": frame["region"].to_numpy()})
    present = POPULATION[POPULATION.index.isin(cell.unique())]
    design = SurveyDesign(data, strata="region", weights="w").poststratify(
        "cell", present * (POPULATION.sum() / present.sum()))
    return np.asarray(design.weights, dtype=np.float64)


def _weighted_share(yes: NDArray[np.bool_], weight: NDArray[np.float64],
                    group: NDArray[np.int64], k: int) -> NDArray[np.float64]:
    num = np.bincount(group, weights=weight * yes, minlength=k)
    den = np.bincount(group, weights=weight, minlength=k)
    out: NDArray[np.float64] = num / np.where(den > 0, den, 1.0)
    return out


def _solve_shift(u: NDArray[np.float64], eta: NDArray[np.float64],
                 weight: NDArray[np.float64], group: NDArray[np.int64],
                 target: NDArray[np.float64]) -> NDArray[np.float64]:
    """Per group, the logit shift s with weighted share of ``u < expit(eta + s)`` closest
    to ``target`` (bisection on every group at once; the share is a monotone step)."""
    k = target.size
    lo, hi = np.full(k, -15.0), np.full(k, 15.0)
    for _ in range(60):
        mid = (lo + hi) / 2
        share = _weighted_share(u < _expit(eta + mid[group]), weight, group, k)
        below = share < target
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    shift: NDArray[np.float64] = (lo + hi) / 2
    return shift


def _outcome(frame: pd.DataFrame, weight: NDArray[np.float64],
             shifts: dict[str, NDArray[np.float64]] | None) -> tuple[
                 NDArray[np.int64], dict[str, NDArray[np.float64]]]:
    """Draw ``wfh_as_much_as_possible`` (1 yes / 2 no / 8 don't know; NaN if not
    working) so that the weighted shares among workers with an answer hit the targets.

    Without ``shifts`` (wave 6) the age-class and education shifts are solved by
    alternating bisections to the wave-6 figures by age and education; with them (the
    other waves) only a wave shift is solved to the national figure.
    """
    wave = int(frame["wave"].iloc[0])
    valid = (frame["employment_status"].to_numpy() != 3) & ~frame["_dk"].to_numpy()
    u = frame["_u"].to_numpy()[valid]
    w = weight[valid]
    age_c = frame["_age_c"].to_numpy()[valid]
    edu = frame["_edu"].to_numpy()[valid]
    base = np.array([_WFH_CAN[int(c)] for c in frame["can_work_from_home"].to_numpy()[valid]]
                    if valid.any() else [], dtype=np.float64)
    if shifts is None:
        a = np.zeros(len(AGE_CLASSES))
        b = np.zeros(len(EDUCATION))
        t_age = np.array(list(PUBLISHED_WAVE6["age_class"].values())) / 100
        t_edu = np.array(list(PUBLISHED_WAVE6["education"].values())) / 100
        for _ in range(25):
            a = _solve_shift(u, base + b[edu], w, age_c, t_age)
            b = _solve_shift(u, base + a[age_c], w, edu, t_edu)
            b -= b[1]  # middle education is the reference
        shifts = {"age": a, "education": b}
        eta = base + shifts["age"][age_c] + shifts["education"][edu]
        # the national figure is implied by the age classes: nudge it onto the target
        c = _solve_shift(u, eta, w, np.zeros(u.size, dtype=np.int64),
                         np.array([PUBLISHED[wave][0] / 100]))
        eta = eta + 0.5 * c[0]
    else:
        eta = base + shifts["age"][age_c] + shifts["education"][edu]
        c = _solve_shift(u, eta, w, np.zeros(u.size, dtype=np.int64),
                         np.array([PUBLISHED[wave][0] / 100]))
        eta = eta + c[0]
    code = np.full(frame.shape[0], -1, dtype=np.int64)
    code[frame["employment_status"].to_numpy() != 3] = 8
    code[valid] = np.where(u < _expit(eta), 1, 2)
    return code, shifts


def generate(seed: int = SEED, *, n_per_region: int = 200,
             waves: Iterable[int] = tuple(WAVE_DATES)) -> pd.DataFrame:
    """Generate the synthetic trend-survey respondents.

    Parameters
    ----------
    seed : int, default :data:`SEED`
    n_per_region : int, default 200
        Average respondents per safety region and wave (each region gets
        ``n_per_region`` +/- 10%).
    waves : iterable of int, default 2-11
        Waves to generate (each in :data:`WAVE_DATES`). Wave 6 fixes the age and
        education shifts of the outcome; it is always generated first (and dropped
        again if not asked for), so a subset of waves gives the same rows for a wave
        only when it includes the same earlier waves.

    Returns
    -------
    pandas.DataFrame
        One row per respondent; the columns of ``rivm_trend.csv.gz``. Codes missing
        by routing are ``pd.NA`` (nullable ``Int64``).

    Examples
    --------
    >>> from nea_covid.datasets.generate_rivm_trend import generate
    >>> df = generate(seed=3, n_per_region=20, waves=(6, 7))
    >>> sorted(df["wave"].unique().tolist())
    [6, 7]
    """
    wanted = sorted({int(w) for w in waves})
    unknown = [w for w in wanted if w not in WAVE_DATES]
    if unknown:
        raise ArgumentError(f"waves must be among {sorted(WAVE_DATES)}, not {unknown}.")
    if n_per_region < 10:
        raise ArgumentError(f"n_per_region must be at least 10, not {n_per_region}.")
    rng = np.random.default_rng(seed)
    order = [6, *[w for w in WAVE_DATES if w != 6]]
    frames: dict[int, pd.DataFrame] = {}
    shifts: dict[str, NDArray[np.float64]] | None = None
    for wave in order:
        if wave not in wanted and wave != 6:
            continue
        frame = _wave_frame(rng, wave, n_per_region)
        weight = _poststratify(frame)
        code, shifts = _outcome(frame, weight, shifts)
        frames[wave] = frame.assign(wfh_as_much_as_possible=code, weight=weight)
    out = pd.concat([frames[w] for w in wanted], ignore_index=True)
    out.insert(0, "respondent_id", np.arange(1, out.shape[0] + 1))
    out = out[_COLUMNS].copy()
    for name in ("can_work_from_home", "wfh_as_much_as_possible"):
        out[name] = out[name].astype("Int64").mask(out[name] < 0)
    return out


def write(path: str | Path, seed: int = SEED, **kwargs: object) -> Path:
    """Generate and write the gzip'ed CSV (``mtime=0``: same seed, same bytes).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from nea_covid.datasets.generate_rivm_trend import write
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = write(pathlib.Path(tmp) / "x.csv.gz", seed=1, n_per_region=20, waves=(6,))
    ...     p.stat().st_size > 1000
    True
    """
    frame = generate(seed, **kwargs)  # type: ignore[arg-type]
    frame = frame.assign(date=frame["date"].dt.strftime("%Y-%m-%d"))
    text = frame.to_csv(index=False, lineterminator="\n")
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=9) as gz:
        gz.write(text.encode("utf-8"))
    target = Path(path)
    target.write_bytes(buffer.getvalue())
    return target


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: ``python -m nea_covid.datasets.generate_rivm_trend [--seed N]
    [--output PATH]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--output", type=Path,
                        default=Path(__file__).parent / "data" / "rivm_trend.csv.gz")
    args = parser.parse_args(argv)
    path = write(args.output, args.seed)
    print(f"wrote {path} ({path.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
