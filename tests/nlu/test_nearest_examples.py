"""The nearest-example vote (nlu/nearest_examples.py) and its use by the NLU component."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from nlu.intent_sentiment_classifier import IntentSentimentClassifier
from nlu.nearest_examples import MEMORY_FILE, ExampleMemory, blend
from tests.nlu.conftest import INTENT_EXAMPLES
from tests.nlu.test_intent_sentiment_classifier import (  # noqa: F401 (fixtures)
    config,
    context,
    storage,
    task_csv,
    training_data,
)


def test_vote_goes_to_the_nearest_examples_intent() -> None:
    memory = ExampleMemory.build(
        np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]]), [0, 0, 1, 1]
    )
    votes = memory.vote(np.array([[2.0, 0.1], [0.0, 3.0]]), n_labels=3, k=2, temperature=0.05)
    assert votes.shape == (2, 3)
    assert votes.sum(axis=1) == pytest.approx([1.0, 1.0])
    assert votes[0].argmax() == 0 and votes[1].argmax() == 1
    assert votes[:, 2] == pytest.approx([0.0, 0.0])  # no example of label 2


def test_low_temperature_trusts_the_closest_example_more() -> None:
    memory = ExampleMemory.build(np.array([[1.0, 0.0], [0.6, 0.8]]), [0, 1])
    query = np.array([[0.9, 0.3]])
    sharp = memory.vote(query, 2, k=2, temperature=0.01)
    soft = memory.vote(query, 2, k=2, temperature=10.0)
    assert sharp[0, 0] > soft[0, 0] > 0.5


def test_k_larger_than_the_memory_and_empty_inputs() -> None:
    memory = ExampleMemory.build(np.array([[1.0, 0.0]]), [1])
    assert memory.vote(np.array([[1.0, 1.0]]), 2, k=50, temperature=0.1)[0].tolist() == [0, 1]
    assert memory.vote(np.zeros((0, 2)), 2, k=3, temperature=0.1).shape == (0, 2)
    empty = ExampleMemory.build(np.zeros((0, 2)), [])
    assert empty.vote(np.array([[1.0, 0.0]]), 2, k=3, temperature=0.1).tolist() == [[0, 0]]


def test_build_refuses_mismatched_labels() -> None:
    with pytest.raises(ValueError, match="2 embeddings but 1 labels"):
        ExampleMemory.build(np.ones((2, 3)), [0])


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    memory = ExampleMemory.build(np.array([[3.0, 4.0], [0.0, 2.0]]), [4, 7])
    memory.save(tmp_path)
    loaded = ExampleMemory.load(tmp_path)
    assert loaded is not None
    assert loaded.labels.tolist() == [4, 7]
    assert loaded.embeddings == pytest.approx(np.array([[0.6, 0.8], [0.0, 1.0]]), abs=1e-3)
    assert ExampleMemory.load(tmp_path / "missing") is None


def test_blend_weights_head_and_vote() -> None:
    head, vote = np.array([[0.8, 0.2]]), np.array([[0.0, 1.0]])
    assert blend(head, vote, 0.0) is head
    assert blend(head, vote, 0.25)[0] == pytest.approx([0.6, 0.4])
    assert blend(head, vote, 1.0)[0] == pytest.approx([0.0, 1.0])


def test_component_stores_the_memory_and_training_texts_vote_for_their_intent(
    config: Dict[str, Any],  # noqa: F811
    storage: LocalModelStorage,  # noqa: F811
    context: ExecutionContext,  # noqa: F811
) -> None:
    """With the vote alone (weight 1), every training text is nearest to itself."""
    config = {**config, "nearest_examples_weight": 1.0, "nearest_examples_k": 1}
    resource = Resource("memory")
    IntentSentimentClassifier.create(config, storage, resource, context).train(training_data())
    with storage.read_from(resource) as directory:
        assert (directory / MEMORY_FILE).is_file()
    component = IntentSentimentClassifier.load(config, storage, resource, context)
    assert component.memory is not None
    assert len(component.memory) == len(training_data().intent_examples)
    texts = [t for ts in INTENT_EXAMPLES.values() for t in ts]
    gold = [i for i, ts in INTENT_EXAMPLES.items() for _ in ts]
    messages = component.process([Message({TEXT: t}) for t in texts])
    assert [m.get(INTENT)["name"] for m in messages] == gold
    for message in messages:
        ranking = message.get(INTENT_RANKING_KEY)
        assert sum(r["confidence"] for r in ranking) == pytest.approx(1.0, abs=1e-4)


def test_weight_zero_stores_no_memory_and_uses_the_head(
    config: Dict[str, Any],  # noqa: F811
    storage: LocalModelStorage,  # noqa: F811
    context: ExecutionContext,  # noqa: F811
) -> None:
    config = {**config, "nearest_examples_weight": 0.0}  # the default is 0.2
    resource = Resource("no-memory")
    component = IntentSentimentClassifier.create(config, storage, resource, context)
    component.train(training_data())
    with storage.read_from(resource) as directory:
        assert not (directory / MEMORY_FILE).exists()
    loaded = IntentSentimentClassifier.load(config, storage, resource, context)
    assert loaded.memory is None
    # A config that asks for a vote on a model stored without a memory: the head alone.
    voting = IntentSentimentClassifier.load(
        {**config, "nearest_examples_weight": 0.5}, storage, resource, context
    )
    text = "where is my order"
    expected = loaded.process([Message({TEXT: text})])[0].get(INTENT)
    assert voting.process([Message({TEXT: text})])[0].get(INTENT) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("nearest_examples_weight", 1.5),
        ("nearest_examples_weight", -0.1),
        ("nearest_examples_k", 0),
        ("nearest_examples_temperature", 0),
    ],
)
def test_config_validation_of_the_vote(
    config: Dict[str, Any],  # noqa: F811
    storage: LocalModelStorage,  # noqa: F811
    context: ExecutionContext,  # noqa: F811
    key: str,
    value: Any,
) -> None:
    with pytest.raises(InvalidConfigException, match=key):
        IntentSentimentClassifier.create({**config, key: value}, storage, Resource("x"), context)
