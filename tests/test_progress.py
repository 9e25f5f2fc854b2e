"""Progress bars: the three switches, results identical with and without a bar, no
bar and no error without tqdm, the bootstrap's blocks, and ``reproduce``'s bar."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import nea_covid as nc
import nea_covid.__main__ as cli
from nea_covid import progress
from nea_covid.errors import SurveyError
from nea_covid.replicates import _bootstrap

STRAT = nc.datasets.load_api("strat")
D = nc.SurveyDesign(STRAT, weights="pw", strata="stype", fpc="fpc")
D_NO_FPC = nc.SurveyDesign(STRAT, weights="pw", strata="stype")
MARGINS = {"stype": {"E": 4421, "H": 755, "M": 1018},
           "sch.wide": {"No": 1072, "Yes": 5122}}


@pytest.fixture(autouse=True)
def automatic(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test starts automatic (no session setting, no environment variable) and
    with bars shown at once (``DELAY = 0``), so that quick work draws them too."""
    monkeypatch.delenv(progress.ENVIRONMENT_VARIABLE, raising=False)
    monkeypatch.setattr(progress, "DELAY", 0)
    with nc.set_progress(None):
        yield


def bootstrap(**kwargs: object) -> nc.ReplicateDesign:
    return D_NO_FPC.to_replicate("bootstrap", replicates=20,  # type: ignore[no-any-return]
                                 rng=np.random.default_rng(1), **kwargs)


# ---------------------------------------------------------------------- switches
def test_switches_and_their_order(monkeypatch: pytest.MonkeyPatch) -> None:
    assert nc.progress_enabled() is True
    monkeypatch.setenv(progress.ENVIRONMENT_VARIABLE, "0")
    assert nc.progress_enabled() is False
    assert nc.progress_enabled(True) is True  # the call wins over the environment
    with nc.set_progress(True):  # ... and so does the session setting
        assert nc.progress_enabled() is True
        assert nc.progress_enabled(False) is False
    assert nc.progress_enabled() is False  # the block restored "automatic"
    for value in ("off", "False", " no ", "0"):
        monkeypatch.setenv(progress.ENVIRONMENT_VARIABLE, value)
        assert nc.progress_enabled() is False
    monkeypatch.setenv(progress.ENVIRONMENT_VARIABLE, "1")
    assert nc.progress_enabled() is True
    nc.set_progress(False)  # without `with`: for the session (the fixture restores it)
    assert nc.progress_enabled() is False


def test_bad_switch_values() -> None:
    with pytest.raises(SurveyError, match="`enabled` must be True, False or None"):
        nc.set_progress("yes")  # type: ignore[arg-type]
    with pytest.raises(SurveyError, match="`progress` must be True, False or None"):
        D.to_replicate("JKn", progress=1)  # type: ignore[arg-type]


def test_bar_goes_to_stderr_by_every_switch(capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    bootstrap()
    captured = capsys.readouterr()
    assert "bootstrap replicates" in captured.err
    assert captured.out == ""
    bootstrap(progress=False)
    assert capsys.readouterr().err == ""
    with nc.set_progress(False):
        bootstrap()
        assert capsys.readouterr().err == ""
        bootstrap(progress=True)
        assert "bootstrap replicates" in capsys.readouterr().err
    monkeypatch.setenv(progress.ENVIRONMENT_VARIABLE, "0")
    bootstrap()
    assert capsys.readouterr().err == ""


def test_quick_work_prints_nothing_with_the_default_delay(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress, "DELAY", 0.5)
    bootstrap()
    D.rake(MARGINS)
    assert capsys.readouterr().err == ""


def test_inert_bar_without_tqdm(capsys: pytest.CaptureFixture[str],
                                monkeypatch: pytest.MonkeyPatch) -> None:
    with_bar = bootstrap()
    capsys.readouterr()
    for name in ("tqdm", "tqdm.std", "tqdm.auto"):
        monkeypatch.setitem(sys.modules, name, None)  # `import tqdm` now fails
    assert progress._tqdm_class() is None
    shown = progress.bar(10, "nothing")
    assert not shown.active
    shown.update()
    shown.describe("still nothing")
    shown.note("nothing")
    shown.close()
    without = bootstrap(progress=True)
    assert capsys.readouterr().err == ""
    np.testing.assert_array_equal(without.replicate_weights(), with_bar.replicate_weights())


# ---------------------------------------------------------------------- the work itself
def test_results_are_identical_with_and_without_bars(capsys: pytest.CaptureFixture[str]) -> None:
    shown = D.to_replicate("bootstrap", replicates=30, rng=np.random.default_rng(3),
                           progress=True)
    hidden = D.to_replicate("bootstrap", replicates=30, rng=np.random.default_rng(3),
                            progress=False)
    np.testing.assert_array_equal(shown.replicate_weights(), hidden.replicate_weights())
    rep = D_NO_FPC.to_replicate("JKn")
    for method, kwargs in (("rake", {}), ("calibrate", {"method": "raking"}),
                           ("calibrate", {"method": "logit", "bounds": (0.5, 2.0)})):
        for design in (D, rep):
            a = getattr(design, method)(MARGINS, progress=True, **kwargs)
            b = getattr(design, method)(MARGINS, progress=False, **kwargs)
            np.testing.assert_array_equal(a.weights, b.weights)
            np.testing.assert_array_equal(nc.mean(a, "api00").standard_error,
                                          nc.mean(b, "api00").standard_error)
    err = capsys.readouterr().err
    for what in ("bootstrap replicates", "raking", "raking the replicates", "calibrating",
                 "calibrating the replicates"):
        assert f"{what}:" in err


def _bootstrap_one_pass(group: np.ndarray, n_h: np.ndarray, replicates: int,
                        rng: np.random.Generator) -> np.ndarray:
    """The draws without fpc in a single pass over all strata (the code before the
    blocks), for comparison."""
    n_units = group.shape[0]
    shuffle = rng.random(size=n_units)
    by_group = np.lexsort((shuffle, group))
    start = np.r_[0, np.cumsum(n_h.astype(np.intp))[:-1]]
    size_row = n_h[group].astype(np.intp)
    draws = np.floor(rng.random((n_units, replicates)) * size_row[by_group][:, None])
    chosen = by_group[(start[group[by_group]][:, None] + draws.astype(np.intp))]
    flat = chosen * replicates + np.arange(replicates)[None, :]
    return np.bincount(flat.ravel(), minlength=n_units * replicates).reshape(
        n_units, replicates).astype(np.float64)


@pytest.mark.parametrize("n_strata", [1, 3, 40, 700])
def test_bootstrap_blocks_draw_the_same_replicates_as_one_pass(n_strata: int) -> None:
    rng = np.random.default_rng(11)
    n = 2_000
    data = pd.DataFrame({"psu": np.arange(n), "stratum": rng.permutation(n) % n_strata,
                         "w": rng.uniform(1, 3, n)})
    design = nc.SurveyDesign(data, clusters="psu", strata="stratum", weights="w")
    stage = design._stages[0]
    blocked, _ = _bootstrap(stage.group, stage.group_size, None, 25,
                            np.random.default_rng(5), progress=False)
    single = _bootstrap_one_pass(stage.group, stage.group_size, 25, np.random.default_rng(5))
    np.testing.assert_array_equal(blocked, single)
    np.testing.assert_array_equal(blocked.sum(axis=0)[:1], [n])  # n draws per replicate


class _Counting(progress.Bar):
    """A bar that records its total and how far it was advanced."""

    def __init__(self, total: float | None) -> None:
        super().__init__()
        self.total, self.count = total, 0.0

    def update(self, n: float = 1) -> None:
        self.count += n


def test_bar_over_bootstrap_counts_every_psu(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both bootstrap variants (with and without fpc) advance over all PSUs."""
    import nea_covid.replicates

    bars: list[_Counting] = []

    def counting(total: float | None, description: str, **kwargs: object) -> _Counting:
        bars.append(_Counting(total))
        return bars[-1]

    monkeypatch.setattr(nea_covid.replicates, "bar", counting)
    for design in (D, D_NO_FPC):
        design.to_replicate("bootstrap", replicates=5, rng=np.random.default_rng(0))
    assert [(b.total, b.count) for b in bars] == [(200, 200), (200, 200)]


# ---------------------------------------------------------------------- reproduce
def _fake_reproduce(out: Path | None = None) -> int:
    cli._progress("first step")
    print("a table")
    cli._progress("second step")
    print("another table")
    return 0


def test_reproduce_bar_in_a_terminal(capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "reproduce", _fake_reproduce)
    monkeypatch.setattr(cli, "_stderr_is_terminal", lambda: True)
    assert cli.main(["reproduce"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "a table\nanother table\n"  # printed above the bar
    assert "reproduce: first step" in captured.err
    assert "2/2" in captured.err
    assert "[reproduce]" not in captured.err
    assert cli._STEPS["bar"] is None


def test_reproduce_lines_without_a_terminal_or_without_bars(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "reproduce", _fake_reproduce)
    monkeypatch.setattr(cli, "_stderr_is_terminal", lambda: False)
    cli.main(["reproduce"])
    assert capsys.readouterr().err.splitlines() == [
        "[reproduce] first step ...", "[reproduce] second step ...", "[reproduce] done ..."]
    monkeypatch.setattr(cli, "_stderr_is_terminal", lambda: True)
    with nc.set_progress(False):
        cli.main(["reproduce"])
    assert capsys.readouterr().err.startswith("[reproduce] first step ...")


def test_reproduce_quiet_means_no_bar_and_no_lines(capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "reproduce", _fake_reproduce)
    monkeypatch.setattr(cli, "_stderr_is_terminal", lambda: True)
    try:
        cli.main(["reproduce", "--quiet"])
    finally:
        cli._QUIET["on"] = False
    captured = capsys.readouterr()
    assert captured.err == ""
    assert captured.out == "a table\nanother table\n"
