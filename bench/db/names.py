""""Did you mean": the closest known names to a mistyped one (difflib).

At the bottom of the layers (bench.db) so the driver registry, the scenario loader and
the command line all suggest the same way."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """` (did you mean 'asyncpg'?)`, or '' when nothing known is close."""
    choices = list(known)
    close = difflib.get_close_matches(name, choices, n=2, cutoff=0.6)
    if not close:
        lowered = {c.lower(): c for c in choices}
        close = [lowered[c] for c in difflib.get_close_matches(name.lower(), lowered, n=2)]
    if not close:
        return ""
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)"
