"""Replicate-weight benchmark: nea_covid against a plain-numpy lower bound, R's survey and svy.

Run on demand (never part of the test suite)::

    nox -s bench                                # bench_core.py, then this script
    python benchmarks/bench_replicates.py --rows 200000 --no-r --json /tmp/rep.json
    python benchmarks/bench_replicates.py --profile   # cProfile every task missing its target

The data: bench_core's sample (``--rows`` rows in 200 strata x 10 PSUs, weights
``w``, numeric ``y``, 100-level domain ``d``), plus

* ``--replicates`` (default 100) bootstrap replicate weights ``rep1..repR`` as final
  weights: in every stratum and replicate, 10 PSUs drawn with replacement (R's
  ``bootweights`` without fpc), ``rep_r = w * times the row's PSU was drawn``;
* ``fpc``: 50 PSUs in the population of every stratum (sampling fraction 0.2);
* raking variables ``a``, ``b``, ``c`` (10, 15 and 20 levels, associated with each
  other) and population margins from a synthetic population: the counts of
  ``w * exp(f_a + f_b + f_c)``, so the margins are consistent and that weight is the
  exact raking solution.

Tasks (nea_covid calls):

* ``replicate design``: ``nc.ReplicateDesign(df, weights="w", replicate_weights=[...],
  method="bootstrap")`` (reported, no target);
* ``mean(y)`` and ``mean(y, by=d)`` (100 domains, full 100 x 100 covariance) on that
  design: within 3x of the numpy bound;
* ``bootstrap`` / ``bootstrap, fpc``: ``d.to_replicate("bootstrap", replicates=R,
  rng=np.random.default_rng(1))`` on a Taylor ``SurveyDesign`` without / with fpc:
  under 2 s;
* ``rake``: ``d.rake({"a": ..., "b": ..., "c": ...})`` on a ``SurveyDesign``: under 2 s.

nea_covid, the numpy bound and svy are timed as the best of ``--repeats`` runs after one
warm-up (nea_covid and the bound round-robin); R runs each task once. The "1st call"
column is one call on a fresh design, first thing in the process (what a user meets:
``mean(y, by=d)`` then also makes the row-major copy of the replicate weights that the
design caches; ``rake`` touches fresh memory).

The numpy bound is the minimal arithmetic for estimate + SE, timed with BLAS on one
thread: for ``mean(y)`` one product ``W' [y, 1]`` (replicate totals of ``y`` and of the
weights), then the bootstrap variance ``1/(R-1) sum_r (theta_r - mean theta)^2``; for
``by=d`` the per-domain replicate totals from one sparse product (a CSC indicator of
(domain, y) and (domain, 1), two entries per row, times the row-major replicate
weights, which read each row once in order: the fastest plain numpy/scipy form found;
the row-major copy is made outside the timing, as nea_covid caches it on the design);
for raking, iterative proportional fitting by ``np.bincount`` with nea_covid's stopping
rule. Its estimates, SEs, covariance and raked weights must agree with nea_covid's to
1e-10 relative. R and svy are checked the same way where they compute the same thing
(svy with ``scale=1/(R-1)``; R and svy rake exactly as many sweeps as nea_covid).
Bootstrap replicates are random, so they are checked for structure (integer draws adding
up to the PSUs of each stratum in every replicate) and their SEs are reported.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from bench_core import (
    N_DOMAINS,
    N_STRATA,
    PSU_PER_STRATUM,
    Result,
    TaskRow,
    _fmt,
    _ratio,
    _time_once,
    agreement,
    attach_r,
    best_of,
    markdown_table,
    nea_covid_source,
    nea_result,
    one_blas_thread,
    parse_r_results,
    print_checks,
    profile_task,
    r_available,
    svy_result,
    svy_version,
)
from bench_core import make_data as make_core_data
from numpy.typing import NDArray

import nea_covid as nc

TASKS = ("replicate design", "mean(y)", "mean(y, by=d)", "bootstrap", "bootstrap, fpc", "rake")
RATIO_TASKS = ("mean(y)", "mean(y, by=d)")  # within RATIO_TARGET of the numpy bound
SECONDS_TASKS = ("bootstrap", "bootstrap, fpc", "rake")  # under SECONDS_TARGET
BOUND_TASKS = ("mean(y)", "mean(y, by=d)", "rake")

RATIO_TARGET = 3.0
SECONDS_TARGET = 2.0
AGREEMENT_RTOL = 1e-10

POPULATION_PSUS = 50  # fpc: PSUs per stratum in the population
RAKE_LEVELS = {"a": 10, "b": 15, "c": 20}
BOOTSTRAP_SEED = 1  # np.random.default_rng(1) for to_replicate

HERE = Path(__file__).resolve().parent
R_SCRIPT = HERE / "bench_replicates.R"

Arr = NDArray[np.float64]
IntArr = NDArray[np.intp]


# ---------------------------------------------------------------------- data
@dataclass
class BenchData:
    frame: pd.DataFrame
    rep_columns: list[str]
    margins: dict[str, dict[int, float]]
    raking_solution: Arr  # the synthetic population's weights: raking's exact answer


def bootstrap_counts(rng: np.random.Generator, replicates: int) -> Arr:
    """Times each PSU is drawn (PSUs x R): ``n_h`` draws with replacement per stratum."""
    n_psu = N_STRATA * PSU_PER_STRATUM
    first = (np.arange(n_psu) // PSU_PER_STRATUM) * PSU_PER_STRATUM  # stratum's first PSU
    chosen = first[:, None] + rng.integers(0, PSU_PER_STRATUM, size=(n_psu, replicates))
    flat = chosen * replicates + np.arange(replicates)
    return np.bincount(flat.ravel(), minlength=n_psu * replicates).reshape(
        n_psu, replicates).astype(np.float64)


def make_data(rows: int, seed: int, replicates: int) -> BenchData:
    base = make_core_data(rows, seed)
    rng = np.random.default_rng([seed, 1])
    w = base["w"].to_numpy()
    psu = base["psu"].to_numpy()
    counts = bootstrap_counts(rng, replicates)
    reps = np.empty((rows, replicates), order="F")  # one column-major block, as pandas keeps it
    for r in range(replicates):
        np.multiply(w, counts[psu, r], out=reps[:, r])
    columns = [f"rep{r + 1}" for r in range(replicates)]

    # raking variables with some association (so raking needs several sweeps)
    a = rng.integers(0, RAKE_LEVELS["a"], size=rows)
    b = (a + rng.integers(0, RAKE_LEVELS["b"], size=rows) * (rng.random(rows) < 0.7)) % (
        RAKE_LEVELS["b"])
    c = (b + rng.integers(0, RAKE_LEVELS["c"], size=rows)) % RAKE_LEVELS["c"]
    codes = {"a": a, "b": b, "c": c}
    for name, k in RAKE_LEVELS.items():
        codes[name][:k] = np.arange(k)  # every level present, whatever --rows
    effect = sum(rng.normal(0.0, 0.1, size=k)[codes[name]] for name, k in RAKE_LEVELS.items())
    solution = w * np.exp(effect)
    margins = {name: {int(level): float(total) for level, total in
                      enumerate(np.bincount(codes[name], weights=solution, minlength=k))}
               for name, k in RAKE_LEVELS.items()}
    extra = pd.DataFrame({"fpc": np.full(rows, float(POPULATION_PSUS)), **codes})
    frame = pd.concat([base.drop(columns="z"), extra,
                       pd.DataFrame(reps, columns=columns, copy=False)], axis=1)
    return BenchData(frame, columns, margins, solution)


# ---------------------------------------------------------------------- nea_covid
def replicate_design(data: BenchData) -> nc.ReplicateDesign:
    return nc.ReplicateDesign(data.frame, weights="w", replicate_weights=data.rep_columns,
                              method="bootstrap")


def taylor_design(data: BenchData, fpc: bool = False) -> nc.SurveyDesign:
    return nc.SurveyDesign(data.frame, weights="w", strata="strat", clusters="psu",
                           fpc="fpc" if fpc else None)


def to_bootstrap(design: nc.SurveyDesign, replicates: int) -> Any:
    return design.to_replicate("bootstrap", replicates=replicates,
                               rng=np.random.default_rng(BOOTSTRAP_SEED))


def nea_tasks(data: BenchData, replicates: int) -> dict[str, Callable[[], Any]]:
    rd = replicate_design(data)
    taylor, taylor_fpc = taylor_design(data), taylor_design(data, fpc=True)
    return {
        "replicate design": lambda: replicate_design(data),
        "mean(y)": lambda: nc.mean(rd, "y"),
        "mean(y, by=d)": lambda: nc.mean(rd, "y", by="d"),
        "bootstrap": lambda: to_bootstrap(taylor, replicates),
        "bootstrap, fpc": lambda: to_bootstrap(taylor_fpc, replicates),
        "rake": lambda: taylor.rake(data.margins),
    }


def first_calls(data: BenchData, replicates: int) -> dict[str, float]:
    """One call of each task on a fresh design (design building not timed)."""
    out = {"replicate design": _time_once(lambda: replicate_design(data))}
    for task, by in (("mean(y)", None), ("mean(y, by=d)", "d")):
        rd = replicate_design(data)
        out[task] = _time_once(lambda rd=rd, by=by: nc.mean(rd, "y", by=by))
        del rd
    for task, fpc in (("bootstrap", False), ("bootstrap, fpc", True)):
        d = taylor_design(data, fpc)
        out[task] = _time_once(lambda d=d: to_bootstrap(d, replicates))
    d = taylor_design(data)
    out["rake"] = _time_once(lambda: d.rake(data.margins))
    return out


def rake_result(design: Any) -> Result:
    return Result(np.asarray(design.weights, dtype=np.float64), np.empty(0))


# ---------------------------------------------------------------------- numpy bound
@dataclass
class NumpyInput:
    """The columns as numpy arrays (extracted once, outside the timings)."""

    w: Arr
    y: Arr
    d: IntArr  # domain codes 0..99
    reps: Arr  # (n, R) column-major: a view of the frame's block
    reps_rows: Arr  # the same, row-major (nea_covid caches this copy on the design)
    indptr: IntArr  # CSC column pointers of a two-entries-per-row indicator
    rake_codes: list[IntArr]
    rake_totals: list[Arr]

    @classmethod
    def from_data(cls, data: BenchData) -> NumpyInput:
        df = data.frame
        reps = df[data.rep_columns].to_numpy(dtype=np.float64)
        n = len(df)
        return cls(
            w=df["w"].to_numpy(dtype=np.float64),
            y=df["y"].to_numpy(dtype=np.float64),
            d=df["d"].to_numpy().astype(np.intp),
            reps=reps,
            reps_rows=np.ascontiguousarray(reps),
            indptr=np.arange(0, 2 * n + 1, 2, dtype=np.intp),
            rake_codes=[df[name].to_numpy().astype(np.intp) for name in RAKE_LEVELS],
            rake_totals=[np.array([data.margins[name][k] for k in range(len(data.margins[name]))])
                         for name in RAKE_LEVELS],
        )


def replicate_result(est: Arr, thetas: Arr, scale: float) -> Result:
    """Estimates and the replicate covariance ``scale * sum_r dev_r dev_r'`` about the
    mean of the replicates; ``thetas`` is (R, cells)."""
    dev = thetas - thetas.mean(axis=0)
    vcov = scale * (dev.T @ dev)
    return Result(np.atleast_1d(est), np.sqrt(np.diag(vcov)), vcov)


def numpy_mean(x: NumpyInput) -> Result:
    n_rep = x.reps.shape[1]
    totals = x.reps.T @ np.column_stack((x.y, np.ones_like(x.y)))  # one product: (R, 2)
    thetas = totals[:, :1] / totals[:, 1:]
    est = (x.w @ x.y) / x.w.sum()
    return replicate_result(np.array([est]), thetas, 1.0 / (n_rep - 1))


def numpy_mean_by(x: NumpyInput) -> Result:
    """Per-domain replicate totals of ``y`` and of the weights from one sparse product:
    a (2K x n) CSC indicator with entries ``y_i`` at (d_i, i) and 1 at (K + d_i, i),
    times the row-major (n x R) replicate weights (CSC reads them row by row, in order)."""
    k, n = N_DOMAINS, x.y.shape[0]
    n_rep = x.reps.shape[1]
    indices = np.empty(2 * n, dtype=np.intp)
    indices[0::2] = x.d
    indices[1::2] = x.d + k
    values = np.empty(2 * n)
    values[0::2] = x.y
    values[1::2] = 1.0
    indicator = sp.csc_matrix((values, indices, x.indptr), shape=(2 * k, n))
    totals = np.asarray(indicator @ x.reps_rows)  # (2K, R)
    thetas = (totals[:k] / totals[k:]).T
    big_w = np.bincount(x.d, weights=x.w, minlength=k)
    est = np.bincount(x.d, weights=x.w * x.y, minlength=k) / big_w
    return replicate_result(est, thetas, 1.0 / (n_rep - 1))


def numpy_mean_by_columns(x: NumpyInput) -> Result:
    """:func:`numpy_mean_by` without the row-major copy: one pair of bincounts per
    replicate, reading the column-major block column by column (reported, not a bound
    for the targets: it is slower than copy + sparse product once the copy is cached)."""
    k, n_rep = N_DOMAINS, x.reps.shape[1]
    thetas = np.empty((n_rep, k))
    for r in range(n_rep):
        col = x.reps[:, r]
        thetas[r] = (np.bincount(x.d, weights=col * x.y, minlength=k)
                     / np.bincount(x.d, weights=col, minlength=k))
    big_w = np.bincount(x.d, weights=x.w, minlength=k)
    est = np.bincount(x.d, weights=x.w * x.y, minlength=k) / big_w
    return replicate_result(est, thetas, 1.0 / (n_rep - 1))


def numpy_rake(x: NumpyInput, tol: float = 1e-10, max_iter: int = 100) -> Result:
    """Iterative proportional fitting by bincount, stopping as nea_covid does: when
    every margin is within ``tol`` times the population size."""
    w = x.w.copy()
    population = float(x.rake_totals[0].sum())
    for _ in range(max_iter):
        for codes, totals in zip(x.rake_codes, x.rake_totals, strict=True):
            sums = np.bincount(codes, weights=w, minlength=totals.shape[0])
            w *= (totals / sums)[codes]
        deviation = max(
            float(np.abs(np.bincount(codes, weights=w, minlength=totals.shape[0]) - totals).max())
            for codes, totals in zip(x.rake_codes, x.rake_totals, strict=True))
        if deviation <= tol * population:
            break
    return Result(w, np.empty(0))


def numpy_tasks(x: NumpyInput) -> dict[str, Callable[[], Any]]:
    return {"mean(y)": lambda: numpy_mean(x), "mean(y, by=d)": lambda: numpy_mean_by(x),
            "rake": lambda: numpy_rake(x)}


# ---------------------------------------------------------------------- bootstrap checks
def bootstrap_structure(design: Any, data: BenchData) -> bool:
    """Every replicate factor (final replicate weight / w, read at one row per PSU) is a
    whole number of draws, and the draws add up to the stratum's PSUs in every
    replicate (R's ``bootweights``)."""
    psu = data.frame["psu"].to_numpy()
    _, first_row = np.unique(psu, return_index=True)
    factors = (design.replicate_weights()[first_row]
               / data.frame["w"].to_numpy()[first_row, None])
    whole = np.allclose(factors, np.round(factors), rtol=0, atol=1e-9)
    stratum = data.frame["strat"].to_numpy()[first_row]
    per_stratum = np.stack([np.bincount(stratum, weights=factors[:, r])
                            for r in range(factors.shape[1])])
    return bool(whole and np.allclose(per_stratum, PSU_PER_STRATUM, rtol=0, atol=1e-9))


# ---------------------------------------------------------------------- svy
def svy_tasks(data: BenchData, replicates: int, rake_iter: int
              ) -> tuple[dict[str, Callable[[], Any]], float]:
    """svy's equivalents, and the cold time of ``Sample()`` + first replicate mean(y)."""
    import polars as pl
    import svy

    reps = pl.from_pandas(data.frame[["w", "y", "d", *data.rep_columns]])
    taylor = pl.from_pandas(data.frame.drop(columns=data.rep_columns))
    # svy's bootstrap coefficient is 1/R; R's and nea_covid's 1/(R - 1)
    rep_design = svy.Design(wgt="w", rep_wgts=svy.BootstrapWgts(
        prefix="rep", n_reps=replicates, scale=1.0 / (replicates - 1)))

    def sample() -> Any:
        return svy.Sample(reps, rep_design)

    start = time.perf_counter()
    sample().estimation.mean("y", method="replication")
    cold = time.perf_counter() - start
    s = sample()
    plain = svy.Sample(taylor, svy.Design(stratum="strat", psu="psu", wgt="w"))
    with_fpc = svy.Sample(taylor, svy.Design(stratum="strat", psu="psu", wgt="w",
                                             pop_size="fpc"))
    return {
        "replicate design": sample,
        "mean(y)": lambda: s.estimation.mean("y", method="replication"),
        "mean(y, by=d)": lambda: s.estimation.mean("y", by="d", method="replication"),
        "bootstrap": lambda: plain.weighting.create_bs_wgts(n_reps=replicates, rstate=1),
        "bootstrap, fpc": lambda: with_fpc.weighting.create_bs_wgts(n_reps=replicates,
                                                                   rstate=1),
        # exactly nea_covid's number of sweeps (tolerance never met, no error)
        "rake": lambda: plain.weighting.rake(controls=data.margins, tol=1e-300,
                                             max_iter=rake_iter, on_nonconvergence="ignore"),
    }, cold


def svy_rake_result(sample: Any) -> Result:
    return Result(sample.data["rk_wgt"].to_numpy().astype(np.float64), np.empty(0))


# ---------------------------------------------------------------------- R
def write_r_data(data: BenchData, x: NumpyInput, rake_iter: int, directory: Path) -> None:
    """Columns as raw little-endian binary: exact doubles and fast for R to read."""
    df = data.frame
    (directory / "n.txt").write_text(f"{len(df)}\n")
    (directory / "r.txt").write_text(f"{len(data.rep_columns)}\n")
    (directory / "rake_iter.txt").write_text(f"{rake_iter}\n")
    for col in ("w", "y", "fpc"):
        df[col].to_numpy("<f8").tofile(directory / f"{col}.f64")
    for col in ("strat", "psu", "d", *RAKE_LEVELS):
        df[col].to_numpy().astype("<i4").tofile(directory / f"{col}.i32")
    for name, totals in zip(RAKE_LEVELS, x.rake_totals, strict=True):
        totals.astype("<f8").tofile(directory / f"{name}_tot.f64")
    x.reps.T.astype("<f8", copy=False).tofile(directory / "reps.f64")  # column-major


def run_r(data: BenchData, x: NumpyInput, rake_iter: int
          ) -> tuple[dict[str, float], dict[str, Result]]:
    """Time the tasks in R's survey (each once); returns seconds and results."""
    with tempfile.TemporaryDirectory(prefix="nea_covid_bench_") as tmp:
        directory = Path(tmp)
        write_r_data(data, x, rake_iter, directory)
        out = directory / "r_results.tsv"
        subprocess.run(["Rscript", str(R_SCRIPT), str(directory), str(out)], check=True)
        lines = out.read_text().splitlines()
        raked = np.fromfile(directory / "rake_w.f64", dtype="<f8")
    times, results = parse_r_results(lines)
    results["rake"] = Result(raked.astype(np.float64), np.empty(0))
    return times, results


# ---------------------------------------------------------------------- report


@dataclass
class Report:
    rows: int
    seed: int
    repeats: int
    replicates: int
    environment: dict[str, Any]
    tasks: list[TaskRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    checks: list[tuple[str, bool]] = field(default_factory=list)
    targets: list[tuple[str, bool]] = field(default_factory=list)


def format_table(report: Report) -> str:
    header = ["task", "nea_covid s", "1st call s", "numpy s", "nea/numpy", "R s", "R/nea",
              "svy s", "svy/nea"]
    body = []
    for t in report.tasks:
        body.append([
            t.task, _fmt(t.nea_s, ".4f"), _fmt(t.first_s, ".4f"), _fmt(t.numpy_s, ".4f"),
            _fmt(t.nea_over_numpy, ".2f"), _fmt(t.r_s, ".2f"),
            _fmt(_ratio(t.r_s, t.nea_s), ".0f"),
            _fmt(t.svy_s, ".4f") + (f" ({t.svy_note})" if t.svy_note else ""),
            _fmt(_ratio(t.svy_s, t.nea_s), ".2f"),
        ])
    return markdown_table(header, body)


def print_report(report: Report) -> None:
    env = report.environment
    print(f"\nnea_covid replicate benchmark: {report.rows:,} rows, {report.replicates} "
          f"replicates, {N_STRATA} strata x {PSU_PER_STRATUM} PSUs, {N_DOMAINS} domains, "
          f"seed {report.seed}; best of {report.repeats} after 1 warm-up (R: each task once)")
    print(f"python {env['python']}, numpy {env['numpy']}, scipy {env['scipy']}, pandas "
          f"{env['pandas']}, {env['cpus']} CPUs, OPENBLAS_CORETYPE={env['OPENBLAS_CORETYPE']}, "
          f"R survey: {env['r'] or 'skipped'}, svy: {env['svy'] or 'skipped'}")
    print(f"nea_covid {env['nea_covid']} from {env['nea_covid_source']}\n")
    print(format_table(report))
    print_checks(report.tasks, report.notes, [*report.targets, *report.checks],
                 no_se=("rake",), heading="; rake: weights")


def evaluate_targets(report: Report) -> None:
    for t in report.tasks:
        ratio = t.nea_over_numpy
        if t.task in RATIO_TASKS and ratio is not None:
            report.targets.append((
                f"{t.task} within {RATIO_TARGET:g}x of the numpy bound ({ratio:.2f}x)",
                ratio <= RATIO_TARGET))
        if t.task in SECONDS_TASKS:
            report.targets.append((
                f"{t.task} < {SECONDS_TARGET:g} s ({t.nea_s:.3f} s; 1st call {t.first_s:.3f} s)",
                t.nea_s < SECONDS_TARGET))
    for t in report.tasks:
        for name, a in (("numpy bound", t.agree_numpy), ("R survey", t.agree_r),
                        ("svy", t.agree_svy)):
            if a is not None:
                report.checks.append((
                    f"{name} agrees with nea_covid on {t.task} to {AGREEMENT_RTOL:g} "
                    f"({a.worst:.1e})", a.worst <= AGREEMENT_RTOL))


def missed(report: Report) -> list[TaskRow]:
    out = []
    for t in report.tasks:
        ratio = t.nea_over_numpy
        if (t.task in RATIO_TASKS and ratio is not None and ratio > RATIO_TARGET) or (
                t.task in SECONDS_TASKS and t.nea_s >= SECONDS_TARGET):
            out.append(t)
    return out


def report_json(report: Report) -> dict[str, Any]:
    out = asdict(report)
    for t, row in zip(report.tasks, out["tasks"], strict=True):
        row["nea_over_numpy"] = t.nea_over_numpy
        row["r_over_nea"] = _ratio(t.r_s, t.nea_s)
        row["svy_over_nea"] = _ratio(t.svy_s, t.nea_s)
    out["targets"] = [{"target": text, "pass": ok}
                      for text, ok in [*report.targets, *report.checks]]
    out["all_pass"] = all(ok for _, ok in [*report.targets, *report.checks])
    return out


# ---------------------------------------------------------------------- main
def best_of_pair(nea_fn: Callable[[], Any], bound_fn: Callable[[], Any] | None,
                 repeats: int) -> tuple[float, float | None]:
    """Best of ``repeats`` after one warm-up; nea_covid and the bound round-robin (the
    bound on one BLAS thread)."""
    best_nea, best_bound = float("inf"), float("inf")
    for i in range(1 + repeats):
        elapsed = _time_once(nea_fn)
        if i:
            best_nea = min(best_nea, elapsed)
        if bound_fn is not None:
            with one_blas_thread():
                elapsed = _time_once(bound_fn)
            if i:
                best_bound = min(best_bound, elapsed)
    return best_nea, (best_bound if bound_fn is not None else None)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=lambda s: int(float(s)), default=1_000_000,
                   help="number of rows (default 1e6; at least 2000)")
    p.add_argument("--replicates", type=int, default=100,
                   help="replicate weights (default 100)")
    p.add_argument("--seed", type=int, default=20240601)
    p.add_argument("--repeats", type=int, default=5, help="timed runs per task (best kept)")
    p.add_argument("--no-r", action="store_true", help="skip R's survey package")
    p.add_argument("--no-svy", action="store_true", help="skip svy")
    p.add_argument("--no-memory", action="store_true",
                   help="accepted for `nox -s bench -- --no-memory` (nothing measured here)")
    p.add_argument("--profile", action="store_true",
                   help="cProfile nea_covid on every task missing its target")
    p.add_argument("--json", type=Path, metavar="PATH", help="also write the results here")
    p.add_argument("--strict", action="store_true", help="exit with status 1 if a target fails")
    args = p.parse_args(argv)
    if args.rows < N_STRATA * PSU_PER_STRATUM:
        p.error(f"--rows must be at least {N_STRATA * PSU_PER_STRATUM}")
    if args.replicates < 2:
        p.error("--replicates must be at least 2")
    return args


def environment(svy_ver: str | None) -> dict[str, Any]:
    """Versions and machine facts for a report."""
    import scipy

    return {
        "python": platform.python_version(), "numpy": np.__version__,
        "scipy": scipy.__version__, "pandas": pd.__version__,
        "nea_covid": getattr(nc, "__version__", "?"), "nea_covid_source": nea_covid_source(),
        "cpus": os.cpu_count(), "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        "r": None, "svy": svy_ver,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    r_reason = "--no-r" if args.no_r else r_available()
    svy_ver = None if args.no_svy else svy_version()

    report = Report(args.rows, args.seed, args.repeats, args.replicates,
                    environment(svy_ver))

    print(f"building {args.rows:,} rows x {args.replicates} replicate weights ...", flush=True)
    data = make_data(args.rows, args.seed, args.replicates)
    print("timing first calls ...", flush=True)
    first = first_calls(data, args.replicates)
    gc.collect()
    nea = nea_tasks(data, args.replicates)
    x = NumpyInput.from_data(data)
    bound = numpy_tasks(x)

    nea_out = {task: nea[task]() for task in TASKS}
    nea_results = {task: nea_result(nea_out[task]) for task in RATIO_TASKS}
    raked = nea_out["rake"]
    nea_results["rake"] = rake_result(raked)
    rake_iter = int(raked.calibration.iterations)

    for task in TASKS:
        print(f"timing {task} ...", flush=True)
        nea_s, numpy_s = best_of_pair(nea[task], bound.get(task), args.repeats)
        row = TaskRow(task, nea_s, numpy_s=numpy_s, first_s=first[task])
        if task in BOUND_TASKS:
            row.agree_numpy = agreement(bound[task](), nea_results[task],
                                        with_vcov=task == "mean(y, by=d)")
        report.tasks.append(row)
    rows = {t.task: t for t in report.tasks}

    for task in ("bootstrap", "bootstrap, fpc"):
        report.checks.append((
            f"{task}: integer draws adding up to {PSU_PER_STRATUM} PSUs per stratum in "
            "every replicate", bootstrap_structure(nea_out[task], data)))
    se = {task: float(nc.mean(nea_out[task], "y").standard_error[0])
          for task in ("bootstrap", "bootstrap, fpc")}
    taylor_se = float(nc.mean(taylor_design(data), "y").standard_error[0])
    taylor_fpc_se = float(nc.mean(taylor_design(data, fpc=True), "y").standard_error[0])
    se_note = (f"SE of mean(y): Taylor {taylor_se:.5f} (fpc {taylor_fpc_se:.5f}); "
               f"nea_covid bootstrap {se['bootstrap']:.5f} (fpc {se['bootstrap, fpc']:.5f})")
    deviation = float(np.max(np.abs(raked.weights - data.raking_solution)
                             / data.raking_solution))
    report.notes.append(
        f"rake: nea_covid took {rake_iter} sweeps; its weights are within {deviation:.1e} "
        "(relative) of the synthetic population's, the exact solution.")
    with one_blas_thread():
        columns_s = best_of(lambda: numpy_mean_by_columns(x), args.repeats)
    columns_agree = agreement(numpy_mean_by_columns(x), nea_results["mean(y, by=d)"],
                              with_vcov=True).worst
    report.notes.append(
        f"mean(y, by=d) without a row-major copy: the bound reading the column-major block "
        f"(one pair of bincounts per replicate) takes {columns_s:.3f} s (agreement "
        f"{columns_agree:.1e}); nea_covid's first call on a new design "
        f"({rows['mean(y, by=d)'].first_s:.3f} s) includes making that copy, which the "
        "design then caches.")
    del nea_out
    gc.collect()

    if svy_ver is not None:
        print("timing svy ...", flush=True)
        svy_fns, cold = svy_tasks(data, args.replicates, rake_iter)
        for task in TASKS:
            rows[task].svy_s = best_of(svy_fns[task], args.repeats)
            if task in RATIO_TASKS:
                rows[task].agree_svy = agreement(svy_result(svy_fns[task]()),
                                                 nea_results[task],
                                                 with_vcov=task == "mean(y, by=d)")
            elif task == "rake":
                rows[task].agree_svy = agreement(svy_rake_result(svy_fns[task]()),
                                                 nea_results[task])
        del svy_fns
        gc.collect()
        rows["replicate design"].svy_note = "lazy"
        report.notes.append(
            "svy builds its design caches lazily: its 'replicate design' row times Sample() "
            f"only; a cold Sample() + first replicate mean(y) takes {cold:.3f} s. svy's "
            "bootstrap is the Rao-Wu rescaling bootstrap and ignores the fpc; it writes "
            f"{args.replicates} final-weight columns of {args.rows:,} rows, where nea_covid "
            "and R keep the factors per PSU. svy rakes with exactly nea_covid's number of "
            "sweeps (tol=1e-300, max_iter=sweeps, on_nonconvergence='ignore').")
    else:
        report.notes.append("svy skipped (" + ("--no-svy" if args.no_svy else "not importable")
                            + ")")

    if r_reason is None:
        print("running R survey (each task once; this takes a few minutes) ...", flush=True)
        try:
            r_times, r_results = run_r(data, x, rake_iter)
        except (OSError, subprocess.CalledProcessError) as err:
            r_reason = f"Rscript failed: {err}"
    if r_reason is None:
        report.environment["r"] = attach_r(rows, r_times, r_results, nea_results)
        se_note += ("; R bootstrap " + f"{r_results['bootstrap'].se[0]:.5f} (fpc "
                    f"{r_results['bootstrap, fpc'].se[0]:.5f}) (random replicates: these "
                    "agree only up to Monte Carlo error, about 7% for 100 replicates)")
        report.notes.append(
            "R: svrepdesign(type='bootstrap', combined.weights=TRUE) on the same replicate "
            "weights, svymean, svyby(covmat=TRUE); as.svrepdesign(type='bootstrap', "
            f"replicates={args.replicates}) (compressed weights); rake() with "
            f"control=list(maxit={rake_iter}, epsilon=0): exactly nea_covid's sweeps.")
    else:
        report.notes.append(f"R survey skipped ({r_reason})")
    report.notes.append(se_note)
    report.notes.append(
        "numpy bound: estimates + SEs only, from pre-extracted arrays and pre-coded domains; "
        "by=d reads a row-major copy of the replicate weights made outside the timing (as "
        "nea_covid caches one on the design: see the 1st call column); timed with BLAS on "
        "one thread.")

    evaluate_targets(report)
    print_report(report)

    if args.profile:
        for t in missed(report):
            print(f"\ncProfile of nea_covid {t.task} ({t.nea_s:.3f} s)")
            print(profile_task(nea[t.task]))

    if args.json is not None:
        args.json.write_text(json.dumps(report_json(report), indent=2, default=str) + "\n")
        print(f"\nwrote {args.json}")
    ok = all(ok for _, ok in [*report.targets, *report.checks])
    return 1 if args.strict and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
