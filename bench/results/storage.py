"""Where results live, and which of them a report or a comparison takes.

Runs are files under results/ named `<UTC time>_<driver>.json`; `run_files` lists
them, `latest_per_driver` chooses the newest of each driver (`sqla-bench report
--latest`, `make report`), and `sqla-bench history` reads them all. A run being written
holds a lock on a file beside its results file (`<file>.lock`, its pid inside), so a
second run given the same --output refuses at once instead of interleaving its writes
with the first; the lock of a run that died is free.
"""

from __future__ import annotations

import fcntl
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from bench.results.file import ResultsFileError

RESULTS_DIR = Path("results")
PYTEST_BENCHMARK_JSON = "pytest-benchmark.json"


def new_results_path(driver: str, directory: Path = RESULTS_DIR) -> Path:
    """A fresh results path for a run of `driver`, its directory created."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{stamp}_{driver}.json"
    suffix = 1
    while path.exists() or _lock_path(path).exists():  # two runs started in one second
        suffix += 1
        path = directory / f"{stamp}_{driver}_{suffix}.json"
    return path


def _lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


class OutputLock:
    """Held while a run writes `path`; refuses when a live run already holds it.

    The hold is an flock on `<path>.lock`, not the file's existence: the kernel drops it
    when the holder dies, so a lock left by a killed run is free without guessing from a
    pid, and two runs started at the same instant cannot both take it (an empty lock file
    a run has created but not yet written its pid into is still held)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.lock = _lock_path(self.path)
        self._fd: int | None = None

    def __enter__(self) -> OutputLock:
        for _ in range(3):  # the file we locked was removed by a run finishing: once more
            try:
                fd = os.open(self.lock, os.O_CREAT | os.O_RDWR, 0o644)
            except OSError as exc:
                raise ResultsFileError(f"cannot write {self.path}: {exc.strerror}") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                holder = _holder(self.lock)
                raise ResultsFileError(
                    f"{self.path} is being written by another sqla-bench run"
                    f"{f' (pid {holder})' if holder else ''}; give this run another --output"
                ) from None
            if not _same_file(fd, self.lock):
                os.close(fd)
                continue
            os.ftruncate(fd, 0)
            os.write(fd, str(os.getpid()).encode())
            self._fd = fd
            return self
        raise ResultsFileError(f"cannot lock {self.path}: another run keeps taking it")

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._fd is not None:
            self.lock.unlink(missing_ok=True)  # before the unlock: a waiter then sees it gone
            os.close(self._fd)
            self._fd = None


def _same_file(fd: int, path: Path) -> bool:
    """The locked descriptor is still the file at `path` (not one a finishing run removed)."""
    try:
        on_disk = path.stat()
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (held.st_dev, held.st_ino) == (on_disk.st_dev, on_disk.st_ino)


def _holder(lock: Path) -> int | None:
    try:
        return int(lock.read_text().strip())
    except (OSError, ValueError):
        return None


def being_written(path: Path) -> bool:
    """A live run holds the file's lock: it is not finished yet."""
    try:
        fd = os.open(_lock_path(path), os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def run_files(directory: Path = RESULTS_DIR) -> list[Path]:
    """The sqla-bench results files in `directory`, oldest first."""
    files = [p for p in directory.glob("*.json") if p.name != PYTEST_BENCHMARK_JSON]
    return sorted(files, key=lambda p: (p.stat().st_mtime, p.name))


def latest_per_driver(directory: Path = RESULTS_DIR) -> list[Path]:
    """The newest complete-or-interrupted results file of each driver, by when it was made.
    A run of several drivers counts for every driver it measured (a driver it left out,
    its server down, not): it is the newest of each of them it is newer than. Each file
    is listed once, however many drivers it is the newest of."""
    newest: dict[str, tuple[str, Path]] = {}
    for path in run_files(directory):
        if being_written(path):
            continue
        try:
            head = json.loads(path.read_text(encoding="utf-8"))
            drivers = _drivers_measured(head["config"])
            created = str(head.get("created_at", ""))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            continue  # not a results file: the report names bad files it is given
        for driver in drivers:
            if driver not in newest or created >= newest[driver][0]:
                newest[driver] = (created, path)
    chosen = {path for _, path in newest.values()}
    return sorted(chosen, key=lambda path: path.name)


def _drivers_measured(config: dict[str, Any]) -> list[str]:
    """The driver labels a results file holds cases of: config.drivers of a run of several
    (without those it left out), else its one config.driver."""
    several = config.get("drivers")
    if isinstance(several, list) and several:
        return [str(entry.get("label") or entry["driver"]) for entry in several
                if not entry.get("skipped")]
    return [str(config["driver"])]


def new_ab_directory(directory: Path = RESULTS_DIR) -> Path:
    """Where an `ab` invocation keeps its runs and its two merged results files."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return directory / f"ab-{stamp}"


def previous_saved_run(storage: Path, new: Path) -> Path | None:
    """The newest run pytest-benchmark saved (--benchmark-autosave) before `new`, in the
    storage of this machine: the gate's baseline. Autosave's copy of `new` itself is
    skipped: it holds the same benchmarks, though pytest-benchmark stamps it a fraction
    of a second apart from the --benchmark-json file."""
    new_doc = _read_saved(Path(new))
    new_time = new_doc.get("datetime") if new_doc else None
    new_print = _fingerprint(new_doc) if new_doc else None
    saved = []
    for path in Path(storage).glob("*/*.json"):
        doc = _read_saved(path)
        when = doc.get("datetime") if doc else None
        if not when or (new_print is not None and _fingerprint(doc) == new_print):
            continue
        if new_time is None or str(when) < str(new_time):
            saved.append((str(when), path.name, path))
    return max(saved)[2] if saved else None


def _read_saved(path: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # compare names what is wrong with the file itself
    return doc if isinstance(doc, dict) else None


def _fingerprint(doc: dict[str, Any] | None) -> list[Any] | None:
    """What identifies one pytest-benchmark session's results: each benchmark's name and
    timings (None: no benchmarks to tell it by)."""
    benchmarks = doc.get("benchmarks") if doc else None
    if not isinstance(benchmarks, list) or not benchmarks:
        return None
    return [(b.get("fullname"), b.get("stats")) if isinstance(b, dict) else b
            for b in benchmarks]
