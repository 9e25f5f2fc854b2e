"""Definition harmonisation: crosswalks, populations, registry, estimates that record
their definition (nea_covid.harmonisation)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nea_covid as nc
import nea_covid.harmonisation as h
from nea_covid.harmonisation import (
    DEFINITIONS,
    SOURCE_VARIABLES,
    Concept,
    CrosswalkRow,
    Definition,
    HarmonisedEstimate,
    Population,
    Registry,
)

CONCEPT = Concept("works_at_home", "works at home")


def simple(rows: list[CrosswalkRow], **kwargs: object) -> Definition:
    spec: dict[str, object] = {
        "name": "t", "version": "1", "concept": CONCEPT, "source": "s", "variable": "y",
        "categories": ("yes", "no"), "crosswalk": rows, "population": Population("all"),
        "question": "q", "reference_period": "p"}
    spec.update(kwargs)
    return Definition(**spec)  # type: ignore[arg-type]


def tno_frame() -> pd.DataFrame:
    """W2-like: codes 1-4 of work_location, reasons for those not fully at home."""
    return pd.DataFrame({
        "work_location": [1, 1, 2, 3, 3, 3, 4, 1],
        "could_work_more_at_home": [np.nan, np.nan, 1, 1, 2, 3, np.nan, np.nan],
        "employment_status": [1, 1, 1, 1, 1, 1, 3, 1],
        "age_2019": [30, 40, 50, 60, 20, 35, 45, 74],
        "w": [1.0, 2.0, 1.0, 1.0, 1.0, 3.0, 2.0, 1.0],
    }, index=list("abcdefgh"))


def rivm_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "employment_status": [1, 2, 3, 1, 2, 1],
        "age": [15, 30, 40, 70, 50, 25],
        "can_work_from_home": [1, 2, np.nan, 3, 1, 3],
        "wfh_as_much_as_possible": [1, 1, 2, 2, 8, 1],
    })


# ---------------------------------------------------------------- shipped definitions
def test_tno_works_at_home_excludes_no_work_and_records_population() -> None:
    d = h.get_definition("tno_works_at_home")
    out = d.apply(tno_frame())
    assert out["works_at_home"].tolist()[:6] == ["yes", "yes", "yes", "no", "no", "no"]
    assert out["works_at_home_base"].tolist() == [True] * 6 + [False, True]
    assert out.loc["g", "works_at_home_missing"] == "out_of_population"  # without work
    assert d.population.without_work_in_base is False
    assert d.summary()["age"] == "15-74"


def test_no_work_code_is_inapplicable_even_when_status_says_employee() -> None:
    df = tno_frame().assign(employment_status=1)
    out = h.get_definition("tno_works_at_home").apply(df)
    assert out.loc["g", "works_at_home_missing"] == "inapplicable"
    assert not out.loc["g", "works_at_home_base"]


def test_tno_can_work_at_home_routes_on_location_workers() -> None:
    out = h.harmonise(tno_frame(), h.get_definition("tno_can_work_at_home"))
    # at home (1, 1, 2) -> yes; on location asked further: 1, 2 -> yes, 3 -> no
    assert out["can_work_at_home"].tolist()[:6] == ["yes"] * 5 + ["no"]


def test_routed_question_without_answer_is_no_answer() -> None:
    df = tno_frame()
    df.loc["d", "could_work_more_at_home"] = np.nan
    out = h.get_definition("tno_can_work_at_home").apply(df)
    assert out.loc["d", "can_work_at_home_missing"] == "no_answer"
    assert out.loc["d", "can_work_at_home_base"]  # in the base, item missing


def test_conditional_base() -> None:
    out = h.get_definition("tno_could_work_more_at_home").apply(tno_frame())
    assert out["could_work_more_at_home_reason_base"].tolist() == [
        False, False, True, True, True, True, False, False]


def test_rivm_population_and_both_bases() -> None:
    all_workers = h.get_definition("rivm_wfh_as_much_as_possible").apply(rivm_frame())
    base = all_workers["works_at_home_as_much_as_possible_base"].tolist()
    assert base == [False, True, False, True, True, True]  # 15-year-old, without work out
    assert all_workers.loc[4, "works_at_home_as_much_as_possible_missing"] == "dont_know"
    if_can = h.get_definition("rivm_wfh_as_much_as_possible_if_can").apply(rivm_frame())
    assert if_can["works_at_home_as_much_as_possible_base"].tolist() == [
        False, True, False, False, True, False]
    for name in ("rivm_wfh_as_much_as_possible", "rivm_wfh_as_much_as_possible_if_can"):
        assert DEFINITIONS.get(name).population.base  # explicit, documented


def test_shipped_definitions_use_documented_variables_and_labels() -> None:
    for d in DEFINITIONS:
        for name in d.required_columns:
            assert name in SOURCE_VARIABLES, (d.id, name)
        for row in d.crosswalk:
            codes = SOURCE_VARIABLES[row.variable].codes
            assert codes is not None
            assert codes[row.code] == row.label, (d.id, row)
        # every documented code of the definition's variables is in its crosswalk
        for name in d.source_variables:
            mine = {r.code for r in d.crosswalk if r.variable == name}
            assert mine == set(SOURCE_VARIABLES[name].codes or {}), (d.id, name)


def test_registry_tables() -> None:
    table = DEFINITIONS.to_frame()
    assert len(table) == len(DEFINITIONS) >= 7
    assert {"population", "age", "without_work_in_base", "base", "question",
            "reference_period"} <= set(table.columns)
    crosswalk = DEFINITIONS.crosswalk()
    assert len(crosswalk) == sum(len(d.crosswalk) for d in DEFINITIONS)
    assert list(crosswalk.columns[:6]) == ["definition", "version", "source", "variable",
                                           "code", "label"]


# ---------------------------------------------------------------- errors
def test_code_mapped_twice_is_an_error_at_definition_time() -> None:
    with pytest.raises(nc.HarmonisationError, match="maps code 1 of 'q' twice"):
        simple([CrosswalkRow("q", 1, "a", category="yes"),
                CrosswalkRow("q", 1.0, "b", category="no")])  # type: ignore[arg-type]


@pytest.mark.parametrize(("rows", "match"), [
    ([CrosswalkRow("q", 1, "a")], "exactly one of"),
    ([CrosswalkRow("q", 1, "a", category="yes", missing="dont_know")], "exactly one of"),
    ([CrosswalkRow("q", 1, "a", category="maybe")], "not one of the categories"),
    ([CrosswalkRow("q", 1, "a", missing="whatever")], "missing class"),
    ([CrosswalkRow("q", 1, "a", then="r")], "routes to 'r'"),
    ([CrosswalkRow("q", 1, "a", category="yes"), CrosswalkRow("r", 1, "a", category="no")],
     "no code routes to"),
    ([CrosswalkRow("y", 1, "a", category="yes")], "name of a source variable"),
])
def test_inconsistent_definitions(rows: list[CrosswalkRow], match: str) -> None:
    with pytest.raises(nc.HarmonisationError, match=match):
        simple(rows)


def test_duplicate_name_and_version_in_registry() -> None:
    d = simple([CrosswalkRow("q", 1, "a", category="yes")])
    reg = Registry([d])
    with pytest.raises(nc.HarmonisationError, match="already registered"):
        reg.register(simple([CrosswalkRow("q", 2, "b", category="no")]))
    newer = reg.register(simple([CrosswalkRow("q", 2, "b", category="no")], version="10"))
    reg.register(simple([CrosswalkRow("q", 2, "b", category="no")], version="2"))
    assert reg.versions("t") == ["1", "2", "10"]
    assert reg.get("t") is newer
    assert reg.get("t", "1") is d
    with pytest.raises(nc.HarmonisationError, match="no version '3'"):
        reg.get("t", "3")
    with pytest.raises(nc.HarmonisationError, match="No definition named 'tt'"):
        reg.get("tt")


def test_unknown_codes_are_named_and_counted() -> None:
    df = tno_frame()
    df.loc[["a", "b"], "work_location"] = 7
    df.loc["c", "work_location"] = 9
    d = h.get_definition("tno_works_at_home")
    with pytest.raises(nc.HarmonisationError,
                       match=r"'work_location'.*7 \(2 rows\), 9 \(1 row\)"):
        d.apply(df)
    out = d.apply(df, unknown="missing")
    assert out["works_at_home_missing"].value_counts()["unknown_code"] == 3
    assert out.loc[["a", "b", "c"], "works_at_home_base"].all()


def test_unknown_codes_outside_the_population_are_ignored() -> None:
    df = tno_frame()
    df.loc["g", "work_location"] = 99  # without work: not in the population
    out = h.get_definition("tno_works_at_home").apply(df)
    assert out.loc["g", "works_at_home_missing"] == "out_of_population"


def test_missing_columns_are_named() -> None:
    df = tno_frame().drop(columns=["could_work_more_at_home", "age_2019"])
    with pytest.raises(nc.HarmonisationError,
                       match=r"needs column\(s\) \['could_work_more_at_home', 'age_2019'\]"):
        h.get_definition("tno_can_work_at_home").apply(df)


def test_missing_population_values_are_an_error() -> None:
    df = tno_frame()
    df.loc["a", "age_2019"] = np.nan
    with pytest.raises(nc.HarmonisationError, match="'age_2019' is missing in 1 row"):
        h.get_definition("tno_works_at_home").apply(df)


def test_existing_output_columns_are_not_overwritten() -> None:
    d = h.get_definition("tno_works_at_home")
    once = d.apply(tno_frame())
    with pytest.raises(nc.HarmonisationError, match="already has column"):
        d.apply(once)


def test_codes_as_floats_nullable_text_and_categories() -> None:
    d = h.get_definition("tno_works_at_home")
    expected = d.apply(tno_frame())["works_at_home"]
    for cast in ("float64", "Int64", "category"):
        df = tno_frame().assign(work_location=tno_frame()["work_location"].astype(cast))
        pd.testing.assert_series_equal(d.apply(df)["works_at_home"], expected)
    with pytest.raises(nc.HarmonisationError, match="does not know"):
        d.apply(tno_frame().assign(work_location=lambda f: f["work_location"].astype(str)))


# ---------------------------------------------------------------- estimates
def test_harmonised_proportion_matches_proportion_on_the_base() -> None:
    df = tno_frame()
    d = nc.SurveyDesign(df, weights="w")
    definition = h.get_definition("tno_works_at_home")
    est = h.harmonised_proportion(d, definition)
    out = definition.apply(df)
    ref = nc.proportion(nc.SurveyDesign(out, weights="w").subset(out["works_at_home_base"]),
                        "works_at_home")
    np.testing.assert_allclose(est.estimate, ref.estimate, rtol=1e-12)
    np.testing.assert_allclose(est.vcov, ref.vcov, rtol=1e-12)
    assert isinstance(est, nc.Estimate)
    assert isinstance(est, HarmonisedEstimate)
    assert est.definition is definition
    assert est.definition_id == "tno_works_at_home v1"
    frame = est.to_frame()
    assert (frame["definition"] == "tno_works_at_home v1").all()
    assert list(frame.columns[:-1]) == list(ref.to_frame().columns)
    assert est.to_xarray().attrs["definition"] == "tno_works_at_home v1"
    assert "Definition: tno_works_at_home v1" in repr(est)
    assert "tno_works_at_home v1" in est._repr_html_()
    assert est.confidence_interval(method="logit").low.shape == (2,)
    assert "works_at_home" not in d.data.columns  # the design is untouched


def test_harmonised_proportion_item_missing_and_domains() -> None:
    df = rivm_frame().assign(w=1.0, region=["a", "a", "b", "b", "a", "b"])
    d = nc.SurveyDesign(df, weights="w")
    definition = h.get_definition("rivm_wfh_as_much_as_possible")
    with pytest.raises(nc.MissingValueError):
        h.harmonised_proportion(d, definition)
    est = h.harmonised_proportion(d, definition, missing="omit", by="region")
    assert est.n_missing == 1
    assert est.by == ("region",)
    assert est.to_frame()["definition"].unique().tolist() == [definition.id]


def test_with_definition_on_any_estimate() -> None:
    d = nc.SurveyDesign(tno_frame(), weights="w")
    est = h.with_definition(nc.mean(d, "age_2019"), h.get_definition("tno_works_at_home"))
    assert est.statistic == "mean"
    assert est.definition_id == "tno_works_at_home v1"
    assert type(est.as_estimate()) is nc.Estimate


# ---------------------------------------------------------------- properties
CODES = st.one_of(st.integers(-3, 12), st.sampled_from(["a", "b", "x"]))


@st.composite
def definitions(draw: st.DrawFn) -> Definition:
    categories = tuple(draw(st.lists(st.sampled_from(["p", "q", "r", "s"]), min_size=1,
                                     max_size=4, unique=True)))
    codes = draw(st.lists(CODES, min_size=1, max_size=8, unique=True))
    targets = st.one_of(st.sampled_from([("category", c) for c in categories]),
                        st.sampled_from([("missing", m) for m in h.MISSING_CLASSES[:4]]))
    rows = []
    for code in codes:
        kind, value = draw(targets)
        rows.append(CrosswalkRow("q", code, f"label {code}", **{kind: value}))
    return simple(rows, categories=categories)


@given(definitions(), st.data())
def test_apply_keeps_rows_and_maps_every_code_once(definition: Definition,
                                                   data: st.DataObject) -> None:
    known = [r.code for r in definition.crosswalk]
    values = data.draw(st.lists(st.one_of(st.sampled_from(known), st.none()), max_size=30))
    df = pd.DataFrame({"q": pd.Series(values, dtype=object)})
    df.index = pd.Index(np.arange(len(values))[::-1] * 3)  # not 0..n-1
    before = df.copy()
    out = definition.apply(df)
    pd.testing.assert_frame_equal(df, before)  # never mutates
    assert out.shape[0] == df.shape[0]
    assert out.index.equals(df.index)
    lookup = {r.code: r for r in definition.crosswalk}
    value = out[definition.variable]
    missing = out[definition.missing_column]
    assert (value.isna() != missing.isna()).all()  # a category xor a missing class
    for i, code in enumerate(values):
        got_value, got_missing = value.iloc[i], missing.iloc[i]
        if code is None:
            assert got_missing == "no_answer"
            continue
        row = lookup[code]
        if row.category is not None:
            assert got_value == row.category
        else:
            assert got_missing == row.missing
        assert out[definition.base_column].iloc[i] == (row.missing != "inapplicable")


@given(definitions())
def test_crosswalk_round_trips(definition: Definition) -> None:
    frame = definition.to_frame()
    assert len(frame) == len(definition.crosswalk)
    assert not frame.duplicated(["variable", "code"]).any()
    # each code has exactly one target: a harmonised code or a missing class
    assert (frame["harmonised_label"].notna() ^ frame["missing"].notna()).all()
    for category in definition.categories:
        back = definition.source_codes(category)
        expected = {r.code for r in definition.crosswalk if r.category == category}
        assert set(back["code"]) == expected
        # and those codes harmonise to the category again
        if expected:
            df = pd.DataFrame({"q": pd.Series(sorted(expected, key=str), dtype=object)})
            assert (definition.apply(df)[definition.variable] == category).all()
    codes = frame.dropna(subset=["harmonised_label"])
    position = {c: i + 1 for i, c in enumerate(definition.categories)}
    assert (codes["harmonised_code"] == codes["harmonised_label"].map(position)).all()


@given(st.lists(st.sampled_from([1, 2, 3, 4, None]), max_size=40),
       st.lists(st.sampled_from([1, 2, 3, None]), min_size=40, max_size=40))
def test_shipped_tno_definitions_never_change_rows(locations: list[int | None],
                                                   reasons: list[int | None]) -> None:
    n = len(locations)
    df = pd.DataFrame({"work_location": pd.array(locations, dtype="Int64"),
                       "could_work_more_at_home": pd.array(reasons[:n], dtype="Int64"),
                       "employment_status": 1, "age_2019": 40})
    for name in ("tno_works_at_home", "tno_works_at_home_extent", "tno_can_work_at_home"):
        out = h.get_definition(name).apply(df)
        assert out.shape == (n, df.shape[1] + 3)


def test_read_crosswalk_round_trip() -> None:
    frame = DEFINITIONS.crosswalk().rename(columns={"harmonised_label": "harmonised"})
    rows = h.read_crosswalk(frame)  # NaN cells are absent values
    for d in DEFINITIONS:
        assert rows[(d.name, d.version)] == d.crosswalk


def test_harmonised_proportion_on_a_replicate_design() -> None:
    df = pd.concat([tno_frame()] * 3, ignore_index=True).assign(
        psu=lambda f: np.arange(len(f)) % 6, st=lambda f: np.arange(len(f)) % 2)
    d = nc.SurveyDesign(df, weights="w", strata="st", clusters="psu")
    definition = h.get_definition("tno_can_work_at_home")
    taylor = h.harmonised_proportion(d, definition)
    replicate = h.harmonised_proportion(d.to_replicate("JKn"), definition)
    np.testing.assert_allclose(replicate.estimate, taylor.estimate, rtol=1e-12)
    assert replicate.definition is definition
