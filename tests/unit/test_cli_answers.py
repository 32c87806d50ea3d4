"""The command line's polish: --version, did-you-mean, `list FAMILY`, and the end-of-run
tables and decisions as a terminal of 80 columns shows them."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from rich.console import Console

import bench
from bench.api.family import load_families
from bench.cli import main
from bench.cli.console import print_summary
from bench.results import file as results

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures_results"


def test_version_prints_the_package_version(capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["--version"])
    assert stopped.value.code == 0
    assert capsys.readouterr().out.strip() == f"sqla-bench {bench.__version__}"


@pytest.mark.parametrize(("argv", "suggestion"), [
    (["run", "--driver", "aiosqlit"], "did you mean 'aiosqlite'"),
    (["run", "--driver", "aiosqlite", "--scenario", "lodaing"], "did you mean 'loading'"),
    (["run", "--driver", "aiosqlite", "--scenario", "loading", "--variant", "selectinlaod"],
     "did you mean 'selectinload'"),
    (["run", "--driver", "aiosqlite", "--scenario", "loading", "--param", "parnets=3"],
     "did you mean 'parents'"),
    (["list", "pool_sizng"], "did you mean 'pool_sizing'"),
])
def test_an_unknown_name_gets_the_closest_known_one(argv, suggestion, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert suggestion in err and err.count("\n") == 1 and "Traceback" not in err


def test_nothing_close_gets_no_suggestion(capsys):
    assert main(["run", "--driver", "zzzz"]) == 2
    assert "did you mean" not in capsys.readouterr().err


def test_every_option_has_help(capsys):
    from bench.cli.parser import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command")
    for name, sub in commands.choices.items():  # type: ignore[union-attr]
        for action in sub._actions:
            if action.option_strings and action.dest != "help" and action.help != "==SUPPRESS==":
                assert action.help, f"{name} {action.option_strings} has no help"
    assert "examples:" in parser.format_help()


def test_list_one_family_shows_whole_docstrings_and_marks_the_reference(capsys):
    assert main(["list", "loading"]) == 0
    out = capsys.readouterr().out
    flat = " ".join(out.split())
    family = load_families([])["loading"]
    for variant in family.variants.values():
        assert variant.doc and " ".join(variant.doc.split()) in flat  # no cut mid-sentence
    assert "raw_driver (reference)" in flat and flat.count("(reference)") == 1
    assert "pool_sizing" not in out and "URL scheme" not in out  # one family, no drivers


def _decided_doc():
    """A loading run of the fixtures, with the decisions it declares and a skipped case."""
    doc = results.load_any(FIXTURES / "v2_aiosqlite_loading.json")
    doc["families"]["loading"]["comparisons"] = [
        {"candidate": "selectinload", "against": "lazy_n_plus_1",
         "sentence": "selectinload instead of lazy loading", "at": {}, "largest": []},
        {"candidate": "joinedload", "against": "raw_driver", "sentence": "the ORM's cost",
         "at": {}, "largest": [], "overhead": True}]
    skipped = copy.deepcopy(doc["cases"][0])
    skipped.update(variant="no_such_thing", status="skipped", stats=None, paired=None,
                   error="skipped: aiosqlite has no COPY")
    doc["cases"].append(skipped)
    return doc


def test_the_table_fits_80_columns_without_a_wrapped_row():
    doc = _decided_doc()
    console = Console(width=80, record=True, force_terminal=False)
    print_summary(doc, console)
    lines = console.export_text().splitlines()
    assert max(len(line) for line in lines) <= 80
    for case in doc["cases"]:
        if case["status"] == "skipped":
            continue
        rows = [line for line in lines if line.strip().startswith(case["variant"] + " ")]
        assert len(rows) == 1, case["variant"]  # the whole name, once
        paired = case["paired"]
        cell = "ref" if paired is None else f"{paired['median']:.2f}×"
        assert cell in rows[0]  # the ratio on the name's line: the row did not wrap


def test_the_decisions_and_skipped_variants_follow_the_table():
    doc = _decided_doc()
    console = Console(width=80, record=True, force_terminal=False)
    print_summary(doc, console)
    text = " ".join(console.export_text().split())
    decisions = text[text.index("decisions (paired ratio"):]
    assert "selectinload instead of lazy loading: selectinload is" in decisions
    assert "faster than lazy_n_plus_1" in decisions and "statements per" in decisions
    assert "the ORM's cost: joinedload takes" in decisions  # an overhead: no winner
    assert "loading · no_such_thing (1 point): aiosqlite has no COPY" in text
