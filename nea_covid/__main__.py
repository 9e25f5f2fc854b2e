"""Command line: ``python -m nea_covid reproduce``.

``reproduce`` runs the library's reference examples on R's public ``api`` and
``nhanes`` data (bundled), then the letters' headline figures on the bundled synthetic
NEA-COVID panel, and prints the estimates with their standard errors and 95%
confidence intervals.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import pandas as pd

import nea_covid as nc


def _show(title: str, est: nc.Estimate | nc.Comparison | nc.Extrapolation) -> None:
    frame = est.to_frame()
    print(f"\n== {title}")
    print(frame.to_string(index=False, float_format=lambda x: f"{x:,.4f}"))


def _letters() -> None:
    """The letters' headline figures from the bundled synthetic NEA-COVID panel (a start
    on the full claims table)."""
    panel = nc.datasets.load_nea_covid()
    d = nc.SurveyDesign(panel, strata="stratum", clusters="panel_id", weights="weight")
    at_home = nc.harmonised_proportion(d, nc.get_definition("tno_works_at_home"), by="wave")
    _show("NEA-COVID (synthetic): werknemers working at home, fully or partly, by wave "
          "(TNO's definition; published: 45% in June-July 2020, 48% in November 2020)",
          at_home)
    _show("Change June-July -> November 2020, the same panel members (paired)",
          nc.compare(at_home, "wave", base="2020-06", other="2020-11"))
    counts = nc.extrapolate(at_home, population=7_549_000)
    frame = counts.to_frame()
    w2 = frame[(frame["wave"] == "2020-11") & (frame["level"] == "yes")].iloc[0]
    print(f"\n48% of 7,549,000 werknemers: {nc.format_count(float(w2['estimate']), 'en')} "
          f"(95% CI {nc.format_count(float(w2['ci_low']), 'en', prefix=None)} - "
          f"{nc.format_count(float(w2['ci_high']), 'en', prefix=None)}); the letter says "
          f"'circa 3,5 miljoen', which 48% of 7.5 million does not round to.")
    can = nc.harmonised_proportion(d.subset(panel["wave"] == "2020-11"),
                                   nc.get_definition("tno_can_work_at_home"))
    _show("November 2020: can work at home under RIVM's definition (published: 53%)", can)


def reproduce() -> int:
    """Run the demonstration estimates and print them."""
    apistrat = nc.datasets.load_api("strat")
    strat = nc.SurveyDesign(apistrat, weights="pw", strata="stype", fpc="fpc")
    clus2 = nc.SurveyDesign(nc.datasets.load_api("clus2"), clusters=["dnum", "snum"],
                            fpc=["fpc1", "fpc2"])
    nhanes = nc.SurveyDesign(nc.datasets.load_nhanes(), weights="WTMEC2YR",
                             strata="SDMVSTRA", clusters="SDMVPSU", nest=True)
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
    _letters()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nea_covid", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("reproduce", help="compute the reference estimates on the bundled data")
    args = parser.parse_args(argv)
    pd.set_option("display.width", 120)
    if args.command == "reproduce":
        return reproduce()
    return 2  # pragma: no cover


if __name__ == "__main__":
    sys.exit(main())
