"""A uvicorn service in a process group of its own, for families that load a real server.

The service's command line holds nothing secret (settings, the database URL among them,
go by environment). It starts on a free port of 127.0.0.1, is waited for until every
worker answers GET /_stats, and is stopped as a whole group: SIGTERM, then SIGKILL after
STOP_TIMEOUT, returning only when no process of the group is left (workers of a master
that died before are orphans, so their group is watched rather than waited for). The
app receives SQLAB_APP_PARENT_PID to stop itself if the harness is killed, and
SQLAB_APP_STATS_DIR for per-worker counters it reports on /_stats.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

import httpx

from bench.db.masking import mask_text
from bench.proc.child import (
    OutputFile,
    child_env,
    exit_status,
    free_port,
    group_alive,
    signal_group,
)

START_TIMEOUT = 30.0  # seconds for every worker of the server to start
STOP_TIMEOUT = 10.0  # seconds for a graceful stop before SIGKILL
# Both sides default to 5 s: a connection idle that long during a round's slow tail is
# closed by the server just as the client reuses it (a transport error that is no
# measurement). The client lets go of idle connections well before the server does.
SERVER_KEEP_ALIVE = 120
STARTUP_FAILED = "Application startup failed"  # what uvicorn logs when the lifespan raises
# "ValueError: ...", "sqlalchemy.exc.OperationalError: ...": the last line of a traceback
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception|Exit|Timeout)\w*: ")


class Service:
    """uvicorn serving `app` (module:attribute), in a process group of its own."""

    def __init__(self, app: str, settings: dict[str, str], workers: int,
                 secrets: list[str | None]) -> None:
        self.app = app
        self.settings = settings  # SQLAB_APP_* environment variables
        self.workers = workers
        self.secrets = secrets  # scrubbed from anything shown
        self.port = 0
        self.proc: subprocess.Popen | None = None
        self._log: OutputFile | None = None
        self._stats_dir: tempfile.TemporaryDirectory | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        """The command line (nothing secret in it: the URL goes by environment)."""
        return [sys.executable, "-m", "uvicorn", self.app, "--host", "127.0.0.1",
                "--port", str(self.port), "--workers", str(self.workers),
                "--timeout-keep-alive", str(SERVER_KEEP_ALIVE), "--log-level", "warning",
                "--no-access-log"]

    def start(self) -> int:
        """Start the server; returns its process group id."""
        self._stats_dir = tempfile.TemporaryDirectory(prefix="sqlab-stats-")
        self._log = OutputFile()
        self.port = free_port()
        env = child_env({**self.settings, "SQLAB_APP_STATS_DIR": self._stats_dir.name,
                         "SQLAB_APP_PARENT_PID": str(os.getpid())})
        self.proc = subprocess.Popen(self.command(), env=env, stdin=subprocess.DEVNULL,
                                     stdout=self._log.file, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        return self.proc.pid

    async def wait_ready(self, client: httpx.AsyncClient, timeout: float = START_TIMEOUT) -> None:
        """Until every worker is up (GET /_stats counts the workers that started, and
        answers once one has); a clear error with the server's output if not."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running():
                raise RuntimeError(f"the service exited at start ({self.exit_status()}): "
                                   f"{self.log_tail()}")
            if STARTUP_FAILED in self._output():
                # a worker failed: its master takes seconds more to give up; stop_server ends it
                raise RuntimeError(f"the service failed to start: {self.log_tail()}")
            try:
                response = await client.get("/_stats", timeout=2.0)
                if response.status_code == 200 and response.json()["workers"] >= self.workers:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
        raise RuntimeError(f"the service did not answer within {timeout:.0f} s: "
                           f"{self.log_tail()}")

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def exit_status(self) -> str:
        return exit_status(self.proc)

    def _output(self) -> str:
        return "\n".join(self._log.lines()) if self._log is not None else ""

    def log_tail(self) -> str:
        """The server's last exception line (a traceback's verdict) and last two lines."""
        lines = self._log.lines() if self._log is not None else []
        verdicts = [line for line in lines if _EXCEPTION_LINE.match(line)]
        shown = verdicts[-1:] + [line for line in lines[-2:] if line not in verdicts[-1:]]
        return mask_text(" | ".join(shown), self.secrets) or "no output"

    async def stop(self) -> None:
        """SIGTERM to the whole group, SIGKILL after STOP_TIMEOUT; returns when no process
        of the group is left (workers of a master that died before are orphans: not
        ours to wait for, so their group is watched instead)."""
        proc, self.proc = self.proc, None
        try:
            if proc is not None:
                signal_group(proc.pid, signal.SIGTERM)
                try:
                    await asyncio.to_thread(proc.wait, STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    signal_group(proc.pid, signal.SIGKILL)
                    await asyncio.to_thread(proc.wait)
                deadline = time.monotonic() + STOP_TIMEOUT
                while group_alive(proc.pid):
                    if time.monotonic() > deadline:
                        signal_group(proc.pid, signal.SIGKILL)
                    await asyncio.sleep(0.05)
        finally:
            if self._log is not None:
                self._log.close()
                self._log = None
            if self._stats_dir is not None:
                self._stats_dir.cleanup()
                self._stats_dir = None
