"""The jinja2 environment of every sqla-bench page: autoescaped, with the unit filters."""

from __future__ import annotations

import jinja2

from bench.results.units import fmt_bytes, fmt_duration, fmt_rate


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("bench.report", "templates"),
        autoescape=True,  # every template, whatever its name: results files are untrusted
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["duration"] = fmt_duration
    env.filters["rate"] = fmt_rate
    env.filters["bytes"] = fmt_bytes
    env.filters["pct"] = lambda ratio: "–" if ratio is None else f"{(ratio - 1) * 100:+.1f}%"
    return env
