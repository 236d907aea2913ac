"""Threshold sweeps for tuning on the shopper DEV split (never on the frozen eval split).

One parse per message serves every threshold: the fallback decision is recomputed from the
raw intent ranking (FallbackClassifier's threshold and ambiguity rules), the hand-over decision
from the churn rules plus the NLU hand-over head's confidence. ``python -m benchmarks shoppers
--split dev`` prints both tables; config.yml's thresholds cite them.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Mapping, Sequence, Tuple

logger = logging.getLogger(__name__)

FALLBACK_THRESHOLDS = (0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5)
HANDOFF_THRESHOLDS = (0.3, 0.5, 0.7, 0.8, 0.85, 0.9, 0.95)
FALLBACK_INTENT = "nlu_fallback"
OUT_OF_SCOPE = "out_of_scope"


def top_two(parse: Mapping[str, Any]) -> Tuple[str | None, float, float]:
    """The classifier's best intent, its confidence, and the runner-up's confidence."""
    ranking = [r for r in parse.get("intent_ranking") or [] if r.get("name") != FALLBACK_INTENT]
    if not ranking:
        return None, 0.0, 0.0
    second = float(ranking[1]["confidence"]) if len(ranking) > 1 else 0.0
    return str(ranking[0]["name"]), float(ranking[0]["confidence"]), second


def falls_back(parse: Mapping[str, Any], threshold: float, ambiguity: float) -> bool:
    """FallbackClassifier's rule: top confidence below threshold, or top two too close."""
    name, first, second = top_two(parse)
    return name is None or first < threshold or first - second < ambiguity


def fallback_sweep(
    gold: Sequence[str], parses: Sequence[Mapping[str, Any]], ambiguity: float
) -> List[Dict[str, float]]:
    """Per threshold: accuracy (fallback read as out_of_scope), in-scope fallback, oos handled."""
    rows = []
    for threshold in FALLBACK_THRESHOLDS:
        back = [falls_back(p, threshold, ambiguity) for p in parses]
        predicted = [
            OUT_OF_SCOPE if b else str(top_two(p)[0]) for b, p in zip(back, parses, strict=True)
        ]
        in_scope = [b for g, b in zip(gold, back, strict=True) if g != OUT_OF_SCOPE]
        outside = [p for g, p in zip(gold, predicted, strict=True) if g == OUT_OF_SCOPE]
        rows.append(
            {
                "threshold": threshold,
                "accuracy": sum(g == p for g, p in zip(gold, predicted, strict=True)) / len(gold),
                "in_scope_fallback": sum(in_scope) / max(1, len(in_scope)),
                "oos_handled": sum(p == OUT_OF_SCOPE for p in outside) / max(1, len(outside)),
            }
        )
    return rows


def handoff_sweep(
    gold: Sequence[bool], rule_flags: Sequence[bool], confidences: Sequence[float | None]
) -> List[Dict[str, float]]:
    """Per hand-over head threshold: precision and recall of rules OR head >= threshold."""
    rows = []
    for threshold in HANDOFF_THRESHOLDS:
        flagged = [
            rule or (conf is not None and conf >= threshold)
            for rule, conf in zip(rule_flags, confidences, strict=True)
        ]
        true_pos = sum(g and f for g, f in zip(gold, flagged, strict=True))
        rows.append(
            {
                "threshold": threshold,
                "precision": true_pos / max(1, sum(flagged)),
                "recall": true_pos / max(1, sum(gold)),
            }
        )
    return rows


def print_sweeps(
    language: str, fallback: Sequence[Mapping[str, float]], handoff: Sequence[Mapping[str, float]]
) -> None:
    """Both tables for one language."""
    print(f"{language.upper()} dev: fallback threshold sweep")
    for row in fallback:
        print(
            f"    {row['threshold']:.2f}  accuracy {row['accuracy']:.3f}  "
            f"in-scope fallback {row['in_scope_fallback']:.3f}  "
            f"oos handled {row['oos_handled']:.3f}"
        )
    print(f"{language.upper()} dev: hand-over head threshold sweep (churn rules always on)")
    for row in handoff:
        print(
            f"    {row['threshold']:.2f}  precision {row['precision']:.3f}  "
            f"recall {row['recall']:.3f}"
        )
