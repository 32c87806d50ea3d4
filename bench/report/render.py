"""Draw a page's charts: in worker processes when there are many, each written as
charts/<name>.svg and charts/<name>.png beside index.html and kept for the page inline.

A Chart is what the page's template holds: its spec (bench.report.figures) until drawn,
then its SVG. In the template it is markup: the inline SVG, linked to its PNG (a picture
to paste into a pull request). The page's process never imports matplotlib: drawing
runs in a pool started before the results files are read, so its workers import
matplotlib while the page is being built.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import re
from collections.abc import Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from markupsafe import Markup, escape

from bench.report.figures import DotSpec, Spec, draw

CHARTS_DIR = "charts"
IN_PROCESS = 3  # fewer charts than this are drawn without a pool
MAX_WORKERS = 4
MAX_SLUG = 90


@dataclass(eq=False)
class Chart:
    spec: Spec
    name: str  # what it shows, for its file name and aria-label: "loading-parents=100"
    slug: str = ""
    svg: str = ""

    def __html__(self) -> str:
        return (f'<a class="chart-png" href="{CHARTS_DIR}/{escape(self.slug)}.png" '
                f'title="open as PNG">{self.svg}</a>')

    @property
    def label(self) -> str:
        return self.spec.title


def slug(text: str) -> str:
    """A file name from a chart's name: letters, digits, '=', '.', '-' and '_' only."""
    cleaned = re.sub(r"[^A-Za-z0-9=._-]+", "-", text).strip("-.") or "chart"
    if len(cleaned) <= MAX_SLUG:
        return cleaned
    return f"{cleaned[:MAX_SLUG - 21].rstrip('-.')}--{cleaned[-19:].lstrip('-.')}"


def charts_in(context: Any) -> Iterator[Chart]:
    """Every Chart in a template context (dicts, lists, tuples), in order."""
    if isinstance(context, Chart):
        yield context
    elif isinstance(context, dict):
        for value in context.values():
            yield from charts_in(value)
    elif isinstance(context, (list, tuple)):
        for value in context:
            yield from charts_in(value)


def _draw_to(spec: Spec, name: str, directory: str) -> str:
    # A chart makes some 100,000 objects, freed together at the end: the cyclic
    # collector, run every 700 allocations meanwhile, would walk them again and again
    # (half its time in a worker); one collection after the chart is enough.
    gc.disable()
    try:
        svg, png = draw(spec, name)
    finally:
        gc.enable()
    Path(directory, f"{name}.svg").write_text(svg, encoding="utf-8")
    Path(directory, f"{name}.png").write_bytes(png)
    return svg


def _warm() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.figure  # noqa: F401  (the import is the work: done before any chart)

    gc.freeze()  # what the worker inherited and imported lives as long as it does: never
    # walk it again looking for garbage


_prestarted: list[Executor | None] = []


def prestart() -> None:
    """Start the drawing pool now, for the next start_pool(): `sqla-bench report` calls it
    before it imports the page's modules, so the workers fork from a small process and
    import matplotlib while the page's process imports SQLAlchemy, NumPy and Jinja2."""
    if not _prestarted:
        _prestarted.append(_new_pool())


def discard_prestarted() -> None:
    """Shut down a pool prestart() made that no start_pool() took (a usage error)."""
    while _prestarted:
        pool = _prestarted.pop()
        if pool is not None:
            pool.shutdown(cancel_futures=True)


def start_pool() -> Executor | None:
    """Worker processes for drawing, importing matplotlib at once (prestarted ones if
    any); None on one CPU."""
    if _prestarted:
        return _prestarted.pop()
    return _new_pool()


def _new_pool() -> Executor | None:
    workers = min(MAX_WORKERS, os.cpu_count() or 1)
    if workers < 2:
        return None
    context = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_warm)
    for _ in range(workers):
        pool.submit(_warm)
    return pool


def cost(spec: Spec) -> int:
    """Roughly how long a chart takes to draw: its rows and dots, or its points (each a
    marker, a whisker and a tooltip), for drawing the longest first."""
    if isinstance(spec, DotSpec):
        rows, _marked, headings, dots = spec.flat()
        return len(rows) + len(headings) + len(dots)
    return sum(len(line.points) for line in spec.lines)


class Drawing:
    """The page's charts being drawn: `add` names a batch in page order, `finish` hands
    them to the pool longest first (so the last chart to finish is a short one and no
    worker waits long for the other) and waits for them all. Without a pool, `finish`
    draws them here."""

    def __init__(self, output_dir: Path, pool: Executor | None) -> None:
        self.directory = output_dir / CHARTS_DIR
        self.directory.mkdir(exist_ok=True)
        for stale in [*self.directory.glob("*.svg"), *self.directory.glob("*.png")]:
            stale.unlink()  # a chart of an earlier report must not be taken for this one's
        self.pool = pool
        self.used: dict[str, int] = {}
        self.pending: list[Chart] = []

    def add(self, charts: Iterable[Chart]) -> None:
        for chart in charts:
            base = slug(chart.name)
            self.used[base] = self.used.get(base, 0) + 1
            chart.slug = base if self.used[base] == 1 else f"{base}-{self.used[base]}"
            self.pending.append(chart)

    def finish(self) -> None:
        if self.pool is None:
            for chart in self.pending:
                chart.svg = Markup(_draw_to(chart.spec, chart.slug, str(self.directory)))
        else:
            pool = self.pool
            futures: dict[int, Future[str]] = {
                id(chart): pool.submit(_draw_to, chart.spec, chart.slug, str(self.directory))
                for chart in sorted(self.pending, key=lambda c: cost(c.spec), reverse=True)}
            for chart in self.pending:
                chart.svg = Markup(futures[id(chart)].result())
        self.pending = []


def render(charts: Iterable[Chart], output_dir: Path, pool: Executor | None) -> None:
    """Name, draw and write every chart; give each its SVG."""
    drawing = Drawing(output_dir, pool)
    drawing.add(charts)
    drawing.finish()


def render_all(charts: Iterable[Chart], output_dir: Path) -> None:
    """render() with a pool of its own, for a page that has nothing to do meanwhile."""
    charts = list(charts)
    pool = start_pool() if len(charts) >= IN_PROCESS else None
    try:
        render(charts, output_dir, pool)
    finally:
        if pool is not None:
            pool.shutdown()
