"""Where results live and which runs a report takes: bench.results.storage."""

import fcntl
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.results import storage
from bench.results.file import ResultsFileError


def _run_file(directory, name, driver, created):
    path = directory / name
    path.write_text(json.dumps({"config": {"driver": driver}, "created_at": created}))
    return path


def test_latest_per_driver_is_the_newest_file_of_each_driver(tmp_path):
    _run_file(tmp_path, "1.json", "asyncpg", "2026-11-01T00:00:00+00:00")
    newest = _run_file(tmp_path, "2.json", "asyncpg", "2026-11-03T00:00:00+00:00")
    other = _run_file(tmp_path, "3.json", "psycopg", "2026-11-02T00:00:00+00:00")
    (tmp_path / "notes.json").write_text("[1, 2]")  # not a results file: left out
    (tmp_path / storage.PYTEST_BENCHMARK_JSON).write_text("{}")
    assert storage.latest_per_driver(tmp_path) == [newest, other]


def _several_file(directory, name, labels, created, skipped=()):
    path = directory / name
    drivers = [{"label": label, "driver": label.split("@")[0],
                **({"skipped": "server down"} if label in skipped else {})} for label in labels]
    path.write_text(json.dumps({"config": {"driver": labels[0], "drivers": drivers},
                                "created_at": created}))
    return path


def test_a_run_of_several_drivers_is_the_newest_of_each_driver_it_measured(tmp_path):
    _run_file(tmp_path, "1.json", "psycopg", "2026-11-01T00:00:00+00:00")
    aiopg = _run_file(tmp_path, "2.json", "aiopg", "2026-11-05T00:00:00+00:00")
    several = _several_file(tmp_path, "3.json", ["asyncpg", "psycopg", "aiopg", "asyncmy"],
                            "2026-11-03T00:00:00+00:00", skipped=("asyncmy",))
    older_asyncmy = _run_file(tmp_path, "4.json", "asyncmy", "2026-11-02T00:00:00+00:00")
    # asyncpg and psycopg: the run of several, listed once; aiopg: its later run of its own;
    # asyncmy: the run of several left it out, so its own older run stays the newest.
    assert storage.latest_per_driver(tmp_path) == [aiopg, several, older_asyncmy]
    newer = _several_file(tmp_path, "5.json", ["asyncpg", "asyncpg@2"],
                          "2026-11-06T00:00:00+00:00")
    assert storage.latest_per_driver(tmp_path) == [aiopg, several, older_asyncmy, newer]
    (tmp_path / "3.json").unlink()  # psycopg falls back to its own run
    assert storage.latest_per_driver(tmp_path) == [tmp_path / "1.json", aiopg, older_asyncmy,
                                                   newer]


def test_a_file_a_live_run_is_writing_is_not_taken(tmp_path):
    older = _run_file(tmp_path, "1.json", "asyncpg", "2026-11-01T00:00:00+00:00")
    running = _run_file(tmp_path, "2.json", "asyncpg", "2026-11-02T00:00:00+00:00")
    with storage.OutputLock(running):
        assert storage.being_written(running)
        assert storage.latest_per_driver(tmp_path) == [older]
        with pytest.raises(ResultsFileError, match="being written by another sqla-bench run"):
            with storage.OutputLock(running):
                pass
    assert not storage.being_written(running)
    assert storage.latest_per_driver(tmp_path) == [running]


def test_a_lock_left_by_a_dead_run_is_ignored(tmp_path):
    path = _run_file(tmp_path, "1.json", "asyncpg", "2026-11-01T00:00:00+00:00")
    (tmp_path / "1.json.lock").write_text("999999999")  # no such process
    assert not storage.being_written(path)
    assert storage.latest_per_driver(tmp_path) == [path]


def test_a_lock_taken_but_not_yet_written_is_held(tmp_path):
    # The moment between a run creating its lock file and writing its pid into it: a
    # second run must still refuse (two runs started at once both won before).
    path = tmp_path / "1.json"
    fd = os.open(tmp_path / "1.json.lock", os.O_CREAT | os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        assert storage.being_written(path)
        with pytest.raises(ResultsFileError, match="being written by another sqla-bench run;"):
            with storage.OutputLock(path):
                pass
    finally:
        os.close(fd)
    with storage.OutputLock(path):  # free once its holder lets go
        assert storage.being_written(path)


def test_the_lock_of_a_killed_run_is_free(tmp_path):
    path = tmp_path / "1.json"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; "
         "from bench.results import storage; lock = storage.OutputLock(Path(sys.argv[1])); "
         "lock.__enter__(); print('held', flush=True); time.sleep(60)", str(path)],
        stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2])
    try:
        assert holder.stdout.readline() == "held\n"
        assert storage.being_written(path)
    finally:
        holder.kill()
        holder.wait()
    assert (tmp_path / "1.json.lock").read_text() == str(holder.pid)  # left behind
    assert not storage.being_written(path)
    with storage.OutputLock(path):
        assert (tmp_path / "1.json.lock").read_text() == str(os.getpid())
    assert not (tmp_path / "1.json.lock").exists()


def test_new_results_paths_never_collide(tmp_path):
    first = storage.new_results_path("asyncpg", tmp_path)
    first.write_text("{}")
    second = storage.new_results_path("asyncpg", tmp_path)
    assert second != first and second.name.endswith("_asyncpg_2.json")
