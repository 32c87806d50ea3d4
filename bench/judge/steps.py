"""Step changes in one case's measurements across runs (`sqla-bench history`).

A case's history is read as piecewise constant plus noise: a level that holds until a
change (a commit, an upgrade) moves it to another level. asv finds such steps with a
penalised fit of constant segments, robust absolute-deviation costs weighted by each
point's own uncertainty; this is the same idea, made small:

- values are taken on a log scale, so 2× slower and 2× faster are steps of one size;
- each point's uncertainty sigma is read from its 95% interval (width / 3.92), never
  below FLOOR_SIGMA: separate runs differ by more than one run's interval says;
- a segment costs the sum of |value - segment median| / sigma over its points;
- binary segmentation: the split of a segment that lowers its cost the most is kept
  when it lowers it by more than the penalty (3 + 2 ln n, in sigmas: longer histories
  need more evidence per step) and moves the level by at least MIN_CHANGE; then each
  side is split again.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

MIN_CHANGE = 0.05  # a step moves the level by at least 5%
FLOOR_SIGMA = 0.02  # about 2% noise between runs, at the least


@dataclass(frozen=True)
class Step:
    index: int  # the first point of the new level
    before: float  # the level before (median of the segment), in the values' own unit
    after: float

    @property
    def change(self) -> float:
        return self.after / self.before


def detect_steps(values: Sequence[float], lows: Sequence[float] | None = None,
                 highs: Sequence[float] | None = None) -> list[Step]:
    """The steps of a series of positive values, with optional 95% intervals."""
    if len(values) < 2 or any(v <= 0 for v in values):
        return []
    logs = [math.log(v) for v in values]
    sigmas = [FLOOR_SIGMA] * len(values)
    if lows is not None and highs is not None:
        sigmas = [max(FLOOR_SIGMA, (math.log(h) - math.log(lo)) / 3.92) if lo > 0 and h > 0
                  else FLOOR_SIGMA for lo, h in zip(lows, highs, strict=True)]
    penalty = 3 + 2 * math.log(len(values))

    def cost(start: int, stop: int) -> float:
        level = statistics.median(logs[start:stop])
        return sum(abs(logs[i] - level) / sigmas[i] for i in range(start, stop))

    found: list[int] = []

    def split(start: int, stop: int) -> None:
        if stop - start < 2:
            return
        whole = cost(start, stop)
        best, at = min((cost(start, k) + cost(k, stop), k) for k in range(start + 1, stop))
        moved = abs(statistics.median(logs[at:stop]) - statistics.median(logs[start:at]))
        if whole - best > penalty and moved >= math.log(1 + MIN_CHANGE):
            found.append(at)
            split(start, at)
            split(at, stop)

    split(0, len(values))
    bounds = [0, *sorted(found), len(values)]
    levels = [math.exp(statistics.median(logs[a:b]))
              for a, b in zip(bounds, bounds[1:], strict=False)]
    return [Step(index, levels[k], levels[k + 1]) for k, index in enumerate(sorted(found))]
