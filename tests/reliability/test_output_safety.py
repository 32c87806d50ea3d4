"""The results file under trouble: the disk fills while it is written, and two runs are
given the same --output at once. Either way the file at that path is a whole results
file, and the failing side says so in one line."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.cli import EXIT_USAGE, main
from bench.results import file as results
from tests.reliability.clihelp import REPO, assert_one_line_error

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures_results" / "v2_aiosqlite_loading.json"
TINY_RUN = ["--driver", "aiosqlite", "--scenario", "loading", "--param", "parents=5",
            "--param", "children=2", "--warmup", "0"]


class _FullDisk:
    """A temporary file on a disk that fills: part of the text lands, then ENOSPC."""

    def __init__(self, handle: Any) -> None:
        self._handle = handle

    def __enter__(self) -> _FullDisk:
        return self

    def __exit__(self, *exc: object) -> None:
        self._handle.close()

    def write(self, text: str) -> int:
        self._handle.write(text[: len(text) // 2])
        self._handle.flush()
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handle, name)


def test_a_disk_that_fills_while_the_results_file_is_written(tmp_path, monkeypatch, capsys):
    out = tmp_path / "run.json"
    shutil.copy(FIXTURE, out)  # the previous run at that path
    before = out.read_bytes()
    temporary: dict[int, str] = {}  # fd -> name of each temporary results file made
    real_mkstemp, real_fdopen = tempfile.mkstemp, os.fdopen

    def mkstemp(*args: Any, **kwargs: Any) -> tuple[int, str]:
        fd, name = real_mkstemp(*args, **kwargs)
        temporary[fd] = name
        return fd, name

    def fdopen(fd: int, *args: Any, **kwargs: Any) -> Any:
        handle = real_fdopen(fd, *args, **kwargs)
        return _FullDisk(handle) if fd in temporary else handle  # the lock file writes fine

    monkeypatch.setattr(results.tempfile, "mkstemp", mkstemp)
    monkeypatch.setattr(results.os, "fdopen", fdopen)
    status = main(["run", *TINY_RUN, "--url", f"sqlite:///{tmp_path / 'db.sqlite3'}",
                   "--rounds", "2", "--quiet", "--output", str(out)])
    monkeypatch.undo()

    err = capsys.readouterr().err
    assert status == EXIT_USAGE and "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("sqla-bench: error:")]
    assert errors == [f"sqla-bench: error: cannot write {out}: No space left on device"], err
    assert temporary, "the run never wrote its results file"
    assert out.read_bytes() == before  # the previous file is whole and unchanged
    assert not [name for name in temporary.values() if Path(name).exists()]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["db.sqlite3", "run.json"]  # no lock


def _start(out: Path, db: Path) -> subprocess.Popen[str]:
    # 300 rounds of every loading variant: seconds, so the two runs overlap.
    command = [sys.executable, "-m", "bench.cli", "run", *TINY_RUN, "--url", f"sqlite:///{db}",
               "--rounds", "300", "--quiet", "--output", str(out)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("SQLA_BENCH_DEBUG", None)
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=REPO)


def test_two_runs_given_the_same_output_at_once(tmp_path):
    out = tmp_path / "same.json"
    runs = [_start(out, tmp_path / f"db{n}.sqlite3") for n in (1, 2)]
    finished = []
    for proc in runs:
        stdout, stderr = proc.communicate(timeout=300)
        finished.append(subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr))
    winners = [p for p in finished if p.returncode == 0]
    losers = [p for p in finished if p.returncode != 0]
    assert len(winners) == 1 and len(losers) == 1, [(p.returncode, p.stderr) for p in finished]
    assert_one_line_error(losers[0], "is being written by another sqla-bench run",
                          "give this run another --output")
    # The file is the winner's run, whole: one case per variant, never two runs' cases.
    doc = results.load(out)
    assert doc["run_status"] == "complete"
    assert len(doc["cases"]) == 5 and all(c["status"] == "ok" for c in doc["cases"])
    assert len(json.loads(out.read_text())["cases"]) == len({c["variant"] for c in doc["cases"]})
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("same")) == \
        ["same.json"]  # no lock or temporary file left
