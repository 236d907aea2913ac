"""Does the NLU inbox teach the bot? One simulated round of corrections (issue 20 item 3).

``python -m benchmarks loop``:

1. parses the DEV split of the shopper set (``benchmarks/data/shoppers/dev_{en,zh}.csv``; never
   the frozen ``eval_*``) with the current model (``BENCH_MODEL`` or the newest in ``models/``) and
   keeps the messages it misreads (intent not the gold one; ``nlu_fallback`` = ``out_of_scope``);
2. splits them per gold intent, alternately, into a half to correct and a half held back;
3. stores the first half as supervisor corrections in a temporary SQLite database (the inbox's
   table, ``insight.analytics.corrections.record``) and exports them with the inbox's export path
   (``insight.analytics.training_export.export_corrections``) to a temporary NLU file; only the
   frozen eval texts are excluded here, since the dev texts are the point of the simulation;
4. trains an NLU model on ``bot/data/nlu`` plus that file into a temporary folder
   (``rasa train nlu``, same ``config.yml``; slow: minutes of CPU);
5. prints intent accuracy on the held-back half before and after, and the frozen eval figures
   (``bench_shoppers.score_language``) before and after.

The pool of messages (``BENCH_LOOP_POOL``, comma-separated; default ``dev,bitext2020``): the
shopper dev split, and a seeded sample of ``BENCH_LOOP_POOL_SIZE`` (3,000) rows of Bitext's 2020
release flagged colloquial, noisy or offensive (flags Q, Z, W; never used in training: the bot
trains on the 2023 release; rows whose normalised text is a training example are dropped). The
dev split alone misreads too few messages (15 held back on 2026-12-04) for a gain to mean much.

``BENCH_LOOP_CONTROL=1`` also trains a control model without the corrections (same data and
config, trained now), since the "before" model may be older than today's data.
Target: +15 points on the held-back half, no drop in eval intent accuracy. Nothing is written to
``bot/data`` or ``var/``. ``--json PATH`` writes the figures.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

from benchmarks.bench_shoppers import (
    LANGUAGES,
    REPO,
    ShopperMessage,
    predicted_intent,
    read_split,
    score_language,
)

logger = logging.getLogger(__name__)

TARGET_GAIN = 0.15
# =1: also train a control model on the same data without the corrections (twice the time), so
# that a change of data or config since the "before" model was trained is not read as the loop's.
CONTROL_ENV = "BENCH_LOOP_CONTROL"
AGENT_NAME = "loop benchmark"


POOL_ENV = "BENCH_LOOP_POOL"
POOL_SIZE_ENV = "BENCH_LOOP_POOL_SIZE"
DEFAULT_POOL = "dev,bitext2020"
BITEXT_2020 = Path("bitext_customer_support_2020") / "utterances.csv"
# Bitext's variation flags for chat-like rows: Q colloquial, Z noise (typos), W offensive.
CHAT_FLAGS = frozenset("QZW")
POOL_SEED = 20261205


def bitext_2020_pool(size: int, intents: Sequence[str]) -> List[Tuple[str, ShopperMessage]]:
    """A seeded sample of chat-like Bitext 2020 rows of the bot's intents, none a training text."""
    import random

    from benchmarks.datasets import read_csv, shared_data_dir
    from insight.analytics.training_export import normalise, training_intents

    shared = shared_data_dir()
    path = None if shared is None else shared / BITEXT_2020
    if path is None or not path.is_file():
        print(f"SKIP the Bitext 2020 pool: {BITEXT_2020} not in the shared data folder")
        return []
    trained = training_intents(REPO / "bot" / "data" / "nlu")
    known = set(intents)
    rows = [
        r
        for r in read_csv(path)
        if r["intent"] in known
        and CHAT_FLAGS & set(r["flags"])
        and normalise(r["utterance"]) not in trained
    ]
    sample = random.Random(POOL_SEED).sample(rows, min(size, len(rows)))
    return [
        ("en", ShopperMessage(r["utterance"], r["intent"], "neutral", frozenset(), False))
        for r in sample
    ]


def message_pool(model_intents: Sequence[str]) -> List[Tuple[str, ShopperMessage]]:
    """The (language, message) pool named by ``BENCH_LOOP_POOL``."""
    names = [n.strip() for n in os.environ.get(POOL_ENV, DEFAULT_POOL).split(",") if n.strip()]
    unknown = set(names) - {"dev", "bitext2020"}
    if unknown:
        raise SystemExit(f"{POOL_ENV}: unknown pool {sorted(unknown)} (dev, bitext2020)")
    pool: List[Tuple[str, ShopperMessage]] = []
    if "dev" in names:
        pool += [(lang, m) for lang in LANGUAGES for m in read_split("dev", lang)]
    if "bitext2020" in names:
        pool += bitext_2020_pool(int(os.environ.get(POOL_SIZE_ENV, "3000")), model_intents)
    return pool


def misreads(
    messages: Sequence[Tuple[str, ShopperMessage]], parses: Sequence[Dict[str, Any]]
) -> List[Tuple[str, ShopperMessage]]:
    """The (language, message) pairs whose predicted intent is not the gold one."""
    return [
        (language, m)
        for (language, m), p in zip(messages, parses, strict=True)
        if predicted_intent(p) != m.intent
    ]


def split_halves(
    rows: Sequence[Tuple[str, ShopperMessage]],
) -> Tuple[List[Tuple[str, ShopperMessage]], List[Tuple[str, ShopperMessage]]]:
    """Alternate per (language, gold intent): first, third, ... to correct; the others held back."""
    by_intent: Dict[Tuple[str, str], List[Tuple[str, ShopperMessage]]] = defaultdict(list)
    for language, m in rows:
        by_intent[(language, m.intent)].append((language, m))
    corrected: List[Tuple[str, ShopperMessage]] = []
    held: List[Tuple[str, ShopperMessage]] = []
    turn = 0
    for key in sorted(by_intent):
        for item in sorted(by_intent[key], key=lambda lm: lm[1].text):
            (corrected if turn % 2 == 0 else held).append(item)
            turn += 1
    return corrected, held


def export_through_inbox(rows: Sequence[Tuple[str, ShopperMessage]], folder: Path) -> Path:
    """Store ``rows`` as corrections in a temp DB and export them as the inbox does."""
    from insight.analytics.corrections import Verdict, all_corrections, record
    from insight.analytics.training_export import EVAL_FILES, export_corrections, held_out_texts
    from knowledge.db import make_engine, make_session_factory
    from knowledge.migrate import upgrade

    url = f"sqlite:///{folder / 'corrections.db'}"
    upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    start = datetime(2026, 12, 4, 12, 0, 0)
    try:
        with factory() as session, session.begin():
            for i, (language, m) in enumerate(rows):
                verdict = Verdict(f"loop-{i}", m.text, language, None, m.intent)
                record(session, verdict, None, AGENT_NAME, start + timedelta(seconds=i))
        with factory() as session:
            path = folder / "nlu" / "corrections.yml"
            report = export_corrections(
                all_corrections(session), path, held_out=held_out_texts(EVAL_FILES)
            )
    finally:
        engine.dispose()
    for line in report.lines():
        print(line)
    return path


def train_with(corrections: Path | None, folder: Path) -> Path:
    """``rasa train nlu`` on bot/data/nlu plus ``corrections`` (if any) into ``folder``."""
    data = folder / "nlu"
    shutil.copytree(REPO / "bot" / "data" / "nlu", data, dirs_exist_ok=True)
    if corrections is not None:
        shutil.copy(corrections, data / "corrections.yml")
    command = [
        sys.executable, "-m", "rasa", "train", "nlu",
        "--nlu", str(data), "--config", str(REPO / "config.yml"),
        "--domain", str(REPO / "bot" / "domain"), "--out", str(folder / "models"),
        "--fixed-model-name", "loop",
    ]  # fmt: skip
    print("training:", " ".join(command), flush=True)
    start = time.perf_counter()
    subprocess.run(command, cwd=REPO, check=True)
    print(f"trained in {time.perf_counter() - start:.0f}s", flush=True)
    return folder / "models" / "loop.tar.gz"


def accuracy(rows: Sequence[Tuple[str, ShopperMessage]], parses: Sequence[Dict[str, Any]]) -> float:
    """Share of ``rows`` whose predicted intent is the gold one."""
    hits = sum(predicted_intent(p) == m.intent for (_, m), p in zip(rows, parses, strict=True))
    return hits / max(len(rows), 1)


def parse_sets(model: Path, held: Sequence[Tuple[str, ShopperMessage]]) -> Dict[str, List[Any]]:
    """Parses of the held-back half and of the frozen eval set per language, one agent load."""
    from benchmarks.trained import parse_groups

    groups = {"held": [m.text for _, m in held]}
    groups.update(
        {f"eval_{lang}": [m.text for m in read_split("eval", lang)] for lang in LANGUAGES}
    )
    return parse_groups(model, groups)


def run(args: Any) -> None:
    """Simulate one round of inbox corrections and print before/after figures."""
    from benchmarks.trained import latest_model, parse_groups

    model = latest_model()
    if model is None:
        print("SKIP bench_loop: no trained model in models/ (run make train)")
        return
    intents = sorted({m.intent for lang in LANGUAGES for m in read_split("dev", lang)})
    pool = message_pool(intents)
    print(f"before: model {model.name}; pool of {len(pool)} messages")
    pool_parses = parse_groups(model, {"pool": [m.text for _, m in pool]})["pool"]
    wrong = misreads(pool, pool_parses)
    corrected, held = split_halves(wrong)
    print(f"misread {len(wrong)}: {len(corrected)} corrected, {len(held)} held back")
    before = parse_sets(model, held)
    with tempfile.TemporaryDirectory(prefix="bench-loop-") as tmp:
        folder = Path(tmp)
        corrections = export_through_inbox(corrected, folder / "export")
        after_model = train_with(corrections, folder / "train")
        after = parse_sets(after_model, held)
        control = None
        if os.environ.get(CONTROL_ENV) == "1":
            control = parse_sets(train_with(None, folder / "control"), held)
    figures: Dict[str, Any] = {
        "model_before": model.name,
        "pool": len(pool),
        "misread": len(wrong),
        "corrected": len(corrected),
        "held_back": len(held),
        "held_accuracy_before": accuracy(held, before["held"]),
        "held_accuracy_after": accuracy(held, after["held"]),
    }
    for lang in LANGUAGES:
        rows = read_split("eval", lang)
        for name, parses in (("before", before), ("after", after)):
            scored = score_language(rows, parses[f"eval_{lang}"])
            figures[f"eval_{lang}_accuracy_{name}"] = scored["intent_accuracy"]
            figures[f"eval_{lang}_macro_f1_{name}"] = scored["intent_macro_f1"]
    if control is not None:
        figures["held_accuracy_control"] = accuracy(held, control["held"])
        for lang in LANGUAGES:
            scored = score_language(read_split("eval", lang), control[f"eval_{lang}"])
            figures[f"eval_{lang}_accuracy_control"] = scored["intent_accuracy"]
        print(
            "control (same data and config, no corrections, trained now): held-back "
            f"{figures['held_accuracy_control']:.1%}, eval en "
            f"{figures['eval_en_accuracy_control']:.1%}, "
            f"zh {figures['eval_zh_accuracy_control']:.1%}"
        )
    gain = figures["held_accuracy_after"] - figures["held_accuracy_before"]
    print(
        f"held-back misreads ({len(held)}): accuracy {figures['held_accuracy_before']:.1%} -> "
        f"{figures['held_accuracy_after']:.1%} ({gain * 100:+.1f} points; target +15)"
    )
    drops = []
    for lang in LANGUAGES:
        b, a = figures[f"eval_{lang}_accuracy_before"], figures[f"eval_{lang}_accuracy_after"]
        fb, fa = figures[f"eval_{lang}_macro_f1_before"], figures[f"eval_{lang}_macro_f1_after"]
        print(
            f"frozen eval {lang}: intent accuracy {b:.1%} -> {a:.1%}, macro-F1 {fb:.3f} -> {fa:.3f}"
        )
        drops.append(a < b)
    print(f"    {'PASS' if gain >= TARGET_GAIN else 'FAIL'}  held-back gain >= 15 points")
    if control is not None:
        net = figures["held_accuracy_after"] - figures["held_accuracy_control"]
        verdict = "PASS" if net >= TARGET_GAIN else "FAIL"
        print(f"    {verdict}  held-back gain over the control >= 15 points ({net * 100:+.1f})")
    print(f"    {'FAIL' if any(drops) else 'PASS'}  no drop in frozen eval intent accuracy")
    path = getattr(args, "json", None)
    if path:
        Path(path).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
        print(f"figures written to {path}")
