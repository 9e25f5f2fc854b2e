"""Static checks of the analyst notebooks in ``notebooks/`` (fast; no kernel).

The notebooks are executed by ``nox -s notebooks`` (``pytest --nbmake notebooks``) and in
CI; these checks keep them committable: valid nbformat 4, stored without outputs, a
``python3`` kernel, and written against the public API only (``import nea_covid as nc``,
public modules such as ``from nea_covid import claims``, no private names), so that an
analyst can copy any cell.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import pytest

NOTEBOOKS_DIR = Path(__file__).parent.parent / "notebooks"
if not NOTEBOOKS_DIR.is_dir():  # an sdist ships tests/ but not notebooks/
    pytest.skip("no notebooks/ directory", allow_module_level=True)

NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
IDS = [p.name for p in NOTEBOOKS]

#: Top-level modules a notebook may import besides nea_covid.
ALLOWED_MODULES = frozenset({
    "numpy", "pandas", "matplotlib",
    "tempfile", "pathlib", "importlib", "math", "json", "io", "textwrap", "itertools",
    "functools", "collections", "datetime", "warnings",
})
#: Calls that write files; a notebook that makes them writes into a temporary directory.
_WRITES = re.compile(r"\.(savefig|to_csv|to_excel|to_parquet|write_text|write_bytes)\(|"
                     r"\bnc\.(to_csv|to_excel)\(")


def _load(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as f:
        notebook: dict[str, Any] = json.load(f)
    return notebook


def _source(cell: dict[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _code(path: Path) -> list[tuple[int, str]]:
    return [(i, _source(c)) for i, c in enumerate(_load(path)["cells"])
            if c["cell_type"] == "code"]


def test_at_least_three_notebooks() -> None:
    assert len(NOTEBOOKS) >= 3, f"expected at least 3 notebooks in {NOTEBOOKS_DIR}, got {IDS}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_valid_nbformat_4(path: Path) -> None:
    nbformat = pytest.importorskip("nbformat")
    notebook = nbformat.read(str(path), as_version=nbformat.NO_CONVERT)
    assert notebook.nbformat == 4
    nbformat.validate(notebook)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_stored_without_outputs(path: Path) -> None:
    notebook = _load(path)
    assert notebook["nbformat"] == 4
    assert "widgets" not in notebook.get("metadata", {}), "widget state in the metadata"
    dirty = [i for i, c in enumerate(notebook["cells"]) if c["cell_type"] == "code"
             and (c.get("outputs") or c.get("execution_count") is not None)]
    assert not dirty, f"cells {dirty} have outputs or execution counts; clear them"
    attached = [i for i, c in enumerate(notebook["cells"]) if c.get("attachments")]
    assert not attached, f"cells {attached} carry attachments"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_python3_kernel(path: Path) -> None:
    kernelspec = _load(path).get("metadata", {}).get("kernelspec", {})
    assert kernelspec.get("name") == "python3", f"kernelspec {kernelspec!r}: use python3"
    assert kernelspec.get("language", "python") == "python"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_imports_only_public_api(path: Path) -> None:
    problems: list[str] = []
    imports_nc = False
    for i, source in _code(path):
        try:
            tree = ast.parse(source)
        except SyntaxError as error:  # magics and shell escapes are not plain Python
            problems.append(f"cell {i} is not plain Python: {error.msg}")
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    top = alias.name.split(".")[0]
                    if top == "nea_covid":
                        if alias.name != "nea_covid" or alias.asname != "nc":
                            problems.append(f"cell {i}: write `import nea_covid as nc`, "
                                            f"not `import {alias.name}`")
                        imports_nc = True
                    elif top not in ALLOWED_MODULES:
                        problems.append(f"cell {i}: imports {alias.name!r}")
            elif isinstance(node, ast.ImportFrom):
                module = node.module or ""
                if module == "nea_covid":
                    private = [a.name for a in node.names if a.name.startswith("_")]
                    if private:
                        problems.append(f"cell {i}: imports private {private}")
                elif module.split(".")[0] == "nea_covid":
                    problems.append(f"cell {i}: `from {module} import ...` reaches into a "
                                    "module; use `nc.<name>` (or `from nea_covid import "
                                    "<public module>`)")
                elif node.level or module.split(".")[0] not in ALLOWED_MODULES:
                    problems.append(f"cell {i}: imports from {module!r}")
            elif (isinstance(node, ast.Attribute) and node.attr.startswith("_")
                  and not (node.attr.startswith("__") and node.attr.endswith("__"))):
                problems.append(f"cell {i}: uses the private name .{node.attr}")
    assert not problems, "\n".join(problems)
    assert imports_nc, "the notebook never runs `import nea_covid as nc`"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_files_go_to_a_temporary_directory(path: Path) -> None:
    """Running a notebook must leave no files in the repository."""
    code = "\n".join(source for _, source in _code(path))
    if _WRITES.search(code):
        assert "TemporaryDirectory" in code, (
            "the notebook writes files; write them into tempfile.TemporaryDirectory()")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_says_the_data_are_synthetic(path: Path) -> None:
    text = " ".join(_source(c) for c in _load(path)["cells"] if c["cell_type"] == "markdown")
    assert "synthetic" in text.lower()
