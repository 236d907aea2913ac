"""Hashed n-gram features and the sparse layer that adds them to every head."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import torch

from nlu.lexical_features import INDICES, OFFSETS, WEIGHTS, LexicalConfig, LexicalHasher
from nlu.multitask_model import LexicalLayer, MultiTaskModel, build_model, encode_batch, preprocess

SMALL = LexicalConfig(buckets_per_analyzer=2**10)


def rows(features: dict) -> list:
    """Per-text (indices, weights) from EmbeddingBag inputs."""
    offsets = [*features[OFFSETS], len(features[INDICES])]
    return [
        (features[INDICES][a:b], features[WEIGHTS][a:b]) for a, b in itertools.pairwise(offsets)
    ]


def test_hashing_is_deterministic_and_needs_no_fitting() -> None:
    texts = ["Where is my order 123?", "I want a refund", "退货怎么办"]
    first = LexicalHasher(SMALL).transform(texts)
    second = LexicalHasher(LexicalConfig.from_json(SMALL.to_json())).transform(texts)
    for key in (INDICES, OFFSETS, WEIGHTS):
        np.testing.assert_array_equal(first[key], second[key])


def reference_features(config: LexicalConfig, texts: list) -> dict:
    """The same features through scikit-learn's HashingVectorizer and scipy (how models saved
    before the lean hasher were trained): word and char_wb counts side by side, 1 + log, L2."""
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import HashingVectorizer

    common = dict(n_features=config.buckets_per_analyzer, alternate_sign=False, norm=None)
    word = HashingVectorizer(
        ngram_range=(1, config.word_ngram_max), token_pattern=config.word_pattern, **common
    )
    char = HashingVectorizer(
        analyzer="char_wb", ngram_range=(config.char_ngram_min, config.char_ngram_max), **common
    )
    matrix = hstack([word.transform(texts), char.transform(texts)], format="csr")
    matrix.sum_duplicates()
    matrix.data = 1.0 + np.log(matrix.data)
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    matrix = matrix.multiply(1.0 / np.maximum(norms, 1e-12)[:, None]).tocsr()
    matrix.sort_indices()
    return {INDICES: matrix.indices, OFFSETS: matrix.indptr[:-1], WEIGHTS: matrix.data}


@pytest.mark.parametrize(
    "config", [SMALL, LexicalConfig(), LexicalConfig(han_characters_as_words=False)]
)
def test_buckets_match_scikit_learns_hashing_vectorizer(config: LexicalConfig) -> None:
    texts = [
        "Where is my order 123?",
        "",
        "  ",
        "Refund REFUND refund, please!!",
        "退货怎么办 🙂 \u202eevil\u202c",
        "x\x00y\ufffdz",
        "cancel " * 400,
    ]
    ours = LexicalHasher(config).transform(texts)
    expected = reference_features(config, texts)
    np.testing.assert_array_equal(ours[OFFSETS], expected[OFFSETS])
    np.testing.assert_array_equal(ours[INDICES], expected[INDICES])
    np.testing.assert_allclose(ours[WEIGHTS], expected[WEIGHTS], atol=1e-6)
    assert ours[INDICES].dtype == np.int64 and ours[WEIGHTS].dtype == np.float32


def test_han_characters_are_words_and_english_words_are_unchanged() -> None:
    han = LexicalHasher(SMALL)._word_tokens
    sklearn = LexicalHasher(
        LexicalConfig(buckets_per_analyzer=2**10, han_characters_as_words=False)
    )
    assert han("我要退货") == ["我", "要", "退", "货", "我 要", "要 退", "退 货"]
    assert sklearn._word_tokens("我要退货") == ["我要退货"]
    assert han("我的order 1234到哪了") == [
        "我", "的", "order", "1234", "到", "哪", "了",
        "我 的", "的 order", "order 1234", "1234 到", "到 哪", "哪 了",
    ]  # fmt: skip
    for text in ("Where's my order #1234?", "I can't log-in, a b c", "naïve café crème"):
        assert han(text) == sklearn._word_tokens(text)


def test_a_model_saved_before_the_han_option_hashes_as_it_was_trained() -> None:
    stored = {
        key: value for key, value in SMALL.to_json().items() if key != "han_characters_as_words"
    }
    assert not LexicalConfig.from_json(stored).han_characters_as_words
    assert LexicalConfig.from_json(SMALL.to_json()) == SMALL
    assert SMALL.han_characters_as_words


def test_every_text_has_unit_length_and_empty_text_has_no_features() -> None:
    features = LexicalHasher(SMALL).transform(["", "refund refund refund please", "退货"])
    per_text = rows(features)
    assert len(per_text[0][0]) == 0
    for indices, weights in per_text[1:]:
        assert len(indices) > 0
        assert float(np.sqrt((weights**2).sum())) == pytest.approx(1.0, abs=1e-5)
        assert indices.max() < SMALL.n_features
    # Character n-grams make a typo share most features with the right spelling.
    hasher = LexicalHasher(SMALL)
    right, typo, other = (
        set(rows(hasher.transform([text]))[0][0]) for text in ("cancel", "cancle", "invoice")
    )
    assert len(right & typo) > len(right & other)


def test_zero_initialised_layer_adds_nothing_until_trained() -> None:
    layer = LexicalLayer(SMALL, 5)
    hashed = LexicalHasher(SMALL).transform(["hi", ""])
    features = {key: torch.from_numpy(value) for key, value in hashed.items()}
    out = layer(features[INDICES], features[OFFSETS], features[WEIGHTS])
    assert out.shape == (2, 5)
    assert torch.count_nonzero(out) == 0


def test_model_adds_lexical_logits_to_every_head(tiny_bert_dir: Path) -> None:
    model, tokenizer = build_model(tiny_bert_dir, 3, 3, 4, SMALL)
    model.eval()
    texts = ["where is my order", "refund please"]
    encoded = encode_batch(model, tokenizer, texts, 32)
    with torch.no_grad():
        before = model(**encoded.tensors)
        model.lexical.bag.weight.fill_(0.5)  # every bucket pushes every output up
        after = model(**encoded.tensors)
    for name, size in (("intent", 3), ("sentiment", 3), ("demands", 4)):
        assert after[name].shape == (2, size)
        assert torch.all(after[name] > before[name])


def test_model_with_lexical_features_refuses_a_batch_without_them(tiny_bert_dir: Path) -> None:
    model, tokenizer = build_model(tiny_bert_dir, 3, 3, 4, SMALL)
    encoded = preprocess(["hello"], tokenizer, 32)
    with pytest.raises(ValueError, match="encode_batch"):
        model(**encoded.tensors)


def test_model_without_lexical_features_has_no_layer(tiny_bert_dir: Path) -> None:
    model, tokenizer = build_model(tiny_bert_dir, 3, 3, 4)
    assert isinstance(model, MultiTaskModel) and model.lexical is None and model.hasher is None
    encoded = encode_batch(model, tokenizer, ["hello"], 32)
    assert INDICES not in encoded.tensors
    assert model(**encoded.tensors)["intent"].shape == (1, 3)
