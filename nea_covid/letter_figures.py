"""The figures ``python -m nea_covid reproduce --out DIR`` writes (matplotlib, an
optional extra: ``pip install nea_covid[plot]``).

Three PNGs from the bundled synthetic data, written deterministically (Agg backend,
no timestamps in the files):

* ``home_working_by_wave.png``: the share of werknemers working at home (fully or
  partly, TNO's definition) per NEA-COVID wave, and RIVM's "works from home as much as
  possible" per trend wave, with 95% intervals;
* ``extrapolated_counts.png``: the NEA-COVID shares as numbers of werknemers (7,549,000),
  with 95% intervals;
* ``definitions.png``: one concept under different source definitions (TNO's 48%, TNO
  under RIVM's definition 53%, RIVM's 72.7%), with 95% intervals.

The plotting proper (styles, Dutch labels, alt text) is the job of ``nc.plot``; these
figures only document the reproduction.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import nea_covid as nc

__all__ = ["FIGURES", "figure_data", "write_figures"]

#: File names of the figures, in the order they are written.
FIGURES = ("home_working_by_wave.png", "extrapolated_counts.png", "definitions.png")

_WERKNEMERS = 7_549_000


def _yes(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["level"] == "yes"].reset_index(drop=True)


def figure_data() -> dict[str, pd.DataFrame]:
    """The numbers behind the figures, as tidy frames (also useful without matplotlib).

    Returns
    -------
    dict of str to DataFrame
        ``"nea_covid"``, ``"rivm"``, ``"counts"`` and ``"definitions"``.

    Examples
    --------
    >>> data = figure_data()
    >>> round(float(data["nea_covid"].set_index("wave").loc["2020-11", "estimate"]), 2)
    0.48
    """
    panel = nc.datasets.load_nea_covid()
    d = nc.SurveyDesign(panel, strata="stratum", clusters="panel_id", weights="weight")
    at_home = nc.harmonised_proportion(d, nc.get_definition("tno_works_at_home"), by="wave")
    nea = _yes(at_home.to_frame())
    counts = _yes(nc.extrapolate(at_home, population=_WERKNEMERS).to_frame())
    trend = nc.datasets.load_rivm_trend()
    r = nc.SurveyDesign(trend, strata="region", weights="weight")
    rivm = _yes(nc.harmonised_proportion(
        r, nc.get_definition("rivm_wfh_as_much_as_possible"), by="wave",
        missing="omit").to_frame())
    w2 = d.subset(panel["wave"] == "2020-11")
    rows = [
        ("TNO: works at home (W2)", nc.harmonised_proportion(
            w2, nc.get_definition("tno_works_at_home"))),
        ("TNO, RIVM's definition: can work at home (W2)", nc.harmonised_proportion(
            w2, nc.get_definition("tno_can_work_at_home"))),
        ("RIVM: works from home as much as possible (wave 6)", nc.harmonised_proportion(
            r.subset(trend["wave"] == 6), nc.get_definition("rivm_wfh_as_much_as_possible"),
            missing="omit")),
    ]
    definitions = pd.concat([_yes(est.to_frame()).assign(label=label) for label, est in rows],
                            ignore_index=True)
    return {"nea_covid": nea, "rivm": rivm, "counts": counts, "definitions": definitions}


def _errorbars(ax: Any, x: Any, frame: pd.DataFrame, scale: float = 1.0, **kw: Any) -> None:
    est = frame["estimate"].to_numpy() * scale
    low = est - frame["ci_low"].to_numpy() * scale
    high = frame["ci_high"].to_numpy() * scale - est
    ax.errorbar(x, est, yerr=np.vstack([low, high]), fmt="o-", capsize=3, **kw)


def _save(plt: Any, fig: Any, path: Path) -> None:
    fig.tight_layout()
    # no software version or date in the PNG: the same data give the same bytes
    fig.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(fig)


def write_figures(out: Path, data: dict[str, pd.DataFrame] | None = None) -> list[Path]:
    """Write the three PNGs into ``out`` and return their paths.

    Raises
    ------
    ImportError
        matplotlib is not installed (``pip install nea_covid[plot]``).
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError(
            "The figures need matplotlib: pip install nea_covid[plot]") from None
    data = figure_data() if data is None else data
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / name for name in FIGURES]

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    nea = data["nea_covid"]
    _errorbars(left, nea["wave"].astype(str), nea, 100, color="#0072B2")
    left.set_title("NEA-COVID (synthetic): werknemers working at home", fontsize=9)
    left.set_ylabel("% with 95% interval")
    rivm = data["rivm"]
    _errorbars(right, rivm["wave"].astype(str), rivm, 100, color="#D55E00")
    right.set_title("RIVM trend (synthetic): works from home as much as possible", fontsize=9)
    right.set_xlabel("wave")
    _save(plt, fig, paths[0])

    fig, ax = plt.subplots(figsize=(6, 4))
    counts = data["counts"]
    _errorbars(ax, counts["wave"].astype(str), counts, 1e-6, color="#009E73")
    ax.set_title(f"Werknemers working at home (x {_WERKNEMERS:,} werknemers), synthetic",
                 fontsize=9)
    ax.set_ylabel("million, with 95% interval")
    _save(plt, fig, paths[1])

    fig, ax = plt.subplots(figsize=(7, 3))
    defs = data["definitions"]
    y = np.arange(len(defs))
    est = defs["estimate"].to_numpy() * 100
    ax.errorbar(est, y, xerr=np.vstack([est - defs["ci_low"].to_numpy() * 100,
                                        defs["ci_high"].to_numpy() * 100 - est]),
                fmt="o", capsize=3, color="#CC79A7")
    ax.set_yticks(y, defs["label"].tolist(), fontsize=8)
    ax.set_xlabel("% with 95% interval (synthetic data)")
    ax.set_title("One concept, three source definitions", fontsize=9)
    _save(plt, fig, paths[2])
    return paths
