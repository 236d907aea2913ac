"""Classification metrics for evaluation and benchmarks: pure Python/numpy, no heavy imports."""

from __future__ import annotations

import logging
from collections import Counter
from typing import Dict, Hashable, List, Sequence, Set, Tuple

logger = logging.getLogger(__name__)


def per_class_report(
    gold: Sequence[Hashable], predicted: Sequence[Hashable]
) -> Dict[str, Dict[str, float]]:
    """Precision, recall, F1 and support per gold/predicted class, plus `macro` and `accuracy`.

    Macro averages run over the classes present in `gold` (a class only ever predicted still
    gets its own row but does not dilute the macro average).
    """
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold labels but {len(predicted)} predictions")
    classes = sorted({str(g) for g in gold} | {str(p) for p in predicted})
    pairs = [(str(g), str(p)) for g, p in zip(gold, predicted, strict=False)]
    report: Dict[str, Dict[str, float]] = {}
    for name in classes:
        tp = sum(1 for g, p in pairs if g == name and p == name)
        fp = sum(1 for g, p in pairs if g != name and p == name)
        fn = sum(1 for g, p in pairs if g == name and p != name)
        report[name] = _prf(tp, fp, fn)
    gold_classes = sorted({str(g) for g in gold})
    report["macro"] = {
        key: (
            sum(report[c][key] for c in gold_classes) / len(gold_classes) if gold_classes else 0.0
        )
        for key in ("precision", "recall", "f1")
    }
    report["macro"]["support"] = float(len(pairs))
    accuracy = sum(1 for g, p in pairs if g == p) / len(pairs) if pairs else 0.0
    report["accuracy"] = {"accuracy": accuracy, "support": float(len(pairs))}
    return report


def macro_f1(gold: Sequence[Hashable], predicted: Sequence[Hashable]) -> float:
    """Macro-averaged F1 over the classes present in `gold`."""
    return per_class_report(gold, predicted)["macro"]["f1"]


def top_confusions(
    gold: Sequence[Hashable], predicted: Sequence[Hashable], n: int = 10
) -> List[Tuple[str, str, int]]:
    """The `n` most frequent (gold, predicted) pairs with gold != predicted."""
    counts = Counter((str(g), str(p)) for g, p in zip(gold, predicted, strict=False) if g != p)
    return [(g, p, c) for (g, p), c in counts.most_common(n)]


def multilabel_report(
    gold: Sequence[Set[str]], predicted: Sequence[Set[str]]
) -> Dict[str, Dict[str, float]]:
    """Per-label precision/recall/F1 for sets of labels, plus `micro` and `macro` rows."""
    labels = sorted(set().union(*gold, *predicted)) if gold else []
    report: Dict[str, Dict[str, float]] = {}
    total_tp = total_fp = total_fn = 0
    for label in labels:
        tp = sum(1 for g, p in zip(gold, predicted, strict=False) if label in g and label in p)
        fp = sum(1 for g, p in zip(gold, predicted, strict=False) if label not in g and label in p)
        fn = sum(1 for g, p in zip(gold, predicted, strict=False) if label in g and label not in p)
        report[label] = _prf(tp, fp, fn)
        total_tp, total_fp, total_fn = total_tp + tp, total_fp + fp, total_fn + fn
    report["micro"] = _prf(total_tp, total_fp, total_fn)
    gold_labels = sorted(set().union(*gold)) if gold else []
    report["macro"] = {
        key: (sum(report[c][key] for c in gold_labels) / len(gold_labels) if gold_labels else 0.0)
        for key in ("precision", "recall", "f1")
    }
    exact = sum(1 for g, p in zip(gold, predicted, strict=False) if set(g) == set(p))
    report["exact_match"] = {"accuracy": exact / len(gold) if gold else 0.0}
    return report


def _prf(tp: int, fp: int, fn: int) -> Dict[str, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "support": float(tp + fn)}
