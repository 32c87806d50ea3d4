"""A delaying TCP proxy: network distance for `sqla-bench run --rtt`, in a process of its own.

    python -m bench.rtt.proxy --target 127.0.0.1:5432 --rtt 0 --rtt 1ms

listens on one port per RTT (127.0.0.1, a free port each) and forwards every connection
to the target, each direction delayed by RTT/2, byte order kept. It needs nothing but
the standard library, so it starts fast and costs the measured process nothing: its CPU
is its own, reported on request.

Fidelity is the point, so the delay is not a timer in an event loop (epoll's millisecond
timeouts added 1.3 ms to an asked 1 ms in the proxy issue 18 measured). Per direction of
a connection, a reader thread stamps each chunk with its arrival time (the kernel's
receive timestamp, SO_TIMESTAMPNS, where there is one: a reader woken late does not make
the chunk late) and queues it; a sender thread sleeps until the chunk is due, in
clock_nanosleep with a 1 ns timer slack, and sends it. Chunks are due in arrival order,
so one queue per direction keeps the bytes in order. With permission, the process runs
under SCHED_FIFO, so a busy machine does not delay its wake-ups. At RTT 0 the reader
forwards at once: no queue, no second thread. A new connection's first bytes are held as
a real TCP handshake would have held them: the client's until one RTT after the accept,
the server's (MySQL greets first) until one and a half.

Protocol with the harness (stdin and stdout, one JSON object per line):
  on start   {"event": "ready", "pid": ..., "listeners": [{"rtt_ns": ..., "port": ...}], ...}
  `stats`    {"event": "stats", "cpu_ns": ..., "listeners": [{... per-listener counts}]}
  end of stdin (the harness exited, however it died) or `stop`: the proxy exits.
"""

from __future__ import annotations

import argparse
import bisect
import ctypes
import json
import os
import re
import resource
import socket
import struct
import sys
import threading
import time
from queue import SimpleQueue
from typing import Any

MAX_RTT_NS = 1_000_000_000  # 1 s: far beyond any database worth measuring across
CONNECT_TIMEOUT = 10.0  # seconds to reach the target for a new connection
CHUNK = 65536  # bytes read at once
MAX_QUEUED = 1024  # chunks in flight per direction before the reader waits (back-pressure)
BACKPRESSURE_POLL = 0.0005  # seconds between looks at a full queue
# The sender wakes early by twice its recent wake-up overshoot (at most MAX_SPIN_NS) and
# yields the CPU until the release: never early, and late by microseconds.
INITIAL_SPIN_NS = 20_000
MAX_SPIN_NS = 200_000
SMOOTHING = 0.2  # weight of the newest observation in the running estimates
# Release lateness histogram (µs): how long after its due time each chunk left.
LATE_EDGES_US = (10, 20, 50, 100, 200, 500, 1000, 2000, 5000)
_UNITS_NS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 1_000_000_000}
_DURATION = re.compile(r"^\s*(?P<number>[0-9]*\.?[0-9]+)\s*(?P<unit>[a-zµ]*)\s*$")
# SO_TIMESTAMPNS is not in Python's socket module on every version; 35 is Linux's value.
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
_TIMESPEC = struct.Struct("@ll")  # struct timespec: tv_sec, tv_nsec
PR_SET_TIMERSLACK = 29


class RttError(ValueError):
    """An RTT that is not a duration in range; the message is for the user."""


def parse_rtt(text: str) -> int:
    """An RTT as people write it (0, 500us, 0.5ms, 2ms) in nanoseconds; RttError if not.
    A bare number other than 0 is refused: 1 could mean 1 ms or 1 s."""
    match = _DURATION.match(text)
    if match is None or match["unit"] not in ("", *_UNITS_NS):
        raise RttError(f"--rtt takes durations such as 0, 500us, 1ms or 2.5ms, not {text!r}")
    number = float(match["number"])
    if not match["unit"]:
        if number != 0:
            raise RttError(f"--rtt {text}: give a unit, e.g. {text}ms or {text}us")
        return 0
    value = round(number * _UNITS_NS[match["unit"]])
    if value > MAX_RTT_NS:
        raise RttError(f"--rtt {text.strip()} is beyond 1s, the largest RTT sqla-bench "
                       "simulates; a database that far is not one to measure through")
    return value


def parse_rtts(values: list[str]) -> list[int]:
    """Every RTT of `--rtt A,B --rtt C`, in the order given; a repeated value is an error."""
    rtts: list[int] = []
    for text in (piece for value in values for piece in value.split(",")):
        rtt = parse_rtt(text)
        if rtt in rtts:
            raise RttError(f"--rtt {text.strip()} is given twice")
        rtts.append(rtt)
    return rtts


# -- one listening port, one delay --------------------------------------------------------


class Listener:
    """A port of the proxy: every connection to it reaches the target RTT/2 later, each way."""

    def __init__(self, rtt_ns: int, target: tuple[str, int], host: str) -> None:
        self.rtt_ns = rtt_ns
        self.target = target
        self.sock = socket.create_server((host, 0), backlog=512)
        self.port: int = self.sock.getsockname()[1]
        self._lock = threading.Lock()
        self.connections = 0
        self.open = 0
        self.failed_connects = 0
        self.bytes = [0, 0]  # client to server, server to client
        self.late = [0] * (len(LATE_EDGES_US) + 1)
        self.late_max_ns = 0

    def serve(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:  # out of file descriptors, say: the client retries or fails
                time.sleep(0.01)
                continue
            accepted = time.monotonic_ns()
            connection = Connection(self, client, accepted)
            threading.Thread(target=connection.run, daemon=True).start()

    def released(self, direction: int, size: int, late_ns: int) -> None:
        """Count a chunk sent `late_ns` after its due time."""
        bucket = bisect.bisect_right(LATE_EDGES_US, late_ns / 1000)
        with self._lock:
            self.bytes[direction] += size
            self.late[bucket] += 1
            self.late_max_ns = max(self.late_max_ns, late_ns)

    def opened(self, ok: bool) -> None:
        with self._lock:
            if ok:
                self.connections += 1
                self.open += 1
            else:
                self.failed_connects += 1

    def closed(self) -> None:
        with self._lock:
            self.open -= 1

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {"rtt_ns": self.rtt_ns, "port": self.port, "connections": self.connections,
                    "open": self.open, "failed_connects": self.failed_connects,
                    "bytes_to_server": self.bytes[0], "bytes_to_client": self.bytes[1],
                    "late_edges_us": list(LATE_EDGES_US), "late_counts": list(self.late),
                    "late_max_ns": self.late_max_ns}


# -- one proxied connection ----------------------------------------------------------------


class Connection:
    """A client connection and its own connection to the target, pumped both ways."""

    def __init__(self, listener: Listener, client: socket.socket, accepted_ns: int) -> None:
        self.listener = listener
        self.client = client
        self.accepted_ns = accepted_ns
        self.upstream: socket.socket | None = None
        self.directions: list[Direction] = []
        self._lock = threading.Lock()
        self._finished = 0
        self._closed = False
        self.aborted = False

    def run(self) -> None:
        """Connect to the target, then pump client to server in this thread."""
        try:
            upstream = socket.create_connection(self.listener.target, timeout=CONNECT_TIMEOUT)
            upstream.settimeout(None)
        except OSError:
            self.listener.opened(ok=False)
            self.client.close()  # the client sees the server refuse, as it would directly
            return
        self.upstream = upstream
        self.listener.opened(ok=True)
        for sock in (self.client, upstream):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no Nagle: no 40 ms
            _enable_timestamps(sock)
        rtt = self.listener.rtt_ns
        # The TCP handshake, which crossed no delay here: a real client can send only once
        # the SYN-ACK is back (one RTT after it connected), a real server only once the
        # client's ACK has arrived (half an RTT later). MySQL's server speaks first.
        to_server = Direction(self, 0, self.client, upstream, rtt, self.accepted_ns + rtt)
        to_client = Direction(self, 1, upstream, self.client, rtt,
                              self.accepted_ns + rtt + rtt // 2)
        self.directions = [to_server, to_client]
        to_client.start()
        to_server.start(reader_here=True)

    def direction_done(self) -> None:
        """Both directions forwarded their end of stream (or broke): close both sockets."""
        with self._lock:
            self._finished += 1
            if self._finished < 2:
                return
        self._close()

    def abort(self) -> None:
        """A socket failed: cut both sides, wake every thread of the connection."""
        self.aborted = True
        for sock in (self.client, self.upstream):
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        for direction in self.directions:
            direction.wake()

    def _close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        for sock in (self.client, self.upstream):
            if sock is not None:
                sock.close()
        self.listener.closed()


class Direction:
    """One direction of a connection: read, hold until due, send, in arrival order."""

    def __init__(self, connection: Connection, index: int, src: socket.socket,
                 dst: socket.socket, rtt_ns: int, not_before_ns: int) -> None:
        self.connection = connection
        self.index = index
        self.src, self.dst = src, dst
        self.half_ns = rtt_ns // 2
        self.not_before_ns = not_before_ns
        # (due, chunk), (due, None) for the end of the stream, None to stop at once (a
        # failure). No queue at RTT 0: the reader sends at once.
        self.queue: SimpleQueue[tuple[int, bytes | None] | None] | None = (
            SimpleQueue() if rtt_ns > 0 else None)
        self.spin_ns = INITIAL_SPIN_NS  # how early the sender wakes before a release

    def start(self, reader_here: bool = False) -> None:
        if self.queue is not None:
            threading.Thread(target=self._send_loop, daemon=True).start()
        if reader_here:
            self._read_loop()
        else:
            threading.Thread(target=self._read_loop, daemon=True).start()

    def wake(self) -> None:
        if self.queue is not None:
            self.queue.put(None)

    def _read_loop(self) -> None:
        buffer = bytearray(CHUNK)
        view = memoryview(buffer)
        last_due = 0
        try:
            while True:
                size, arrived = _receive(self.src, buffer)
                if self.queue is None:
                    if size == 0:
                        break
                    self._send(view[:size], arrived)
                    continue
                due = max(arrived, self.not_before_ns) + self.half_ns
                last_due = due = max(due, last_due)  # never ahead of an earlier chunk
                if size == 0:  # the end of the stream travels as late as a chunk would
                    self.queue.put((due, None))
                    return
                while self.queue.qsize() >= MAX_QUEUED and not self.connection.aborted:
                    time.sleep(BACKPRESSURE_POLL)
                self.queue.put((due, bytes(view[:size])))
        except OSError:
            self.connection.abort()
        if self.queue is None:
            self._end_of_stream()
        else:
            self.queue.put(None)

    def _send_loop(self) -> None:
        assert self.queue is not None
        while True:
            item = self.queue.get()
            if item is None:
                break
            due, data = item
            self._wait_until(due)
            if data is None:
                break
            try:
                self._send(data, due)
            except OSError:
                self.connection.abort()
                break
        self._end_of_stream()

    def _wait_until(self, deadline: int) -> None:
        """Sleep until shortly before `deadline` (by the wake-ups' recent overshoot), then
        yield the CPU in a loop until it: the release lands within microseconds of it."""
        early = deadline - self.spin_ns - time.monotonic_ns()
        if early > 0:
            time.sleep(early / 1e9)
            woke = time.monotonic_ns()
            overshoot = woke - (deadline - self.spin_ns)
            self.spin_ns = _smooth(self.spin_ns, 2 * max(0, overshoot), MAX_SPIN_NS)
        while time.monotonic_ns() < deadline:
            os.sched_yield()  # releases the GIL: other senders due now are not held up

    def _send(self, data: bytes | memoryview, due: int) -> None:
        """Send, never before `due`. Lateness is counted at the start of the send: the
        send itself (one more loopback hop) is the proxy's cost at RTT 0 too."""
        self.connection.listener.released(self.index, len(data), time.monotonic_ns() - due)
        self.dst.sendall(data)

    def _end_of_stream(self) -> None:
        try:
            self.dst.shutdown(socket.SHUT_WR)  # the FIN travels after every byte before it
        except OSError:
            pass
        self.connection.direction_done()


def _smooth(estimate: int, observed: int, limit: int) -> int:
    return min(limit, round(estimate + SMOOTHING * (observed - estimate)))


def _enable_timestamps(sock: socket.socket) -> None:
    if sys.platform.startswith("linux"):
        try:
            sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        except OSError:
            pass  # no kernel timestamps: the read time stands in


_ANCILLARY = socket.CMSG_SPACE(_TIMESPEC.size)


def _receive(sock: socket.socket, buffer: bytearray) -> tuple[int, int]:
    """Read into `buffer`; returns the size and the arrival time (monotonic ns): the
    kernel's receive timestamp when it gave one, else now."""
    size, ancillary, _flags, _addr = sock.recvmsg_into([buffer], _ANCILLARY)
    now = time.monotonic_ns()
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
            seconds, nanoseconds = _TIMESPEC.unpack(payload[:_TIMESPEC.size])
            waited = time.time_ns() - (seconds * 1_000_000_000 + nanoseconds)
            return size, now - max(0, waited)
    return size, now


# -- the process ---------------------------------------------------------------------------


def fine_timing(realtime: bool) -> dict[str, bool]:
    """Set this thread's timer slack to 1 ns and, when allowed, SCHED_FIFO; threads made
    after inherit both. Returns what took effect."""
    slack = realtime_ok = False
    if sys.platform.startswith("linux"):
        try:
            slack = ctypes.CDLL(None, use_errno=True).prctl(PR_SET_TIMERSLACK, 1, 0, 0, 0) == 0
        except (OSError, AttributeError):
            pass
        if realtime:
            try:
                os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
                realtime_ok = True
            except (OSError, AttributeError):
                pass  # not permitted: normal scheduling, recorded as such
    return {"timer_slack_1ns": slack, "realtime": realtime_ok}


def cpu_ns() -> int:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return round((usage.ru_utime + usage.ru_stime) * 1e9)


def _target(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"--target takes HOST:PORT, not {text!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def _emit(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.rtt.proxy",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--target", type=_target, required=True, metavar="HOST:PORT")
    parser.add_argument("--rtt", action="append", required=True, metavar="DURATION",
                        help="round-trip time to add, e.g. 1ms; one port per value")
    parser.add_argument("--listen-host", default="127.0.0.1")
    parser.add_argument("--no-realtime", dest="realtime", action="store_false",
                        help="do not ask for SCHED_FIFO")
    args = parser.parse_args(argv)
    try:
        rtts = parse_rtts(args.rtt)
    except RttError as exc:
        parser.error(str(exc))
    timing = fine_timing(args.realtime)
    sys.setswitchinterval(1e-4)  # a thread due to send waits at most this long for the GIL
    threading.stack_size(512 * 1024)  # four threads a connection: keep them small
    listeners = [Listener(rtt, args.target, args.listen_host) for rtt in rtts]
    for listener in listeners:
        threading.Thread(target=listener.serve, daemon=True).start()
    _emit({"event": "ready", "pid": os.getpid(), **timing,
           "target": f"{args.target[0]}:{args.target[1]}",
           "listeners": [{"rtt_ns": lst.rtt_ns, "port": lst.port} for lst in listeners]})
    try:
        for line in sys.stdin:
            command = line.strip()
            if command == "stats":
                _emit({"event": "stats", "cpu_ns": cpu_ns(),
                       "listeners": [lst.stats() for lst in listeners]})
            elif command == "stop":
                break
    except KeyboardInterrupt:
        pass
    sys.stdout.flush()
    os._exit(0)  # daemon threads may sit in accept() or recv(): do not wait for them


if __name__ == "__main__":
    sys.exit(main())
