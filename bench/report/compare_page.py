"""The HTML page of `sqla-bench compare --html DIR`: each case's verdict beside its
tolerance (the noise floor a calibration measured, or the threshold)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.judge.verdicts import MIN_RUNS, calls_tolerance_text
from bench.report.templating import environment
from bench.results.file import ResultsFileError


def write_compare_page(judgements: list[Any], title: str, warnings: list[str],
                       threshold: float, output_dir: Path) -> Path:
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ResultsFileError(f"cannot create {output_dir}: {exc.strerror}") from None
    page = environment().get_template("compare.html").render(
        judgements=judgements, title=title, warnings=warnings, threshold=threshold,
        calls_tolerance=calls_tolerance_text(), min_runs=MIN_RUNS)
    index = output_dir / "index.html"
    index.write_text(page, encoding="utf-8")
    return index
