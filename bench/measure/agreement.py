"""The cross-variant check: every variant of a point must produce the same data.

A variant that is fast because it does less, or returns the wrong rows, is not a
finding: it is recorded as `wrong`, naming the first difference from the point's
reference variant (the family's reference, usually the bare driver: the simplest
code, so the one to trust).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from bench.api.family import Family
from bench.results.records import CaseRecord


def canonical(value: Any) -> Any:
    """A comparable form of what a variant returned: rows become lists, recursively."""
    if value is None or isinstance(value, (str, bytes, bool, int, float)):
        return value
    if isinstance(value, Mapping):
        return {str(k): canonical(v) for k, v in value.items()}
    if isinstance(value, Iterable):
        return [canonical(v) for v in value]
    return value


def normalized_data(family: Family, data: Any) -> Any:
    return canonical(family.normalize(data) if family.normalize else data)


def fingerprint(value: Any) -> dict[str, Any]:
    """A digest of the data, so runs on other drivers or days can be checked too."""
    out: dict[str, Any] = {"result_digest": hashlib.sha1(repr(value).encode()).hexdigest()[:16]}
    if isinstance(value, list):
        out["result_items"] = len(value)
    return out


def check_agreement(cases: Sequence[CaseRecord], data_by_variant: dict[str, Any],
                    reference: str | None) -> None:
    """Mark as `wrong` every case whose data differs from the reference's."""
    if reference not in data_by_variant:
        reference = next(iter(data_by_variant), None)  # the reference failed: compare to one
    if reference is None or len(data_by_variant) < 2:
        return
    expected = data_by_variant[reference]
    by_name = {c["variant"]: c for c in cases}
    for name, data in data_by_variant.items():
        if name == reference:
            continue
        difference = describe_difference(expected, data)
        if difference:
            case = by_name[name]
            case["status"] = "wrong"
            case["error"] = f"returned different data from {reference}: {difference}"


def describe_difference(expected: Any, got: Any) -> str | None:
    if expected == got:
        return None
    if isinstance(expected, list) and isinstance(got, list):
        if len(expected) != len(got):
            return f"{len(got)} items instead of {len(expected)}"
        for index, (a, b) in enumerate(zip(expected, got, strict=True)):
            if a != b:
                return f"item {index} is {_short(b)} instead of {_short(a)}"
    return f"{_short(got)} instead of {_short(expected)}"


def _short(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
