"""Seeded generator of the SYNTHETIC NEA-COVID panel shipped as ``data/nea_covid.csv.gz``.

The real NEA-COVID-19 microdata (TNO) are not public. This module invents a person x wave
panel of werknemers with the structure of the real panel (NEA 2019 baseline, waves W1 June-July
2020, W2 November 2020, W3 March 2021; about 26,300 invited; 10,616 / 9,829 / 8,911
respondents with non-monotone attrition; strata by sector with disproportionate allocation;
design weights and per-wave final weights raked with the library's own
:meth:`~nea_covid.SurveyDesign.rake` to invented population margins of 7.549 million
werknemers) and whose weighted estimates reproduce the figures TNO published.

How the published figures are hit: every outcome is a continuous latent score (invented
covariate effects + a person effect that persists across waves + wave noise); the cut-off
that turns it into answer codes is the weighted quantile, within the published figure's base
and with the wave's final weights, that gives the published share (:data:`TARGETS`). The
figures are therefore reproduced almost exactly (to one respondent's weight), while the
relationships between variables come from the invented effects (documented in the data card
``data/nea_covid.md``, written by :func:`write`).

Run ``python -m nea_covid.datasets.generate_nea_covid`` to (re)write the data file and the
card; the same seed gives a byte-identical file.

Examples
--------
>>> from nea_covid.datasets.generate_nea_covid import generate
>>> small = generate(n_invited=1500)
>>> small.groupby("wave", observed=True).size().tolist()
[1500, 605, 561, 508]
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

__all__ = [
    "AGE_CLASSES",
    "ALLOCATION",
    "EDUCATION",
    "OCCUPATIONS",
    "POPULATION_MARGINS",
    "RESPONDENTS",
    "SECTORS",
    "SEED",
    "TARGETS",
    "WAVES",
    "data_card",
    "generate",
    "population_margins",
    "to_csv_gz",
    "write",
]

Float = NDArray[np.float64]
Bool = NDArray[np.bool_]
Int = NDArray[np.int64]

#: The default seed of the shipped file.
SEED = 20201116
#: Wave labels (the loader makes them an ordered categorical).
WAVES: tuple[str, ...] = ("2019", "2020-06", "2020-11", "2021-03")
#: Linked respondents per COVID wave (W1, W2, W3) for 26,300 invited (TNO's counts).
RESPONDENTS: tuple[int, int, int] = (10_616, 9_829, 8_911)
N_INVITED = 26_300

#: Sectors (code: label), the strata.
SECTORS: Mapping[int, str] = {
    1: "agriculture and fishing", 2: "industry", 3: "construction", 4: "trade",
    5: "transport and storage", 6: "hospitality", 7: "information and communication",
    8: "financial services", 9: "business services", 10: "public administration",
    11: "education", 12: "health and welfare", 13: "culture, recreation, other services",
}
#: Share of the invited sample per sector (disproportionate: small sectors oversampled).
ALLOCATION: Mapping[int, float] = {
    1: 0.031, 2: 0.100, 3: 0.054, 4: 0.115, 5: 0.058, 6: 0.050, 7: 0.054, 8: 0.050,
    9: 0.115, 10: 0.073, 11: 0.085, 12: 0.138, 13: 0.077,
}
AGE_CLASSES: Mapping[int, str] = {1: "15-24", 2: "25-34", 3: "35-44", 4: "45-54", 5: "55-74"}
_AGE_BOUNDS = ((15, 24), (25, 34), (35, 44), (45, 54), (55, 74))
EDUCATION: Mapping[int, str] = {1: "low", 2: "middle", 3: "high"}
COMPANY_SIZE: Mapping[int, str] = {1: "1-9 employees", 2: "10-99 employees",
                                   3: "100 or more employees"}
OCCUPATIONS: Mapping[int, str] = {
    1: "managers and business/administration professionals",
    2: "office and administrative support",
    3: "ICT and technical specialists",
    4: "teaching",
    5: "care and welfare",
    6: "sales and customer service",
    7: "hospitality and personal services",
    8: "technical, manual and production",
    9: "transport and logistics",
}

#: INVENTED (plausible) population margins, werknemers 15-74 in 2019, total 7,549,000
#: (CBS's werknemers total; the split over cells is not CBS's). ``sex_age_class`` is
#: 10 x sex + age class (11 = man 15-24, ..., 25 = woman 55-74).
POPULATION_MARGINS: Mapping[str, Mapping[int, int]] = {
    "sex_age_class": {11: 610_000, 12: 860_000, 13: 790_000, 14: 860_000, 15: 780_000,
                      21: 640_000, 22: 790_000, 23: 710_000, 24: 790_000, 25: 719_000},
    "education": {1: 1_850_000, 2: 3_300_000, 3: 2_399_000},
    "sector": {1: 100_000, 2: 750_000, 3: 330_000, 4: 1_250_000, 5: 390_000, 6: 380_000,
               7: 260_000, 8: 240_000, 9: 1_100_000, 10: 420_000, 11: 500_000,
               12: 1_330_000, 13: 499_000},
}

#: The generating targets per wave (index 0 = 2019, 1 = W1, 2 = W2, 3 = W3): weighted
#: shares (or means) within the base named in the card. Published values are W1
#: without_work 0.12, at_home (0.29, 0.16); W2 at_home (0.345, 0.135), could_more
#: (0.048, 0.044 of all in work; 0.050 of them among only-on-location for RIVM's 53%),
#: wellbeing and on-location block; W3 at_home (0.35, 0.14); hours 5 (2019) and 30 (W1).
#: Every other number is invented.
TARGETS: Mapping[str, tuple[Any, ...]] = {
    "without_work": (0.0, 0.12, 0.125, 0.12),
    "no_work_at_moment": (0.0, 0.02, 0.025, 0.02),
    "at_home": ((0.015, 0.30), (0.29, 0.16), (0.345, 0.135), (0.35, 0.14)),
    "hours_at_home": (5.0, 30.0, 30.0, 30.0),
    # could work more: (only on location who could, partly who could, reason 1, reason 2),
    # all as shares of everyone in work
    "could_more": (None, (0.060, 0.040, 0.052, 0.048), (0.050, 0.042, 0.048, 0.044),
                   (0.050, 0.042, 0.048, 0.044)),
    "satisfied": (None, 0.77, 0.75, 0.72),
    "lonely": (None, 0.13, 0.14, 0.16),
    "complaints": (0.42, 0.39, 0.38, 0.38),
    "imbalance": (0.08, 0.10, 0.09, 0.09),
    "measures": (None, 0.88, 0.90, 0.91),
    "ppe_provided": (None, 0.61, 0.77, 0.79),
    "ppe_worn": (None, 0.80, 0.84, 0.85),
    "hygiene": (None, 0.92, 0.93, 0.93),
    "distance_colleagues_not": (None, 0.33, 0.34, 0.33),
    "distance_clients_not": (None, 0.50, 0.48, 0.46),
}
# life satisfaction 1-5 among the reference group, from 5 (very satisfied) down
_SATISFACTION_SPLIT = (0.24, 0.76)  # share of "very satisfied" within satisfied (5 vs 4)
_DISSATISFIED = (0.55, 0.30, 0.15)  # 3 / 2 / 1 within the not satisfied

# ---------------------------------------------------------------- invented effects
_FEMALE = np.array([0.30, 0.22, 0.10, 0.48, 0.22, 0.52, 0.25, 0.42, 0.45, 0.48, 0.65,
                    0.82, 0.55])
_YOUNG = np.array([0.6, -0.2, 0.0, 0.9, 0.0, 1.6, 0.1, -0.3, 0.2, -0.6, -0.3, 0.0, 0.5])
_HIGH_EDU = np.array([-0.8, -0.3, -0.6, -0.9, -0.8, -1.4, 1.0, 0.7, 0.3, 0.6, 1.0, 0.1, 0.0])
_LOW_EDU = np.array([0.6, 0.3, 0.5, 0.5, 0.6, 0.9, -0.8, -0.6, -0.2, -0.6, -0.8, -0.4, 0.0])
_LARGE = np.array([-1.0, 0.8, -0.3, 0.0, 0.5, -0.8, 0.3, 1.2, 0.2, 1.5, 0.8, 0.8, -0.2])
# occupation log-weights per sector (rows) x occupation (columns 1..9)
_OCC = np.log(np.array([
    [5, 8, 2, 0.2, 0.5, 3, 1, 60, 20],
    [10, 14, 10, 0.3, 0.5, 6, 1, 50, 9],
    [8, 10, 8, 0.2, 0.2, 2, 0.5, 65, 6],
    [8, 14, 4, 0.2, 1, 55, 3, 5, 10],
    [6, 16, 4, 0.2, 0.5, 5, 2, 12, 55],
    [5, 6, 1, 0.2, 0.5, 10, 75, 2, 2],
    [18, 15, 55, 0.5, 0.2, 8, 0.5, 2, 0.5],
    [35, 40, 15, 0.2, 0.2, 8, 0.5, 0.5, 0.5],
    [30, 25, 15, 1, 2, 8, 8, 6, 5],
    [35, 40, 10, 1, 5, 3, 2, 3, 1],
    [10, 10, 3, 70, 4, 1, 1, 1, 0.2],
    [6, 10, 2, 1, 75, 1, 3, 2, 0.5],
    [12, 12, 5, 6, 6, 12, 35, 8, 4],
]))
_OCC_HIGH = np.array([1.5, -0.3, 1.2, 1.3, 0.2, -0.8, -1.2, -1.0, -1.2])
_OCC_LOW = np.array([-1.5, -0.3, -1.0, -1.5, -0.3, 0.5, 0.8, 0.8, 0.8])
# ability to work at home, by occupation / sector
_HOME_OCC = np.array([1.6, 1.7, 1.9, -0.6, -2.6, -1.3, -2.8, -1.9, -2.3])
_HOME_SECTOR = np.array([-0.4, 0.0, -0.3, -0.3, -0.2, -0.6, 0.5, 0.7, 0.3, 0.6, -0.2, -0.5,
                         -0.2])
_JOBLOSS_SECTOR = np.array([0.2, 0.0, 0.0, 0.3, 0.2, 1.2, -0.2, -0.4, 0.3, -0.8, -0.6, -0.5,
                            0.9])
_NOWORK_SECTOR = np.array([0.0, 0.0, -0.3, 0.4, 0.2, 2.0, -0.5, -0.8, 0.0, -1.0, 0.0, -0.3,
                           1.5])
_CLIENT_CONTACT = np.array([0.5, 0.45, 0.35, 0.85, 0.95, 0.95, 0.3, 0.5, 0.55])
_PPE_OCC = np.array([-0.8, -0.8, -0.5, 0.3, 2.2, 1.0, 1.3, 0.6, 0.3])
_CROWD_OCC = np.array([-0.5, -0.4, -0.3, 0.6, 1.4, 0.2, 0.9, 0.8, 0.2])
_CLIENTS_OCC = np.array([-0.5, -0.6, -0.5, 1.0, 1.6, -0.2, 0.8, 0.0, 0.2])
_EMPLOYER_SECTOR = np.array([0.0, 0.5, 0.3, 0.4, 0.3, 0.0, -0.4, -0.2, 0.0, -0.3, 0.2, 0.3,
                             0.0])


# ---------------------------------------------------------------- helpers
def _largest_remainder(shares: Float, n: int) -> Int:
    raw = shares / shares.sum() * n
    out: Int = np.floor(raw).astype(np.int64)
    extra = n - int(out.sum())
    out[np.argsort(-(raw - out), kind="stable")[:extra]] += 1
    return out


def _cut(score: Float, weight: Float, ref: Bool, share: float) -> float:
    """The cut-off c with weighted share of ``score > c`` within ``ref`` = ``share``."""
    s, w = score[ref], weight[ref]
    order = np.argsort(-s, kind="stable")
    cum = np.cumsum(w[order]) / w.sum()
    k = int(np.searchsorted(cum, share))
    if k >= len(s):
        return float(s.min()) - 1.0
    # choose between k and k+1 respondents above the cut, whichever is closer
    below = cum[k - 1] if k > 0 else 0.0
    if k > 0 and abs(below - share) <= abs(cum[k] - share):
        return float(s[order[k]])
    return float(s[order[k + 1]]) if k + 1 < len(s) else float(s.min()) - 1.0


def _gumbel_choice(rng: np.random.Generator, logits: Float) -> Int:
    return np.asarray(np.argmax(logits + rng.gumbel(size=logits.shape), axis=1), np.int64)


def population_margins() -> dict[str, pd.Series]:
    """:data:`POPULATION_MARGINS` as Series (for ``design.rake``).

    Examples
    --------
    >>> from nea_covid.datasets.generate_nea_covid import population_margins
    >>> int(population_margins()["sector"].sum())
    7549000
    """
    return {k: pd.Series(dict(v), dtype=float) for k, v in POPULATION_MARGINS.items()}


def _rake(frame: pd.DataFrame) -> Float:
    from nea_covid.design import SurveyDesign

    d = SurveyDesign(frame, weights="design_weight", strata="stratum")
    raked = d.rake(population_margins(), max_iter=200, tol=1e-12)
    return np.asarray(raked.weights, dtype=np.float64)


# ---------------------------------------------------------------- the generator
def generate(seed: int = SEED, n_invited: int = N_INVITED) -> pd.DataFrame:
    """Generate the synthetic panel in long format (one row per person and wave answered).

    Parameters
    ----------
    seed : int, default :data:`SEED`
    n_invited : int, default 26,300
        Panel members (all have a 2019 row); respondents per COVID wave are TNO's counts
        scaled by ``n_invited / 26,300``.

    Returns
    -------
    pandas.DataFrame
        Integer codes as in the card; ``wave`` as text (the loader makes it categorical).

    Examples
    --------
    >>> from nea_covid.datasets.generate_nea_covid import generate
    >>> df = generate(n_invited=1000, seed=1)
    >>> sorted(df["work_location"].unique().tolist())
    [1, 2, 3, 4]
    """
    rng = np.random.default_rng(seed)
    n = int(n_invited)
    n_waves = len(WAVES)
    # ---- persons: sector (stratum) with disproportionate allocation
    alloc = np.array([ALLOCATION[k] for k in SECTORS])
    n_h = _largest_remainder(alloc, n)
    sector_idx = np.repeat(np.arange(len(SECTORS)), n_h)
    sector = sector_idx + 1
    pop_h = np.array([POPULATION_MARGINS["sector"][k] for k in SECTORS], dtype=float)
    design_weight = (pop_h / n_h)[sector_idx]
    female = rng.random(n) < _FEMALE[sector_idx]
    sex = np.where(female, 2, 1)
    age_logit = np.column_stack([
        _YOUNG[sector_idx], np.full(n, 0.3), np.full(n, 0.2), np.full(n, 0.25),
        np.full(n, 0.1) - 0.5 * _YOUNG[sector_idx],
    ])
    age_class = _gumbel_choice(rng, age_logit) + 1
    low = np.array([b[0] for b in _AGE_BOUNDS])[age_class - 1]
    high = np.array([b[1] for b in _AGE_BOUNDS])[age_class - 1]
    age_2019 = low + np.floor(rng.random(n) * (high - low + 1)).astype(np.int64)
    young = age_class == 1
    edu_logit = np.column_stack([
        _LOW_EDU[sector_idx] + 0.6 * young, np.full(n, 0.6) + 0.5 * young,
        _HIGH_EDU[sector_idx] - 0.8 * young,
    ])
    education = _gumbel_choice(rng, edu_logit) + 1
    size_logit = np.column_stack([np.full(n, -0.3), np.zeros(n), _LARGE[sector_idx]])
    company_size = _gumbel_choice(rng, size_logit) + 1
    occ_logit = (_OCC[sector_idx] + np.where(education[:, None] == 3, _OCC_HIGH, 0.0)
                 + np.where(education[:, None] == 1, _OCC_LOW, 0.0))
    occupation = _gumbel_choice(rng, occ_logit) + 1
    occ_idx = occupation - 1
    contract_hours = np.clip(np.round(
        36.0 - 8.0 * female + 2.0 * (education == 3) - 12.0 * young - 2.0 * (age_class == 5)
        + rng.normal(0.0, 4.0, n)), 8, 40)

    # ---- response: 2019 everyone; W1-W3 the best-scoring k (non-monotone attrition)
    propensity = (0.4 * (education - 2) - 0.5 * young + 0.3 * (age_class >= 4)
                  + rng.normal(0.0, 1.0, n))
    responded = np.zeros((n, n_waves), dtype=bool)
    responded[:, 0] = True
    previous = np.zeros(n)
    for w, count in enumerate(RESPONDENTS, start=1):  # three waves, vectorised over persons
        k = round(count * n / N_INVITED)
        score = propensity + 1.2 * previous + rng.normal(0.0, 0.8, n)
        chosen = np.argsort(-score, kind="stable")[:k]
        responded[chosen, w] = True
        previous = responded[:, w].astype(float)

    # ---- weights: the library's raking per wave
    sex_age_class = 10 * sex + age_class
    persons = pd.DataFrame({
        "stratum": sector, "sector": sector, "sex_age_class": sex_age_class,
        "education": education, "design_weight": design_weight,
    })
    weight = np.full((n, n_waves), np.nan)
    for w in range(n_waves):
        rows = responded[:, w]
        weight[rows, w] = _rake(persons.loc[rows].reset_index(drop=True))
    wt = np.nan_to_num(weight)
    resp = responded

    # ---- employment: lost job (employment_status 3), persistent with some return
    jobloss = (_JOBLOSS_SECTOR[sector_idx] + 0.7 * young - 0.4 * (education == 3)
               + rng.normal(0.0, 1.0, n))[:, None] + rng.normal(0.0, 0.45, (n, n_waves))
    employment_status = np.ones((n, n_waves), dtype=np.int64)
    for w in range(1, n_waves):
        c = _cut(jobloss[:, w], wt[:, w], resp[:, w], TARGETS["without_work"][w])
        employment_status[:, w] = np.where(jobloss[:, w] > c, 3, 1)
    employed = employment_status == 1
    nowork = (_NOWORK_SECTOR[sector_idx] + rng.normal(0.0, 1.0, n))[:, None] \
        + rng.normal(0.0, 0.7, (n, n_waves))
    work_location = np.where(employed, 3, 4).astype(np.int64)
    for w in range(1, n_waves):
        ref = resp[:, w] & employed[:, w]
        c = _cut(nowork[:, w], wt[:, w], ref, TARGETS["no_work_at_moment"][w])
        work_location[:, w] = np.where(ref & (nowork[:, w] > c), 4, work_location[:, w])

    # ---- work location: ordered latent home-working score
    ability = (_HOME_OCC[occ_idx] + _HOME_SECTOR[sector_idx] + 0.6 * (education == 3)
               - 0.6 * (education == 1) + 0.2 * (company_size == 3) - 0.3 * young)
    home = (ability + rng.normal(0.0, 1.3, n))[:, None] + rng.normal(0.0, 0.6, (n, n_waves))
    in_work = work_location != 4
    for w in range(n_waves):
        ref = resp[:, w] & in_work[:, w]
        fully, partly = TARGETS["at_home"][w]
        c1 = _cut(home[:, w], wt[:, w], ref, fully)
        c2 = _cut(home[:, w], wt[:, w], ref, fully + partly)
        loc = np.where(home[:, w] > c1, 1, np.where(home[:, w] > c2, 2, 3))
        work_location[:, w] = np.where(in_work[:, w], loc, 4)
    at_home = (work_location == 1) | (work_location == 2)
    on_location = (work_location == 2) | (work_location == 3)

    # ---- hours worked at home per week
    spread = 0.6 + 0.8 * rng.random((n, n_waves))
    hours = np.where(work_location == 1, contract_hours[:, None], 0.0)
    for w in range(n_waves):
        ref = resp[:, w] & at_home[:, w]
        partly = ref & (work_location[:, w] == 2)
        base = (contract_hours * spread[:, w])[partly]
        f = 0.5
        for _ in range(30):  # fixed point on a scalar: the rounding moves the mean a little
            h = np.clip(np.round(f * base), 1, contract_hours[partly] - 1)
            hours[partly, w] = h
            achieved = np.average(hours[ref, w], weights=wt[ref, w])
            f *= 1.0 + (TARGETS["hours_at_home"][w] - achieved) / max(achieved, 1.0) * 0.8
    hours_at_home = np.where(work_location == 4, np.nan, hours)

    # ---- could work (more) at home (asked of work_location 2 or 3, COVID waves)
    could = np.full((n, n_waves), np.nan)
    more = home + rng.normal(0.0, 0.6, (n, n_waves))
    reason = (_EMPLOYER_SECTOR[sector_idx] + 0.4 * (company_size == 3) - 0.3 * female
              + rng.normal(0.0, 1.0, n))[:, None] + rng.normal(0.0, 0.5, (n, n_waves))
    for w in range(1, n_waves):
        loc3_share, loc2_share, r1, _r2 = TARGETS["could_more"][w]
        ref = resp[:, w] & in_work[:, w]
        total_w = wt[ref, w].sum()
        yes = np.zeros(n, dtype=bool)
        for code, share in ((3, loc3_share), (2, loc2_share)):
            group = ref & (work_location[:, w] == code)
            c = _cut(more[:, w], wt[:, w], group, share * total_w / wt[group, w].sum())
            yes |= group & (more[:, w] > c)
        c = _cut(reason[:, w], wt[:, w], yes, r1 / (loc3_share + loc2_share))
        answer = np.where(yes, np.where(reason[:, w] > c, 1, 2), 3).astype(float)
        could[:, w] = np.where(on_location[:, w], answer, np.nan)

    # ---- wellbeing; reference group: home workers of the wave
    homeworkers = resp & at_home
    w2_home = homeworkers[:, 2]
    person = rng.normal(0.0, 1.0, (n, 4))
    noise = rng.normal(0.0, 0.7, (n, n_waves, 4))
    lonely_score = ((0.6 * young + 0.2 * (age_class == 5))[:, None] + 0.3 * (work_location == 1)
                    + 0.4 * (employment_status == 3) + person[:, [0]] + noise[..., 0])
    complaints_score = ((0.4 * female + 0.5 * (occ_idx <= 2) + 0.15 * (age_class >= 3))[:, None]
                        + 0.2 * at_home + person[:, [1]] + noise[..., 1])
    imbalance_score = ((0.25 * female + 0.03 * (contract_hours - 30)
                        + 0.3 * (education == 3))[:, None]
                       + 0.3 * (work_location == 2) + person[:, [2]] + noise[..., 2])
    lonely = np.full((n, n_waves), np.nan)
    satisfaction = np.full((n, n_waves), np.nan)
    complaints = np.full((n, n_waves), np.nan)
    imbalance = np.full((n, n_waves), np.nan)
    for w in range(n_waves):
        ref = homeworkers[:, w]
        for out, score, key in ((complaints, complaints_score, "complaints"),
                                (imbalance, imbalance_score, "imbalance")):
            # 2019 complaints: the W2 home workers' own 2019 answers (the panel comparison)
            r = w2_home if (w == 0 and key == "complaints") else ref
            c = _cut(score[:, w], wt[:, w], r, TARGETS[key][w])
            out[:, w] = np.where(in_work[:, w], np.where(score[:, w] > c, 1, 2), np.nan)
        if w == 0:
            continue
        c = _cut(lonely_score[:, w], wt[:, w], ref, TARGETS["lonely"][w])
        lonely[:, w] = np.where(lonely_score[:, w] > c, 1, 2)
        sat_score = (0.3 * (education == 3) - 0.8 * (employment_status[:, w] == 3)
                     - 0.9 * (lonely[:, w] == 1) - 0.3 * (complaints[:, w] == 1)
                     + person[:, 3] + noise[:, w, 3])
        satisfied = TARGETS["satisfied"][w]
        shares = np.cumsum([satisfied * _SATISFACTION_SPLIT[0], satisfied * _SATISFACTION_SPLIT[1]]
                           + [(1 - satisfied) * s for s in _DISSATISFIED[:2]])
        cuts = [_cut(sat_score, wt[:, w], ref, float(s)) for s in shares]
        # 5 very satisfied (above every cut) ... 1 very dissatisfied (below every cut)
        satisfaction[:, w] = 1 + (sat_score[:, None] > np.array(cuts)[None, :]).sum(axis=1)

    # ---- on-location block (work_location 2 or 3, COVID waves)
    onloc = resp & on_location & employed
    contact = rng.random(n) < _CLIENT_CONTACT[occ_idx]
    block: dict[str, Float] = {}
    specs = {
        "employer_applies_measures": ("measures", 0.4 * (company_size == 3) - 0.5 * (
            company_size == 1) + 0.3 * (sector == 12), 1),
        "ppe_provided": ("ppe_provided", _PPE_OCC[occ_idx] + 0.3 * (company_size == 3), 1),
        "hygiene_possible": ("hygiene", 0.3 * (company_size == 3) - 0.5 * (occ_idx == 8), 1),
        "can_keep_distance_colleagues": ("distance_colleagues_not", _CROWD_OCC[occ_idx]
                                         + 0.3 * (sector == 3), 2),
        "can_keep_distance_clients": ("distance_clients_not", _CLIENTS_OCC[occ_idx], 2),
    }
    for name, (key, effect, code_above) in specs.items():
        score = (effect + rng.normal(0.0, 1.0, n))[:, None] + rng.normal(0.0, 0.6, (n, n_waves))
        values = np.full((n, n_waves), np.nan)
        for w in range(1, n_waves):
            ref = onloc[:, w] & (contact if name == "can_keep_distance_clients" else True)
            c = _cut(score[:, w], wt[:, w], ref, TARGETS[key][w])
            values[:, w] = np.where(score[:, w] > c, code_above, 3 - code_above)
        if name == "can_keep_distance_clients":
            values[:, 1:] = np.where(contact[:, None], values[:, 1:], 3)
        block[name] = np.where(onloc, values, np.nan)
    worn_score = (0.5 * (occ_idx == 4) + rng.normal(0.0, 1.0, n))[:, None] \
        + rng.normal(0.0, 0.6, (n, n_waves))
    worn = np.full((n, n_waves), np.nan)
    for w in range(1, n_waves):
        ref = onloc[:, w] & (block["ppe_provided"][:, w] == 1)
        c = _cut(worn_score[:, w], wt[:, w], ref, TARGETS["ppe_worn"][w])
        worn[:, w] = np.where(ref, np.where(worn_score[:, w] > c, 1, 2), np.nan)
    block["ppe_worn"] = worn

    # ---- long format
    pid, wave_idx = np.nonzero(resp)
    columns: dict[str, Any] = {
        "panel_id": pid + 1,
        "wave": np.array(WAVES)[wave_idx],
        "stratum": sector[pid],
        "design_weight": np.round(design_weight[pid], 4),
        "weight": np.round(weight[pid, wave_idx], 4),
        "sector": sector[pid],
        "sex": sex[pid],
        "age_2019": age_2019[pid],
        "age_class": age_class[pid],
        "sex_age_class": sex_age_class[pid],
        "education": education[pid],
        "company_size": company_size[pid],
        "occupation": occupation[pid],
        "contract_hours": contract_hours[pid].astype(np.int64),
        "employment_status": employment_status[pid, wave_idx],
        "work_location": work_location[pid, wave_idx],
        "hours_at_home": hours_at_home[pid, wave_idx],
        "could_work_more_at_home": could[pid, wave_idx],
        "life_satisfaction": satisfaction[pid, wave_idx],
        "strongly_lonely": lonely[pid, wave_idx],
        "neck_arm_shoulder_complaints": complaints[pid, wave_idx],
        "work_life_imbalance": imbalance[pid, wave_idx],
        "employer_applies_measures": block["employer_applies_measures"][pid, wave_idx],
        "ppe_provided": block["ppe_provided"][pid, wave_idx],
        "ppe_worn": block["ppe_worn"][pid, wave_idx],
        "hygiene_possible": block["hygiene_possible"][pid, wave_idx],
        "can_keep_distance_colleagues": block["can_keep_distance_colleagues"][pid, wave_idx],
        "can_keep_distance_clients": block["can_keep_distance_clients"][pid, wave_idx],
    }
    frame = pd.DataFrame(columns)
    for name in ("hours_at_home", *list(columns)[17:]):
        frame[name] = frame[name].astype("Int64")
    return frame


def to_csv_gz(frame: pd.DataFrame) -> bytes:
    """The frame as deterministic gzip-compressed CSV bytes (``mtime=0``, no file name).

    Examples
    --------
    >>> import pandas as pd
    >>> from nea_covid.datasets.generate_nea_covid import to_csv_gz
    >>> to_csv_gz(pd.DataFrame({"a": [1]})) == to_csv_gz(pd.DataFrame({"a": [1]}))
    True
    """
    text = frame.to_csv(index=False, lineterminator="\n")
    return gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)


def _table(mapping: Mapping[int, Any], header: tuple[str, str]) -> str:
    lines = [f"| {header[0]} | {header[1]} |", "| --- | --- |"]
    lines += [f"| {k} | {v} |" for k, v in mapping.items()]
    return "\n".join(lines)


def data_card(frame: pd.DataFrame, digest: str) -> str:
    """The Markdown data card (``data/nea_covid.md``) for a generated frame."""
    counts = frame.groupby("wave").size()
    margins = "\n\n".join(
        f"**{name}** (total {sum(values.values()):,})\n\n" + _table(
            {k: f"{v:,}" for k, v in values.items()}, ("code", "werknemers"))
        for name, values in POPULATION_MARGINS.items())
    return _CARD.format(
        seed=SEED, sha256=digest, rows=len(frame),
        persons=int(frame["panel_id"].nunique()),
        counts=", ".join(f"{w}: {int(counts[w]):,}" for w in WAVES),
        sectors=_table({k: f"{v} (sample share {ALLOCATION[k]:.3f}, population "
                        f"{POPULATION_MARGINS['sector'][k]:,})" for k, v in SECTORS.items()},
                       ("code", "sector")),
        occupations=_table(OCCUPATIONS, ("code", "occupation group")),
        margins=margins,
    )


def write(directory: Path | None = None, seed: int = SEED) -> Path:
    """Generate and write ``nea_covid.csv.gz`` and its card ``nea_covid.md``."""
    directory = Path(__file__).parent / "data" if directory is None else Path(directory)
    frame = generate(seed)
    payload = to_csv_gz(frame)
    path = directory / "nea_covid.csv.gz"
    path.write_bytes(payload)
    card = data_card(frame, hashlib.sha256(payload).hexdigest())
    (directory / "nea_covid.md").write_text(card, encoding="utf-8")
    return path


_CARD = """# nea_covid.csv.gz: a SYNTHETIC NEA-COVID panel

**These data are synthetic.** No record describes a real person. TNO's NEA-COVID-19
microdata are not public; this file was invented by
`nea_covid/datasets/generate_nea_covid.py` (seed {seed}) so that the library's examples,
tests and the `reproduce` command have a panel with the real survey's structure whose
weighted estimates reproduce TNO's published figures. Do not use it to learn anything
about Dutch workers beyond those published figures: every relationship between variables
below is invented.

Regenerate with `python -m nea_covid.datasets.generate_nea_covid` (same seed,
byte-identical file; sha256 of the shipped file: `{sha256}`).
Load with `nea_covid.datasets.load_nea_covid()`.

## Structure
- Long format: one row per panel member and wave answered; {rows:,} rows, {persons:,}
  panel members (all have a 2019 row). Rows per wave: {counts}.
- `wave`: "2019" (the NEA 2019 baseline record, Oct-Dec 2019), "2020-06" (W1, end June-end
  July 2020), "2020-11" (W2, November 2020), "2021-03" (W3, March 2021).
- Attrition is non-monotone: a member may skip a wave and return (response depends on a
  person propensity, on having answered the previous wave, on education and age).
- Design: stratified by sector (`stratum` = `sector`, 13 strata, disproportionate
  allocation, small sectors oversampled). `design_weight` = population / invited in the
  stratum. `weight`: the final weight **of that wave**, the design weights of the wave's
  respondents raked with `nea_covid.SurveyDesign(..., weights="design_weight",
  strata="stratum").rake(margins)` to the margins below (sums to 7,549,000 in every wave).
  Use `nc.SurveyDesign(df, strata="stratum", weights="weight")` and subset a wave (or
  `by="wave"`); for wave-to-wave changes on the same people add `clusters="panel_id"` so
  the repeated rows of a person form one PSU.
- Person characteristics (from 2019, fixed): `panel_id`, `sector`, `sex` (1 man, 2
  woman), `age_2019` (15-74), `age_class` (1 15-24, 2 25-34, 3 35-44, 4 45-54, 5 55-74),
  `sex_age_class` (10 x sex + age class, the raking cell), `education` (1 low, 2 middle,
  3 high), `company_size` (1: 1-9, 2: 10-99, 3: 100+ employees), `occupation` (below),
  `contract_hours` (hours per week).
- Per wave (codebook variables as in `nea_covid.harmonisation.codebook()`):
  `employment_status` (1 werknemer; 3 without work: lost the job),
  `work_location` (1 only at home, 2 partly at home and partly on location, 3 only on
  location, 4 no work at the moment; always 4 for employment_status 3; the 2019 record
  gives the usual pre-COVID location: 2 = worked at home regularly or occasionally),
  `hours_at_home` (hours per week worked at home; 0 for only on location; missing for
  no work), `could_work_more_at_home` (1 yes, but my employer expects me on location; 2
  yes, but I prefer to work on location; 3 no; asked of work_location 2 or 3 in W1-W3).
- Wellbeing: `life_satisfaction` (1 very dissatisfied ... 5 very satisfied; satisfied = 4
  or 5; W1-W3), `strongly_lonely` (1 yes, 2 no; W1-W3), `neck_arm_shoulder_complaints`
  and `work_life_imbalance` (1 yes, 2 no; all waves, missing for no work).
- On-location block (asked of werknemers with work_location 2 or 3 in W1-W3; 1 yes, 2
  no): `employer_applies_measures`, `ppe_provided`, `ppe_worn` (only if PPE provided),
  `hygiene_possible`, `can_keep_distance_colleagues`, `can_keep_distance_clients`
  (3 = no contact with clients).
- Missing answers are empty cells (the loader gives nullable integers).

## Sectors and sample allocation
{sectors}

## Occupation groups
{occupations}

## Calibration margins (INVENTED, plausible)
The total, 7,549,000 werknemers (2019), is CBS's; the split over cells is invented.

{margins}

## What the data are calibrated to (published, TNO / Kamerbrieven)
Each figure is reproduced to within one respondent's weight (cut-offs of latent scores
are weighted quantiles within the figure's base):
- W1: 12% of respondents without work; of werknemers in work 29% only at home, 16%
  partly (45%); home-working hours 30 h/week among home workers (W1); 5 h/week among the
  2019 home workers (work_location 1 or 2 in the 2019 record).
- W2 (base: werknemers in work): 34.5% / 13.5% / 52%; could work (more) at home 4.8%
  (code 1) + 4.4% (code 2) = 9.2% of all, 14% of those not fully at home; of the
  only-on-location 5.0% of all could, so RIVM's definition gives 48 + 5 = 53%.
  Home workers (work_location 1 or 2): 75% satisfied, 14% strongly lonely, complaints
  38% (and 42% in the same people's 2019 record), imbalance 9%. On location (2 or 3):
  measures 90%, PPE provided 77% (61% in W1), worn by 84% of those provided, hygiene 93%,
  distance from colleagues not possible 34%, from clients 48% (of those with clients).
- W3: 35% / 14% / 51%.
Which label gets 4.8% and which 4.4% is not settled in the sources: `TARGETS` in the
generator makes it configurable.

## Invented
Everything else: sector compositions (sex, age, education, company size, occupation),
response propensities, the 2019 pre-COVID location mix (1.5% only / 30% partly at home),
all figures of waves not listed above, and these relationships (effects on latent
scores): working at home is far more likely in office, management and ICT occupations,
with high education and in large companies, in public administration, finance and ICT,
and much less likely in care, hospitality, teaching, retail/sales, transport and manual
work; job loss is more likely in hospitality, culture and trade, among the young and
the less educated; loneliness is higher among the young, those fully at home and those
without work; life satisfaction is lower when lonely, without work or with complaints;
complaints are more frequent among women and office occupations; PPE is provided most
in care, hospitality and sales; distance is hardest to keep in care, hospitality,
teaching and manual work. Person effects make answers persist across waves.
"""


if __name__ == "__main__":  # pragma: no cover
    print(write())
