"""Command line: ``python -m nea_covid reproduce``.

``reproduce`` runs the library's reference examples on R's public ``api`` and
``nhanes`` data (bundled), then the letters' claims table (``nea_covid/data/claims.csv``)
on the bundled synthetic NEA-COVID panel and RIVM trend data: every claim's estimate with
its 95% confidence interval, extrapolation, change or arithmetic, and an audit verdict.
``--out DIR`` also writes the table to ``DIR/claims.csv`` and the figures
(:mod:`nea_covid.letter_figures`, with matplotlib installed: ``nea_covid[plot]``). Progress
goes to stderr: a bar over the steps when stderr is a terminal and tqdm is installed
(``nea_covid[progress]``; ``NEA_COVID_PROGRESS=0`` or :func:`nea_covid.set_progress`
switch it off), otherwise one line per step; ``--quiet`` turns both off. A bad argument
or an unwritable ``DIR`` exits with status 2 and a message.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

import nea_covid as nc
from nea_covid.claims import reproduce_claims


def _show(title: str, est: nc.Estimate | nc.Comparison | nc.Extrapolation) -> None:
    frame = est.to_frame()
    print(f"\n== {title}")
    print(frame.to_string(index=False, float_format=lambda x: f"{x:,.4f}"))


_QUIET = {"on": False}
_STEPS: dict[str, Any] = {"bar": None, "done": 0}


def _progress(step: str) -> None:
    """The next step: the bar's description when there is a bar, else one line on
    stderr (``--quiet`` turns both off)."""
    if _QUIET["on"]:
        return
    shown = _STEPS["bar"]
    if shown is None:
        print(f"[reproduce] {step} ...", file=sys.stderr, flush=True)
        return
    shown.describe(f"reproduce: {step}", refresh=not _STEPS["done"])
    if _STEPS["done"]:
        shown.update()  # the previous step is done
    _STEPS["done"] += 1


def _stderr_is_terminal() -> bool:
    return sys.stderr.isatty()


@contextlib.contextmanager
def _step_bar(steps: int) -> Iterator[None]:
    """A bar over ``steps`` steps while the block runs, when stderr is a terminal (no
    bar in logs and pipes); printed output then goes above the bar."""
    from nea_covid.progress import bar

    if _QUIET["on"] or not _stderr_is_terminal():
        yield
        return
    with bar(steps, "reproduce", unit="step", delay=0) as shown:  # always takes seconds
        if not shown.active:  # bars switched off, or no tqdm
            yield
            return
        contrib = importlib.import_module("tqdm.contrib")  # no type stubs
        _STEPS.update(bar=shown, done=0)
        try:
            with contextlib.redirect_stdout(contrib.DummyTqdmFile(sys.stdout)):
                yield
        finally:
            _STEPS.update(bar=None, done=0)


def _writable(out: Path) -> str | None:
    """Why ``out`` cannot take the output, or None."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".nea_covid_write_test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        return f"cannot write to {out}: {exc.strerror or exc}"
    return None


def _letters(out: Path | None = None) -> None:
    """The letters' claims table, reproduced and audited on the bundled data."""
    _progress("the letters' claims on the bundled synthetic data")
    table = reproduce_claims()
    print("\n== The letters' claims, reproduced on the bundled SYNTHETIC data and audited")
    shown = table[["id", "unit", "published", "ours", "ci_low", "ci_high", "extrapolated",
                   "pvalue", "verdict", "definition"]].copy()
    shown["extrapolated"] = shown["extrapolated"].fillna("")
    shown["definition"] = shown["definition"].fillna("").str.replace(
        "nea_covid: ", "", regex=False).str.slice(0, 40)
    for col in ("published", "ours", "ci_low", "ci_high"):
        shown[col] = [
            "" if pd.isna(v) else (f"{v:,.0f}" if unit == "persons" else f"{v:.1f}")
            for v, unit in zip(table[col], table["unit"], strict=True)]
    shown["pvalue"] = ["" if pd.isna(v) else f"{v:.2g}" for v in table["pvalue"]]
    print(shown.to_string(index=False))
    print("\nComputations:")
    for row in table.itertuples():
        print(f"- {row.id} [{row.verdict}]: {row.computation}")
    bad = table.loc[table["verdict"] == "inconsistent", "id"].tolist()
    print(f"\n{len(bad)} of {len(table)} claims inconsistent: {', '.join(bad)}")
    if out is not None:
        table.to_csv(out / "claims.csv", index=False, encoding="utf-8")
        print(f"Wrote {out / 'claims.csv'}")
        _progress("figures")
        try:
            from nea_covid.letter_figures import write_figures

            for path in write_figures(out):
                print(f"Wrote {path}")
        except ImportError as exc:
            print(f"No figures written: {exc}", file=sys.stderr)


def reproduce(out: Path | None = None) -> int:
    """Run the demonstration estimates and print them."""
    apistrat = nc.datasets.load_api("strat")
    strat = nc.SurveyDesign(apistrat, weights="pw", strata="stype", fpc="fpc")
    clus2 = nc.SurveyDesign(nc.datasets.load_api("clus2"), clusters=["dnum", "snum"],
                            fpc=["fpc1", "fpc2"])
    nhanes = nc.SurveyDesign(nc.datasets.load_nhanes(), weights="WTMEC2YR",
                             strata="SDMVSTRA", clusters="SDMVPSU", nest=True)
    _progress("reference examples on R's public api and nhanes data")
    print(f"nea_covid {nc.__version__}: design-based estimates on R's public example data")
    print(strat)
    _show("Mean API 2000 and enrolment, stratified sample (R: svymean)",
          nc.mean(strat, ["api00", "enroll"]))
    _show("Mean API 2000 by school type", nc.mean(strat, "api00", by="stype"))
    _show("Share of schools with awards, by school type",
          nc.proportion(strat, "awards", by="stype"))
    _show("Quartiles of API 2000 (Woodruff intervals)",
          nc.quantile(strat, "api00", [0.25, 0.5, 0.75]))
    _show("Mean API 2000, two-stage cluster sample with fpc at both stages",
          nc.mean(clus2, "api00"))
    _show("High cholesterol by race, NHANES (missing values omitted)",
          nc.mean(nhanes, "HI_CHOL", by="race", missing="omit"))
    clus1 = nc.SurveyDesign(nc.datasets.load_api("clus1"), clusters="dnum", weights="pw",
                            fpc="fpc")
    scores = nc.mean(clus1, ["api99", "api00"], by="stype")
    _show("Change in API 1999 -> 2000 per school type, the same schools in both years "
          "(paired)", nc.compare(scores, along="variable", base="api99", other="api00"))
    _show("The same change treated as independent samples (wrong for a panel)",
          nc.compare(scores, along="variable", base="api99", other="api00",
                     samples="independent"))
    _show("RIVM trend survey, works from home: wave 8 -> 9 from the published figures "
          "(logit scale)",
          nc.compare_published(nc.PublishedFigure(0.700, ci=(0.682, 0.717), n=3134,
                                                  label="wave 8"),
                               nc.PublishedFigure(0.674, ci=(0.656, 0.692), n=3149,
                                                  label="wave 9"), scale="logit"))
    _letters(out)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nea_covid", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("reproduce", help="compute the reference estimates and the letters' "
                         "claims table on the bundled data")
    rep.add_argument("--out", type=Path, default=None,
                     help="directory to write claims.csv and the figures (PNG) to")
    rep.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    args = parser.parse_args(argv)
    pd.set_option("display.width", 120)
    if args.command == "reproduce":
        _QUIET["on"] = bool(args.quiet)
        if args.out is not None:
            problem = _writable(args.out)
            if problem:
                print(f"python -m nea_covid reproduce: {problem}", file=sys.stderr)
                return 2
        with _step_bar(2 if args.out is None else 3):
            status = reproduce(args.out)
            _progress("done")
        return status
    return 2  # pragma: no cover


if __name__ == "__main__":
    sys.exit(main())
