"""Declared comparisons: checked when a family loads, written into the results file."""

import json

import pytest

from bench.api.family import Comparison, Family, Param, ScenarioError, _add_family, load_families
from bench.results import file as results
from tests.unit.test_results import _case, _doc


def _family(*comparisons):
    family = Family(name="demo", question="?", unit="ops", ops=lambda p: 1,
                    params=[Param("rows", int, quick=[10])], comparisons=list(comparisons))
    family.variant("fast")(lambda ctx: None)
    family.variant("slow")(lambda ctx: None)
    return family


def test_every_builtin_family_declares_its_decisions():
    for family in load_families().values():
        assert family.comparisons, family.name
        for comparison in family.comparisons:
            record = comparison.record()
            assert json.loads(json.dumps(record)) == record  # as the file holds it


@pytest.mark.parametrize("comparison, message", [
    (Comparison("cache_on", "slow", "typo"), "names no variant 'cache_on'"),
    (Comparison("fast", "slow", "x", at={"depth": 1}), "has no parameter 'depth'"),
    (Comparison("fast", "slow", "x", largest=("depth",)), "has no parameter 'depth'"),
])
def test_a_comparison_naming_what_the_family_lacks_fails_at_load(comparison, message):
    with pytest.raises(ScenarioError, match=message):
        _add_family({}, type("module", (), {"family": _family(comparison)}), "demo.py")


def test_comparisons_and_plans_are_validated_when_read(tmp_path):
    doc = _doc()
    doc["families"] = {"demo": {"question": "?", "unit": "ops", "reference": ["raw_driver"],
                                "comparisons": [{"candidate": "fast", "against": 3}]}}
    (tmp_path / "r.json").write_text(json.dumps(doc))
    with pytest.raises(results.ResultsFileError, match="family demo has malformed comparisons"):
        results.load(tmp_path / "r.json")
    doc = _doc()
    doc["cases"] = [{**_case(), "plans": [{"sent": 1}]}]
    (tmp_path / "r.json").write_text(json.dumps(doc))
    with pytest.raises(results.ResultsFileError, match="malformed query plans"):
        results.load(tmp_path / "r.json")
