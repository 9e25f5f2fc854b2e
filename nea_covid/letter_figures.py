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

They are drawn with :mod:`nea_covid.plot` from the tables of :func:`figure_data`, with
the project style and an alt text in each PNG.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

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


def _points(frame: pd.DataFrame, columns: list[str], quantity: str) -> Any:
    """The rows of a figure_data() table as the points nc.plot draws."""
    from nea_covid.plot._data import Points

    return Points(frame=frame[[*columns, "estimate", "ci_low", "ci_high"]].reset_index(
        drop=True), columns=tuple(columns), quantity=quantity, confidence_level=0.95,
        result=None, standard_error=frame["standard_error"].to_numpy(dtype=float))


#: What each figure shows, as its alt text names it (never the axis label).
_TNO = {"works_at_home": "works at home (TNO definition)"}
_RIVM = {"works_at_home_as_much_as_possible":
         "works from home as much as possible (RIVM definition)"}


def write_figures(out: Path, data: dict[str, pd.DataFrame] | None = None) -> list[Path]:
    """Write the three PNGs into ``out`` and return their paths.

    Drawn with :mod:`nea_covid.plot` (project style, colour-blind-safe palette); each
    PNG carries its alt text in its "Description".

    Raises
    ------
    ImportError
        matplotlib is not installed (``pip install nea_covid[plot]``).
    """
    from nea_covid.plot._alt import register
    from nea_covid.plot._figures import (
        _count_axis,
        _estimate_axis,
        _forest,
        _trend,
        _values,
    )
    from nea_covid.plot._style import pad_layout, require_matplotlib

    plt = require_matplotlib()
    data = figure_data() if data is None else data
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / name for name in FIGURES]
    common: dict[str, Any] = {"language": "en", "dodge": None, "note": True, "band": False}

    with nc.plot.style():
        fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4), sharey=True,
                                          layout="constrained")
    pad_layout(fig)
    nea = _points(data["nea_covid"], ["wave", "variable", "level"], "proportion")
    _trend(nea, "wave", _estimate_axis(nea, True, "en", _TNO, None, "share (%)"), ax=left,
           title="NEA-COVID (synthetic):\nwerknemers working at home", labels=_TNO,
           **common)
    rivm = _points(data["rivm"], ["wave", "variable", "level"], "proportion")
    # the y axis is shared: its label is the left panel's
    _trend(rivm, "wave", _estimate_axis(rivm, True, "en", _RIVM, None, ""), ax=right,
           title="RIVM trend (synthetic):\nworks from home as much as possible",
           labels=_RIVM, **common)
    _save(fig, paths[0])

    counts = _points(data["counts"], ["wave", "variable", "level"], "count")
    axis = _count_axis(counts, "million", "werknemers", "en", _TNO, None, None)
    ax = _trend(counts, "wave", axis, ax=None, labels=_TNO, title=(
        f"Werknemers working at home, of {_WERKNEMERS:,} (synthetic data)"), **common)
    _save(ax.figure, paths[1])

    defs = _points(data["definitions"], ["label"], "proportion")
    axis = _estimate_axis(defs, True, "en", None, None, "share (%), synthetic data")
    ax, frame, names = _forest(defs, axis, ax=None, rows=["label"], hue=None, sort=False,
                               reference=None, language="en", labels=None, note=True,
                               title="One concept, three source definitions", row_title="")
    register(ax, "Dot-and-whisker chart of one concept under three source definitions "
             "(synthetic data), with 95% confidence intervals: "
             + "; ".join(f"{n}: {v}" for n, v in zip(names, _values(frame, axis, "en"),
                                                      strict=True)) + ".", frame, "en")
    _save(ax.figure, paths[2])
    return paths


def _save(fig: Any, path: Path) -> None:
    # no software version or date in the PNG: the same data give the same bytes
    import matplotlib.pyplot as plt

    nc.plot.save(fig, path, dpi=100)
    plt.close(fig)
