"""What one replay case saw over its timed rounds: per statement its time, count, rows
checked against the capture and failures with the first error; per unit type its
latencies (an HDR histogram per unit name). Warmup rounds are tallied apart and dropped.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from bench.measure import hdr
from bench.replay.workload import Statement

TOP_STATEMENTS = 10
SQL_SHOWN = 300


@dataclass
class StatementTally:
    sql: str
    count: int = 0
    total_ns: int = 0
    failures: int = 0
    first_error: str | None = None
    rows_checked: int = 0
    rows_mismatched: int = 0
    first_mismatch: str | None = None


@dataclass
class Tally:
    statements: dict[str, StatementTally] = field(default_factory=dict)
    latencies: dict[str, Any] = field(default_factory=dict)  # unit name -> HDR histogram
    units: int = 0
    sent: int = 0  # statements sent, failed or not
    commands: int = 0  # BEGIN, SAVEPOINT, RELEASE, ROLLBACK (TO), COMMIT sent besides them
    # unit name -> latencies of this round, added to the histograms after it (settle):
    # an append is all a unit costs while the round is timed, as in bench.api.drive
    pending: dict[str, list[int]] = field(default_factory=dict)

    def _of(self, statement: Statement) -> StatementTally:
        found = self.statements.get(statement.sql)
        if found is None:
            found = self.statements[statement.sql] = StatementTally(statement.sql)
        return found

    def ran(self, statement: Statement, ns: int, rows: int | None) -> None:
        entry = self._of(statement)
        entry.count += 1
        entry.total_ns += ns
        self.sent += 1
        if statement.returns and statement.captured_rows is not None and rows is not None:
            entry.rows_checked += 1
            if rows != statement.captured_rows:
                entry.rows_mismatched += 1
                if entry.first_mismatch is None:
                    entry.first_mismatch = (f"returned {rows} rows, captured "
                                            f"{statement.captured_rows}")

    def failed(self, statement: Statement, error: str) -> None:
        entry = self._of(statement)
        entry.failures += 1
        self.sent += 1
        if entry.first_error is None:
            entry.first_error = error

    def unit_done(self, name: str, latency_ns: int) -> None:
        self.units += 1
        found = self.pending.get(name)
        if found is None:
            found = self.pending[name] = []
        found.append(latency_ns)

    def settle(self) -> None:
        """Add the round's unit latencies to the histograms (outside the timed round)."""
        for name, values in self.pending.items():
            histogram = self.latencies.get(name)
            if histogram is None:
                histogram = self.latencies[name] = hdr.new()
            hdr.record(histogram, values)
        self.pending.clear()

    def export(self) -> dict[str, Any]:
        """All of it, picklable: what a worker process sends back (--processes)."""
        self.settle()
        return {"statements": [asdict(s) for s in self.statements.values()],
                "histograms": {n: hdr.encode(h) for n, h in self.latencies.items()},
                "units": self.units, "sent": self.sent, "commands": self.commands}

    def absorb(self, part: dict[str, Any]) -> None:
        """Add a worker's export: counts and times added, histograms added bucket by
        bucket (never percentiles averaged), the first error seen kept."""
        self.units += part["units"]
        self.sent += part["sent"]
        self.commands += part["commands"]
        for item in part["statements"]:
            mine = self.statements.get(item["sql"])
            if mine is None:
                self.statements[item["sql"]] = StatementTally(**item)
                continue
            for key in ("count", "total_ns", "failures", "rows_checked", "rows_mismatched"):
                setattr(mine, key, getattr(mine, key) + item[key])
            mine.first_error = mine.first_error or item["first_error"]
            mine.first_mismatch = mine.first_mismatch or item["first_mismatch"]
        for name, encoded in part["histograms"].items():
            histogram = self.latencies.get(name)
            if histogram is None:
                histogram = self.latencies[name] = hdr.new()
            histogram.add(hdr.decode(encoded))

    def record(self) -> dict[str, Any]:
        """The case's `extra.replay`: what the report and the summary table show."""
        self.settle()
        total = sum(s.total_ns for s in self.statements.values()) or 1
        top = sorted(self.statements.values(), key=lambda s: s.total_ns, reverse=True)
        failing = [s for s in self.statements.values() if s.failures]
        return {
            "units": self.units,
            "statements": self.sent,
            "statements_per_unit": round(self.sent / self.units, 4) if self.units else None,
            "transaction_commands": self.commands,
            # statements and transaction commands: the round trips a unit costs at least
            "commands_per_unit": (round((self.sent + self.commands) / self.units, 4)
                                  if self.units else None),
            "failures": sum(s.failures for s in self.statements.values()),
            "failed_statements": [{"sql": s.sql[:SQL_SHOWN], "failures": s.failures,
                                   "first_error": s.first_error} for s in failing],
            "rows_checked": sum(s.rows_checked for s in self.statements.values()),
            "rows_mismatched": sum(s.rows_mismatched for s in self.statements.values()),
            "first_mismatch": next((f"{s.sql[:SQL_SHOWN]}: {s.first_mismatch}"
                                    for s in self.statements.values() if s.first_mismatch),
                                   None),
            "top_statements": [{"sql": s.sql[:SQL_SHOWN], "count": s.count,
                                "total_ms": round(s.total_ns / 1e6, 3),
                                "share": round(s.total_ns / total, 4)}
                               for s in top[:TOP_STATEMENTS]],
            "unit_types": {name: {k: v for k, v in hdr.summary(h).items()}
                           | {"histogram": hdr.encode(h)}
                           for name, h in sorted(self.latencies.items())},
        }
