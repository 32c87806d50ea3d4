"""The order rounds run in: interleaved blocks (the default) or one variant after another.

This machine's speed wanders by 2x within minutes, so variants are never measured one
after the other. Interleaved: every case of a point is opened first; then rounds run
in *blocks*, each block one round of every case in an order shuffled per block (from
the run's seed), warmup blocks first. A slow minute then lands on every variant alike,
and a variant's round is paired with its reference's round of the same block.
Blocked (`--schedule blocked`) is the old order, kept to show the difference: each case
opened, all its rounds, closed, then the next.

Before every timed block (every timed round, blocked) a fixed piece of Python work is
timed (bench.measure.machine): each sample keeps it, to show how fast the machine was then.

A case whose round raises is recorded as failed, closed at once (so its connections
and locks do not reach the other cases' rounds), and leaves the schedule; the others go on.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from bench.measure.machine import probe_ns
from bench.measure.rounds import RoundResult
from bench.results.records import Schedule


class RoundSource(Protocol):
    """What the schedule runs: a scenario case (bench.measure.lifecycle.Case) or a user's function
    under the pytest plug-in."""

    @property
    def name(self) -> str: ...

    async def open(self) -> None: ...

    async def round(self, timed: bool) -> RoundResult: ...

    async def close(self) -> None: ...


@dataclass
class Entry:
    """One case in the schedule, with what its timed rounds measured."""

    source: RoundSource
    rounds: list[RoundResult] = field(default_factory=list)
    blocks: list[int] = field(default_factory=list)
    machine_ns: list[int] = field(default_factory=list)  # the speed probe of each round's block
    error: BaseException | None = None
    open: bool = False

    @property
    def failed(self) -> bool:
        return self.error is not None

    @property
    def last_data(self) -> Any:
        return self.rounds[-1].data if self.rounds else None


Finish = Callable[[Entry], Awaitable[None]]  # the untimed extra rounds of a finished case


async def measure(entries: list[Entry], *, schedule: Schedule, warmup: int, rounds: int,
                  rng: random.Random, finish: Finish,
                  on_round: Callable[[], None] = lambda: None,
                  stop_check: Callable[[], None] = lambda: None,
                  probe: Callable[[], int] = probe_ns) -> None:
    """Run every entry's warmup and timed rounds in the chosen order, then `finish` each
    (calls, memory, profile rounds), and close them all, whatever happens."""
    try:
        if schedule == "blocked":
            for entry in entries:
                await _open(entry)
                for block in range(-warmup, rounds):
                    if not entry.open:
                        break
                    stop_check()
                    await _round(entry, block, on_round, probe() if block >= 0 else 0)
                await _finish_and_close(entry, finish)
        else:
            for entry in entries:
                await _open(entry)
            for block in range(-warmup, rounds):
                order = [e for e in entries if e.open]
                rng.shuffle(order)
                speed = probe() if block >= 0 and order else 0
                for entry in order:
                    stop_check()
                    await _round(entry, block, on_round, speed)
            for entry in entries:
                await _finish_and_close(entry, finish)
    finally:  # also when the run is stopped: nothing stays open
        for entry in entries:
            if entry.open:
                entry.open = False
                await entry.source.close()


async def _open(entry: Entry) -> None:
    try:
        await entry.source.open()
        entry.open = True
    except Exception as exc:  # noqa: BLE001 - recorded; the other cases go on
        entry.error = exc
        await entry.source.close()


async def _round(entry: Entry, block: int, on_round: Callable[[], None], speed: int) -> None:
    """Negative blocks are warmup: run, not recorded."""
    try:
        result = await entry.source.round(timed=block >= 0)
    except Exception as exc:  # noqa: BLE001 - recorded; the other cases go on
        entry.error = exc
        entry.open = False
        await entry.source.close()
        return
    if block >= 0:
        entry.rounds.append(result)
        entry.blocks.append(block)
        entry.machine_ns.append(speed)
    on_round()


async def _finish_and_close(entry: Entry, finish: Finish) -> None:
    if not entry.open:
        return
    try:
        await finish(entry)
    except Exception as exc:  # noqa: BLE001 - recorded; the other cases go on
        entry.error = exc
    finally:
        entry.open = False
        await entry.source.close()
