"""The report page: results files read, each family's section built, its charts drawn
(bench.report.render), the page written. What the page shows: bench.report's docstring."""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from concurrent.futures import Executor
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from markupsafe import Markup

from bench.report import heatmap, render, runinfo, sections
from bench.report import replay as replay_section
from bench.report.charts import Colours, variant_colours
from bench.report.model import Run, family_views, load_runs
from bench.report.templating import environment
from bench.results import quality
from bench.results.file import ResultsFileError
from bench.results.records import params_text


def write_report(paths: Sequence[Path], output_dir: Path) -> Path:
    """Write output_dir/index.html from the results files; return its path."""
    output_dir = prepare_output_dir(output_dir)
    pool = render.start_pool()  # its workers import matplotlib while the files are read
    try:
        return _write(paths, output_dir, pool)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)


def _write(paths: Sequence[Path], output_dir: Path, pool: Executor | None) -> Path:
    runs = load_runs(paths)
    views = family_views(runs)
    colours = variant_colours(views)
    run_colours = Colours()
    run_colours.assign(run.column for run in runs)
    profiles = _copy_profiles(runs, output_dir)
    multi = len(runs) > 1
    decided = {view.name: sections.verdicts(view, runs) for view in views}
    drawing = render.Drawing(output_dir, pool)
    replays = replay_section.sections(runs, colours)
    drawing.add(render.charts_in(replays))
    families = []
    for view in views:  # the pool's workers import matplotlib meanwhile
        families.append(sections.family(view, runs, decided[view.name], colours, run_colours,
                                        profiles))
        drawing.add(render.charts_in(families[-1]))
    drawing.finish()
    page = (
        environment()
        .get_template("index.html")
        .render(
            css=page_css(),
            generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            multi=multi,
            advice=quality.advice(c for run in runs for c in run.doc["cases"]),
            wide_percent=f"{quality.WIDE_INTERVAL:.0%}",
            runs=[runinfo.context(run) for run in runs],
            columns=[{"name": r.column, "label": r.label, "sync": r.sync,
                      "colour": run_colours(r.column)} for r in runs],
            heat=heatmap.heat_map(views, runs) if multi else [],
            heat_paired=heatmap.is_paired(runs),
            grey=heatmap.GREY,
            headlines=[{**decided[view.name][0], "one_point": family["one_point"]}
                       for view, family in zip(views, families, strict=True)],
            families=families,
            replays=replays,
        )
    )
    index = output_dir / "index.html"
    index.write_text(page, encoding="utf-8")
    return index


def prepare_output_dir(output_dir: Path) -> Path:
    output_dir = Path(output_dir)
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ResultsFileError(
            f"cannot create report directory {output_dir}: {exc.strerror}"
        ) from None
    if not os.access(output_dir, os.W_OK):
        raise ResultsFileError(f"report directory {output_dir} is not writable")
    return output_dir


def page_css() -> Markup:
    return Markup(resources.files("bench.report").joinpath("report.css").read_text("utf-8"))


def _copy_profiles(runs: list[Run], output_dir: Path) -> dict[int, str]:
    """Copy each case's pyinstrument page into the report; map case id -> relative link."""
    links: dict[int, str] = {}
    target = output_dir / "profiles"
    for run_index, run in enumerate(runs):
        for case in run.doc["cases"]:
            profile = case["extra"].get("profile") or {}
            relative = profile.get("html")
            if not relative:
                continue
            source = (run.path.parent / relative).resolve()
            if not source.is_file() or source.suffix != ".html":
                continue
            target.mkdir(exist_ok=True)
            name = f"{run_index}_{source.name}"
            shutil.copyfile(source, target / name)
            links[id(case)] = f"profiles/{name}"
    return links


__all__ = ["page_css", "params_text", "prepare_output_dir", "write_report"]
