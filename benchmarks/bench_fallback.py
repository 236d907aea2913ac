"""How often the trained bot's NLU falls back on shoppers' free messages (both languages).

``python -m benchmarks fallback`` loads the newest model in ``models/`` (``make train``) and
parses, one at a time through ``Agent.parse_message``, the held-out chat statements
(``nlu/data/chat_heldout.csv``, ``nlu/data/zh/chat_heldout.csv``) and the held-out FAQ
paraphrases (``benchmarks/data/faq_paraphrases.csv`` test split, ``faq_paraphrases_zh.csv``);
it prints the share predicted ``nlu_fallback`` (below config.yml's FallbackClassifier threshold),
then the share whose top intent confidence falls below each threshold of a sweep (confidence
only, as in the other benchmarks' sweeps; the ambiguity rule is left out).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict, List

from benchmarks.bench_nlu import top_intent
from benchmarks.datasets import read_csv
from benchmarks.trained import latest_model, parse_groups

logger = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[1]
FALLBACK_INTENT = "nlu_fallback"
SWEEP_THRESHOLDS = (0.20, 0.25, 0.30, 0.35, 0.40, 0.45, 0.50, 0.55)


def message_sets() -> Dict[str, List[str]]:
    """Held-out shopper messages per set name."""
    data = REPO / "benchmarks" / "data"
    return {
        "EN chat statements": [r["text"] for r in read_csv(REPO / "nlu/data/chat_heldout.csv")],
        "ZH chat statements": [r["text"] for r in read_csv(REPO / "nlu/data/zh/chat_heldout.csv")],
        "EN FAQ paraphrases (test)": [
            r["query"] for r in read_csv(data / "faq_paraphrases.csv") if r["split"] == "test"
        ],
        "ZH FAQ paraphrases": [r["query"] for r in read_csv(data / "faq_paraphrases_zh.csv")],
    }


def run(args: Any) -> None:
    """Print the fallback share of every set."""
    model = latest_model()
    if model is None:
        print("SKIP bench_fallback: no trained model in models/ (run make train)")
        return
    print(f"model {model.name}")
    sets = message_sets()
    confidences: Dict[str, List[float]] = {}
    for name, parses in parse_groups(model, sets).items():
        texts = sets[name]
        fallen = sum(p["intent"]["name"] == FALLBACK_INTENT for p in parses)
        print(f"{name:28} {fallen:4}/{len(texts):<4} fall back = {fallen / len(texts):.1%}")
        confidences[name] = [top_intent(p)[1] for p in parses]
    print_sweep(confidences)


def print_sweep(confidences: Dict[str, List[float]]) -> None:
    """Share of each set whose top intent confidence is below each sweep threshold."""
    names = list(confidences)
    print("threshold  " + "  ".join(f"{name:>26}" for name in names))
    for threshold in SWEEP_THRESHOLDS:
        shares = [
            sum(c < threshold for c in values) / max(len(values), 1)
            for values in confidences.values()
        ]
        print(f"{threshold:9.2f}  " + "  ".join(f"{share:26.1%}" for share in shares))
