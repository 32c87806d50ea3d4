"""What every child process of the harness shares: the environment it starts with, the
file its output goes to, the words for how it ended, and signals to its whole group."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[2]  # where `bench` and `scenarios` import from


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment, with the project first on PYTHONPATH so the child
    imports the same bench and scenarios, plus `extra`."""
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT), path])),
            **(extra or {})}


class OutputFile:
    """A child's output in an anonymous temporary file, readable while it runs."""

    def __init__(self) -> None:
        self.file: Any = tempfile.TemporaryFile()

    def lines(self) -> list[str]:
        """The non-blank lines written so far, stripped."""
        if self.file is None:
            return []
        self.file.seek(0)
        text = self.file.read().decode(errors="replace")
        return [line.strip() for line in text.splitlines() if line.strip()]

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None


def describe_returncode(code: int) -> str:
    """How a child process ended: `exit code 1`, `killed by SIGKILL`."""
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def exit_status(proc: subprocess.Popen[Any] | None) -> str:
    """`not started`, `running`, or how it ended."""
    if proc is None:
        return "not started"
    code = proc.poll()
    return "running" if code is None else describe_returncode(code)


def signal_group(pgid: int, sig: int) -> None:
    """Send `sig` to a process group; a group that is gone already is fine."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def group_alive(pgid: int) -> bool:
    """Whether a live process remains in the process group (zombies do not count)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    proc = Path("/proc")
    if not proc.is_dir():
        return True  # no /proc: the signal check is all there is
    for stat in proc.glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # exited while we looked
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] != "Z":
            return True
    return False


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on at this moment."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
