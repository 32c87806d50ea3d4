"""The results file: one JSON document per run, schema_version 1.

A run is written after every finished case with an atomic replace (write a
temporary file beside the target, fsync, rename), so an interrupted run leaves
a valid file holding every case it finished. Readers refuse files they do not
understand with a ResultsFileError whose message is one line for the user.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
CASE_STATUSES = ("ok", "error", "wrong", "skipped")

REQUIRED_TOP = (
    "schema_version",
    "tool_version",
    "run_id",
    "created_at",
    "environment",
    "config",
    "cases",
)
REQUIRED_CASE = ("scenario", "variant", "params", "status", "samples_ns")


class ResultsFileError(Exception):
    """A results file that cannot be read or written; the message is for the user."""


def new_case(
    scenario: str,
    variant: str,
    params: dict[str, Any],
    *,
    unit: str,
    ops_per_round: int,
    driver: str,
) -> dict[str, Any]:
    """A case record with every field of the schema present, not yet measured."""
    return {
        "scenario": scenario,
        "variant": variant,
        "params": dict(params),
        "driver": driver,
        "status": "skipped",
        "error": None,
        "unit": unit,
        "ops_per_round": ops_per_round,
        "statements_per_op": None,
        "samples_ns": [],
        "stats": None,
        "unstable": False,
        "throughput_per_s": None,
        "extra": {},
    }


def case_key(case: dict[str, Any], driver: str | None = None) -> tuple:
    """How cases are paired across runs: (scenario, variant, params, driver)."""
    params = tuple(sorted((k, json.dumps(v, sort_keys=True)) for k, v in case["params"].items()))
    return (case["scenario"], case["variant"], params, driver or case.get("driver"))


def validate(data: Any, source: str = "results file") -> dict[str, Any]:
    """Check the shape of a parsed results document; raise ResultsFileError if it is off."""
    if not isinstance(data, dict):
        raise ResultsFileError(
            f"{source} is not a sqla-bench results file (top level is not an object)"
        )
    version = data.get("schema_version")
    if not isinstance(version, int):
        raise ResultsFileError(f"{source} is not a sqla-bench results file (no schema_version)")
    if version > SCHEMA_VERSION:
        raise ResultsFileError(
            f"{source} has schema_version {version}, newer than this sqla-bench reads "
            f"({SCHEMA_VERSION}); upgrade sqla-bench to read it"
        )
    if version < 1:
        raise ResultsFileError(f"{source} has unknown schema_version {version}")
    missing = [k for k in REQUIRED_TOP if k not in data]
    if missing:
        raise ResultsFileError(f"{source} is incomplete: missing {', '.join(missing)}")
    if not isinstance(data["cases"], list):
        raise ResultsFileError(f"{source} is malformed: 'cases' is not a list")
    for index, case in enumerate(data["cases"]):
        if not isinstance(case, dict) or any(k not in case for k in REQUIRED_CASE):
            raise ResultsFileError(f"{source} is malformed: case {index} lacks required fields")
        if case["status"] not in CASE_STATUSES:
            raise ResultsFileError(
                f"{source} is malformed: case {index} has status {case['status']!r}"
            )
    return data


def load(path: str | os.PathLike) -> dict[str, Any]:
    """Read and validate a results file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ResultsFileError(f"results file {path} does not exist") from None
    except IsADirectoryError:
        raise ResultsFileError(f"{path} is a directory, not a results file") from None
    except OSError as exc:
        raise ResultsFileError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ResultsFileError(
            f"{path} is not a sqla-bench results file (not UTF-8 text)"
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ResultsFileError(
            f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}): "
            "truncated or not a results file"
        ) from None
    return validate(data, source=str(path))


def load_any(path: str | os.PathLike) -> dict[str, Any]:
    """Read a sqla-bench results file, or a pytest-benchmark JSON file converted into one."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return load(path)  # load() states what is wrong with the file, in one line
    if isinstance(data, dict) and "benchmarks" in data and "schema_version" not in data:
        from bench.pytest_json import convert  # pytest-benchmark's --benchmark-json output

        return validate(convert(data), source=str(path))
    return validate(data, source=str(path))


def write_atomic(path: str | os.PathLike, data: dict[str, Any]) -> None:
    """Replace `path` with `data` as JSON in one rename: readers never see half a file,
    and a failed write leaves the previous version in place."""
    path = Path(path)
    text = json.dumps(data, indent=1, sort_keys=False, allow_nan=False, default=_json_default)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise ResultsFileError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except OSError as exc:
        Path(tmp_name).unlink(missing_ok=True)
        raise ResultsFileError(f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def check_writable(path: str | os.PathLike) -> None:
    """Fail early, before any measurement, if the results file could not be written:
    by trying, since permission bits do not tell (root, read-only mounts)."""
    path = Path(path)
    parent = path.parent
    if parent.exists() and not parent.is_dir():
        raise ResultsFileError(f"cannot write {path}: {parent} is not a directory")
    if not parent.is_dir():
        raise ResultsFileError(f"cannot write {path}: directory {parent} does not exist")
    if path.is_dir():
        raise ResultsFileError(f"cannot write {path}: it is a directory")
    try:
        with tempfile.NamedTemporaryFile(prefix=f".{path.name}.", dir=parent):
            pass
    except OSError as exc:
        raise ResultsFileError(
            f"cannot write {path}: directory {parent} is not writable ({exc.strerror})"
        ) from None


def _json_default(value: Any) -> Any:
    # numpy scalars reach the file as plain numbers; anything else as its text.
    if hasattr(value, "item"):
        return value.item()
    return str(value)
