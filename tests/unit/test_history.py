"""History across results files: step detection, and the page that marks steps."""

import json
import re

import pytest

from bench.cli import main
from bench.judge.steps import detect_steps
from tests.unit.test_report import _doc, _loading


def test_a_step_is_found_where_the_level_moves():
    assert [s.index for s in detect_steps([1, 1, 1.5])] == [2]
    step = detect_steps([1.0, 1.0, 1.0, 1.0, 1.3, 1.3, 1.3])[0]
    assert (step.index, step.before, step.after) == (4, 1.0, 1.3)
    assert step.change == pytest.approx(1.3)


def test_noise_within_the_intervals_is_no_step():
    values = [1.0, 1.03, 0.98, 1.01, 0.99, 1.02, 0.97, 1.0]
    assert detect_steps(values) == []
    # a 4% move whose intervals are wide (±10%) is not a step either
    assert detect_steps([1.0, 1.0, 1.04, 1.04], [0.9, 0.9, 0.94, 0.94],
                        [1.1, 1.1, 1.14, 1.14]) == []


def test_several_steps_and_small_changes():
    values = [1.0] * 5 + [2.0] * 5 + [1.5] * 5
    assert [s.index for s in detect_steps(values)] == [5, 10]
    assert detect_steps([1.0, 1.0, 1.03, 1.03]) == []  # under MIN_CHANGE (5%)


def _history_doc(day, lazy, commit, statements=None):
    doc = _doc(_loading(lazy=lazy), label=f"aiosqlite 2026-11-0{day}")
    doc["created_at"] = f"2026-11-0{day}T00:00:00+00:00"
    doc["environment"]["git_commit"] = commit
    if statements is not None:
        for case in doc["cases"]:
            if case["variant"] == "selectinload":
                case["statements_per_op"] = statements
    return doc


def test_history_of_three_files_marks_the_step(tmp_path, capsys):
    results = tmp_path / "results"
    results.mkdir()
    # written out of order on purpose: history orders by created_at, not by name
    for name, doc in (("c.json", _history_doc(3, 8.0, "cccccccc11")),
                      ("a.json", _history_doc(1, 5.4, "aaaaaaaa11")),
                      ("b.json", _history_doc(2, 5.4, "bbbbbbbb11", statements=3))):
        (results / name).write_text(json.dumps(doc))
    (results / "broken.json").write_text("{")
    out = tmp_path / "history"
    assert main(["history", str(results), "--output", str(out)]) == 0
    page = (out / "index.html").read_text()
    steps = page[page.index('id="steps"'):page.index('id="runs"')]
    rows = re.findall(r"<tr><td>([^<]+)</td>.*?</tr>", steps, re.S)
    # lazy_n_plus_1 went from 5.4x to 8x raw_driver at both points, at commit ccccccc
    assert sorted(rows) == ["loading · lazy_n_plus_1 · parents=10 · aiosqlite",
                            "loading · lazy_n_plus_1 · parents=100 · aiosqlite"]
    assert "1.48× slower" in steps and "cccccccc11" in steps
    assert "loading · selectinload · parents=10 · aiosqlite</span>: 2 → 3" in steps
    assert "skipped:" in page and "broken.json" in page
    assert page.count('<div class="chart history">') == 4  # ratio and median, per point
    assert ">step</text>" in page  # the step marked on the charts


def test_history_needs_a_directory_of_results(tmp_path, capsys):
    assert main(["history", str(tmp_path / "none"), "--output", str(tmp_path / "o")]) == 2
    assert "is not a directory" in capsys.readouterr().err
    assert main(["history", str(tmp_path), "--output", str(tmp_path / "o")]) == 2
    assert "no results files in" in capsys.readouterr().err


def test_cases_at_two_rtts_are_two_series(tmp_path):
    from bench.judge.history import collect

    paths = []
    for day, rtt in ((1, 0.0), (2, 2.0)):
        doc = _history_doc(day, 5.4, f"{day}" * 10)
        for case in doc["cases"]:
            case["rtt_ms"] = rtt
        paths.append(tmp_path / f"{day}.json")
        paths[-1].write_text(json.dumps(doc))
    history = collect(paths)
    lazy = [s for s in history.series if s.variant == "lazy_n_plus_1" and "parents=10 " in
            s.params + " "]
    # one series per RTT, each with its one run: never a step between 0 and 2 ms
    assert sorted(s.params for s in lazy) == ["parents=10 rtt=0", "parents=10 rtt=2ms"]
    assert all(len(s.entries) == 1 for s in lazy)
