"""Counted mode's plumbing without valgrind: merging layouts, the children's arguments,
the one line where valgrind is missing, older files still loading."""

import json
import os
import subprocess
import sys

import pytest

from bench.cli import main
from bench.cli.counted import child_argv
from bench.db.namespace import is_name, named
from bench.measure.instructions.callgrind_out import RoundCount, TotalsReader
from bench.measure.instructions.counting import RoundCounter, out_file
from bench.measure.instructions.identity import layout_key
from bench.measure.instructions.import_pad import IMPORT_PAD_VARIABLE, OBJECTS_PER_LAYOUT, STEP
from bench.measure.instructions.layouts import LAYOUT_PADS, child_env
from bench.measure.instructions.merge import merge_into, merged_record
from bench.plugin.counted import (
    _status,
    child_args,
    compile_sources,
    deal,
    namespace_label,
    work_slot,
)
from bench.results import file as results
from tests.unit.test_compare import _doc


def _layout(rounds):
    return {"per_op": sorted(rounds)[1], "rounds": rounds, "layouts": [], "spread": None,
            "round_spread": None, "valgrind": "valgrind-3.19.0", "python_build": "CPython x"}


def test_the_median_over_layouts_with_its_spread():
    merged = merged_record([_layout([100.0, 101.0, 100.0]), None,
                            _layout([103.0, 103.0, 103.0]), _layout([99.0, 99.0, 98.0])])
    assert merged["layouts"] == [100.0, 103.0, 99.0]
    assert merged["per_op"] == 100.0
    assert merged["spread"] == pytest.approx(4 / 100)
    assert merged["rounds_agree"] is False  # 1% between one layout's rounds
    assert merged_record([None, None]) is None


def test_merge_pairs_cases_by_key_and_leaves_uncounted_ones():
    target = [{"k": "a"}, {"k": "b"}]
    layouts = [[{"k": "a", "i": _layout([1.0, 1.0, 1.0])}],
               [{"k": "a", "i": _layout([3.0, 3.0, 3.0])}, {"k": "b"}]]
    counted = merge_into(target, layouts, key=lambda c: c["k"], read=lambda c: c.get("i"),
                         write=lambda c, m: c.update(per_op=m["per_op"]))
    assert counted == 1 and target[0]["per_op"] == 2.0 and "per_op" not in target[1]


def test_callgrind_totals_by_client_request_label(tmp_path):
    text = ("part: 1\ndesc: Trigger: Client Request: sqla-bench:1:1\ntotals: 1234\n"
            "part: 2\ndesc: Trigger: Program termination\ntotals: 99999\n")
    out = tmp_path / "callgrind.out"
    out.write_text(text)
    assert TotalsReader(out).read() == {"sqla-bench:1:1": RoundCount(1234)}


def test_a_rounds_count_leaves_out_the_type_caches_miss_path(tmp_path):
    """Calls to find_name_in_mro, their callees included, are subtracted wherever they are
    made from; its name is spelled out once per file, later parts use its number alone."""
    first = ("part: 1\ndesc: Trigger: Client Request: sqla-bench:1:1\n"
             "fn=(1) _PyType_Lookup\n0 50\ncfn=(2) find_name_in_mro\ncalls=3 0\n0 400\n"
             "cfn=(3) _Py_dict_lookup\ncalls=1 0\n0 70\n"
             "fn=(4) _PyType_Lookup'2\n0 5\ncfn=(5) find_name_in_mro'2\ncalls=1 0\n+2 30\n"
             "totals: 1000\n")
    second = ("part: 2\ndesc: Trigger: Client Request: sqla-bench:1:2\n"
              "fn=(1)\n0 50\ncfn=(2)\ncalls=1 0\n0 120\ntotals: 900\n")
    out = tmp_path / "callgrind.out"
    out.write_text(first)
    reader = TotalsReader(out)
    assert reader.read()["sqla-bench:1:1"] == RoundCount(1000, 430)
    assert reader.read()["sqla-bench:1:1"].counted == 570
    with out.open("a") as handle:  # the next dump, read on its own
        handle.write(second)
    assert reader.read()["sqla-bench:1:2"] == RoundCount(900, 120)


def test_a_counting_childs_arguments(tmp_path):
    argv = ["--driver", "aiosqlite", "--measure", "both", "--output", "x.json", "--explain",
            "--layouts=3", "--url", "sqlite:///a.db"]
    first = child_argv(argv, tmp_path / "0.json", None, tmp_path / "0.sqlite3")
    assert first[:3] == ["--driver", "aiosqlite", "--explain"]
    assert first[first.index("--rounds") + 1] == "3"  # a few counted rounds by default
    assert first[first.index("--url") + 1] == f"sqlite:///{tmp_path / '0.sqlite3'}"
    assert "sqlite:///a.db" not in first  # each layout on a file of its own
    assert first.count("--measure") == 1 and "instructions" in first and "x.json" not in first
    later = child_argv(argv, tmp_path / "1.json", 5, None, first=False)
    assert "--explain" not in later and "--no-count-calls" in later and "--rounds" not in later
    pytest_args = child_args(["tests/benchmarks", "--sqla-measure", "instructions",
                              "--benchmark-json=x.json", "--benchmark-autosave", "-k", "orm"],
                             ["psycopg"], tmp_path / "child0-0.json")
    assert pytest_args[:5] == ["tests/benchmarks", "-k", "orm", "--assert=plain",
                               "--durations=15"]
    assert "--sqla-measure" not in pytest_args and "x.json" not in " ".join(pytest_args)
    assert pytest_args[5:7] == ["--sqla-driver", "psycopg"]
    assert "--assert=plain" not in child_args(["--assert=rewrite"], ["psycopg"], tmp_path / "j")
    # sync baselines (short) dealt last; never an empty child
    assert deal(["sqlite3", "aiosqlite", "pymysql", "asyncpg", "psycopg"], 2) == [
        ["aiosqlite", "psycopg", "pymysql"], ["asyncpg", "sqlite3"]]
    assert deal(["aiosqlite"], 2) == [["aiosqlite"]]
    assert _status([0, 5, 0]) == 0 and _status([5, 5]) == 5 and _status([0, 1, 5]) == 1


def test_without_valgrind_instructions_mode_says_how_to_install(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))  # no valgrind on it
    status = main(["run", "--driver", "aiosqlite", "--scenario", "raw_queries",
                   "--measure", "instructions", "--output", str(tmp_path / "r.json")])
    err = capsys.readouterr().err
    assert status == 2 and len(err.strip().splitlines()) == 1
    assert "valgrind" in err and "apt-get install valgrind" in err
    assert not (tmp_path / "r.json").exists()


@pytest.mark.parametrize("extra", [["--processes", "2"], ["--cluster", "127.0.0.1:9"],
                                   ["--service-url", "http://127.0.0.1:9"]])
def test_instructions_mode_refuses_work_in_other_processes(extra, tmp_path, capsys):
    # callgrind counts the rounds' own process: work sent elsewhere would go uncounted
    status = main(["run", "--driver", "aiosqlite", "--scenario", "fastapi_service",
                   "--measure", "instructions", *extra, "--output", str(tmp_path / "r.json")])
    err = capsys.readouterr().err
    assert status == 2 and len(err.strip().splitlines()) == 1
    assert "counts this process's rounds" in err and extra[0] in err
    assert not (tmp_path / "r.json").exists()


def test_counted_fields_load_and_bad_ones_are_refused(tmp_path):
    doc = _doc()
    doc["cases"][1]["instructions_per_op"] = 1000.0
    doc["cases"][1]["instructions"] = _layout([1000.0, 1000.0, 1001.0])
    doc["cases"][1]["plan_fingerprint"] = "abc"
    path = tmp_path / "r.json"
    path.write_text(json.dumps(doc))
    assert results.load(path)["cases"][1]["instructions"]["per_op"] == 1000.0
    doc["cases"][1]["instructions"]["rounds"] = ["x"]
    path.write_text(json.dumps(doc))
    with pytest.raises(results.ResultsFileError, match="malformed instructions record"):
        results.load(path)


def test_counting_conditions_collect_once_and_leave_survivors_frozen():
    """Inside: collection off, a long switch interval. After: both restored, and what
    survived stays frozen, so the next round's collection scans only what is new (in a
    subprocess: freezing the test runner's heap would outlive this test)."""
    import subprocess
    import sys

    code = (
        "import gc, sys\n"
        "from bench.measure.instructions.quiet import counting_conditions\n"
        "before = sys.getswitchinterval()\n"
        "with counting_conditions():\n"
        "    inside = (gc.isenabled(), sys.getswitchinterval(), gc.get_freeze_count())\n"
        "print(inside[0], inside[1] > 100, inside[2] > 0, gc.isenabled(),\n"
        "      sys.getswitchinterval() == before, gc.get_freeze_count() > inside[2] // 2)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "True", "True", "True", "True", "True"]


def test_the_totals_reader_reads_only_what_was_written_since(tmp_path):
    """A counting child's callgrind file grows by a dump per round; each read parses the new
    parts only (reading it whole after every case grew with the square of the cases)."""
    out = tmp_path / "callgrind.out"
    reader = TotalsReader(out)
    assert reader.read() == {}  # nothing written yet
    part = "part: {n}\ndesc: Trigger: Client Request: sqla-bench:1:{n}\ntotals: {ir}\n"
    out.write_text(part.format(n=1, ir=100))
    assert reader.read() == {"sqla-bench:1:1": RoundCount(100)}
    first = reader.offset
    with out.open("a") as handle:
        handle.write(part.format(n=2, ir=250))
    assert reader.read() == {"sqla-bench:1:1": RoundCount(100), "sqla-bench:1:2": RoundCount(250)}
    assert reader.offset > first and reader.offset == out.stat().st_size


def test_the_layout_key_follows_lengths_not_contents():
    env = {"HOME": "/root", "PATH": "/usr/bin"}
    key = layout_key(["pytest", "tests"], env, cwd="/work/head")
    # a checkout at a path of equal length is the same layout: base and head in CI
    assert layout_key(["pytest", "tests"], env, cwd="/work/base") == key
    assert layout_key(["pytest", "tests"], {"HOME": "/abcd", "PATH": "/usr/xyz"},
                      cwd="/work/head") == key
    # a longer path, argument or variable, or one variable more, moves every address
    assert layout_key(["pytest", "tests"], env, cwd="/work/head2") != key
    assert layout_key(["pytest", "tests/"], env, cwd="/work/head") != key
    assert layout_key(["pytest", "tests"], {**env, "X": ""}, cwd="/work/head") != key


def test_a_counting_childs_environment_leaves_out_how_it_was_started(tmp_path):
    started = {"HOME": "/root", "MAKEFLAGS": "w", "MAKELEVEL": "1", "OLDPWD": "/work",
               "_": "/usr/bin/make", "PWD": "/elsewhere", "SQLA_BENCH_LAYOUT_PAD": "xx"}
    env = child_env(3, tmp_path / "out", base=started, cwd=tmp_path)
    assert env["PWD"] == str(tmp_path) and env["HOME"] == "/root"
    for name in ("MAKEFLAGS", "MAKELEVEL", "OLDPWD", "_"):
        assert name not in env
    # its own padding, not the caller's, and its import allocation's number
    assert env["SQLA_BENCH_LAYOUT_PAD"] == "x" * LAYOUT_PADS[3]
    assert env["SQLA_BENCH_IMPORT_PAD"] == "3"
    assert env["PYTHONHASHSEED"] == "0" and env["PYTHONMALLOC"] == "malloc"
    # make -C and cd && make start the same child
    assert child_env(3, tmp_path / "out", base={**started, "MAKEFLAGS": "wk"},
                     cwd=tmp_path) == env


def test_a_pytest_counting_child_gets_a_temporary_directory_of_fixed_length(tmp_path):
    args = child_args(["tests/benchmarks"], ["asyncpg"], tmp_path / "child0-0.json",
                      tmp_path / "child0-0.tmp")
    assert args[args.index("--basetemp") + 1] == str(tmp_path / "child0-0.tmp")
    assert child_args(["--basetemp=/x"], ["asyncpg"], tmp_path / "j",
                      tmp_path / "t").count("--basetemp") == 0


def test_merged_counts_carry_their_layouts_keys():
    layouts = [{**_layout([1.0, 1.0, 1.0]), "layout": key} for key in ("aaa", "bbb")]
    assert merged_record(layouts)["layout"] == "aaa,bbb"
    assert merged_record([layouts[0], _layout([1.0, 1.0, 1.0])])["layout"] is None


def test_the_layout_key_is_the_same_in_every_test_of_a_session():
    env = {"HOME": "/root"}
    assert layout_key(["pytest"], {**env, "PYTEST_CURRENT_TEST": "t.py::a (call)"},
                      cwd="/w") == layout_key(["pytest"], env, cwd="/w")


def test_round_labels_have_one_length_whatever_the_pid(tmp_path, monkeypatch):
    # a label is allocated every round: one digit more of PID moved a child's counts
    counter = RoundCounter(requests=None, out_file=tmp_path / "out")  # type: ignore[arg-type]
    lengths = set()
    for pid in (7, 9_999, 10_000, 4_194_304):
        monkeypatch.setattr(os, "getpid", lambda pid=pid: pid)
        _call, label = counter.bracket(lambda: None, is_sync=True)
        lengths.add(len(label))
        assert f":{pid:010d}:" in label
    assert len(lengths) == 1


def test_callgrind_file_paths_have_one_length_whatever_the_pid(tmp_path):
    template = str(tmp_path / "child0-0.%p.callgrind")
    paths = {pid: out_file(template, pid) for pid in (7, 9_999, 10_000, 4_194_304)}
    assert len({len(path) for path in paths.values()}) == 1
    for pid, path in paths.items():  # the same file as valgrind's own name for it
        (tmp_path / f"child0-0.{pid}.callgrind").write_text(str(pid))
        assert open(path).read() == str(pid)
    reader = TotalsReader(paths[7])
    assert reader.path == paths[7]  # kept padded: pathlib would fold the separators


def test_a_counting_child_names_its_namespace_the_same_in_every_run(tmp_path):
    env = child_env(0, tmp_path / "out", base={"SQLA_BENCH_NAMESPACE": "inherited"},
                    cwd=tmp_path, extra={"SQLA_BENCH_NAMESPACE": namespace_label(0, 1, 2)})
    assert env["SQLA_BENCH_NAMESPACE"] == "counted_00_01_2"
    assert "SQLA_BENCH_NAMESPACE" not in child_env(0, tmp_path / "out", base=env, cwd=tmp_path)
    assert is_name(named(namespace_label(63, 15, 7)))


def test_each_concurrent_run_gets_the_first_free_work_slot_emptied(tmp_path):
    with work_slot(tmp_path) as (first, slot):
        (first / "leftover.log").write_text("x")
        with work_slot(tmp_path) as (second, other):
            assert (slot, other) == (0, 1) and first != second
    with work_slot(tmp_path) as (again, slot):  # freed: the same path as before, emptied
        assert (again, slot) == (first, 0) and list(again.iterdir()) == []


def test_sources_are_compiled_before_the_children_start(tmp_path, monkeypatch):
    for where in ("pkg", ".venv/lib/site-packages/dep", "site-packages/other"):
        (tmp_path / where).mkdir(parents=True)
        (tmp_path / where / "mod.py").write_text("VALUE = 1\n")
    monkeypatch.setattr(sys, "dont_write_bytecode", True)  # PYTHONDONTWRITEBYTECODE: never
    compile_sources(tmp_path)
    assert not (tmp_path / "pkg" / "__pycache__").exists()
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    compile_sources(tmp_path)
    assert list((tmp_path / "pkg" / "__pycache__").glob("mod.*.pyc"))
    assert not (tmp_path / ".venv/lib/site-packages/dep/__pycache__").exists()
    assert not (tmp_path / "site-packages/other/__pycache__").exists()


def test_a_layout_allocates_part_way_through_the_imports_then_gets_out_of_the_way(tmp_path):
    """Layout k allocates after its (STEP x k)-th new import and leaves sys.meta_path; layout
    0 installs nothing. Run in a fresh interpreter: the finder sees only that process's
    imports."""
    package = tmp_path / "padprobe"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for i in range(2 * STEP + 5):
        (package / f"m{i}.py").write_text(f"VALUE = {i}\n")
    probe = (
        "import sys\n"
        "from bench.measure.instructions import import_pad\n"
        "import_pad.install()\n"
        "finders = len(sys.meta_path)\n"
        "seen = []\n"
        f"for i in range({2 * STEP + 5}):\n"
        "    __import__(f'padprobe.m{i}')\n"
        "    seen.append(len(import_pad._kept))\n"
        "print(finders, len(sys.meta_path), seen.index(1) if 1 in seen else -1,"
        " len(import_pad._kept[0]) if import_pad._kept else 0)\n")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), root])}

    def run(layout):
        env[IMPORT_PAD_VARIABLE] = str(layout)
        done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True,
                              text=True, check=True)
        return [int(x) for x in done.stdout.split()]

    plain = run(0)
    assert plain[0] == plain[1] and plain[2:] == [-1, 0]  # nothing installed, nothing kept
    finders, after, first_kept, objects = run(2)
    assert finders == plain[0] + 1 and after == plain[1]  # in, then out of sys.meta_path
    # the package itself is one new import before the modules: the mark falls on module
    # 2*STEP - 2, and the allocation grows with the layout
    assert first_kept == 2 * STEP - 2 and objects == 2 * OBJECTS_PER_LAYOUT


def test_the_layout_key_names_the_import_allocation():
    env = {"HOME": "/root", IMPORT_PAD_VARIABLE: "1"}
    assert layout_key(["pytest"], env, cwd="/w") != layout_key(
        ["pytest"], {**env, IMPORT_PAD_VARIABLE: "2"}, cwd="/w")
