"""In a counting child: each group of tests runs in a process forked from one prepared parent.

A counting child that ran the whole suite in one process carried every test's history into
the next: what earlier tests left on the heap and in the interpreter's caches (and how long
their network replies took to arrive, which decides how often the event loop woke and what
it allocated) moved a later test's count by up to 6% between two runs of unchanged code
(docs/ci-gate.md). Here the child collects, imports what the tests will use (the selected
drivers and their SQLAlchemy dialects, the mappers), claims its namespaces, and then forks
once per group: every group starts from that state, so its counts do not follow what ran
before it or how long that took. That state is the same in every run: nothing before the
first fork talks to a server or starts a process (the namespaces are claimed by a helper
process, bench.plugin.engines; pytest-benchmark's git and `file` are not run,
bench.plugin.counting_child), and every path and name it holds has the same contents
(bench.plugin.counted). Each of those, left to vary, moved counts by 1.5-5% (docs/ci-gate.md).

A group is one test, or consecutive tests marked `sqla_share_process` with equal keys (the
variants of one scenario point, which share its tables and seeded data). The forked process
runs its tests through pytest's own protocol, every fixture set up and torn down inside it,
and writes their reports, their pytest-benchmark results and the plug-in's table rows to a
file. The parent only waits between forks; when every group has run, it reads the files
and logs the reports as though it had run the tests itself.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

SHARE_MARK = "sqla_share_process"
RowsKey = pytest.StashKey[list[dict[str, Any]]]
MARKER_HELP = (f"{SHARE_MARK}(key): under --sqla-measure instructions, consecutive tests with "
               "the same key run in one forked process (their fixtures shared); every "
               "other test runs in a process of its own")


def group_key(item: pytest.Item) -> tuple[str, str]:
    mark = item.get_closest_marker(SHARE_MARK)
    if mark is None or not mark.args:
        return ("alone", item.nodeid)
    return (str(item.path), str(mark.args[0]))


def groups(items: list[pytest.Item]) -> list[list[pytest.Item]]:
    """Consecutive items with one key form a group; collection order is kept."""
    out: list[tuple[tuple[str, str], list[pytest.Item]]] = []
    for item in items:
        key = group_key(item)
        if out and out[-1][0] == key:
            out[-1][1].append(item)
        else:
            out.append((key, [item]))
    return [members for _, members in out]


def run_forked(session: pytest.Session, drivers: list[str], rows: RowsKey) -> bool:
    """pytest_runtestloop of a counting child: prepare, fork each group in turn, and only
    when every group has run, read and log what they sent (`rows`: where the plug-in keeps
    its table's rows; `drivers`: the selected ones). Between forks this process
    does nothing but wait: reading a group's results here (their sizes follow its times)
    would change the heap the next group is forked with."""
    if session.testsfailed and not session.config.option.continue_on_collection_errors:
        raise session.Interrupted(f"{session.testsfailed} error(s) during collection")
    if session.config.option.collectonly:
        return True
    # in the session's temporary directory: a path of the same contents in every run
    # (bench.plugin.counted), as every string the groups inherit should be
    outbox = prepare(session, drivers) / "sqla-bench-groups"
    outbox.mkdir()
    plan = groups(session.items)
    paths = [outbox / f"group-{index:05d}.json" for index in range(len(plan))]
    statuses = [0] * len(plan)
    maxfail, failed, ran = session.config.option.maxfail, 0, 0
    for index in range(len(plan)):
        statuses[index] = _fork(session, plan[index], paths[index], rows)
        ran += 1
        failed += statuses[index] != 0
        if maxfail and failed >= maxfail:
            break  # -x, --maxfail: stop after the group that failed
    try:
        for index in range(ran):
            _log(session, plan[index], _received(session, plan[index], paths[index],
                                                 statuses[index], rows))
    finally:
        shutil.rmtree(outbox, ignore_errors=True)
    return True


def _log(session: pytest.Session, group: list[pytest.Item], received: list[list[Any]]) -> None:
    for item, reports in zip(group, received, strict=True):
        item.ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
        for report in reports:
            item.ihook.pytest_runtest_logreport(report=report)
        item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
        if session.shouldfail:
            raise session.Failed(session.shouldfail)
        if session.shouldstop:
            raise session.Interrupted(session.shouldstop)


def prepare(session: pytest.Session, drivers: list[str]) -> Path:
    """What every group would otherwise do for itself, done once before the first fork:
    import the selected drivers and their dialects, claim this process's namespace on each
    server, configure the mappers, make the session's temporary directory (pytest empties
    it when first asked for it), which it returns."""
    import sqlalchemy as sa
    from sqlalchemy.orm import configure_mappers

    import bench.plugin.async_benchmark  # noqa: F401 - what every test imports
    import bench.plugin.engines
    import bench.plugin.open_point  # noqa: F401
    from bench.db.database import resolve_url
    from bench.db.drivers import DriverNotInstalled, get_driver
    from bench.measure.instructions.counting import NAMESPACE_VARIABLE

    label = os.environ.get(NAMESPACE_VARIABLE)  # its parent's: the same in every run

    for name in drivers:
        driver = get_driver(name)
        try:
            driver.require()
        except DriverNotInstalled:
            continue  # its tests say so themselves
        sa.make_url(f"{driver.scheme}://").get_dialect()
        if driver.backend != "sqlite":  # claimed once for every group, dropped at the end
            bench.plugin.engines.claim_in_helper(resolve_url(driver), label)
    configure_mappers()
    basetemp: Path = session.config._tmp_path_factory.getbasetemp()  # type: ignore[attr-defined]
    return basetemp


def _fork(session: pytest.Session, group: list[pytest.Item], path: Path, rows: RowsKey) -> int:
    """Run the group in a forked process that writes its results to `path`; its wait
    status (0: every test passed)."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the forked process: never returns
        _child(session, group, path, rows)
    return os.waitpid(pid, 0)[1]


def _received(session: pytest.Session, group: list[pytest.Item], path: Path, status: int,
              rows: RowsKey) -> list[list[Any]]:
    """The group's reports per item, its benchmarks and table rows taken into this
    session; a group that sent nothing whole (a crash) fails each of its tests."""
    try:
        shipped = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        shipped = None
    if not isinstance(shipped, dict) or len(shipped.get("reports", [])) != len(group):
        why = (f"the forked process of this test's group exited with status "
               f"{os.waitstatus_to_exitcode(status)} before it reported"
               + (f": {shipped['error']}" if isinstance(shipped, dict) and shipped.get("error")
                  else ""))
        return [[_crashed(item, why)] for item in group]
    config = session.config
    _benchmarks(config).extend(Shipped(b) for b in shipped["benchmarks"])
    config.stash.setdefault(rows, []).extend(shipped["rows"])
    return [[_report(config, data) for data in reports] for reports in shipped["reports"]]


def _report(config: pytest.Config, data: dict[str, Any]) -> Any:
    report = config.hook.pytest_report_from_serializable(config=config, data=data)
    if isinstance(report.longrepr, list):  # a skip's (path, line, reason), a list in JSON
        report.longrepr = tuple(report.longrepr)
    return report


def _child(session: pytest.Session, group: list[pytest.Item], path: Path, rows_key: RowsKey
           ) -> None:
    """Run the group, write what it produced, and leave without the parent's exit work;
    exit status 1 if a test failed or the group could not run."""
    from bench.plugin import engines  # prepare() imported it: no work here

    config = session.config
    code = 0
    sent: dict[str, Any] = {"reports": [], "benchmarks": [], "rows": []}
    try:
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:  # the parent logs the reports: say nothing here
            config.pluginmanager.unregister(reporter)
        benchmarks = _benchmarks(config)
        rows = config.stash.setdefault(rows_key, [])
        before, rows_before = len(benchmarks), len(rows)
        inherited = engines.claimed_namespaces()
        for index, item in enumerate(group):
            nextitem = group[index + 1] if index + 1 < len(group) else None
            with _recorded(config) as reports:
                item.ihook.pytest_runtest_protocol(item=item, nextitem=nextitem)
            sent["reports"].append([config.hook.pytest_report_to_serializable(
                config=config, report=report) for report in reports])
            code |= any(report.failed for report in reports)
        sent["benchmarks"] = [_ship(b) for b in benchmarks[before:]]
        sent["rows"] = rows[rows_before:]
        # those a test claimed here; the parent drops its own
        engines.release_namespaces(keep=inherited)
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which fails the group
        sent["error"] = f"{type(exc).__name__}: {exc}"
        code = 1
    try:
        path.write_text(json.dumps(sent, default=str), encoding="utf-8")
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)


class _Recorder:
    def __init__(self) -> None:
        self.reports: list[Any] = []

    def pytest_runtest_logreport(self, report: Any) -> None:
        self.reports.append(report)


@contextlib.contextmanager
def _recorded(config: pytest.Config) -> Iterator[list[Any]]:
    """The reports pytest logs while the block runs."""
    recorder = _Recorder()
    config.pluginmanager.register(recorder)
    try:
        yield recorder.reports
    finally:
        config.pluginmanager.unregister(recorder)


def _crashed(item: pytest.Item, why: str) -> pytest.TestReport:
    return pytest.TestReport(item.nodeid, item.location, dict.fromkeys(item.keywords, 1),
                             "failed", why, "call", [], 0.0)


def _benchmarks(config: pytest.Config) -> list[Any]:
    """pytest-benchmark's list of results (an empty one without it)."""
    session = getattr(config, "_benchmarksession", None)
    return session.benchmarks if session is not None else []


def _ship(bench: Any) -> dict[str, Any]:
    return {"has_error": bool(bench.has_error), "result": bench.as_dict(include_data=True)}


class Shipped:
    """A pytest-benchmark result made in a forked process: what the parent's session needs
    of one (its truth, has_error, fullname, as_dict) from the dict it was sent as."""

    def __init__(self, sent: dict[str, Any]) -> None:
        self.has_error: bool = sent["has_error"]
        self.result: dict[str, Any] = sent["result"]
        self.fullname: str = self.result["fullname"]
        self.name: str = self.result["name"]

    def __bool__(self) -> bool:
        return "stats" in self.result

    def as_dict(self, include_data: bool = True, flat: bool = False, stats: bool = True,
                cprofile: Any = None) -> dict[str, Any]:
        result = {key: value for key, value in self.result.items() if key != "stats"}
        if stats and "stats" in self.result:
            numbers = dict(self.result["stats"])
            if not include_data:
                numbers.pop("data", None)
            if flat:
                result.update(numbers)
            else:
                result["stats"] = numbers
        return result
