"""A process's share of a round's load: which items and users it takes, and how the
shares' results merge back into one round. Used by the family model (to merge) and by
`drive` and the load workers (to split)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class LoadShare:
    """This process's part of a case's load: process `index` of `count`, and the run's
    total --rate (requests/s over all processes; None: closed loop)."""

    index: int = 0
    count: int = 1
    total_rate: float | None = None

    @property
    def rate(self) -> float | None:
        """This process's requests per second in an open loop."""
        return None if self.total_rate is None else self.total_rate / self.count

    def mine(self, items: Sequence[T]) -> list[T]:
        """This process's items: index, index + count, ..."""
        return list(items[self.index::self.count])

    def users(self, total: int) -> int:
        """This process's part of `total` virtual users (at least one)."""
        base, extra = divmod(total, self.count)
        return max(1, base + (1 if self.index < extra else 0))


def interleave(parts: Sequence[Sequence[Any]]) -> list[Any]:
    """The inverse of LoadShare.mine over every process: the items' results in their
    original order, from each process's results in its own order."""
    merged: list[Any] = [None] * sum(len(part) for part in parts)
    for index, part in enumerate(parts):
        merged[index::len(parts)] = list(part)
    return merged
