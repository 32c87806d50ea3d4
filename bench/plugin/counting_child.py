"""A counting child's entry point: `python -m bench.plugin.counting_child PYTEST_ARGS`.

pytest, less the processes pytest-benchmark starts before the first test: git (the tag
of --benchmark-autosave, made while options are added) and `file` (the machine id, when
its session starts). A process started by a process under valgrind leaves that process's
heap in one of several states from run to run (two or three in ten runs of one child,
2026-12-04), and every count made after it moves with the state; without them, a child
reaches its first test with the same heap in every run (docs/ci-gate.md). A counting child
saves no run of its own (the parent writes the results), so the tag is not needed, and
the machine id is the same without `file`. pytest-benchmark's commit information is still
read, at the session's end, when every group has been counted.
"""

from __future__ import annotations

import platform
import struct
import sys

import pytest

from bench.measure.instructions import import_pad

TAG = "counted"  # what --benchmark-autosave would be told; a counting child never saves


def machine_id() -> str:
    """pytest-benchmark's machine id (system, implementation, version, word size)."""
    return (f"{platform.system()}-{platform.python_implementation()}-"
            f"{'.'.join(platform.python_version_tuple()[:2])}-{struct.calcsize('P') * 8}bit")


def without_subprocesses() -> None:
    """Give pytest-benchmark fixed values where it would start processes before the tests
    (only names it has: an older or newer release just keeps its own)."""
    try:
        from pytest_benchmark import plugin, session
    except ImportError:
        return
    if hasattr(plugin, "get_tag"):
        plugin.get_tag = lambda project_name=None: TAG
    if hasattr(session, "get_machine_id"):
        session.get_machine_id = machine_id


def main() -> int | pytest.ExitCode:
    import_pad.install()
    without_subprocesses()
    return pytest.console_main()


if __name__ == "__main__":
    sys.exit(main())
