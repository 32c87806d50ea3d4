"""pyinstrument profiles of one extra round per case, taken after the timed rounds.

The profiler starts inside the running task with async_mode="enabled", so time
spent awaiting the database is attributed to the awaiting code. The HTML page
is saved beside the results file; the results file keeps its path and the top
frames by self time (library frames included, so SQLAlchemy shows up).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

TOP_FRAMES = 10


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", text).strip("_")[:80] or "case"


def profile_path(results_path: Path, case: dict[str, Any]) -> Path:
    params = "_".join(f"{k}={v}" for k, v in case["params"].items())
    name = "__".join(_slug(part) for part in (case["scenario"], case["variant"], params) if part)
    return results_path.parent / f"{results_path.stem}.profiles" / f"{name}.html"


def top_frames(session: Any, limit: int = TOP_FRAMES) -> list[dict[str, Any]]:
    """Functions with the most self time, summed over the whole call tree."""
    totals: dict[tuple[str, str], float] = {}

    def walk(frame: Any) -> None:
        if frame is None:
            return
        key = (frame.function or "?", Path(frame.file_path or "?").name)
        if not key[0].startswith("["):  # pyinstrument's synthetic [await] / [self] frames
            totals[key] = totals.get(key, 0.0) + frame.total_self_time
        for child in frame.children:
            walk(child)

    walk(session.root_frame())
    ranked = sorted(totals.items(), key=lambda item: item[1], reverse=True)[:limit]
    return [{"function": f, "file": file, "self_seconds": round(t, 6)} for (f, file), t in ranked]


async def capture(
    run_round: Callable[[], Awaitable[Any]], results_path: Path, case: dict[str, Any]
) -> dict[str, Any]:
    from pyinstrument import Profiler

    profiler = Profiler(async_mode="enabled", interval=0.0005)
    profiler.start()
    try:
        await run_round()
    finally:
        session = profiler.stop()
    path = profile_path(Path(results_path), case)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(profiler.output_html(), encoding="utf-8")
    return {
        "html": str(path.relative_to(Path(results_path).parent)),
        "duration_s": round(session.duration, 6),
        "top_frames": top_frames(session),
        "sqlalchemy_frames": sum(1 for _ in _library_frames(session.root_frame(), "sqlalchemy")),
    }


def _library_frames(frame: Any, library: str) -> Iterator[Any]:
    if frame is None:
        return
    if f"/{library}/" in (frame.file_path or ""):
        yield frame
    for child in frame.children:
        yield from _library_frames(child, library)
