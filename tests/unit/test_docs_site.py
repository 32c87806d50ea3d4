"""The documentation a newcomer navigates: the mkdocs site's nav names pages that exist,
every relative link of README.md and docs/ lands on a file (and a heading, when it names
one), and the README stays short with the two commands in it. `make docs`
(`mkdocs build --strict`) checks the site's own links too; these run without mkdocs, and
also cover the README, which is not part of the site."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
import yaml

from tests.plugin_project import DOCS, README, ROOT, doc_files, doc_samples

MKDOCS_YML = ROOT / "mkdocs.yml"
SCREENSHOT = DOCS / "img" / "report.png"

_FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.S | re.M)
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$", re.M)
_PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
_LAYOUT = re.compile(r"<!-- layout:start -->\n```\w*\n(.*?)```\n<!-- layout:end -->", re.S)


def _nav_pages(nav: list) -> list[str]:
    pages: list[str] = []
    for entry in nav:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        if isinstance(value, list):
            pages += _nav_pages(value)
        elif isinstance(value, str) and not re.match(r"[a-z]+://", value):
            pages.append(value)
    return pages


def _prose(text: str) -> str:
    """The text of a page without its code: links inside code are not links."""
    return _INLINE_CODE.sub("", _FENCE.sub("", text))


def _slug(heading: str) -> str:
    """The anchor mkdocs (Python-Markdown's toc) gives a heading."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
    text = re.sub(r"[`*_]", "", text)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def _anchors(page: Path) -> set[str]:
    seen: dict[str, int] = {}
    anchors: set[str] = set()
    for _, heading in _HEADING.findall(_FENCE.sub("", page.read_text())):
        slug = _slug(heading)
        count = seen.get(slug, 0)
        anchors.add(slug if count == 0 else f"{slug}_{count}")
        seen[slug] = count + 1
    return anchors


def _relative_links(page: Path) -> list[str]:
    return [target for target in _LINK.findall(_prose(page.read_text()))
            if not re.match(r"[a-z][a-z0-9+.-]*:", target)]  # http:, https:, mailto:


def test_every_page_of_the_nav_exists_and_every_page_is_in_the_nav():
    config = yaml.safe_load(MKDOCS_YML.read_text())
    assert config["docs_dir"] == "docs"
    nav = _nav_pages(config["nav"])
    missing = [page for page in nav if not (DOCS / page).is_file()]
    assert not missing, f"mkdocs.yml's nav names pages that do not exist: {missing}"
    assert len(nav) == len(set(nav)), "a page is in the nav twice"
    pages = {str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md")}
    assert pages == set(nav), f"pages not in the nav: {sorted(pages - set(nav))}"


def test_the_nav_has_the_pages_a_newcomer_needs():
    titles = [next(iter(entry)) for entry in yaml.safe_load(MKDOCS_YML.read_text())["nav"]]
    assert titles == ["Getting started", "Reading the output", "The report", "Choosing a driver",
                      "Comparing runs and gating CI", "The counted CI gate", "The pytest plug-in",
                      "Network distance (--rtt)", "Scaling out (Dask)",
                      "Runs that share a database", "Your own application (capture, replay)",
                      "Adding a scenario",
                      "Adding a driver", "Results format", "Method", "Layout", "Changelog"]


@pytest.mark.parametrize("page", doc_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_lands_on_a_file_and_heading(page: Path):
    broken = []
    for target in _relative_links(page):
        path_part, _, anchor = target.partition("#")
        destination = (page.parent / path_part).resolve() if path_part else page
        if destination == SCREENSHOT.resolve():
            continue  # test_the_readme_screenshot_exists
        if not destination.exists():
            broken.append(f"{target}: no such file")
        elif anchor and destination.suffix == ".md" and anchor not in _anchors(destination):
            broken.append(f"{target}: no heading #{anchor} in {destination.name}")
    assert not broken, f"{page.relative_to(ROOT)} has broken links: {broken}"


def test_links_into_the_site_stay_inside_docs():
    for page in DOCS.rglob("*.md"):
        for target in _relative_links(page):
            path_part = target.partition("#")[0]
            if path_part:
                destination = (page.parent / path_part).resolve()
                assert destination.is_relative_to(DOCS.resolve()), (
                    f"{page.relative_to(ROOT)} links outside docs/ ({target}): mkdocs "
                    "cannot serve it; name the file in code instead")


def test_the_readme_is_short_and_starts_with_the_two_commands():
    text = README.read_text()
    assert len(text.splitlines()) <= 200
    assert "make bench" in text and "make test" in text
    for env in ("BENCH_POSTGRES_URL", "BENCH_MYSQL_URL", "--driver", "--url"):
        assert env in text
    assert "docs/img/report.png" in text


def test_the_readme_links_into_every_page_of_the_site():
    linked = {(README.parent / t.partition("#")[0]).resolve()
              for t in _relative_links(README) if t.partition("#")[0]}
    pages = {p.resolve() for p in DOCS.rglob("*.md")}
    assert not pages - linked, f"README.md links to none of {sorted(pages - linked)}"


def test_the_readmes_python_is_an_excerpt_of_a_sample_the_tests_run():
    samples = doc_samples().values()
    for block in _PYTHON_BLOCK.findall(README.read_text()):
        assert any(block in sample for sample in samples), (
            f"README.md's code is not part of a named sample, so no test runs it:\n{block}")


def test_the_layout_page_lists_one_line_per_sub_package():
    block = _LAYOUT.search((DOCS / "layout.md").read_text())
    assert block, "docs/layout.md has no <!-- layout:start --> code block <!-- layout:end -->"
    lines = block.group(1).splitlines()
    assert lines and all(re.fullmatch(r"bench/\w+/ +\S.*", line) for line in lines), lines
    names = [line.split("/")[1] for line in lines]
    assert len(names) == len(set(names))


def test_the_readme_screenshot_exists():
    if not SCREENSHOT.exists():
        pytest.skip("docs/img/report.png is not generated yet (headless Chromium screenshot "
                    "of reports/latest/index.html after make bench)")
    assert SCREENSHOT.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
