"""The letters' claims table: reproduction on the bundled data and the audit."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from nea_covid.__main__ import main
from nea_covid.claims import COLUMNS, MAX_DEPTH, evaluate, load_claims, reproduce_claims

INCONSISTENT = {"ext_at_home", "count_at_home", "share_inspection_reports",
                "sum_infection_home"}


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return reproduce_claims()


def test_reproduce_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reproduce", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "ext_at_home" in printed
    assert "not 3.5 million" in printed
    out = pd.read_csv(tmp_path / "claims.csv")
    assert list(out.columns) == list(COLUMNS)
    assert len(out) == len(load_claims())
    assert set(out.loc[out["verdict"] == "inconsistent", "id"]) == INCONSISTENT


def test_claims_table_covers_the_letters() -> None:
    claims = load_claims().set_index("id")
    needed = {"w1_at_home": "45", "w2_at_home": "48", "w2_only_at_home": "34.5",
              "w2_partly_at_home": "13.5", "w2_on_location": "52",
              "w2_can_rivm_definition": "53", "w2_could_more": "9",
              "w2_could_more_employer": "4.8", "w2_could_more_preference": "4.4",
              "rivm_w6_wfh": "72.7", "ppe_provided_change": "61;77",
              "complaints_change": "42;38", "w1_fully_at_home": "30",
              "w2_summer_at_home": "45", "hours_at_home_2019": "5",
              "hours_at_home_2020": "30", "w2_life_satisfied": "75",
              "w2_strongly_lonely": "14", "w2_work_life_imbalance": "9",
              "w2_employer_measures": "90", "w2_ppe_worn": "84",
              "w2_hygiene_possible": "93", "w2_no_distance_colleagues": "34",
              "w2_no_distance_clients": "48", "kim_at_home_change": "42;48",
              "rivm_cohort_can": "66", "rivm_cohort_hours_share": "72"}
    for claim_id, published in needed.items():
        assert claims.loc[claim_id, "published"] == published
    assert set(claims["kind"]) == {"estimate", "mean", "extrapolation", "change",
                                   "arithmetic", "published"}


def test_means_and_published_only(table: pd.DataFrame) -> None:
    rows = table.set_index("id")
    hours = rows.loc[["hours_at_home_2019", "hours_at_home_2020"]]
    assert (hours["unit"] == "h/week").all()
    assert hours["ours"].round().tolist() == [5.0, 30.0]
    assert "mean hours_at_home; base work_location=1|2" in hours["definition"].iloc[0]
    published = rows[rows["kind"] == "published"]
    assert (published["verdict"] == "published only").all()
    assert published[["ours", "ci_low", "ci_high"]].isna().all().all()
    assert rows.loc["kim_at_home_change", "published"] == 6
    assert rows.loc["kim_at_home_change", "unit"] == "pp"
    assert "42% → 48%" in rows.loc["kim_at_home_change", "computation"]


def test_audit_flags_exactly_the_inconsistent_claims(table: pd.DataFrame) -> None:
    verdicts = table.set_index("id")["verdict"]
    assert set(verdicts[verdicts == "inconsistent"].index) == INCONSISTENT
    for claim_id in ("sum_w2_at_home", "sum_w2_total", "count_on_location",
                     "count_can_rivm_definition", "sum_could_more", "rest_cannot_more",
                     "ext_on_location", "ext_can_rivm_definition"):
        assert verdicts[claim_id] == "consistent"
    computation = table.set_index("id")["computation"]
    assert computation["count_at_home"] == (
        "48% × 7,500,000 = 3,600,000 → about 3.6 million, not 3.5 million as printed")
    assert "35.4794 → 35, not 38" in computation["share_inspection_reports"]
    assert "76.7 → 77, not 75" in computation["sum_infection_home"]


def test_data_claims_inside_our_ci(table: pd.DataFrame) -> None:
    data = table[~table["kind"].isin(["arithmetic", "published"])].set_index("id")
    assert data[["ours", "ci_low", "ci_high"]].notna().all().all()
    claims = load_claims().set_index("id")
    for claim_id, row in data.iterrows():
        if row["kind"] == "extrapolation":  # the printed count itself, letter's reading
            inside = row["ci_low"] <= row["published"] <= row["ci_high"]
        else:  # the published figure's rounding interval overlaps our CI
            half = 0.5 * 10.0 ** -int(claims.loc[claim_id, "digits"])
            if row["kind"] == "change":
                half *= 2
            inside = (row["published"] - half <= row["ci_high"]
                      and row["ci_low"] <= row["published"] + half)
        assert bool(row["in_ci"]) == inside
        # 3.5 million werknemers is outside our interval for 48% of 7,549,000
        assert inside == (claim_id != "ext_at_home"), claim_id
    changes = data[data.index.str.endswith("_change")]
    assert (changes["pvalue"] < 0.001).all()


def test_published_rounding_interval(table: pd.DataFrame) -> None:
    rows = table.set_index("id")
    assert "published 45%, printed with 0 decimals, stands for [44.5, 45.5]%" in (
        rows.loc["w1_at_home", "computation"])
    assert "stands for [34.45, 34.55]%" in rows.loc["w2_only_at_home", "computation"]
    fully = rows.loc["w1_fully_at_home"]
    assert fully["published"] == 30
    assert "about 2/3 × 45 = 30%" in fully["computation"]
    assert "[29.5, 30.5]%" in fully["computation"]
    overlaps = fully["ci_low"] <= 30.5 and fully["ci_high"] >= 29.5
    assert bool(fully["in_ci"]) == overlaps
    assert fully["verdict"] == ("consistent" if overlaps else "inconsistent")
    assert "[+15.0, +17.0] pp" in rows.loc["ppe_provided_change", "computation"]
    # a figure whose rounding interval only touches the CI edge is consistent
    claims = load_claims()
    row = claims[claims["id"] == "w2_at_home"].copy()
    ours = float(rows.loc["w2_at_home", "ci_high"])
    row["published"] = f"{ours + 0.4:.1f}"
    row["digits"] = "0"
    out = reproduce_claims(row).iloc[0]
    assert out["verdict"] == "consistent"
    row["digits"] = "1"
    row["published"] = f"{ours + 0.4:.1f}"
    assert reproduce_claims(row).iloc[0]["verdict"] == "inconsistent"


def test_extrapolation_reports_both_readings(table: pd.DataFrame) -> None:
    rows = table.set_index("id")
    text = rows.loc["ext_at_home", "computation"]
    assert "share of werknemers in work × all 7,549,000 werknemers, as the letter does" in text
    assert "printed count outside that 95% CI" in text
    own = re.search(r"the data's own count \(weighted total over the base\): ([\d,]+) "
                    r"\[([\d,]+), ([\d,]+)\]", text)
    assert own is not None
    count, low, high = (float(g.replace(",", "")) for g in own.groups())
    assert low < count < high
    # the base (werknemers in work) weighs far less than all 7,549,000 werknemers
    assert count < rows.loc["ext_at_home", "ci_low"]
    on_location = rows.loc["ext_on_location", "computation"]
    other = re.search(r"own count \(weighted total over the base\): ([\d,]+)", on_location)
    assert other is not None
    base_total = count + float(other.group(1).replace(",", ""))
    assert 6.0e6 < base_total < 7.0e6


def test_rounded_numbers_are_printed_half_away_from_zero() -> None:
    claims = load_claims()
    row = claims[claims["id"] == "sum_infection_home"].copy()
    row["expression"] = "56.5 + 20.0"
    row["published"] = "76"
    out = reproduce_claims(row).iloc[0]
    assert out["verdict"] == "inconsistent"
    assert "76.5 → 77, not 76 as printed" in out["computation"]
    row["published"] = "77"
    out = reproduce_claims(row).iloc[0]
    assert out["verdict"] == "consistent"
    assert "76.5 → 77 = 77 as printed" in out["computation"]
    row["expression"] = "0.25 + 0"
    row["digits"] = "1"
    row["published"] = "0.3"
    assert "0.25 → 0.3 = 0.3 as printed" in reproduce_claims(row).iloc[0]["computation"]


@pytest.mark.parametrize(("text", "value"), [
    ("34.5 + 13.5", 48.0), ("100 − 9.2", 90.8), ("48% × 7,500,000", 3_600_000.0),
    ("(1 + 2) * 3", 9.0), ("-2 - −3", 1.0), ("10 / 4", 2.5),
])
def test_evaluate(text: str, value: float) -> None:
    assert evaluate(text) == pytest.approx(value)


@pytest.mark.parametrize("text", [
    "__import__('os').system('true')", "2 ** 3", "a + 1", "", "1 +", "(1 + 2", "1 / 0",
    "1; 2", "1e3", "3 2", "open('x')", "1 = 1",
])
def test_evaluate_rejects_anything_else(text: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        evaluate(text)


@pytest.mark.parametrize("text", [
    "(" * 3000 + "1" + ")" * 3000, "-" * 3000 + "1", "−" * 3000 + "1",
    "(-" * 2000 + "1" + ")" * 2000, "(" * (MAX_DEPTH + 1) + "1" + ")" * (MAX_DEPTH + 1),
])
def test_evaluate_limits_nesting(text: str) -> None:
    with pytest.raises(ValueError, match="deeper than"):
        evaluate(text)


def test_evaluate_allows_nesting_up_to_the_limit() -> None:
    assert evaluate("(" * MAX_DEPTH + "1" + ")" * MAX_DEPTH) == 1.0
    assert evaluate("-" * MAX_DEPTH + "2") == 2.0
    assert evaluate(" + ".join(["(1)"] * 500)) == 500.0
