"""Small hand-written SVG: the report's charts without a plotting library.

A chart here is a few dozen shapes. Written directly, each costs tens of bytes and
microseconds; the same chart from matplotlib cost tens of kilobytes and a tenth of a
second (nine drivers' quick runs made an 8.6 MB page in minutes). Text stays text: it
is selectable, scales with the page, and uses the page's font. Styling comes from the
page's CSS (classes `ax`, `grid`, `lbl`, `val`, `note`), so a chart carries no style.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

CHAR_WIDTH = 6.6  # px per character of 11 px sans-serif text, for sizing label columns


def text_width(text: str, size: float = 11) -> float:
    """A generous estimate of rendered text width: label columns are sized from it."""
    return len(text) * CHAR_WIDTH * size / 11


def _n(value: float) -> str:
    """Coordinates with one decimal at most: sub-pixel precision is wasted bytes."""
    return f"{value:.1f}".rstrip("0").rstrip(".") if value == value else "0"


class Svg:
    """An SVG element built from shapes; `markup()` is safe to put in the page as is."""

    def __init__(self, width: float, height: float, label: str) -> None:
        self.width, self.height, self.label = width, height, label
        self.parts: list[str] = []

    def rect(self, x: float, y: float, w: float, h: float, fill: str, *,
             tip: str | None = None, opacity: float | None = None) -> None:
        extra = f' fill-opacity="{opacity:g}"' if opacity is not None else ""
        shape = (f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(max(w, 0))}" '
                 f'height="{_n(max(h, 0))}" fill="{fill}"{extra}')
        self.parts.append(shape + (f"><title>{escape(tip)}</title></rect>" if tip else "/>"))

    def line(self, x1: float, y1: float, x2: float, y2: float, *, cls: str = "ax",
             stroke: str | None = None, width: float | None = None,
             dash: str | None = None) -> None:
        style = (f' stroke="{stroke}"' if stroke else "") + (
            f' stroke-width="{width:g}"' if width else "") + (
            f' stroke-dasharray="{dash}"' if dash else "")
        self.parts.append(f'<line class="{cls}" x1="{_n(x1)}" y1="{_n(y1)}" x2="{_n(x2)}" '
                          f'y2="{_n(y2)}"{style}/>')

    def circle(self, x: float, y: float, r: float, fill: str, *, tip: str | None = None,
               opacity: float | None = None) -> None:
        extra = f' fill-opacity="{opacity:g}"' if opacity is not None else ""
        shape = f'<circle cx="{_n(x)}" cy="{_n(y)}" r="{r:g}" fill="{fill}"{extra}'
        self.parts.append(shape + (f"><title>{escape(tip)}</title></circle>" if tip else "/>"))

    def polyline(self, points: Iterable[tuple[float, float]], stroke: str, *,
                 width: float = 1.6, dash: str | None = None) -> None:
        coords = " ".join(f"{_n(x)},{_n(y)}" for x, y in points)
        extra = f' stroke-dasharray="{dash}"' if dash else ""
        self.parts.append(f'<polyline points="{coords}" fill="none" stroke="{stroke}" '
                          f'stroke-width="{width:g}"{extra}/>')

    def text(self, x: float, y: float, text: str, *, cls: str = "lbl", anchor: str = "start",
             fill: str | None = None, tip: str | None = None) -> None:
        extra = (f' text-anchor="{anchor}"' if anchor != "start" else "") + (
            f' fill="{fill}"' if fill else "")
        body = escape(text) + (Markup(f"<title>{escape(tip)}</title>") if tip else "")
        self.parts.append(f'<text class="{cls}" x="{_n(x)}" y="{_n(y)}"{extra}>{body}</text>')

    def markup(self) -> Markup:
        return Markup(
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_n(self.width)} '
            f'{_n(self.height)}" width="{_n(self.width)}" height="{_n(self.height)}" '
            f'role="img" aria-label="{escape(self.label)}">' + "".join(self.parts) + "</svg>"
        )


@dataclass
class Scale:
    """Values in [low, high] onto pixels [start, end], linear or logarithmic."""

    low: float
    high: float
    start: float
    end: float
    log: bool = False

    @classmethod
    def fit(cls, values: Sequence[float], start: float, end: float, *, zero: bool = False,
            log_above: float = 30.0) -> Scale:
        """A scale holding `values`, logarithmic when they span more than `log_above`×
        (a linear axis would squash every small value onto zero); from zero if asked."""
        positive = [v for v in values if v > 0]
        low = min(positive) if positive else 1.0
        high = max(positive) if positive else 1.0
        if high / low > log_above:
            return cls(low / 1.3, high * 1.3, start, end, log=True)
        low = 0.0 if zero else low - (high - low) * 0.08
        if high == low:
            high = low + (abs(low) or 1.0)
        return cls(low, high + (high - low) * 0.05, start, end)

    def __call__(self, value: float) -> float:
        if self.log:
            value = max(value, self.low)
            share = math.log(value / self.low) / math.log(self.high / self.low)
        else:
            share = (value - self.low) / (self.high - self.low)
        return self.start + share * (self.end - self.start)

    def ticks(self) -> list[float]:
        """Round values inside the scale: 1-2-5 steps, or decades (with 2 and 5 between
        when the scale spans less than three decades) on a log scale."""
        if self.log:
            first = math.floor(math.log10(self.low))
            last = math.ceil(math.log10(self.high))
            steps = (1, 2, 5) if last - first <= 3 else (1,)
            values = [m * 10.0**e for e in range(first, last + 1) for m in steps]
            return [v for v in values if self.low <= v <= self.high]
        raw = (self.high - self.low) / 5
        magnitude = 10 ** math.floor(math.log10(raw))
        step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
        first_tick = math.ceil(self.low / step) * step
        count = int((self.high - first_tick) / step) + 1
        return [first_tick + i * step for i in range(count)]


def tick_label(value: float) -> str:
    """3 significant digits, no trailing zeros: 0.5, 12, 1.25k."""
    if abs(value) >= 1000:
        return f"{value / 1000:g}k"
    return f"{value:.3g}"


def x_axis(svg: Svg, scale: Scale, top: float, bottom: float, label: str,
           fmt: Callable[[float], str] = tick_label) -> None:
    """Vertical grid lines with their values under the plot, and the axis title."""
    for value in scale.ticks():
        x = scale(value)
        svg.line(x, top, x, bottom, cls="grid")
        svg.text(x, bottom + 13, fmt(value), cls="tick", anchor="middle")
    svg.line(scale.start, bottom, scale.end, bottom)
    svg.text((scale.start + scale.end) / 2, bottom + 28, label, cls="note", anchor="middle")


def y_axis(svg: Svg, scale: Scale, left: float, right: float, label: str) -> None:
    """Horizontal grid lines with their values left of the plot; the title above them."""
    for value in scale.ticks():
        y = scale(value)
        svg.line(left, y, right, y, cls="grid")
        svg.text(left - 5, y + 4, tick_label(value), cls="tick", anchor="end")
    svg.line(left, scale.start, left, scale.end)
    svg.text(left, min(scale.start, scale.end) - 8, label, cls="note", anchor="middle")
