"""The records of a results file, typed: what a run and each of its cases hold.

They stay plain dicts at run time (the file is JSON, and a record is read as it was
written), typed as TypedDicts so that a key spelled wrong, or a field read as the
wrong type, is a type-checker error rather than a reader's surprise. bench.results.file
reads, validates, migrates and writes them; everything else uses these types.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict, get_args

# "counted" is for instructions per op (run --measure instructions, make bench-ci): counts
# need no large sizes and few rounds, and every emulated instruction costs ~25x a native one.
# Here, not in bench.api.family, so the command line and the pytest plug-in name them
# without importing SQLAlchemy.
PROFILES = ("quick", "standard", "full", "counted")
# The bare driver doing a family's work: the floor SQLAlchemy's cost is read against,
# and every family's reference unless it names its own.
RAW_VARIANT = "raw_driver"

CaseStatus = Literal["ok", "error", "wrong", "skipped"]
RunStatus = Literal["running", "complete", "interrupted"]
Schedule = Literal["interleaved", "blocked"]
SCHEDULES: tuple[Schedule, ...] = get_args(Schedule)  # the default first


class Stats(TypedDict):
    """Summary of a case's round times, in ns per round."""

    min: float
    max: float
    median: float
    mean: float
    stdev: float
    iqr: float
    p95: float
    p99: float
    cv: float
    ci95_low: float
    ci95_high: float


class Paired(TypedDict):
    """A variant's time relative to its point's reference variant, block by block."""

    reference: str
    ratios: list[float]  # one per block both ran: (variant / op) / (reference / op)
    median: float
    ci95_low: float  # 95%, order statistics over blocks
    ci95_high: float


class PairedDriver(TypedDict):
    """A case's time relative to the same variant on the run's reference driver, block by
    block (a run of several drivers, `--driver asyncpg,psycopg`)."""

    reference: str  # the reference driver's label in the run
    ratios: list[float]  # one per block both ran: (this driver / op) / (reference / op)
    median: float
    # Order statistics over blocks, at `confidence`: 95% shared by the family's cases on
    # this driver (bench.measure.summary.family_wise_driver_intervals)
    ci95_low: float
    ci95_high: float
    n: int  # blocks paired
    confidence: NotRequired[float]  # each interval's own level (files before 0.3: 0.95)


class ScanRecord(TypedDict):
    """A full scan of a table in a query plan: what an index could have saved."""

    table: str
    rows: int | None  # rows the scan read (PostgreSQL, SQLite) or expects to (MySQL)
    kept: int | None  # rows it kept after its filter, where the server says (PostgreSQL)
    # an index could have saved it (bench.measure.explain says when): the report says so
    callout: bool


class PlanRecord(TypedDict):
    """One distinct statement a variant sent in its `run --explain` round, and its plan."""

    sql: str
    sent: int  # times the round sent it
    explain: str | None  # the EXPLAIN form used; None when the statement has no plan
    plan: Any  # the server's answer: JSON (PostgreSQL, MySQL) or lines (SQLite)
    scans: list[ScanRecord]
    error: str | None


class InstructionsRecord(TypedDict):
    """Instructions per op counted under callgrind (`run --measure instructions|both`):
    the client's user-space work of each timed round, never the server's or waiting."""

    per_op: float  # median over layouts of each layout's median over its rounds
    rounds: list[float]  # every counted round, per op, layouts in order
    layouts: list[float]  # each layout's median per op (empty: one process, not merged)
    spread: float | None  # (max - min) / median over layouts: what a layout moves it by
    round_spread: float | None  # largest (max - min) / median of one layout's rounds
    rounds_agree: NotRequired[bool]  # every layout's rounds within 0.5%: else flagged
    # The count's identity besides the case: counts from other builds are not compared.
    valgrind: str | None
    python_build: str
    # What was counted (callgrind_out.COUNTED): absent in counts made before it was named.
    counted: NotRequired[str | None]
    # Per op, the instructions of the type cache's miss path that the count leaves out:
    # information (the layout decides them), never judged.
    excluded_per_op: NotRequired[float | None]
    # The memory layout each layout was counted in (identity.layout_key, comma-joined):
    # equal on two runs, the checkout's path had no share in their difference.
    layout: NotRequired[str | None]


class CaseRecord(TypedDict):
    scenario: str
    variant: str
    params: dict[str, Any]
    driver: str
    status: CaseStatus
    error: str | None
    unit: str
    ops_per_round: int
    reference: str | None  # the point's reference variant (None: none ran there)
    statements_per_op: float | None  # exact: counted by a cursor-execute listener
    calls_per_op: float | None  # Python calls per op, from one extra untimed round
    samples_ns: list[int]  # wall time of each timed round
    blocks: list[int]  # the block of each sample (interleaved schedule)
    cpu_ns: list[int]  # process CPU time of each round
    wait_ns: list[int] | None  # time waiting for a CPU in each round (Linux), else None
    stats: Stats | None
    paired: Paired | None  # None for the reference itself, or when it did not run
    unstable: bool  # rounds vary by more than stats.UNSTABLE_CV
    noisy_rounds: int  # rounds that waited for a CPU a large share of their time
    cpu_share: float | None  # median of cpu / wall: how much of an op is client CPU
    throughput_per_s: float | None
    extra: dict[str, Any]
    # The round-trip time sqla-bench's delaying proxy added (--rtt), in ms; None or absent:
    # a direct connection. Part of the case's identity: cases pair at the same RTT only.
    rtt_ms: NotRequired[float | None]
    # Per-request timings of the timed rounds (ctx.record_latencies keys: latency_ns,
    # checkout_wait_ns, ...), each an encoded HDR histogram (bench.measure.hdr); on several load
    # processes, their sum.
    histograms: NotRequired[dict[str, str]]
    plans: NotRequired[list[PlanRecord]]  # with `run --explain`
    # The machine-speed probe of each sample's block, in ns (bench.measure.machine); absent in
    # files written before it was taken.
    machine_ns: NotRequired[list[int]]
    # A run of several drivers: the ratio to the same variant on the reference driver of
    # the same blocks; absent on the reference driver, in single-driver runs and across
    # backends (unless --pair-across-backends).
    paired_driver: NotRequired[PairedDriver]
    # `run --measure instructions|both` (issue 23): instructions per op, the median over
    # memory layouts, and how it was counted. With --measure instructions alone, the
    # round times were taken under valgrind (config.measure says so): context, not speed.
    instructions_per_op: NotRequired[float | None]
    instructions: NotRequired[InstructionsRecord]
    # With --explain: the distinct statements' (node type, relation, index) scans, sorted,
    # and a hash of them (bench.measure.plan_shape); a lost index or a new full scan
    # changes both anywhere, and the scans let a verdict name the change.
    plan_scans: NotRequired[list[list[tuple[str, str, str]]]]
    plan_fingerprint: NotRequired[str | None]


class ComparisonRecord(TypedDict):
    """A decision the family declares (bench.api.family.Comparison), as the report reads it."""

    candidate: str
    against: str
    sentence: str
    at: dict[str, Any]  # the parameter values the decision is read at
    largest: list[str]  # parameters taken at their largest measured value
    overhead: NotRequired[bool]  # a cost to know, not a choice: stated in a neutral tone


class FamilyRecord(TypedDict):
    question: str
    unit: str
    reference: list[str]  # the names the family's reference is chosen from, in order
    comparisons: NotRequired[list[ComparisonRecord]]
    # The parameter that counts the processes a case runs in (bench.api.family's
    # processes_param: pool_sizing's app_processes); absent in files before 0.3.
    processes_param: NotRequired[str | None]
    sweeps: NotRequired[list[str]]  # parameters the question needs several values of
    note: NotRequired[str]  # what to know on this run's backend (Family.notes)


class Environment(TypedDict, total=False):
    python: str | None
    implementation: str | None
    platform: str | None
    cpu_model: str | None
    cpu_count: int | None
    memory_total: int | None
    sqlalchemy: str | None
    driver_versions: dict[str, str | None]
    server: dict[str, str]
    event_loop: str | None
    git_commit: str | None
    server_settings: dict[str, str]  # bench.db.database.RESULT_SETTINGS, as the server said
    load_start: MachineLoad  # how busy the machine was when the run started
    load_end: MachineLoad  # ... and when its last point was written
    servers: dict[str, dict[str, str]]  # a run of several backends: each backend's server


class MachineLoad(TypedDict):
    loadavg: list[float] | None  # 1, 5 and 15 minutes
    cpu_pressure: dict[str, float] | None  # Linux PSI "some" avg10/avg60/avg300, in %


class CalibrationRecord(TypedDict):
    """The raw driver's SELECT 1, direct and through one proxy port, alternately."""

    rtt_ms: float
    samples: int
    direct_us: float  # medians
    through_proxy_us: float
    added_us: float  # median of the paired differences: what the proxy really added


class NetworkRecord(TypedDict, total=False):
    """How the run reached the database with --rtt: sqla-bench's delaying proxy."""

    target: str  # the server's host:port the proxy forwarded to
    realtime: bool  # the proxy ran under SCHED_FIFO
    timer_slack_1ns: bool
    calibration: list[CalibrationRecord]
    proxy_cpu_ms: float  # the proxy process's CPU time over the whole run
    fell_back: str | None  # why the rest of the run went direct (--rtt-fallback)


class RunConfigRecord(TypedDict, total=False):
    driver: str
    backend: str
    sync: bool
    url: str | None  # always masked
    profile: str
    warmup: int | None
    rounds: int | None
    seed: int | None
    schedule: Schedule
    scenario_filter: list[str]
    variant_filter: list[str] | None
    param_overrides: dict[str, dict[str, list[Any]]]
    connect_timeout: float
    event_loop: str
    profile_code: bool
    count_calls: bool
    rtt_ms: list[float]  # --rtt: one pass of the plan per value, in this order
    runs: int  # a side merged from several runs (bench.judge.repeat)
    rtt_fallback: bool
    processes: int  # --processes: load workers of a LocalCluster
    cluster: str  # --cluster: the Dask scheduler's address
    rate: float  # --rate: requests/s in total, an open loop
    explain: bool
    # A run of several drivers (`--driver asyncpg,psycopg`): each as the run names it,
    # in order; `driver` above is the first. Absent: a run of one driver.
    drivers: list[DriverEntry]
    driver_reference: str  # the label other drivers' paired ratios are read against
    pair_across_backends: bool
    measure: str  # time (default), instructions or both (issue 23)
    # what the harness set on the run's own SQLite file (bench.db.namespace): commits
    # measured without an fsync
    sqlite_pragmas: dict[str, str]
    layouts: int  # memory layouts counted (--measure instructions|both)


class DriverEntry(TypedDict, total=False):
    """One driver of a several-driver run."""

    label: str  # unique in the run: `asyncpg`, or `asyncpg@2` for the same driver again
    driver: str  # the registry name
    backend: str
    sync: bool
    url: str | None  # masked
    reference: str | None  # the label its paired ratios are read against (None: itself)
    skipped: str  # why it did not run (its server did not answer), when it did not


class RunRecord(TypedDict):
    schema_version: int
    tool_version: str
    run_id: str
    label: str  # how reports and compare name this run: unique per run
    created_at: str
    run_status: RunStatus
    environment: Environment
    config: RunConfigRecord
    families: dict[str, FamilyRecord]
    cases: list[CaseRecord]
    warnings: NotRequired[list[str]]
    network: NotRequired[NetworkRecord]  # with --rtt only
    # `sqla-bench replay`: the workload's facts and the paired driver ratios (bench.replay)
    replay: NotRequired[dict[str, Any]]


# What a measured case carries through pytest-benchmark's extra_info (the plug-in writes
# them, bench.results.from_pytest reads them back): figures of the whole case, and lists
# with one value per round. A new measured field joins one of these two.
CASE_FIGURES = ("statements_per_op", "calls_per_op", "cpu_share", "noisy_rounds", "reference",
                "paired", "instructions_per_op", "instructions", "plan_scans",
                "plan_fingerprint")
PER_ROUND_FIGURES = ("blocks", "machine_ns")


def new_case(scenario: str, variant: str, params: dict[str, Any], *, unit: str,
             ops_per_round: int, driver: str) -> CaseRecord:
    """A case record with every field present, not yet measured."""
    return {
        "scenario": scenario,
        "variant": variant,
        "params": dict(params),
        "driver": driver,
        "status": "skipped",
        "error": None,
        "unit": unit,
        "ops_per_round": ops_per_round,
        "reference": None,
        "statements_per_op": None,
        "calls_per_op": None,
        "samples_ns": [],
        "blocks": [],
        "cpu_ns": [],
        "wait_ns": None,
        "stats": None,
        "paired": None,
        "unstable": False,
        "noisy_rounds": 0,
        "cpu_share": None,
        "throughput_per_s": None,
        "extra": {},
    }


def per_op(case: CaseRecord, field: str = "median") -> float:
    """A statistic of the case's rounds per operation, in ns (the case must have stats)."""
    stats = case["stats"]
    if stats is None:
        raise ValueError(f"case {case['scenario']}/{case['variant']} has no timings")
    return float(stats[field]) / max(1, case["ops_per_round"])  # type: ignore[literal-required]


def params_text(params: dict[str, Any]) -> str:
    """A parameter point as people read it: `parents=100 children=10`."""
    return " ".join(f"{k}={v}" for k, v in params.items()) or "(no parameters)"


def rtt_of(case: CaseRecord | dict[str, Any]) -> float | None:
    """The RTT the case was measured at through the proxy, in ms; None: direct."""
    value = case.get("rtt_ms")
    return None if value is None else float(value)


def rtt_text(rtt_ms: float | None) -> str:
    """`rtt=0.5ms`, `rtt=0`; `direct` for a connection without sqla-bench's proxy."""
    if rtt_ms is None:
        return "direct"
    return "rtt=0" if rtt_ms == 0 else f"rtt={rtt_ms:g}ms"


def case_point_text(case: CaseRecord | dict[str, Any]) -> str:
    """Where a case was measured: its parameters, and its RTT when it had one."""
    rtt = rtt_of(case)
    text = params_text(case["params"])
    return text if rtt is None else f"{text} {rtt_text(rtt)}"
