"""Helpers for the plugin's own tests: run pytester with the mock provider, read the report."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import cmarkgfm
import jsonschema
import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

from pytest_llmcost.report.json_report import load_schema

MOCK_CONFTEST = (Path(__file__).parent / "provider_mock.py").read_text(encoding="utf-8")

# Arguments of every inner run: no cache files, and no third-party deprecation noise.
BASE_ARGS = (
    "-p", "no:cacheprovider",
    "-W", "ignore::DeprecationWarning",
    "-W", "ignore::UserWarning:pydantic._internal._generate_schema",
)

INI = """
[pytest]
asyncio_mode = strict
asyncio_default_fixture_loop_scope = function
"""


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """Run pytest in-process on the pytester directory, writing the JSON report to cost.json."""
    return pytester.runpytest(*BASE_ARGS, "--llm-cost-json=cost.json", *args)


def run_subprocess(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(*BASE_ARGS, "--llm-cost-json=cost.json", *args)


REPORT_VALIDATOR = jsonschema.Draft202012Validator(load_schema())


def read_report(path: Path) -> dict[str, Any]:
    """Read a JSON report and validate it against the schema that the package ships."""
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    REPORT_VALIDATOR.validate(document)
    return document


def report(pytester: pytest.Pytester) -> dict[str, Any]:
    """Return the JSON report that `run` wrote, validated against the schema."""
    return read_report(pytester.path / "cost.json")


def test_entry(pytester: pytest.Pytester, name: str) -> dict[str, Any]:
    """Return the JSON report's entry of the test function `name` in test_suite.py."""
    entry: dict[str, Any] = report(pytester)["tests"][f"test_suite.py::{name}"]
    return entry


test_entry.__test__ = False  # type: ignore[attr-defined]


# CommonMark with GFM tables; raw HTML is on, as on GitHub, so that an escaping
# mistake shows up as an html_inline or html_block token.
MARKDOWN = MarkdownIt("commonmark").enable("table")


@dataclass
class Cell:
    """One table cell of a rendered Markdown document."""

    text: str
    codes: list[str]
    plain: str
    token_types: set[str]


def _cell(inline: Token) -> Cell:
    children = inline.children or []
    text = "".join(child.content for child in children if child.type in {"text", "code_inline"})
    codes = [child.content for child in children if child.type == "code_inline"]
    plain = "".join(child.content for child in children if child.type == "text")
    return Cell(text, codes, plain, {child.type for child in children})


def markdown_tables(text: str) -> dict[str, list[list[Cell]]]:
    """Parse Markdown and return each table's rows, header row first, by the heading above it."""
    tokens = MARKDOWN.parse(text)
    tables: dict[str, list[list[Cell]]] = {}
    heading = ""
    rows: list[list[Cell]] = []
    for index, token in enumerate(tokens):
        if token.type == "heading_open":
            heading = tokens[index + 1].content
        elif token.type == "table_open":
            rows = tables.setdefault(heading, [])
        elif token.type == "tr_open":
            rows.append([])
        elif token.type in {"th_open", "td_open"}:
            rows[-1].append(_cell(tokens[index + 1]))
    return tables


def html_tokens(text: str) -> list[str]:
    """Return the raw HTML that Markdown `text` would pass through to the page."""
    found = []
    for token in MARKDOWN.parse(text):
        for item in [token, *(token.children or [])]:
            if item.type in {"html_inline", "html_block"}:
                found.append(item.content)
    return found


class _TableCells(HTMLParser):
    """Collect the text of each cell of each table in an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in {"th", "td"}:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in {"th", "td"} and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


@dataclass
class GitHubPage:
    """Markdown as GitHub renders it: the HTML, and the text of every table cell."""

    html: str
    tables: list[list[list[str]]] = field(default_factory=list)


def github_render(text: str) -> GitHubPage:
    """Render Markdown with cmark-gfm, the parser of GitHub's job summaries and comments."""
    html = cmarkgfm.github_flavored_markdown_to_html(text)
    parser = _TableCells()
    parser.feed(html)
    return GitHubPage(html, parser.tables)
