"""A vote of the nearest training examples beside the intent head.

After fine-tuning, the component embeds its intent training examples with the tuned encoder
(mean-pooled, L2-normalised) and keeps them with their intent. At inference the ``k`` most
similar examples vote for their intents (softmax of cosine similarity / temperature) and the vote
is blended with the head's probabilities. A head generalises from the whole training set; the
vote lets one close example (a supervisor's correction, a shopper phrasing written once) count
at once. Measured on the shopper dev split before it was adopted (docs/nlu.md).

Brute-force cosine over a few thousand examples is under 1 ms a message, so FAISS (which the
answer index uses) would add a dependency to this component for no gain. The similarities are
computed with torch, on the threads the encoder uses: with numpy, OpenBLAS's own threads competed
with torch's for the two cores and the vote took 1.1 ms p50 / 2.0 ms mean in the served bot
(5,146 examples) against 0.7 / 0.7 ms with torch (2026-12-06). No rasa here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

logger = logging.getLogger(__name__)

MEMORY_FILE = "nearest_examples.npz"


def normalise_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), as float32."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


@dataclass
class ExampleMemory:
    """Unit-length embeddings of training examples and the index of each one's intent."""

    embeddings: np.ndarray  # (n, dim), unit rows
    labels: np.ndarray  # (n,), int
    _columns: Any = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def build(cls, embeddings: np.ndarray, labels: Sequence[int]) -> ExampleMemory:
        """A memory of ``embeddings`` (normalised here) labelled with intent indices."""
        label_array = np.asarray(labels, dtype=np.int64)
        if len(label_array) != len(embeddings):
            raise ValueError(f"{len(embeddings)} embeddings but {len(label_array)} labels")
        return cls(normalise_rows(embeddings), label_array)

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def vote(self, queries: np.ndarray, n_labels: int, k: int, temperature: float) -> np.ndarray:
        """Per query, a distribution over ``n_labels`` intents from its ``k`` nearest examples
        (weights: softmax of cosine similarity / ``temperature``)."""
        import torch

        votes = np.zeros((len(queries), n_labels), dtype=np.float32)
        if len(self) == 0 or len(queries) == 0:
            return votes
        if self._columns is None:
            # (dim, n), contiguous: one matrix product per batch of queries.
            self._columns = torch.from_numpy(np.ascontiguousarray(self.embeddings.T))
        with torch.inference_mode():
            similarity = torch.from_numpy(normalise_rows(queries)) @ self._columns
            nearest = torch.topk(similarity, min(k, len(self)), dim=1)
        scores = nearest.values.numpy() / temperature
        weights = np.exp(scores - scores.max(axis=1, keepdims=True))
        weights /= weights.sum(axis=1, keepdims=True)
        labels = self.labels[nearest.indices.numpy()]
        for row in range(len(queries)):
            np.add.at(votes[row], labels[row], weights[row])
        return votes

    def save(self, directory: Path) -> None:
        """Write the memory (float16 embeddings) to ``directory``."""
        np.savez(
            directory / MEMORY_FILE,
            embeddings=self.embeddings.astype(np.float16),
            labels=self.labels,
        )

    @classmethod
    def load(cls, directory: Path) -> ExampleMemory | None:
        """The memory saved in ``directory``, or None (a model trained without one)."""
        path = directory / MEMORY_FILE
        if not path.is_file():
            return None
        with np.load(path) as stored:
            return cls(normalise_rows(stored["embeddings"]), stored["labels"].astype(np.int64))


def blend(head: np.ndarray, vote: np.ndarray, weight: float) -> np.ndarray:
    """``(1 - weight) * head + weight * vote``: still a distribution when both are."""
    if weight <= 0:
        return head
    return (1.0 - weight) * head + weight * vote
