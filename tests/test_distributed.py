"""Designs on Dask DataFrames (issue 7): on a ``dask.distributed.LocalCluster``, every
estimate equals the in-memory one on the same rows, with PSUs and strata spread over
partitions (rows shuffled before partitioning)."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nea_covid as nc

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

RTOL = 1e-10
#: Rows per partition of "few" (one partition per few rows).
FEW = 8
API_COLUMNS = ["stype", "awards", "yr.rnd", "sch.wide", "dnum", "snum", "api00", "api99",
               "enroll", "api.stu", "acs.46", "meals", "pw"]


# ---------------------------------------------------------------------- the cluster
@pytest.fixture(scope="module", autouse=True)
def client() -> Iterator[Any]:
    """Two in-process workers: fast to start, and tasks still go through the
    distributed scheduler. No dashboard; its HTTP server takes a free port (the default
    8787 may be taken by another cluster, which would warn)."""
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None,
        scheduler_kwargs={"dashboard_address": ":0"},
    ) as cluster, distributed.Client(cluster) as running:
        yield running


# ---------------------------------------------------------------------- data
def _shuffle(frame: pd.DataFrame, seed: int = 7) -> pd.DataFrame:
    """Rows in random order (index labels kept): PSUs and strata straddle partitions."""
    return frame.sample(frac=1, random_state=seed)


def _api(kind: str, fpc: list[str]) -> pd.DataFrame:
    frame = nc.datasets.load_api(kind)[API_COLUMNS + fpc]
    return _shuffle(frame.assign(
        stype_cat=pd.Categorical(frame["stype"], categories=["E", "M", "H"]),
        high=frame["api00"] > 700,
        meals_band=frame["meals"] // 25,
    ))


APISTRAT = _api("strat", ["fpc"])
APICLUS1 = _api("clus1", ["fpc"])
APICLUS2 = _api("clus2", ["fpc1", "fpc2"])
NHANES = _shuffle(nc.datasets.load_nhanes())
PANEL = _shuffle(nc.datasets.load_nea_covid()[
    ["panel_id", "wave", "stratum", "weight", "sector", "work_location", "hours_at_home",
     "strongly_lonely", "could_work_more_at_home"]])


def to_dask(frame: pd.DataFrame, parts: int | str, persist: bool = False) -> Any:
    """A Dask DataFrame of ``frame``'s rows in their order (no sorting by index);
    ``persist``: its partitions held by the workers, as after loading data once (every
    estimate then reads the same partition objects: none may be changed)."""
    if parts == "few":
        ddf = dd.from_pandas(frame, chunksize=FEW, sort=False)
    else:
        ddf = dd.from_pandas(frame, npartitions=parts, sort=False)
    return ddf.persist() if persist else ddf


def _lonely_element() -> pd.DataFrame:
    """apistrat with one row left in stratum H."""
    high = APISTRAT.index[APISTRAT["stype"] == "H"]
    return APISTRAT.drop(high[1:])


def _lonely_clustered() -> pd.DataFrame:
    """apistrat, districts as PSUs within school types, one district in stratum H."""
    return APISTRAT.assign(dnum=APISTRAT["dnum"].where(APISTRAT["stype"] != "H", 99999))


def _zero_weights(frame: pd.DataFrame, rows: int = 20) -> pd.DataFrame:
    return frame.assign(pw=frame["pw"].where(np.arange(len(frame)) >= rows, 0.0))


# ---------------------------------------------------------------------- comparisons
def _scale(values: Any) -> float:
    """The largest finite absolute value (0 if none)."""
    values = np.abs(np.asarray(values, dtype=np.float64))
    return float(values[np.isfinite(values)].max(initial=0.0))


def _close(got: Any, want: Any, what: str, atol: float = 0.0) -> None:
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape, what
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=atol, equal_nan=True, err_msg=what)


def _close_se(got: Any, want: Any) -> None:
    """Standard errors; a zero variance (a stratum's share) is zero up to rounding."""
    _close(got.standard_error, want.standard_error, "standard_error",
           atol=1e-14 * _scale(want.estimate))


def assert_same(got: nc.Estimate, want: nc.Estimate) -> None:
    """Everything an Estimate carries, to rounding (sums are added in another order)."""
    assert type(got) is type(want)
    assert (got.statistic, got.by, got.df, got.n_missing) == (
        want.statistic, want.by, want.df, want.n_missing)
    pd.testing.assert_frame_equal(got.cells, want.cells)
    _close(got.estimate, want.estimate, "estimate")
    _close(got.deff, want.deff, "deff")
    _close_se(got, want)
    # covariances across cells can be zero up to rounding
    _close(got.vcov, want.vcov, "vcov", atol=RTOL * _scale(want.vcov))
    np.testing.assert_array_equal(got.n_obs, want.n_obs)
    assert got.n_obs.dtype == want.n_obs.dtype
    np.testing.assert_array_equal(got._n_rows, want._n_rows)
    if want._domain_df is None:
        assert got._domain_df is None
    else:
        _close(got._domain_df, want._domain_df, "_domain_df")
    levels, known = got._by_levels or {}, want._by_levels or {}
    assert {k: list(v) for k, v in levels.items()} == {k: list(v) for k, v in known.items()}
    if want._replicates is None:
        assert got._replicates is None
    else:
        reps, ref = got._replicates, want._replicates
        _close(reps.thetas, ref.thetas, "replicates", atol=RTOL * _scale(ref.thetas))
        _close(reps.rscales, ref.rscales, "rscales")
        assert (reps.scale, reps.mse) == (ref.scale, ref.mse)


Call = tuple[Callable[..., nc.Estimate], tuple[Any, ...], dict[str, Any]]


def check(memory: Any, on_dask: Any, calls: list[Call]) -> None:
    for fn, args, kwargs in calls:
        want = fn(memory, *args, **kwargs)
        got = fn(on_dask, *args, **kwargs)
        assert_same(got, want)


def both(frame: pd.DataFrame, parts: int | str = 7, persist: bool = True, **kwargs: Any
         ) -> tuple[Any, Any]:
    """The in-memory design and the Dask design on the same rows."""
    return (nc.SurveyDesign(frame, **kwargs),
            nc.SurveyDesign(to_dask(frame, parts, persist), **kwargs))


def both_replicate(frame: pd.DataFrame, parts: int | str = 7, **kwargs: Any
                   ) -> tuple[Any, Any]:
    return (nc.ReplicateDesign(frame, **kwargs),
            nc.ReplicateDesign(to_dask(frame, parts, persist=True), **kwargs))


API_CALLS: list[Call] = [
    (nc.mean, (["api00", "api99"],), {}),
    (nc.mean, (["api00", "high"],), {"by": ["stype", "awards"]}),
    (nc.mean, (["acs.46", "api00"],), {"by": "awards", "missing": "omit"}),
    (nc.total, (["api.stu", "api00"],), {"by": "stype_cat"}),
    (nc.total, ("enroll",), {"missing": "omit"}),
    (nc.ratio, ("api.stu", "enroll"), {"by": "awards", "missing": "omit"}),
    (nc.ratio, (["api.stu", "api00"], ["enroll", "api99"]), {"missing": "omit"}),
    (nc.proportion, ("awards",), {"by": "stype"}),
    (nc.proportion, ("stype_cat",), {"by": ["awards", "yr.rnd"]}),
    (nc.proportion, ("high",), {}),
    (nc.proportion, ("meals_band",), {"by": "sch.wide"}),
]
#: A few estimates for the other designs, fewer for the sweeps over partitionings.
SHORT_CALLS: list[Call] = [API_CALLS[i] for i in (1, 5, 8)]
SWEEP_CALLS: list[Call] = [API_CALLS[i] for i in (1, 8)]

DESIGNS: dict[str, tuple[pd.DataFrame, dict[str, Any]]] = {
    "strata+fpc": (APISTRAT, {"weights": "pw", "strata": "stype", "fpc": "fpc"}),
    "strata": (APISTRAT, {"weights": "pw", "strata": "stype"}),
    "unstratified": (APISTRAT, {"weights": "pw"}),
    "weights-from-fpc": (APISTRAT, {"strata": "stype", "fpc": "fpc"}),
    "one-stage": (APICLUS1, {"weights": "pw", "clusters": "dnum", "fpc": "fpc"}),
    "one-stage-no-fpc": (APICLUS1, {"weights": "pw", "clusters": "dnum"}),
    "two-stage": (APICLUS2, {"weights": "pw", "clusters": ["dnum", "snum"],
                             "fpc": ["fpc1", "fpc2"]}),
    "two-stage-weights-from-fpc": (APICLUS2, {"clusters": ["dnum", "snum"],
                                              "fpc": ["fpc1", "fpc2"]}),
    "strata+clusters-nested": (APISTRAT, {"weights": "pw", "strata": "stype",
                                          "clusters": "dnum", "nest": True}),
    "zero-weights-element": (_zero_weights(APISTRAT), {"weights": "pw", "strata": "stype"}),
    "zero-weights-clustered": (_zero_weights(APICLUS1, 40),
                               {"weights": "pw", "clusters": "dnum", "fpc": "fpc"}),
    "zero-weight-psu": (APICLUS1.assign(pw=APICLUS1["pw"].where(APICLUS1["dnum"] != 135, 0.0)),
                        {"weights": "pw", "clusters": "dnum", "fpc": "fpc"}),
}


# ---------------------------------------------------------------------- designs
def test_psus_and_strata_straddle_partitions(client: Any) -> None:
    """The data of the tests: PSUs and strata in several of 7 partitions."""
    for frame, column in ((APICLUS1, "dnum"), (APICLUS2, "dnum"), (APISTRAT, "stype"),
                          (NHANES, "SDMVSTRA"), (PANEL, "panel_id")):
        parts = client.gather(client.compute(to_dask(frame[[column]], 7).to_delayed()))
        seen = [set(part[column]) for part in parts]
        assert len(seen) == 7
        assert seen[0] & seen[1], column


#: Designs that run every estimate of API_CALLS; the others run SHORT_CALLS.
FULL = ("strata+fpc", "two-stage")


@pytest.mark.parametrize("name", list(DESIGNS))
def test_api_designs_give_the_in_memory_estimates(name: str) -> None:
    frame, kwargs = DESIGNS[name]
    memory, on_dask = both(frame, 7, **kwargs)
    assert on_dask.degf == memory.degf
    assert (on_dask.n_rows, on_dask.n_psu) == (memory.n_rows, memory.n_psu)
    check(memory, on_dask, API_CALLS if name in FULL else SHORT_CALLS)


@pytest.mark.parametrize("parts", [1, 3, "few"])
@pytest.mark.parametrize("name", ["strata+fpc", "two-stage"])
def test_any_partitioning_gives_the_same_estimates(name: str, parts: int | str) -> None:
    frame, kwargs = DESIGNS[name]
    memory, on_dask = both(frame, parts, **kwargs)
    if parts == "few":
        assert on_dask.data.npartitions >= len(frame) // FEW
    check(memory, on_dask, SWEEP_CALLS)


def _lonely(clustered: bool) -> tuple[pd.DataFrame, dict[str, Any]]:
    if clustered:
        return _lonely_clustered(), {"clusters": "dnum", "nest": True}
    return _lonely_element(), {}


@pytest.mark.parametrize("rule", ["adjust", "average", "remove", "certainty"])
@pytest.mark.parametrize("clustered", [False, True], ids=["element", "clustered"])
def test_lonely_psu_rules(rule: str, clustered: bool) -> None:
    frame, kwargs = _lonely(clustered)
    kwargs.update(weights="pw", strata="stype", lonely_psu=rule)
    with pytest.warns(nc.LonelyPSUWarning, match=f"lonely_psu='{rule}'") as caught:
        memory = nc.SurveyDesign(frame, **kwargs)
    with pytest.warns(nc.LonelyPSUWarning, match=f"lonely_psu='{rule}'") as seen:
        on_dask = nc.SurveyDesign(to_dask(frame, 3), **kwargs)
    assert [str(w.message) for w in seen] == [str(w.message) for w in caught]
    assert on_dask.degf == memory.degf
    check(memory, on_dask, [(nc.mean, (["api00", "api99"],), {"by": "awards"}),
                            (nc.total, ("enroll",), {"by": "yr.rnd"})])


@pytest.mark.parametrize("clustered", [False, True], ids=["element", "clustered"])
def test_lonely_psu_raise(clustered: bool) -> None:
    frame, kwargs = _lonely(clustered)
    err = assert_same_error(lambda f: nc.SurveyDesign(f, weights="pw", strata="stype", **kwargs),
                            frame)
    assert isinstance(err, nc.LonelyPSUError)


def test_nhanes_nested_ids_and_missing_values() -> None:
    memory, on_dask = both(NHANES, 5, persist=False, weights="WTMEC2YR", strata="SDMVSTRA",
                           clusters="SDMVPSU", nest=True)
    assert on_dask.degf == memory.degf
    check(memory, on_dask, [
        (nc.mean, ("HI_CHOL",), {"by": "race", "missing": "omit"}),
        (nc.total, ("HI_CHOL",), {"missing": "omit"}),
        (nc.proportion, ("race",), {"by": "agecat"}),
        (nc.proportion, ("HI_CHOL",), {"by": ["agecat", "RIAGENDR"], "missing": "omit"}),
    ])


@pytest.fixture(scope="module")
def panel_designs() -> tuple[Any, Any]:
    """The NEA-COVID panel in memory and in 7 partitions (not persisted)."""
    return both(PANEL, 7, persist=False, strata="stratum", clusters="panel_id",
                weights="weight")


def test_nea_covid_panel(panel_designs: tuple[Any, Any]) -> None:
    memory, on_dask = panel_designs
    assert on_dask.degf == memory.degf
    check(memory, on_dask, [
        (nc.mean, ("hours_at_home",), {"by": ["wave", "sector"], "missing": "omit"}),
        (nc.proportion, ("work_location",), {"by": "wave"}),
        (nc.proportion, ("strongly_lonely",), {"by": "sector", "missing": "omit"}),
        (nc.ratio, ("strongly_lonely", "hours_at_home"), {"missing": "omit"}),
    ])


@pytest.mark.parametrize("statistic", [nc.mean, nc.proportion])
def test_empty_cells_warn_in_both_paths(statistic: Any, panel_designs: tuple[Any, Any]
                                        ) -> None:
    memory, on_dask = panel_designs
    with pytest.warns(nc.EmptyDomainWarning, match="wave=2019") as caught:
        want = statistic(memory, "could_work_more_at_home", by="wave", missing="omit")
    with pytest.warns(nc.EmptyDomainWarning, match="wave=2019") as seen:
        got = statistic(on_dask, "could_work_more_at_home", by="wave", missing="omit")
    assert [str(w.message) for w in seen] == [str(w.message) for w in caught]
    assert_same(got, want)
    assert np.isnan(got.estimate[0])


@pytest.mark.parametrize("kwargs", [
    pytest.param({"weights": "pw", "strata": "stype"}, id="element"),
    pytest.param({"weights": "pw", "clusters": "dnum"}, id="clustered"),
])
def test_ratio_with_a_zero_denominator_in_one_cell(kwargs: dict[str, Any]) -> None:
    frame = APISTRAT.assign(base=np.where(APISTRAT["stype"] == "H", 0.0, 1.0))
    memory, on_dask = both(frame, 3, **kwargs)
    with pytest.warns(nc.ZeroDenominatorWarning) as caught:
        want = nc.ratio(memory, "api00", "base", by="stype")
    with pytest.warns(nc.ZeroDenominatorWarning) as seen:
        got = nc.ratio(on_dask, "api00", "base", by="stype")
    assert [(w.category, str(w.message)) for w in seen] == [
        (w.category, str(w.message)) for w in caught]
    assert_same(got, want)


def test_proportions_of_several_variables() -> None:
    """A documented limitation: one variable per call on Dask (in memory, several give
    one covariance across all their levels)."""
    _, on_dask = both(APISTRAT, 3, weights="pw", strata="stype")
    with pytest.raises(nc.DesignError, match="one variable at a time"):
        nc.proportion(on_dask, ["stype", "awards"])


def test_unused_categories_of_categorical_columns() -> None:
    """A category without rows: no cell as a by-column, a zero share as a level."""
    frame = APISTRAT.assign(
        stype_cat=pd.Categorical(APISTRAT["stype"], categories=["E", "M", "H", "X"]))
    memory, on_dask = both(frame, 3, weights="pw", strata="stype")
    check(memory, on_dask, [(nc.mean, ("api00",), {"by": "stype_cat"}),
                            (nc.proportion, ("stype_cat",), {"by": "awards"})])


# ---------------------------------------------------------------------- replicates
def _with_replicates(frame: pd.DataFrame, replicate: Any, factors: bool = False
                     ) -> pd.DataFrame:
    reps = replicate.replicate_weights()
    if factors:
        reps = reps / frame["pw"].to_numpy()[:, None]
    columns = {f"r{i}": reps[:, i] for i in range(reps.shape[1])}
    return frame.assign(**columns)


def _replicate_cases() -> dict[str, tuple[pd.DataFrame, dict[str, Any]]]:
    clus1 = nc.datasets.load_api("clus1")
    jk1 = nc.SurveyDesign(clus1, weights="pw", clusters="dnum", fpc="fpc").to_replicate("JK1")
    strat = nc.datasets.load_api("strat")
    boot = nc.SurveyDesign(strat, weights="pw", strata="stype", fpc="fpc").to_replicate(
        "bootstrap", replicates=20, rng=np.random.default_rng(5))
    keep = [c for c in API_COLUMNS if c in clus1.columns]
    return {
        "JK1": (_shuffle(_with_replicates(clus1[keep], jk1)),
                {"weights": "pw", "replicate_weights": "^r[0-9]+$", "method": "JK1",
                 "scale": jk1.scale, "rscales": jk1.rscales}),
        "bootstrap": (_shuffle(_with_replicates(strat[keep], boot)),
                      {"weights": "pw", "replicate_weights": [f"r{i}" for i in range(20)],
                       "method": "bootstrap", "scale": boot.scale, "rscales": boot.rscales}),
        "factors": (_shuffle(_with_replicates(clus1[keep], jk1, factors=True)),
                    {"weights": "pw", "replicate_weights": "^r[0-9]+$", "method": "JK1",
                     "combined_weights": False, "mse": True}),
    }


REPLICATES = _replicate_cases()


@pytest.mark.parametrize("name", list(REPLICATES))
def test_replicate_designs(name: str) -> None:
    frame, kwargs = REPLICATES[name]
    memory, on_dask = both_replicate(frame, 5, **kwargs)
    assert (on_dask.degf, on_dask.n_replicates) == (memory.degf, memory.n_replicates)
    check(memory, on_dask, [
        (nc.mean, (["api00", "api99"],), {"by": "stype"}),
        (nc.total, ("enroll",), {"by": ["stype", "awards"]}),
        (nc.ratio, ("api.stu", "enroll"), {}),
        (nc.proportion, ("sch.wide",), {"by": "stype"}),
    ])


# ---------------------------------------------------------------------- downstream
def test_compare_contrast_and_extrapolate_on_dask_results(panel_designs: tuple[Any, Any]
                                                          ) -> None:
    memory, on_dask = panel_designs
    want = nc.proportion(memory, "work_location", by="wave")
    got = nc.proportion(on_dask, "work_location", by="wave")
    pairs = [
        (nc.compare(got, "wave"), nc.compare(want, "wave")),
        (nc.compare(got, "wave", base="2020-06", where={"level": [1, 2]}),
         nc.compare(want, "wave", base="2020-06", where={"level": [1, 2]})),
        (nc.contrast(got, [1.0, -1.0] + [0.0] * 14), nc.contrast(want, [1.0, -1.0] + [0.0] * 14)),
        (nc.extrapolate(got, 7_435_000, 20_000), nc.extrapolate(want, 7_435_000, 20_000)),
    ]
    memory, on_dask = both(APISTRAT, 3, weights="pw", strata="stype", fpc="fpc")
    want = nc.mean(memory, "api00", by="stype")
    got = nc.mean(on_dask, "api00", by="stype")
    pairs.append((nc.contrast(got, {"E": 1, "H": -1}), nc.contrast(want, {"E": 1, "H": -1})))
    pairs.append((nc.compare(got, "stype", base="E", ratio=True),
                  nc.compare(want, "stype", base="E", ratio=True)))
    pairs.append((nc.contrast(got, lambda c: c["E"] / c["M"]),
                  nc.contrast(want, lambda c: c["E"] / c["M"])))
    population = {"stype": pd.Series({"E": 4421.0, "M": 1018.0, "H": 755.0})}
    pairs.append((nc.extrapolate(got, population), nc.extrapolate(want, population)))
    # on a replicate design, ratios and nonlinear contrasts use the replicates
    frame, kwargs = REPLICATES["JK1"]
    memory, on_dask = both_replicate(frame, 3, **kwargs)
    want = nc.mean(memory, "api00", by="stype")
    got = nc.mean(on_dask, "api00", by="stype")
    pairs.append((nc.compare(got, "stype", base="E", ratio=True),
                  nc.compare(want, "stype", base="E", ratio=True)))
    pairs.append((nc.extrapolate(got, population), nc.extrapolate(want, population)))
    for a, b in pairs:
        assert type(a) is type(b)
        pd.testing.assert_frame_equal(a.cells, b.cells)
        _close(a.estimate, b.estimate, "estimate")
        _close_se(a, b)
        _close(a.vcov, b.vcov, "vcov", atol=RTOL * _scale(b.vcov))
        assert a.df == b.df
        if isinstance(b, nc.Comparison):
            _close(a.statistic, b.statistic, "statistic", atol=1e-12)
            _close(a.pvalue, b.pvalue, "pvalue", atol=1e-12)
            _close(a.null_value, b.null_value, "null_value")


# ---------------------------------------------------------------------- parquet
def test_parquet_files_with_categorical_and_text_columns(tmp_path: Path) -> None:
    """Text becomes pyarrow strings; categoricals get categories per file (unknown to
    Dask), here different ones: no school of one file has all meals above 75%."""
    meals = "q" + APISTRAT["meals_band"].astype(str)
    frame = APISTRAT.assign(meals_cat=meals.astype("category"),
                            awards_cat=APISTRAT["awards"].astype("category"))
    folder = tmp_path / "apistrat"
    folder.mkdir()
    categories = set()
    for i, rows in enumerate(np.array_split(np.arange(len(frame)), 4)):
        piece = frame.iloc[rows].assign(meals_cat=meals.iloc[rows].astype("category"))
        categories.add(tuple(piece["meals_cat"].cat.categories))
        piece.to_parquet(folder / f"part{i}.parquet", engine="pyarrow")
    assert len(categories) > 1
    on_disk = dd.read_parquet(folder, engine="pyarrow")
    assert on_disk.npartitions == 4
    assert isinstance(on_disk.dtypes["meals_cat"], pd.CategoricalDtype)
    assert on_disk.dtypes["stype"] != frame.dtypes["stype"]  # pyarrow strings
    for kwargs in ({"weights": "pw", "strata": "stype", "clusters": "dnum", "nest": True},
                   {"weights": "pw", "strata": "stype", "fpc": "fpc"}):
        memory = nc.SurveyDesign(frame, **kwargs)
        on_dask = nc.SurveyDesign(on_disk, **kwargs)
        check(memory, on_dask, [
            (nc.mean, ("api00",), {"by": ["meals_cat", "awards"]}),
            (nc.proportion, ("meals_cat",), {"by": "stype"}),
            (nc.total, ("enroll",), {"by": ["awards_cat", "yr.rnd"]}),
        ])


# ---------------------------------------------------------------------- bad input
def _error_of(fn: Callable[[Any], Any], data: Any) -> Exception:
    with pytest.raises(nc.SurveyError) as caught:
        fn(data)
    return caught.value


def assert_same_error(fn: Callable[[Any], Any], frame: pd.DataFrame, parts: int = 5,
                      rows: bool = True) -> Exception:
    """``fn(frame)`` and ``fn(dask frame)`` raise the same error with the same text
    (``rows=False``: apart from the row labels it names, which a Dask design checking
    its table of sampling units or strata cannot give)."""
    want = _error_of(fn, frame)
    got = _error_of(fn, to_dask(frame, parts))
    assert type(got) is type(want)
    if rows:
        assert str(got) == str(want)
    else:
        assert _without_rows(str(got)) == _without_rows(str(want))
    return got


def _without_rows(text: str) -> str:
    return re.sub(r" \(rows? [^)]*\)", "", text)


def _bad_rows(frame: pd.DataFrame, column: str, value: Any, spread: bool = False
              ) -> pd.DataFrame:
    """``value`` in ``column`` in the last 3 rows (the last partition), and with
    ``spread`` also in rows 40 and 100 (other partitions)."""
    out = frame.astype({column: np.float64})
    rows = [40, 100, -3, -2, -1] if spread else [-3, -2, -1]
    out.iloc[rows, out.columns.get_loc(column)] = value
    return out


@pytest.mark.parametrize("spread", [False, True], ids=["late", "spread"])
@pytest.mark.parametrize(("value", "what"), [
    (np.nan, "missing"), (-1.0, "negative"), (np.inf, "infinite")])
def test_bad_weights(value: float, what: str, spread: bool) -> None:
    frame = _bad_rows(APISTRAT, "pw", value, spread)
    for kwargs in ({"strata": "stype"}, {"strata": "stype", "clusters": "dnum", "nest": True}):
        err = assert_same_error(lambda f, kw=kwargs: nc.SurveyDesign(f, weights="pw", **kw),
                                frame)
        assert isinstance(err, nc.WeightError)
        assert f"'pw' has {5 if spread else 3} {what}" in str(err)


def test_missing_strata_and_cluster_values() -> None:
    frame = APISTRAT.astype({"stype": object, "dnum": np.float64})
    frame.iloc[-2:, frame.columns.get_loc("stype")] = None
    frame.iloc[:1, frame.columns.get_loc("dnum")] = np.nan
    frame.iloc[-4:, frame.columns.get_loc("dnum")] = np.nan
    err = assert_same_error(lambda f: nc.SurveyDesign(f, weights="pw", strata="stype"), frame)
    assert isinstance(err, nc.MissingValueError)
    assert "'stype' has 2 missing values" in str(err)
    err = assert_same_error(lambda f: nc.SurveyDesign(f, weights="pw", clusters="dnum"), frame)
    assert "'dnum' has 5 missing values" in str(err)


def _fpc_case(frame: pd.DataFrame, column: str, case: str) -> pd.DataFrame:
    out = frame.astype({column: np.float64})
    last = out.index[-1]
    if case == "nonpositive":
        out.loc[last, column] = 0.0
    elif case == "missing":
        out.loc[last, column] = np.nan
    elif case == "varies":
        out.loc[last, column] += 1
    elif case == "mix":
        out[column] = out[column].where(out["stype"] != "E", 0.5)
    else:  # too small: fewer population units than sampled ones
        out[column] = 2.0
    return out


@pytest.mark.parametrize(("column", "case"), [
    ("fpc", "nonpositive"), ("fpc", "missing"), ("fpc", "mix"), ("fpc", "varies"),
    ("fpc", "too-small"), ("fpc1", "nonpositive"), ("fpc2", "missing"), ("fpc1", "mix"),
    ("fpc1", "varies"), ("fpc1", "too-small"), ("fpc2", "too-small"),
])
def test_bad_fpc(column: str, case: str) -> None:
    """The same error and text; fpc checks per stratum run on the table of strata or
    sampling units, so where in memory the message names data rows, it names none or
    that table's positions (the count is the same)."""
    if column == "fpc":
        frame = _fpc_case(APISTRAT, column, case)
        kwargs: dict[str, Any] = {"weights": "pw", "strata": "stype", "fpc": "fpc"}
    else:
        frame = _fpc_case(APICLUS2, column, case)
        kwargs = {"weights": "pw", "clusters": ["dnum", "snum"], "fpc": ["fpc1", "fpc2"]}
    err = assert_same_error(lambda f: nc.SurveyDesign(f, **kwargs), frame,
                            rows=case not in ("varies", "too-small"))
    assert f"{column!r}" in str(err)


@pytest.mark.parametrize("statistic", [nc.mean, nc.total, nc.proportion])
def test_missing_values_under_missing_raise(statistic: Any) -> None:
    err = assert_same_error(
        lambda f: statistic(nc.SurveyDesign(f, weights="WTMEC2YR", strata="SDMVSTRA",
                                            clusters="SDMVPSU", nest=True), "HI_CHOL"),
        NHANES)
    assert isinstance(err, nc.MissingValueError)
    assert "745" in str(err)


def test_missing_by_values_under_missing_raise() -> None:
    frame = APISTRAT.astype({"awards": object})
    frame.iloc[-3:, frame.columns.get_loc("awards")] = None
    err = assert_same_error(
        lambda f: nc.mean(nc.SurveyDesign(f, weights="pw", strata="stype"), "api00",
                          by="awards"), frame)
    assert isinstance(err, nc.MissingValueError)


def test_infinite_values() -> None:
    frame = _bad_rows(APISTRAT, "api00", np.inf, spread=True)
    for statistic in (nc.mean, nc.total, nc.proportion):
        err = assert_same_error(
            lambda f, s=statistic: s(nc.SurveyDesign(f, weights="pw"), "api00"), frame)
        assert isinstance(err, nc.VariableTypeError)


def test_non_integer_numbers_are_not_categories() -> None:
    frame = APISTRAT.assign(ratio=APISTRAT["api00"] / APISTRAT["api99"])
    err = assert_same_error(
        lambda f: nc.proportion(nc.SurveyDesign(f, weights="pw"), "ratio"), frame)
    assert isinstance(err, nc.VariableTypeError)
    # integer-valued floats are categories
    whole = frame.assign(ratio=np.round(frame["ratio"]))
    check(nc.SurveyDesign(whole, weights="pw"), nc.SurveyDesign(to_dask(whole, 4), weights="pw"),
          [(nc.proportion, ("ratio",), {"by": "stype"})])


@pytest.mark.parametrize("where", ["design", "variable", "by", "replicate"])
def test_unknown_columns(where: str) -> None:
    def fn(f: Any) -> Any:
        if where == "design":
            return nc.SurveyDesign(f, weights="pw", strata="stpye")
        if where == "replicate":
            return nc.ReplicateDesign(f, weights="pw", replicate_weights=["api00", "api0"])
        design = nc.SurveyDesign(f, weights="pw", strata="stype")
        if where == "variable":
            return nc.mean(design, "api000")
        return nc.mean(design, "api00", by="stype_ct")

    err = assert_same_error(fn, APISTRAT)
    assert isinstance(err, nc.ColumnNotFoundError)
    assert "Did you mean" in str(err) or "did you mean" in str(err)


def test_replicate_weights_with_missing_values() -> None:
    frame, kwargs = REPLICATES["JK1"]
    bad = frame.copy()
    bad.iloc[-2:, bad.columns.get_loc("r3")] = np.nan
    err = assert_same_error(lambda f: nc.ReplicateDesign(f, **kwargs), bad)
    assert isinstance(err, nc.MissingValueError)
    assert "'r3'" in str(err)
    bad = frame.copy()
    bad.iloc[[0, -1], bad.columns.get_loc("r5")] = np.inf
    err = assert_same_error(lambda f: nc.ReplicateDesign(f, **kwargs), bad)
    assert isinstance(err, nc.WeightError)
    for value in (np.nan, -2.0):
        bad = frame.copy()
        bad.iloc[-1:, bad.columns.get_loc("pw")] = value
        assert_same_error(lambda f: nc.ReplicateDesign(f, **kwargs), bad)


# ---------------------------------------------------------------------- no side effects
def test_import_does_not_import_dask() -> None:
    code = ("import nea_covid, sys; assert not any(m.split('.')[0] in ('dask', 'distributed') "
            "for m in sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_users_frame_is_not_changed() -> None:
    ddf = to_dask(APICLUS2, 3)
    columns, dtypes = list(ddf.columns), ddf.dtypes.copy()
    before = ddf.compute()
    design = nc.SurveyDesign(ddf, weights="pw", clusters=["dnum", "snum"], fpc=["fpc1", "fpc2"])
    nc.mean(design, "api00", by="stype_cat")
    nc.proportion(design, "awards", by="stype")
    nc.ratio(design, "api.stu", "enroll", missing="omit")
    assert list(ddf.columns) == columns
    pd.testing.assert_series_equal(ddf.dtypes, dtypes)
    pd.testing.assert_frame_equal(ddf.compute(), before)
    pd.testing.assert_frame_equal(before, APICLUS2, check_dtype=False)


# ---------------------------------------------------------------------- property
#: 12 panel members per stratum, all their waves (rows in random order).
SMALL_PANEL = PANEL[PANEL["panel_id"].isin(
    PANEL.drop_duplicates("panel_id").groupby("stratum")["panel_id"].head(12))]


@settings(max_examples=5, deadline=None)
@given(data=st.data(), panel=st.booleans())
def test_random_partitionings_give_the_same_estimates(data: st.DataObject, panel: bool
                                                      ) -> None:
    """Split points anywhere: through PSUs and strata, partitions of one row."""
    if panel:
        frame = SMALL_PANEL.reset_index(drop=True)
        kwargs = {"strata": "stratum", "clusters": "panel_id", "weights": "weight"}
        calls: list[Call] = [(nc.mean, ("hours_at_home",), {"by": "wave", "missing": "omit"}),
                             (nc.proportion, ("work_location",), {"by": "sector"})]
    else:
        frame = APISTRAT.reset_index(drop=True)
        kwargs = {"weights": "pw", "strata": "stype", "fpc": "fpc"}
        calls = [(nc.mean, ("api00",), {"by": "awards"}),
                 (nc.proportion, ("awards",), {"by": "stype_cat"})]
    cuts = data.draw(st.lists(st.integers(1, len(frame) - 2), max_size=8, unique=True))
    divisions = [0, *sorted(cuts), len(frame) - 1]
    ddf = dd.from_pandas(frame, npartitions=1).repartition(divisions=divisions)
    assert ddf.npartitions == len(cuts) + 1
    check(nc.SurveyDesign(frame, **kwargs), nc.SurveyDesign(ddf, **kwargs), calls)


# ---------------------------------------------------------------------- domains, calibration
STYPE_TOTALS = {"E": 4421, "H": 755, "M": 1018}
MARGINS = {"stype": STYPE_TOTALS, "sch.wide": {"No": 1072, "Yes": 5122}}


def test_subset_clustered_and_element() -> None:
    """``subset`` takes a boolean Dask Series of the same frame (or a column name);
    degrees of freedom are recounted over the domain, as in memory."""
    for frame, kwargs in ((APICLUS1, {"weights": "pw", "clusters": "dnum", "fpc": "fpc"}),
                          (APISTRAT, {"weights": "pw", "strata": "stype"})):
        memory, on_dask = both(frame, 3, **kwargs)
        mem_sub = memory.subset(frame["stype"] == "E")
        dask_sub = on_dask.subset(on_dask.data["stype"] == "E")
        assert dask_sub.degf == mem_sub.degf
        check(mem_sub, dask_sub, [(nc.mean, ("api00",), {"by": "sch.wide"}),
                                  (nc.proportion, ("awards",), {})])
    named = on_dask.subset("high")
    assert named.degf == memory.subset(APISTRAT["high"]).degf


def test_subset_mask_must_be_a_boolean_dask_series() -> None:
    _, on_dask = both(APISTRAT, 3, weights="pw", strata="stype")
    with pytest.raises(nc.DesignError, match="boolean Dask Series"):
        on_dask.subset(APISTRAT["stype"] == "E")
    with pytest.raises(nc.DesignError, match="must be boolean"):
        on_dask.subset(on_dask.data["api00"])


def test_poststratify_and_rake_taylor() -> None:
    """Weights per level combination calibrated in memory; the Taylor variance uses
    the same residuals as in memory (raking: R's per-row sweeps)."""
    memory, on_dask = both(APICLUS1, 4, weights="pw", clusters="dnum", fpc="fpc")
    post = (memory.poststratify("stype", STYPE_TOTALS),
            on_dask.poststratify("stype", STYPE_TOTALS))
    raked = memory.rake(MARGINS), on_dask.rake(MARGINS)
    for mem, dsk in (post, raked):
        assert dsk.calibration.method == mem.calibration.method
        assert dsk.calibration.iterations == mem.calibration.iterations
        check(mem, dsk, [(nc.mean, ("api00",), {"by": "awards"}),
                         (nc.total, ("enroll",), {})])
    mem, dsk = raked
    check(mem.subset(APICLUS1["awards"] == "Yes"), dsk.subset(dsk.data["awards"] == "Yes"),
          [(nc.ratio, ("api.stu", "enroll"), {})])


def test_rake_panel_with_varying_weights() -> None:
    """Person weights that vary within PSUs (the panel's): raking residuals still
    average per row."""
    totals = PANEL.groupby("sector")["weight"].sum().mul(1.1).to_dict()
    memory, on_dask = both(PANEL, 5, strata="stratum", clusters="panel_id", weights="weight")
    waves = PANEL.groupby("wave")["weight"].sum()
    margins = {"sector": totals,
               "wave": (waves / waves.sum() * sum(totals.values())).to_dict()}
    check(memory.rake(margins), on_dask.rake(margins),
          [(nc.proportion, ("work_location",), {"by": "wave", "missing": "omit"})])


def test_calibrated_element_taylor_design_is_refused() -> None:
    _, on_dask = both(APISTRAT, 3, weights="pw", strata="stype")
    with pytest.raises(nc.DesignError, match="without clusters"):
        on_dask.poststratify("stype", STYPE_TOTALS)


def test_replicate_subset_poststratify_rake() -> None:
    converted = nc.SurveyDesign(APICLUS1, weights="pw", clusters="dnum",
                                fpc="fpc").to_replicate("JK1")
    frame = APICLUS1.assign(**{f"r{i}": converted.replicate_weights()[:, i]
                               for i in range(converted.n_replicates)})
    memory, on_dask = both_replicate(frame, 4, weights="pw", replicate_weights="^r[0-9]+$",
                                     method="JK1", scale=converted.scale,
                                     rscales=converted.rscales)
    pairs = [(memory.subset(frame["stype"] == "E"), on_dask.subset(on_dask.data["stype"] == "E")),
             (memory.poststratify("stype", STYPE_TOTALS),
              on_dask.poststratify("stype", STYPE_TOTALS)),
             (memory.rake(MARGINS), on_dask.rake(MARGINS))]
    for mem, dsk in pairs:
        assert dsk.degf == mem.degf
        check(mem, dsk, [(nc.mean, ("api00",), {"by": "awards"})])


def test_replicate_factors_raked() -> None:
    boot = nc.SurveyDesign(APICLUS1, weights="pw", clusters="dnum", fpc="fpc").to_replicate(
        "bootstrap", replicates=20, rng=np.random.default_rng(1))
    factors = boot.replicate_weights() / APICLUS1["pw"].to_numpy()[:, None]
    frame = APICLUS1.assign(**{f"f{i}": factors[:, i] for i in range(20)})
    memory, on_dask = both_replicate(frame, 3, weights="pw", replicate_weights="^f[0-9]+$",
                                     method="bootstrap", combined_weights=False)
    check(memory.rake(MARGINS), on_dask.rake(MARGINS),
          [(nc.total, ("enroll",), {"by": "stype"})])


# ---------------------------------------------------------------------- quantiles
def assert_same_quantiles(got: nc.Estimate, want: nc.Estimate) -> None:
    pd.testing.assert_frame_equal(got.cells, want.cells)
    _close(got.estimate, want.estimate, "estimate")
    _close_se(got, want)
    _close(got.vcov, want.vcov, "vcov", atol=RTOL * _scale(want.vcov))
    for method in ("mean", "beta"):
        a, b = got.confidence_interval(method=method), want.confidence_interval(method=method)
        _close(a.low, b.low, "low")
        _close(a.high, b.high, "high")
    np.testing.assert_array_equal(got.n_obs, want.n_obs)


PROBS = [0.0, 0.1, 0.25, 0.5, 0.9, 1.0]


def test_quantiles_are_exact() -> None:
    """R's qrule_math, including ties (integer data), p = 0 and 1, and Woodruff
    intervals, equal the in-memory quantiles."""
    memory, on_dask = both(APISTRAT, 4, weights="pw", strata="stype", fpc="fpc")
    assert_same_quantiles(nc.quantile(on_dask, ["api00", "enroll"], PROBS, by="stype"),
                          nc.quantile(memory, ["api00", "enroll"], PROBS, by="stype"))
    memory, on_dask = both(NHANES, 5, weights="WTMEC2YR", strata="SDMVSTRA",
                           clusters="SDMVPSU", nest=True)
    assert_same_quantiles(
        nc.quantile(on_dask, "HI_CHOL", [0.1, 0.5, 0.9], by="race", missing="omit"),
        nc.quantile(memory, "HI_CHOL", [0.1, 0.5, 0.9], by="race", missing="omit"))


def test_quantiles_narrow_over_several_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    """With few bins and a small row limit the search narrows in many passes, over
    ties and continuous values, and still lands on the in-memory quantile."""
    from nea_covid import distributed as nd

    monkeypatch.setattr(nd, "QUANTILE_BINS", 8)
    monkeypatch.setattr(nd, "QUANTILE_ROWS", 20)
    monkeypatch.setattr(nd, "QUANTILE_PASSES", 12)
    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"s": rng.integers(0, 5, 3000), "w": rng.uniform(1, 5, 3000),
                          "y": rng.lognormal(3, 1, 3000), "d": rng.integers(0, 3, 3000)})
    frame["tied"] = np.round(frame["y"] / 10)
    memory, on_dask = both(frame, 4, weights="w", strata="s")
    assert_same_quantiles(nc.quantile(on_dask, ["y", "tied"], PROBS, by="d"),
                          nc.quantile(memory, ["y", "tied"], PROBS, by="d"))


# ---------------------------------------------------------------------- not on Dask
@pytest.mark.parametrize("call", [
    lambda d: nc.glm(d, "api00 ~ enroll"),
    lambda d: nc.chisq(d, "stype", "awards"),
    lambda d: nc.ttest(d, "api00", "awards"),
    lambda d: nc.proportion(d, "awards").confidence_interval(method="likelihood"),
    lambda d: d.calibrate({"stype": STYPE_TOTALS}),
    lambda d: d.to_replicate("JK1"),
    lambda d: d.weights,
])
def test_row_level_functions_raise_design_error(call: Callable[[Any], Any]) -> None:
    _, on_dask = both(APISTRAT, 3, weights="pw", strata="stype")
    with pytest.raises(nc.DesignError, match="not available for a design on a Dask"):
        call(on_dask)


# ---------------------------------------------------------------------- review findings
def test_quantile_of_an_empty_last_cell() -> None:
    """The last cell without usable rows: NaN with a warning, as in memory."""
    frame = pd.DataFrame({"w": 1.0, "y": [1.0, 2, 3, 4, np.nan, np.nan], "g": list("aaabcc")})
    memory, on_dask = both(frame, 2, weights="w")
    with pytest.warns(nc.EmptyDomainWarning):
        want = nc.quantile(memory, "y", [0.5], by="g", missing="omit")
    with pytest.warns(nc.EmptyDomainWarning) as seen:
        got = nc.quantile(on_dask, "y", [0.5], by="g", missing="omit")
    assert len(seen) == 1
    assert seen[0].filename == __file__  # at the caller's line, not inside nea_covid
    _close(got.estimate, want.estimate, "estimate")


def test_by_column_that_is_a_calibration_variable_keeps_its_categories() -> None:
    frame = APICLUS1.assign(
        stype_cat=pd.Categorical(APICLUS1["stype"], categories=["M", "H", "E"]))
    memory, on_dask = both(frame, 3, weights="pw", clusters="dnum")
    check(memory.poststratify("stype_cat", STYPE_TOTALS),
          on_dask.poststratify("stype_cat", STYPE_TOTALS),
          [(nc.mean, ("api00",), {"by": "stype_cat"})])


@pytest.mark.parametrize("call", [
    lambda d: nc.SurveyDesign(d, weights="pw", strata="__w"),
    lambda d: nc.mean(nc.SurveyDesign(d, weights="pw"), "__y0"),
    lambda d: nc.mean(nc.SurveyDesign(d, weights="pw"), "api00", by="__w"),
], ids=["design", "variable", "by"])
def test_reserved_column_names(call: Callable[[Any], Any]) -> None:
    """Names starting with "__" would collide with the partial sums' own columns."""
    frame = APISTRAT.assign(__w=APISTRAT["stype"], __y0=APISTRAT["api00"])
    with pytest.raises(nc.ArgumentError, match="reserved"):
        call(to_dask(frame, 2))


def test_raking_with_weights_varying_per_row_keeps_aggregates_small() -> None:
    """Raking only: R's per-row raking residuals come from unweighted sums per
    aggregate, so rows of different weights share an aggregate (one per unit and
    cell); raking after post-stratification still keeps them apart, also exactly."""
    from nea_covid import distributed as nd
    from nea_covid import partitions as pt

    rng = np.random.default_rng(11)
    frame = pd.DataFrame({"psu": np.repeat(np.arange(20), 50), "w": rng.uniform(0.5, 4, 1000),
                          "y": rng.normal(50, 10, 1000), "a": rng.choice(list("pq"), 1000),
                          "d": rng.integers(0, 3, 1000)})
    margins = {"a": {"p": 1400, "q": 1500}}
    memory, on_dask = both(frame, 4, weights="w", clusters="psu")
    raked = on_dask.rake(margins)
    check(memory.rake(margins), raked, [(nc.mean, ("y",), {"by": "d"})])
    plan = raked._plan(numerators=["y"], denominators=[], categorical=None, by=["d"])
    _, sums = raked._reduce(pt.cell_sums, lambda parts: nd._add_tables(
        parts, [pt.UNIT, pt.STATUS, "d", "a"]), plan)
    assert len(sums) <= 20 * 3 * 2  # units x cells x levels, not rows
    d_totals = {0: 900.0, 1: 1000.0, 2: 1000.0}
    check(memory.poststratify("d", d_totals).rake(margins),
          on_dask.poststratify("d", d_totals).rake(margins), [(nc.mean, ("y",), {"by": "d"})])
