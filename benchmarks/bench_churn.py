"""Hand-over rule quality and churn-scoring latency: ``python -m benchmarks churn``.

1. Precision / recall of the escalation rule (``knowledge.scoring.churn.assess``, with the weights
   and thresholds of ``Settings``) on the labelled scripted conversations in
   ``benchmarks/data/churn_conversations.yml``: a conversation counts as escalated when the rule
   fires on any of its turns (each turn scored on the turns so far, as the bot does), plus a sweep
   of ``churn_threshold`` to show the trade-off.
2. The latency churn scoring adds to a user turn, as ``action_assess_handoff`` runs it: read the
   customer's knowledge-graph churn inputs from a migrated, seeded SQLite database and score the
   turns (median / p95 over many turns).
"""

from __future__ import annotations

import logging
import statistics
import tempfile
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any, Dict, List

import yaml

from knowledge.graph.queries import ChurnInputs
from knowledge.scoring.churn import ChurnConfig, Turn, assess
from knowledge.settings import Settings

logger = logging.getLogger(__name__)

DATA = Path(__file__).resolve().parent / "data" / "churn_conversations.yml"
THRESHOLDS = (0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.8)


def load(path: Path = DATA) -> List[Dict[str, Any]]:
    """The labelled conversations: ``{"id", "churn", "turns": [Turn], "inputs"}``."""
    conversations = []
    for raw in yaml.safe_load(path.read_text())["conversations"]:
        failed = set(raw.get("failed") or [])
        turns = []
        for number, line in enumerate(raw["turns"], start=1):
            intent, sentiment, text = (part.strip() for part in line.split("|", 2))
            label, confidence = sentiment.split()
            conf = float(confidence)
            score = -conf if label == "negative" else conf if label == "positive" else 0.0
            turns.append(Turn(text, intent, label, conf, score, number in failed))
        customer = raw.get("customer")
        inputs = None
        if customer:
            inputs = ChurnInputs(
                customer_id=0,
                messages=customer.get("messages", 0),
                negative_messages=customer.get("negative_messages", 0),
                negative_streak=0,
                mean_sentiment=None,
                late_orders=customer.get("late_orders", 0),
                problem_orders=customer.get("problem_orders", 0),
                open_returns=customer.get("open_returns", 0),
                escalations=customer.get("escalations", 0),
                orders=customer.get("orders", 3),
                spend=customer.get("spend", 100),
                days_since_last_order=None,
                days_since_last_contact=None,
            )
        conversations.append(
            {"id": raw["id"], "churn": bool(raw["churn"]), "turns": turns, "inputs": inputs}
        )
    return conversations


def escalates(conversation: Dict[str, Any], config: ChurnConfig) -> str | None:
    """The trigger of the first turn the rule hands over on, else ``None``."""
    turns = conversation["turns"]
    for end in range(1, len(turns) + 1):
        result = assess(turns[:end], conversation["inputs"], config)
        if result.trigger:
            return result.trigger
    return None


def evaluate(conversations: List[Dict[str, Any]], config: ChurnConfig) -> Dict[str, Any]:
    """Precision, recall, F1 and the misclassified conversations."""
    tp = fp = fn = 0
    errors = []
    for conversation in conversations:
        predicted = escalates(conversation, config) is not None
        if predicted and conversation["churn"]:
            tp += 1
        elif predicted:
            fp += 1
            errors.append(("false positive", conversation["id"]))
        elif conversation["churn"]:
            fn += 1
            errors.append(("missed", conversation["id"]))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "errors": errors}


def quality(settings: Settings) -> None:
    """Print the rule's precision/recall on the scripted set and the threshold sweep."""
    conversations = load()
    config = ChurnConfig.from_settings(settings)
    positives = sum(c["churn"] for c in conversations)
    print(f"scripted conversations: {len(conversations)} ({positives} churn-risk)")
    result = evaluate(conversations, config)
    print(
        f"rule at threshold {config.threshold:.2f}: precision {result['precision']:.3f}  "
        f"recall {result['recall']:.3f}  F1 {result['f1']:.3f}"
    )
    for kind, name in result["errors"]:
        print(f"  {kind}: {name}")
    triggers: Dict[str, int] = {}
    for conversation in conversations:
        trigger = escalates(conversation, config)
        if trigger:
            triggers[trigger] = triggers.get(trigger, 0) + 1
    print("hand-overs by trigger:", dict(sorted(triggers.items())))
    print("threshold sweep (other settings unchanged):")
    for threshold in THRESHOLDS:
        swept = evaluate(conversations, replace(config, threshold=threshold))
        print(
            f"  {threshold:.2f}: precision {swept['precision']:.3f} recall {swept['recall']:.3f} "
            f"F1 {swept['f1']:.3f}"
        )


def latency(settings: Settings, quick: bool) -> None:
    """Time churn inputs (database) + scoring per turn on a seeded SQLite database."""
    from knowledge.db import make_engine, make_session_factory
    from knowledge.graph.queries import churn_inputs
    from knowledge.migrate import upgrade
    from knowledge.shop.seed import seed

    conversations = load()
    config = ChurnConfig.from_settings(settings)
    now = datetime(2026, 11, 20, 12, 0, 0)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'shop.db'}"
        upgrade(url)
        engine = make_engine(url)
        factory = make_session_factory(engine)
        with factory() as session, session.begin():
            seed(
                session,
                seed_value=settings.seed,
                customers=100 if quick else 300,
                products=30,
                now=now,
            )
        rounds = 100 if quick else 400
        score_ms, total_ms = [], []
        for i in range(rounds):
            conversation = conversations[i % len(conversations)]
            start = time.perf_counter()
            with factory() as session:
                inputs = churn_inputs(session, 1 + i % 100, now)
            middle = time.perf_counter()
            assess(conversation["turns"], inputs, config)
            end = time.perf_counter()
            score_ms.append((end - middle) * 1000)
            total_ms.append((end - start) * 1000)
        engine.dispose()
    print(
        f"churn scoring per turn ({rounds} turns, SQLite): scoring only median "
        f"{statistics.median(score_ms):.3f} ms p95 {_p95(score_ms):.3f} ms; graph inputs + scoring "
        f"median {statistics.median(total_ms):.2f} ms p95 {_p95(total_ms):.2f} ms"
    )
    print("(plus one action-server round trip for action_assess_handoff; see the report)")


def _p95(values: List[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def run(args: Any) -> None:
    """Entry point of ``python -m benchmarks churn``."""
    print("(figures measured on a shared 2-core CPU box unless stated otherwise)")
    settings = Settings()
    quality(settings)
    latency(settings, bool(getattr(args, "quick", False)))
