"""The report of a real run, as a person sees it: headless Chromium renders it."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run", "--disable-sync",
                  "--disable-quic"]


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("BENCH_REQUIRE_SERVERS") == "1":
            pytest.fail("chromium is not installed (CI installs it in .ci/run)", pytrace=False)
        pytest.skip("chromium is not installed: apt-get install chromium")
    return path


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bench.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def test_report_of_a_real_run_renders_offline_with_charts_and_failures(tmp_path):
    chromium = _chromium()
    results_file = tmp_path / "run.json"
    run = _cli("run", "--driver", "aiosqlite", "--url", f"sqlite:///{tmp_path}/db.sqlite3",
               "--scenario", "raw_queries", "--scenario", "runner_probe",
               "--scenarios-path", str(ROOT / "tests" / "fixtures_scenarios"),
               "--param", "ops=20", "--param", "users=100", "--rounds", "3", "--warmup", "1",
               "--quiet", "--output", str(results_file))
    assert run.returncode == 1, run.stderr  # the probe family has a failing and a wrong case
    doc = json.loads(results_file.read_text())
    families = {c["scenario"] for c in doc["cases"]}
    assert families == {"raw_queries", "runner_probe"}
    report = _cli("report", str(results_file), "--output", str(tmp_path / "report"))
    assert report.returncode == 0, report.stderr
    index = tmp_path / "report" / "index.html"

    profile_dir = tmp_path / "chromium-profile"
    dom = subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile_dir}",
                          "--dump-dom", index.as_uri()],
                         capture_output=True, text=True, timeout=120).stdout
    shot = tmp_path / "report.png"
    subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile_dir}",
                    "--window-size=1280,2000", f"--screenshot={shot}", index.as_uri()],
                   capture_output=True, timeout=120)

    assert "sqla-bench report" in dom
    for family in families:
        # matplotlib's SVG inline, linked to the PNG written beside the page
        link = re.search(rf'class="chart[^"]*" data-family="{family}"><a class="chart-png" '
                         r'href="(charts/[^"]+\.png)"[^>]*><svg', dom)
        assert link, family
        assert (tmp_path / "report" / link.group(1)).stat().st_size > 5_000
    # Nothing in the page points at a network: no http(s) or protocol-relative src/href.
    assert not re.findall(r'(?:src|href)="(?:https?:)?//[^"]*"', dom)
    assert "RuntimeError: deliberate failure in a variant" in dom
    assert "returned different data from raw_driver" in dom
    assert shot.exists() and shot.stat().st_size > 20_000  # a real picture, not a blank page


def _render(chromium: str, index: Path, tmp_path: Path, name: str) -> str:
    """The DOM as Chromium built it, and a screenshot at 1400 px wide beside it."""
    profile_dir = tmp_path / "chromium-profile"
    dom = subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile_dir}",
                          "--dump-dom", index.as_uri()],
                         capture_output=True, text=True, timeout=120).stdout
    subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile_dir}",
                    "--window-size=1400,1000", f"--screenshot={tmp_path / name}",
                    index.as_uri()], capture_output=True, timeout=120)
    return dom


def test_multi_driver_report_has_a_heat_map_and_every_declared_decision(tmp_path):
    chromium = _chromium()
    from bench.api.family import load_families

    families = load_families()
    common = ["--scenario", "loading", "--scenario", "raw_queries", "--param", "parents=20",
              "--param", "children=3", "--param", "users=100", "--param", "ops=5",
              "--param", "query=pk_lookup,select_1", "--rounds", "4", "--warmup", "1",
              "--quiet"]
    files = []
    for driver, label in (("aiosqlite", "aiosqlite first"), ("aiosqlite", "aiosqlite second"),
                          ("sqlite3", None)):
        out = tmp_path / f"{len(files)}_{driver}.json"
        run = _cli("run", "--driver", driver, "--url", f"sqlite:///{tmp_path}/{driver}.sqlite3",
                   *common, *(["--label", label] if label else []), "--output", str(out))
        assert run.returncode == 0, run.stderr
        files.append(str(out))
    report = _cli("report", *files, "--output", str(tmp_path / "report"))
    assert report.returncode == 0, report.stderr
    dom = _render(chromium, tmp_path / "report" / "index.html", tmp_path, "multi.png")

    docs = [json.loads(Path(f).read_text()) for f in files]
    heat = dom[dom.index('id="drivers"'):dom.index('id="decisions"')]
    head = re.search(r'<div class="hrow head">(.*?)</div>', heat, re.S).group(1)
    # two runs of one driver are two columns, named by their labels; the sync one is marked
    assert "aiosqlite first" in head and "aiosqlite second" in head
    assert re.search(r"sqlite3<br><span class=\"badge b-sync\">sync</span>", head)
    for doc in docs:  # a cell per (case, run) for every case the run measured
        ok = [c for c in doc["cases"] if c["status"] == "ok"]
        cells = re.findall(rf'data-run="{re.escape(doc["label"])}"[^>]*>([^<]+)<', heat)
        assert len([c for c in cells if c != "–"]) == len(ok), doc["label"]
    decisions = dom[dom.index('id="decisions"'):dom.index('class="family"')]
    for name in ("loading", "raw_queries"):
        headline = families[name].comparisons[0].sentence
        assert f"<td>{headline}</td>" in decisions, name
        section = dom[dom.index(f'<section id="{name}"'):]
        for comparison in families[name].comparisons:
            assert f"<td>{comparison.sentence}</td>" in section[:section.index("</table>")]
    assert (tmp_path / "multi.png").stat().st_size > 20_000
