"""What a chart shows, as plain data, and how matplotlib draws it.

A chart is a spec (DotSpec, LineSpec): numbers, labels, colours and tooltips, nothing
drawn yet, so it can cross to a worker process (bench.report.render draws many at once).
`draw(spec, slug)` returns the chart as SVG text and PNG bytes. Two shapes only:

- dots with intervals, one row per variant (sorted fastest first by the caller), on a
  linear axis unless the values span more than LOG_SPAN, and then the axis says "log scale";
- lines over a numeric x (sweeps, RTT, percentiles, history), with the same log rule.

Text stays text in the SVG (svg.fonttype none): it is selectable and scales with the page.
Each dot or line carries its tooltip as an SVG <title>, added after matplotlib writes.
matplotlib is imported inside `draw` only: the page's process never pays for it.
"""

from __future__ import annotations

import io
import math
import re
import textwrap
from dataclasses import dataclass, field
from html import escape
from typing import Any

LOG_SPAN = 20.0  # values spanning more than this factor get a log axis, labelled as such
WIDTH_IN = 9.0  # inches: 864 CSS px, inside the page's column
PNG_DPI = 100  # 900 px wide: sharp in a pull request, and a third cheaper than 120
INK, MUTED, GRID = "#1d232b", "#5f6b7a", "#e6e9ee"
FONT = ["DejaVu Sans", "sans-serif"]  # ships with matplotlib: the PNG looks the same anywhere
CHAR_IN = 0.08  # inches per character of 9 pt text: the label column's width
LEGEND_COLUMNS = 5
TITLE_CHARS = 95  # a longer title (a point with many parameters) wraps
HOLLOW = "#b8c0ca"  # the bar of a dot whose interval holds 1: no clear difference
LABEL_BAND_IN = 0.2  # inches above the first row for the reference line's label


def spans_widely(values: list[float]) -> bool:
    """True when positive values span more than LOG_SPAN: a linear axis would squash the
    small ones onto zero, so the axis goes logarithmic (and says so)."""
    positive = [v for v in values if v > 0]
    return bool(positive) and max(positive) / min(positive) > LOG_SPAN


def log_label(label: str, log: bool) -> str:
    return f"{label} — log scale" if log else label


@dataclass
class Dot:
    """One dot with its 95% interval on a row of a DotSpec."""

    row: str
    value: float
    low: float | None
    high: float | None
    colour: str
    tip: str
    series: int = 0  # which of the spec's series (runs): rows hold one dot per series
    note: str = ""  # text right of the plot on the row (the ratio and its interval)
    hollow: bool = False  # its interval holds 1: no clear difference, drawn hollow and grey


@dataclass
class DotSpec:
    title: str
    rows: list[str]  # top to bottom
    dots: list[Dot]
    x_label: str
    x_limits: tuple[float, float]
    log: bool = False
    reference_line: float | None = None  # a vertical line: 1 for ratios to the reference
    reference_label: str = ""  # the line's own label ("= asyncpg"), in a band atop the plot
    marked: str | None = None  # the reference's row: its label says so
    series: list[tuple[str, str]] = field(default_factory=list)  # (name, colour): a legend
    # A family's points in one chart: each part (its heading, its rows and dots) under
    # the one axis of this spec; the spec's own rows and dots are then empty.
    parts: list[tuple[str, DotSpec]] = field(default_factory=list)

    def flat(self) -> tuple[list[str], set[int], list[tuple[int, str]], list[tuple[int, Dot]]]:
        """(row labels, rows of a reference, (row, heading) lines, (row, dot)) of all
        parts, top to bottom: a heading takes a row of its own above its part."""
        labels: list[str] = []
        marked: set[int] = set()
        headings: list[tuple[int, str]] = []
        dots: list[tuple[int, Dot]] = []
        for heading, part in self.parts or [("", self)]:
            if heading:
                headings.append((len(labels), heading))
                labels.append("")
            start = len(labels)
            labels += part.rows
            marked |= {start + k for k, row in enumerate(part.rows) if row == part.marked}
            dots += [(start + part.rows.index(d.row), d) for d in part.dots]
        return labels, marked, headings, dots


@dataclass
class Line:
    """One line of a LineSpec: points in drawing units, optionally a 95% interval per
    point (a whisker), and a tooltip per point."""

    name: str
    colour: str
    points: list[tuple[float, float]]
    intervals: list[tuple[float, float]] | None = None
    tips: list[str] | None = None
    dash: str | None = None  # "6 3": tells apart lines of one colour


@dataclass
class LineSpec:
    title: str
    lines: list[Line]
    x_label: str
    y_label: str
    x_ticks: list[tuple[float, str]] | None = None  # fixed ticks; else each measured x
    y_log: bool | None = None  # None: log when the values span more than LOG_SPAN
    y_zero: bool = True  # a linear y axis starts at zero
    x_index: bool = False  # x values are positions (runs in order), never a log axis
    marks: list[tuple[float, str, str]] = field(default_factory=list)  # (x, label, colour)


Spec = DotSpec | LineSpec


def _style(plt_rc: Any) -> None:
    plt_rc.update({
        "svg.fonttype": "none", "font.family": FONT, "font.size": 9,
        # the generic family as a short list: an SVG text repeats it in every label
        "font.sans-serif": ["DejaVu Sans", "Arial", "Helvetica"],
        "text.parse_math": False,  # a "$" in a variant name is text, never TeX
        "text.hinting": "no_hinting",  # glyph hinting is a sixth of a chart's time
        "axes.edgecolor": "#8a94a3", "axes.labelcolor": INK, "text.color": INK,
        "xtick.color": MUTED, "ytick.color": INK, "axes.titlesize": 10,
        "axes.titleweight": "bold", "axes.titlelocation": "left", "svg.hashsalt": "sqla-bench",
        # the title where its pad puts it: placing it automatically lays out every tick
        # label of the y axis once more on each draw (a seventh of a chart's time), to
        # clear labels a chart never puts above its plot
        "axes.titley": 1.0,
        # tick labels say their whole value: no "+1e5" offset above the axis
        "axes.formatter.useoffset": False,
    })


def draw(spec: Spec, slug: str) -> tuple[str, bytes]:
    """The chart as (SVG markup with tooltips, PNG bytes)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    _style(matplotlib.rcParams)
    matplotlib.rcParams["svg.hashsalt"] = slug  # ids unique on the page
    tips: list[str] = []
    if isinstance(spec, DotSpec):
        figure = _dots(Figure, spec, tips, slug)
    else:
        figure = _lines(Figure, spec, tips, slug)
    svg_out = io.StringIO()
    figure.savefig(svg_out, format="svg", metadata={"Date": None, "Creator": None})
    png_out = io.BytesIO()
    # light compression: the PNG is a file beside the page, and encoding it was a tenth
    # of a chart's time at the default level
    figure.savefig(png_out, format="png", dpi=PNG_DPI, pil_kwargs={"compress_level": 1})
    return compact(_with_tips(svg_out.getvalue(), slug, tips)), png_out.getvalue()


def _title(text: str) -> tuple[str, float]:
    """The title wrapped to the figure's width, and the inches its extra lines take."""
    lines = textwrap.wrap(text, TITLE_CHARS) or [""]
    return "\n".join(lines), 0.18 * (len(lines) - 1)


def _gid(slug: str, tips: list[str], tip: str) -> str:
    tips.append(tip)
    return f"{slug}-t{len(tips) - 1}"


_LONG_NUMBER = re.compile(r"(-?\d+\.\d)\d+")
_ATTRIBUTE = re.compile(r'="[^"]*"')
_NO_ROTATION = re.compile(r' transform="rotate\(-?0 [-\d.]+ [-\d.]+\)"')
# matplotlib's own group ids (figure_1, line2d_3, ...): nothing refers to them; the
# tooltips' groups carry ids of ours (_gid) and keep them
_OWN_GROUP_ID = re.compile(r'<g id="(?:figure|axes|patch|line2d|text|[xy]tick|matplotlib\.axis|'
                           r'legend|[A-Za-z]*Collection)_\d+">')
_INDENT = re.compile(r">\s*\n\s+<")
_FONT_FAMILY = re.compile(r"font-family: [^;\"]*; ")
_DEFAULT_STYLE = "*{stroke-linejoin: round; stroke-linecap: butt}"
# matplotlib defines each line's marker afresh (a chart of dots: one <defs> per dot, the
# same diamond each time): the first definition of a shape serves every <use> of it
_MARKER_DEF = re.compile(r'<defs>\s*<path id="(m[0-9a-f]+)" (d="[^"]*"\s*style="[^"]*")/>\s*'
                         r'</defs>\s*')
_MARKER_USE = re.compile(r'xlink:href="#(m[0-9a-f]+)"')


def compact(svg: str) -> str:
    """matplotlib's SVG with coordinates to 1/10 pt (a seventh of a pixel: invisible at
    the zoom a page is read at), the labels' font and each marker shape said once, and
    without no-op rotations, unreferenced group ids or whitespace between elements: a third
    fewer bytes, so a report of nine runs keeps within its size budget."""
    svg = _ATTRIBUTE.sub(lambda m: _LONG_NUMBER.sub(r"\1", m.group(0)), svg)  # not the text
    svg = _shared_markers(svg)
    svg = _NO_ROTATION.sub("", svg)
    svg = _OWN_GROUP_ID.sub("<g>", svg)
    # every label's font, said once in the chart's stylesheet rather than on each label
    family = _FONT_FAMILY.search(svg)
    if family is not None and _DEFAULT_STYLE in svg:
        said = family.group(0).removesuffix("; ")
        svg = _FONT_FAMILY.sub("", svg).replace(_DEFAULT_STYLE,
                                                f"{_DEFAULT_STYLE} text{{{said}}}", 1)
    svg = svg.replace(" \n", " ")  # path data: one command a line, to one line
    return _INDENT.sub("><", svg)


def _shared_markers(svg: str) -> str:
    """One definition per marker shape: later identical ones dropped, their uses pointed
    at the first."""
    first: dict[str, str] = {}  # shape -> the id that defines it
    same: dict[str, str] = {}  # a dropped id -> the id used instead

    def once(match: re.Match[str]) -> str:
        marker, shape = match.group(1), " ".join(match.group(2).split())
        if shape not in first:
            first[shape] = marker
            return match.group(0)
        same[marker] = first[shape]
        return ""

    svg = _MARKER_DEF.sub(once, svg)
    if not same:
        return svg
    return _MARKER_USE.sub(lambda m: f'xlink:href="#{same.get(m.group(1), m.group(1))}"', svg)


def _with_tips(svg: str, slug: str, tips: list[str]) -> str:
    """matplotlib's SVG from its <svg> tag, each tooltip as the <title> of its group."""
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)

    def titled(match: re.Match[str]) -> str:
        return f'{match.group(0)}<title>{escape(tips[int(match.group(1))])}</title>'

    return re.sub(rf'<g id="{re.escape(slug)}-t(\d+)">', titled, svg)


def _log_axis(axis: Any) -> None:
    """A log axis with plain tick labels at 1, 2 and 5 of each decade (mathtext is off)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda value, _pos: _tick(value)))
    axis.set_minor_locator(NullLocator())  # minor ticks cost most of a chart's drawing


def _lean(ax: Any) -> None:
    """No minor ticks, at most six major ones on a linear axis: ticks are most of the
    time matplotlib spends on a chart, and more of them say nothing more."""
    from matplotlib.ticker import AutoLocator, MaxNLocator, NullLocator

    for axis in (ax.xaxis, ax.yaxis):
        axis.set_minor_locator(NullLocator())
        if isinstance(axis.get_major_locator(), AutoLocator):
            axis.set_major_locator(MaxNLocator(6))


def _dash(pattern: str | None) -> Any:
    return "-" if not pattern else (0, tuple(float(v) for v in pattern.split()))


def _dots(Figure: Any, spec: DotSpec, tips: list[str], slug: str) -> Any:
    series = max(1, len(spec.series))
    row_in = 0.25 if series == 1 else 0.08 + 0.07 * series
    rows, marked, headings, dots = spec.flat()
    hollow = any(d.hollow for _, d in dots)  # the legend says what a hollow dot means
    entries = len(spec.series) + hollow
    legend_in = 0.1 + 0.2 * math.ceil(entries / LEGEND_COLUMNS) if spec.series else 0.0
    title, title_in = _title(spec.title)
    legend_in += title_in
    band_in = LABEL_BAND_IN if spec.reference_label else 0.0
    height = 0.95 + legend_in + band_in + row_in * len(rows)
    labels = [f"{r} (reference)" if k in marked else r for k, r in enumerate(rows)]
    label_in = min(3.4, 0.3 + CHAR_IN * max((len(label) for label in labels), default=8))
    notes_in = 2.2 if any(d.note for _, d in dots) else 0.25
    figure = Figure(figsize=(WIDTH_IN, height))
    figure.subplots_adjust(left=label_in / WIDTH_IN, right=1 - notes_in / WIDTH_IN,
                           top=1 - (0.32 + legend_in) / height, bottom=0.55 / height)
    ax = figure.add_subplot()
    ax.set_title(title, fontsize=9.5, pad=4 + (legend_in - title_in) * 72)
    for row, dot in dots:
        y = row + (dot.series - (series - 1) / 2) * (0.7 / series)
        group_id = _gid(slug, tips, dot.tip)
        if dot.low is not None and dot.high is not None:
            ax.plot([dot.low, dot.high], [y, y], color=HOLLOW if dot.hollow else dot.colour,
                    linewidth=2.2, solid_capstyle="butt", gid=group_id + "i")
        face: dict[str, Any] = {"markeredgecolor": INK, "markeredgewidth": 0.6}
        if dot.hollow:  # no clear difference: an open dot, edged in its series' colour
            face = {"markerfacecolor": "#fff", "markeredgecolor": dot.colour,
                    "markeredgewidth": 1.2}
        ax.plot([dot.value], [y], marker="D" if row in marked else "o",
                markersize=6 if series == 1 else 4.5, color=dot.colour, linestyle="none",
                gid=group_id, **face)
        if dot.note:
            ax.text(1.01, y, dot.note, transform=ax.get_yaxis_transform(), va="center",
                    fontsize=8.5, color=MUTED)
    for row, heading in headings:  # a part's heading on its own row, across the plot
        ax.text(0.0, row, heading, transform=ax.get_yaxis_transform(), va="center",
                fontsize=8.5, fontweight="bold", color=INK)
        if row:
            ax.axhline(row - 0.5, color="#c9d0d8", linewidth=0.8)
    ax.set_yticks(range(len(rows)), labels)
    # the first row (the fastest) on top; a labelled reference line gets a band above it
    top = -0.5 - band_in / row_in
    ax.set_ylim(len(rows) - 0.5, top)
    if spec.log:
        ax.set_xscale("log")
        _log_axis(ax.xaxis)
    ax.set_xlim(*spec.x_limits)
    if spec.reference_line is not None:
        ax.axvline(spec.reference_line, color=MUTED, linestyle="--", linewidth=1, zorder=0)
        if spec.reference_label:
            ax.annotate(spec.reference_label, (spec.reference_line, top), xytext=(3, -1),
                        textcoords="offset points", va="top", fontsize=8, color=MUTED)
    _lean(ax)
    ax.grid(axis="x", color=GRID, linewidth=0.8)
    ax.set_axisbelow(True)
    ax.tick_params(axis="y", length=0)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_xlabel(spec.x_label, color=MUTED, fontsize=8.5)
    if spec.series:
        from matplotlib.lines import Line2D

        handles = [Line2D([], [], marker="o", color=colour, linestyle="none", label=name)
                   for name, colour in spec.series]
        if hollow:
            handles.append(Line2D([], [], marker="o", color=MUTED, markerfacecolor="#fff",
                                  linestyle="none", label="hollow: interval holds 1"))
        ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(0, 1.0),
                  ncol=min(len(handles), LEGEND_COLUMNS), frameon=False, fontsize=8.5,
                  borderaxespad=0.2, handletextpad=0.2, columnspacing=1.2)
    return figure


def _lines(Figure: Any, spec: LineSpec, tips: list[str], slug: str) -> Any:
    legend_in = min(3.0, 0.45 + CHAR_IN * max((len(line.name) for line in spec.lines),
                                              default=8))
    title, title_in = _title(spec.title)
    height = 2.9 + title_in
    figure = Figure(figsize=(WIDTH_IN, height))
    figure.subplots_adjust(left=0.75 / WIDTH_IN, right=1 - legend_in / WIDTH_IN,
                           top=1 - (0.35 + title_in) / height, bottom=0.6 / height)
    ax = figure.add_subplot()
    ax.set_title(title, fontsize=9.5)
    xs = sorted({x for line in spec.lines for x, _ in line.points})
    ys = [y for line in spec.lines for _, y in line.points] + [
        v for line in spec.lines for interval in (line.intervals or []) for v in interval]
    y_log = spans_widely(ys) if spec.y_log is None else spec.y_log
    x_log = not spec.x_index and spec.x_ticks is None and spans_widely(xs) and min(xs) > 0
    for line in spec.lines:
        points = sorted(line.points) if not spec.x_index else line.points
        ax.plot([x for x, _ in points], [y for _, y in points], color=line.colour,
                linewidth=1.6, linestyle=_dash(line.dash), label=line.name)
        for k, (x, y) in enumerate(line.points):
            group_id = _gid(slug, tips, line.tips[k] if line.tips else f"{line.name}: {y:.3g}")
            if line.intervals is not None:
                low, high = line.intervals[k]
                ax.plot([x, x], [low, high], color=line.colour, linewidth=1.2,
                        gid=group_id + "i")
            ax.plot([x], [y], marker="o", markersize=4, color=line.colour, linestyle="none",
                    gid=group_id)
    if y_log:
        ax.set_yscale("log")
        _log_axis(ax.yaxis)
    elif spec.y_zero and ys and min(ys) >= 0:
        ax.set_ylim(bottom=0, top=max(ys) * 1.08 if max(ys) > 0 else 1)
    if x_log:
        ax.set_xscale("log")
        _log_axis(ax.xaxis)
    if spec.x_ticks is not None:
        ax.set_xticks([x for x, _ in spec.x_ticks], [label for _, label in spec.x_ticks])
    elif len(xs) <= 12:
        ax.set_xticks(xs, [_tick(x) for x in xs])
        ax.minorticks_off()
    for x, label, colour in spec.marks:
        ax.axvline(x, color=colour, linestyle="--", linewidth=1)
        ax.annotate(label, (x, 1.0), xycoords=ax.get_xaxis_transform(), xytext=(3, 0),
                    textcoords="offset points", va="top", fontsize=8, color=colour)
    _lean(ax)
    ax.grid(color=GRID, linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_xlabel(log_label(spec.x_label, x_log), color=MUTED, fontsize=8.5)
    ax.set_ylabel(log_label(spec.y_label, y_log), color=MUTED, fontsize=8.5)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=8.5,
              handlelength=2.2, borderaxespad=0)
    return figure


def _tick(value: float) -> str:
    """Plain numbers: 0.5, 12, 1,500."""
    if value == math.floor(value) and abs(value) < 1e6:
        return f"{value:,.0f}"
    return f"{value:.3g}"
