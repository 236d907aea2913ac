"""The hand-over head, hand-written examples kept over sampled ones, and noisy training copies."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path
from typing import Any, Dict

import pytest
from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu.augmentation import (
    EN_ANGRY,
    ZH_ANGRY,
    add_typos,
    augment,
    chat_style,
    noisy_variant,
    strip_punctuation,
    with_anger,
)
from nlu.intent_sentiment_classifier import IntentSentimentClassifier
from nlu.output_keys import HANDOFF
from nlu.task_data import TrainingDataError, cap_per_intent, read_task_csv
from tests.nlu.test_intent_sentiment_classifier import (
    INTENT_EXAMPLES,
    TASK_ROWS,
    context,  # noqa: F401 (fixture)
    load,
    storage,  # noqa: F401 (fixture)
    training_data,
)

HANDOFF_ROWS = [
    ("get me a human now this is useless", 1),
    ("i want to talk to a person immediately", 1),
    ("i am closing my account and never ordering again", 1),
    ("this is the third time i ask, let me talk to support", 1),
    ("nobody answers, i will report you", 1),
    ("i want a real person not a bot", 1),
    ("where is my order", 0),
    ("hello", 0),
    ("thanks great support", 0),
    ("how can i return the shoes", 0),
    ("the price is terrible", 0),
    ("track my parcel please", 0),
]


@pytest.fixture()
def handoff_config(tiny_bert_dir: Path, tmp_path: Path) -> Dict[str, Any]:
    """Tiny-BERT settings with a sentiment/demand CSV and a hand-over CSV."""
    task = tmp_path / "task.csv"
    with task.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "sentiment", "demands"])
        writer.writerows(TASK_ROWS)
    handoff = tmp_path / "handoff.csv"
    with handoff.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "language", "handoff"])
        writer.writerows([(text, "en", label) for text, label in HANDOFF_ROWS * 2])
    return {
        "model_path": str(tiny_bert_dir),
        "device": "cpu",
        "epochs": 4,
        "batch_size": 8,
        "learning_rate": 5e-3,
        "head_learning_rate": 1e-2,
        "max_seq_length": 32,
        "validation_fraction": 0.2,
        "early_stopping_patience": 5,
        "freeze_embeddings": False,
        "task_data": [str(task), str(handoff)],
        "show_progress": False,
        "augment_fraction": 0.5,
    }


def test_handoff_head_is_trained_persisted_and_published(
    handoff_config: Dict[str, Any],
    storage: LocalModelStorage,  # noqa: F811
    context: ExecutionContext,  # noqa: F811
) -> None:
    resource = Resource("with_handoff")
    IntentSentimentClassifier.create(handoff_config, storage, resource, context).train(
        training_data()
    )
    with storage.read_from(resource) as directory:
        meta = json.loads((directory / "labels.json").read_text(encoding="utf-8"))
    assert 0 < meta["handoff_threshold"] < 1
    component = load(handoff_config, storage, resource, context)
    assert "handoff" in component.model.head_sizes
    messages = component.process(
        [Message({TEXT: "get me a human now this is useless"}), Message({TEXT: "hello"})]
    )
    for message in messages:
        result = message.get(HANDOFF)
        assert set(result) == {"label", "confidence"}
        assert isinstance(result["label"], bool)
        assert 0.0 <= result["confidence"] <= 1.0
        assert result["label"] == (result["confidence"] >= meta["handoff_threshold"])
        assert message.get(INTENT)["name"] in INTENT_EXAMPLES
    # What the head learned shows in its confidences on its own training texts.
    angry, calm = (m.get(HANDOFF)["confidence"] for m in messages)
    assert angry > calm


def test_a_model_without_handoff_labels_publishes_no_handoff(
    handoff_config: Dict[str, Any],
    storage: LocalModelStorage,  # noqa: F811
    context: ExecutionContext,  # noqa: F811
) -> None:
    config = {**handoff_config, "task_data": handoff_config["task_data"][:1]}
    resource = Resource("without_handoff")
    IntentSentimentClassifier.create(config, storage, resource, context).train(training_data())
    component = load(config, storage, resource, context)
    assert "handoff" not in component.model.head_sizes
    message = component.process([Message({TEXT: "get me a human"})])[0]
    assert message.get(HANDOFF) is None


def test_handoff_column_must_be_one_or_zero(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("text,handoff\nget me a human,maybe\n", encoding="utf-8")
    with pytest.raises(TrainingDataError, match="handoff 'maybe'"):
        read_task_csv(path)
    path.write_text("text,handoff\nget me a human,1\nhello,\nhi,0\n", encoding="utf-8")
    assert [row.handoff for row in read_task_csv(path)] == [1, None, 0]


def test_hand_written_examples_are_kept_when_sampled_ones_are_capped() -> None:
    sampled = [(f"bitext question {i}", "track_order") for i in range(50)]
    written = [(f"my parcel never came {i}", "track_order") for i in range(8)]
    kept = cap_per_intent(sampled + written, 10, seed=1, always_keep=written)
    assert len(kept) == 10
    assert set(written) <= set(kept)
    # More hand-written examples than the cap: all of them, and no sampled ones.
    many = [(f"where is it {i}", "track_order") for i in range(12)]
    assert set(cap_per_intent(sampled + many, 10, seed=1, always_keep=many)) == set(many)


def test_training_keeps_every_hand_written_example(
    handoff_config: Dict[str, Any],
    storage: LocalModelStorage,  # noqa: F811
    context: ExecutionContext,  # noqa: F811
) -> None:
    """Examples from intent items marked `source: bitext` are the only ones sampled down."""
    messages = [
        Message.build(
            f"bitext track question {i}", "track_order", intent_metadata={"source": "bitext"}
        )
        for i in range(30)
    ]
    messages += [
        Message.build(f"bitext greeting {i}", "greet", intent_metadata={"source": "bitext"})
        for i in range(30)
    ]
    written = ["my parcel never showed up", "still nothing??", "where is it"]
    messages += [Message.build(text, "track_order") for text in written]
    rows, hand_written = IntentSentimentClassifier._intent_rows(TrainingData(messages))
    assert len(rows) == 63
    assert hand_written == {(text, "track_order") for text in written}


def test_noise_keeps_digits_and_is_repeatable() -> None:
    text = "Where is my order #1043? It's been two weeks, please check."
    for seed in range(30):
        variant = noisy_variant(text, random.Random(seed))
        assert variant != text
        assert "1043" in variant
        assert variant == noisy_variant(text, random.Random(seed))


def test_noise_primitives() -> None:
    assert strip_punctuation("Where is it?! #1043, now.") == "Where is it #1043 now"
    assert chat_style("I'm Waiting, FOR order 12!", random.Random(0)) == "im waiting for order 12"
    typo = add_typos("cancel the order", random.Random(3), rate=1.0)
    assert typo != "cancel the order" and len(typo.split()) == 3
    assert strip_punctuation("我的订单到哪了？") == "我的订单到哪了"


def test_augment_adds_new_texts_with_their_intents_only() -> None:
    rows = [(f"please cancel my order number {i} today", "cancel_order") for i in range(40)]
    rows += [("where is my parcel it is very late", "track_order")]
    extra = augment(rows, 0.5, seed=7)
    assert 5 < len(extra) < 40
    originals = {text for text, _ in rows}
    assert all(text not in originals for text, _ in extra)
    assert {intent for _, intent in extra} <= {"cancel_order", "track_order"}
    assert augment(rows, 0.5, seed=7) == extra
    assert augment(rows, 0.0, seed=7) == []


def test_angry_clauses_go_only_to_the_named_intents() -> None:
    rows = [(f"please cancel my order number {i} today", "cancel_order") for i in range(60)]
    rows += [(f"thanks a lot for the help number {i}", "thank") for i in range(60)]
    rows += [(f"帮我取消订单{i}", "cancel_order") for i in range(30)]
    extra = augment(rows, 1.0, seed=3, angry_intents={"cancel_order"})
    angry = [(t, i) for t, i in extra if any(c in t for c in (*EN_ANGRY, *ZH_ANGRY))]
    assert angry and {intent for _, intent in angry} == {"cancel_order"}
    assert 0.25 < len(angry) / 90 < 0.75  # about ANGRY_SHARE of the copies
    assert any(any(c in t for c in ZH_ANGRY) for t, _ in angry)  # Chinese gets Chinese anger
    assert augment(rows, 1.0, seed=3) != extra  # without angry intents: no anger at all
    assert not any(c in t for t, _ in augment(rows, 1.0, seed=3) for c in EN_ANGRY)


def test_with_anger_keeps_the_request() -> None:
    for seed in range(10):
        text = with_anger("cancel order 1043", random.Random(seed))
        assert "cancel order 1043" in text and text != "cancel order 1043"
        assert "取消订单" in with_anger("取消订单", random.Random(seed))
