"""Sphinx configuration of the nea_covid documentation.

Build (offline; every warning is an error)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html     # or: nox -s docs

What happens at build time:

* the API reference pages are written from ``reference/api_groups.py`` into
  ``reference/generated/`` (git-ignored) and filled from the numpydoc docstrings by
  autodoc/autosummary;
* the analyst notebooks ``../notebooks/*.ipynb`` are copied into ``notebooks/``
  (git-ignored) and listed on ``notebooks/index.md``;
* every page that is a notebook (MyST markdown with ``file_format: mystnb`` front
  matter, and the copied ``.ipynb`` files) is executed by myst-nb on **every** build,
  in a kernel whose start-up file fixes the random seeds and the matplotlib backend;
  a failing cell fails the build. Plain markdown pages (``comparisons.md``,
  ``architecture.md``) are not executed.
"""

from __future__ import annotations

import inspect
import os
import shutil
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE / "reference"))

import api_groups  # noqa: E402

import nea_covid  # noqa: E402

# -- project ---------------------------------------------------------------------------
project = "nea_covid"
author = "nea_covid developers"
copyright = "nea_covid developers"
version = release = nea_covid.__version__

# -- general ---------------------------------------------------------------------------
extensions = [
    "myst_nb",
    "numpydoc",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
]
templates_path = ["_templates"]
exclude_patterns = [
    "_build",
    "jupyter_execute",
    "**.ipynb_checkpoints",
    "reference/generated/toc.md",  # included by reference/index.md
    "Thumbs.db",
    ".DS_Store",
]
root_doc = "index"
language = "en"
nitpicky = False
suppress_warnings: list[str] = []

# -- MyST and myst-nb --------------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3
# Only markdown files with notebook front matter (``file_format: mystnb``) are notebooks
# (myst-nb's default); all of those and every .ipynb are executed on every build.
nb_execution_mode = "force"
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_execution_timeout = 300  # seconds per cell
nb_execution_in_temp = False
nb_merge_streams = True

# -- autodoc, autosummary, numpydoc ------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = True
autodoc_typehints = "none"  # the numpydoc Parameters sections give the types
autodoc_member_order = "bysource"
add_module_names = False
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks: set[str] = set()
numpydoc_attributes_as_param_list = True

# -- HTML --------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"nea_covid {release}"
html_static_path = ["_static"]
html_css_files = ["nea_covid.css"]
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
    "secondary_sidebar_items": ["page-toc"],
}
html_show_sourcelink = False
html_last_updated_fmt = None


# -- the execution environment of the notebooks ------------------------------------------
SEED = 20201116  # the date of the first letter


def _kernel_environment() -> None:
    """Fix what executed pages may depend on: seeds, backend, hash seed.

    The kernels myst-nb starts inherit this process's environment. ``IPYTHONDIR``
    points them at a profile whose start-up file seeds Python's and numpy's global
    generators (pages that draw random numbers still pass ``rng=`` explicitly) and
    selects matplotlib-inline, a non-interactive backend that renders with Agg and
    shows the PNG in the page.
    """
    ipython = HERE / "_build" / "ipython"
    startup = ipython / "profile_default" / "startup"
    startup.mkdir(parents=True, exist_ok=True)
    text = (
        "# Written by docs/conf.py: start-up of every kernel that executes a docs page.\n"
        "import random\n"
        "import numpy as np\n"
        "import pandas as pd\n"
        "import matplotlib\n"
        'matplotlib.use("module://matplotlib_inline.backend_inline")  # Agg, shown inline\n'
        f"random.seed({SEED})\n"
        f"np.random.seed({SEED})\n"
        "# numbers as text, np.float64(0.5) as 0.5: glued values format with {glue:text}\n"
        'np.set_printoptions(legacy="1.25")\n'
        'pd.set_option("display.width", 100)\n'
        'pd.set_option("display.max_columns", 20)\n'
    )
    _write_if_changed(startup / "00_nea_covid_docs.py", text)
    os.environ["IPYTHONDIR"] = str(ipython)
    os.environ["PYTHONHASHSEED"] = "0"
    os.environ["NEA_COVID_PROGRESS"] = "0"  # no progress bars (stderr) in the pages
    os.environ.pop("MPLBACKEND", None)


def _write_if_changed(path: Path, text: str) -> None:
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


# -- the API reference, written from reference/api_groups.py -----------------------------
def _underline(text: str, char: str) -> list[str]:
    return [text, char * len(text), ""]


def _reference_pages() -> None:
    out = HERE / "reference" / "generated"
    shutil.rmtree(out, ignore_errors=True)  # no stale pages of names that are gone
    out.mkdir(parents=True)
    groups = api_groups.resolved()
    pages = []
    for group, sections in groups:
        lines = [*_underline(group.title, "="), group.intro, ""]
        for heading, module, names in sections:
            if heading:
                lines += _underline(heading, "-")
            # methods (dotted names) are documented on their class's page: link only
            toctree = [] if any("." in n for n in names) else ["   :toctree: ."]
            lines += [f".. currentmodule:: {module}", "", ".. autosummary::", *toctree,
                      "   :nosignatures:", "", *(f"   {n}" for n in names), ""]
        _write_if_changed(out / f"{group.slug}.rst", "\n".join(lines))
        pages.append(group.slug)
    missing = api_groups.ungrouped()
    if missing:
        lines = [
            *_underline("Not yet grouped", "="),
            "Public names that ``docs/reference/api_groups.py`` does not place yet.", "",
            ".. currentmodule:: nea_covid", "", ".. autosummary::", "   :toctree: .",
            "   :nosignatures:", "", *(f"   {n}" for n in missing), ""]
        _write_if_changed(out / "ungrouped.rst", "\n".join(lines))
        pages.append("ungrouped")
    toc = ["```{toctree}", ":maxdepth: 1", "", *(f"generated/{p}" for p in pages), "```", ""]
    _write_if_changed(out / "toc.md", "\n".join(toc))


# -- the analyst notebooks, copied from ../notebooks -------------------------------------
NOTEBOOKS_INTRO = """\
# Notebooks

The analyst notebooks of the repository's `notebooks/` folder, executed afresh on every
build of this site (they are committed without outputs, so what you see here is what the
library gives today). Download them from the repository to run them yourself.
"""


def _copy_notebooks() -> None:
    source = ROOT / "notebooks"
    target = HERE / "notebooks"
    target.mkdir(exist_ok=True)
    found = sorted(source.glob("*.ipynb")) if source.is_dir() else []
    names = {p.name for p in found}
    for stale in target.glob("*.ipynb"):
        if stale.name not in names:
            stale.unlink()
    for path in found:
        copy = target / path.name
        if not copy.exists() or copy.read_bytes() != path.read_bytes():
            shutil.copyfile(path, copy)
    if found:
        toc = ["```{toctree}", ":maxdepth: 1", "", *(p.stem for p in found), "```", ""]
    else:
        toc = ["No notebooks yet: the [getting started](../getting_started) page and the "
               "[tutorials](../tutorials/index) show the library at work.", ""]
    _write_if_changed(target / "index.md", NOTEBOOKS_INTRO + "\n" + "\n".join(toc))


def _data_docstring(app: Any, what: str, name: str, obj: Any, options: Any,
                    lines: list[str]) -> None:
    """Document a constant re-exported by a package (``nc.DEFINITIONS``,
    ``nc.plot.PALETTE``) with the ``#:`` comment where it is defined, not with the
    docstring of its type ("Built-in immutable sequence.")."""
    if what != "data":
        return
    import importlib
    import pkgutil

    from sphinx.pycode import ModuleAnalyzer

    module_name, _, attr = name.rpartition(".")
    package = importlib.import_module(module_name)
    candidates = [module_name]
    if hasattr(package, "__path__"):
        candidates += [m.name for m in pkgutil.walk_packages(package.__path__,
                                                              module_name + ".")]
    for candidate in candidates:
        try:
            module = importlib.import_module(candidate)
        except ImportError:
            continue
        if getattr(module, attr, None) is not obj:
            continue
        comment = ModuleAnalyzer.for_module(candidate).find_attr_docs().get(("", attr))
        if comment:
            lines[:] = list(comment)
            return
    if type(obj).__doc__ and "\n".join(lines).strip() == inspect.cleandoc(type(obj).__doc__):
        lines[:] = []


def _always_reread(app: Any, env: Any, added: set[str], changed: set[str],
                   removed: set[str]) -> list[str]:
    """Re-read (and so re-execute and re-document) every page on every build, also
    when only the library changed: the pages show what the code computes today."""
    return sorted(env.found_docs - added - changed)


def setup(app: Any) -> dict[str, Any]:
    """Prepare the build (before autosummary writes its stubs): backend, kernel
    environment, reference pages, notebooks. Importing this file has no side effects."""
    import matplotlib

    matplotlib.use("Agg")  # autodoc imports nea_covid.plot in this process: no GUI
    _kernel_environment()
    _reference_pages()
    _copy_notebooks()
    app.connect("env-get-outdated", _always_reread)
    app.connect("autodoc-process-docstring", _data_docstring)
    return {"parallel_read_safe": True}
