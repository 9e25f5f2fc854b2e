"""RIVM's published change flags, reproduced from the published figures alone.

RIVM's open data of the behaviour trend survey give, per wave, region, subgroup and
indicator, the percentage with its 95% interval (from a logistic model), n, and a flag
for a significant change since the previous wave. ``nc.compare_published`` on the logit
scale should reach the same verdicts, except where the published rounding (one
decimal) leaves a pair at the edge of significance.

The file is public domain but not part of the project; the test runs where it is at
``../shared/data/COVID-19_gedrag.csv`` (or ``$NEA_COVID_RIVM_CSV``) and skips
otherwise.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import nea_covid as nc

CSV = Path(os.environ.get(
    "NEA_COVID_RIVM_CSV",
    Path(__file__).resolve().parents[2] / "shared" / "data" / "COVID-19_gedrag.csv"))


@pytest.fixture(scope="module")
def pairs() -> tuple[pd.DataFrame, pd.DataFrame]:
    if not CSV.exists():
        pytest.skip(f"RIVM's open data file is not at {CSV}")
    f = pd.read_csv(CSV, sep=";", dtype={"Wave": str})
    # figures with an interval touching 0% or 100% have no log odds (a clear error)
    f = f[(f["Region_code"] == "NL00") & f["Value"].notna() & (f["Sample_size"] > 0)
          & (f["Figure_type"] == "Percentage") & (f["Lower_limit"] > 0) & (f["Upper_limit"] < 100)]
    f = f.assign(wave=f["Wave"].astype(int))
    key = ["Subgroup_category", "Subgroup", "Indicator_category", "Indicator"]
    f = f.sort_values([*key, "wave"])
    prev = f.groupby(key).shift(1)
    ok = (prev["wave"] == f["wave"] - 1) & f["Change_wrt_previous_measurement"].notna()
    return prev[ok], f[ok]


def figure(row: pd.Series) -> nc.PublishedFigure:
    return nc.PublishedFigure(row["Value"] / 100,
                              ci=(row["Lower_limit"] / 100, row["Upper_limit"] / 100),
                              n=int(row["Sample_size"]))


def test_rivm_change_flags(pairs: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    before, after = pairs
    ch = nc.compare_published([figure(r) for _, r in before.iterrows()],
                              [figure(r) for _, r in after.iterrows()], scale="logit")
    ours = np.where(ch.pvalue < 0.05, np.sign(ch.estimate), 0.0)
    published = after["Change_wrt_previous_measurement"].to_numpy()
    agreement = float(np.mean(np.asarray(ours) == published))
    assert len(ours) > 5000
    assert agreement > 0.99, agreement
    # never the opposite direction
    assert not np.any(np.asarray(ours) * published < 0)
