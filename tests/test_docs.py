"""Fast checks of the documentation sources (the build itself is ``nox -s docs``)."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

import nea_covid

DOCS = Path(__file__).parent.parent / "docs"


def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def groups() -> ModuleType:
    return _load(DOCS / "reference" / "api_groups.py", "_docs_api_groups")


@pytest.fixture(scope="module")
def conf() -> ModuleType:
    return _load(DOCS / "conf.py", "_docs_conf")  # no side effects until setup(app)


def _toctree(page: Path) -> list[str]:
    """The entries of the toctree directives on a MyST page."""
    entries = []
    for block in re.findall(r"```\{toctree\}\n(.*?)```", page.read_text(encoding="utf-8"),
                            flags=re.S):
        entries += [line.strip() for line in block.splitlines()
                    if line.strip() and not line.startswith(":")]
    return entries


def _is_notebook(page: Path) -> bool:
    text = page.read_text(encoding="utf-8")
    front = re.match(r"---\n(.*?)\n---\n", text, flags=re.S)
    return bool(front and re.search(r"^file_format:\s*mystnb\s*$", front.group(1), flags=re.M))


def test_every_public_name_is_in_the_reference(groups: ModuleType) -> None:
    assert groups.ungrouped() == []


def test_every_listed_name_exists(groups: ModuleType) -> None:
    """No typos in the reference's table of contents: every explicitly listed name
    resolves (modules that do not exist yet would be skipped by the build)."""
    missing = []
    for group in groups.GROUPS:
        for _, module_name, names in group.sections:
            module = importlib.import_module(module_name)
            missing += [f"{module_name}.{n}" for n in names
                        if not n.startswith("*") and not groups._resolve(module, n)]
    assert missing == []


def test_plot_module_is_documented_in_full(groups: ModuleType) -> None:
    plot = importlib.import_module("nea_covid.plot")
    shown = {n for _, sections in groups.resolved() for _, m, names in sections
             if m == "nea_covid.plot" for n in names}
    assert set(plot.__all__) <= shown


def test_no_name_is_documented_twice(groups: ModuleType) -> None:
    seen = [f"{m}.{n}" for _, sections in groups.resolved() for _, m, names in sections
            for n in names]
    assert len(seen) == len(set(seen))


def test_root_toctree() -> None:
    entries = _toctree(DOCS / "index.md")
    for page in ("getting_started", "tutorials/index", "notebooks/index", "explanation/index",
                 "letters", "comparisons", "architecture", "reference/index"):
        assert page in entries


def test_explanation_pages_are_in_its_toctree() -> None:
    entries = set(_toctree(DOCS / "explanation" / "index.md"))
    pages = {p.stem for p in (DOCS / "explanation").glob("*.md")} - {"index"}
    assert pages == entries


@pytest.mark.parametrize("page", ["getting_started.md", "letters.md",
                                  *(f"explanation/{p.name}" for p in
                                    sorted((DOCS / "explanation").glob("*.md")))])
def test_pages_with_code_cells_are_executed_notebooks(page: str) -> None:
    path = DOCS / page
    has_cells = "```{code-cell}" in path.read_text(encoding="utf-8")
    assert has_cells == _is_notebook(path)


@pytest.mark.parametrize("page", ["comparisons.md", "architecture.md", "index.md"])
def test_plain_pages_are_not_executed(page: str) -> None:
    """comparisons.md is a doctest page (tests/test_docstrings.py), rendered as plain
    MyST: it must not become a notebook."""
    assert not _is_notebook(DOCS / page)


def test_build_configuration(conf: ModuleType) -> None:
    assert conf.release == nea_covid.__version__
    assert conf.html_theme == "pydata_sphinx_theme"
    assert conf.nb_execution_mode == "force"  # executed on every build
    assert conf.nb_execution_raise_on_error is True
    assert not any("intersphinx" in e for e in conf.extensions)  # builds offline
    assert {"numpydoc", "sphinx.ext.autosummary", "myst_nb"} <= set(conf.extensions)
    assert {"_build", "jupyter_execute"} <= set(conf.exclude_patterns)
