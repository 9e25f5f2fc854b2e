"""Developer tasks: ``nox -s tests``, ``notebooks``, ``docs``, ``lint``, ``typecheck``,
``slow``, ``r_reference``, ``data``, ``bench``, ``bench_dask``."""

from __future__ import annotations

from pathlib import Path

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.default_venv_backend = "venv"

PYTHON = ["3.11", "3.12", "3.13"]


@nox.session(python=False)
def tests(session: nox.Session) -> None:
    """The default test suite (what CI runs), in the current environment."""
    session.run("python", "-m", "pip", "install", "-e", ".[test]", "-q")
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session(python=False)
def notebooks(session: nox.Session) -> None:
    """Execute every notebook in ``notebooks/`` (nbmake): a failing cell fails the
    session. CI runs this too."""
    session.run("python", "-m", "pip", "install", "-e", ".[notebooks]", "-q")
    session.run("python", "-m", "pytest", "--nbmake", "notebooks",
                *session.posargs)


@nox.session(python=False)
def docs(session: nox.Session) -> None:
    """Build the HTML documentation into ``docs/_build/html``: the MyST notebooks are
    executed (a failing cell fails the build), offline, and any warning is an error."""
    session.run("python", "-m", "pip", "install", "-e", ".[docs]", "-q")
    session.run("python", "-m", "sphinx", "-W", "--keep-going", "-b", "html", "docs",
                "docs/_build/html", *session.posargs)


@nox.session(python=False)
def slow(session: nox.Session) -> None:
    """Slow tests (large data, long property runs): opt-in."""
    session.run("python", "-m", "pip", "install", "-e", ".[test]", "-q")
    session.run("python", "-m", "pytest", "-m", "slow", *session.posargs)
    session.run("python", "-m", "pytest", "tests/test_properties.py",
                "--hypothesis-profile=thorough", *session.posargs)


@nox.session(python=False)
def lint(session: nox.Session) -> None:
    """ruff (lint and format check)."""
    session.run("python", "-m", "pip", "install", "ruff>=0.6", "-q")
    session.run("ruff", "check", "nea_covid", "tests", "benchmarks", "noxfile.py", "docs",
                "notebooks")


@nox.session(python=False)
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the package."""
    session.run("python", "-m", "pip", "install", "-e", ".[lint]", "-q")
    session.run("mypy")


# R reference scripts, run from the repository root; they share tests/reference/helpers.R.
R_SCRIPTS = ["core.R", "hadamard.R", "replicates.R", "calibration.R", "comparisons.R",
             "chisq.R", "glm.R"]


@nox.session(python=False)
def r_reference(session: nox.Session) -> None:
    """Regenerate the R fixtures (needs R and the survey package:
    ``apt-get install -y r-cran-survey r-cran-jsonlite``)."""
    for script in R_SCRIPTS:
        session.run("Rscript", f"tests/reference/{script}", external=True)


@nox.session(python=False)
def data(session: nox.Session) -> None:
    """Regenerate the bundled synthetic data sets (seeded: the same seed writes
    byte-identical files): NEA-COVID panel and RIVM trend survey."""
    session.run("python", "-m", "pip", "install", "-e", ".", "-q")
    for module in ("generate_nea_covid", "generate_rivm_trend"):
        session.run("python", "-m", f"nea_covid.datasets.{module}", *session.posargs)


def _json_renamed(posargs: list[str], suffix: str) -> list[str]:
    """``posargs`` with the path of ``--json PATH`` (or ``--json=PATH``) given a suffix
    before its extension, so that each benchmark writes its own report."""
    out, rename_next = [], False
    for arg in posargs:
        if rename_next:
            arg, rename_next = _with_suffix(arg, suffix), False
        elif arg == "--json":
            rename_next = True
        elif arg.startswith("--json="):
            arg = "--json=" + _with_suffix(arg.removeprefix("--json="), suffix)
        out.append(arg)
    return out


def _with_suffix(path: str, suffix: str) -> str:
    p = Path(path)
    return str(p.with_name(f"{p.stem}_{suffix}{p.suffix}"))


@nox.session(python=False)
def bench(session: nox.Session) -> None:
    """Benchmarks against a numpy lower bound, and R survey / svy where installed:
    ``bench_core.py``, then ``bench_replicates.py`` (replicate weights, bootstrap
    conversion, raking), then ``bench_tests.py`` (comparisons, tests and models), all
    with the session's arguments (``--json out.json`` writes ``out.json``,
    ``out_replicates.json`` and ``out_tests.json``). The Dask benchmark (50 million
    rows of parquet on a LocalCluster) is its own session: ``nox -s bench_dask``."""
    session.run("python", "-m", "pip", "install", "-e", ".[bench]", "-q")
    session.run("python", "benchmarks/bench_core.py", *session.posargs)
    session.run("python", "benchmarks/bench_replicates.py",
                *_json_renamed(list(session.posargs), "replicates"))
    session.run("python", "benchmarks/bench_tests.py",
                *_json_renamed(list(session.posargs), "tests"))


@nox.session(python=False)
def bench_dask(session: nox.Session) -> None:
    """Dask benchmark (``benchmarks/bench_dask.py``): 50 million rows as partitioned
    parquet in ``benchmarks/.data`` (written once), design creation and estimators on a
    LocalCluster of 2 workers, peak memory per worker, and the ratio to the in-memory
    path; e.g. ``nox -s bench_dask -- --rows 2e6 --files 4 --json out.json``."""
    session.run("python", "-m", "pip", "install", "-e", ".[bench]", "-q")
    session.run("python", "benchmarks/bench_dask.py", *session.posargs)
