"""Integration: fine-tune the real bundled all-MiniLM-L6-v2 inside the component (slow)."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu.intent_sentiment_classifier import IntentSentimentClassifier
from nlu.output_keys import DEMANDS, SENTIMENT

TRAIN = {
    "track_order": [
        "where is my order",
        "track my parcel",
        "when will my package arrive",
        "has my order shipped yet",
        "I want to track order 12345",
        "status of my delivery",
    ],
    "get_refund": [
        "I want my money back",
        "how do I get a refund",
        "refund my purchase please",
        "can I be reimbursed",
        "I need a refund for my order",
        "give me a refund",
    ],
    "greet": ["hello", "hi there", "good morning", "hey", "hi", "good evening"],
    "recover_password": [
        "I forgot my password",
        "reset my password",
        "can't remember my password",
        "help me recover my password",
        "password reset please",
        "I lost my password",
    ],
}
TEST = {
    "track_order": ["where is my parcel", "track my order please"],
    "get_refund": ["I want a refund", "give me my money back"],
    "greet": ["hello there", "hey hi"],
    "recover_password": ["I forgot the password", "reset password"],
}


@pytest.mark.slow
def test_real_encoder_learns_intents_and_sentiment(tmp_path: Path) -> None:
    storage_dir = tmp_path / "storage"
    storage_dir.mkdir()
    storage = LocalModelStorage(storage_dir)
    context = ExecutionContext(GraphSchema({}), "slow")
    config = {
        "epochs": 2,
        "batch_size": 16,
        "device": "cpu",
        "head_learning_rate": 5e-3,
        "validation_fraction": 0.0,
        "task_data": ["data/chat_messages.csv"],
        "show_progress": False,
    }
    resource = Resource("real")
    component = IntentSentimentClassifier.create(config, storage, resource, context)
    component.train(
        TrainingData([Message.build(t, i) for i, texts in TRAIN.items() for t in texts])
    )
    loaded = IntentSentimentClassifier.load(config, storage, resource, context)
    texts = [t for ts in TEST.values() for t in ts]
    gold = [i for i, ts in TEST.items() for _ in ts]
    messages = loaded.process([Message({TEXT: t}) for t in texts])
    hits = sum(m.get(INTENT)["name"] == g for m, g in zip(messages, gold, strict=True))
    accuracy = hits / len(gold)
    assert accuracy >= 0.75, [(m.get(TEXT), m.get(INTENT)) for m in messages]

    angry, happy = loaded.process(
        [
            Message({TEXT: "my parcel is 2 weeks late and nobody answers"}),
            Message({TEXT: "thank you so much, have a great day"}),
        ]
    )
    assert angry.get(SENTIMENT)["label"] == "negative"
    assert happy.get(SENTIMENT)["label"] == "positive"
    assert isinstance(angry.get(DEMANDS), list)
