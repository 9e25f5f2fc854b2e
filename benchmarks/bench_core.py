"""Core benchmark: nea_covid against a plain-numpy lower bound, R's survey and svy.

Run on demand (never part of the test suite)::

    nox -s bench                                   # python benchmarks/bench_core.py
    python benchmarks/bench_core.py --rows 200000 --no-r --json /tmp/bench.json
    python benchmarks/bench_core.py --profile      # cProfile tasks missing the 3x target

The data: ``--rows`` rows (default 10^6) in 200 strata x 10 PSUs (PSU ids unique
overall), weights U(50, 150), a numeric ``y`` with a PSU effect, a 5-level categorical
``z`` and a 100-level domain ``d``, from ``numpy.random.default_rng(--seed)``.

Tasks: design creation, ``mean(y)``, ``proportion(z)``, ``mean(y, by=d)`` (with the
full 100 x 100 covariance) and ``total(y)``. nea_covid, the numpy bound and svy are
timed as the best of ``--repeats`` runs after one warm-up (nea_covid and the bound
round-robin, so that transient load hits both alike); R runs each task once.

The numpy bound is the minimal arithmetic for estimate + SE: weighted sums and per-PSU
score totals by ``np.bincount``, centring within strata and the crossproduct. Its
estimates and SEs (and, for ``by=d``, the covariance) must agree with nea_covid's to
1e-10 relative, so that the comparison is between equal computations.

Peak memory of ``mean(y, by=d)`` is measured in a fresh subprocess that first builds
the data and the design, then (1) resets the kernel's resident-set high-water mark
(``/proc/self/clear_refs``) and reports ``VmHWM`` after the call minus ``VmRSS``
before it, falling back to ``ru_maxrss`` growth where /proc is unavailable, and
(2) reports the ``tracemalloc`` peak of the call (numpy registers its buffers with
tracemalloc).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import gc
import io
import json
import os
import platform
import pstats
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

import nea_covid as nc

N_STRATA = 200
PSU_PER_STRATUM = 10
N_DOMAINS = 100
Z_LEVELS = ("z1", "z2", "z3", "z4", "z5")
TASKS = ("design", "mean(y)", "proportion(z)", "mean(y, by=d)", "total(y)")
ESTIMATORS = TASKS[1:]

RATIO_TARGET = 3.0  # every estimator within 3x of the numpy bound
DESIGN_TARGET_S = 0.5
MEMORY_TARGET_BYTES = 1 << 30
AGREEMENT_RTOL = 1e-10

HERE = Path(__file__).resolve().parent
R_SCRIPT = HERE / "bench_core.R"

Arr = NDArray[np.float64]
IntArr = NDArray[np.intp]


# ---------------------------------------------------------------------- data
def make_data(rows: int, seed: int) -> pd.DataFrame:
    """The benchmark sample: stratified cluster design, rows in random order."""
    rng = np.random.default_rng(seed)
    n_psu = N_STRATA * PSU_PER_STRATUM
    psu = rng.integers(0, n_psu, size=rows)
    psu[:n_psu] = np.arange(n_psu)  # every PSU present, whatever --rows
    psu_effect = rng.normal(0.0, 3.0, size=n_psu)
    return pd.DataFrame({
        "strat": psu // PSU_PER_STRATUM,
        "psu": psu,
        "w": rng.uniform(50.0, 150.0, size=rows),
        "y": 50.0 + psu_effect[psu] + rng.normal(0.0, 10.0, size=rows),
        "z": pd.Categorical.from_codes(rng.integers(0, len(Z_LEVELS), size=rows),
                                       categories=list(Z_LEVELS)),
        "d": rng.integers(0, N_DOMAINS, size=rows),
    })


# ---------------------------------------------------------------------- timing
def _time_once(fn: Callable[[], Any]) -> float:
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start
    finally:
        gc.enable()


def best_of(fn: Callable[[], Any], repeats: int, warmup: int = 1) -> float:
    """timeit-style: the fastest of ``repeats`` timed calls after ``warmup`` calls,
    with the garbage collector off during each call."""
    return best_of_interleaved([(fn, contextlib.nullcontext)], repeats, warmup)[0]


def best_of_interleaved(
    fns: list[tuple[Callable[[], Any], Callable[[], contextlib.AbstractContextManager[Any]]]],
    repeats: int,
    warmup: int = 1,
) -> list[float]:
    """:func:`best_of` for several functions, run round-robin so that a transient
    slowdown of the machine hits them alike (their ratio is what is reported). Each
    runs inside its context (entered outside the timed region)."""
    best = [float("inf")] * len(fns)
    for i in range(warmup + repeats):
        for j, (fn, context) in enumerate(fns):
            with context():
                elapsed = _time_once(fn)
            if i >= warmup:
                best[j] = min(best[j], elapsed)
    return best


@dataclass
class Result:
    """Estimates and SEs of one task (empty for design creation)."""

    estimate: Arr
    se: Arr
    vcov: Arr | None = None


# ---------------------------------------------------------------------- numpy bound
@dataclass
class NumpyDesign:
    """Integer codes a design needs: PSU per row, stratum per PSU, PSUs per stratum."""

    unit: IntArr
    stratum_of_unit: IntArr
    n_units: int
    n_strata: int
    scale: Arr  # n_h / (n_h - 1) per PSU


@dataclass
class NumpyInput:
    """The columns as numpy arrays (extracted once, outside the timings)."""

    strat: NDArray[np.int64]
    psu: NDArray[np.int64]
    w: Arr
    y: Arr
    z: IntArr  # category codes 0..4
    d: IntArr  # domain codes 0..99

    @classmethod
    def from_frame(cls, df: pd.DataFrame) -> NumpyInput:
        return cls(
            strat=df["strat"].to_numpy(),
            psu=df["psu"].to_numpy(),
            w=df["w"].to_numpy(dtype=np.float64),
            y=df["y"].to_numpy(dtype=np.float64),
            z=np.asarray(df["z"].cat.codes, dtype=np.intp),
            d=df["d"].to_numpy().astype(np.intp),
        )


def numpy_design(x: NumpyInput) -> NumpyDesign:
    """Codes for strata and PSUs (np.unique), nesting and weight checks."""
    if not np.isfinite(x.w).all() or (x.w < 0).any():
        raise ValueError("bad weights")
    _, stratum = np.unique(x.strat, return_inverse=True)
    _, unit = np.unique(x.psu, return_inverse=True)
    n_units = int(unit.max()) + 1
    stratum_of_unit = np.empty(n_units, dtype=np.intp)
    stratum_of_unit[unit] = stratum
    if (stratum_of_unit[unit] != stratum).any():
        raise ValueError("PSUs not nested in strata")
    n_h = np.bincount(stratum_of_unit).astype(np.float64)
    if (n_h < 2).any():
        raise ValueError("lonely PSU")
    return NumpyDesign(unit, stratum_of_unit, n_units, int(n_h.shape[0]),
                       (n_h / (n_h - 1.0))[stratum_of_unit])


def numpy_vcov(totals: Arr, nd: NumpyDesign) -> Arr:
    """``sum_h n_h/(n_h-1) sum_u (T_u - Tbar_h)(T_u - Tbar_h)'`` for PSU totals (P, C)."""
    c = totals.shape[1]
    h = nd.stratum_of_unit
    idx = (h[:, None] * c + np.arange(c)).ravel()
    sums = np.bincount(idx, weights=totals.ravel(), minlength=nd.n_strata * c)
    n_h = np.bincount(h, minlength=nd.n_strata).astype(np.float64)
    dev = totals - (sums.reshape(nd.n_strata, c) / n_h[:, None])[h]
    dev *= np.sqrt(nd.scale)[:, None]
    return dev.T @ dev


def _result(est: Arr, vcov: Arr) -> Result:
    return Result(np.atleast_1d(est), np.sqrt(np.diag(vcov)), vcov)


def numpy_mean(x: NumpyInput, nd: NumpyDesign) -> Result:
    big_w = x.w.sum()
    est = (x.w @ x.y) / big_w
    scores = x.w * (x.y - est) / big_w
    totals = np.bincount(nd.unit, weights=scores, minlength=nd.n_units)
    return _result(est, numpy_vcov(totals[:, None], nd))


def numpy_total(x: NumpyInput, nd: NumpyDesign) -> Result:
    scores = x.w * x.y
    totals = np.bincount(nd.unit, weights=scores, minlength=nd.n_units)
    return _result(scores.sum(), numpy_vcov(totals[:, None], nd))


def numpy_proportion(x: NumpyInput, nd: NumpyDesign) -> Result:
    """Shares of the 5 levels; PSU totals of ``w (1{z=k} - p_k) / W`` by two bincounts."""
    k = len(Z_LEVELS)
    level_w = np.bincount(x.z, weights=x.w, minlength=k)
    big_w = level_w.sum()
    est = level_w / big_w
    by_unit_level = np.bincount(nd.unit * k + x.z, weights=x.w, minlength=nd.n_units * k)
    by_unit = np.bincount(nd.unit, weights=x.w, minlength=nd.n_units)
    totals = (by_unit_level.reshape(nd.n_units, k) - by_unit[:, None] * est) / big_w
    return _result(est, numpy_vcov(totals, nd))


def numpy_mean_by(x: NumpyInput, nd: NumpyDesign) -> Result:
    """The 100 domain means and their 100 x 100 covariance from (PSU x domain) totals."""
    k = N_DOMAINS
    big_w = np.bincount(x.d, weights=x.w, minlength=k)
    est = np.bincount(x.d, weights=x.w * x.y, minlength=k) / big_w
    scores = x.w * (x.y - est[x.d]) / big_w[x.d]
    totals = np.bincount(nd.unit * k + x.d, weights=scores, minlength=nd.n_units * k)
    return _result(est, numpy_vcov(totals.reshape(nd.n_units, k), nd))


# ---------------------------------------------------------------------- nea_covid
def nea_tasks(df: pd.DataFrame) -> dict[str, Callable[[], Any]]:
    def design() -> nc.SurveyDesign:
        return nc.SurveyDesign(df, weights="w", strata="strat", clusters="psu")

    d = design()
    return {
        "design": design,
        "mean(y)": lambda: nc.mean(d, "y"),
        "proportion(z)": lambda: nc.proportion(d, "z"),
        "mean(y, by=d)": lambda: nc.mean(d, "y", by="d"),
        "total(y)": lambda: nc.total(d, "y"),
    }


def one_blas_thread() -> contextlib.AbstractContextManager[Any]:
    """Limit BLAS to one thread (threadpoolctl), for timing the numpy bound.

    On small machines multi-threaded OpenBLAS sometimes stalls for tens of ms on a
    (PSUs x 100) crossproduct; the bound should not be slowed by that (nea_covid
    makes its own choice). A no-op without threadpoolctl.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def nea_result(est: Any) -> Result:
    return Result(np.asarray(est.estimate, dtype=np.float64),
                  np.asarray(est.standard_error, dtype=np.float64),
                  np.asarray(est.vcov, dtype=np.float64))


def numpy_tasks(x: NumpyInput) -> dict[str, Callable[[], Any]]:
    nd = numpy_design(x)
    return {
        "design": lambda: numpy_design(x),
        "mean(y)": lambda: numpy_mean(x, nd),
        "proportion(z)": lambda: numpy_proportion(x, nd),
        "mean(y, by=d)": lambda: numpy_mean_by(x, nd),
        "total(y)": lambda: numpy_total(x, nd),
    }


# ---------------------------------------------------------------------- agreement
def max_rel_diff(a: Arr, b: Arr) -> float:
    """Largest ``|a - b| / |b|`` (inf on a shape mismatch)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return float("inf")
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.abs(a - b) / np.abs(b)
    rel[(a == b)] = 0.0
    return float(np.nanmax(rel)) if rel.size else 0.0


def max_vcov_diff(a: Arr, b: Arr) -> float:
    """Largest ``|a_ij - b_ij| / sqrt(b_ii b_jj)``: covariances relative to their scale."""
    if a.shape != b.shape:
        return float("inf")
    sd = np.sqrt(np.diag(b))
    return float(np.max(np.abs(a - b) / np.outer(sd, sd)))


@dataclass
class Agreement:
    estimate: float
    se: float
    vcov: float | None = None

    @property
    def worst(self) -> float:
        return max(self.estimate, self.se, self.vcov or 0.0)


def agreement(other: Result, ref: Result, with_vcov: bool = False) -> Agreement:
    vc = None
    if with_vcov and other.vcov is not None and ref.vcov is not None:
        vc = max_vcov_diff(other.vcov, ref.vcov)
    return Agreement(max_rel_diff(other.estimate, ref.estimate),
                     max_rel_diff(other.se, ref.se), vc)


# ---------------------------------------------------------------------- svy
def svy_version() -> str | None:
    try:
        import svy
    except ImportError:
        return None
    return str(getattr(svy, "__version__", "?"))


def svy_frame(df: pd.DataFrame) -> Any:
    import polars as pl

    out = pl.from_pandas(df.drop(columns="z"))
    z = pl.Series("z", df["z"].astype(str).to_numpy(), dtype=pl.Enum(list(Z_LEVELS)))
    return out.with_columns(z)


def svy_tasks(pl_df: Any) -> tuple[dict[str, Callable[[], Any]], float]:
    """svy's equivalents, and the cold time of ``Sample()`` + first ``mean(y)``
    (svy factorises the design lazily, on the first estimate)."""
    import svy

    def design() -> Any:
        return svy.Sample(pl_df, svy.Design(stratum="strat", psu="psu", wgt="w"))

    start = time.perf_counter()
    cold = design()
    cold.estimation.mean("y")
    cold_time = time.perf_counter() - start
    s = design()
    return {
        "design": design,
        "mean(y)": lambda: s.estimation.mean("y"),
        "proportion(z)": lambda: s.estimation.prop("z"),
        "mean(y, by=d)": lambda: s.estimation.mean("y", by="d"),
        "total(y)": lambda: s.estimation.total("y"),
    }, cold_time


def svy_result(est: Any) -> Result:
    frame = est.to_polars()
    cov = np.asarray(est.covariance, dtype=np.float64)
    return Result(frame["est"].to_numpy().astype(np.float64),
                  frame["se"].to_numpy().astype(np.float64),
                  cov if cov.size else None)


# ---------------------------------------------------------------------- R
def r_available() -> str | None:
    """Why R cannot run (None if it can)."""
    if shutil.which("Rscript") is None:
        return "Rscript not found"
    probe = subprocess.run(["Rscript", "-e", "library(survey)"], capture_output=True, text=True,
                           check=False)
    if probe.returncode != 0:
        return "R package 'survey' not installed"
    return None


def write_r_data(df: pd.DataFrame, directory: Path) -> None:
    """Columns as raw little-endian binary: exact doubles and fast for R to read."""
    (directory / "n.txt").write_text(f"{len(df)}\n")
    (directory / "z_levels.txt").write_text("\n".join(Z_LEVELS) + "\n")
    df["w"].to_numpy("<f8").tofile(directory / "w.f64")
    df["y"].to_numpy("<f8").tofile(directory / "y.f64")
    for col in ("strat", "psu", "d"):
        df[col].to_numpy().astype("<i4").tofile(directory / f"{col}.i32")
    np.asarray(df["z"].cat.codes, dtype="<i4").tofile(directory / "z.i32")


def run_r(df: pd.DataFrame) -> tuple[dict[str, float], dict[str, Result]]:
    """Time the tasks in R's survey (each once); returns seconds and results."""
    with tempfile.TemporaryDirectory(prefix="nea_covid_bench_") as tmp:
        directory = Path(tmp)
        write_r_data(df, directory)
        out = directory / "r_results.tsv"
        subprocess.run(["Rscript", str(R_SCRIPT), str(directory), str(out)], check=True)
        lines = out.read_text().splitlines()
    return parse_r_results(lines)


def attach_r(rows: dict[str, TaskRow], r_times: dict[str, float],
             r_results: dict[str, Result], nea_results: dict[str, Result]) -> str:
    """Put R's timings and agreement into the report rows; returns survey's version."""
    for task, row in rows.items():
        row.r_s = r_times.get(task)
        if task in nea_results and task in r_results:
            row.agree_r = agreement(r_results[task], nea_results[task])
    return subprocess.run(
        ["Rscript", "-e", 'cat(as.character(packageVersion("survey")))'],
        capture_output=True, text=True, check=False).stdout.strip()


def parse_r_results(lines: list[str]) -> tuple[dict[str, float], dict[str, Result]]:
    """Seconds and results per task from bench_helpers.R's records
    (task, seconds, estimates, SEs; tab-separated)."""
    times: dict[str, float] = {}
    results: dict[str, Result] = {}
    for line in lines:
        task, elapsed, est, se = [*line.split("\t"), "", ""][:4]
        times[task] = float(elapsed)
        if est:
            results[task] = Result(np.array(est.split(","), dtype=np.float64),
                                   np.array(se.split(",") if se else [], dtype=np.float64))
    return times, results


# ---------------------------------------------------------------------- memory
def proc_status(field_name: str, pid: int | str = "self") -> int | None:
    """A ``kB`` field of /proc/PID/status, in bytes (None without /proc)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1]) * 1024
    return None


def _reset_peak_rss() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def memory_child(rows: int, seed: int) -> dict[str, Any]:
    """Runs in the subprocess: peak memory of one ``mean(y, by=d)``."""
    df = make_data(rows, seed)
    d = nc.SurveyDesign(df, weights="w", strata="strat", clusters="psu")
    gc.collect()
    rss_before = proc_status("VmRSS")
    maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    if rss_before is not None and _reset_peak_rss():
        nc.mean(d, "y", by="d")
        peak = proc_status("VmHWM")
        assert peak is not None
        method = "VmHWM after the call - VmRSS before (high-water mark reset via clear_refs)"
        rss_increase, process_peak = peak - rss_before, peak
    else:
        nc.mean(d, "y", by="d")
        maxrss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        method = "ru_maxrss growth over the call (a lower bound if the peak was earlier)"
        rss_increase, process_peak = maxrss_after - maxrss_before, maxrss_after
    gc.collect()
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    nc.mean(d, "y", by="d")
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "rss_method": method,
        "rss_increase_bytes": int(rss_increase),
        "process_peak_bytes": int(process_peak),
        "tracemalloc_peak_bytes": int(traced_peak - base),
        "data_bytes": int(df.memory_usage(deep=True).sum()),
    }


def measure_memory(rows: int, seed: int) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--memory-child",
         "--rows", str(rows), "--seed", str(seed)],
        capture_output=True, text=True, check=True,
    )
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


# ---------------------------------------------------------------------- report
@dataclass
class TaskRow:
    task: str
    nea_s: float
    numpy_s: float | None = None
    first_s: float | None = None  # first call on a fresh design (bench_replicates)
    r_s: float | None = None
    svy_s: float | None = None
    svy_note: str = ""
    agree_numpy: Agreement | None = None
    agree_r: Agreement | None = None
    agree_svy: Agreement | None = None

    @property
    def nea_over_numpy(self) -> float | None:
        return _ratio(self.nea_s, self.numpy_s)


@dataclass
class Report:
    rows: int
    seed: int
    repeats: int
    environment: dict[str, Any]
    tasks: list[TaskRow] = field(default_factory=list)
    memory: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    targets: list[tuple[str, bool]] = field(default_factory=list)


def _fmt(value: float | None, spec: str = ".3f") -> str:
    return "-" if value is None else format(value, spec)


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def format_table(report: Report) -> str:
    header = ["task", "nea_covid s", "numpy s", "nea/numpy", "R s", "R/nea", "svy s",
              "svy/nea"]
    body = []
    for t in report.tasks:
        body.append([
            t.task, _fmt(t.nea_s, ".4f"), _fmt(t.numpy_s, ".4f"),
            _fmt(t.nea_over_numpy, ".2f"), _fmt(t.r_s, ".3f"),
            _fmt(_ratio(t.r_s, t.nea_s), ".1f"),
            _fmt(t.svy_s, ".4f") + (f" ({t.svy_note})" if t.svy_note else ""),
            _fmt(_ratio(t.svy_s, t.nea_s), ".2f"),
        ])
    return markdown_table(header, body)


def markdown_table(header: list[str], body: list[list[str]]) -> str:
    """A markdown table with padded columns."""
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |"
    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    rows = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"
            for r in body]
    return "\n".join([line, rule, *rows])


def print_report(report: Report) -> None:
    env = report.environment
    print(f"\nnea_covid core benchmark: {report.rows:,} rows, {N_STRATA} strata x "
          f"{PSU_PER_STRATUM} PSUs, {N_DOMAINS} domains, seed {report.seed}; best of "
          f"{report.repeats} after 1 warm-up (R: each task once)")
    print(f"python {env['python']}, numpy {env['numpy']}, pandas {env['pandas']}, "
          f"{env['cpus']} CPUs, OPENBLAS_CORETYPE={env['OPENBLAS_CORETYPE']}, "
          f"R survey: {env['r'] or 'skipped'}, svy: {env['svy'] or 'skipped'}")
    print(f"nea_covid {env['nea_covid']} from {env['nea_covid_source']}\n")
    print(format_table(report))
    mem = report.memory
    if mem:
        print(f"\npeak memory of mean(y, by=d): {mem['rss_increase_bytes'] / 2**20:.1f} MiB "
              f"RSS above the loaded data + design [{mem['rss_method']}]; "
              f"tracemalloc peak {mem['tracemalloc_peak_bytes'] / 2**20:.1f} MiB; "
              f"whole process peak {mem['process_peak_bytes'] / 2**20:.1f} MiB "
              f"(data frame {mem['data_bytes'] / 2**20:.1f} MiB)")
    print_checks(report.tasks, report.notes, report.targets)


def print_checks(tasks: list[TaskRow], notes: list[str], targets: list[tuple[str, bool]],
                 no_se: tuple[str, ...] = (), heading: str = "") -> None:
    """The agreement, notes and targets sections of a benchmark report (``no_se``:
    tasks whose results have no standard errors)."""
    print("\nagreement (max relative difference vs nea_covid: estimate / SE / covariance"
          f"{heading})")
    for t in tasks:
        parts = []
        for name, a in (("numpy", t.agree_numpy), ("R", t.agree_r), ("svy", t.agree_svy)):
            if a is not None:
                vc = "" if a.vcov is None else f" / {a.vcov:.1e}"
                se = "" if t.task in no_se else f" / {a.se:.1e}"
                parts.append(f"{name} {a.estimate:.1e}{se}{vc}")
        if parts:
            print(f"  {t.task:<15} " + ";  ".join(parts))
    if notes:
        print("\nnotes")
        for note in notes:
            print(f"  - {note}")
    print("\ntargets")
    for text, ok in targets:
        print(f"  [{'PASS' if ok else 'FAIL'}] {text}")


def evaluate_targets(report: Report) -> None:
    by_task = {t.task: t for t in report.tasks}
    for t in report.tasks:
        if t.task in ESTIMATORS:
            report.targets.append((
                f"{t.task} within {RATIO_TARGET:g}x of the numpy bound "
                f"({t.nea_over_numpy:.2f}x)", t.nea_over_numpy <= RATIO_TARGET))
    design = by_task["design"].nea_s
    report.targets.append((f"design creation < {DESIGN_TARGET_S} s ({design:.3f} s)",
                           design < DESIGN_TARGET_S))
    if report.memory:
        # the larger of the two call-attributable measures (RSS growth can hide reuse of
        # pages freed earlier; tracemalloc counts bytes allocated, touched or not)
        peak = max(report.memory["rss_increase_bytes"], report.memory["tracemalloc_peak_bytes"])
        report.targets.append((
            f"peak memory of mean(y, by=d) < 1 GiB ({peak / 2**20:.1f} MiB, the larger of "
            "RSS growth and tracemalloc peak)", peak < MEMORY_TARGET_BYTES))
    for t in report.tasks:
        if t.agree_numpy is not None:
            report.targets.append((
                f"numpy bound agrees with nea_covid on {t.task} to {AGREEMENT_RTOL:g} "
                f"({t.agree_numpy.worst:.1e})", t.agree_numpy.worst <= AGREEMENT_RTOL))


def report_json(report: Report) -> dict[str, Any]:
    out = asdict(report)
    for t, row in zip(report.tasks, out["tasks"], strict=True):
        row["nea_over_numpy"] = t.nea_over_numpy
        row["r_over_nea"] = _ratio(t.r_s, t.nea_s)
        row["svy_over_nea"] = _ratio(t.svy_s, t.nea_s)
    out["targets"] = [{"target": text, "pass": ok} for text, ok in report.targets]
    out["all_pass"] = all(ok for _, ok in report.targets)
    return out


def profile_task(fn: Callable[[], Any], top: int = 18) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    fn()
    profiler.disable()
    buf = io.StringIO()
    stats = pstats.Stats(profiler, stream=buf)
    stats.sort_stats("tottime").print_stats(top)
    return buf.getvalue()


# ---------------------------------------------------------------------- main
def nea_covid_source() -> str:
    """Where the measured nea_covid lives, with its git commit and whether it has
    uncommitted changes (the library may be edited while the benchmark runs)."""
    package = Path(nc.__file__).resolve().parent
    try:
        git = ["git", "-C", str(package)]
        rev = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, check=True).stdout.strip()
        dirty = subprocess.run([*git, "status", "--porcelain", "--", "."], capture_output=True,
                               text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return f"{package} (not a git checkout)"
    return f"{package} @ {rev}" + (" + uncommitted changes" if dirty else "")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=lambda s: int(float(s)), default=1_000_000,
                   help="number of rows (default 1e6; at least 2000)")
    p.add_argument("--seed", type=int, default=20240601)
    p.add_argument("--repeats", type=int, default=5, help="timed runs per task (best kept)")
    p.add_argument("--no-r", action="store_true", help="skip R's survey package")
    p.add_argument("--no-svy", action="store_true", help="skip svy")
    p.add_argument("--no-memory", action="store_true", help="skip the memory subprocess")
    p.add_argument("--profile", action="store_true",
                   help="cProfile nea_covid on every estimator missing the 3x target")
    p.add_argument("--json", type=Path, metavar="PATH", help="also write the results here")
    p.add_argument("--strict", action="store_true", help="exit with status 1 if a target fails")
    p.add_argument("--memory-child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.rows < N_STRATA * PSU_PER_STRATUM:
        p.error(f"--rows must be at least {N_STRATA * PSU_PER_STRATUM}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.memory_child:
        print(json.dumps(memory_child(args.rows, args.seed)))
        return 0

    r_reason = "--no-r" if args.no_r else r_available()
    svy_ver = None if args.no_svy else svy_version()
    report = Report(args.rows, args.seed, args.repeats, {
        "python": platform.python_version(), "numpy": np.__version__,
        "pandas": pd.__version__, "nea_covid": getattr(nc, "__version__", "?"),
        "nea_covid_source": nea_covid_source(),
        "cpus": os.cpu_count(), "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        "r": None, "svy": svy_ver,
    })

    print(f"building {args.rows:,} rows ...", flush=True)
    df = make_data(args.rows, args.seed)
    x = NumpyInput.from_frame(df)
    nea = nea_tasks(df)
    bound = numpy_tasks(x)

    nea_results = {k: nea_result(nea[k]()) for k in ESTIMATORS}
    for task in TASKS:
        print(f"timing {task} ...", flush=True)
        nea_s, numpy_s = best_of_interleaved(
            [(nea[task], contextlib.nullcontext), (bound[task], one_blas_thread)], args.repeats)
        row = TaskRow(task, nea_s, numpy_s)
        if task in ESTIMATORS:
            row.agree_numpy = agreement(bound[task](), nea_results[task],
                                        with_vcov=task == "mean(y, by=d)")
        report.tasks.append(row)
    rows = {t.task: t for t in report.tasks}

    if svy_ver is not None:
        print("timing svy ...", flush=True)
        svy_fns, cold = svy_tasks(svy_frame(df))
        for task in TASKS:
            rows[task].svy_s = best_of(svy_fns[task], args.repeats)
            if task in ESTIMATORS:
                rows[task].agree_svy = agreement(svy_result(svy_fns[task]()),
                                                 nea_results[task],
                                                 with_vcov=task == "mean(y, by=d)")
        rows["design"].svy_note = "lazy"
        report.notes.append(
            "svy builds its design caches lazily, on the first estimate: its 'design' row "
            f"times Sample() only; a cold Sample() + first mean(y) takes {cold:.3f} s. "
            "svy estimator rows reuse a warm Sample, as nea_covid's reuse one design.")
    else:
        report.notes.append("svy skipped (" + ("--no-svy" if args.no_svy else "not importable")
                            + ")")

    if r_reason is None:
        print("running R survey (each task once; svyby takes a while) ...", flush=True)
        try:
            r_times, r_results = run_r(df)
        except (OSError, subprocess.CalledProcessError) as err:
            r_reason = f"Rscript failed: {err}"
    if r_reason is None:
        report.environment["r"] = attach_r(rows, r_times, r_results, nea_results)
    else:
        report.notes.append(f"R survey skipped ({r_reason})")

    if not args.no_memory:
        print("measuring memory in a subprocess ...", flush=True)
        report.memory = measure_memory(args.rows, args.seed)

    report.notes.append(
        "numpy bound: design = np.unique codes for strata and PSUs + nesting/weight checks; "
        "estimators = estimate + SE only from pre-extracted arrays and pre-coded z and d "
        "(nea_covid also reads and checks the columns, codes the domains and computes design "
        "effects); timed with BLAS limited to one thread.")
    evaluate_targets(report)
    print_report(report)

    if args.profile:
        for t in report.tasks:
            if t.task in ESTIMATORS and t.nea_over_numpy > RATIO_TARGET:
                print(f"\ncProfile of nea_covid {t.task} ({t.nea_over_numpy:.2f}x the bound)")
                print(profile_task(nea[t.task]))

    if args.json is not None:
        args.json.write_text(json.dumps(report_json(report), indent=2, default=str) + "\n")
        print(f"\nwrote {args.json}")
    return 1 if args.strict and not all(ok for _, ok in report.targets) else 0


if __name__ == "__main__":
    sys.exit(main())
