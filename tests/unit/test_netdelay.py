"""The delaying proxy (bench.rtt.proxy) on plain sockets: no database needed.

Its timing is checked only from below: a round trip through the proxy can never be
shorter than the RTT it was asked for (noise only adds), so these assertions cannot
fail on a busy machine. How close to the RTT it stays is measured, not asserted: see
docs/method.md, "Network distance".
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import socket
import socketserver
import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import make_url

from bench.rtt.control import (
    DelayProxy,
    NetworkError,
    late_percentile_us,
    point_figures,
    proxy_target,
)
from bench.rtt.proxy import MAX_RTT_NS, RttError, parse_rtt, parse_rtts

MS = 1_000_000


class _Echo(socketserver.BaseRequestHandler):
    """Sends back every byte it reads, until the client closes."""

    def handle(self) -> None:
        while data := self.request.recv(65536):
            self.request.sendall(data)


class _Greeter(_Echo):
    """Speaks first, as a MySQL server does, then echoes."""

    def handle(self) -> None:
        self.request.sendall(b"hello")
        super().handle()


class _Digest(socketserver.BaseRequestHandler):
    """Reads a length and that many bytes, answers their SHA-256, then streams
    `length` bytes of its own (seeded by the length) for the client to check."""

    def handle(self) -> None:
        size = int.from_bytes(_read_exactly(self.request, 8), "big")
        digest = hashlib.sha256()
        remaining = size
        while remaining:
            data = self.request.recv(min(65536, remaining))
            digest.update(data)
            remaining -= len(data)
        self.request.sendall(digest.digest())
        self.request.sendall(_payload(size))


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def _payload(size: int) -> bytes:
    return random.Random(size).randbytes(size)


def _read_exactly(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        data = sock.recv(min(1 << 20, size - len(chunks)))
        if not data:
            raise ConnectionError(f"closed after {len(chunks)} of {size} bytes")
        chunks += data
    return bytes(chunks)


@pytest.fixture
def server_at() -> Iterator[object]:
    servers: list[_Server] = []

    def start(handler: type[socketserver.BaseRequestHandler]) -> int:
        server = _Server(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return int(server.server_address[1])

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _proxy(port: int, *rtts: str) -> DelayProxy:
    return DelayProxy(make_url(f"postgresql://u@127.0.0.1:{port}/db"), parse_rtts(list(rtts)))


def _connect(proxy: DelayProxy, rtt_ns: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", proxy.ports[rtt_ns]), timeout=30)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


# -- what --rtt accepts ---------------------------------------------------------------------


@pytest.mark.parametrize("text, ns", [("0", 0), ("0ms", 0), ("500us", 500_000),
                                      ("500µs", 500_000), ("0.5ms", 500_000), ("2ms", 2 * MS),
                                      (" 1.25 ms ", 1_250_000), ("1s", 1_000 * MS)])
def test_rtt_values_people_write(text, ns):
    assert parse_rtt(text) == ns


@pytest.mark.parametrize("text, says", [
    ("-1ms", "durations such as"), ("fast", "durations such as"), ("10s", "beyond 1s"),
    ("1", "give a unit"), ("1 hour", "durations such as"), ("", "durations such as"),
    ("nan", "durations such as"),
])
def test_bad_rtt_values_are_refused_with_a_reason(text, says):
    with pytest.raises(RttError, match=says):
        parse_rtt(text)


def test_a_list_keeps_its_order_and_refuses_a_repeat():
    assert parse_rtts(["0,0.5ms", "2ms"]) == [0, 500_000, 2 * MS]
    with pytest.raises(RttError, match="given twice"):
        parse_rtts(["1ms,1000us"])
    assert parse_rtt("1000ms") == MAX_RTT_NS


def test_only_a_tcp_server_can_be_proxied():
    assert proxy_target(make_url("postgresql+asyncpg://u@db.example:6543/x")) == ("db.example",
                                                                                  6543)
    assert proxy_target(make_url("mysql+aiomysql://u@127.0.0.1/x")) == ("127.0.0.1", 3306)
    with pytest.raises(NetworkError, match="SQLite has no network"):
        proxy_target(make_url("sqlite+aiosqlite:///x.db"))
    with pytest.raises(NetworkError, match="unix socket"):
        proxy_target(make_url("postgresql+asyncpg://u@/x?host=/run/postgresql"))


# -- the proxy process ------------------------------------------------------------------------


def test_each_round_trip_takes_at_least_the_rtt_and_the_first_one_a_handshake_more(server_at):
    port = server_at(_Echo)
    with _proxy(port, "0", "2ms") as proxy:
        started = time.perf_counter_ns()
        with _connect(proxy, 2 * MS) as sock:
            sock.sendall(b"first")
            assert _read_exactly(sock, 5) == b"first"
            first = time.perf_counter_ns() - started
            times = []
            for index in range(20):
                message = f"ping {index}".encode()
                start = time.perf_counter_ns()
                sock.sendall(message)
                assert _read_exactly(sock, len(message)) == message
                times.append(time.perf_counter_ns() - start)
        with _connect(proxy, 0) as sock:  # RTT 0: forwarded at once, not held
            sock.sendall(b"zero")
            assert _read_exactly(sock, 4) == b"zero"
        stats = proxy.stats()
    assert min(times) >= 2 * MS
    assert first >= 2 * 2 * MS  # the SYN / SYN-ACK round trip, then the echo's
    assert stats is not None
    by_rtt = {item["rtt_ns"]: item for item in stats["listeners"]}
    assert by_rtt[2 * MS]["connections"] == 1 and by_rtt[0]["connections"] == 1
    assert sum(by_rtt[2 * MS]["late_counts"]) == 2 * 21  # every chunk, both ways
    assert by_rtt[2 * MS]["bytes_to_server"] == by_rtt[2 * MS]["bytes_to_client"]
    assert stats["cpu_ns"] > 0


def test_a_server_that_speaks_first_is_heard_after_a_handshake_and_half_an_rtt(server_at):
    port = server_at(_Greeter)
    with _proxy(port, "2ms") as proxy:
        started = time.perf_counter_ns()
        with _connect(proxy, 2 * MS) as sock:
            assert _read_exactly(sock, 5) == b"hello"
            greeted = time.perf_counter_ns() - started
            sock.sendall(b"ping")
            assert _read_exactly(sock, 4) == b"ping"
    assert greeted >= 2 * 2 * MS  # SYN, SYN-ACK, ACK, then the greeting: two RTTs


def test_large_streams_arrive_whole_and_in_order_both_ways(server_at):
    port = server_at(_Digest)
    size = 8 << 20
    outgoing = os.urandom(size)
    with _proxy(port, "1ms") as proxy, _connect(proxy, MS) as sock:
        sender = threading.Thread(target=lambda: sock.sendall(size.to_bytes(8, "big") + outgoing))
        sender.start()
        server_saw = _read_exactly(sock, 32)
        received = _read_exactly(sock, size)
        sender.join()
    assert server_saw == hashlib.sha256(outgoing).digest()
    assert hashlib.sha256(received).digest() == hashlib.sha256(_payload(size)).digest()


def test_a_hundred_connections_at_once_keep_their_own_bytes(server_at):
    port = server_at(_Echo)
    failures: list[str] = []
    with _proxy(port, "1ms") as proxy:
        def client(number: int) -> None:
            try:
                with _connect(proxy, MS) as sock:
                    for turn in range(5):
                        message = f"{number}:{turn}:".encode() * (1 + number % 7) * 100
                        sock.sendall(message)
                        if _read_exactly(sock, len(message)) != message:
                            failures.append(f"connection {number} turn {turn}")
            except OSError as exc:
                failures.append(f"connection {number}: {exc}")

        threads = [threading.Thread(target=client, args=(n,)) for n in range(100)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        stats = proxy.stats()
    assert failures == []
    assert stats is not None and stats["listeners"][0]["connections"] == 100


def test_a_closing_side_is_passed_on_after_its_last_bytes(server_at):
    port = server_at(_Echo)
    with _proxy(port, "1ms") as proxy, _connect(proxy, MS) as sock:
        sock.sendall(b"last words")
        sock.shutdown(socket.SHUT_WR)  # the echo server sees EOF only after the bytes
        assert _read_exactly(sock, 10) == b"last words"
        assert sock.recv(10) == b""  # and closes its side, which reaches us too


def test_a_killed_proxy_says_so_and_refuses_connections(server_at):
    port = server_at(_Echo)
    with _proxy(port, "1ms") as proxy:
        assert proxy.proc is not None
        os.kill(proxy.proc.pid, signal.SIGKILL)
        proxy.proc.wait(10)
        assert not proxy.alive()
        assert proxy.stats() is None
        assert proxy.exit_status() == "killed by SIGKILL"
        with pytest.raises(OSError):
            _connect(proxy, MS)


def test_the_proxy_exits_when_the_harness_goes(server_at):
    port = server_at(_Echo)
    proxy = _proxy(port, "0")
    proxy.start()
    assert proxy.proc is not None
    pid = proxy.proc.pid
    assert proxy.proc.stdin is not None
    proxy.proc.stdin.close()  # what the kernel does when the harness dies, however
    assert proxy.proc.wait(10) == 0
    proxy.stop()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_an_unreachable_target_is_refused_like_the_server_itself_would(server_at):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]
    with _proxy(dead_port, "1ms") as proxy, _connect(proxy, MS) as sock:
        assert sock.recv(10) == b""  # closed at once, nothing invented
        stats = proxy.stats()
    assert stats is not None and stats["listeners"][0]["failed_connects"] == 1


def test_lateness_percentiles_read_from_the_histogram():
    edges = [10, 20, 50]
    assert late_percentile_us(edges, [0, 0, 0, 0], 0.99) is None
    assert late_percentile_us(edges, [90, 9, 1, 0], 0.5) == 10
    assert late_percentile_us(edges, [90, 9, 1, 0], 0.99) == 20
    assert late_percentile_us(edges, [0, 0, 0, 5], 0.5) == float("inf")


def test_a_point_whose_releases_were_very_late_still_writes_plain_json():
    edges = [10, 20, 50]
    before = {"cpu_ns": 0, "listeners": [{"rtt_ns": MS, "connections": 0,
                                          "late_edges_us": edges, "late_counts": [0, 0, 0, 0]}]}
    after = {"cpu_ns": 5_000_000, "listeners": [{"rtt_ns": MS, "connections": 2,
                                                 "late_edges_us": edges,
                                                 "late_counts": [1, 0, 0, 9]}]}
    figures = point_figures(before, after, MS, 50_000_000)
    assert figures == {"cpu_ms": 5.0, "cpu_share": 0.1, "releases": 10, "connections": 2,
                       "late_p50_us": None, "late_p99_us": None}
    json.dumps(figures, allow_nan=False)  # what the results file accepts
    assert point_figures(None, after, MS, 1) == {}  # the proxy did not answer
