"""`--rtt`: the run's side of the delaying proxy (bench.rtt.proxy, a process of its own).

The CLI starts one proxy process for the run, with a port per RTT, and stops it at the
end, also on Ctrl-C or a failure (and the proxy exits by itself when the harness dies:
its stdin closes). The runner measures the plan once per RTT, every connection of a pass
(engines, raw connections, the setup engine, a service's own pool) going through that
RTT's port: the pass's URL is the real one with host and port replaced, the only place
the URL changes. The results keep the real URL, masked.

Before the first pass, the raw driver's `SELECT 1` is timed direct and through each
port, alternately, so the results say what the proxy really added. After each point, the
proxy's CPU time and how late it released what it held are read into the point's cases.
"""

from __future__ import annotations

import json
import select
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL

from bench.db.database import DatabaseError, default_port, describe_connect_error
from bench.db.drivers import Driver
from bench.db.masking import mask_text
from bench.db.raw import RawConnection, maybe_await
from bench.measure.lifecycle import close_quietly
from bench.proc.child import OutputFile, child_env, exit_status, signal_group
from bench.results.records import CaseRecord, rtt_text
from bench.rtt.proxy import RttError, parse_rtts

__all__ = ["RttError", "parse_rtts"]

START_TIMEOUT = 15.0  # seconds for the proxy to listen
ANSWER_TIMEOUT = 5.0  # seconds for the proxy to answer `stats`
STOP_TIMEOUT = 5.0
CALIBRATION_WARMUP = 5
CALIBRATION_SAMPLES = 50
CALIBRATION_BUDGET_NS = 2_000_000_000  # at large RTTs fewer samples: about 2 s per RTT
LISTEN_HOST = "127.0.0.1"


class NetworkError(Exception):
    """The proxy could not be used: one line for the user."""


class ProxyDied(NetworkError):
    """The proxy exited during the run, and the run was not asked to go on without it."""


@dataclass(frozen=True)
class NetworkPath:
    """How a pass of the run reaches the database: direct, or through one proxy port."""

    rtt_ns: int | None  # None: direct, no proxy of ours in the way
    url: URL

    @property
    def rtt_ms(self) -> float | None:
        return None if self.rtt_ns is None else self.rtt_ns / 1e6


def proxy_target(url: URL) -> tuple[str, int]:
    """The server's TCP address, or NetworkError when the URL has none to proxy."""
    backend = url.get_backend_name()
    if backend == "sqlite":
        raise NetworkError("--rtt needs a database server: SQLite has no network between "
                           "the client and the database; drop --rtt")
    sockets = [key for key in ("host", "unix_socket") if key in url.query]
    if sockets:
        raise NetworkError(f"--rtt needs the server's TCP address, but the URL's ?{sockets[0]}= "
                           "names a unix socket; give host:port in the URL instead")
    port = url.port or default_port(url)
    assert isinstance(port, int)
    return url.host or "127.0.0.1", port


def check_reachable(url: URL, timeout: float) -> None:
    """Connect to the server's TCP port once, so that a server that is down is named as
    such (through the proxy, a client would only see its connection closed)."""
    try:
        socket.create_connection(proxy_target(url), timeout=timeout).close()
    except OSError as exc:
        raise DatabaseError(describe_connect_error(exc, url)) from None


class DelayProxy:
    """The proxy process of a run: `with DelayProxy(url, rtts) as proxy:`."""

    def __init__(self, url: URL, rtts_ns: list[int]) -> None:
        self.url = url
        self.target = proxy_target(url)
        self.rtts_ns = list(rtts_ns)
        self.ports: dict[int, int] = {}
        self.facts: dict[str, Any] = {}  # what the proxy said of itself when ready
        self.proc: subprocess.Popen[str] | None = None
        self._log: OutputFile | None = None

    def command(self) -> list[str]:
        host, port = self.target
        rtts = [arg for rtt in self.rtts_ns for arg in ("--rtt", f"{rtt}ns")]
        return [sys.executable, "-m", "bench.rtt.proxy", "--target", f"{host}:{port}",
                "--listen-host", LISTEN_HOST, *rtts]

    def __enter__(self) -> DelayProxy:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self._log = OutputFile()
        # A session of its own: the terminal's Ctrl-C goes to the harness, which still
        # needs the proxy to finish the round in flight and clean up.
        self.proc = subprocess.Popen(self.command(), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self._log.file, text=True,
                                     env=child_env(), start_new_session=True)
        try:
            ready = self._answer(START_TIMEOUT)
        except NetworkError:
            self.stop()
            raise
        if ready is None or ready.get("event") != "ready":
            status, tail = self.exit_status(), self.log_tail()
            self.stop()
            raise NetworkError(f"the --rtt proxy did not start ({status}): {tail}")
        self.ports = {item["rtt_ns"]: item["port"] for item in ready["listeners"]}
        self.facts = {key: ready[key] for key in ("realtime", "timer_slack_1ns", "target")}

    def paths(self) -> list[NetworkPath]:
        """One pass per RTT, in the order asked."""
        return [NetworkPath(rtt, self.url.set(host=LISTEN_HOST, port=self.ports[rtt]))
                for rtt in self.rtts_ns]

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def exit_status(self) -> str:
        return exit_status(self.proc)

    def log_tail(self) -> str:
        lines = self._log.lines() if self._log is not None else []
        return mask_text(" | ".join(lines[-2:]), [self.url.password]) or "no output"

    def stats(self) -> dict[str, Any] | None:
        """The proxy's CPU time and per-port counts; None when it no longer answers."""
        if not self.alive():
            return None
        assert self.proc is not None and self.proc.stdin is not None
        try:
            self.proc.stdin.write("stats\n")
            self.proc.stdin.flush()
            return self._answer(ANSWER_TIMEOUT)
        except (OSError, ValueError, NetworkError):
            return None

    def _answer(self, timeout: float) -> dict[str, Any] | None:
        """The proxy's next line, parsed; None at end of output."""
        assert self.proc is not None and self.proc.stdout is not None
        readable, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not readable:
            raise NetworkError(f"the --rtt proxy did not answer within {timeout:g} s "
                               f"({self.exit_status()}): {self.log_tail()}")
        line = self.proc.stdout.readline()
        if not line:
            return None
        answer: dict[str, Any] = json.loads(line)
        return answer

    def stop(self) -> None:
        """End of stdin asks the proxy to exit; SIGKILL if it does not."""
        proc, self.proc = self.proc, None
        if proc is not None:
            try:
                if proc.stdin is not None:
                    proc.stdin.close()
            except OSError:
                pass  # the proxy is gone already
            try:
                proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                signal_group(proc.pid, signal.SIGKILL)
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
            self.proc = proc  # keeps exit_status() readable after the stop
        if self._log is not None:
            self._log.close()
            self._log = None


# -- what the proxy did -------------------------------------------------------------------


def after_death(proxy: DelayProxy, path: NetworkPath, later: list[NetworkPath],
                fallback: bool, output: Path) -> str:
    """The proxy died before a point of `path`'s pass: ProxyDied, or with --rtt-fallback
    the warning that the rest is measured direct (and the `later` RTTs not at all)."""
    cause = f"the --rtt proxy died ({proxy.exit_status()}): {proxy.log_tail()}"
    if not fallback:
        raise ProxyDied(f"{cause}; the run stopped, finished cases are in {output} "
                        "(--rtt-fallback goes on without the proxy, recording those cases "
                        "as direct)")
    skipped = ", ".join(rtt_text(p.rtt_ms) for p in later)
    return (f"{cause}; with --rtt-fallback the rest of the {rtt_text(path.rtt_ms)} pass was "
            "measured direct (its cases have no rtt_ms)"
            + (f", and {skipped} not at all" if skipped else ""))


def mark_cases(cases: Iterable[CaseRecord], path: NetworkPath, proxy: DelayProxy,
               before: dict[str, Any] | None, wall_ns: int) -> None:
    """The cases of a point measured through the proxy: their RTT, what the proxy spent
    meanwhile, and, if it died, that the cases it cut off failed because it did."""
    assert path.rtt_ns is not None
    figures = point_figures(before, proxy.stats(), path.rtt_ns, wall_ns)
    for case in cases:
        case["rtt_ms"] = path.rtt_ms
        if figures:
            case["extra"]["proxy"] = figures
        if case["status"] == "error" and not proxy.alive():
            case["error"] = (f"the --rtt proxy died during this case ({proxy.exit_status()}): "
                             f"{case['error']}")


def late_percentile_us(edges_us: list[int], counts: list[int], share: float) -> float | None:
    """The histogram bucket's upper edge (µs) under which `share` of the releases fell;
    inf when they fell beyond the last edge, None without releases."""
    total = sum(counts)
    if total == 0:
        return None
    seen = 0
    for edge, count in zip([*edges_us, float("inf")], counts, strict=True):
        seen += count
        if seen >= share * total:
            return float(edge)
    return float("inf")


def point_figures(before: dict[str, Any] | None, after: dict[str, Any] | None,
                  rtt_ns: int, wall_ns: int) -> dict[str, Any]:
    """What the proxy spent and how precisely it released chunks during one point."""
    if before is None or after is None:
        return {}
    cpu = after["cpu_ns"] - before["cpu_ns"]
    figures: dict[str, Any] = {"cpu_ms": round(cpu / 1e6, 3),
                               "cpu_share": round(cpu / wall_ns, 4) if wall_ns > 0 else None}
    start = next(item for item in before["listeners"] if item["rtt_ns"] == rtt_ns)
    end = next(item for item in after["listeners"] if item["rtt_ns"] == rtt_ns)
    counts = [b - a for a, b in zip(start["late_counts"], end["late_counts"], strict=True)]
    late = {f"late_p{share:g}_us": late_percentile_us(end["late_edges_us"], counts, share / 100)
            for share in (50, 99)}
    figures.update(releases=sum(counts), connections=end["connections"] - start["connections"],
                   # beyond the histogram's last edge: None (JSON has no infinity)
                   **{k: None if v == float("inf") else v for k, v in late.items()})
    return figures


async def measure_added_delay(driver: Driver, direct: URL, paths: list[NetworkPath],
                    connect_timeout: float) -> list[dict[str, Any]]:
    """The raw driver's `SELECT 1`, direct and through each proxy port in turn (after a
    warmup that prepares it): what the proxy adds to one round trip, as the median of the
    paired differences, per RTT."""
    found = []
    for path in paths:
        assert path.rtt_ns is not None
        samples = max(5, min(CALIBRATION_SAMPLES, CALIBRATION_BUDGET_NS // max(1, path.rtt_ns)))
        direct_conn = await driver.open_raw(direct, connect_timeout)
        try:
            proxied_conn = await driver.open_raw(path.url, connect_timeout)
            try:
                times: list[tuple[int, int]] = []
                for index in range(CALIBRATION_WARMUP + samples):
                    pair = (await _select_1(direct_conn), await _select_1(proxied_conn))
                    if index >= CALIBRATION_WARMUP:
                        times.append(pair)
            finally:
                await close_quietly(proxied_conn)
        finally:
            await close_quietly(direct_conn)
        found.append({
            "rtt_ms": path.rtt_ms,
            "samples": samples,
            "direct_us": round(statistics.median(d for d, _ in times) / 1e3, 1),
            "through_proxy_us": round(statistics.median(p for _, p in times) / 1e3, 1),
            "added_us": round(statistics.median(p - d for d, p in times) / 1e3, 1),
        })
    return found


async def _select_1(conn: RawConnection) -> int:
    """One `SELECT 1`, one round trip (no commit: that would be a second one)."""
    start = time.perf_counter_ns()
    await maybe_await(conn.fetch("SELECT 1"))
    return time.perf_counter_ns() - start


