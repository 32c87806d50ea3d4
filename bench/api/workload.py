"""The workload file: what `capture` writes and `sqla-bench replay` reads.

Gzipped JSON lines, one complete record a line. The first line is the header
(format name, version, when, whether redacted); then, in the order they happened:

  {"k": "engine", "engine": 1, "backend": "postgresql", "driver": "asyncpg",
   "server_version": "16.4", "paramstyle": "numeric_dollar"}
  {"k": "stmt", "unit": 3, "engine": 1, "tx": 7, "t": 0.0123, "d": 0.0004,
   "sql": "SELECT ... WHERE id = $1", "params": [5], "many": 0, "returns": true,
   "rows": 1, "rowcount": 1, "compiled": true}            (+ "error": "..." if it raised)
  {"k": "tx", "unit": 3, "tx": 7, "event": "begin" | "commit" | "rollback", "t": ...}
  {"k": "unit", "unit": 3, "name": "GET /users/{user_id}", "t": 0.0119, "d": 0.0021}

`t` is seconds since the capture started, `d` a duration in seconds; `many` is the
executemany size (0: a single execute). Values JSON cannot hold keep their type as
{"$t": type, "v": text} (bench.api.workload.encode_value). The writer flushes the gzip
stream with Z_SYNC_FLUSH every FLUSH_EVERY records and at least every FLUSH_SECONDS, so
a process that dies leaves a file whose every flushed line is readable; the reader
stops at a truncated tail and says so instead of failing.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import gzip
import json
import threading
import time
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

FORMAT = "sqla-bench-workload"
VERSION = 1
FLUSH_EVERY = 200  # records between sync flushes
FLUSH_SECONDS = 1.0
_CHUNK = 64 * 1024


class WorkloadError(Exception):
    """A workload file that cannot be read, said in one line."""


# -- values --------------------------------------------------------------------------


def encode_value(value: Any) -> Any:
    """A parameter value as JSON, its type kept where JSON has none of its own."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else \
            {"$t": "float", "v": repr(value)}
    if isinstance(value, (list, tuple)):
        return [encode_value(v) for v in value]
    if isinstance(value, dict):
        return {"$t": "dict", "v": {str(k): encode_value(v) for k, v in value.items()}}
    if isinstance(value, decimal.Decimal):
        return {"$t": "decimal", "v": str(value)}
    if isinstance(value, dt.datetime):  # before date: a datetime is a date
        return {"$t": "datetime", "v": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$t": "date", "v": value.isoformat()}
    if isinstance(value, dt.time):
        return {"$t": "time", "v": value.isoformat()}
    if isinstance(value, dt.timedelta):
        return {"$t": "timedelta", "v": value.total_seconds()}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"$t": "bytes", "v": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, uuid.UUID):
        return {"$t": "uuid", "v": str(value)}
    return {"$t": "repr", "v": repr(value)}  # replay sends the text; a failure is counted


def decode_value(value: Any) -> Any:
    if isinstance(value, list):
        return [decode_value(v) for v in value]
    if not isinstance(value, dict):
        return value
    kind, text = value.get("$t"), value.get("v")
    decoders: dict[str, Any] = {
        "float": float, "decimal": decimal.Decimal, "datetime": dt.datetime.fromisoformat,
        "date": dt.date.fromisoformat, "time": dt.time.fromisoformat,
        "timedelta": lambda v: dt.timedelta(seconds=v), "uuid": uuid.UUID,
        "bytes": base64.b64decode, "repr": str,
        "dict": lambda v: {k: decode_value(x) for k, x in v.items()},
    }
    if kind not in decoders:
        raise WorkloadError(f"a parameter value of unknown type {kind!r}")
    return decoders[kind](text)


def encode_params(params: Any) -> Any:
    """Parameters as the driver received them: a sequence, a mapping, or None."""
    if params is None:
        return None
    if isinstance(params, dict):
        return {str(k): encode_value(v) for k, v in params.items()}
    return [encode_value(v) for v in params]


def decode_params(params: Any) -> Any:
    if params is None:
        return None
    if isinstance(params, dict):
        return {k: decode_value(v) for k, v in params.items()}
    return [decode_value(v) for v in params]


# -- writing -------------------------------------------------------------------------


class WorkloadWriter:
    """Appends records to a gzipped JSON-lines file, thread-safe, flushed as it goes."""

    def __init__(self, path: str | Path, header: dict[str, Any]) -> None:
        self.path = Path(path)
        self._raw: IO[bytes] = open(self.path, "wb")  # noqa: SIM115 - closed in close()
        self._gz = gzip.GzipFile(fileobj=self._raw, mode="wb", compresslevel=6)
        self._lock = threading.Lock()
        self._pending = 0
        self._last_flush = time.monotonic()
        self.records = 0
        self.closed = False
        self.write({"k": "header", "format": FORMAT, "version": VERSION, **header})
        self.flush()

    def write(self, record: dict[str, Any]) -> None:
        line = (json.dumps(record, separators=(",", ":"), default=str) + "\n").encode()
        with self._lock:
            if self.closed:
                return
            self._gz.write(line)
            self.records += 1
            self._pending += 1
            if (self._pending >= FLUSH_EVERY
                    or time.monotonic() - self._last_flush >= FLUSH_SECONDS):
                self._flush_locked()

    def flush(self) -> None:
        with self._lock:
            if not self.closed:
                self._flush_locked()

    def _flush_locked(self) -> None:
        self._gz.flush(zlib.Z_SYNC_FLUSH)  # every byte so far decodable without the trailer
        self._raw.flush()
        self._pending = 0
        self._last_flush = time.monotonic()

    def close(self) -> None:
        with self._lock:
            if self.closed:
                return
            self.closed = True
            self._gz.close()
            self._raw.close()


# -- reading -------------------------------------------------------------------------


@dataclass
class WorkloadFile:
    """Every record of a workload file, and whether its tail was cut off."""

    path: Path
    header: dict[str, Any]
    records: list[dict[str, Any]]
    truncated: bool = False
    notes: list[str] = field(default_factory=list)


def _lines(path: Path) -> Iterator[tuple[bytes, bool]]:
    """(line, complete) pairs of the gzip stream, stopping quietly where it breaks off."""
    decompressor = zlib.decompressobj(wbits=31)
    buffer = b""
    with open(path, "rb") as handle:
        while True:
            chunk = handle.read(_CHUNK)
            if not chunk:
                break
            try:
                buffer += decompressor.decompress(chunk)
            except zlib.error:
                break  # damaged from here on: keep what came before
            *whole, buffer = buffer.split(b"\n")
            for line in whole:
                yield line, True
            if decompressor.eof:
                break
    if buffer:
        yield buffer, False


def read_workload(path: str | Path) -> WorkloadFile:
    """The file's records; WorkloadError (one line) when it is no workload of ours."""
    path = Path(path)
    if not path.is_file():
        raise WorkloadError(f"no workload file at {path}")
    with open(path, "rb") as handle:
        magic = handle.read(2)
    if not magic:
        raise WorkloadError(f"{path} is empty: the capture wrote nothing (was it started?)")
    if magic != b"\x1f\x8b":
        raise WorkloadError(f"{path} is not a workload file (not gzip): capture one with "
                            "bench.api.capture() or pytest --sqla-capture")
    records: list[dict[str, Any]] = []
    truncated = False
    for line, complete in _lines(path):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            if complete and records:
                raise WorkloadError(f"{path}: line {len(records) + 1} is not JSON") from None
            truncated = True  # a half-written last line
            break
        if not complete:
            truncated = True
        records.append(record)
    if not records:
        raise WorkloadError(f"{path} holds no complete record: the capture was cut off "
                            "before its first flush")
    header = records[0]
    if header.get("k") != "header" or header.get("format") != FORMAT:
        raise WorkloadError(f"{path} is not a sqla-bench workload file")
    version = header.get("version")
    if version != VERSION:
        raise WorkloadError(f"{path} is a workload file of version {version}; this "
                            f"sqla-bench reads version {VERSION} (capture it again with "
                            "this version)")
    with open(path, "rb") as handle:  # a file closed properly ends in the gzip trailer
        handle.seek(0, 2)
        size = handle.tell()
    wf = WorkloadFile(path, header, records[1:], truncated)
    if truncated or size and not _has_trailer(path):
        wf.truncated = True
        wf.notes.append("the file's tail was cut off (the capturing process ended without "
                        "closing it): every complete record before it is used")
    return wf


def _has_trailer(path: Path) -> bool:
    try:
        with gzip.open(path, "rb") as handle:
            while handle.read(_CHUNK):
                pass
        return True
    except (EOFError, OSError, zlib.error):
        return False
