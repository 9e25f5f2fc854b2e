"""`python -m nea_covid reproduce`: end to end, its output files, its exit codes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from nea_covid.__main__ import main
from nea_covid.letter_figures import FIGURES, figure_data, write_figures


def test_reproduce_writes_the_claims_and_figures(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reproduce", "--out", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert "claims inconsistent" in captured.out
    assert "[reproduce] figures" in captured.err
    table = pd.read_csv(tmp_path / "claims.csv")
    assert set(table.loc[table["verdict"] == "inconsistent", "id"]) == {
        "ext_at_home", "count_at_home", "share_inspection_reports", "sum_infection_home"}
    for name in FIGURES:
        assert (tmp_path / name).stat().st_size > 1000


def test_quiet_and_unwritable_directory(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert main(["reproduce", "--out", str(blocker / "sub"), "--quiet"]) == 2
    assert "cannot write to" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["reproduce", "--bogus"])
    assert exc.value.code == 2


def test_figures_are_deterministic(tmp_path: Path) -> None:
    data = figure_data()
    first = write_figures(tmp_path / "a", data)
    second = write_figures(tmp_path / "b", data)
    digest = [hashlib.sha256(p.read_bytes()).hexdigest() for p in first]
    assert digest == [hashlib.sha256(p.read_bytes()).hexdigest() for p in second]
    assert round(float(data["definitions"]["estimate"].iloc[0]), 2) == 0.48


def test_figures_alt_texts_name_what_they_show(tmp_path: Path) -> None:
    """Each PNG's description names the quantity (a variable or definition), never an
    axis label or nothing, and prints the publication tables' decimals."""
    image = pytest.importorskip("PIL.Image")
    texts = {}
    for path in write_figures(tmp_path):
        with image.open(path) as im:
            texts[path.name] = str(im.info["Description"])
    left, right = texts["home_working_by_wave.png"].split("\n\n")
    assert left.startswith("Line chart of works at home (TNO definition) by wave")
    assert "works at home (TNO definition): 31.5% [31.0; 32.0] in 2019" in left
    assert right.startswith(
        "Line chart of works from home as much as possible (RIVM definition) by wave")
    assert "(RIVM definition): 70.9% [69.2; 72.7] in wave 2" in right
    counts = texts["extrapolated_counts.png"]
    assert counts.startswith("Line chart of works at home (TNO definition), werknemers by")
    assert "million [" in counts
    assert "RIVM: works from home as much as possible (wave 6): 72.7%" in texts[
        "definitions.png"]
    for text in texts.values():
        assert "share (%)" not in text
        assert " of  " not in text
        assert ": -" not in text
