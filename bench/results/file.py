"""The results file: one JSON document per run (bench.results.records types its contents).

Format history (`schema_version`):
  1  sqla-bench 0.1: cases measured one variant after another (blocked rounds);
     `extra.ratio_to_raw` was a ratio of medians.
  2  sqla-bench 0.2: interleaved rounds. A case adds `blocks` (the block of each
     sample), `cpu_ns` and `wait_ns` per round, `noisy_rounds`, `cpu_share`,
     `calls_per_op`, its point's `reference` and `paired` (the per-block ratios to it
     with median and its 95% CI); the run adds `label`, `config.schedule` and
     `families.*.reference`. Also in 2, all optional (issue 18): a case's `rtt_ms` (the
     RTT sqla-bench's delaying proxy added; absent: direct), the run's `network` (the
     proxy's calibration and CPU) and `config.rtt_ms`/`rtt_fallback`, and in
     `environment`: `server_settings`, `load_start` and `load_end`.
     Also optional in 2 (issue 14): a case's `histograms` (per-request timings as
     encoded HDR histograms) and, for load on Dask workers, `extra.workers`,
     `extra.load_processes` and `extra.bottleneck`; the run's `config.processes`,
     `config.cluster` (the scheduler's address) and `config.rate`.
     Also optional in 2 (issue 15): `families.*.comparisons` (the decisions a family
     declares, which the report states), a case's `plans` (the statements of one
     `run --explain` round, with their query plans) and `config.explain`.
     Also optional in 2 (issue 12): a case's `machine_ns`, the machine-speed probe
     (bench.measure.machine) of each sample's block.
     Also optional in 2 (issue 24): runs of several drivers. A case's `paired_driver`
     (its per-block ratio to the same variant on the reference driver, median, 95%
     CI and block count), `config.drivers` (label, driver, backend, sync, url, reference,
     skipped), `config.driver_reference`, `config.pair_across_backends` and
     `environment.servers`. A case's `driver` is then the driver's label in the run.
     Also optional in 2 (issue 23): a case's `instructions_per_op` and `instructions`
     (counted under callgrind, with the valgrind version and Python build that are part
     of its identity), its `plan_fingerprint`, and `config.measure`/`config.layouts`.
Older files are migrated on reading (`_MIGRATIONS`): nothing is invented, fields a
version did not measure are empty. Newer files are refused.

A run is written after every finished parameter point with an atomic replace (write
a temporary file beside the target, fsync, rename), so an interrupted run, or a disk
that fills, leaves a valid file holding every point it finished. Readers refuse files
they do not understand with a ResultsFileError whose message is one line.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from bench.results.from_pytest import convert
from bench.results.records import CaseRecord, RunRecord, rtt_of
from bench.results.schema import CASE_STATUSES, SCHEMA_VERSION, ResultsFileError  # re-exported


def case_key(case: CaseRecord, driver: str | None = None) -> tuple[Any, ...]:
    """How cases are paired across runs: (scenario, variant, params, driver). A case
    measured through the --rtt proxy has its RTT among its params here ("@rtt_ms"), so
    it pairs with cases at the same RTT only, whatever part of the key is compared."""
    params = tuple(sorted((k, json.dumps(v, sort_keys=True)) for k, v in case["params"].items()))
    rtt = rtt_of(case)
    if rtt is not None:
        params += (("@rtt_ms", json.dumps(rtt)),)
    return (case["scenario"], case["variant"], params, driver or case.get("driver"))


def rtts_of(doc: RunRecord | dict[str, Any]) -> list[float | None]:
    """The RTTs a run's cases were measured at, in first-seen order (None: direct)."""
    seen: list[float | None] = []
    for case in doc["cases"]:
        rtt = rtt_of(case)
        if rtt not in seen:
            seen.append(rtt)
    return seen


def rtt_refusal(base: RunRecord | dict[str, Any], new: RunRecord | dict[str, Any],
                base_name: str = "BASE", new_name: str = "NEW") -> str | None:
    """Why two runs cannot be compared, when they share no RTT; None when they can (their
    cases at an RTT only one side has are left unpaired). A case's time at another
    network distance is another measurement, not a change."""
    base_rtts, new_rtts = rtts_of(base), rtts_of(new)
    if not base_rtts or not new_rtts or set(base_rtts) & set(new_rtts):
        return None
    return (f"{base_name} was measured {_where(base_rtts)} and {new_name} {_where(new_rtts)}: "
            "compare judges cases at the same RTT only; measure both sides with the same "
            "--rtt (or both without)")


def _where(rtts: list[float | None]) -> str:
    """`at RTT 1 ms, 2 ms`, `over a direct connection (no --rtt)`, or both."""
    delayed = [f"{r:g} ms" for r in rtts if r is not None]
    parts = [f"at RTT {', '.join(delayed)}"] if delayed else []
    if None in rtts:
        parts.append("over a direct connection (no --rtt)")
    return " and ".join(parts)


# -- migrations: each takes a document of version N and returns version N + 1 ---------------


def _v1_to_v2(doc: dict[str, Any]) -> dict[str, Any]:
    config = doc.get("config")
    if isinstance(config, dict):
        config.setdefault("schedule", "blocked")  # version 1 measured one variant at a time
    else:
        config = {}  # missing or malformed: validation names it, nothing is made up
    doc.setdefault("label", f"{config.get('driver', '?')} {doc.get('created_at', '')}".strip())
    families = doc.get("families")
    for meta in families.values() if isinstance(families, dict) else ():
        if isinstance(meta, dict):  # otherwise validation names it
            meta.setdefault("reference", ["raw_driver"])
    for case in doc.get("cases", []):
        if not isinstance(case, dict):
            continue  # validation names it
        for name, empty in (("reference", None), ("calls_per_op", None), ("blocks", []),
                            ("cpu_ns", []), ("wait_ns", None), ("paired", None),
                            ("noisy_rounds", 0), ("cpu_share", None),
                            ("statements_per_op", None), ("throughput_per_s", None),
                            ("unstable", False), ("stats", None), ("error", None),
                            ("extra", {}), ("unit", ""), ("ops_per_round", 1)):
            case.setdefault(name, empty)
    doc["schema_version"] = 2
    return doc


_MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _v1_to_v2}


# -- validation ---------------------------------------------------------------------------

_NUMBER = (int, float)
_TOP_FIELDS: dict[str, tuple[type, ...]] = {
    "schema_version": (int,), "tool_version": (str,), "run_id": (str,), "label": (str,),
    "created_at": (str,), "environment": (dict,), "config": (dict,), "cases": (list,),
}
_CASE_FIELDS: dict[str, tuple[type, ...]] = {
    "scenario": (str,), "variant": (str,), "params": (dict,), "status": (str,),
    "samples_ns": (list,), "blocks": (list,), "cpu_ns": (list,), "extra": (dict,),
    "unit": (str,), "ops_per_round": (int,), "noisy_rounds": (int,), "unstable": (bool,),
}
# Fields a case record always has but may hold null (not measured): an absent one reads
# as null, so every reader can index them as bench.results.records.CaseRecord declares.
_NULLABLE_CASE_FIELDS: dict[str, tuple[type, ...]] = {
    "error": (str,), "reference": (str,), "statements_per_op": _NUMBER,
    "calls_per_op": _NUMBER, "wait_ns": (list,), "stats": (dict,), "paired": (dict,),
    "cpu_share": _NUMBER, "throughput_per_s": _NUMBER,
}
_OPTIONAL_CASE_FIELDS: dict[str, tuple[type, ...]] = {
    **_NULLABLE_CASE_FIELDS, "driver": (str,), "rtt_ms": _NUMBER, "histograms": (dict,),
    "instructions_per_op": _NUMBER, "instructions": (dict,), "plan_scans": (list,),
    "plan_fingerprint": (str,),
}
_STATS_FIELDS = ("min", "max", "median", "mean", "stdev", "iqr", "p95", "p99", "cv",
                 "ci95_low", "ci95_high")
_PAIRED_FIELDS = ("median", "ci95_low", "ci95_high")


def _is(value: Any, kinds: tuple[type, ...]) -> bool:
    if isinstance(value, bool) and bool not in kinds:
        return False  # JSON true is not a number or a count
    if isinstance(value, float) and not math.isfinite(value):
        return False
    return isinstance(value, kinds)


def _numbers(value: Any) -> bool:
    return isinstance(value, list) and all(_is(v, _NUMBER) for v in value)


def _check_case(case: Any, index: int, source: str) -> None:
    where = f"{source} is malformed: case {index}"
    if not isinstance(case, dict):
        raise ResultsFileError(f"{where} is not an object")
    for name, kinds in _CASE_FIELDS.items():
        if name not in case:
            raise ResultsFileError(f"{where} lacks {name}")
        if not _is(case[name], kinds):
            raise ResultsFileError(f"{where} has a {name} of the wrong type")
    for name, kinds in _OPTIONAL_CASE_FIELDS.items():
        if case.get(name) is not None and not _is(case[name], kinds):
            raise ResultsFileError(f"{where} has a {name} of the wrong type")
    for name in _NULLABLE_CASE_FIELDS:
        case.setdefault(name, None)
    if case["status"] not in CASE_STATUSES:
        raise ResultsFileError(f"{where} has status {case['status']!r}")
    if case["ops_per_round"] < 1:
        raise ResultsFileError(f"{where} has ops_per_round {case['ops_per_round']}")
    for name in ("samples_ns", "blocks", "cpu_ns"):
        if not _numbers(case[name]):
            raise ResultsFileError(f"{where} has a {name} that is not a list of numbers")
    if case.get("wait_ns") is not None and not _numbers(case["wait_ns"]):
        raise ResultsFileError(f"{where} has a wait_ns that is not a list of numbers")
    if "machine_ns" in case and not _numbers(case["machine_ns"]):
        raise ResultsFileError(f"{where} has a machine_ns that is not a list of numbers")
    if case["blocks"] and len(case["blocks"]) != len(case["samples_ns"]):
        raise ResultsFileError(f"{where} has {len(case['blocks'])} blocks for "
                               f"{len(case['samples_ns'])} samples")
    stats = case.get("stats")
    if stats is not None and not all(_is(stats.get(k), _NUMBER) for k in _STATS_FIELDS):
        raise ResultsFileError(f"{where} has incomplete stats")
    if case["status"] == "ok" and (stats is None or not case["samples_ns"]):
        raise ResultsFileError(f"{where} is ok but has no timings")
    histograms = case.get("histograms")
    if histograms is not None and not all(isinstance(k, str) and isinstance(v, str)
                                          for k, v in histograms.items()):
        raise ResultsFileError(f"{where} has histograms that are not encoded text")
    paired = case.get("paired")
    if paired is not None and not (
        _is(paired.get("reference"), (str,)) and _numbers(paired.get("ratios"))
        and all(_is(paired.get(k), _NUMBER) for k in _PAIRED_FIELDS)
    ):
        raise ResultsFileError(f"{where} has a malformed paired ratio")
    paired_driver = case.get("paired_driver")
    if paired_driver is not None and not (
        isinstance(paired_driver, dict) and _is(paired_driver.get("reference"), (str,))
        and _numbers(paired_driver.get("ratios"))
        and all(_is(paired_driver.get(k), _NUMBER) for k in _PAIRED_FIELDS)
        and _is(paired_driver.get("n"), (int,))
        and 0 < paired_driver.get("confidence", 0.95) <= 1
    ):
        raise ResultsFileError(f"{where} has a malformed paired driver ratio")
    _check_plans(case, where)
    _check_instructions(case, where)


def _check_instructions(case: dict[str, Any], where: str) -> None:
    counted = case.get("instructions")
    if counted is None:
        return
    if not (_is(counted.get("per_op"), _NUMBER) and _numbers(counted.get("rounds", []))
            and _numbers(counted.get("layouts", []))
            and all(counted.get(k) is None or _is(counted[k], _NUMBER)
                    for k in ("spread", "round_spread", "excluded_per_op"))
            and all(counted.get(k) is None or _is(counted[k], (str,))
                    for k in ("valgrind", "python_build", "counted"))):
        raise ResultsFileError(f"{where} has a malformed instructions record")


def _check_drivers(config: Any, source: str) -> None:
    """A several-driver run's list of drivers (optional)."""
    drivers = config.get("drivers") if isinstance(config, dict) else None
    if drivers is None:
        return
    if not isinstance(drivers, list) or not all(
        isinstance(d, dict) and _is(d.get("label"), (str,)) and _is(d.get("driver"), (str,))
        for d in drivers
    ):
        raise ResultsFileError(f"{source} is malformed: config.drivers is not a list of "
                               "drivers with a label and a driver")


def _check_families(families: dict[str, Any], source: str) -> None:
    for name, meta in families.items():
        if not isinstance(meta, dict):
            raise ResultsFileError(f"{source} is malformed: family {name} is not an object")
        if not _is(meta.get("processes_param"), (str, type(None))):
            raise ResultsFileError(f"{source} is malformed: family {name} has a malformed "
                                   "processes_param")
        comparisons = meta.get("comparisons")
        if comparisons is None:
            continue
        if not isinstance(comparisons, list) or not all(
            isinstance(c, dict) and all(_is(c.get(k), (str,))
                                        for k in ("candidate", "against", "sentence"))
            and isinstance(c.get("at", {}), dict) and isinstance(c.get("largest", []), list)
            for c in comparisons
        ):
            raise ResultsFileError(f"{source} is malformed: family {name} has malformed "
                                   "comparisons")


def _check_plans(case: dict[str, Any], where: str) -> None:
    plans = case.get("plans")
    if plans is None:
        return
    if not isinstance(plans, list) or not all(
        isinstance(p, dict) and _is(p.get("sql"), (str,)) and isinstance(p.get("scans", []), list)
        and all(isinstance(scan, dict) and _is(scan.get("table"), (str,))
                and (scan.get("rows") is None or _is(scan["rows"], (int,)))
                for scan in p.get("scans", []))
        for p in plans
    ):
        raise ResultsFileError(f"{where} has malformed query plans")


def validate(data: Any, source: str = "results file") -> RunRecord:
    """Check a parsed results document, migrating an older version; raise
    ResultsFileError (one line) when it is not one this sqla-bench can read."""
    if not isinstance(data, dict):
        raise ResultsFileError(
            f"{source} is not a sqla-bench results file (top level is not an object)"
        )
    version = data.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ResultsFileError(f"{source} is not a sqla-bench results file (no schema_version)")
    if version > SCHEMA_VERSION:
        raise ResultsFileError(
            f"{source} has schema_version {version}, newer than this sqla-bench reads "
            f"({SCHEMA_VERSION}); upgrade sqla-bench to read it"
        )
    if version < 1:
        raise ResultsFileError(f"{source} has unknown schema_version {version}")
    if not isinstance(data.get("cases"), list):
        raise ResultsFileError(f"{source} is malformed: 'cases' is missing or not a list")
    while data["schema_version"] < SCHEMA_VERSION:
        data = _MIGRATIONS[data["schema_version"]](data)
    missing = [k for k in _TOP_FIELDS if k not in data]
    if missing:
        raise ResultsFileError(f"{source} is incomplete: missing {', '.join(missing)}")
    for name, kinds in _TOP_FIELDS.items():
        if not _is(data[name], kinds):
            raise ResultsFileError(f"{source} is malformed: {name} has the wrong type")
    if not isinstance(data.get("families", {}), dict):
        raise ResultsFileError(f"{source} is malformed: families has the wrong type")
    _check_families(data.get("families", {}), source)
    _check_drivers(data.get("config"), source)
    for index, case in enumerate(data["cases"]):
        _check_case(case, index, source)
    data.setdefault("families", {})
    data.setdefault("run_status", "complete")
    return cast(RunRecord, data)


def _read_json(path: Path) -> Any:
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
        return json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise ResultsFileError(
            f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}): "
            "truncated or not a results file"
        ) from None
    except (ValueError, RecursionError):
        raise ResultsFileError(f"{path} is not a sqla-bench results file "
                               "(numbers it cannot hold, or nested too deep)") from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"JSON has {name}")  # NaN and Infinity are not JSON: we never write them


def load(path: str | os.PathLike[str]) -> RunRecord:
    """Read and validate a sqla-bench results file."""
    return validate(_read_json(Path(path)), source=str(path))


def load_any(path: str | os.PathLike[str]) -> RunRecord:
    """Read a sqla-bench results file, or a pytest-benchmark JSON file converted into one."""
    path = Path(path)
    data = _read_json(path)
    if isinstance(data, dict) and "benchmarks" in data and "schema_version" not in data:

        return validate(convert(data, source=str(path)), source=str(path))
    return validate(data, source=str(path))


def write_atomic(path: str | os.PathLike[str], data: RunRecord | dict[str, Any]) -> None:
    """Replace `path` with `data` as JSON in one rename: readers never see half a file,
    and a failed write (a full disk, say) leaves the previous version in place."""
    path = Path(path)
    text = json.dumps(data, indent=1, sort_keys=False, allow_nan=False, default=_json_default)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise ResultsFileError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes it private; results are for reading
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


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def check_writable(path: str | os.PathLike[str]) -> None:
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
