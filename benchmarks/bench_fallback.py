"""How often the trained bot's NLU falls back on shoppers' free messages (both languages).

``python -m benchmarks fallback`` loads the newest model in ``models/`` (``make train``) and
parses, one at a time through ``Agent.parse_message``, the held-out chat statements
(``nlu/data/chat_heldout.csv``, ``nlu/data/zh/chat_heldout.csv``) and the held-out FAQ
paraphrases (``benchmarks/data/faq_paraphrases.csv`` test split, ``faq_paraphrases_zh.csv``);
it prints the share predicted ``nlu_fallback`` (below config.yml's FallbackClassifier threshold).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict, List

from benchmarks.bench_nlu import parse_all
from benchmarks.datasets import read_csv

logger = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[1]
FALLBACK_INTENT = "nlu_fallback"


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
    from knowledge.settings import get_settings

    models = sorted(Path(get_settings().models_dir).glob("*.tar.gz"))
    if not models:
        print("SKIP bench_fallback: no trained model in models/ (run make train)")
        return
    print(f"model {models[-1].name}")
    for name, texts in message_sets().items():
        parses, _ = parse_all(models[-1], texts)
        fallen = sum(p["intent"]["name"] == FALLBACK_INTENT for p in parses)
        print(f"{name:28} {fallen:4}/{len(texts):<4} fall back = {fallen / len(texts):.1%}")
