"""Postprocessing stage: pure functions that must match Rasa's output conventions."""

from __future__ import annotations

import numpy as np
import pytest

from nlu import postprocess


def test_rank_intents_matches_rasa_rank_and_mask() -> None:
    from rasa.utils.train_utils import rank_and_mask

    probabilities = np.array([0.1, 0.5, 0.05, 0.3, 0.05])
    labels = ["a", "b", "c", "d", "e"]
    intent, ranking = postprocess.rank_intents(probabilities, labels, ranking_length=3)
    indices, masked = rank_and_mask(probabilities, ranking_length=3, renormalize=False)
    assert intent == {"name": "b", "confidence": 0.5}
    assert [r["name"] for r in ranking] == [labels[i] for i in indices]
    assert [r["confidence"] for r in ranking] == pytest.approx([masked[i] for i in indices])
    assert all(type(r["confidence"]) is float for r in ranking)


def test_ranking_length_zero_lists_every_intent() -> None:
    _, ranking = postprocess.rank_intents(np.array([0.2, 0.8]), ["x", "y"], ranking_length=0)
    assert [r["name"] for r in ranking] == ["y", "x"]


def test_demands_filtered_by_threshold_and_sorted() -> None:
    result = postprocess.demands_result(
        np.array([0.9, 0.2, 0.6]), ["price", "quality", "delivery"], [0.5, 0.5, 0.5], "shoes"
    )
    assert result == [
        {"aspect": "price", "confidence": pytest.approx(0.9), "product": "shoes"},
        {"aspect": "delivery", "confidence": pytest.approx(0.6), "product": "shoes"},
    ]


def test_neutral_sentiment_is_uniform() -> None:
    result = postprocess.neutral_sentiment(("negative", "neutral", "positive"))
    assert result["label"] == "neutral"
    assert sum(result["scores"].values()) == pytest.approx(1.0)


def test_tune_threshold_finds_separating_value() -> None:
    probabilities = np.array([[0.9, 0.3], [0.35, 0.8], [0.2, 0.1]])
    targets = np.array([[1, 0], [0, 1], [0, 0]])
    threshold, f1 = postprocess.tune_threshold(probabilities, targets)
    assert 0.35 < threshold <= 0.8
    assert f1 == pytest.approx(1.0)
