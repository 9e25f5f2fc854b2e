"""Numerical edge cases of calibration (nea_covid/calibration.py): variables far from
zero or on large scales, small levels next to large populations, and bad margins that
used to give silent wrong numbers or leak Python errors.

Before the fixes measured here: GREG weights for a variable 1e4 + N(0, 1) were off by
30% without an error (R: "system is computationally singular"), raking / logit / bounded
calibration on it did not converge; a variable on a scale of 1e12 was refused as
"missed" and its calibration residuals were left in the SE of a correlated outcome
(+3e-5); a level of 400 that a replicate lost entirely passed as reached next to a
population of 1e9; Dutch "4.421" counts were read as 4.421."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

import nea_covid as nc
from nea_covid.calibration import Residualizer

CLUS1 = nc.datasets.load_api("clus1")
STYPE = {"E": 4421, "H": 755, "M": 1018}


def _frame(n: int = 60, seed: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"st": np.repeat(["a", "b"], n // 2), "g": rng.choice(["x", "y"], n),
                         "w": rng.uniform(1, 3, n), "e": rng.normal(size=n)})


@pytest.mark.parametrize("offset", [1e4, 1e6])
@pytest.mark.parametrize(("method", "bounds"), [("linear", None), ("linear", (0.2, 3.0)),
                                                ("raking", None), ("logit", (0.2, 3.0))])
def test_greg_on_a_variable_far_from_zero(offset: float, method: str,
                                          bounds: tuple[float, float] | None) -> None:
    # the intercept is in the span, so x = offset + e and e give the same weights
    df = _frame()
    counts = {"x": 80.0, "y": 70.0}
    far = nc.SurveyDesign(df.assign(x=offset + df["e"]), weights="w", strata="st")
    near = nc.SurveyDesign(df, weights="w", strata="st")
    got = far.calibrate({"g": counts, "x": 150 * offset + 12.0}, method=method, bounds=bounds)
    want = near.calibrate({"g": counts, "e": 12.0}, method=method, bounds=bounds)
    # x itself carries eps * offset of rounding: 2e-12 at 1e4, 2e-10 at 1e6 (was 0.3)
    np.testing.assert_allclose(got.weights, want.weights, rtol=1e-12 * offset / 1e2)


def test_linear_greg_matches_exact_arithmetic() -> None:
    df = _frame(n=12, seed=7)
    x = 1e6 + df["e"].to_numpy()
    w = df["w"].to_numpy()
    totals = [Fraction(30), Fraction(14), Fraction(30 * 10**6) + Fraction(3, 2)]
    cols = [[Fraction(1)] * 12, [Fraction(int(g == "y")) for g in df["g"]],
            [Fraction(v) for v in x]]
    wf = [Fraction(v) for v in w]
    t = [[sum(wf[i] * a[i] * b[i] for i in range(12)) for b in cols] for a in cols]
    rhs = [totals[k] - sum(wf[i] * cols[k][i] for i in range(12)) for k in range(3)]
    for k in range(3):  # Gauss-Jordan in fractions
        piv = t[k][k]
        t[k], rhs[k] = [v / piv for v in t[k]], rhs[k] / piv
        for j in range(3):
            if j != k:
                f = t[j][k]
                t[j] = [a - f * b for a, b in zip(t[j], t[k], strict=True)]
                rhs[j] -= f * rhs[k]
    exact = np.array([float(wf[i] * (1 + sum(rhs[k] * cols[k][i] for k in range(3))))
                      for i in range(12)])
    d = nc.SurveyDesign(df.assign(x=x), weights="w", strata="st")
    got = d.calibrate({"g": {"x": 16, "y": 14}, "x": float(totals[2])}).weights
    np.testing.assert_allclose(got, exact, rtol=1e-9)  # was off by a factor 5


def _large_scale() -> tuple[nc.SurveyDesign, nc.SurveyDesign, float]:
    rng = np.random.default_rng(5)
    n = 5000
    df = pd.DataFrame({"st": rng.integers(0, 10, n), "g": rng.choice(["x", "y"], n),
                       "w": rng.uniform(1, 3, n), "e": rng.normal(size=n)})
    df["y"] = 3 * df["e"] + rng.normal(size=n)
    big = nc.SurveyDesign(df.assign(x=1e12 * df["e"]), weights="w", strata="st")
    return big, nc.SurveyDesign(df, weights="w", strata="st"), float(df["w"].sum())


def test_greg_on_a_variable_on_a_large_scale() -> None:
    big, small, size = _large_scale()
    counts = {"x": size / 2, "y": size / 2}
    got = big.calibrate({"g": counts, "x": 0.0})  # was refused: "missed by 131"
    want = small.calibrate({"g": counts, "e": 0.0})
    np.testing.assert_allclose(got.weights, want.weights, rtol=1e-12)
    np.testing.assert_allclose(nc.total(got, "y").standard_error,
                               nc.total(want, "y").standard_error, rtol=1e-12)
    # iterative: R's stopping test |misfit| / (1 + |total|) < tol never holds for a
    # total of 0 made of values of 1e12 ("did not converge", relative misfit 0.0078)
    got = big.calibrate({"g": counts, "x": 0.0}, method="raking")
    want = small.calibrate({"g": counts, "e": 0.0}, method="raking")
    np.testing.assert_allclose(got.weights, want.weights, rtol=1e-10)


def test_greg_residuals_of_a_variable_on_a_large_scale() -> None:
    # lstsq dropped the 1e12 column (singular value below eps * rows of the largest)
    rng = np.random.default_rng(8)
    n = 20_000
    e, w = rng.normal(size=n), rng.uniform(1, 3, n)
    z = (w * (3 * e + rng.normal(size=n)))[:, None]
    g = np.ones(n)

    def residuals(x: np.ndarray) -> np.ndarray:
        return Residualizer("greg", x=x, g=g, old_weights=w).apply(z)

    got = residuals(np.column_stack([np.ones(n), 1e12 * e]))
    want = residuals(np.column_stack([np.ones(n), e]))
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9 * np.abs(want).max())


def _one_psu_level() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    n = 200
    df = pd.DataFrame({"st": np.repeat(["a", "b"], n // 2), "g": rng.choice(["x", "y"], n),
                       "w": rng.uniform(1, 3, n), "v": rng.normal(5e5, 1e5, n)})
    df.loc[0, "g"] = "z"  # one row: the jackknife replicate that drops it loses the level
    return df


@pytest.mark.parametrize("how", ["poststratify", "calibrate", "calibrate with a total"])
def test_a_small_level_a_replicate_lost_is_an_error(how: str) -> None:
    rd = nc.SurveyDesign(_one_psu_level(), weights="w", strata="st").to_replicate("JKn")
    big = {"x": 5e8, "y": 4.9e8, "z": 400.0}
    run = {
        "poststratify": lambda: rd.poststratify("g", big),
        "calibrate": lambda: rd.calibrate({"g": big}),
        # the level of 10 was judged on the scale of the total 5e8
        "calibrate with a total": lambda: rd.calibrate(
            {"g": {"x": 500.0, "y": 490.0, "z": 10.0}, "v": 5e8}),
    }[how]
    with pytest.raises(nc.CalibrationError, match=r"replicates cannot reproduce.*'g'"):
        run()


def test_a_level_without_weight_next_to_a_large_total_is_an_error() -> None:
    df = _one_psu_level()
    df.loc[df["g"] == "z", "w"] = 0.0
    d = nc.SurveyDesign(df, weights="w", strata="st")
    with pytest.raises(nc.CalibrationError, match="missed by 400"):
        d.poststratify("g", {"x": 5e8, "y": 4.9e8, "z": 400.0})


@pytest.mark.parametrize("count", [None, "abc", "4.421", 1j, True])
def test_counts_must_be_numbers(count: object) -> None:
    d = nc.SurveyDesign(CLUS1, weights="pw", clusters="dnum", fpc="fpc")
    with pytest.raises(nc.CalibrationError, match=r"count of level 'E' is not a number"):
        d.poststratify("stype", {**STYPE, "E": count})
    with pytest.raises(nc.DesignError, match="a number"):
        d.calibrate({"stype": STYPE, "api99": True})


@pytest.mark.parametrize("table", [
    pd.Series([4421, 755, 1018, 10], index=["E", "H", "M", "E"]),
    pd.DataFrame({"stype": ["E", "H", "M", "E"], "n": [4421, 755, 1018, 10]}),
])
def test_a_level_listed_twice_is_an_error(table: pd.Series | pd.DataFrame) -> None:
    d = nc.SurveyDesign(CLUS1, weights="pw", clusters="dnum", fpc="fpc")
    with pytest.raises(nc.CalibrationError, match=r"1 level listed more than once: 'E'"):
        d.poststratify("stype", table)  # the last count (10) was used


@pytest.mark.parametrize(("max_iter", "tol"), [(0, 1e-10), ("5", 1e-10), (True, 1e-10),
                                               (10, float("nan")), (10, -1.0), (10, 0.0)])
def test_iteration_arguments(max_iter: object, tol: object) -> None:
    d = nc.SurveyDesign(CLUS1, weights="pw", clusters="dnum", fpc="fpc")
    with pytest.raises(nc.DesignError, match=r"`max_iter`|`tol`"):
        d.rake({"stype": STYPE}, max_iter=max_iter, tol=tol)  # type: ignore[arg-type]
    with pytest.raises(nc.DesignError, match=r"`max_iter`|`tol`"):
        d.calibrate({"stype": STYPE}, method="raking", max_iter=max_iter,  # type: ignore[arg-type]
                    tol=tol)  # type: ignore[arg-type]


def test_shares_next_to_a_count_are_an_error() -> None:
    d = nc.SurveyDesign(CLUS1, weights="pw", clusters="dnum", fpc="fpc")
    shares = {k: v / 6194 for k, v in STYPE.items()}
    with pytest.raises(nc.CalibrationError, match=r"'api99'.*outside the sample's range"):
        d.calibrate({"stype": shares, "api99": 3914069})  # linear gave weights < 0
    with pytest.raises(nc.CalibrationError, match="add up to 0"):
        d.poststratify("stype", {"E": 0, "H": 0, "M": 0})


def test_bounds_after_rescaling_warn() -> None:
    # R's grake multiplies the weights by the mean ratio when every total is over
    # 20 times the sample's; bounds then no longer bound w_new / w (R warns too)
    df = CLUS1.assign(pw=1.0)
    d = nc.SurveyDesign(df, weights="pw", clusters="dnum", fpc="fpc")
    with pytest.warns(nc.SurveyWarning, match="apply to the factors after that rescaling"):
        c = d.calibrate({"stype": STYPE}, method="logit", bounds=(0.5, 2.0))
    assert float(c.weights.max()) > 2.0
    d.calibrate({"stype": STYPE}, method="raking")  # unbounded: nothing to say


def test_raking_calibration_of_a_replicate_that_loses_a_level() -> None:
    rng = np.random.default_rng(1)
    n = 200
    frame = pd.DataFrame({"st": np.repeat(["a", "b"], n // 2), "g": rng.choice(["x", "y"], n),
                          "h": rng.choice(["p", "q"], n), "w": rng.uniform(1, 3, n)})
    frame.loc[0, "g"] = "z"  # one row: the jackknife replicate that drops it has no "z"
    rd = nc.SurveyDesign(frame, weights="w", strata="st").to_replicate("JKn")
    half = (5e8 + 4.9e8 + 400) / 2
    margins = {"g": {"x": 5e8, "y": 4.9e8, "z": 400.0}, "h": {"p": half, "q": half}}
    with pytest.raises(nc.CalibrationError, match="no sample weight"):
        rd.calibrate(margins, method="raking")
