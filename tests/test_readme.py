"""The README's promises: its first two commands, and that its figure is still what the
code draws (the committed PNG's alt text, written into the file from the plotted numbers,
must equal the alt text of a fresh drawing)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
FIGURE = ROOT / "docs" / "images" / "home_working_by_wave.png"


def _description(path: Path) -> str:
    image = pytest.importorskip("PIL.Image")
    with image.open(path) as im:
        return str(im.info["Description"])


def test_readme_starts_with_the_two_commands() -> None:
    block = re.search(r"```bash\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert block is not None
    lines = [line.split("#")[0].strip() for line in block.group(1).splitlines()]
    assert lines[:2] == ["pip install . && python -m nea_covid reproduce",
                         'pip install ".[test]" && python -m pytest']


def test_readme_figure_is_what_the_code_draws(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from nea_covid.letter_figures import write_figures

    assert f"]({FIGURE.relative_to(ROOT).as_posix()})" in README.read_text(encoding="utf-8")
    fresh = next(p for p in write_figures(tmp_path) if p.name == FIGURE.name)
    assert _description(fresh) == _description(FIGURE), (
        "The README figure is out of date: python -m nea_covid reproduce --out /tmp/f && "
        f"cp /tmp/f/{FIGURE.name} {FIGURE.relative_to(ROOT)}")
