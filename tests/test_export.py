"""Publication tables and their files: rounding, Dutch and English, CSV and Excel round
trips, notes, deterministic workbooks, and every error path."""

from __future__ import annotations

import hashlib
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import nea_covid as nc
from nea_covid.errors import SurveyError
from nea_covid.export import _se_digits
from nea_covid.formatting import round_half_up

STRAT = nc.datasets.load_api("strat")
D = nc.SurveyDesign(STRAT, weights="pw", strata="stype", fpc="fpc")
SEP = {"nl": (";", ","), "en": (",", ".")}


@pytest.fixture(scope="module")
def harmonised() -> nc.HarmonisedEstimate:
    panel = nc.datasets.load_nea_covid()
    design = nc.SurveyDesign(panel, strata="stratum", clusters="panel_id", weights="weight")
    return nc.harmonised_proportion(design, nc.get_definition("tno_works_at_home"), by="wave")


def results() -> dict[str, object]:
    awards = nc.proportion(D, "awards", by="stype")
    return {
        "proportion": awards,
        "mean": nc.mean(D, ["api00", "api99"], by="stype"),
        "total": nc.total(D, "enroll", by="stype"),
        "quantile": nc.quantile(D, "api00", [0.25, 0.5]),
        "compare": nc.compare(awards, "stype"),
        "ttest": nc.ttest(D, "api00", group="awards"),
        "published": nc.compare_published(
            nc.PublishedFigure(0.700, ci=(0.682, 0.717), label="wave 8"),
            nc.PublishedFigure(0.674, ci=(0.656, 0.692), label="wave 9"), scale="logit"),
        "extrapolation": nc.extrapolate(awards, population=7_500_000),
        "regression": nc.glm(D, "api00 ~ ell + stype"),
        "chisq": nc.chisq(D, "stype", "awards"),
        "joint": nc.compare(nc.mean(D, ["api99", "api00"], by="stype"), "variable").joint_test(),
    }


RESULTS = results()


# ---------------------------------------------------------------------- the table
def test_proportions_are_percentages_rounded_half_up_with_intervals_as_text() -> None:
    est = RESULTS["proportion"]
    assert isinstance(est, nc.Estimate)
    table = nc.publication_table(est, language="nl")
    assert list(table.columns) == ["stype", "variabele", "categorie", "schatting (%)",
                                   "95%-btbi", "n"]
    np.testing.assert_array_equal(table["schatting (%)"], round_half_up(est.estimate * 100, 1))
    ci = est.confidence_interval()
    expected = [f"[{lo:.1f}; {hi:.1f}]".replace(".", ",")
                for lo, hi in zip(round_half_up(ci.low * 100, 1), round_half_up(ci.high * 100, 1),
                                  strict=True)]
    assert table["95%-btbi"].tolist() == expected
    assert table["n"].dtype == np.int64
    assert table.attrs["digits"] == {"schatting (%)": 1, "n": 0}
    english = nc.publication_table(est)
    assert english.columns[-3:].tolist() == ["estimate (%)", "95% CI", "n"]
    assert english["95% CI"].iloc[0] == expected[0].replace(",", ".")


def test_default_decimals() -> None:
    """Totals and counts whole, percentages 1 decimal, the rest from the smallest SE."""
    total = nc.publication_table(RESULTS["total"])  # type: ignore[arg-type]
    assert total["estimate"].dtype == np.int64
    assert nc.publication_table(RESULTS["extrapolation"])["number"].dtype == np.int64  # type: ignore[arg-type]
    fit = RESULTS["regression"]
    assert isinstance(fit, nc.Regression)
    table = nc.publication_table(fit, columns=["estimate", "standard_error"])
    assert _se_digits(fit.standard_error) == 2  # smallest SE 0.31
    np.testing.assert_array_equal(table["estimate"], round_half_up(fit.estimate, 2))
    assert [_se_digits([9.4]), _se_digits([0.031, 5]), _se_digits([120]), _se_digits([np.nan])] \
        == [1, 3, 0, 2]
    assert nc.publication_table(RESULTS["mean"], digits=3).attrs["digits"]["estimate"] == 3  # type: ignore[arg-type]


def test_percent_can_be_switched() -> None:
    est = RESULTS["proportion"]
    shares = nc.publication_table(est, percent=False)  # type: ignore[arg-type]
    assert "estimate" in shares.columns
    assert shares["estimate"].iloc[0] == round(float(est.estimate[0]), 3)  # type: ignore[attr-defined]
    means = nc.publication_table(RESULTS["mean"], percent=True)  # type: ignore[arg-type]
    assert "estimate (%)" in means.columns


def test_comparisons_have_pvalues_and_percentage_points() -> None:
    cmp = RESULTS["compare"]
    assert isinstance(cmp, nc.Comparison)
    table = nc.publication_table(cmp, language="nl",
                                 columns=["base_estimate", "other_estimate", "estimate", "ci",
                                          "pvalue", "pvalue_holm", "pvalue_bh"])
    assert table.columns[-7:].tolist() == ["van (%)", "naar (%)", "verschil (%-punten)",
                                           "95%-btbi", "p-waarde", "p-waarde (Holm)",
                                           "p-waarde (BH)"]
    assert table["p-waarde"].tolist() == ["<0,001", "0,093"]
    np.testing.assert_array_equal(table["verschil (%-punten)"],
                                  round_half_up(cmp.estimate * 100, 1))
    english = nc.publication_table(cmp)
    assert english["p-value"].tolist() == ["<0.001", "0.093"]
    published = nc.publication_table(RESULTS["published"])  # type: ignore[arg-type]
    assert published.columns.tolist() == ["from", "to", "from (%)", "to (%)",
                                          "difference (%-points)", "log odds ratio",
                                          "95% CI (log odds ratio)", "p-value"]
    assert published["p-value"].tolist() == ["0.043"]
    ttest = nc.publication_table(RESULTS["ttest"], columns=["estimate", "statistic", "df"])  # type: ignore[arg-type]
    assert ttest.columns.tolist()[-3:] == ["estimate", "t", "df"]


def test_tests_get_a_one_row_table() -> None:
    chisq = nc.publication_table(RESULTS["chisq"], language="nl")  # type: ignore[arg-type]
    assert chisq.columns.tolist() == ["variabelen", "F", "vrijheidsgraden (teller)",
                                      "vrijheidsgraden (noemer)", "p-waarde"]
    assert chisq.iloc[0, 0] == "stype × awards"
    assert chisq["p-waarde"].tolist() == ["<0,001"]
    joint = nc.publication_table(RESULTS["joint"])  # type: ignore[arg-type]
    assert joint.iloc[0].tolist()[:3] == ["Wald", 94.73, 3]


def test_notes_level_and_definition(harmonised: nc.HarmonisedEstimate) -> None:
    table = nc.publication_table(harmonised, language="nl", confidence_level=0.9)
    assert "90%-btbi" in table.columns
    notes = table.attrs["notes"]
    assert notes[1] == ("90%-betrouwbaarheidsintervallen (t-verdeling), "
                        "26.287 vrijheidsgraden.")
    assert any(n.startswith("Definitie: tno_works_at_home v1") for n in notes)
    english = nc.publication_table(harmonised, columns=["estimate", "ci", "definition"])
    assert set(english["definition"]) == {"tno_works_at_home v1"}
    assert table["meting"].tolist()[:2] == ["2019", "2019"]
    omitted = nc.mean(nc.SurveyDesign(nc.datasets.load_nhanes(), weights="WTMEC2YR",
                                      strata="SDMVSTRA", clusters="SDMVPSU", nest=True),
                      "HI_CHOL", missing="omit")
    assert any("omitted because of missing values" in n
               for n in nc.publication_table(omitted).attrs["notes"])


def test_text_table_uses_the_languages_separators() -> None:
    table = nc.publication_table(RESULTS["total"], language="nl", text=True)  # type: ignore[arg-type]
    assert table["schatting"].tolist()[0] == "1.842.584"
    assert table.attrs["digits"] == {}


def test_result_methods_delegate(tmp_path: Path) -> None:
    est = RESULTS["mean"]
    assert isinstance(est, nc.Estimate)
    pd.testing.assert_frame_equal(est.publication_table(language="nl"),
                                  nc.publication_table(est, language="nl"))
    a = est.to_csv(tmp_path / "a.csv", language="nl")
    b = nc.to_csv(est, tmp_path / "b.csv", language="nl")
    assert a.read_bytes() == b.read_bytes()
    for name in ("compare", "extrapolation", "regression"):
        result = RESULTS[name]
        path = result.to_excel(tmp_path / f"{name}.xlsx")  # type: ignore[attr-defined]
        assert path.stat().st_size > 1000


# ---------------------------------------------------------------------- CSV
@pytest.mark.parametrize("language", ["nl", "en"])
@pytest.mark.parametrize("name", sorted(RESULTS))
def test_csv_round_trip(tmp_path: Path, language: str, name: str) -> None:
    """pandas reads the file back (with the language's separator and decimal mark) to
    the rounded numbers and interval texts of the table."""
    table = nc.publication_table(RESULTS[name], language=language)  # type: ignore[arg-type]
    path = nc.to_csv(RESULTS[name], tmp_path / "t.csv", language=language)  # type: ignore[arg-type]
    sep, decimal = SEP[language]
    text_columns = {c: str for c in table.columns if table[c].dtype == object
                    or pd.api.types.is_string_dtype(table[c].dtype)}
    back = pd.read_csv(path, sep=sep, decimal=decimal, dtype=text_columns)
    pd.testing.assert_frame_equal(back, table, check_dtype=False)
    pd.testing.assert_frame_equal(nc.read_publication_table(path, language=language), table,
                                  check_dtype=False)


def test_csv_in_dutch_is_what_dutch_excel_reads(tmp_path: Path,
                                               harmonised: nc.HarmonisedEstimate) -> None:
    path = nc.to_csv(harmonised, tmp_path / "thuiswerken.csv", language="nl")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # byte-order mark: Excel reads UTF-8
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[0] == "meting;variabele;categorie;schatting (%);95%-btbi;n"
    assert lines[1] == '2019;works_at_home;yes;31,5;"[31,0; 32,0]";26300'
    english = nc.to_csv(harmonised, tmp_path / "home.csv", language="en", encoding="utf-8")
    lines = english.read_text(encoding="utf-8").splitlines()
    assert lines[1] == "2019,works_at_home,yes,31.5,[31.0; 32.0],26300"
    assert not english.read_bytes().startswith(b"\xef\xbb\xbf")


def test_csv_keeps_accents_and_fixed_decimals(tmp_path: Path) -> None:
    data = pd.DataFrame({"land": ["België", "Nederland"] * 50, "y": np.arange(100) % 7,
                         "w": 1.0})
    est = nc.mean(nc.SurveyDesign(data, weights="w"), "y", by="land")
    path = nc.to_csv(est, tmp_path / "landen.csv", language="nl", digits=2)
    text = path.read_text(encoding="utf-8-sig")
    assert "België;y;" in text
    assert text.splitlines()[1].split(";")[2].count(",") == 1
    back = pd.read_csv(path, sep=";", decimal=",")
    assert back["land"].tolist() == ["België", "Nederland"]
    np.testing.assert_array_equal(back["schatting"], round_half_up(est.estimate, 2))


def test_csv_notes(tmp_path: Path) -> None:
    est = RESULTS["proportion"]
    path = nc.to_csv(est, tmp_path / "a.csv", notes=True)  # type: ignore[arg-type]
    notes = (tmp_path / "a.notes.txt").read_text(encoding="utf-8-sig").splitlines()
    assert notes == nc.publication_table(est).attrs["notes"]  # type: ignore[arg-type]
    assert "confidence" not in path.read_text(encoding="utf-8-sig")
    below = nc.to_csv(est, tmp_path / "b.csv", notes="below", language="nl")  # type: ignore[arg-type]
    text = below.read_text(encoding="utf-8-sig")
    assert "\n\nSchattingen: aandeel in %.\n" in text
    back = nc.read_publication_table(below, language="nl")
    pd.testing.assert_frame_equal(back, nc.publication_table(est, language="nl"))  # type: ignore[arg-type]


def test_a_publication_table_itself_can_be_written(tmp_path: Path) -> None:
    table = nc.publication_table(RESULTS["mean"], language="nl")  # type: ignore[arg-type]
    table = table[table["stype"] != "M"]
    path = nc.to_csv(table, tmp_path / "t.csv", language="nl")
    assert path.read_text(encoding="utf-8-sig").count("\n") == 5
    with pytest.raises(SurveyError, match="cannot be applied to a DataFrame"):
        nc.to_csv(table, tmp_path / "u.csv", digits=2)


# ---------------------------------------------------------------------- Excel
@pytest.mark.parametrize("language", ["nl", "en"])
def test_excel_round_trip_keeps_numbers_numeric(tmp_path: Path, language: str) -> None:
    names = ["proportion", "compare", "extrapolation", "regression", "chisq", "total"]
    path = nc.to_excel({n: RESULTS[n] for n in names}, tmp_path / "all.xlsx",  # type: ignore[misc]
                       language=language)
    sheets = pd.read_excel(path, sheet_name=None)
    assert list(sheets) == names
    for name in names:
        table = nc.publication_table(RESULTS[name], language=language)  # type: ignore[arg-type]
        pd.testing.assert_frame_equal(sheets[name], table, check_dtype=False)
    assert pd.api.types.is_numeric_dtype(sheets["proportion"].iloc[:, 3])  # not text


def test_excel_formats(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    path = nc.to_excel(RESULTS["extrapolation"], tmp_path / "t.xlsx", language="nl",  # type: ignore[arg-type]
                       notes="below")
    ws = openpyxl.load_workbook(path)["tabel"]
    assert [c.value for c in ws[1]] == ["stype", "variabele", "categorie", "aandeel (%)",
                                        "aantal", "95%-btbi"]
    assert all(c.font.bold for c in ws[1])
    assert ws.freeze_panes == "A2"
    assert ws["D2"].number_format == "#,##0.0"
    assert ws["E2"].number_format == "#,##0"
    assert ws["E2"].value == 2025000
    assert ws["F2"].value == "[1.372.556; 2.677.444]"
    assert ws["F2"].alignment.horizontal == "right"
    assert ws.column_dimensions["F"].width >= len("[1.372.556; 2.677.444]")
    assert ws["A8"].value is None
    assert ws["A9"].value.startswith("95%-betrouwbaarheidsintervallen")
    assert ws["A9"].font.italic
    back = nc.read_publication_table(path, language="nl")
    pd.testing.assert_frame_equal(
        back, nc.publication_table(RESULTS["extrapolation"], language="nl"),  # type: ignore[arg-type]
        check_dtype=False)


def test_excel_notes_sheet(tmp_path: Path, harmonised: nc.HarmonisedEstimate) -> None:
    path = nc.to_excel({"aandelen": harmonised, "veranderingen": nc.compare(harmonised, "wave")},
                       tmp_path / "t.xlsx", language="nl", notes="sheet")
    notes = pd.read_excel(path, sheet_name="toelichting")
    assert notes.columns.tolist() == ["blad", "toelichting"]
    assert set(notes["blad"]) == {"aandelen", "veranderingen"}
    assert notes["toelichting"].str.startswith("Definitie:").sum() == 1


def test_excel_files_are_deterministic(tmp_path: Path) -> None:
    est = RESULTS["compare"]
    first = nc.to_excel(est, tmp_path / "a.xlsx", notes="sheet")  # type: ignore[arg-type]
    second = nc.to_excel(est, tmp_path / "b.xlsx", notes="sheet")  # type: ignore[arg-type]
    assert hashlib.sha256(first.read_bytes()).digest() == hashlib.sha256(
        second.read_bytes()).digest()
    with zipfile.ZipFile(first) as archive:
        assert {i.date_time for i in archive.infolist()} == {(2000, 1, 1, 0, 0, 0)}
        core = archive.read("docProps/core.xml").decode()
    assert "2000-01-01T00:00:00Z" in core


# ---------------------------------------------------------------------- errors
def test_bad_arguments() -> None:
    est = RESULTS["mean"]
    with pytest.raises(SurveyError, match="`language` must be 'nl' or 'en', not 'de'"):
        nc.publication_table(est, language="de")  # type: ignore[arg-type]
    for bad in (-1, 1.5, True, "2"):
        with pytest.raises(SurveyError, match="`digits` must be a whole number"):
            nc.publication_table(est, digits=bad)  # type: ignore[arg-type]
    with pytest.raises(SurveyError, match="`percent` must be True, False or None"):
        nc.publication_table(est, percent="yes")  # type: ignore[arg-type]
    with pytest.raises(SurveyError, match=r"has no column 'pvalue'.*choose from"):
        nc.publication_table(est, columns=["estimate", "pvalue"])  # type: ignore[arg-type]
    with pytest.raises(SurveyError, match="names a column twice"):
        nc.publication_table(est, columns=["ci", "ci"])  # type: ignore[arg-type]
    with pytest.raises(SurveyError, match="confidence_level must be in"):
        nc.publication_table(est, confidence_level=95)  # type: ignore[arg-type]
    with pytest.raises(SurveyError, match="not a DataFrame"):
        nc.publication_table(STRAT)  # type: ignore[arg-type]
    with pytest.raises(SurveyError, match="does not apply to regression"):
        nc.publication_table(RESULTS["regression"], percent=True)  # type: ignore[arg-type]
    with pytest.raises(SurveyError, match="do not apply to a test"):
        nc.publication_table(RESULTS["chisq"], digits=2)  # type: ignore[arg-type]
    renamed = nc.mean(nc.SurveyDesign(STRAT.rename(columns={"stype": "n"}), weights="pw"),
                      "api00", by="n")
    with pytest.raises(SurveyError, match="would both be called 'n'"):
        nc.publication_table(renamed)


def test_unwritable_paths_name_the_path(tmp_path: Path) -> None:
    est = RESULTS["mean"]
    missing = tmp_path / "no such dir" / "t.csv"
    with pytest.raises(FileNotFoundError, match=r"no such dir.*does not exist"):
        nc.to_csv(est, missing)  # type: ignore[arg-type]
    with pytest.raises(OSError, match=r"Cannot write .*: it is a directory"):
        nc.to_csv(est, tmp_path)  # type: ignore[arg-type]
    with pytest.raises(FileNotFoundError, match="does not exist"):
        nc.to_excel(est, tmp_path / "no such dir" / "t.xlsx")  # type: ignore[arg-type]
    assert not list(tmp_path.iterdir())


def test_bad_file_options(tmp_path: Path) -> None:
    est = RESULTS["mean"]
    with pytest.raises(SurveyError, match=r"'\.xlsx' file"):
        nc.to_excel(est, tmp_path / "t.csv")  # type: ignore[arg-type]
    with pytest.raises(SurveyError, match="`notes` must be"):
        nc.to_csv(est, tmp_path / "t.csv", notes="sheet")  # type: ignore[arg-type]
    with pytest.raises(SurveyError, match="`notes` must be"):
        nc.to_excel(est, tmp_path / "t.xlsx", notes="file")  # type: ignore[arg-type]
    with pytest.raises(SurveyError, match="Unknown `encoding`"):
        nc.to_csv(est, tmp_path / "t.csv", encoding="no-such-codec")  # type: ignore[arg-type]
    for sheets, message in (({"a/b": est}, "does not allow the sheet name"),
                            ({"x" * 32: est}, "does not allow"),
                            ({"a": est, "A": est}, "used twice"),
                            ({"notes": est}, "used twice"),
                            ({}, "is empty")):
        with pytest.raises(SurveyError, match=message):
            nc.to_excel(sheets, tmp_path / "t.xlsx", notes="sheet")  # type: ignore[arg-type]
    with pytest.raises(SurveyError, match="`sheet_name` is for a single result"):
        nc.to_excel({"a": est}, tmp_path / "t.xlsx", sheet_name="b")  # type: ignore[dict-item]
    assert not list(tmp_path.iterdir())


def test_excel_without_openpyxl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "openpyxl", None)
    with pytest.raises(ImportError, match=r'pip install "nea_covid\[excel\]"'):
        nc.to_excel(RESULTS["mean"], tmp_path / "t.xlsx")  # type: ignore[arg-type]
    nc.to_csv(RESULTS["mean"], tmp_path / "t.csv")  # type: ignore[arg-type]  # CSV needs nothing


# ---------------------------------------------------------------------- review findings
@pytest.mark.parametrize("language", ["nl", "en"])
@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_round_trip_keeps_dtypes_with_gaps_and_whole_floats(tmp_path: Path, language: str,
                                                            suffix: str) -> None:
    """Whole-number columns with a gap come back Int64, shares that happen to be whole
    (73.0, 32.0, 48.0) come back float64: the table exactly as it was made."""
    data = STRAT.copy()
    data.loc[data["stype"] == "H", "api00"] = np.nan
    design = nc.SurveyDesign(data, weights="pw", strata="stype", fpc="fpc")
    with pytest.warns(nc.errors.EmptyDomainWarning):
        gap = nc.mean(design, "api00", by="stype", missing="omit")
    awards = nc.proportion(D, "awards", by="stype")
    write = nc.to_csv if suffix == ".csv" else nc.to_excel
    for result in (gap, awards, nc.compare(awards, "stype")):
        table = nc.publication_table(result, language=language)  # type: ignore[arg-type]
        path = write(result, tmp_path / f"t{suffix}", language=language,  # type: ignore[arg-type]
                     notes="below")
        back = nc.read_publication_table(path, language=language)
        pd.testing.assert_frame_equal(back, table)
        assert back.equals(table)
    assert str(nc.publication_table(gap).iloc[:, 2].dtype) == "Int64"
    assert back.iloc[:, 5].tolist() == [73.0, 32.0]
    assert back.iloc[:, 5].dtype == np.float64


@pytest.mark.parametrize(("language", "ci", "se"), [
    ("en", "95% CI (log odds ratio)", "standard error (log odds ratio)"),
    ("nl", "95%-btbi (log-oddsratio)", "standaardfout (log-oddsratio)")])
def test_logit_comparison_of_published_figures_heads_its_interval(
        tmp_path: Path, language: str, ci: str, se: str) -> None:
    table = nc.publication_table(RESULTS["published"], language=language,  # type: ignore[arg-type]
                                 columns=["difference", "estimate", "standard_error", "ci"])
    assert list(table.columns[-3:]) == [label_of("log_odds_ratio", language), se, ci]
    assert table.columns[2].endswith("-points)" if language == "en" else "-punten)")
    linear = nc.compare_published(nc.PublishedFigure(0.70, ci=(0.68, 0.72)),
                                  nc.PublishedFigure(0.67, ci=(0.65, 0.69)))
    assert nc.formatting.ci_label(0.95, language) in nc.publication_table(  # type: ignore[arg-type]
        linear, language=language).columns  # type: ignore[arg-type]
    path = nc.to_csv(RESULTS["published"], tmp_path / "p.csv", language=language,  # type: ignore[arg-type]
                     columns=["estimate", "ci", "ci_low"])
    back = nc.read_publication_table(path, language=language)
    assert back.iloc[:, -1].dtype == np.float64  # "lower bound (log odds ratio)" is a number


def label_of(key: str, language: str) -> str:
    return nc.formatting.label(key, language)  # type: ignore[arg-type]


def test_interval_method_of_an_estimate(tmp_path: Path) -> None:
    d = nc.SurveyDesign(nc.datasets.load_api("strat"), weights="pw", strata="stype", fpc="fpc")
    est = nc.proportion(d, "awards", by="stype")
    low, high = est.confidence_interval(method="beta")
    table = nc.publication_table(est, method="beta", language="en",
                                 columns=["estimate", "ci_low", "ci_high", "ci"])
    np.testing.assert_allclose(table["lower bound (%)"], round_half_up(low * 100, 1), atol=1e-9)
    np.testing.assert_allclose(table["upper bound (%)"], round_half_up(high * 100, 1), atol=1e-9)
    assert any("Korn-Graubard" in note for note in table.attrs["notes"])
    assert table["95% CI"].tolist() != nc.publication_table(est)["95% CI"].tolist()
    path = nc.to_csv(est, tmp_path / "beta.csv", method="beta")
    assert nc.read_publication_table(path)["95% CI"].tolist() == table["95% CI"].tolist()
    with pytest.raises(nc.SurveyError, match="not available"):
        nc.publication_table(est, method="wilson")
    with pytest.raises(nc.SurveyError, match="Comparison has t intervals only"):
        nc.publication_table(nc.compare(est, "stype"), method="logit")
