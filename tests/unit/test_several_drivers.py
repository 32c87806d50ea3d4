"""Several drivers in one run, on the embedded SQLite database (no server needed): the
drivers' rounds share blocks, each driver's ratio to the reference driver is taken per
block, a driver whose server is down is left out in one line, and compare judges the
paired driver ratios of two such runs."""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import itertools
import json
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy.engine import make_url

from bench.api.family import load_families
from bench.cli import main
from bench.cli.console import COLUMNS, driver_columns, driver_decision_lines, family_table
from bench.db.database import resolve_url
from bench.db.drivers import DRIVERS, UnknownDriver, get_driver, parse_driver_list, register
from bench.judge.compare import compare_sides, comparison_table
from bench.judge.decisions import run_points
from bench.judge.driver_pairs import driver_pairs
from bench.measure.summary import family_wise_driver_intervals
from bench.report import write_report
from bench.report.charts import Colours
from bench.report.driver_charts import paired_drivers_chart
from bench.report.heatmap import GREY, heat_map, is_paired
from bench.report.model import family_views, load_runs
from bench.results import file as results
from bench.results import stats
from bench.run.runner import RunConfig, RunDriver
from bench.run.several import SeveralRunner, driver_references

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures_scenarios"
_RUNS = itertools.count()


@pytest.fixture
def toys() -> Iterator[None]:
    """`slow-aiosqlite` (extra work in every variant) and `flaky-aiosqlite` (one variant
    fails), registered for the test only."""
    real = get_driver("aiosqlite")
    names = ["slow-aiosqlite", "flaky-aiosqlite"]
    for name in names:
        register(dataclasses.replace(real, name=name))
    try:
        yield
    finally:
        for name in names:
            DRIVERS.pop(name, None)


def _run(tmp_path: Path, labels: list[str], **kw) -> dict:
    directory = tmp_path / f"run{next(_RUNS)}"
    directory.mkdir()
    url = f"sqlite:///{directory}/db"
    drivers = [RunDriver(label, get_driver(label.partition("@")[0]),
                         resolve_url(get_driver(label.partition("@")[0]), url))
               for label in labels]
    kw.setdefault("rounds", 6)
    config = RunConfig(driver=drivers[0].driver, url=drivers[0].url,
                       families=[load_families([FIXTURES])["driver_probe"]],
                       output=directory / "run.json", warmup=1, drivers=drivers, **kw)
    return asyncio.run(SeveralRunner(config, progress=lambda line: None).run())


def _cases(doc: dict) -> dict[tuple[str, str], dict]:
    return {(c["driver"], c["variant"]): c for c in doc["cases"]}


# -- naming drivers --------------------------------------------------------------------------


def test_a_driver_list_names_groups_and_a_second_label_of_one_driver():
    assert [d.label for d in parse_driver_list("asyncpg,asyncpg@2")] == ["asyncpg", "asyncpg@2"]
    assert [d.driver.name for d in parse_driver_list("asyncpg,asyncpg@2")] == ["asyncpg"] * 2
    postgres = [d.label for d in parse_driver_list("all-postgresql")]
    assert postgres == [d.name for d in DRIVERS.values() if d.backend == "postgresql"]
    assert "psycopg-sync" in postgres  # the sync baseline is paired with the async drivers
    # A driver named by hand and again by a group is measured once, first where named.
    assert [d.label for d in parse_driver_list("psycopg,all-postgresql")][:2] == ["psycopg",
                                                                                 "asyncpg"]
    everything = {d.label for d in parse_driver_list("all")}
    assert everything == set(DRIVERS)


@pytest.mark.parametrize(("text", "says"), [
    ("asyncpg,asyncpg", "asyncpg@2"), ("asyncpg,", "empty name"), ("asyncpg@", "no label"),
    ("nosuch,asyncpg", "unknown driver 'nosuch'"),
])
def test_a_bad_driver_list_is_one_line(text, says):
    with pytest.raises(UnknownDriver, match=says):
        parse_driver_list(text)


def test_references_are_per_backend_unless_pairing_across_backends():
    def entry(label: str) -> RunDriver:
        driver = get_driver(label.partition("@")[0])
        return RunDriver(label, driver, resolve_url(driver, None))

    drivers = [entry(n) for n in ("psycopg", "asyncpg", "aiomysql", "asyncmy", "aiosqlite")]
    assert driver_references(drivers, None, False) == {
        "psycopg": "psycopg", "asyncpg": "psycopg", "aiomysql": "aiomysql",
        "asyncmy": "aiomysql", "aiosqlite": "aiosqlite"}
    assert driver_references(drivers, "asyncpg", False)["psycopg"] == "asyncpg"
    assert driver_references(drivers, "asyncpg", False)["asyncmy"] == "aiomysql"
    assert set(driver_references(drivers, "aiosqlite", True).values()) == {"aiosqlite"}


# -- a run of several drivers ------------------------------------------------------------------


def test_every_driver_runs_every_variant_in_the_same_shuffled_blocks(tmp_path, toys):
    doc = _run(tmp_path, ["aiosqlite", "aiosqlite@2", "slow-aiosqlite"])
    cases = _cases(doc)
    assert [d["label"] for d in doc["config"]["drivers"]] == ["aiosqlite", "aiosqlite@2",
                                                              "slow-aiosqlite"]
    assert doc["config"]["driver"] == "aiosqlite"
    assert {c["driver"] for c in doc["cases"]} == {"aiosqlite", "aiosqlite@2", "slow-aiosqlite"}
    assert all(c["status"] == "ok" for c in doc["cases"])
    assert all(c["blocks"] == list(range(6)) for c in doc["cases"])
    # The data was set up once for the backend and shared by the three drivers' cases.
    assert {c["extra"]["setups"] for c in doc["cases"]} == {1}
    # Rounds ran block by block, each block one round of every (driver, variant) ...
    order = cases[("aiosqlite", "raw_driver")]["extra"]["order"]
    assert len(order) == 6 * 9
    blocks = [order[i:i + 9] for i in range(0, len(order), 9)]
    assert all(sorted(b) == sorted(blocks[0]) for b in blocks)
    # ... shuffled across drivers, not one driver's variants after another's.
    def grouped(block: list[tuple[str, str]]) -> bool:
        names = [name for name, _ in block]
        return names == sorted(names, key=names.index)

    assert not all(grouped(b) for b in blocks)


def test_every_round_of_every_driver_runs_on_fresh_connections(tmp_path):
    """A connection's speed lasts as long as it does (its server process's CPU placement:
    asyncpg A/A cases kept 2x CPU time per round through a whole point), so a case that
    kept its connections paired one lucky or unlucky draw with every block: 7-13 of 39
    cases of `--driver asyncpg,asyncpg@2` excluded 1. Each timed round opens its own."""
    doc = _run(tmp_path, ["aiosqlite", "aiosqlite@2"], rounds=4)
    for label in ("aiosqlite", "aiosqlite@2"):
        cases = _cases(doc)
        assert cases[(label, "raw_driver")]["extra"]["connections"] == 4
        assert cases[(label, "core_text")]["extra"]["connections"] == 4
        assert cases[(label, "raw_driver")]["statements_per_op"] == 1


def test_the_paired_driver_ratio_is_taken_per_block_and_sees_a_slower_driver(tmp_path, toys):
    doc = _run(tmp_path, ["aiosqlite", "slow-aiosqlite", "aiosqlite@2"], rounds=10)
    cases = _cases(doc)
    for variant in ("raw_driver", "core_text"):
        ref, slow = cases[("aiosqlite", variant)], cases[("slow-aiosqlite", variant)]
        assert "paired_driver" not in ref  # the reference driver itself
        paired = slow["paired_driver"]
        assert paired["reference"] == "aiosqlite"
        by_block = dict(zip(ref["blocks"], ref["samples_ns"], strict=True))
        expected = [s / by_block[b] for s, b in zip(slow["samples_ns"], slow["blocks"],
                                                    strict=True)]
        assert paired["ratios"] == pytest.approx(expected)
        assert paired["n"] == 10
        assert paired["median"] == pytest.approx(stats.ratio_summary(expected)[0])
        assert paired["ci95_low"] > 1  # 45 ms more wait per round: slower, clearly
        assert cases[("aiosqlite@2", variant)]["paired_driver"]["reference"] == "aiosqlite"
    lines = driver_decision_lines(doc)
    slow_line = next(line for line in lines if line.startswith("slow-aiosqlite instead of "
                                                               "aiosqlite on driver_probe:"))
    assert "slower on raw_driver" in slow_line and "slower on core_text" in slow_line
    # The results file reads back with its new fields checked.
    reread = results.load(_write(tmp_path, doc))
    assert _cases(reread)[("slow-aiosqlite", "raw_driver")]["paired_driver"]["n"] == 10


def _write(tmp_path: Path, doc: dict) -> Path:
    path = tmp_path / f"doc{next(_RUNS)}.json"
    results.write_atomic(path, doc)
    return path


def test_the_reference_driver_can_be_chosen(tmp_path, toys):
    doc = _run(tmp_path, ["aiosqlite", "slow-aiosqlite"], driver_reference="slow-aiosqlite")
    cases = _cases(doc)
    paired = cases[("aiosqlite", "raw_driver")]["paired_driver"]
    assert paired["reference"] == "slow-aiosqlite" and paired["ci95_high"] < 1
    assert doc["config"]["driver_reference"] == "slow-aiosqlite"


def test_a_driver_failing_mid_point_fails_its_own_cases_only(tmp_path, toys):
    doc = _run(tmp_path, ["aiosqlite", "flaky-aiosqlite"])
    cases = _cases(doc)
    assert cases[("flaky-aiosqlite", "fails_on_flaky")]["status"] == "error"
    assert "deliberate failure" in cases[("flaky-aiosqlite", "fails_on_flaky")]["error"]
    assert cases[("aiosqlite", "fails_on_flaky")]["status"] == "ok"
    assert cases[("flaky-aiosqlite", "core_text")]["status"] == "ok"
    assert "paired_driver" in cases[("flaky-aiosqlite", "core_text")]
    assert doc["run_status"] == "complete"


def test_a_driver_whose_server_is_down_is_named_in_one_line_and_the_others_run(
        tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # the SQLite default file lands under tmp_path/results
    output = tmp_path / "run.json"
    code = main(["run", "--driver", "aiosqlite,asyncpg", "--url",
                 "postgresql://someone:secret@127.0.0.1:1/nowhere", "--scenario",
                 "driver_probe", "--scenarios-path", str(FIXTURES), "--rounds", "2",
                 "--connect-timeout", "2", "--output", str(output)])
    err = capsys.readouterr().err
    assert code == 0, err
    said = [line for line in err.splitlines() if "asyncpg left out" in line]
    assert len(said) == 1 and "secret" not in err
    doc = json.loads(output.read_text())
    cases = _cases(doc)
    assert cases[("aiosqlite", "raw_driver")]["status"] == "ok"
    down = cases[("asyncpg", "raw_driver")]
    assert down["status"] == "skipped" and down["error"].startswith("skipped: ")
    assert "secret" not in output.read_text()
    assert doc["config"]["drivers"][1]["skipped"]


def test_several_drivers_refuse_what_measures_one_driver_at_a_time(capsys):
    assert main(["run", "--driver", "aiosqlite,aiosqlite@2", "--rtt", "1ms"]) != 0
    assert "--rtt measures one driver at a time" in capsys.readouterr().err
    assert main(["run", "--driver", "aiosqlite,aiosqlite@2", "--driver-reference", "x"]) != 0
    assert "--driver-reference 'x' is not among" in capsys.readouterr().err


def test_a_malformed_paired_driver_ratio_is_refused(tmp_path, toys):
    doc = _run(tmp_path, ["aiosqlite", "aiosqlite@2"], rounds=2)
    broken = copy.deepcopy(doc)
    next(c for c in broken["cases"] if "paired_driver" in c)["paired_driver"]["n"] = "two"
    with pytest.raises(results.ResultsFileError, match="malformed paired driver ratio"):
        results.validate(broken)
    broken = copy.deepcopy(doc)
    broken["config"]["drivers"] = ["aiosqlite"]
    with pytest.raises(results.ResultsFileError, match="config.drivers"):
        results.validate(broken)


# -- what the terminal, the report and compare make of it ----------------------------------------


def test_the_console_shows_each_case_driver_and_its_ratio_to_the_reference(tmp_path, toys):
    doc = _run(tmp_path, ["aiosqlite", "slow-aiosqlite"], rounds=3)
    (family, points), = run_points(doc).items()
    table = family_table(family, points, COLUMNS[:1] + driver_columns(doc) + COLUMNS[1:])
    headers = [c.header for c in table.columns]
    assert "driver" in headers and "vs ref driver" in headers
    column = headers.index("vs ref driver")
    cells = list(table.columns[column].cells)
    assert "ref" in cells and any("×" in cell for cell in cells)


def test_the_report_heat_map_shows_paired_ratios_for_one_run_and_absolute_for_separate(
        tmp_path, toys):
    doc = _run(tmp_path, ["aiosqlite", "aiosqlite@2", "slow-aiosqlite"])
    path = _write(tmp_path, doc)
    runs = load_runs([path])
    assert [r.driver for r in runs] == ["aiosqlite", "aiosqlite@2", "slow-aiosqlite"]
    assert is_paired(runs)
    families = heat_map(family_views(runs), runs)
    rows = {row.name.split(" · ")[0]: row for row in families[0].rows}
    reference, _second, slow = rows["raw_driver"].cells
    assert reference.text == "ref"
    assert slow.paired and not slow.holds_one and slow.ratio > 1 and GREY not in slow.style
    assert any("slow-aiosqlite instead of aiosqlite" in line for line in families[0].decisions)
    page = write_report([path], tmp_path / "report").read_text()
    assert "Paired: the drivers ran in the same blocks" in page
    # Two separate runs of one driver each: today's map, said to be unpaired.
    single = [_write(tmp_path, _single(doc, label)) for label in ("aiosqlite", "slow-aiosqlite")]
    assert not is_paired(load_runs(single))
    page = write_report(single, tmp_path / "report2").read_text()
    assert "Separate runs: absolute times, not paired." in page


def _family_chart(page: str, family: str) -> str:
    """The text of the family's chart (its SVG's labels) on a report page."""
    found = re.search(rf'<div class="chart" data-family="{family}">(.*?)</div>', page, re.S)
    assert found, f"no chart for {family}"
    return " ".join(re.findall(r">([^<>]+)<", found.group(1)))


def test_the_report_charts_drivers_of_one_run_as_paired_ratios_to_the_reference(
        tmp_path, toys):
    doc = _run(tmp_path, ["aiosqlite", "aiosqlite@2", "slow-aiosqlite"])
    path = _write(tmp_path, doc)
    chart = _family_chart(write_report([path], tmp_path / "report").read_text(), "driver_probe")
    assert "time per op relative to aiosqlite (paired per block)" in chart
    assert "= aiosqlite" in chart  # the line at 1 names the reference driver
    assert "median time per" not in chart and "separate runs" not in chart
    # Per variant a dot per other driver at its paired ratio, the interval as its bar.
    runs = load_runs([path])
    colours = Colours()
    colours.assign(r.column for r in runs)
    (view,) = family_views(runs)
    spec = paired_drivers_chart(view, runs, colours).spec
    assert spec.series == [("aiosqlite@2", colours("aiosqlite@2")),
                           ("slow-aiosqlite", colours("slow-aiosqlite"))]
    assert spec.reference_line == 1.0
    assert ("log scale" in spec.x_label) == spec.log  # log only past 20×, and then said
    assert set(spec.rows) == {"raw_driver", "core_text", "fails_on_flaky"}
    assert spec.marked == "raw_driver"  # the reference variant, marked as in every chart
    cases = _cases(doc)
    for dot in spec.dots:
        driver = spec.series[dot.series][0]
        paired = cases[(driver, dot.row)]["paired_driver"]
        assert (dot.value, dot.low, dot.high) == (paired["median"], paired["ci95_low"],
                                                  paired["ci95_high"])
        assert dot.hollow == (paired["ci95_low"] <= 1 <= paired["ci95_high"])
        if dot.row == "fails_on_flaky":  # no wait in its rounds: noisy, nothing to assert
            continue
        if driver == "aiosqlite@2":  # the same driver twice: near 1 (a 5 ms wait each round)
            assert dot.value == pytest.approx(1.0, abs=0.2)
        else:  # 45 ms more per round: clearly slower, drawn solid
            assert dot.value > 2 and not dot.hollow
    # Drivers read against two references (each backend its own): a part per reference.
    two = copy.deepcopy(doc)
    for case in two["cases"]:
        if case["driver"] == "slow-aiosqlite":
            case["paired_driver"]["reference"] = "aiosqlite@2"
    runs = load_runs([_write(tmp_path, two)])
    spec = paired_drivers_chart(family_views(runs)[0], runs, colours).spec
    assert [heading for heading, _ in spec.parts] == ["ops=2 · against aiosqlite",
                                                      "ops=2 · against aiosqlite@2"]
    assert "relative to the reference driver (paired" in spec.x_label
    assert spec.reference_label == "= the reference driver"


def test_a_dot_whose_interval_holds_one_is_drawn_hollow_and_grey_and_the_legend_says_so():
    from bench.report.figures import HOLLOW, Dot, DotSpec, draw

    orange = "#e07b39"
    spec = DotSpec("t", ["a", "b"], [Dot("a", 1.02, 0.9, 1.1, orange, "unclear", hollow=True),
                                     Dot("b", 3.0, 2.5, 3.5, orange, "slower")],
                   "x", (0.5, 4.0), False, 1.0, reference_label="= aiosqlite",
                   series=[("aiosqlite@2", orange)])
    svg, _png = draw(spec, "s")
    unclear, slower = (re.search(rf'<g id="s-t{k}i">.*?<g id="s-t{k}">.*?</g>\s*</g>', svg,
                                 re.S).group(0) for k in (0, 1))
    assert f"stroke: {HOLLOW}" in unclear and f"fill: #ffffff; stroke: {orange}" in unclear
    assert f"stroke: {orange}" in slower and f"fill: {orange}" in slower
    assert "= aiosqlite" in svg and "hollow: interval holds 1" in svg


def test_separate_runs_of_single_drivers_keep_absolute_times_said_not_paired(tmp_path, toys):
    doc = _run(tmp_path, ["aiosqlite", "slow-aiosqlite"], rounds=3)
    single = [_write(tmp_path, _single(doc, label)) for label in ("aiosqlite", "slow-aiosqlite")]
    chart = _family_chart(write_report(single, tmp_path / "report").read_text(), "driver_probe")
    assert "median time per op" in chart
    assert "separate runs: absolute times, not paired" in chart
    assert "relative to" not in chart


def _single(doc: dict, label: str) -> dict:
    """One driver's part of a run of several, as a run of one driver."""
    out = copy.deepcopy(doc)
    out["cases"] = [c for c in out["cases"] if c["driver"] == label]
    for case in out["cases"]:
        case.pop("paired_driver", None)
    del out["config"]["drivers"]
    out["config"]["driver"] = label
    out["label"] = label
    return out


def test_compare_of_two_runs_of_several_drivers_judges_their_paired_driver_ratios(
        tmp_path, toys, monkeypatch):
    monkeypatch.setenv("SQLAB_DRIVER_PROBE_EXTRA_MS", "0")  # a ratio near 1 ...
    base = _run(tmp_path, ["aiosqlite", "slow-aiosqlite"], rounds=10)
    monkeypatch.setenv("SQLAB_DRIVER_PROBE_EXTRA_MS", "45")  # ... then near 10
    new = _run(tmp_path, ["aiosqlite", "slow-aiosqlite"], rounds=10)
    judgements = {(j.driver, j.variant): j for j in compare_sides([base], [new], 5.0)}
    slowed = judgements[("slow-aiosqlite", "core_text")]
    assert slowed.driver_ratio is not None and slowed.driver_reference == "aiosqlite"
    assert slowed.driver_ratio.verdict == "slower" and slowed.fails
    assert "ratio to aiosqlite" in slowed.why()
    assert judgements[("aiosqlite", "raw_driver")].driver_ratio is None  # the reference
    table = comparison_table(list(judgements.values()), "t")
    assert "driver ratio change" in [c.header for c in table.columns]


def test_the_url_applies_to_the_drivers_of_its_backend():
    from bench.cli.parser import build_parser
    from bench.cli.run import _run_drivers

    args = build_parser().parse_args(["run", "--driver", "asyncpg,aiosqlite", "--url",
                                      "postgresql://u@db.example:5433/x"])
    drivers = {d.label: d for d in _run_drivers(args, parse_driver_list(args.driver))}
    assert drivers["asyncpg"].url.port == 5433
    assert drivers["aiosqlite"].url.drivername == "sqlite+aiosqlite"
    assert make_url(str(drivers["asyncpg"].url)).host == "db.example"


def test_raw_sql_setup_kept_is_rendered_again_for_each_driver_of_the_backend():
    from bench.measure.lifecycle import _state_for

    asyncpg, psycopg = get_driver("asyncpg"), get_driver("psycopg")
    written = {asyncpg.sql("SELECT ? + ?"): "SELECT ? + ?"}
    state = {"raw": {"add": asyncpg.sql("SELECT ? + ?")}, "ids": [1, 2], "seed": 0}
    assert state["raw"]["add"] == "SELECT $1 + $2"
    view = _state_for(state, written, psycopg)
    assert view["raw"]["add"] == "SELECT %s + %s"
    assert view["ids"] is state["ids"]  # values other than SQL are shared, not copied
    assert _state_for(state, written, asyncpg) is state  # nothing to render: the same dict
    assert _state_for({"ids": [1]}, {}, psycopg) == {"ids": [1]}


def test_a_familys_driver_intervals_hold_together_so_a_driver_against_itself_names_no_winner():
    """17 cases of one family, a driver against itself (ratios from one distribution
    around 1): each case's own 95% interval leaves 1 out somewhere in most such runs,
    the family-wise ones (each at 1 - 0.05/17: the 2nd and 14th of 15 blocks) in about one
    run in twenty; a real 1.5x difference is still a winner."""
    rng = np.random.default_rng(24)

    def family(shift: float = 1.0) -> list[dict]:
        cases = []
        for k in range(17):
            ratios = list(shift * np.exp(rng.normal(0, 0.05, size=15)))
            median, low, high = stats.ratio_summary(ratios)
            cases.append({"scenario": "crud", "variant": f"v{k}", "params": {}, "status": "ok",
                          "driver": "asyncpg@2", "paired_driver": {
                              "reference": "asyncpg", "ratios": ratios, "median": median,
                              "ci95_low": low, "ci95_high": high, "n": 15}})
        return cases

    runs, per_case_claims, family_claims = 200, 0, 0
    for _ in range(runs):
        cases = family()
        per_case_claims += any(not c["paired_driver"]["ci95_low"] <= 1 <= c["paired_driver"][
            "ci95_high"] for c in cases)
        family_wise_driver_intervals(cases)
        family_claims += driver_pairs(cases)[0].counts()["tie"] < 17
    assert per_case_claims / runs > 0.3  # 1 - 0.965**17 = 45% in theory
    assert family_claims / runs <= 0.08  # at most 5% in theory (Bonferroni)
    cases = family()
    family_wise_driver_intervals(cases)
    ratios = sorted(cases[0]["paired_driver"]["ratios"])
    assert (cases[0]["paired_driver"]["ci95_low"], cases[0]["paired_driver"]["ci95_high"]) == (
        ratios[1], ratios[13])
    assert cases[0]["paired_driver"]["confidence"] == pytest.approx(1 - 0.05 / 17)
    faster = family(shift=1 / 1.5)
    family_wise_driver_intervals(faster)
    assert driver_pairs(faster)[0].counts()["faster"] == 17
