"""The frozen shopper evaluation set (issue 17): unchanged, well labelled, and never trained on.

The training data is read at test time (not a snapshot), so whoever adds training examples that
repeat an evaluation or dev message (after normalising) fails here.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections import Counter
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

from benchmarks.bench_shoppers import (
    COLUMNS,
    LANGUAGES,
    SHOPPER_DATA,
    SPLITS,
    hands_over,
    precision_recall,
    predicted_intent,
    read_split,
    score_language,
)
from insight.analytics.training_export import ANNOTATION, normalise, yaml_examples
from knowledge.intents import INTENTS
from nlu.output_keys import DEMAND_ASPECTS, SENTIMENT_LABELS

REPO = Path(__file__).resolve().parents[2]
FROZEN = SHOPPER_DATA / "FROZEN.sha256"
# Where training examples live: Rasa NLU YAML, and the NLU's CSV files (text column).
TRAINING_YAML = ("bot/data/nlu/**/*.yml", "bot/data/nlu/**/*.yaml")
TRAINING_CSV = ("nlu/data/**/*.csv",)
MIN_ROWS = {("eval", "en"): 420, ("eval", "zh"): 210, ("dev", "en"): 160, ("dev", "zh"): 90}
MIN_PER_INTENT = {"en": 8, "zh": 4}
MIN_OUT_OF_SCOPE = {"en": 25, "zh": 12}
# Rasa entity annotations: [text](entity), [text](entity:value), [text]{"entity": ...}
HAN = re.compile(r"[\u4e00-\u9fff]")
FILES = [(split, language) for split in SPLITS for language in LANGUAGES]


def training_texts() -> Dict[str, str]:
    """Normalised training text -> the file it came from, read now."""
    found: Dict[str, str] = {}
    for pattern in TRAINING_YAML:
        for path in sorted(REPO.glob(pattern)):
            for text, _ in yaml_examples(path):
                found.setdefault(normalise(text), str(path.relative_to(REPO)))
    for pattern in TRAINING_CSV:
        for path in sorted(REPO.glob(pattern)):
            with path.open(encoding="utf-8", newline="") as handle:
                for row in csv.DictReader(handle):
                    if row.get("text"):
                        found.setdefault(normalise(row["text"]), str(path.relative_to(REPO)))
    return found


def raw_rows(split: str, language: str) -> Tuple[List[str], List[Dict[str, str]]]:
    """Header and rows of one file, as written."""
    with (SHOPPER_DATA / f"{split}_{language}.csv").open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def test_eval_files_are_frozen() -> None:
    expected = {}
    for line in FROZEN.read_text(encoding="utf-8").splitlines():
        digest, name = line.split()
        expected[name.lstrip("*")] = digest
    assert sorted(expected) == ["eval_en.csv", "eval_zh.csv"]
    readme = (SHOPPER_DATA / "README.md").read_text(encoding="utf-8")
    for name, digest in expected.items():
        actual = hashlib.sha256((SHOPPER_DATA / name).read_bytes()).hexdigest()
        assert actual == digest, f"{name} changed: the evaluation set is frozen (see README.md)"
        assert digest in readme, f"README.md does not give the sha256 of {name}"


@pytest.mark.parametrize("split,language", FILES)
def test_every_label_is_valid(split: str, language: str) -> None:
    header, rows = raw_rows(split, language)
    assert tuple(header) == COLUMNS
    bad = []
    for row in rows:
        text = row["text"]
        demands = [d for d in row["demands"].split(";") if d]
        if (
            not text.strip()
            or text != text.strip()
            or row["intent"] not in INTENTS
            or row["sentiment"] not in SENTIMENT_LABELS
            or not set(demands) <= set(DEMAND_ASPECTS)
            or len(demands) != len(set(demands))
            or row["handoff"] not in ("0", "1")
            or bool(HAN.search(text)) != (language == "zh")
        ):
            bad.append(row)
    assert bad == []
    texts = Counter(normalise(row["text"]) for row in rows)
    assert [t for t, n in texts.items() if n > 1] == []


@pytest.mark.parametrize("split,language", FILES)
def test_sizes_and_every_intent_covered(split: str, language: str) -> None:
    messages = read_split(split, language)
    assert len(messages) >= MIN_ROWS[(split, language)]
    per_intent = Counter(m.intent for m in messages)
    assert set(per_intent) == set(INTENTS)
    if split == "eval":
        thin = {i: n for i, n in per_intent.items() if n < MIN_PER_INTENT[language]}
        assert thin == {}
        assert per_intent["out_of_scope"] >= MIN_OUT_OF_SCOPE[language]


@pytest.mark.parametrize("split,language", FILES)
def test_both_handoff_answers_in_every_file(split: str, language: str) -> None:
    messages = read_split(split, language)
    share = sum(m.handoff for m in messages) / len(messages)
    assert 0.08 <= share <= 0.20, f"{split}_{language}: {share:.1%} should go to a person"
    # Every explicit request for a person goes to a person.
    assert all(m.handoff for m in messages if m.intent == "contact_human_agent")


def test_no_eval_or_dev_message_is_in_the_training_data() -> None:
    training = training_texts()
    assert len(training) > 1000, "training data not found: check TRAINING_YAML / TRAINING_CSV"
    leaked = [
        (f"{split}_{language}", m.text, training[normalise(m.text)])
        for split, language in FILES
        for m in read_split(split, language)
        if normalise(m.text) in training
    ]
    assert leaked == [], "evaluation messages found in training data; remove them from training"


def test_eval_and_dev_do_not_share_messages() -> None:
    for language in LANGUAGES:
        evaluation = {normalise(m.text) for m in read_split("eval", language)}
        dev = {normalise(m.text) for m in read_split("dev", language)}
        assert evaluation & dev == set()


def test_normalise_folds_case_punctuation_and_spacing() -> None:
    assert normalise("  Where IS my   order?? #1043 ") == "where is my order 1043"
    assert normalise("退款呢？") == normalise("退款呢") == "退款呢"
    assert ANNOTATION.sub(r"\1", 'track [1043](order_id) and [x]{"entity": "y"}') == (
        "track 1043 and x"
    )


def parse(intent: str, sentiment: str = "neutral", confidence: float = 0.9) -> Dict[str, object]:
    """A parse result as the NLU publishes it."""
    return {
        "intent": {"name": intent, "confidence": confidence},
        "sentiment": {"label": sentiment, "confidence": confidence, "scores": {}},
        "demands": [],
    }


def test_the_benchmark_scores_the_bots_real_handoff_decision() -> None:
    assert hands_over("can i talk to a person", parse("contact_human_agent"))
    assert not hands_over("where is my order 1043", parse("track_order"))
    learned = {**parse("track_order"), "handoff": {"label": True, "confidence": 0.8}}
    assert hands_over("where is my order 1043", learned)
    assert predicted_intent(parse("nlu_fallback")) == "out_of_scope"
    assert precision_recall([True, True, False, False], [True, False, True, False]) == (0.5, 0.5)


def test_language_figures_from_parses() -> None:
    messages = read_split("dev", "en")
    perfect = [
        {
            **parse(m.intent, m.sentiment),
            "demands": [{"aspect": d} for d in m.demands],
            "handoff": {"label": m.handoff, "confidence": 0.9},
        }
        for m in messages
    ]
    figures = score_language(messages, perfect)
    assert figures["intent_accuracy"] == figures["intent_macro_f1"] == 1.0
    assert figures["sentiment_macro_f1"] == figures["demand_micro_f1"] == 1.0
    assert figures["in_scope_fallback"] == 0.0 and figures["oos_handled"] == 1.0
    assert figures["handoff_recall"] == 1.0
    fallen = [parse("nlu_fallback") for _ in messages]
    figures = score_language(messages, fallen)
    assert figures["in_scope_fallback"] == 1.0 and figures["oos_handled"] == 1.0
