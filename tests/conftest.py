from __future__ import annotations

import pytest

# Imported once here, before any pytester run: pytester removes the modules that an
# in-process run imported, and LiteLLM re-imported for every run would be slow and
# would leave two copies of its logging threads and queues.
import httpx  # noqa: F401
import litellm  # noqa: F401
import respx  # noqa: F401

from llmcost_testing import INI, MOCK_CONFTEST


@pytest.fixture(autouse=True)
def no_step_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep inner runs from appending to the job summary of a CI run of these tests."""
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)


@pytest.fixture
def llm_pytester(pytester: pytest.Pytester) -> pytest.Pytester:
    """A pytester directory whose conftest.py mocks OpenAI and Anthropic with respx."""
    pytester.makeconftest(MOCK_CONFTEST)
    pytester.makeini(INI)
    return pytester
