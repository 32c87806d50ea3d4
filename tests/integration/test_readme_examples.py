"""The documentation's code examples are run, so a documented example cannot rot: the
scenario of docs/adding-a-scenario.md as a user's scenario file through the real CLI, and
the driver row of docs/adding-a-driver.md against the registry. (The pytest plug-in's
samples are run by tests/unit/test_plugin_projects.py.)"""

from __future__ import annotations

import json

from bench.cli import main
from bench.db.drivers import Driver, get_driver
from tests.plugin_project import doc_samples


def test_the_documented_scenario_runs_as_a_user_scenario_file(tmp_path, capsys):
    scenarios = tmp_path / "my_scenarios"
    scenarios.mkdir()
    (scenarios / "count_users.py").write_text(doc_samples()["count_users.py"])
    out = tmp_path / "run.json"
    status = main(["run", "--driver", "aiosqlite", "--url", f"sqlite:///{tmp_path / 'db.sqlite3'}",
                   "--scenarios-path", str(scenarios), "--scenario", "count_users",
                   "--param", "ops=5", "--rounds", "3", "--warmup", "0", "--output", str(out)])
    assert status == 0, capsys.readouterr().err
    cases = {c["variant"]: c for c in json.loads(out.read_text())["cases"]}
    assert set(cases) == {"raw_driver", "orm"}
    assert all(c["status"] == "ok" and len(c["samples_ns"]) == 3 for c in cases.values())
    assert {c["params"]["ops"] for c in cases.values()} == {5}
    # Both counted the 100 seeded users, five times: the same data.
    assert cases["orm"]["extra"]["result_digest"] == cases["raw_driver"]["extra"]["result_digest"]
    assert cases["orm"]["extra"]["result_items"] == 5


def test_the_documented_driver_row_is_the_registry_row():
    registered: list[Driver] = []
    sample = doc_samples()["driver_row.py"]
    assert "from bench.api import Driver, register" in sample  # else it would register it
    code = sample.replace("from bench.api import Driver, register", "from bench.api import Driver")
    exec(compile(code, "docs/adding-a-driver.md:driver_row.py", "exec"),  # noqa: S102 - our docs
         {"register": registered.append})
    assert registered == [get_driver(registered[0].name)]
