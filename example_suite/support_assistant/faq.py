"""FAQ retrieval: embed the FAQ once, then find the entry closest to a question."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import litellm

from .config import AssistantConfig


@dataclass(frozen=True)
class FaqEntry:
    """One question of the FAQ with its answer."""

    question: str
    answer: str

    @property
    def text(self) -> str:
        """Question and answer as one text, the form that is embedded."""
        return f"{self.question}\n{self.answer}"


@dataclass(frozen=True)
class FaqMatch:
    """An FAQ entry and its cosine similarity to the question it was found for."""

    entry: FaqEntry
    score: float


def cosine_similarity(a: Sequence[float], b: Sequence[float]) -> float:
    """Compute the cosine similarity of two vectors, from -1.0 to 1.0.

    Returns 0.0 when either vector is all zeros. Raises ValueError when the
    lengths differ, as they do for vectors from models of different dimensions.
    """
    if len(a) != len(b):
        raise ValueError(f"vectors have different lengths: {len(a)} and {len(b)}")
    dot = math.fsum(x * y for x, y in zip(a, b))
    norm_a = math.sqrt(math.fsum(x * x for x in a))
    norm_b = math.sqrt(math.fsum(y * y for y in b))
    if norm_a == 0.0 or norm_b == 0.0:
        return 0.0
    return dot / (norm_a * norm_b)


def embed_texts(texts: Sequence[str], model: str) -> list[list[float]]:
    """Embed texts in one request and return their vectors in input order."""
    response = litellm.embedding(model=model, input=list(texts))
    items = sorted(response.data, key=lambda item: item["index"])
    return [list(item["embedding"]) for item in items]


class FaqIndex:
    """FAQ entries with their embeddings, searched by cosine similarity in memory."""

    def __init__(
        self,
        entries: Sequence[FaqEntry],
        vectors: Sequence[Sequence[float]],
        embedding_model: str,
    ) -> None:
        if not entries:
            raise ValueError("an FAQ index needs at least one entry")
        if len(entries) != len(vectors):
            raise ValueError(f"got {len(entries)} FAQ entries but {len(vectors)} vectors")
        self.entries = tuple(entries)
        self.vectors = tuple(tuple(vector) for vector in vectors)
        self.embedding_model = embedding_model

    @classmethod
    def build(cls, entries: Sequence[FaqEntry], config: AssistantConfig) -> FaqIndex:
        """Embed all entries in one request to the embedding model."""
        if not entries:
            raise ValueError("an FAQ index needs at least one entry")
        vectors = embed_texts([entry.text for entry in entries], config.embedding_model)
        return cls(entries, vectors, config.embedding_model)

    def best_match(self, question: str) -> FaqMatch:
        """Embed the question, in one request, and return the most similar entry."""
        [query] = embed_texts([question], self.embedding_model)
        scores = [cosine_similarity(query, vector) for vector in self.vectors]
        best = max(range(len(scores)), key=scores.__getitem__)
        return FaqMatch(self.entries[best], scores[best])
