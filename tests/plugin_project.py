"""A user's project for the pytest plug-in's tests: the documentation's samples, verbatim.

A sample in README.md or a page of docs/ is a fenced block preceded by
`<!-- sample: FILENAME -->`; the tests write the ones they need into a pytester directory
and run pytest on it in a subprocess (its own event loops and plug-in set, as a user's run
has), or run them as the file they name (tests/integration/test_readme_examples.py).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
_SAMPLE = re.compile(r"<!-- sample: (\S+) -->\n```\w*\n(.*?)```", re.S)

# Plug-ins to switch off per run: the async plug-ins a run is not about.
NO_ASYNC_PLUGINS = ("-p", "no:asyncio", "-p", "no:anyio")

# The project's conftest.py: after each test's teardown (the sqla_engine fixture's and the
# async plug-in's loop included), every DBAPI connection any pool opened has been closed.
LEAK_CHECK = """
import pytest
from sqlalchemy import event
from sqlalchemy.pool import Pool

OPEN = set()


@event.listens_for(Pool, "connect")
def _opened(dbapi_connection, record):
    OPEN.add(id(dbapi_connection))


@event.listens_for(Pool, "close")
def _closed(dbapi_connection, record):
    OPEN.discard(id(dbapi_connection))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    yield
    assert not OPEN, f"{len(OPEN)} connections left open after {item.name}"
"""


def doc_files() -> list[Path]:
    """The pages that may hold samples: README.md and every page under docs/."""
    return [README, *sorted(DOCS.rglob("*.md"))]


def doc_samples() -> dict[str, str]:
    """Every named sample of the documentation, by name; a name is used once only."""
    samples: dict[str, str] = {}
    where: dict[str, Path] = {}
    for page in doc_files():
        for name, text in _SAMPLE.findall(page.read_text()):
            assert name not in samples, (
                f"sample {name} is named in {where[name].relative_to(ROOT)} "
                f"and {page.relative_to(ROOT)}")
            samples[name], where[name] = text, page
    return samples


def write_samples(pytester: pytest.Pytester, *names: str) -> None:
    """The named documentation samples, and the leak-checking conftest.py, into the project."""
    samples = doc_samples()
    missing = [n for n in names if n not in samples]
    assert not missing, f"no page of README.md or docs/ has the sample {missing}"
    for name in names:
        (pytester.path / name).write_text(samples[name])
    (pytester.path / "conftest.py").write_text(LEAK_CHECK)


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)


def benchmarks(pytester: pytest.Pytester, json_name: str = "out.json") -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = json.loads((pytester.path / json_name).read_text())["benchmarks"]
    return found


def failure_messages(pytester: pytest.Pytester, xml_name: str = "out.xml") -> dict[str, str]:
    """Each failed test's failure message, from a --junitxml report."""
    root = ET.parse(pytester.path / xml_name).getroot()
    return {case.attrib["name"]: failure.attrib.get("message", "")
            for case in root.iter("testcase") for failure in case.iter("failure")}


def assert_measured(bench: dict[str, Any], *, driver: str, rounds: int,
                    statements: float | None) -> None:
    """A user benchmark in pytest-benchmark's JSON: its rounds, stats and counts."""
    info = bench["extra_info"]
    assert len(bench["stats"]["data"]) == rounds, bench["name"]
    assert 0 < bench["stats"]["min"] <= bench["stats"]["median"] <= bench["stats"]["max"]
    assert info["driver"] == driver
    assert info["statements_per_op"] == statements
    assert info["calls_per_op"] > 0  # Python calls of one extra untimed round
    assert len(info["blocks"]) == rounds and info["ops_per_round"] == 1
