"""The HTML report from results files: self-contained, escaped, decisions from the file."""

import json
import re

import pytest

from bench.cli import main
from bench.measure.summary import record_paired
from bench.report import write_report
from bench.results import records, stats

XSS = "<script>alert('x\"y')</script>"
LOADING = {"question": "How much does N+1 cost?", "unit": "loads", "reference": ["raw_driver"],
           "comparisons": [
               {"candidate": "selectinload", "against": "lazy_n_plus_1",
                "sentence": "selectinload instead of lazy loading", "at": {"parents": 100},
                "largest": []},
               {"candidate": "selectinload", "against": "joinedload",
                "sentence": "selectinload or joinedload", "at": {"parents": 100}, "largest": []},
           ]}


def _case(scenario, variant, params, per_round, *, status="ok", error=None, driver="aiosqlite",
          statements=1, extra=None, rounds=8, unit="loads"):
    """A case measured in `rounds` blocks: round k takes per_round * (1 + 0.01 k)."""
    case = records.new_case(scenario, variant, params, unit=unit, ops_per_round=1,
                            driver=driver)
    case.update(status=status, error=error)
    if status == "ok":
        samples = [int(per_round * (1 + 0.01 * k)) for k in range(rounds)]
        case.update(samples_ns=samples, blocks=list(range(rounds)), cpu_ns=samples,
                    stats=stats.summarize(samples), statements_per_op=statements,
                    throughput_per_s=1e9 / samples[rounds // 2])
    case["extra"].update(extra or {})
    return case


def _point(cases, reference="raw_driver"):
    record_paired(cases, reference)
    return cases


def _doc(cases, driver="aiosqlite", label=None, families=None, **config):
    return {
        "schema_version": 2, "tool_version": "0.2.0", "run_id": "x",
        "label": label or f"{driver} 2026-11-24 00:00:00",
        "created_at": "2026-11-24T00:00:00+00:00", "run_status": "complete",
        "environment": {"python": "3.11.7", "sqlalchemy": "2.1.9", "cpu_model": "cpu",
                        "cpu_count": 2, "memory_total": 1 << 30, "event_loop": "asyncio",
                        "server": {"product": "SQLite", "version": "3.40"},
                        "driver_versions": {driver: "0.22"}, "git_commit": "abc"},
        "config": {"driver": driver, "profile": "quick", "warmup": 1, "rounds": 8,
                   "url": "sqlite+aiosqlite:///x", **config},
        "families": families if families is not None else {"loading": LOADING},
        "cases": cases,
    }


def _loading(driver="aiosqlite", scale=1.0, lazy=5.4, joined=1.0):
    cases = []
    for parents in (10, 100):
        cases += _point([
            _case("loading", "raw_driver", {"parents": parents}, 100_000 * scale, driver=driver),
            _case("loading", "selectinload", {"parents": parents}, 300_000 * scale,
                  driver=driver, statements=2),
            _case("loading", "lazy_n_plus_1", {"parents": parents}, 300_000 * lazy * scale,
                  driver=driver, statements=parents + 1),
            _case("loading", "joinedload", {"parents": parents}, 300_000 * joined * scale,
                  driver=driver),
        ])
    return cases


def _write(tmp_path, name, doc):
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


def _page(tmp_path, *docs):
    paths = [_write(tmp_path, f"{i}.json", doc) for i, doc in enumerate(docs)]
    return write_report(paths, tmp_path / "out").read_text()


def _text(page):
    """The page's visible text, roughly: tags dropped, entities of quotes undone."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)).replace("&#39;", "'")


def test_report_is_self_contained_with_charts_and_no_script(tmp_path):
    page = _page(tmp_path, _doc(_loading()))
    # one chart for the family's question: its two points under one axis, a heading each
    (chart,) = re.findall(r'<div class="chart" data-family="loading">(.*?)</div>', page, re.S)
    assert ">parents=10</text>" in chart and ">parents=100</text>" in chart
    # matplotlib's SVG inline, its text kept as text (no glyphs drawn as paths), linked
    # to the PNG written beside the page, with an SVG file of its own
    assert chart.startswith('<a class="chart-png" href="charts/loading.png"')
    assert "<svg" in chart and ">selectinload</text>" in chart
    assert "DejaVuSans-" not in chart  # font glyphs as <path> defs: text turned to shapes
    png = tmp_path / "out" / "charts" / "loading.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5_000
    assert "selectinload</text>" in png.with_suffix(".svg").read_text()
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', page)
    assert "<link" not in page and "<script" not in page
    assert "How much does N+1 cost?" in page


def test_a_decision_states_the_winner_with_its_paired_interval_and_statements(tmp_path):
    text = _text(_page(tmp_path, _doc(_loading())))
    ratio = re.search(r"selectinload instead of lazy loading: selectinload is ([\d.]+)× "
                      r"\(([\d.]+)–([\d.]+)×\) faster than lazy_n_plus_1 at parents=100; "
                      r"2 vs 101 statements per load\.", text)
    assert ratio, text[:2000]
    assert float(ratio.group(1)) == pytest.approx(5.4, rel=0.02)
    assert float(ratio.group(2)) <= float(ratio.group(1)) <= float(ratio.group(3))


def test_an_interval_that_holds_one_is_no_clear_winner(tmp_path):
    cases = _loading(joined=1.0)
    # joinedload's rounds straddle selectinload's: ratios on both sides of 1 across blocks
    for case in cases:
        if case["variant"] == "joinedload":
            case["samples_ns"] = [int(v * (0.97 if k % 2 else 1.03))
                                  for k, v in enumerate(case["samples_ns"])]
    text = _text(_page(tmp_path, _doc(cases)))
    assert "selectinload or joinedload: no clear winner at parents=100" in text


def test_a_comparison_the_driver_could_not_run_says_why(tmp_path):
    cases = _loading()
    for case in cases:
        if case["variant"] == "lazy_n_plus_1":
            case.update(status="skipped", error="skipped: aiosqlite has no lazy loading",
                        samples_ns=[], blocks=[], cpu_ns=[], stats=None, paired=None)
    text = _text(_page(tmp_path, _doc(cases)))
    assert ("selectinload instead of lazy loading: not measured at parents=100: lazy_n_plus_1 "
            "skipped (aiosqlite has no lazy loading)") in text
    assert "lazy_n_plus_1 not run on aiosqlite: aiosqlite has no lazy loading" in text


def test_the_largest_value_picks_the_point(tmp_path):
    families = {"loading": {**LOADING, "comparisons": [
        {**LOADING["comparisons"][0], "at": {}, "largest": ["parents"]}]}}
    text = _text(_page(tmp_path, _doc(_loading(), families=families)))
    assert "faster than lazy_n_plus_1 at parents=100;" in text


def test_a_family_without_comparisons_says_so(tmp_path):
    text = _text(_page(tmp_path, _doc(_loading(), families={})))
    assert ("declares no comparison for this family (Family(comparisons=[...]) names the "
            "decisions a family answers); fastest against its reference: selectinload at "
            "parents=10, 3× the time of raw_driver (3–3×)") in text


def test_no_chart_for_a_point_with_nothing_to_compare(tmp_path):
    cases = _point([_case("caches", "raw_driver", {"cache": "prepared"}, 1000)])
    cases += _point([_case("caches", "raw_driver", {"cache": "compiled"}, 1000),
                     _case("caches", "orm_cached", {"cache": "compiled"}, 5000)])
    page = _page(tmp_path, _doc(cases, families={}))
    assert page.count('class="chart"') == 1
    assert ">caches at cache=compiled</text>" in page
    assert [p.name for p in (tmp_path / "out" / "charts").glob("*.png")] == [
        "caches-cache=compiled.png"]


def test_a_variant_keeps_one_colour_on_the_page(tmp_path):
    page = _page(tmp_path, _doc(_loading()))
    colours = {}
    for svg in re.findall(r"<svg.*?</svg>", page, re.S):
        # a dot: its tooltip group, then the marker's fill
        dots = r'<g id="[^"]+-t\d+">\s*<title>(\w+):.*?fill: (#[0-9a-f]{6})'
        for name, colour in re.findall(dots, svg, re.S):
            colours.setdefault(name, set()).add(colour)
    assert set(colours) == {"raw_driver", "selectinload", "lazy_n_plus_1", "joinedload"}
    assert all(len(c) == 1 for c in colours.values()), colours
    assert len({next(iter(c)) for c in colours.values()}) == 4  # and no two share one


def test_failed_cases_are_shown_with_their_error(tmp_path):
    cases = _loading() + [_case("loading", "broken", {"parents": 100}, 0, status="error",
                                error="OperationalError: server closed the connection")]
    page = _page(tmp_path, _doc(cases))
    assert "OperationalError: server closed the connection" in page
    assert 'class="error has-detail"' in page
    assert "1 case(s) failed" in page


def test_sweep_is_drawn_for_a_numeric_parameter(tmp_path):
    cases = []
    for parents in (10, 100, 1000):
        cases += _point([_case("loading", "raw_driver", {"parents": parents}, parents * 1000),
                         _case("loading", "selectinload", {"parents": parents}, parents * 3000)])
    page = _page(tmp_path, _doc(cases))
    assert 'class="chart sweep" data-family="loading"' in page
    assert "loading: median time per op vs parents" in page


def test_several_runs_get_a_heat_map_cell_per_case_and_run(tmp_path):
    page = _page(tmp_path, _doc(_loading("asyncpg"), "asyncpg"),
                 _doc(_loading("psycopg", scale=2.0), "psycopg"),
                 _doc(_loading("psycopg-sync", scale=4.0), "psycopg-sync", sync=True))
    heat = page[page.index('id="drivers"'):page.index('id="decisions"')]
    cells = re.findall(r'<span class="c[^"]*" data-run="([^"]+)"[^>]*>([^<]*)</span>', heat)
    assert len(cells) == 8 * 3  # 8 cases (4 variants × 2 points) × 3 runs
    assert {c[1] for c in cells} == {"1.00", "2.0", "4.0"}
    assert heat.count("b-sync") == 1 + 1  # the legend's and psycopg-sync's column
    assert "asyncpg · next psycopg 2.00× · won 8 of 8" in heat


def test_two_runs_of_one_driver_are_two_columns(tmp_path):
    page = _page(tmp_path, _doc(_loading(), label="aiosqlite monday"),
                 _doc(_loading(scale=1.5), label="aiosqlite tuesday"))
    heat = page[page.index('id="drivers"'):page.index('id="decisions"')]
    head = re.search(r'<div class="hrow head">(.*?)</div>', heat).group(1)
    assert "aiosqlite monday" in head and "aiosqlite tuesday" in head
    assert len(re.findall(r'data-run="aiosqlite monday"', heat)) == 8
    assert len(re.findall(r'data-run="aiosqlite tuesday"', heat)) == 8


def test_runs_with_the_same_label_are_told_apart(tmp_path):
    page = _page(tmp_path, _doc(_loading()), _doc(_loading()))
    assert "aiosqlite 2026-11-24 00:00:00 (2)" in page


def test_decisions_table_for_several_runs_names_each_family_once(tmp_path):
    page = _page(tmp_path, _doc(_loading("asyncpg"), "asyncpg"),
                 _doc(_loading("psycopg", lazy=0.5), "psycopg"))
    decisions = page[page.index('id="decisions"'):page.index('class="family"')]
    assert decisions.count("<td>selectinload instead of lazy loading</td>") == 1
    assert 'o-candidate" title="selectinload instead of lazy loading: selectinload is' in decisions
    assert 'o-against" title="selectinload instead of lazy loading: lazy_n_plus_1 is' in decisions


def test_pytest_benchmark_input_shows_only_what_is_known(tmp_path):
    from pathlib import Path

    fixture = Path(__file__).parents[1] / "fixtures_results" / "v1_pytest_benchmark_loading.json"
    text = _text(write_report([fixture], tmp_path / "out").read_text())
    environment = text[text.index("Environment"):]
    assert "None" not in environment and "?" not in environment
    assert "URL" not in environment and "memory" not in environment
    assert "Python 3.11.7 (CPython)" in environment


def test_the_environment_gives_the_machine_speed_probe_where_the_file_has_it(tmp_path):
    cases = _loading()
    for case in cases:
        case["machine_ns"] = [1_000_000] * 4 + [1_500_000] * 4
    text = _text(_page(tmp_path, _doc(cases)))
    assert "machine speed Python probe 1.25 ms per block" in text
    assert "1.50× apart" in text
    assert "machine speed" not in _text(_page(tmp_path, _doc(_loading())))  # an older file


def test_query_plans_are_folded_with_large_scans_called_out(tmp_path):
    cases = _loading()
    plan = [{"Plan": {"Node Type": "Seq Scan", "Relation Name": "sqlab_posts",
                      "Actual Rows": 3, "Actual Loops": 1, "Rows Removed by Filter": 2997,
                      "Filter": "(title = 'x')"}, "Execution Time": 0.5}]
    cases[1]["plans"] = [{"sql": "SELECT * FROM sqlab_posts WHERE title = $1", "sent": 5,
                          "explain": "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)", "plan": plan,
                          "scans": [{"table": "sqlab_posts", "rows": 3000, "kept": 3,
                                     "callout": True}], "error": None}]
    page = _page(tmp_path, _doc(cases))
    assert ('<p class="callout">selectinload at parents=10: full scan of sqlab_posts: '
            '3,000 rows read, 3 kept</p>') in page
    assert '<details class="plans">' in page
    assert "Seq Scan on sqlab_posts  (rows 3, loops 1, removed by filter 2,997)" in page


def test_everything_from_the_file_is_escaped(tmp_path):
    cases = [_case("raw_queries", XSS, {"ops": XSS}, 0, status="error", error=XSS)]
    families = {"raw_queries": {"question": XSS, "unit": "q", "reference": ["raw_driver"],
                                "comparisons": [{"candidate": XSS, "against": "raw_driver",
                                                 "sentence": XSS, "at": {}, "largest": []}]}}
    page = _page(tmp_path, _doc(cases, families=families, label=XSS),
                 _doc(cases, families=families, label=XSS))
    assert "<script>" not in page
    assert "&lt;script&gt;" in page


def test_bad_inputs_are_one_line_errors(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main(["report", str(bad), "--output", str(tmp_path / "o")]) == 2
    assert "not valid JSON" in capsys.readouterr().err
    newer = _write(tmp_path, "newer.json", {**_doc(_loading()), "schema_version": 99})
    assert main(["report", str(newer), "--output", str(tmp_path / "o")]) == 2
    assert "newer than this sqla-bench reads" in capsys.readouterr().err
    assert main(["report", "--output", str(tmp_path / "o")]) == 2
    assert "report needs results files" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["report", "--latest", str(empty), "--output", str(tmp_path / "o")]) == 2
    assert "no results files in" in capsys.readouterr().err


def test_report_latest_takes_the_newest_file_of_each_driver(tmp_path, capsys):
    results_dir = tmp_path / "results"
    results_dir.mkdir()
    for name, driver, created in (("a.json", "asyncpg", "2026-11-01T00:00:00+00:00"),
                                  ("b.json", "asyncpg", "2026-11-02T00:00:00+00:00"),
                                  ("c.json", "psycopg", "2026-11-01T00:00:00+00:00")):
        doc = _doc(_loading(driver), driver=driver, label=f"{driver} {created}")
        doc["created_at"] = created
        _write(results_dir, name, doc)
    (results_dir / "pytest-benchmark.json").write_text("{}")
    assert main(["report", "--latest", str(results_dir), "--output", str(tmp_path / "o")]) == 0
    page = (tmp_path / "o" / "index.html").read_text()
    assert "b.json" in page and "c.json" in page and "a.json" not in page


@pytest.mark.parametrize("value, expected", [(1500, "1.5 µs"), (2.5e6, "2.5 ms"), (3e9, "3 s")])
def test_duration_format(value, expected):
    from bench.results.units import fmt_duration

    assert fmt_duration(value) == expected


def test_load_charts_latency_spectrum_and_throughput_vs_app_processes(tmp_path):
    """Cases with HDR histograms get a percentile spectrum; pool_sizing at several
    app_processes a throughput line per pool size. Both read only the results file."""
    from bench.measure import hdr

    cases = []
    for processes in (1, 2, 4):
        for pool_size in (5, 10):
            point = []
            for index, variant in enumerate(("queue_pool", "raw_driver")):
                histogram = hdr.new()
                hdr.record(histogram, [(index + 1) * 1e6 * (1 + k / 50) for k in range(200)])
                bound = {"bottleneck": "load worker tcp://127.0.0.1:1 above 90% CPU"}
                case = _case("pool_sizing", variant,
                             {"app_processes": processes, "pool_size": pool_size},
                             int(1e7 / processes / pool_size), unit="units",
                             extra=bound if processes == 4 and pool_size == 10 else None)
                case["histograms"] = {"latency_ns": hdr.encode(histogram)}
                point.append(case)
            cases += _point(point)
    doc = _doc(cases, families={"pool_sizing": {"question": "How big a pool?", "unit": "units",
                                                "reference": ["raw_driver"],
                                                "processes_param": "app_processes"}})
    page = _page(tmp_path, doc)
    load = re.findall(r'<div class="chart load" data-family="pool_sizing">(.*?)</div>', page,
                      re.S)
    (processes,) = [svg for svg in load if "throughput vs app processes" in svg]
    for pool_size in (5, 10):  # a line per pool size (and variant), a point per process count
        name = f"queue_pool · pool_size={pool_size}"
        assert f">{name}</text>" in processes
        assert processes.count(f"<title>{name}: ") == 3
    assert re.search(r"<title>queue_pool · pool_size=10: 3\.85k/s at 4 processes</title>",
                     processes)
    # one colour per variant, one dash per pool size: the two pool_size=10 lines are dashed
    # (and their two keys in the legend); the pool_size=5 ones are solid
    assert len(re.findall(r"stroke-dasharray", processes)) == 4
    spectra = [svg for svg in load if "latency percentiles" in svg]
    assert len(spectra) == 4  # at most four points
    for svg in spectra:
        # 200 requests support p99.5 (one request beyond it), never p99.9 or p99.99
        for tick in ("p50", "p90", "p99"):
            assert f">{tick}</text>" in svg
        assert "p99.9" not in svg and "p99.99" not in svg
        assert re.search(r"<title>raw_driver: p99\.5 [\d.]+ ms of 200 requests</title>", svg)
        assert ">raw_driver (n=200)</text>" in svg
        assert "log scale" not in svg  # 1 to 10 ms: less than 20× apart, a linear axis
    # the bottleneck: on the case's row and named beside the charts
    assert "above 90% CPU" in page
    assert re.search(r'<p class="callout bottleneck">queue_pool at app_processes=4 pool_size=10: '
                     r"load worker tcp://127.0.0.1:1 above 90% CPU</p>", page)
    assert "vs app_processes" not in page  # the processes axis is drawn once: the load chart


# -- charts that cannot mislead, one precision signal, one point only (issue 25) ----------


def _chart_of(page):
    """The loading chart, as the page has it."""
    (chart,) = re.findall(r'<div class="chart" data-family="loading">(.*?)</div>', page, re.S)
    return chart


def test_variants_are_ratio_dots_fastest_first_with_the_reference_marked(tmp_path):
    from bench.report.charts import FamilyScale, variant_colours, variants_chart
    from bench.report.model import family_views, load_runs

    path = _write(tmp_path, "run.json", _doc(_loading(lazy=5.4, joined=1.2)))
    view = family_views(load_runs([path]))[0]
    colours = variant_colours([view])
    scale = FamilyScale(view.groups)
    specs = [variants_chart(g, view.unit, colours, scale).spec for g in view.groups]
    assert len(specs) == 2
    for spec in specs:
        assert spec.rows == ["raw_driver", "selectinload", "joinedload", "lazy_n_plus_1"]
        assert spec.marked == "raw_driver" and spec.reference_line == 1.0
        assert [round(d.value, 1) for d in spec.dots] == [1.0, 3.0, 3.6, 16.2]
        # 1 to 16.2×: within 20×, so a linear axis, and the label does not claim a log one
        assert not spec.log and "log scale" not in spec.x_label
        assert "multiple of raw_driver's (paired by block)" in spec.x_label
    assert specs[0].x_limits == specs[1].x_limits  # one scale for the family's charts
    page = _page(tmp_path, _doc(_loading(lazy=5.4, joined=1.2)))
    assert _chart_of(page).count(">raw_driver (reference)</text>") == 2


def test_a_log_axis_only_past_twenty_times_and_then_it_says_so(tmp_path):
    page = _page(tmp_path, _doc(_loading(lazy=10.0)))  # 30× the raw driver
    assert "interval — log scale</text>" in _chart_of(page)
    narrow = _page(tmp_path, _doc(_loading(lazy=5.0)))  # 15×
    assert "log scale" not in _chart_of(narrow)


def test_a_percentile_is_drawn_only_where_the_requests_support_it():
    from bench.report.load_charts import supported

    assert supported(90, 32) and not supported(99, 32)  # 32 requests: p90, never p99
    assert supported(99.9, 1000) and not supported(99.99, 1000)
    assert supported(99.5, 200)  # exactly one request beyond it


def _with_spread(cases, variant, spread):
    """Rounds of `variant` alternately `spread` above and below its level: the paired
    ratio's interval widens by about that much."""
    for case in cases:
        if case["variant"] == variant:
            case["samples_ns"] = [int(v * (1 + spread if k % 2 else 1 - spread))
                                  for k, v in enumerate(case["samples_ns"])]
            case["stats"] = stats.summarize(case["samples_ns"])
    points = {}
    for case in cases:
        points.setdefault(json.dumps(case["params"]), []).append(case)
    for point in points.values():
        record_paired(point, "raw_driver")
    return cases


def test_a_ratio_interval_wider_than_15_percent_is_the_one_flag_with_advice_on_top(tmp_path):
    from bench.results import quality

    tight = _loading()
    for case in tight:  # rounds 30% apart: a CV the old flag called unstable
        if case["variant"] == "selectinload":
            case["stats"]["cv"] = 0.3
    page = _page(tmp_path, _doc(tight))
    assert 'class="callout quality"' not in page and "unstable" not in page
    assert "30.0%" in page  # the CV stays in the detail rows, unflagged
    wide = _with_spread(_loading(), "joinedload", 0.4)
    page = _page(tmp_path, _doc(wide))
    advice = re.search(r'<p class="callout quality">(.*?)</p>', page, re.S).group(1)
    assert "2 of 6 ratios to the reference have a 95% interval wider than ±15%" in advice
    assert "--rounds" in advice and "--profile standard" in advice and "quieter machine" in advice
    assert page.index("callout quality") < page.index('id="decisions"')  # at the top
    flagged = re.findall(r'<td class="num warn" title="(interval ±\d+%)[^"]*">', page)
    assert len(flagged) == 2
    assert "too wide to decide on" in _text(page)  # the decision read at it says so
    assert quality.advice(wide) in _text(advice)  # the terminal's words are the page's


def test_a_family_needing_a_sweep_with_one_point_says_use_the_standard_profile(tmp_path):
    families = {"pool_sizing": {"question": "How big a pool?", "unit": "units",
                                "reference": ["raw_driver"], "sweeps": ["pool_size"],
                                "comparisons": []}}

    def pool(sizes):
        cases = []
        for size in sizes:
            cases += _point([_case("pool_sizing", v, {"pool_size": size, "concurrency": 10},
                                   1_000_000 * (k + 1), unit="units")
                             for k, v in enumerate(("raw_driver", "queue_pool"))])
        return cases

    text = _text(_page(tmp_path, _doc(pool([5]), families=families)))
    assert ("One point only (pool_size=5, profile quick): this question needs several values "
            "of pool_size, so its answers hold at this point alone; use --profile standard") in text
    assert "One point only: use --profile standard." in text  # and on its headline
    assert "One point only" not in _text(_page(tmp_path, _doc(pool([5, 10]), families=families)))


def test_a_cost_over_the_bare_driver_is_neutral_not_a_loss(tmp_path):
    families = {"loading": {**LOADING, "comparisons": [
        {"candidate": "selectinload", "against": "raw_driver",
         "sentence": "the ORM's cost over the bare driver", "at": {"parents": 100},
         "largest": []}, *LOADING["comparisons"]]}}
    page = _page(tmp_path, _doc(_loading(), families=families))
    section = page[page.index('<section id="loading"'):]
    (overhead,) = re.findall(r'<li class="o-(\w+)">the ORM&#39;s cost over the bare driver: '
                             r'selectinload takes 3× the time of raw_driver \(3–3×\)', section)
    assert overhead == "overhead"
    assert '<li class="o-candidate">selectinload instead of lazy loading' in section


def test_one_point_families_and_backend_notes_are_said(tmp_path):
    """A run that measured a family at one point says its answers hold there only; a
    family's note for the run's backend (SQLite's single writer) is on the page; an
    overhead comparison is in the neutral tone, not red."""
    one_point = [c for c in _loading() if c["params"]["parents"] == 100]
    families = {"loading": {**LOADING, "note": "SQLite lets one connection write at a time",
                            "sweeps": ["parents"],
                            "comparisons": [{**LOADING["comparisons"][0], "overhead": True}]}}
    page = _page(tmp_path, _doc(one_point, families=families))
    text = _text(page)
    assert ("One point only (parents=100, profile quick): this question needs several values "
            "of parents") in text
    assert "SQLite lets one connection write at a time" in text
    assert 'class="o-overhead"' in page and "takes 0.185× the time of lazy_n_plus_1" in text
    swept = _text(_page(tmp_path, _doc(_loading(), families=families)))
    assert "One point only" not in swept


def test_chart_markers_are_defined_once_per_shape():
    """matplotlib defines a marker per dot; the chart keeps one definition per shape and
    points every use at it (a nine-driver report is 32 KB smaller)."""
    from bench.report.figures import compact

    diamond = 'd="M -0 3.1 L 3.1 0 L 0 -3.1 L -3.1 -0 z\n" style="stroke: #1d232b"'
    tick = 'd="M 0 0 L 0 3.5 " style="stroke: #5f6b7a"'
    svg = "".join(f'<g><defs>\n<path id="{marker}" {shape}/>\n</defs>\n'
                  f'<use xlink:href="#{marker}" x="{x}" y="1" style="fill: {fill}"/></g>\n'
                  for marker, shape, x, fill in [("ma1", diamond, 1, "#111"),
                                                 ("mb2", diamond, 2, "#222"),
                                                 ("mc3", tick, 3, "#333"),
                                                 ("md4", diamond, 4, "#444")])
    out = compact(svg)
    assert re.findall(r'<path id="(m\w+)"', out) == ["ma1", "mc3"]
    assert re.findall(r'xlink:href="#(m\w+)" x="(\d)"', out) == [
        ("ma1", "1"), ("ma1", "2"), ("mc3", "3"), ("ma1", "4")]
    assert re.findall(r'fill: (#\d+)', out) == ["#111", "#222", "#333", "#444"]
