"""The gate's query-plan evidence on a real server (issue 23): two runs of unchanged code
have the same plan fingerprint, and a lost index fails the gate by its plan, whatever
the times."""

import json

import pytest

from bench.cli import main
from tests.integration.test_counted import FIXTURES


def _run(tmp_path, driver, url, name, monkeypatch, *, no_index=False):
    monkeypatch.setenv("SQLAB_KNOB_NO_INDEX", "1" if no_index else "0")
    out = tmp_path / f"{name}.json"
    assert main(["run", "--driver", driver, "--url", url, "--scenarios-path", str(FIXTURES),
                 "--scenario", "knob_index", "--explain", "--rounds", "3", "--output",
                 str(out), "--quiet"]) == 0
    return out


@pytest.mark.server
@pytest.mark.parametrize("driver, server, lost", [
    ("asyncpg", "postgres_url", "Index Scan sqlab_knob_items (sqlab_knob_items_code) → "
                                "Seq Scan sqlab_knob_items"),
    ("asyncmy", "mysql_url", "ref sqlab_knob_items (sqlab_knob_items_code) → "
                             "ALL sqlab_knob_items"),
])
def test_a_lost_index_fails_the_gate_and_an_aa_passes(driver, server, lost, tmp_path,
                                                      monkeypatch, request, capsys):
    url = request.getfixturevalue(server)
    first = _run(tmp_path, driver, url, "a", monkeypatch)
    again = _run(tmp_path, driver, url, "b", monkeypatch)
    fingerprints = {json.loads(p.read_text())["cases"][0]["plan_fingerprint"]
                    for p in (first, again)}
    assert len(fingerprints) == 1 and None not in fingerprints
    capsys.readouterr()
    assert main(["gate", str(again), "--baseline", str(first)]) == 0
    lost_index = _run(tmp_path, driver, url, "c", monkeypatch, no_index=True)
    capsys.readouterr()
    assert main(["gate", str(lost_index), "--baseline", str(first)]) == 1
    assert f"query plan changed: {lost}" in capsys.readouterr().err
