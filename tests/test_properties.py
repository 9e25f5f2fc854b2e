"""Invariants of design-based estimators, checked on random designs (hypothesis)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

import nea_covid as nc

RTOL = 1e-9


@st.composite
def surveys(draw: st.DrawFn) -> pd.DataFrame:
    """A stratified cluster sample: 1-4 strata, 2-4 PSUs each, 1-5 rows per PSU."""
    rows = []
    n_strata = draw(st.integers(1, 4))
    psu_id = 0
    for h in range(n_strata):
        for _ in range(draw(st.integers(2, 4))):
            psu_id += 1
            for _ in range(draw(st.integers(1, 5))):
                rows.append((h, psu_id))
    n = len(rows)
    floats = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)
    df = pd.DataFrame(rows, columns=["h", "psu"])
    df["w"] = draw(st.lists(st.floats(0.5, 100), min_size=n, max_size=n))
    df["y"] = draw(st.lists(floats, min_size=n, max_size=n))
    df["x"] = draw(st.lists(st.floats(1, 100), min_size=n, max_size=n))
    df["z"] = draw(st.lists(st.sampled_from(["a", "b", "c"]), min_size=n, max_size=n))
    df["g"] = draw(st.lists(st.sampled_from([1, 2]), min_size=n, max_size=n))
    return df


def make(df: pd.DataFrame, weights: str = "w") -> nc.SurveyDesign:
    return nc.SurveyDesign(df, weights=weights, strata="h", clusters="psu")


def quiet(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nc.SurveyWarning)
        return fn(*args, **kwargs)


def assert_same(a: nc.Estimate, b: nc.Estimate, factor: float = 1.0) -> None:
    scale = max(float(np.nanmax(np.abs(a.estimate), initial=0)), 1.0)
    np.testing.assert_allclose(b.estimate, factor * a.estimate, rtol=RTOL,
                               atol=RTOL * scale * factor)
    np.testing.assert_allclose(b.standard_error, factor * a.standard_error, rtol=1e-7,
                               atol=1e-9 * scale * factor)


@given(surveys(), st.floats(0.01, 1000))
def test_scaling_weights(df: pd.DataFrame, c: float) -> None:
    d, dc = make(df), make(df.assign(w=df["w"] * c))
    for fn in (nc.mean, nc.proportion):
        assert_same(quiet(fn, d, "y" if fn is nc.mean else "z", by="g"),
                    quiet(fn, dc, "y" if fn is nc.mean else "z", by="g"))
    assert_same(quiet(nc.ratio, d, "y", "x"), quiet(nc.ratio, dc, "y", "x"))
    assert_same(quiet(nc.total, d, "y", by="g"), quiet(nc.total, dc, "y", by="g"), factor=c)


@given(surveys(), st.randoms(use_true_random=False))
def test_row_order_does_not_matter(df: pd.DataFrame, rnd) -> None:  # type: ignore[no-untyped-def]
    order = list(range(len(df)))
    rnd.shuffle(order)
    shuffled = df.iloc[order]
    for fn, var in ((nc.mean, "y"), (nc.total, "y"), (nc.proportion, "z")):
        a, b = quiet(fn, make(df), var, by="g"), quiet(fn, make(shuffled), var, by="g")
        assert_same(a, b)
    qa = quiet(nc.quantile, make(df), "y", [0.25, 0.5])
    qb = quiet(nc.quantile, make(shuffled), "y", [0.25, 0.5])
    np.testing.assert_array_equal(qa.estimate, qb.estimate)


@given(surveys(), st.data())
def test_splitting_a_row_within_its_psu(df: pd.DataFrame, data: st.DataObject) -> None:
    i = data.draw(st.integers(0, len(df) - 1))
    k = data.draw(st.integers(2, 4))
    row = df.iloc[[i] * k].assign(w=df["w"].iloc[i] / k)
    split = pd.concat([df.drop(index=df.index[i]), row], ignore_index=True)
    for fn, var in ((nc.mean, "y"), (nc.total, "y"), (nc.proportion, "z")):
        assert_same(quiet(fn, make(df), var, by="g"), quiet(fn, make(split), var, by="g"))
    assert_same(quiet(nc.ratio, make(df), "y", "x"), quiet(nc.ratio, make(split), "y", "x"))


@given(surveys())
def test_proportions_sum_to_one_and_intervals_stay_inside(df: pd.DataFrame) -> None:
    est = quiet(nc.proportion, make(df), "z", by="g")
    frame = est.to_frame()
    sums = frame.groupby("g")["estimate"].sum()
    np.testing.assert_allclose(sums, 1.0, rtol=1e-12)
    for method in ("logit", "beta"):
        ci = est.confidence_interval(method=method)
        ok = ~np.isnan(ci.low)
        assert np.all(ci.low[ok] >= 0)
        assert np.all(ci.high[ok] <= 1)
        assert np.all(ci.low[ok] <= est.estimate[ok] + 1e-12)


@given(surveys())
def test_domain_mean_is_ratio_of_domain_total_to_domain_size(df: pd.DataFrame) -> None:
    d = make(df.assign(yg=df["y"] * (df["g"] == 1), in_g=(df["g"] == 1).astype(float)))
    by_domain = quiet(nc.mean, d, "y", by="g")
    first = by_domain.cells["g"] == 1
    if not first.any():
        return
    as_ratio = quiet(nc.ratio, d, "yg", "in_g")
    subset = quiet(nc.mean, d.subset(df["g"] == 1), "y")
    np.testing.assert_allclose(as_ratio.estimate, by_domain.estimate[first], rtol=1e-9,
                               atol=1e-9)
    np.testing.assert_allclose(subset.estimate, by_domain.estimate[first], rtol=1e-12)
    np.testing.assert_allclose(as_ratio.standard_error, by_domain.standard_error[first],
                               rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(subset.standard_error, by_domain.standard_error[first],
                               rtol=1e-9, atol=1e-12)


@given(surveys(), st.floats(0.01, 1000), st.sampled_from(["JKn", "bootstrap", "SDR"]))
def test_replicate_designs_scale_and_permute(df: pd.DataFrame, c: float, method: str) -> None:
    def convert(data: pd.DataFrame) -> nc.ReplicateDesign:
        rng = np.random.default_rng(0)
        return quiet(make(data).to_replicate, method, replicates=20, rng=rng)

    rd = convert(df)
    scaled = convert(df.assign(w=df["w"] * c))
    assert_same(quiet(nc.mean, rd, "y", by="g"), quiet(nc.mean, scaled, "y", by="g"))
    assert_same(quiet(nc.total, rd, "y"), quiet(nc.total, scaled, "y"), factor=c)
    if method == "JKn":  # deterministic: row order cannot matter
        shuffled = convert(df.iloc[::-1])
        assert_same(quiet(nc.proportion, rd, "z"), quiet(nc.proportion, shuffled, "z"))
