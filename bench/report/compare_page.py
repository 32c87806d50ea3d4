"""The HTML page of `sqla-bench compare --html DIR`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.report import _environment
from bench.results import ResultsFileError


def write_compare_page(
    pairings: list[Any],
    base: Path,
    new: Path,
    warnings: list[str],
    threshold: float,
    output_dir: Path,
) -> Path:
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ResultsFileError(f"cannot create {output_dir}: {exc.strerror}") from None
    page = (
        _environment()
        .get_template("compare.html")
        .render(
            pairings=pairings, base=base.name, new=new.name, warnings=warnings, threshold=threshold
        )
    )
    index = output_dir / "index.html"
    index.write_text(page, encoding="utf-8")
    return index
