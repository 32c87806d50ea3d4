"""run --profile-code: a pyinstrument profile per case, taken after the timed rounds, that
names SQLAlchemy's frames for an ORM case, and a report that links it and stays offline."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_orm_case_profile_names_sqlalchemy_frames_and_the_report_links_it(tmp_path):
    out = tmp_path / "run.json"
    proc = subprocess.run(
        [sys.executable, "-m", "bench.cli", "run", "--driver", "aiosqlite",
         "--url", f"sqlite:///{tmp_path / 'db.sqlite3'}", "--scenario", "raw_queries",
         "--param", "query=pk_lookup", "--variant", "raw_driver", "--variant", "orm_select",
         "--rounds", "3", "--warmup", "0", "--profile-code", "--quiet", "--output", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    cases = {c["variant"]: c for c in json.loads(out.read_text())["cases"]}
    orm = cases["orm_select"]["extra"]["profile"]
    page = out.parent / orm["html"]
    assert page.is_file() and "pyinstrument" in page.read_text(encoding="utf-8").lower()
    assert orm["sqlalchemy_frames"] > 0
    assert orm["top_frames"] and all(f["self_seconds"] >= 0 for f in orm["top_frames"])
    # the profiled round is extra: the timed rounds are the 3 asked for, no more
    assert len(cases["orm_select"]["samples_ns"]) == 3
    # the bare driver's profile has no SQLAlchemy in it
    assert cases["raw_driver"]["extra"]["profile"]["sqlalchemy_frames"] == 0

    report = tmp_path / "report"
    made = subprocess.run([sys.executable, "-m", "bench.cli", "report", str(out),
                           "--output", str(report)], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert made.returncode == 0, made.stderr
    index = (report / "index.html").read_text(encoding="utf-8")
    linked = [p for p in report.rglob("*.html") if p.name != "index.html"]
    assert linked, "the profile pages were not copied into the report"
    assert any(p.relative_to(report).as_posix() in index for p in linked)
