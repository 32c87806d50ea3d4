"""Run profiles and parameter grids: which values a run measures."""

import pytest

from bench.api.family import (
    RUN_PROFILES,
    Family,
    Param,
    ScenarioError,
    load_families,
    parse_overrides,
)


def _family():
    return Family(
        name="demo", question="?", unit="ops",
        params=[Param("rows", int, quick=[10], standard=[100, 1000], full=[10_000]),
                Param("mode", str, quick=["a", "b"], choices=("a", "b", "c")),
                Param("flag", bool, quick=[False])],
        ops=lambda p: p["rows"],
    )


def test_profiles_grow_in_rounds_and_warmup():
    quick, standard, full = (RUN_PROFILES[n] for n in ("quick", "standard", "full"))
    assert quick.rounds < standard.rounds < full.rounds
    assert quick.warmup <= standard.warmup <= full.warmup
    assert quick.rounds >= 5  # enough samples for a median CI to mean something


def test_grid_per_profile_falls_back_to_smaller_profiles():
    family = _family()
    assert [p["rows"] for p in family.grid("quick")] == [10, 10]
    assert sorted({p["rows"] for p in family.grid("standard")}) == [100, 1000]
    assert {p["rows"] for p in family.grid("full")} == {10_000}
    assert {p["mode"] for p in family.grid("full")} == {"a", "b"}  # falls back to quick


def test_overrides_replace_an_axis_and_are_typed():
    family = _family()
    overrides = parse_overrides(family, [("rows", "5,7"), ("mode", "c"), ("flag", "yes")])
    assert overrides == {"rows": [5, 7], "mode": ["c"], "flag": [True]}
    grid = list(family.grid("quick", overrides))
    assert [(p["rows"], p["mode"], p["flag"]) for p in grid] == [(5, "c", True), (7, "c", True)]


@pytest.mark.parametrize("pair, message", [
    (("nope", "1"), "has no parameter 'nope'"),
    (("rows", "ten"), "takes int values"),
    (("mode", "z"), "takes one of a, b, c"),
    (("flag", "maybe"), "takes bool values"),
])
def test_bad_overrides_are_scenario_errors(pair, message):
    with pytest.raises(ScenarioError, match=message):
        parse_overrides(_family(), [pair])


def test_where_prunes_combinations():
    family = _family()
    family.where = lambda p: p["mode"] == "a"
    assert [p["mode"] for p in family.grid("quick")] == ["a"]


def test_builtin_families_load_with_a_question_and_a_raw_floor():
    families = load_families()
    assert "raw_queries" in families
    # An HTTP service has no bare-driver equivalent; every other family has its floor.
    without_floor = {"fastapi_service"}
    for family in families.values():
        assert family.question.endswith("?")
        assert ("raw_driver" in family.variants) != (family.name in without_floor), family.name


def test_the_counted_profile_is_one_small_point_with_few_rounds():
    """Counts need neither large sizes nor many rounds: one point per family by default (the
    first quick value), the family's own counted sizes where it declares them."""
    family = _family()
    assert list(family.grid("counted")) == [{"rows": 10, "mode": "a", "flag": False}]
    counted = RUN_PROFILES["counted"]
    assert counted.warmup == 0 and counted.rounds == 2  # the priming round warms
    families = load_families()
    loading = next(families["loading"].grid("counted"))
    assert loading["parents"] < next(families["loading"].grid("quick"))["parents"]
    for name, real in families.items():  # every family has a counted point
        assert next(real.grid("counted"), None) is not None, name
