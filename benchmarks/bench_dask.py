"""Dask benchmark: nea_covid on a partitioned parquet data set with a LocalCluster,
against the in-memory path on the same files.

Run on demand (never part of the test suite)::

    nox -s bench_dask                     # 5e7 rows in 25 files, 2 workers x 1 thread
    python benchmarks/bench_dask.py --rows 2e6 --files 4 --json /tmp/bench_dask.json
    python benchmarks/bench_dask.py --skip-memory-path   # Dask only

The data: ``--rows`` rows (default 5e7) in ``--files`` parquet files (default 25,
written with pyarrow into ``benchmarks/.data/dask_<rows>``, reused while its
``_meta.json`` matches rows, files and seed). 100 strata (``stratum``, int32 1..100) x
200 PSUs (``psu``, int32 1..200: ids repeat across strata, so the design needs
``nest=True``), 20,000 PSUs of unequal size; weights ``w`` (float64, a PSU base weight
times U(0.8, 1.25), so they vary within PSUs); ``y`` = 40 + PSU effect N(0, 3^2) +
10 N(0, 1) (float64); ``d`` (int32 0..99, 100 domains); ``z``, a 4-level answer stored
as text (pyarrow ``string``: "nooit", "soms", "meestal", "altijd"), as an analyst's
parquet exported from pandas or SPSS labels holds it. Rows are ordered by stratum and
PSU, as a survey office writes them, and the files split the rows evenly, so PSUs
straddle file boundaries. The PSU layout comes from ``default_rng([seed, 0])`` and the
rows of file ``i`` from ``default_rng([seed, i + 1])``: the same arguments write the
same files.

First a scan row, the I/O floor of every task: on Dask every column of every partition
read into pandas on the workers (nothing kept), in memory ``pd.read_parquet`` of the
directory. Tasks: design creation (``nc.SurveyDesign(ddf, weights="w", strata="stratum",
clusters="psu", nest=True)``), ``mean(y)``, ``mean(y, by=d)``, ``proportion(z)``, each
run once (wall seconds, as an analyst meets them), on a ``LocalCluster`` of
``--workers`` processes with one thread each, spilling and pausing off and a memory
limit (``--memory-limit``, default 10GB) high enough that no worker is killed. Peak RSS
per worker and of the client process (which also hosts the scheduler) is measured per
task: the kernel's high-water mark is reset before the task (``/proc/PID/clear_refs``)
and read after it (``VmHWM``), and a background thread samples every process's RSS
every 0.1 s with psutil (the larger of the two is reported; the sampled one alone where
/proc is unavailable).

The in-memory path runs in a subprocess, so that its memory is its own: the same files
read with ``pd.read_parquet``, the same design and tasks, peak RSS per task the same
way. If the full size does not fit (MemoryError, or RSS above ``--memory-cap``, default
18 GB), the comparison falls back to the largest of 25e6 / 1e7 rows that fits (Dask is
then run on that size too, for a like-for-like ratio). The estimates and standard
errors of the two paths must agree to 1e-10 relative.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psutil
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from bench_core import markdown_table, max_rel_diff, nea_covid_source, proc_status

import nea_covid as nc

N_STRATA = 100
PSU_PER_STRATUM = 200
N_PSU = N_STRATA * PSU_PER_STRATUM
N_DOMAINS = 100
Z_LEVELS = ("nooit", "soms", "meestal", "altijd")
Z_PROBS = (0.35, 0.30, 0.20, 0.15)
GENERATOR_VERSION = 1
META = "_meta.json"  # a leading "_" keeps pyarrow and dask from reading it as parquet

TASKS = ("design", "mean(y)", "mean(y, by=d)", "proportion(z)")
ESTIMATORS = TASKS[1:]
READ = "read (scan)"  # the I/O floor: every column of every file into pandas, no estimate
DESIGN_ARGS: dict[str, Any] = {"weights": "w", "strata": "stratum", "clusters": "psu",
                               "nest": True}
FALLBACK_ROWS = (25_000_000, 10_000_000)

GB = 1e9
WORKER_TARGET_BYTES = 2 * GB
AGREEMENT_RTOL = 1e-10

HERE = Path(__file__).resolve().parent
DATA_ROOT = HERE / ".data"


# ---------------------------------------------------------------------- data
def default_data_dir(rows: int) -> Path:
    return DATA_ROOT / f"dask_{rows}"


def psu_layout(rows: int, seed: int) -> dict[str, np.ndarray]:
    """Per-PSU sizes (unequal, at least one row), base weights and effects."""
    rng = np.random.default_rng([seed, 0])
    share = rng.gamma(4.0, size=N_PSU)
    sizes = 1 + rng.multinomial(rows - N_PSU, share / share.sum())
    stratum_scale = rng.uniform(0.5, 2.0, size=N_STRATA)
    base_w = (stratum_scale[np.arange(N_PSU) // PSU_PER_STRATUM]
              * rng.lognormal(0.0, 0.3, size=N_PSU))
    return {"ends": np.cumsum(sizes), "base_w": base_w,
            "effect": rng.normal(0.0, 3.0, size=N_PSU)}


def file_bounds(rows: int, files: int) -> list[tuple[int, int]]:
    return [(rows * i // files, rows * (i + 1) // files) for i in range(files)]


def make_file(i: int, start: int, stop: int, layout: dict[str, np.ndarray],
              seed: int) -> pa.Table:
    """Rows ``start:stop`` (global, ordered by stratum and PSU) as an arrow table."""
    rng = np.random.default_rng([seed, i + 1])
    n = stop - start
    g = np.searchsorted(layout["ends"], np.arange(start, stop), side="right")  # PSU index
    z = rng.choice(len(Z_LEVELS), size=n, p=Z_PROBS).astype(np.int8)
    return pa.table({
        "stratum": (g // PSU_PER_STRATUM + 1).astype(np.int32),
        "psu": (g % PSU_PER_STRATUM + 1).astype(np.int32),
        "w": layout["base_w"][g] * rng.uniform(0.8, 1.25, size=n),
        "y": 40.0 + layout["effect"][g] + 10.0 * rng.standard_normal(n),
        "d": rng.integers(0, N_DOMAINS, size=n).astype(np.int32),
        "z": pc.take(pa.array(Z_LEVELS, type=pa.string()), pa.array(z)),
    })


@dataclass
class DataInfo:
    directory: str
    rows: int
    files: int
    seed: int
    generated: bool  # False: reused from an earlier run
    seconds: float  # generation time (of the earlier run when reused)
    bytes: int


def part_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("part-*.parquet"))


def ensure_data(directory: Path, rows: int, files: int, seed: int) -> DataInfo:
    """Write the data set unless ``directory`` already holds it (``_meta.json``)."""
    meta_path = directory / META
    want = {"generator": GENERATOR_VERSION, "rows": rows, "files": files, "seed": seed}
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if ({k: meta.get(k) for k in want} == want
                and len(part_files(directory)) == files):
            return DataInfo(str(directory), rows, files, seed, False, meta["seconds"],
                            meta["bytes"])
        meta_path.unlink()
    directory.mkdir(parents=True, exist_ok=True)
    for old in part_files(directory):
        old.unlink()
    print(f"writing {rows:,} rows in {files} parquet files to {directory} ...", flush=True)
    start = time.perf_counter()
    layout = psu_layout(rows, seed)
    for i, (lo, hi) in enumerate(file_bounds(rows, files)):
        pq.write_table(make_file(i, lo, hi, layout, seed), directory / f"part-{i:05d}.parquet")
    seconds = time.perf_counter() - start
    size = sum(p.stat().st_size for p in part_files(directory))
    meta_path.write_text(json.dumps({**want, "seconds": seconds, "bytes": size}, indent=2))
    return DataInfo(str(directory), rows, files, seed, True, seconds, size)


# ---------------------------------------------------------------------- memory
def reset_hwm(pid: int | str) -> bool:
    """Reset the kernel's peak-RSS mark (VmHWM) of a process we own."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


class RssMonitor:
    """Peak RSS of named processes over an interval: VmHWM reset at :meth:`reset` and
    read at :meth:`peaks`, and RSS sampled every ``interval`` s in a thread."""

    def __init__(self, pids: dict[str, int], interval: float = 0.1) -> None:
        self.pids = pids
        self.interval = interval
        self._procs = {name: psutil.Process(pid) for name, pid in pids.items()}
        self._peak: dict[str, int] = dict.fromkeys(pids, 0)
        self._hwm_ok: dict[str, bool] = dict.fromkeys(pids, False)
        self.gone: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssMonitor:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        for name, proc in self._procs.items():
            try:
                rss = proc.memory_info().rss
            except psutil.Error:
                self.gone.add(name)
                continue
            with self._lock:
                self._peak[name] = max(self._peak[name], rss)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def reset(self) -> None:
        with self._lock:
            self._peak = dict.fromkeys(self.pids, 0)
        for name, pid in self.pids.items():
            self._hwm_ok[name] = reset_hwm(pid)
        self._sample()

    def peaks(self) -> dict[str, int]:
        self._sample()
        out = {}
        with self._lock:
            for name, pid in self.pids.items():
                hwm = proc_status("VmHWM", pid) if self._hwm_ok[name] else None
                out[name] = max(self._peak[name], hwm or 0)
        return out


# ---------------------------------------------------------------------- tasks
@dataclass
class Result:
    """Estimates, SEs and cell labels of one task (for the agreement check)."""

    estimate: list[float]
    se: list[float]
    cells: list[str]


def result_of(est: Any) -> Result:
    cells = est.cells.astype(str).agg("|".join, axis=1).tolist() if len(est.cells.columns) \
        else [""] * len(np.atleast_1d(est.estimate))
    return Result(np.asarray(est.estimate, dtype=np.float64).ravel().tolist(),
                  np.asarray(est.standard_error, dtype=np.float64).ravel().tolist(), cells)


def estimator_calls(design: Any) -> dict[str, Callable[[], Any]]:
    return {
        "mean(y)": lambda: nc.mean(design, "y"),
        "mean(y, by=d)": lambda: nc.mean(design, "y", by="d"),
        "proportion(z)": lambda: nc.proportion(design, "z"),
    }


@dataclass
class TaskRun:
    """One task on one path: seconds, peak RSS per process, result or error."""

    task: str
    seconds: float | None = None
    peaks: dict[str, int] = field(default_factory=dict)
    result: Result | None = None
    error: str | None = None
    passes: float | None = None  # reads of every partition (Dask)


Watch = Callable[[], contextlib.AbstractContextManager[list[float]]]


def run_tasks(data: Any, before: Callable[[], None],
              peaks: Callable[[], dict[str, int]], watch: Watch | None = None) -> list[TaskRun]:
    """Design creation then the estimators on ``data`` (stops at the first error):
    ``before()`` is called before each task (collect garbage, reset the peaks),
    ``peaks()`` after it; ``watch()`` wraps each task and fills its list with the
    number of passes over the data."""
    out: list[TaskRun] = []
    design: Any = None
    for task in TASKS:
        run = TaskRun(task)
        out.append(run)
        before()
        try:
            with (watch or _no_watch)() as passes:
                start = time.perf_counter()
                if task == "design":
                    design = nc.SurveyDesign(data, **DESIGN_ARGS)
                    value = None
                else:
                    value = estimator_calls(design)[task]()
                run.seconds = time.perf_counter() - start
            run.passes = passes[0] if passes else None
        except Exception as err:  # reported, not raised: the other path still runs
            run.error = f"{type(err).__name__}: {err}"
            run.peaks = peaks()
            break
        run.peaks = peaks()
        if value is not None:
            if not isinstance(value, nc.Estimate):
                run.error = f"returned {type(value).__name__}, not nc.Estimate"
            run.result = result_of(value)
    return out


def _no_watch() -> contextlib.AbstractContextManager[list[float]]:
    return contextlib.nullcontext([])


# ---------------------------------------------------------------------- dask
@contextlib.contextmanager
def count_passes(client: Any, npartitions: int) -> Iterator[list[float]]:
    """Passes over the files inside the block: read_parquet tasks run / partitions
    (from the scheduler's task stream); nothing is appended if none are seen."""
    from dask.distributed import get_task_stream

    out: list[float] = []
    with get_task_stream(client) as stream:
        yield out
    reads = sum("read_parquet" in str(t["key"]).lower() or "readparquet" in str(t["key"]).lower()
                for t in stream.data)
    if reads:
        out.append(reads / npartitions)


@dataclass
class DaskRun:
    info: DataInfo
    npartitions: int | None = None
    read_seconds: float | None = None
    tasks: list[TaskRun] = field(default_factory=list)
    worker_baseline: dict[str, int] = field(default_factory=dict)


def partition_bytes(part: pd.DataFrame) -> pd.Series:
    """A partition's size: makes the workers read every column of it."""
    return pd.Series([int(part.memory_usage(deep=True).sum())], dtype="int64")


def run_dask(client: Any, monitor: RssMonitor, info: DataInfo) -> DaskRun:
    import dask.dataframe as dd

    out = DaskRun(info)
    print(f"dask: {info.rows:,} rows from {info.directory} ...", flush=True)
    start = time.perf_counter()
    ddf = dd.read_parquet(info.directory)
    out.read_seconds = time.perf_counter() - start
    out.npartitions = int(ddf.npartitions)

    def before() -> None:
        client.run(gc.collect)
        gc.collect()
        monitor.reset()

    before()
    out.worker_baseline = monitor.peaks()
    def watch() -> contextlib.AbstractContextManager[list[float]]:
        return count_passes(client, out.npartitions or 1)

    scan = TaskRun(READ)
    with watch() as passes:
        start = time.perf_counter()
        ddf.map_partitions(partition_bytes, meta=("bytes", "int64")).compute()
        scan.seconds = time.perf_counter() - start
    scan.passes = passes[0] if passes else None
    scan.peaks = monitor.peaks()
    out.tasks = [scan, *run_tasks(ddf, before, monitor.peaks, watch)]
    for t in out.tasks:
        print(f"  {t.task:<14} " + (f"{t.seconds:.2f} s" if t.error is None and t.seconds
                                      else f"failed: {t.error}"), flush=True)
    return out


def dask_session(args: argparse.Namespace, infos: list[DataInfo]) -> tuple[list[DaskRun],
                                                                          list[str]]:
    """Start the cluster once and run the tasks on each data set."""
    import dask
    from dask.distributed import Client, LocalCluster

    notes = []
    config = {"distributed.worker.memory.target": False,
              "distributed.worker.memory.spill": False,
              "distributed.worker.memory.pause": False}
    runs = []
    with dask.config.set(config), LocalCluster(
        n_workers=args.workers, threads_per_worker=1, processes=True,
        memory_limit=args.memory_limit, dashboard_address=None,
    ) as cluster, Client(cluster) as client:
        worker_pids = client.run(os.getpid)
        pids = {f"worker {i + 1}": pid for i, pid in enumerate(worker_pids.values())}
        pids["client"] = os.getpid()
        with RssMonitor(pids) as monitor:
            for info in infos:
                runs.append(run_dask(client, monitor, info))
            if monitor.gone or set(client.run(os.getpid).values()) != set(worker_pids.values()):
                notes.append("a worker process died or was restarted during the run "
                             f"({sorted(monitor.gone)}): its peak is a lower bound")
    return runs, notes


# ---------------------------------------------------------------------- in memory
def in_memory_child(directory: Path) -> dict[str, Any]:
    """Runs in the subprocess: read the files with pandas, then the same tasks."""
    pid = os.getpid()
    hwm_ok = {"ok": False}

    def before() -> None:
        gc.collect()
        hwm_ok["ok"] = reset_hwm(pid)

    def peaks() -> dict[str, int]:
        hwm = proc_status("VmHWM", pid) if hwm_ok["ok"] else None
        if hwm is None:  # no /proc: the process peak so far (an upper bound)
            hwm = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        return {"in-memory": hwm}

    before()
    start = time.perf_counter()
    df = pd.read_parquet(directory)
    read_seconds = time.perf_counter() - start
    read_peak = peaks()["in-memory"]
    tasks = [TaskRun(READ, read_seconds, {"in-memory": read_peak}),
             *run_tasks(df, before, peaks)]
    return {
        "rows": len(df),
        "read_seconds": read_seconds,
        "read_peak": read_peak,
        "data_bytes": int(df.memory_usage(deep=True).sum()),
        "dtypes": {c: str(t) for c, t in df.dtypes.items()},
        "process_peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "tasks": [asdict(t) for t in tasks],
    }


@dataclass
class MemoryRun:
    info: DataInfo
    fits: bool
    reason: str = ""  # why it did not fit, or failed
    read_seconds: float | None = None
    read_peak: int | None = None
    data_bytes: int | None = None
    process_peak: int | None = None
    dtypes: dict[str, str] = field(default_factory=dict)
    tasks: list[TaskRun] = field(default_factory=list)


def run_in_memory(info: DataInfo, cap: float) -> MemoryRun:
    """The in-memory path in a subprocess, killed if its RSS passes ``cap`` bytes."""
    print(f"in memory: {info.rows:,} rows (subprocess, cap {cap / GB:g} GB) ...", flush=True)
    with tempfile.TemporaryDirectory(prefix="nea_covid_bench_dask_") as tmp:
        out_path, err_path = Path(tmp) / "out.json", Path(tmp) / "stderr.txt"
        with err_path.open("w") as err:
            proc = subprocess.Popen(
                [sys.executable, str(Path(__file__).resolve()), "--in-memory-child",
                 "--data", info.directory, "--child-out", str(out_path)],
                stdout=subprocess.DEVNULL, stderr=err)
            child = psutil.Process(proc.pid)
            peak, killed = 0, False
            while proc.poll() is None:
                try:
                    rss = child.memory_info().rss
                except psutil.Error:
                    break
                peak = max(peak, rss)
                if rss > cap:
                    proc.kill()
                    killed = True
                    break
                time.sleep(0.1)
            proc.wait()
        if killed:
            return MemoryRun(info, False, f"RSS passed the {cap / GB:g} GB cap "
                                          f"({peak / GB:.1f} GB sampled)")
        if proc.returncode != 0 or not out_path.exists():
            # MemoryError: try a smaller size; any other failure is reported as is
            tail = err_path.read_text().strip().splitlines()[-3:]
            return MemoryRun(info, not any("MemoryError" in line for line in tail),
                             f"exit status {proc.returncode}: " + " / ".join(tail))
        raw = json.loads(out_path.read_text())
    tasks = []
    for t in raw["tasks"]:
        result = Result(**t["result"]) if t["result"] else None
        tasks.append(TaskRun(t["task"], t["seconds"], t["peaks"], result, t["error"]))
    return MemoryRun(info, True, "", raw["read_seconds"], raw["read_peak"],
                     raw["data_bytes"], raw["process_peak"], raw["dtypes"], tasks)


# ---------------------------------------------------------------------- report
@dataclass
class Comparison:
    """One task of the table: Dask and in-memory side by side."""

    task: str
    rows: int
    dask_s: float | None
    rows_per_s: float | None
    passes: float | None
    worker_peaks: list[int]
    client_peak: int | None
    memory_s: float | None
    memory_peak: int | None
    ratio: float | None
    agree_estimate: float | None
    agree_se: float | None
    dask_error: str | None
    memory_error: str | None


def agreement(a: Result, b: Result) -> tuple[float, float]:
    if a.cells != b.cells:
        return float("inf"), float("inf")
    return (max_rel_diff(np.array(a.estimate), np.array(b.estimate)),
            max_rel_diff(np.array(a.se), np.array(b.se)))


def compare(dask_run: DaskRun | None, mem: MemoryRun | None, rows: int) -> list[Comparison]:
    by_dask = {t.task: t for t in dask_run.tasks} if dask_run else {}
    by_mem = {t.task: t for t in mem.tasks} if mem and mem.fits else {}
    out = []
    for task in (READ, *TASKS):
        dt, mt = by_dask.get(task), by_mem.get(task)
        d_ok = dt is not None and dt.error is None and dt.seconds is not None
        m_ok = mt is not None and mt.error is None and mt.seconds is not None
        ae = se = None
        if d_ok and m_ok and dt.result is not None and mt.result is not None:
            ae, se = agreement(dt.result, mt.result)
        out.append(Comparison(
            task, rows,
            dt.seconds if d_ok else None,
            rows / dt.seconds if d_ok and dt.seconds else None,
            dt.passes if dt else None,
            [v for k, v in sorted(dt.peaks.items()) if k.startswith("worker")] if dt else [],
            dt.peaks.get("client") if dt else None,
            mt.seconds if m_ok else None,
            mt.peaks.get("in-memory") if mt else None,
            dt.seconds / mt.seconds if d_ok and m_ok and mt.seconds else None,
            ae, se,
            dt.error if dt else None, mt.error if mt else None,
        ))
    return out


@dataclass
class Report:
    rows: int
    files: int
    seed: int
    workers: int
    memory_limit: str
    environment: dict[str, Any]
    data: list[DataInfo] = field(default_factory=list)
    dask: list[DaskRun] = field(default_factory=list)
    in_memory: list[MemoryRun] = field(default_factory=list)
    table: list[Comparison] = field(default_factory=list)  # at --rows
    comparison_table: list[Comparison] = field(default_factory=list)  # at a fallback size
    notes: list[str] = field(default_factory=list)
    targets: list[tuple[str, bool]] = field(default_factory=list)


def _f(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _gb(value: float | None) -> str:
    return "-" if value is None else f"{value / GB:.2f}"


def format_table(rows: list[Comparison]) -> str:
    header = ["task", "dask s", "rows/s", "passes", "peak/worker GB", "client GB", "in-memory s",
              "in-memory GB", "dask/in-memory", "agree est / SE"]
    body = []
    for c in rows:
        agree = "-" if c.agree_estimate is None else \
            f"{c.agree_estimate:.1e} / {c.agree_se:.1e}"
        body.append([
            c.task,
            _f(c.dask_s, ".2f") if c.dask_error is None else "failed",
            _f(c.rows_per_s, ".3g"),
            _f(c.passes, ".3g"),
            " / ".join(_gb(p) for p in c.worker_peaks) or "-",
            _gb(c.client_peak),
            _f(c.memory_s, ".2f") if c.memory_error is None else "failed",
            _gb(c.memory_peak),
            _f(c.ratio, ".2f"),
            agree,
        ])
    return markdown_table(header, body)


def evaluate_targets(report: Report) -> None:
    for table in (report.table, report.comparison_table):
        for c in table:
            if c.dask_error is not None:
                report.targets.append((f"{c.task} on Dask at {c.rows:,} rows runs "
                                       f"({c.dask_error})", False))
                continue
            if c.worker_peaks:
                worst = max(c.worker_peaks)
                report.targets.append((
                    f"{c.task} at {c.rows:,} rows: peak RSS per worker < "
                    f"{WORKER_TARGET_BYTES / GB:g} GB ({worst / GB:.2f} GB)",
                    worst < WORKER_TARGET_BYTES))
            if c.agree_estimate is not None and c.agree_se is not None:
                worst_rel = max(c.agree_estimate, c.agree_se)
                report.targets.append((
                    f"{c.task} at {c.rows:,} rows: Dask agrees with in-memory to "
                    f"{AGREEMENT_RTOL:g} ({worst_rel:.1e})", worst_rel <= AGREEMENT_RTOL))


def print_report(report: Report) -> None:
    env = report.environment
    print(f"\nnea_covid Dask benchmark: {report.rows:,} rows in {report.files} parquet files, "
          f"{N_STRATA} strata x {PSU_PER_STRATUM} PSUs (nest=True), {N_DOMAINS} domains, "
          f"seed {report.seed}; LocalCluster {report.workers} workers x 1 thread, memory "
          f"limit {report.memory_limit}, spill/pause off; each task run once")
    print(f"python {env['python']}, numpy {env['numpy']}, pandas {env['pandas']}, "
          f"pyarrow {env['pyarrow']}, dask {env['dask']}, distributed {env['distributed']}, "
          f"{env['cpus']} CPUs, {env['memory_bytes'] / GB:.1f} GB RAM")
    print(f"nea_covid {env['nea_covid']} from {env['nea_covid_source']}\n")
    for info in report.data:
        how = "generated" if info.generated else "reused (generated earlier)"
        print(f"data {info.directory}: {info.rows:,} rows, {info.files} files, "
              f"{info.bytes / GB:.2f} GB on disk, {how} in {info.seconds:.1f} s")
    for run in report.dask:
        base = ", ".join(f"{k} {v / GB:.2f} GB" for k, v in sorted(run.worker_baseline.items()))
        print(f"dask {run.info.rows:,} rows: {run.npartitions} partitions, read_parquet "
              f"{_f(run.read_seconds, '.2f')} s (lazy); RSS before the tasks: {base}")
    for mem in report.in_memory:
        if mem.fits and mem.read_seconds is not None:
            print(f"in memory {mem.info.rows:,} rows: pd.read_parquet {mem.read_seconds:.1f} s "
                  f"(peak {_gb(mem.read_peak)} GB), frame {_gb(mem.data_bytes)} GB, process "
                  f"peak {_gb(mem.process_peak)} GB; z read as {mem.dtypes.get('z')}")
        else:
            print(f"in memory {mem.info.rows:,} rows: does not fit or failed ({mem.reason})")
    print(f"\nat {report.rows:,} rows (peaks are per-task maxima of RSS; client = client + "
          "scheduler process)")
    print(format_table(report.table))
    if report.comparison_table:
        print(f"\nlike for like at {report.comparison_table[0].rows:,} rows, the largest size "
              "that fits in memory")
        print(format_table(report.comparison_table))
    errors = [(c.rows, c.task, path, e) for c in [*report.table, *report.comparison_table]
              for path, e in (("dask", c.dask_error), ("in-memory", c.memory_error))
              if e is not None]
    if errors:
        print("\nerrors")
        for rows, task, path, e in errors:
            print(f"  {path} {task} at {rows:,} rows: {e}")
    if report.notes:
        print("\nnotes")
        for note in report.notes:
            print(f"  - {note}")
    print("\ntargets")
    for text, ok in report.targets:
        print(f"  [{'PASS' if ok else 'FAIL'}] {text}")


# ---------------------------------------------------------------------- main
def environment() -> dict[str, Any]:
    import dask
    import distributed

    return {
        "python": platform.python_version(), "numpy": np.__version__,
        "pandas": pd.__version__, "pyarrow": pa.__version__, "dask": dask.__version__,
        "distributed": distributed.__version__, "nea_covid": nc.__version__,
        "nea_covid_source": nea_covid_source(), "cpus": os.cpu_count(),
        "memory_bytes": psutil.virtual_memory().total,
        "load_at_start": os.getloadavg()[0],
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=lambda s: int(float(s.replace("_", ""))), default=50_000_000,
                   help=f"number of rows (default 5e7; at least {N_PSU:,})")
    p.add_argument("--files", type=int, default=25, help="parquet files (default 25)")
    p.add_argument("--data", type=Path, default=None,
                   help="data directory (default benchmarks/.data/dask_<rows>)")
    p.add_argument("--seed", type=int, default=20260801)
    p.add_argument("--workers", type=int, default=2, help="LocalCluster workers (1 thread each)")
    p.add_argument("--memory-limit", default="10GB", help="per worker (default 10GB)")
    p.add_argument("--memory-cap", type=float, default=18.0,
                   help="GB of RSS above which the in-memory path counts as not fitting")
    p.add_argument("--skip-memory-path", action="store_true",
                   help="skip the in-memory comparison")
    p.add_argument("--json", type=Path, metavar="PATH", help="also write the results here")
    p.add_argument("--strict", action="store_true", help="exit with status 1 if a target fails")
    p.add_argument("--in-memory-child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--child-out", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.rows < N_PSU:
        p.error(f"--rows must be at least {N_PSU:,} (one row per PSU)")
    if not 1 <= args.files <= args.rows:
        p.error("--files must be between 1 and --rows")
    if args.data is None:
        args.data = default_data_dir(args.rows)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.in_memory_child:
        args.child_out.write_text(json.dumps(in_memory_child(args.data)))
        return 0

    report = Report(args.rows, args.files, args.seed, args.workers, args.memory_limit,
                    environment())
    main_info = ensure_data(args.data, args.rows, args.files, args.seed)
    report.data.append(main_info)

    # the in-memory path first (alone on the machine), falling back to smaller sizes
    fit: MemoryRun | None = None
    if not args.skip_memory_path:
        for size in (args.rows, *(s for s in FALLBACK_ROWS if s < args.rows)):
            if size == args.rows:
                info = main_info
            else:
                files = max(1, round(args.files * size / args.rows))
                info = ensure_data(args.data.parent / f"dask_{size}", size, files, args.seed)
                report.data.append(info)
            mem = run_in_memory(info, args.memory_cap * GB)
            report.in_memory.append(mem)
            if mem.fits:
                fit = mem
                break
        if fit is None:
            report.notes.append("the in-memory path fits at none of the sizes tried: no ratio")
        elif fit.info.rows != args.rows:
            report.notes.append(
                f"{args.rows:,} rows do not fit in memory; the ratio and agreement are at "
                f"{fit.info.rows:,} rows, the largest size tried that fits")
    else:
        report.notes.append("in-memory comparison skipped (--skip-memory-path)")

    infos = [main_info] + ([fit.info] if fit is not None and fit.info is not main_info else [])
    dask_runs, notes = dask_session(args, infos)
    report.dask, report.notes = dask_runs, report.notes + notes

    report.table = compare(dask_runs[0], fit if fit and fit.info is main_info else None,
                           args.rows)
    if len(dask_runs) > 1:
        report.comparison_table = compare(dask_runs[1], fit, dask_runs[1].info.rows)
    report.notes.append(
        "z is stored as text (pyarrow string, dictionary-encoded pages): pandas reads it as "
        "its str dtype, dask as a pyarrow-backed string; levels are sorted "
        f"({', '.join(sorted(Z_LEVELS))}).")
    report.notes.append(
        "peak RSS: max of the kernel high-water mark (reset per task via "
        "/proc/PID/clear_refs) and psutil samples every 0.1 s; a worker's peak includes "
        "its idle baseline (imports, cached memory). passes: read_parquet tasks in the "
        "scheduler's task stream / partitions (how often a task reads the files).")
    load = report.environment["load_at_start"]
    if load > 0.5:
        report.notes.append(
            f"the machine was busy before the run (1-minute load average {load:.1f} on "
            f"{os.cpu_count()} CPUs): other processes compete for the CPUs and timings are "
            "slower and noisier than on a quiet machine.")
    evaluate_targets(report)
    print_report(report)

    if args.json is not None:
        out = asdict(report)
        out["targets"] = [{"target": text, "pass": ok} for text, ok in report.targets]
        out["all_pass"] = all(ok for _, ok in report.targets)
        args.json.write_text(json.dumps(out, indent=2, default=str) + "\n")
        print(f"\nwrote {args.json}")
    return 1 if args.strict and not all(ok for _, ok in report.targets) else 0


if __name__ == "__main__":
    sys.exit(main())
