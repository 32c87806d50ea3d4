"""Scenario files written against sqla-bench 0.2's module paths keep running for one
release, each old path warning once with the path to use instead."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bench.cli import main

OLD_SCENARIO = '''
from sqlalchemy import text

from bench.scenario import RAW_VARIANT, Context, Family, Param
from bench.load import drive
from bench.drivers import Driver

family = Family(name="old_paths", question="Do 0.2 paths still run?", unit="ops",
                params=[Param("ops", int, quick=[2])], ops=lambda p: p["ops"])


@family.variant(RAW_VARIANT, raw=True)
async def raw_driver(ctx: Context) -> list:
    ctx.count_statements(ctx.params["ops"])
    ops = range(ctx.params["ops"])
    return [(await ctx.raw.fetch(ctx.sql("SELECT ?"), (i,)))[0][0] for i in ops]


@family.variant("core")
async def core(ctx: Context) -> list:
    async with ctx.engine.connect() as conn:
        return [await conn.scalar(text("SELECT :i"), {"i": i}) for i in range(ctx.params["ops"])]
'''


@pytest.mark.parametrize(("old", "new"), [("bench.scenario", "bench.api"),
                                          ("bench.load", "bench.api"),
                                          ("bench.service", "bench.api"),
                                          ("bench.drivers", "bench.api"),
                                          ("bench.database", "bench.api")])
def test_an_old_path_warns_and_forwards(old, new):
    probe = (f"import warnings\nwarnings.simplefilter('always')\n"
             f"with warnings.catch_warnings(record=True) as seen:\n"
             f"    import {old} as m\n"
             f"print([str(w.message) for w in seen if w.category is DeprecationWarning])\n"
             f"print(m.__getattr__ is not None)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    assert out[0] == repr([f"{old} is deprecated and goes in sqla-bench 0.4: import from {new}"])
    assert out[1] == "True"


def test_a_scenario_file_on_old_paths_runs_with_warnings(tmp_path, capsys, recwarn):
    for name in ("bench.scenario", "bench.load", "bench.drivers"):
        sys.modules.pop(name, None)  # imported by an earlier test: warn again here
    scenarios = tmp_path / "mine"
    scenarios.mkdir()
    (scenarios / "old_paths.py").write_text(OLD_SCENARIO)
    out = tmp_path / "run.json"
    status = main(["run", "--driver", "aiosqlite", "--url", f"sqlite:///{tmp_path / 'db'}",
                   "--scenarios-path", str(scenarios), "--scenario", "old_paths",
                   "--rounds", "2", "--warmup", "0", "--quiet", "--output", str(out)])
    assert status == 0, capsys.readouterr().err
    cases = json.loads(out.read_text())["cases"]
    assert {c["variant"]: c["status"] for c in cases} == {"raw_driver": "ok", "core": "ok"}
    warned = {str(w.message).split()[0] for w in recwarn if w.category is DeprecationWarning}
    assert {"bench.scenario", "bench.load", "bench.drivers"} <= warned


@pytest.mark.parametrize("first", ["", "import bench.api.capturing\n"])
def test_bench_api_capture_is_the_function_however_it_is_reached(first):
    """bench.api's names load on first use; `capture` must be the context manager, not a
    module of that name, whether or not the module behind it was imported first (the
    fastapi app's capture failed to start with "'module' object is not callable")."""

    code = first + ("from bench.api import CaptureMiddleware, capture\n"
                    "import inspect\nprint(inspect.ismodule(capture), callable(capture))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "True"]
