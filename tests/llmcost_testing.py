"""Helpers for the plugin's own tests: run pytester with the mock provider, read the report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

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


def report(pytester: pytest.Pytester) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((pytester.path / "cost.json").read_text())
    return document


def test_entry(pytester: pytest.Pytester, name: str) -> dict[str, Any]:
    """Return the JSON report's entry of the test function `name` in test_suite.py."""
    entry: dict[str, Any] = report(pytester)["tests"][f"test_suite.py::{name}"]
    return entry


test_entry.__test__ = False  # type: ignore[attr-defined]
