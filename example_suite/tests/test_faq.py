"""FAQ retrieval: cosine similarity, and embeddings of the FAQ and the question.

The module-level marker gives every test here the same budget. Embeddings are
cheap, so these tests stay far below it.
"""

from __future__ import annotations

import pytest

from support_assistant import cosine_similarity

pytestmark = pytest.mark.llm_budget(0.0001)


def test_cosine_similarity_values():
    assert cosine_similarity([1.0, 0.0], [2.0, 0.0]) == pytest.approx(1.0)
    assert cosine_similarity([1.0, 0.0], [0.0, 3.0]) == pytest.approx(0.0)
    assert cosine_similarity([1.0, 1.0], [-1.0, -1.0]) == pytest.approx(-1.0)
    assert cosine_similarity([0.0, 0.0], [1.0, 0.0]) == 0.0
    with pytest.raises(ValueError, match="different lengths"):
        cosine_similarity([1.0], [1.0, 0.0])


def test_best_match_refund_question(provider_mock, faq_index):
    provider_mock.queue_openai_embedding(prompt_tokens=14)

    match = faq_index.best_match("Can I get a refund? I see a duplicate charge on my card.")

    assert match.entry.question == "How do I get a refund for a duplicate charge?"


def test_best_match_password_question(provider_mock, faq_index):
    provider_mock.queue_openai_embedding(prompt_tokens=11)

    match = faq_index.best_match("I forgot my password and the reset link does not work.")

    assert match.entry.question == "How do I reset my password?"
