"""Postprocessing stage of the intent/sentiment/demand model: pure functions on numpy arrays.

These turn model outputs (probabilities) into the dictionaries Rasa and the actions read. They
import neither torch nor rasa so they are cheap to test and reuse (benchmarks, evaluation).
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Sequence, Tuple

import numpy as np

logger = logging.getLogger(__name__)

# Rasa's keys inside `intent` / `intent_ranking` entries (rasa.shared.nlu.constants).
INTENT_NAME_KEY = "name"
PREDICTED_CONFIDENCE_KEY = "confidence"


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax, numerically stable."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def sigmoid(logits: np.ndarray) -> np.ndarray:
    """Element-wise logistic function."""
    return 1.0 / (1.0 + np.exp(-logits))


def rank_intents(
    probabilities: np.ndarray, labels: Sequence[str], ranking_length: int
) -> Tuple[Dict[str, Any], List[Dict[str, Any]]]:
    """`intent` and `intent_ranking` as Rasa's DIETClassifier builds them.

    Like `rasa.utils.train_utils.rank_and_mask` without renormalising: the ranking holds the
    `ranking_length` most likely intents (all when 0), best first, confidences as Python floats.
    """
    order = np.argsort(-probabilities, kind="stable")
    if 0 < ranking_length < len(order):
        order = order[:ranking_length]
    ranking = [
        {INTENT_NAME_KEY: labels[i], PREDICTED_CONFIDENCE_KEY: float(probabilities[i])}
        for i in order
    ]
    return dict(ranking[0]), ranking


def empty_intent() -> Tuple[Dict[str, Any], List[Dict[str, Any]]]:
    """What Rasa's classifiers set when there is nothing to classify (e.g. empty text)."""
    return {INTENT_NAME_KEY: None, PREDICTED_CONFIDENCE_KEY: 0.0}, []


def sentiment_result(probabilities: np.ndarray, labels: Sequence[str]) -> Dict[str, Any]:
    """`{"label", "confidence", "scores"}` for one message's sentiment probabilities."""
    best = int(np.argmax(probabilities))
    return {
        "label": labels[best],
        "confidence": float(probabilities[best]),
        "scores": {label: float(p) for label, p in zip(labels, probabilities, strict=False)},
    }


def neutral_sentiment(labels: Sequence[str]) -> Dict[str, Any]:
    """A well-formed, maximally uncertain sentiment (used for empty text)."""
    uniform = np.full(len(labels), 1.0 / len(labels))
    neutral = list(labels).index("neutral") if "neutral" in labels else 0
    result = sentiment_result(uniform, labels)
    result["label"] = labels[neutral]
    return result


def demands_result(
    probabilities: np.ndarray,
    aspects: Sequence[str],
    thresholds: Sequence[float],
    product: str | None,
) -> List[Dict[str, Any]]:
    """The aspects whose probability reaches their threshold, most confident first."""
    chosen = [
        {"aspect": aspect, "confidence": float(p), "product": product}
        for aspect, p, threshold in zip(aspects, probabilities, thresholds, strict=False)
        if p >= threshold
    ]
    return sorted(chosen, key=lambda d: -d["confidence"])


def tune_threshold(
    probabilities: np.ndarray,
    targets: np.ndarray,
    grid: Sequence[float] = tuple(np.round(np.arange(0.05, 0.96, 0.05), 2)),
) -> Tuple[float, float]:
    """The global threshold maximising micro-F1 of multi-label predictions, and that F1.

    Ties go to the threshold closest to 0.5. With no positive targets at all returns (0.5, 0.0).
    """
    if targets.sum() == 0:
        return 0.5, 0.0
    best: Tuple[float, float] = (0.5, -1.0)
    for threshold in sorted(grid, key=lambda t: abs(t - 0.5)):
        f1 = micro_f1(probabilities >= threshold, targets.astype(bool))
        if f1 > best[1]:
            best = (float(threshold), f1)
    return best


def tune_binary_threshold(
    probabilities: np.ndarray,
    targets: np.ndarray,
    grid: Sequence[float] = tuple(np.round(np.arange(0.05, 0.96, 0.05), 2)),
) -> Tuple[float, float]:
    """The threshold on one probability per row that maximises F1, and that F1."""
    return tune_threshold(probabilities.reshape(-1, 1), targets.reshape(-1, 1), grid)


def handoff_result(probabilities: np.ndarray, threshold: float) -> Dict[str, Any]:
    """`{"label", "confidence"}` from the hand-over head's two-class probabilities."""
    confidence = float(probabilities[1])
    return {"label": confidence >= threshold, "confidence": confidence}


def micro_f1(predicted: np.ndarray, targets: np.ndarray) -> float:
    """Micro-averaged F1 of boolean multi-label matrices (0.0 when nothing is predicted/true)."""
    tp = float(np.logical_and(predicted, targets).sum())
    fp = float(np.logical_and(predicted, ~targets).sum())
    fn = float(np.logical_and(~predicted, targets).sum())
    denom = 2 * tp + fp + fn
    return 2 * tp / denom if denom else 0.0
