"""Readers for real files: SPSS system files (pyreadstat) and RIVM's behaviour CSV.

The SPSS tests write small ``.sav`` files with pyreadstat in a temporary directory.
The RIVM tests use ``tests/data/rivm_behaviour_sample.csv``: 36 rows in the format of
RIVM's open data (``COVID-19_gedrag.csv``) with invented figures (random proportions,
intervals from a logistic approximation, change flags set to our own logit-scale
verdicts), two regions × three subgroups × two indicators × waves 1-3, with a region
where one indicator is not published in wave 1 and figures of 100% and up to 100%.
Malformed variants are written from it in ``tmp_path``.

The real file is public domain but not part of the project; the tests that read it
run where it is at ``../shared/data/COVID-19_gedrag.csv`` (or ``$NEA_COVID_RIVM_CSV``)
and skip otherwise.
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import nea_covid as nc
from nea_covid.readers import (
    RIVM_COLUMNS,
    compare_waves,
    published_figures,
    read_rivm_behaviour,
    read_spss,
)

DATA = Path(__file__).parent / "data"
SAMPLE = DATA / "rivm_behaviour_sample.csv"
REAL = Path(os.environ.get(
    "NEA_COVID_RIVM_CSV",
    Path(__file__).resolve().parents[2] / "shared" / "data" / "COVID-19_gedrag.csv"))


# ============================================================================= SPSS
@pytest.fixture
def sav(tmp_path: Path) -> Path:
    pyreadstat = pytest.importorskip("pyreadstat")
    df = pd.DataFrame({
        "sex": [1.0, 2.0, 2.0, 9.0, 1.0, 2.0],
        "age": [20.0, 35.0, -1.0, 50.0, 61.0, -9.0],
        "edu": [3.0, 1.0, 2.0, 8.0, 99.0, 3.0],
        "income": [1200.0, 99.0, 2500.0, 1800.0, np.nan, 3100.0],
        "town": ["Delft", "Leeuwarden", "Fryslân", "", "Delft", "Assen"],
        "date": pd.to_datetime(["2020-10-06", "2020-10-27", "2020-11-17", "2020-10-06",
                                "2020-10-27", "2020-11-17"]),
    })
    path = tmp_path / "survey.sav"
    pyreadstat.write_sav(
        df, path, file_label="synthetic test file",
        column_labels={"sex": "Sex of respondent", "age": "Age in years",
                       "edu": "Education"},
        # label codes deliberately out of order: categories follow the codes
        variable_value_labels={"sex": {2: "Female", 1: "Male", 9: "Refused"},
                               "edu": {3: "High", 1: "Low", 2: "Middle", 8: "Don't know",
                                       99: "No answer"},
                               "income": {99: "Refused"}},
        missing_ranges={"sex": [9], "age": [{"lo": -9, "hi": -1}], "edu": [8, 99]},
        variable_measure={"sex": "nominal", "age": "scale", "edu": "ordinal"})
    return path


def test_spss_labels_missing_and_metadata(sav: Path) -> None:
    df = read_spss(sav)
    assert list(df.columns) == ["sex", "age", "edu", "income", "town", "date"]
    # value labels -> categoricals, categories in code order, user-missing codes -> NA
    assert isinstance(df["sex"].dtype, pd.CategoricalDtype)
    assert list(df["sex"].cat.categories) == ["Male", "Female"]
    assert df["sex"].tolist()[:3] == ["Male", "Female", "Female"]
    assert df["sex"].isna().tolist() == [False, False, False, True, False, False]
    assert list(df["edu"].cat.categories) == ["Low", "Middle", "High"]
    assert df["edu"].cat.ordered  # measurement level "ordinal"
    assert not df["sex"].cat.ordered
    assert df["edu"].isna().sum() == 2
    # a range of user-missing codes on a numeric variable
    np.testing.assert_array_equal(df["age"].to_numpy(), [20, 35, np.nan, 50, 61, np.nan])
    # a variable with values that have no label keeps its codes
    assert df["income"].dtype == np.float64
    assert df["income"].iloc[1] == 99
    assert df["town"].iloc[2] == "Fryslân"
    assert df["date"].dtype.kind == "M"
    attrs = df.attrs
    assert attrs["variable_labels"] == {"sex": "Sex of respondent", "age": "Age in years",
                                        "edu": "Education", "income": None, "town": None,
                                        "date": None}
    assert attrs["value_labels"]["sex"] == {1: "Male", 2: "Female", 9: "Refused"}
    assert attrs["missing_ranges"]["age"] == [{"lo": -9, "hi": -1}]
    assert attrs["measurement_levels"]["edu"] == "ordinal"
    assert attrs["file_label"] == "synthetic test file"
    assert attrs["source"] == str(sav)


def test_spss_keep_user_missing_codes(sav: Path) -> None:
    df = read_spss(sav, user_missing=False)
    assert list(df["sex"].cat.categories) == ["Male", "Female", "Refused"]
    assert df["sex"].iloc[3] == "Refused"
    assert list(df["edu"].cat.categories) == ["Low", "Middle", "High", "Don't know",
                                              "No answer"]
    assert df["age"].iloc[2] == -1


def test_spss_codes_without_categoricals(sav: Path) -> None:
    df = read_spss(sav, categorical=False)
    assert df["sex"].dtype == np.float64
    np.testing.assert_array_equal(df["sex"].to_numpy(), [1, 2, 2, np.nan, 1, 2])
    assert df.attrs["value_labels"]["edu"][3] == "High"


def test_spss_columns(sav: Path) -> None:
    df = read_spss(sav, columns=["edu", "sex"])
    assert list(df.columns) == ["sex", "edu"]  # the file's order
    assert set(df.attrs["variable_labels"]) == {"sex", "edu"}
    with pytest.raises(nc.ColumnNotFoundError, match=r"no variable 'sx'.*'sex'"):
        read_spss(sav, columns=["sx"])
    with pytest.raises(KeyError):
        read_spss(sav, columns=["sx"])


@pytest.mark.parametrize("content", ["truncated", "garbage", "empty", "csv"])
def test_spss_malformed_file(sav: Path, tmp_path: Path, content: str) -> None:
    bad = tmp_path / f"{content}.sav"
    data = {"truncated": sav.read_bytes()[:400], "garbage": bytes(range(256)) * 8,
            "empty": b"", "csv": b"a;b\n1;2\n"}[content]
    bad.write_bytes(data)
    with pytest.raises(nc.FileFormatError, match=f"{content}.sav") as info:
        read_spss(bad)
    assert isinstance(info.value, ValueError)


def test_spss_missing_file(tmp_path: Path) -> None:
    pytest.importorskip("pyreadstat")
    with pytest.raises(FileNotFoundError, match=r"nothing\.sav"):
        read_spss(tmp_path / "nothing.sav")


def test_spss_without_pyreadstat(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "pyreadstat", None)
    with pytest.raises(ImportError, match=r"pip install nea_covid\[spss\]"):
        read_spss(tmp_path / "survey.sav")


# ============================================================================= RIVM
def test_rivm_sample_reads() -> None:
    f = read_rivm_behaviour(SAMPLE)
    assert list(f.columns) == [
        "wave", "date", "region_code", "region", "subgroup_category", "subgroup",
        "indicator_category", "indicator", "figure_type", "n", "estimate", "ci_low",
        "ci_high", "change", "report_date"]
    assert len(f) == 36
    assert f["wave"].dtype == np.int64
    assert sorted(f["wave"].unique()) == [1, 2, 3]
    assert f["date"].dtype.kind == "M"
    assert f["report_date"].dtype.kind == "M"
    assert f["n"].dtype == np.int64
    assert str(f["change"].dtype) == "Int8"
    assert set(f["change"].dropna()) <= {-1, 0, 1}
    assert f["change"][f["wave"] == 1].isna().all()
    assert "Fryslân" in set(f["region"])
    # percentages become proportions
    first = f.iloc[0]
    assert (first["estimate"], first["ci_low"], first["ci_high"]) == pytest.approx(
        (0.603, 0.577, 0.628))
    raw = pd.read_csv(SAMPLE, sep=";")
    np.testing.assert_allclose(f["estimate"], raw["Value"] / 100)
    # unpublished figures: NaN and n = 0
    unpublished = f["estimate"].isna()
    assert unpublished.sum() == 3
    assert (f.loc[unpublished, "n"] == 0).all()
    assert f.loc[unpublished, ["ci_low", "ci_high"]].isna().all().all()


def test_rivm_sources_path_str_text_bytes_bom() -> None:
    text = SAMPLE.read_text(encoding="utf-8")
    expected = read_rivm_behaviour(SAMPLE)
    for source in (str(SAMPLE), io.StringIO(text), io.BytesIO(text.encode("utf-8")),
                   io.BytesIO(b"\xef\xbb\xbf" + text.encode("utf-8")),
                   io.StringIO("\ufeff" + text), io.StringIO(text.replace("\n", "\r\n"))):
        pd.testing.assert_frame_equal(read_rivm_behaviour(source), expected)


def test_rivm_header_only() -> None:
    f = read_rivm_behaviour(io.StringIO(";".join(RIVM_COLUMNS) + "\n"))
    assert len(f) == 0
    assert f["estimate"].dtype == np.float64


def _lines() -> list[str]:
    return SAMPLE.read_text(encoding="utf-8").splitlines()


def _set(lines: list[str], line: int, column: str, value: str) -> list[str]:
    """Set a field on a (1-based) line."""
    fields = lines[line - 1].split(";")
    fields[RIVM_COLUMNS.index(column)] = value
    out = list(lines)
    out[line - 1] = ";".join(fields)
    return out


def _write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "gedrag.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


BAD_FIELDS = [
    # (line, column, new value, expected message)
    (5, "Value", "8x.3", r"line 5, column 'Value': not a number.*found '8x.3'"),
    (5, "Value", "82,3", r"line 5, column 'Value': not a number"),
    (7, "Lower_limit", "abc", r"line 7, column 'Lower_limit': not a number"),
    (4, "Lower_limit", "80.0", r"line 4, column 'Lower_limit': above the Value"),
    (4, "Upper_limit", "70.0", r"line 4, column 'Upper_limit': below the Value"),
    (9, "Value", "101.0", r"line 9, column 'Value': a percentage outside \[0, 100\]"),
    (9, "Lower_limit", "-1.0", r"line 9, column 'Lower_limit': a percentage outside"),
    (6, "Upper_limit", "", r"line 6, column 'Upper_limit': missing while Lower_limit"),
    (6, "Value", "", r"line 6, column 'Value': missing while its limits are given"),
    (3, "Change_wrt_previous_measurement", "2",
     r"line 3, column 'Change_wrt_previous_measurement': not a change flag"),
    (3, "Change_wrt_previous_measurement", "yes", r"line 3, .*not a change flag"),
    (8, "Wave", "x", r"line 8, column 'Wave': not a wave number"),
    (8, "Wave", "2.5", r"line 8, column 'Wave': not a wave number"),
    (8, "Wave", "", r"line 8, column 'Wave': not a wave number"),
    (10, "Sample_size", "12.5", r"line 10, column 'Sample_size'"),
    (10, "Sample_size", "-3", r"line 10, column 'Sample_size'"),
    (10, "Sample_size", "", r"line 10, column 'Sample_size'"),
    (11, "Date_of_measurement", "2020-13-45",
     r"line 11, column 'Date_of_measurement': missing or not a date"),
    (11, "Date_of_report", "", r"line 11, column 'Date_of_report': missing or not a date"),
    (12, "Region_code", "", r"line 12, column 'Region_code': missing"),
    (12, "Indicator", "", r"line 12, column 'Indicator': missing"),
]


@pytest.mark.parametrize(("line", "column", "value", "message"), BAD_FIELDS)
def test_rivm_bad_field(tmp_path: Path, line: int, column: str, value: str,
                        message: str) -> None:
    path = _write(tmp_path, _set(_lines(), line, column, value))
    with pytest.raises(nc.FileFormatError, match=message) as info:
        read_rivm_behaviour(path)
    assert str(info.value).startswith(repr(str(path)))


def test_rivm_counts_lines_with_the_same_problem(tmp_path: Path) -> None:
    lines = _lines()
    for line in (6, 9, 20):
        lines = _set(lines, line, "Value", "n/a")
    with pytest.raises(nc.FileFormatError, match=r"line 6, .*3 lines have this problem "
                                                 r"\(lines 6, 9, 20\)"):
        read_rivm_behaviour(_write(tmp_path, lines))


def test_rivm_reports_the_earliest_line(tmp_path: Path) -> None:
    lines = _set(_set(_lines(), 15, "Value", "x"), 7, "Wave", "seven")
    with pytest.raises(nc.FileFormatError,
                       match=r"line 7, column 'Wave'.*1 other problem") as info:
        read_rivm_behaviour(_write(tmp_path, lines))
    assert "line 15" not in str(info.value)


def test_rivm_duplicated_key(tmp_path: Path) -> None:
    lines = _lines()
    lines.insert(20, _set(lines, 4, "Value", "77.0")[3])  # line 4 again, as line 21
    with pytest.raises(nc.FileFormatError,
                       match=r"line 21, columns Wave, Region_code, .*Figure_type: repeats "
                             r".* of line 4"):
        read_rivm_behaviour(_write(tmp_path, lines))
    # "01" and "1" are the same wave (line 4 becomes wave 1 of the series of line 2)
    lines = _lines()
    lines.append(_set(lines, 4, "Wave", "1")[3])
    with pytest.raises(nc.FileFormatError, match=r"line 38, .*of line 2"):
        read_rivm_behaviour(_write(tmp_path, lines))


@pytest.mark.parametrize(("change", "message"), [
    (lambda h: h.replace(";Value;", ";Waarde;"),
     r"line 1 \(header\): the header lacks 1 column 'Value'; has unknown 1 column 'Waarde'"),
    (lambda h: h.replace(";Lower_limit;Upper_limit", ""),
     r"lacks 2 columns 'Lower_limit', 'Upper_limit'"),
    (lambda h: h + ";Extra", r"has unknown 1 column 'Extra'"),
    (lambda h: h.replace(";", ","), r"separated by semicolons"),
])
def test_rivm_bad_header(tmp_path: Path, change: Any, message: str) -> None:
    lines = _lines()
    lines[0] = change(lines[0])
    if "," in lines[0]:
        lines = [line.replace(";", ",") for line in lines]
    with pytest.raises(nc.FileFormatError, match=message):
        read_rivm_behaviour(_write(tmp_path, lines))


def test_rivm_missing_columns_in_the_data(tmp_path: Path) -> None:
    # a header with every column but rows of a different layout
    lines = _lines()
    lines[4] = lines[4] + ";surplus"
    with pytest.raises(nc.FileFormatError, match=r"line 5, saw 16"):
        read_rivm_behaviour(_write(tmp_path, lines))
    lines = _lines()
    lines[4] = ";".join(lines[4].split(";")[:9])  # too few fields: the rest is missing
    with pytest.raises(nc.FileFormatError, match=r"line 5, column 'Sample_size'"):
        read_rivm_behaviour(_write(tmp_path, lines))


def test_rivm_blank_line_keeps_line_numbers(tmp_path: Path) -> None:
    lines = _lines()
    lines.insert(9, "")
    with pytest.raises(nc.FileFormatError, match=r"line 10, column "):
        read_rivm_behaviour(_write(tmp_path, lines))


def test_rivm_not_utf8_and_empty(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes(SAMPLE.read_text(encoding="utf-8").encode("latin-1"))
    with pytest.raises(nc.FileFormatError, match=r"latin1.csv.*not UTF-8"):
        read_rivm_behaviour(path)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(nc.FileFormatError, match=r"empty.csv' is empty"):
        read_rivm_behaviour(empty)
    with pytest.raises(FileNotFoundError):
        read_rivm_behaviour(tmp_path / "nothing.csv")


# ------------------------------------------------------------------ published figures
def test_published_figures() -> None:
    f = read_rivm_behaviour(SAMPLE)
    published = f[f["estimate"].notna()]
    figures = published_figures(published)
    assert len(figures) == 33
    first = figures[0]
    assert first == nc.PublishedFigure(0.603, ci=(0.577, 0.628), n=1390, label="wave 1")
    # 100% with the interval (100, 100): a figure with n only
    hundred = figures[int(np.flatnonzero(published["estimate"].to_numpy() == 1.0)[0])]
    assert hundred.ci is None
    assert hundred.n == 89
    assert published_figures(published.head(2), label=None)[1].label is None
    assert published_figures(published.head(1), label="region")[0].label == "region Nederland"
    with pytest.raises(nc.ComparisonError, match=r"3 rows of 36 have no estimate"):
        published_figures(f)
    with pytest.raises(nc.ComparisonError, match="not a percentage"):
        published_figures(published.assign(figure_type="Mean"))
    with pytest.raises(nc.ColumnNotFoundError, match="'ci_low'"):
        published_figures(published.drop(columns="ci_low"))


# ------------------------------------------------------------------ compare_waves
def test_compare_waves_sample() -> None:
    f = read_rivm_behaviour(SAMPLE)
    with pytest.warns(nc.SurveyWarning, match=r"left out 3 pairs .*touches 0% or 100%"):
        result = compare_waves(f)
    assert result.attrs["skipped"] == {"no estimate": 3, "neither interval nor n": 0,
                                       "interval touches 0% or 100%": 3}
    assert len(result) == 24 - 3 - 3
    assert list(result.columns) == [
        "region_code", "region", "subgroup_category", "subgroup", "indicator_category",
        "indicator", "base_wave", "wave", "base_estimate", "estimate", "difference",
        "log_odds_ratio", "standard_error", "statistic", "pvalue", "change",
        "rivm_change", "agrees"]
    assert (result["wave"] == result["base_wave"] + 1).all()
    # the sample's flags are our verdicts
    assert result["agrees"].all()
    assert set(result["change"]) == {-1, 0, 1}
    # each row is the published-figure comparison of its two waves
    row = result.iloc[0]
    sel = f[(f["region_code"] == row["region_code"]) & (f["subgroup"] == row["subgroup"])
            & (f["indicator"] == row["indicator"])]
    a, b = published_figures(sel[sel["wave"].isin([row["base_wave"], row["wave"]])])
    direct = nc.compare_published(a, b, scale="logit")
    assert row["log_odds_ratio"] == pytest.approx(direct.estimate[0])
    assert row["pvalue"] == pytest.approx(direct.pvalue[0])
    assert row["difference"] == pytest.approx(b.estimate - a.estimate)


def test_compare_waves_linear_and_selection() -> None:
    f = read_rivm_behaviour(SAMPLE)
    linear = compare_waves(f, scale="linear")  # no pair at the boundary: no warning
    assert len(linear) == 21
    assert "log_odds_ratio" not in linear.columns
    assert linear.attrs["skipped"]["both intervals of zero width"] == 0
    national = compare_waves(f[f["region_code"] == "NL00"])
    assert len(national) == 12
    assert national.attrs["skipped"] == {"no estimate": 0, "neither interval nor n": 0,
                                         "interval touches 0% or 100%": 0}
    strict = compare_waves(f[f["region_code"] == "NL00"], alpha=1e-9)
    assert (strict["change"].abs() <= national["change"].abs()).all()
    empty = compare_waves(f[f["wave"] == 1])
    assert len(empty) == 0
    assert "pvalue" in empty.columns


def test_compare_waves_zero_width_pairs_on_the_linear_scale(tmp_path: Path) -> None:
    lines = _lines()
    for line in (30, 31):  # wave 2 and 3 of one series: 100% (100, 100)
        for column in ("Value", "Lower_limit", "Upper_limit"):
            lines = _set(lines, line, column, "100.0")
    with pytest.warns(nc.SurveyWarning, match="both intervals of zero width"):
        result = compare_waves(read_rivm_behaviour(_write(tmp_path, lines)), scale="linear")
    assert result.attrs["skipped"]["both intervals of zero width"] == 1


def test_compare_waves_bad_input() -> None:
    f = read_rivm_behaviour(SAMPLE)
    with pytest.raises(nc.ComparisonError, match="scale"):
        compare_waves(f, scale="log")  # type: ignore[arg-type]
    with pytest.raises(nc.ComparisonError, match="alpha"):
        compare_waves(f, alpha=5)
    with pytest.raises(nc.ColumnNotFoundError, match="'change'"):
        compare_waves(f.drop(columns="change"))
    with pytest.raises(nc.ComparisonError, match="repeat a wave"):
        compare_waves(pd.concat([f, f.head(1)]))
    with pytest.raises(TypeError, match="DataFrame"):
        compare_waves(f.to_dict())  # type: ignore[arg-type]


# ------------------------------------------------------------------ the real file
@pytest.fixture(scope="module")
def real() -> pd.DataFrame:
    if not REAL.exists():
        pytest.skip(f"RIVM's open data file is not at {REAL}")
    return read_rivm_behaviour(REAL)


def test_real_file_reads(real: pd.DataFrame) -> None:
    assert len(real) > 20000
    assert real["estimate"].dropna().between(0, 1).all()
    assert real["wave"].min() == 1


def test_real_file_national_flags(real: pd.DataFrame) -> None:
    national = real[real["region_code"] == "NL00"]
    with pytest.warns(nc.SurveyWarning, match="touches 0% or 100%"):
        result = compare_waves(national)
    assert result.attrs["skipped"]["interval touches 0% or 100%"] > 0
    flagged = result[result["rivm_change"].notna()]
    assert len(flagged) > 5000
    assert float(flagged["agrees"].mean()) > 0.99
    # never the opposite direction
    assert not ((flagged["change"] * flagged["rivm_change"]) < 0).any()


def test_sample_is_not_copied_from_the_real_file() -> None:
    if not REAL.exists():
        pytest.skip(f"RIVM's open data file is not at {REAL}")
    real = set(REAL.read_text(encoding="utf-8").splitlines()[1:])
    sample = set(_lines()[1:])
    assert not real & sample


def test_compare_waves_bridges_a_missing_wave() -> None:
    from nea_covid.readers import RIVM_COLUMNS, compare_waves, read_rivm_behaviour

    rows = [";".join(RIVM_COLUMNS)]
    for wave, value in ((8, 71.0), (9, 68.2), (11, 67.5)):
        rows.append(f"2021-06-01;2021-03-{wave:02d};{wave:02d};NL00;Nederland;Alle;Totaal;"
                    f"Naleving;Werkt_thuis;3050;Percentage;{value};{value - 1.7:.1f};"
                    f"{value + 1.6:.1f};0")
    result = compare_waves(read_rivm_behaviour(io.StringIO("\n".join(rows))))
    assert list(zip(result["base_wave"], result["wave"], strict=True)) == [(8, 9), (9, 11)]
