"""`sqla-bench report`: one self-contained HTML page from results files.

The page needs nothing but itself: CSS inline, charts inline SVG drawn by matplotlib
(bench.report.charts says what they show, bench.report.render draws them, also as
charts/*.png and *.svg beside the page), profiles copied beside it. Every string
taken from a results file goes through jinja2's autoescaping. It opens on what the
reader came for: how precise the run was (bench.results.quality), with several runs
which driver (the heat map, bench.report.heatmap: paired ratios for the drivers of
one run of several); then the decisions each family
declares (bench.report.findings); then a section per family.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.report.page import page_css, params_text, prepare_output_dir, write_report

# The page's names, imported on first use (PEP 562): a chart-drawing worker imports
# bench.report.render and .figures only, not the page's Jinja2, SQLAlchemy and NumPy
# (`sqla-bench report` starts its workers before it imports those).
_PAGE = ("page_css", "params_text", "prepare_output_dir", "write_report")


def __getattr__(name: str) -> Any:
    if name not in _PAGE:
        raise AttributeError(f"module 'bench.report' has no attribute {name!r}")
    return getattr(importlib.import_module("bench.report.page"), name)


__all__ = ["page_css", "params_text", "prepare_output_dir", "write_report"]
