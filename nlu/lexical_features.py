"""Hashed word and character n-grams: a sparse, lexical view of a text beside the encoder's.

DIET pairs dense embeddings with sparse count-vector features; this is the same idea for the
fine-tuned encoder. Texts are hashed (scikit-learn's stateless ``HashingVectorizer``, murmurhash)
into word 1-2-grams and within-word character 2-4-grams, so nothing is fitted or pickled and a
model stores only this config (JSON) and one learned sparse linear layer (safetensors). The
layer's weights start at zero: an n-gram never seen in training adds nothing to any logit, so
unfamiliar text is left to the encoder. It helps on typos and rare words that the encoder's
word pieces split badly. Light: the layer itself (torch) is in `nlu.multitask_model`.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any, Dict, Sequence

import numpy as np

logger = logging.getLogger(__name__)

# Keys of the tensors that carry one batch's hashed features (next to the tokenizer's).
INDICES = "lexical_indices"
OFFSETS = "lexical_offsets"
WEIGHTS = "lexical_weights"


@dataclass(frozen=True)
class LexicalConfig:
    """How texts are hashed; stored with the model so that loading hashes alike."""

    buckets_per_analyzer: int = 2**15
    word_ngram_max: int = 2
    char_ngram_min: int = 2
    char_ngram_max: int = 4

    @property
    def n_features(self) -> int:
        """Width of the hashed vector (word buckets, then character buckets)."""
        return 2 * self.buckets_per_analyzer

    def to_json(self) -> Dict[str, int]:
        """JSON-ready dict (the inverse of ``LexicalConfig(**data)``)."""
        return asdict(self)


class LexicalHasher:
    """Texts -> L2-normalised hashed n-gram counts, as EmbeddingBag inputs."""

    def __init__(self, config: LexicalConfig) -> None:
        """Build the two stateless vectorizers (word and char_wb) of `config`."""
        from sklearn.feature_extraction.text import HashingVectorizer

        common: Dict[str, Any] = {
            "n_features": config.buckets_per_analyzer,
            "alternate_sign": False,
            "norm": None,
            "lowercase": True,
            "dtype": np.float32,
        }
        self.config = config
        self._word = HashingVectorizer(ngram_range=(1, config.word_ngram_max), **common)
        self._char = HashingVectorizer(
            analyzer="char_wb",
            ngram_range=(config.char_ngram_min, config.char_ngram_max),
            **common,
        )

    def transform(self, texts: Sequence[str]) -> Dict[str, np.ndarray]:
        """EmbeddingBag inputs (flat indices, per-text offsets, weights) for `texts`.

        Counts are damped (1 + log count) and each text's vector has unit length, so long
        texts do not outweigh the encoder."""
        from scipy.sparse import hstack

        matrix = hstack(
            [self._word.transform(texts), self._char.transform(texts)], format="csr"
        ).astype(np.float32)
        matrix.sum_duplicates()
        matrix.data = 1.0 + np.log(matrix.data)
        norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
        row_of = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
        weights = matrix.data / np.maximum(norms[row_of], 1e-12)
        return {
            INDICES: matrix.indices.astype(np.int64),
            OFFSETS: matrix.indptr[:-1].astype(np.int64),
            WEIGHTS: weights.astype(np.float32),
        }


def describe(config: LexicalConfig, n_outputs: int) -> str:
    """One log line: the sparse layer's size."""
    megabytes = config.n_features * n_outputs * 4 / 2**20
    return (
        f"lexical features: {config.n_features} hashed n-gram buckets x {n_outputs} outputs"
        f" ({megabytes:.1f} MB; word 1-{config.word_ngram_max}-grams,"
        f" char {config.char_ngram_min}-{config.char_ngram_max}-grams)"
    )
