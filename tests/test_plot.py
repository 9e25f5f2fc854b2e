"""nc.plot: every result type draws, the plotted numbers are the estimates and their
intervals, labels and numbers follow the language, alt text describes the data, files
are deterministic, matplotlib's global state is left alone, and matplotlib is imported
only when a chart is drawn."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.container import ErrorbarContainer
from PIL import Image

import nea_covid as nc


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def api() -> nc.SurveyDesign:
    return nc.SurveyDesign(nc.datasets.load_api("strat"), weights="pw", strata="stype",
                           fpc="fpc")


@pytest.fixture(scope="module")
def panel() -> nc.SurveyDesign:
    data = nc.datasets.load_nea_covid()
    return nc.SurveyDesign(data, strata="stratum", clusters="panel_id", weights="weight")


@pytest.fixture(scope="module")
def at_home(panel: nc.SurveyDesign) -> nc.HarmonisedEstimate:
    return nc.harmonised_proportion(panel, nc.get_definition("tno_works_at_home"), by="wave")


@pytest.fixture(scope="module")
def by_sector(panel: nc.SurveyDesign) -> nc.Estimate:
    """Share working only at home (work_location 1) by wave and sector (13 sectors)."""
    return nc.proportion(panel, "work_location", by=["wave", "sector"], missing="omit")


def _errorbars(ax: Any) -> list[ErrorbarContainer]:
    return [c for c in ax.containers if isinstance(c, ErrorbarContainer)]


def _read(container: ErrorbarContainer, horizontal: bool) -> dict[str, np.ndarray]:
    """Position, estimate and interval bounds drawn by one errorbar call."""
    line = container.lines[0]
    x, y = np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)
    segments = np.asarray(container.lines[2][0].get_segments(), float)  # (n, 2, 2)
    k = 0 if horizontal else 1
    return {"position": y if horizontal else x, "estimate": x if horizontal else y,
            "low": segments[:, :, k].min(axis=1), "high": segments[:, :, k].max(axis=1)}


# ---------------------------------------------------------------------- every result type
def _results(api: nc.SurveyDesign, panel: nc.SurveyDesign,
             at_home: nc.HarmonisedEstimate) -> dict[str, Any]:
    rep = api.to_replicate("JKn")
    stype_mean = nc.mean(api, "api00", by="stype")
    return {
        "mean": nc.mean(api, "api00"),
        "mean_by": stype_mean,
        "means_by": nc.mean(api, ["api00", "api99"], by="stype"),
        "proportion": nc.proportion(api, "sch.wide"),
        "proportions_by": nc.proportion(api, ["sch.wide", "awards"], by="stype"),
        "total": nc.total(api, "enroll"),
        "total_by": nc.total(api, "enroll", by="stype"),
        "ratio_by": nc.ratio(api, "api00", "api99", by="stype"),
        "quantile_by": nc.quantile(api, "api00", [0.25, 0.5], by="stype"),
        "replicate_mean_by": nc.mean(rep, "api00", by="stype"),
        "replicate_proportion": nc.proportion(rep, "awards", by="stype"),
        "harmonised": at_home,
        "extrapolation": nc.extrapolate(at_home, population=7_549_000),
        "extrapolation_by": nc.extrapolate(nc.proportion(api, "awards", by="stype"),
                                           population={"stype": pd.Series(
                                               {"E": 4421, "H": 755, "M": 1018})}),
        "compare_waves": nc.compare(at_home, "wave"),
        "compare_variables": nc.compare(nc.mean(api, ["api99", "api00"], by="stype"),
                                        "variable", ratio=True),
        "contrast": nc.contrast(stype_mean, {"E": 1, "H": -1}),
        "ttest": nc.ttest(api, "api00", group="sch.wide"),
        "published": nc.compare_published(nc.PublishedFigure(0.700, ci=(0.682, 0.717)),
                                          nc.PublishedFigure(0.674, ci=(0.656, 0.692)),
                                          scale="logit"),
        "regression": nc.glm(api, "api00 ~ ell + meals + stype"),
        "logistic": nc.glm(api, "I(awards == 'Yes') ~ ell + meals", family="binomial"),
        "replicate_regression": nc.glm(rep, "api00 ~ ell"),
    }


@pytest.fixture(scope="module")
def results(api: nc.SurveyDesign, panel: nc.SurveyDesign,
            at_home: nc.HarmonisedEstimate) -> dict[str, Any]:
    return _results(api, panel, at_home)


RESULT_NAMES = ["mean", "mean_by", "means_by", "proportion", "proportions_by", "total",
                "total_by", "ratio_by", "quantile_by", "replicate_mean_by",
                "replicate_proportion", "harmonised", "extrapolation", "extrapolation_by",
                "compare_waves", "compare_variables", "contrast", "ttest", "published",
                "regression", "logistic", "replicate_regression"]


@pytest.mark.parametrize("name", RESULT_NAMES)
@pytest.mark.parametrize("language", ["en", "nl"])
def test_every_result_type_plots(results: dict[str, Any], name: str, language: str) -> None:
    result = results[name]
    cells_before = result.cells.copy()
    ax = result.plot(language=language)
    assert ax.has_data()
    text = nc.plot.alt_text(ax)
    assert len(text) > 60
    assert text.split()[0] in {"Line", "Dot-and-whisker", "Coefficient", "Lijndiagram",
                               "Stip-en-snordiagram", "Coëfficiëntendiagram"}
    table = nc.plot.table(ax)
    assert len(table) >= 1
    assert {"label", "estimate", "ci_low", "ci_high"} <= set(table.columns)
    pd.testing.assert_frame_equal(result.cells, cells_before)  # the result is untouched


def test_default_chart_per_result_type(results: dict[str, Any]) -> None:
    assert nc.plot.alt_text(results["harmonised"].plot()).startswith("Line chart")
    assert nc.plot.alt_text(results["mean_by"].plot()).startswith("Dot-and-whisker chart")
    assert nc.plot.alt_text(results["extrapolation"].plot()).startswith("Line chart")
    assert nc.plot.alt_text(results["extrapolation_by"].plot()).startswith("Dot-and-whisker")
    assert "comparison" in nc.plot.alt_text(results["compare_waves"].plot())
    assert nc.plot.alt_text(results["regression"].plot()).startswith("Coefficient plot")
    ax = results["harmonised"].plot(kind="domains")
    assert [t.get_text() for t in ax.get_yticklabels()] == ["2019", "2020-06", "2020-11",
                                                            "2021-03"]


def test_ax_is_used(at_home: nc.HarmonisedEstimate) -> None:
    fig, (left, right) = plt.subplots(1, 2)
    assert nc.plot.trend(at_home, ax=right) is right
    assert nc.plot.domains(at_home, ax=left) is left
    assert len(fig.axes) == 2
    assert left.has_data()
    assert right.has_data()
    with pytest.raises(TypeError, match="matplotlib Axes"):
        nc.plot.trend(at_home, ax=fig)


def test_titles(at_home: nc.HarmonisedEstimate) -> None:
    _, ax = plt.subplots()
    nc.plot.trend(at_home, ax=ax, title="Working at home")
    assert ax.get_title(loc="left") == "Working at home"
    long = "Employees in work who work at home (fully or partly), by wave, 2019 to 2021"
    own = nc.plot.domains(at_home, title=long)
    suptitle = own.figure.get_suptitle()
    assert suptitle.replace("\n", " ") == long  # on a figure of its own: wrapped to fit
    assert "\n" in suptitle


# ---------------------------------------------------------------------- plotted numbers
def test_trend_draws_the_estimates_and_intervals(at_home: nc.HarmonisedEstimate) -> None:
    ax = nc.plot.trend(at_home)
    (bars,) = _errorbars(ax)
    drawn = _read(bars, horizontal=False)
    yes = at_home.to_frame().query("level == 'yes'")
    np.testing.assert_allclose(drawn["estimate"], yes["estimate"] * 100, rtol=1e-12)
    np.testing.assert_allclose(drawn["low"], yes["ci_low"] * 100, rtol=1e-12)
    np.testing.assert_allclose(drawn["high"], yes["ci_high"] * 100, rtol=1e-12)
    np.testing.assert_array_equal(drawn["position"], np.arange(4))
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2019", "2020-06", "2020-11",
                                                            "2021-03"]
    assert ax.get_ylabel() == "works at home (fully or partly), %"
    assert ax.get_legend() is None  # one series: no legend
    table = nc.plot.table(ax)
    np.testing.assert_allclose(table["estimate"], yes["estimate"] * 100)
    assert table["level"].eq("yes").all()


def test_trend_bands_and_series(by_sector: nc.Estimate) -> None:
    ax = nc.plot.trend(by_sector, where={"level": 1, "sector": [1, 7]}, band=True)
    assert not _errorbars(ax)
    frame = by_sector.to_frame()
    for line, sector in zip(ax.get_lines(), [1, 7], strict=True):
        expected = frame[(frame["level"] == 1) & (frame["sector"] == sector)]
        np.testing.assert_allclose(line.get_ydata(), expected["estimate"] * 100)
        assert line.get_label() == str(sector)
    bands = [c for c in ax.collections if c.__class__.__name__ in ("PolyCollection",
                                                                   "FillBetweenPolyCollection")]
    assert len(bands) == 2
    vertices = bands[1].get_paths()[0].vertices[:, 1]
    expected = frame[(frame["level"] == 1) & (frame["sector"] == 7)]
    assert np.isclose(vertices.min(), expected["ci_low"].min() * 100)
    assert np.isclose(vertices.max(), expected["ci_high"].max() * 100)
    legend = ax.get_legend()
    assert legend.get_title().get_text() == "sector"
    assert ax.get_ylabel() == "work location = 1 (%)"


def test_trend_dodges_series_with_error_bars(by_sector: nc.Estimate) -> None:
    ax = nc.plot.trend(by_sector, where={"level": 1, "sector": [1, 2, 3]})
    positions = [_read(c, horizontal=False)["position"] for c in _errorbars(ax)]
    assert positions[0][0] < positions[1][0] < positions[2][0]
    np.testing.assert_allclose(np.mean(positions, axis=0), np.arange(4))
    flat = nc.plot.trend(by_sector, where={"level": 1, "sector": [1, 2]}, dodge=0)
    np.testing.assert_array_equal(_read(_errorbars(flat)[1], False)["position"], np.arange(4))


def test_levels_selection(api: nc.SurveyDesign) -> None:
    est = nc.proportion(api, "sch.wide", by="stype")
    default = nc.plot.table(nc.plot.domains(est))
    assert default["level"].eq("Yes").all()  # the complement "No" is left out
    both = nc.plot.table(nc.plot.domains(est, levels="all"))
    assert len(both) == 6
    no = nc.plot.table(nc.plot.domains(est, levels=["No"]))
    np.testing.assert_allclose(no["estimate"], 100 - default["estimate"])


def test_domains_draw_rows_in_order_sorted_and_with_hue(api: nc.SurveyDesign) -> None:
    est = nc.mean(api, "api00", by="stype")
    ax = nc.plot.domains(est)
    drawn = _read(_errorbars(ax)[0], horizontal=True)
    np.testing.assert_allclose(drawn["estimate"], est.estimate)
    low, high = est.confidence_interval()
    np.testing.assert_allclose(drawn["low"], low)
    np.testing.assert_allclose(drawn["high"], high)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["E", "H", "M"]
    assert ax.get_ylim()[0] > ax.get_ylim()[1]  # first row on top
    assert ax.get_xlabel() == "mean of api00"

    ax = nc.plot.domains(est, sort=True, reference=650)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["E", "M", "H"]
    assert any(np.allclose(line.get_xdata(), 650) for line in ax.get_lines())
    assert "A dashed line marks 650" in nc.plot.alt_text(ax)

    two = nc.mean(api, ["api00", "api99"], by="stype")
    ax = nc.plot.domains(two, hue="variable")
    containers = _errorbars(ax)
    assert len(containers) == 2
    np.testing.assert_allclose(_read(containers[1], True)["estimate"],
                               two.estimate[1::2])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["api00", "api99"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["E", "H", "M"]


def test_interval_options(api: nc.SurveyDesign) -> None:
    est = nc.proportion(api, "awards", by="stype")
    ax = nc.plot.domains(est, confidence_level=0.9, method="logit")
    low, high = est.confidence_interval(0.9, method="logit")
    drawn = _read(_errorbars(ax)[0], horizontal=True)
    np.testing.assert_allclose(drawn["low"], low[1::2] * 100)
    np.testing.assert_allclose(drawn["high"], high[1::2] * 100)
    assert "90% confidence intervals" in nc.plot.alt_text(ax)
    assert nc.plot.domains(est, percent=False).get_xlabel() == "awards = yes"


def test_interval_labels_are_the_tables(api: nc.SurveyDesign) -> None:
    """Charts and publication tables take their labels from nea_covid.formatting."""
    est = nc.proportion(api, "awards", by="stype")
    ax = nc.plot.domains(est, confidence_level=0.975, language="nl")
    table = nc.publication_table(est, confidence_level=0.975, language="nl")
    assert "97,5%-btbi" in table.columns
    assert [t.get_text() for t in ax.texts] == ["lijnen: 97,5%-btbi"]
    assert "97,5%-betrouwbaarheidsintervallen" in nc.plot.alt_text(ax)


def test_counts_in_millions_with_dutch_numbers(at_home: nc.HarmonisedEstimate) -> None:
    ex = nc.extrapolate(at_home, population=7_549_000)
    ax = nc.plot.counts(ex, along="wave", unit="werknemers", language="nl")
    assert ax.get_ylabel() == "werknemers (miljoen)"
    assert ax.get_xlabel() == "meting"
    drawn = _read(_errorbars(ax)[0], horizontal=False)
    yes = ex.to_frame().query("level == 'yes'")
    np.testing.assert_allclose(drawn["estimate"], yes["estimate"] / 1e6)
    np.testing.assert_allclose(drawn["high"], yes["ci_high"] / 1e6)
    ticks = ax.yaxis.get_major_formatter().format_ticks([2.4, 2.6, 3.0])
    assert ticks == ["2,4", "2,6", "3,0"]
    text = nc.plot.alt_text(ax)
    assert "3,699 miljoen [3,612; 3,786] in 2021-03" in text
    assert text.startswith("Lijndiagram van works at home, werknemers per meting")
    forest = nc.plot.counts(ex, precision="thousand")
    # the definition travels with the counts: the concept names the quantity
    assert forest.get_xlabel() == "works at home (fully or partly), number (thousand)"
    np.testing.assert_allclose(_read(_errorbars(forest)[0], True)["estimate"],
                               yes["estimate"] / 1e3)


def test_counts_needs_counts(api: nc.SurveyDesign) -> None:
    with pytest.raises(TypeError, match=r"nc\.extrapolate"):
        nc.plot.counts(nc.mean(api, "api00"))
    total = nc.total(api, "enroll", by="stype")
    ax = nc.plot.counts(total)
    assert ax.get_xlabel() == "total of enroll (million)"
    with pytest.raises(nc.plot.PlotError, match="precision"):
        nc.plot.counts(total, precision="billion")  # type: ignore[arg-type]


def test_changes_mark_significance_after_adjustment(by_sector: nc.Estimate) -> None:
    change = nc.compare(by_sector, "wave", base="2020-11", other="2021-03",
                        where={"level": 1})
    ax = nc.plot.changes(change, adjust="holm")
    filled, hollow = _errorbars(ax)
    significant = change.adjusted_pvalues("holm") < 0.05
    assert 0 < significant.sum() < len(change)  # some of each
    assert filled.lines[0].get_markerfacecolor() != "white"
    assert hollow.lines[0].get_markerfacecolor() == "white"
    np.testing.assert_allclose(np.sort(_read(filled, True)["estimate"]),
                               np.sort(change.estimate[significant] * 100))
    np.testing.assert_allclose(np.sort(_read(hollow, True)["estimate"]),
                               np.sort(change.estimate[~significant] * 100))
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "significant after Holm adjustment (p < 0.05)", "not significant"]
    assert ax.get_xlabel() == ("change in work location = 1, 2020-11 → 2021-03 "
                               "(percentage points)")
    assert any(np.allclose(line.get_xdata(), 0) for line in ax.get_lines())
    table = nc.plot.table(ax)
    np.testing.assert_array_equal(table["significant"].to_numpy(),
                                  significant)  # rows in the comparison's order
    np.testing.assert_allclose(table["pvalue_holm"], change.adjusted_pvalues("holm"))
    text = nc.plot.alt_text(ax)
    assert "Significant after Holm adjustment at α = 0.05: sector " in text
    assert "not significant: sector " in text
    unadjusted = nc.plot.table(nc.plot.changes(change))
    assert unadjusted["significant"].sum() >= significant.sum()


def test_changes_dutch_and_ratios(at_home: nc.HarmonisedEstimate,
                                  api: nc.SurveyDesign) -> None:
    ax = nc.plot.changes(nc.compare(at_home, "wave"), adjust="bh", language="nl")
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "2019 → 2020-06", "2020-06 → 2020-11", "2020-11 → 2021-03"]
    assert ax.get_xlabel() == "verandering in works at home (procentpunten)"
    text = nc.plot.alt_text(ax)
    assert "+13,5 procentpunten [12,6; 14,4]" in text
    assert "Benjamini-Hochberg" in text
    ratio = nc.compare(nc.mean(api, ["api99", "api00"], by="stype"), "variable", ratio=True)
    ax = nc.plot.changes(ratio)
    assert any(np.allclose(line.get_xdata(), 1) for line in ax.get_lines())  # null: 1
    assert "E: 1.0606 [1.0509; 1.0704]" in nc.plot.alt_text(ax)


def test_coefficients(results: dict[str, Any]) -> None:
    fit = results["regression"]
    ax = nc.plot.coefficients(fit)
    drawn = _read(_errorbars(ax)[0], horizontal=True)
    np.testing.assert_allclose(drawn["estimate"], fit.estimate[1:])
    low, _high = fit.confidence_interval()
    np.testing.assert_allclose(drawn["low"], low[1:])
    assert [t.get_text() for t in ax.get_yticklabels()] == fit.terms[1:]
    ax = nc.plot.coefficients(fit, intercept=True, terms=["Intercept", "ell"])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Intercept", "ell"]
    logistic = results["logistic"]
    ax = nc.plot.coefficients(logistic, exponentiate=True)
    assert ax.get_xscale() == "log"
    assert ax.get_xlabel() == "odds ratio"
    np.testing.assert_allclose(_read(_errorbars(ax)[0], True)["estimate"],
                               np.exp(logistic.estimate[1:]))
    assert "ell: -0.56 [-1.24; 0.12]" in nc.plot.alt_text(nc.plot.coefficients(fit))


# ---------------------------------------------------------------------- language, alt text
def test_dutch_labels_and_decimal_comma(at_home: nc.HarmonisedEstimate) -> None:
    ax = nc.plot.trend(at_home, language="nl", labels={"works_at_home": "werkt thuis"})
    assert ax.get_xlabel() == "meting"
    assert ax.get_ylabel() == "werkt thuis (%)"
    assert ax.yaxis.get_major_formatter().format_ticks([32.5, 35.0]) == ["32,5", "35,0"]
    ax.figure.canvas.draw()
    assert all("." not in t.get_text() for t in ax.get_yticklabels())
    assert any(t.get_text() == "95%-btbi" or "95%-btbi" in t.get_text()
               for t in ax.texts)
    text = nc.plot.alt_text(ax)
    assert "31,5% [31,0; 32,0] in 2019" in text
    assert "49,0% [47,8; 50,2] in 2021-03" in text
    english = nc.plot.alt_text(nc.plot.trend(at_home))
    assert "31.5% [31.0; 32.0] in 2019" in english
    assert "Values range from 31.5% to 49.0%" in english
    assert "Definition: tno_works_at_home v1" in english


def test_labels_rename_variables_columns_and_values(by_sector: nc.Estimate) -> None:
    ax = nc.plot.trend(by_sector, where={"level": 1, "sector": [1, 2]}, language="nl",
                       labels={"work_location": "werkt alleen thuis", "wave": "peiling",
                               "sector": {1: "zorg", "2": "onderwijs"}})
    assert ax.get_xlabel() == "peiling"
    assert ax.get_ylabel() == "werkt alleen thuis = 1 (%)"  # the level is not a sector
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["zorg", "onderwijs"]
    assert ax.get_legend().get_title().get_text() == "sector"
    assert "onderwijs: 1,0% [0,5; 1,4] in 2019" in nc.plot.alt_text(ax)


def test_negative_ticks_use_a_minus_sign(results: dict[str, Any]) -> None:
    ax = nc.plot.coefficients(results["regression"], language="nl")
    assert ax.xaxis.get_major_formatter().format_ticks([-1.5, 0.0]) == ["\u22121,5", "0,0"]


def test_alt_text_of_figures_and_overlays(api: nc.SurveyDesign) -> None:
    fig, (left, right) = plt.subplots(1, 2)
    nc.plot.domains(nc.mean(api, "api00", by="stype"), ax=left)
    nc.plot.domains(nc.mean(api, "api99", by="stype"), ax=right)
    text = nc.plot.alt_text(fig)
    assert "mean of api00" in text
    assert "mean of api99" in text
    assert text.count("\n\n") == 1
    nc.plot.domains(nc.mean(api, "api99", by="stype"), ax=left)  # a second chart on left
    table = nc.plot.table(left)
    assert list(table["chart"].unique()) == [0, 1]
    assert nc.plot.alt_text(left).count("Dot-and-whisker chart") == 2
    _, other = plt.subplots()
    other.plot([1, 2], [3, 4])
    other.set_xlabel("x")
    assert nc.plot.alt_text(other) == "Chart (x axis: x; y axis: -)."
    with pytest.raises(TypeError, match=r"no chart drawn by nc\.plot"):
        nc.plot.table(other)
    with pytest.raises(TypeError, match="Figure or Axes"):
        nc.plot.alt_text("not a figure")


def test_many_rows_alt_text_summarises(by_sector: nc.Estimate) -> None:
    ax = nc.plot.domains(by_sector, where={"level": 1, "wave": "2021-03"}, sort=True)
    text = nc.plot.alt_text(ax)
    assert "for 13 rows (sector)" in text
    assert "Highest sector 7: 80.6% [77.3; 83.9]; lowest sector 6: 2.0% [0.6; 3.5]" in text
    assert next(t.get_text() for t in ax.get_yticklabels()) == "7"


# ---------------------------------------------------------------------- files and state
def _render(at_home: nc.HarmonisedEstimate, path: Path) -> bytes:
    ax = nc.plot.trend(at_home, language="nl")
    nc.plot.save(ax, path, sidecar=True)
    plt.close(ax.figure)
    return path.read_bytes()


def test_png_is_deterministic_with_alt_text(at_home: nc.HarmonisedEstimate,
                                           tmp_path: Path) -> None:
    first = _render(at_home, tmp_path / "a.png")
    second = _render(at_home, tmp_path / "b.png")
    assert hashlib.sha256(first).digest() == hashlib.sha256(second).digest()
    with Image.open(tmp_path / "a.png") as image:
        description = image.text["Description"]  # type: ignore[attr-defined]
        assert "Software" not in image.text  # type: ignore[attr-defined]
    assert description.startswith("Lijndiagram van works at home per meting")
    assert (tmp_path / "a.txt").read_text(encoding="utf-8") == description + "\n"


@pytest.mark.parametrize("suffix", [".svg", ".pdf"])
def test_svg_and_pdf_are_deterministic(at_home: nc.HarmonisedEstimate, tmp_path: Path,
                                       suffix: str) -> None:
    outputs = []
    for name in ("a", "b"):
        ax = nc.plot.changes(nc.compare(at_home, "wave"))
        outputs.append(nc.plot.save(ax.figure, tmp_path / f"{name}{suffix}").read_bytes())
    assert outputs[0] == outputs[1]
    with pytest.raises(ValueError, match=r"\.png"):
        nc.plot.save(ax, tmp_path / "figure.jpg")


def test_global_matplotlib_state_is_unchanged(at_home: nc.HarmonisedEstimate,
                                              tmp_path: Path) -> None:
    before = dict(matplotlib.rcParams)
    nc.plot.trend(at_home, band=True)
    nc.plot.changes(nc.compare(at_home, "wave"))
    nc.plot.save(plt.gcf(), tmp_path / "c.png")
    with nc.plot.style():
        assert matplotlib.rcParams["font.size"] == 9.0
    assert dict(matplotlib.rcParams) == before


def test_palette_is_okabe_ito() -> None:
    assert nc.plot.PALETTE[:3] == ("#0072B2", "#D55E00", "#009E73")
    assert len(set(nc.plot.PALETTE)) == 8 == len(nc.plot.MARKERS)


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False, timeout=120)


def test_matplotlib_is_imported_only_to_draw() -> None:
    """``import nea_covid`` does not import matplotlib; without it, drawing says how to
    install it."""
    done = _python(
        "import sys\n"
        "import nea_covid as nc\n"
        "print('matplotlib' in sys.modules, nc.plot.PALETTE[0])\n"
        "sys.modules['matplotlib'] = None  # as if not installed\n"
        "d = nc.SurveyDesign(nc.datasets.load_api('strat'), weights='pw', strata='stype')\n"
        "try:\n"
        "    nc.mean(d, 'api00', by='stype').plot()\n"
        "except ImportError as exc:\n"
        "    print(exc)\n")
    assert done.returncode == 0, done.stderr
    first, second = done.stdout.splitlines()[:2]
    assert first == "False #0072B2"
    assert "pip install nea_covid[plot]" in second


# ---------------------------------------------------------------------- bad input
def test_bad_input(api: nc.SurveyDesign, results: dict[str, Any]) -> None:
    est = nc.mean(api, "api00", by="stype")
    with pytest.raises(nc.ColumnNotFoundError, match=r"'wave'.*'stype', 'variable'"):
        nc.plot.trend(est)
    with pytest.raises(KeyError):  # ColumnNotFoundError is a KeyError too
        nc.plot.trend(est, along="styp")
    with pytest.raises(nc.ColumnNotFoundError, match="Did you mean 'stype'"):
        nc.plot.domains(est, where={"styp": "E"})
    with pytest.raises(nc.plot.PlotError, match=r"stype='X'.*'E', 'H', 'M'"):
        nc.plot.domains(est, where={"stype": "X"})
    with pytest.raises(ValueError, match="no `level` column"):
        nc.plot.domains(est, levels=["Yes"])
    with pytest.raises(nc.plot.PlotError, match=r"'Maybe'.*'No', 'Yes'"):
        nc.plot.domains(nc.proportion(api, "awards"), levels=["Maybe"])
    with pytest.raises(nc.ColumnNotFoundError, match="hue"):
        nc.plot.domains(est, hue="sector")
    with pytest.raises(TypeError, match="ChisqTest cannot be plotted"):
        nc.plot.draw(nc.chisq(api, "awards", "stype"))
    with pytest.raises(TypeError, match="JointTest cannot be plotted"):
        nc.plot.changes(results["compare_waves"].joint_test())
    with pytest.raises(TypeError, match="not DataFrame"):
        nc.plot.trend(est.to_frame())
    with pytest.raises(TypeError, match=r"nc\.plot\.trend draws Estimate and Extrapolation"):
        nc.plot.trend(results["compare_waves"])
    with pytest.raises(TypeError, match=r"nc\.plot\.changes draws Comparison"):
        nc.plot.changes(est)
    with pytest.raises(TypeError, match=r"nc\.plot\.coefficients draws Regression"):
        nc.plot.coefficients(est)
    with pytest.raises(nc.plot.PlotError, match="`kind` must be one of"):
        est.plot(kind="pie")
    with pytest.raises(ValueError, match="'nl' or 'en'"):
        est.plot(language="de")
    with pytest.raises(nc.plot.PlotError, match="alpha"):
        nc.plot.changes(results["contrast"], alpha=5)
    with pytest.raises(nc.ComparisonError, match="multiple-testing"):
        nc.plot.changes(results["contrast"], adjust="nonsense")
    with pytest.raises(nc.plot.PlotError, match="'age'"):
        nc.plot.coefficients(results["regression"], terms=["age"])
    with pytest.raises(nc.plot.PlotError, match="only an intercept"):
        nc.plot.coefficients(nc.glm(api, "api00 ~ 1"))
    assert issubclass(nc.plot.PlotError, nc.SurveyError)


# ---------------------------------------------------------------------- review findings
def test_argument_errors_are_plot_errors(api: nc.SurveyDesign, results: dict[str, Any],
                                         tmp_path: Path) -> None:
    one = nc.mean(api, "api00")
    with pytest.raises(nc.plot.PlotError, match="'nl' or 'en'"):
        one.plot(language="de")
    with pytest.raises(nc.plot.PlotError, match=r"write 0\.95, not 95"):
        one.plot(confidence_level=95)
    with pytest.raises(nc.plot.PlotError, match=r"\.png, \.svg, \.pdf"):
        nc.plot.save(one.plot(), tmp_path / "x.bmpx")
    with pytest.raises(nc.plot.PlotError, match="`alpha` must be a number"):
        nc.plot.changes(results["contrast"], alpha="0.05")
    with pytest.raises(nc.plot.PlotError, match="'nl' or 'en'"):
        nc.plot.counts(results["extrapolation"], language="fr")
    with pytest.raises(nc.plot.PlotError, match="`digits`"):
        one.plot(digits=-1)


@pytest.fixture(scope="module")
def no_high_schools() -> nc.Estimate:
    """api00 by school type, with no value for the high schools (H)."""
    data = nc.datasets.load_api("strat")
    data.loc[data["stype"] == "H", "api00"] = np.nan
    design = nc.SurveyDesign(data, weights="pw", strata="stype", fpc="fpc")
    with pytest.warns(nc.errors.EmptyDomainWarning):
        return nc.mean(design, "api00", by="stype", missing="omit")


@pytest.mark.parametrize(("language", "none"), [("en", "no estimate"),
                                                ("nl", "geen schatting")])
def test_domains_without_an_estimate(no_high_schools: nc.Estimate, language: str,
                                     none: str) -> None:
    text = nc.plot.alt_text(nc.plot.domains(no_high_schools, language=language))
    assert f"H: {none};" in text
    assert "- -" not in text


def test_changes_that_cannot_be_estimated(no_high_schools: nc.Estimate) -> None:
    cmp = nc.compare(no_high_schools, "stype")  # E → H and H → M: no estimate
    ax = nc.plot.changes(cmp, adjust="holm")
    text = nc.plot.alt_text(ax)
    assert "Cannot be estimated: E → H; H → M." in text
    assert "not significant" not in text
    assert "None is significant" not in text
    assert ax.get_legend() is None  # no point drawn, nothing to explain
    pair = nc.compare(no_high_schools, "stype", base="E")  # E → H (none), E → M
    ax = nc.plot.changes(pair, language="nl")
    text = nc.plot.alt_text(ax)
    assert "niet te schatten: E → H." in text
    assert "E → H" not in text.split("niet te schatten")[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["niet significant"]


def test_two_level_proportions_name_their_level(api: nc.SurveyDesign,
                                                at_home: nc.HarmonisedEstimate) -> None:
    awards = nc.proportion(api, "awards", by="stype")
    ax = nc.plot.domains(awards, language="nl")
    assert ax.get_xlabel() == "awards = ja (%)"
    assert nc.plot.alt_text(ax).startswith("Stip-en-snordiagram van awards = ja voor 3")
    assert nc.plot.domains(awards, levels="No").get_xlabel() == "awards = no (%)"
    assert nc.plot.changes(nc.compare(awards, "stype")).get_xlabel().startswith(
        "difference in awards = yes")
    # a definition's concept, or the user's label, names the share already
    assert nc.plot.trend(at_home).get_ylabel() == "works at home (fully or partly), %"
    assert nc.plot.domains(awards, labels={"awards": "won an award"}).get_xlabel() == \
        "won an award (%)"


def test_too_many_rows_is_an_error(results: dict[str, Any]) -> None:
    data = pd.DataFrame({"g": np.arange(400) % 100, "y": np.arange(400) % 7, "w": 1.0})
    est = nc.mean(nc.SurveyDesign(data, weights="w"), "y", by="g")
    with pytest.raises(nc.plot.PlotError, match=r"100 rows are too many.*at most 60.*"
                                                r"where=\{'g': \[\.\.\.\]\}"):
        nc.plot.domains(est)
    with pytest.raises(nc.plot.PlotError, match="99 rows are too many"):
        nc.plot.changes(nc.compare(est, "g"))
    ax = nc.plot.domains(est, where={"g": list(range(60))})
    assert len(ax.get_yticklabels()) == 60


def test_adjustment_over_all_comparisons_is_said(at_home: nc.HarmonisedEstimate) -> None:
    cmp = nc.compare(at_home, "wave")
    ax = nc.plot.changes(cmp, adjust="holm", where={"other": "2021-03"})
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["significant after Holm adjustment over all 3 comparisons (p < 0.05)"]
    assert "after Holm adjustment over all 3 comparisons at α = 0.05" in nc.plot.alt_text(ax)
    p = cmp.adjusted_pvalues("holm")[-1]
    assert nc.plot.table(ax)["pvalue_holm"].tolist() == [p]
    nl = nc.plot.alt_text(nc.plot.changes(cmp, adjust="holm", where={"other": "2021-03"},
                                          language="nl"))
    assert "na Holm-correctie over alle 3 vergelijkingen" in nl
    everything = nc.plot.changes(cmp, adjust="holm")  # all rows drawn: nothing to add
    assert "over all" not in nc.plot.alt_text(everything)


def test_alt_text_prints_the_tables_decimals(api: nc.SurveyDesign,
                                            at_home: nc.HarmonisedEstimate) -> None:
    one = nc.mean(api, "api00")
    table = nc.publication_table(one)
    assert f"api00: {table.loc[0, 'estimate']} {table.loc[0, '95% CI']}." in \
        nc.plot.alt_text(one.plot())
    test = nc.ttest(api, "api00", group="awards")
    table = nc.publication_table(test)
    assert f": +{table.loc[0, 'estimate']} {table.loc[0, '95% CI']}." in \
        nc.plot.alt_text(test.plot())
    shares = nc.publication_table(at_home, language="nl")
    text = nc.plot.alt_text(at_home.plot(language="nl"))
    assert f"{shares.iloc[0]['schatting (%)']:.1f}%".replace(".", ",") + " " \
        + shares.iloc[0]["95%-btbi"] in text
    # digits= still wins
    assert "api00: 662.29 [643.73; 680.84]" in nc.plot.alt_text(one.plot(digits=2))


def test_save_refuses_a_missing_directory(at_home: nc.HarmonisedEstimate,
                                          tmp_path: Path) -> None:
    ax = at_home.plot()
    with pytest.raises(FileNotFoundError, match=r"Cannot write .*no such dir.*does not exist"):
        nc.plot.save(ax, tmp_path / "no such dir" / "f.png")
    (tmp_path / "d.png").mkdir()
    with pytest.raises(OSError, match="it is a directory"):
        nc.plot.save(ax, tmp_path / "d.png")
    assert [p.name for p in tmp_path.iterdir()] == ["d.png"]
