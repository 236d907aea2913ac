"""IntentSentimentClassifier through the real component API and a real LocalModelStorage."""

from __future__ import annotations

import csv
import logging
import re
import typing
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest
import torch
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.classifiers.fallback_classifier import FallbackClassifier
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu.device import DeviceUnavailableError
from nlu.intent_sentiment_classifier import IntentSentimentClassifier
from nlu.output_keys import DEMAND_ASPECTS, DEMANDS, SENTIMENT, SENTIMENT_LABELS
from nlu.task_data import TrainingDataError
from tests.nlu.conftest import INTENT_EXAMPLES

TASK_ROWS = [
    ("my parcel is two weeks late and nobody answers", "negative", "delivery;customer_service"),
    ("the price is terrible", "negative", "price"),
    ("the shoes are too small", "negative", "size_fit"),
    ("thanks great support", "positive", "customer_service"),
    ("i love the quality of this shirt", "positive", "quality"),
    ("where is my order", "neutral", "delivery"),
    ("hello", "neutral", ""),
    ("the phone arrived broken", "negative", "quality;delivery"),
    ("the refund is still not back", "negative", "returns_refunds"),
    ("great price", "positive", "price"),
    ("how can i return the shoes", "neutral", "returns_refunds"),
    ("my password is not working", "negative", "account_website"),
]


@pytest.fixture()
def task_csv(tmp_path: Path) -> Path:
    """A small sentiment + demand CSV in the documented format."""
    path = tmp_path / "task.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "sentiment", "demands"])
        writer.writerows(TASK_ROWS)
    return path


@pytest.fixture()
def config(tiny_bert_dir: Path, task_csv: Path) -> Dict[str, Any]:
    """Fast settings on the tiny random BERT."""
    return {
        "model_path": str(tiny_bert_dir),
        "device": "cpu",
        "epochs": 3,
        "batch_size": 8,
        "learning_rate": 5e-3,
        "head_learning_rate": 5e-3,
        "max_seq_length": 32,
        "validation_fraction": 0.2,
        "early_stopping_patience": 5,
        "freeze_embeddings": False,
        "task_data": [str(task_csv)],
        "show_progress": False,
    }


@pytest.fixture()
def storage(tmp_path: Path) -> LocalModelStorage:
    """A real model storage in a temporary directory."""
    directory = tmp_path / "storage"
    directory.mkdir()
    return LocalModelStorage(directory)


@pytest.fixture()
def context() -> ExecutionContext:
    """An execution context as Rasa builds it for a node."""
    return ExecutionContext(GraphSchema({}), "test-model")


def training_data() -> TrainingData:
    """Intent examples for three intents; one carries sentiment/demand metadata."""
    messages = [
        Message.build(text, intent) for intent, texts in INTENT_EXAMPLES.items() for text in texts
    ]
    messages.append(
        Message.build(
            "my order is late and i want my money back",
            "track_order",
            example_metadata={"sentiment": "negative", "demands": ["delivery", "returns_refunds"]},
        )
    )
    return TrainingData(messages)


@pytest.fixture()
def trained(
    config: Dict[str, Any], storage: LocalModelStorage, context: ExecutionContext
) -> Resource:
    """Train once and persist; returns the resource."""
    resource = Resource("intent_sentiment")
    component = IntentSentimentClassifier.create(config, storage, resource, context)
    return component.train(training_data())


def load(
    config: Dict[str, Any], storage: LocalModelStorage, resource: Resource, ctx: ExecutionContext
) -> IntentSentimentClassifier:
    """Load the persisted component as Rasa does at inference."""
    return IntentSentimentClassifier.load(config, storage, resource, ctx)


def test_round_trip_sets_rasa_intent_format(
    config: Dict[str, Any], storage: LocalModelStorage, trained: Resource, context: ExecutionContext
) -> None:
    component = load(config, storage, trained, context)
    messages = [Message({TEXT: "where is my order"}), Message({TEXT: "hello"})]
    component.process(messages)
    for message in messages:
        intent = message.get(INTENT)
        ranking = message.get(INTENT_RANKING_KEY)
        assert set(intent) == {"name", "confidence"}
        assert intent["name"] in INTENT_EXAMPLES
        assert isinstance(intent["confidence"], float)
        assert len(ranking) == 3  # 3 intents < ranking_length 10
        assert all(set(r) == {"name", "confidence"} for r in ranking)
        assert ranking[0] == intent
        assert [r["confidence"] for r in ranking] == sorted(
            (r["confidence"] for r in ranking), reverse=True
        )
        assert sum(r["confidence"] for r in ranking) == pytest.approx(1.0, abs=1e-4)
        assert "intent" in message.output_properties
        assert SENTIMENT in message.output_properties and DEMANDS in message.output_properties


@pytest.mark.parametrize(("precision", "tolerance"), [("float32", 1e-5), ("bfloat16", 2e-2)])
def test_loaded_model_predicts_like_trained_model(
    config: Dict[str, Any],
    storage: LocalModelStorage,
    context: ExecutionContext,
    monkeypatch: pytest.MonkeyPatch,
    precision: str,
    tolerance: float,
) -> None:
    import torch

    monkeypatch.setenv("SHOP_NLU_PRECISION", precision)
    resource = Resource("same")
    component = IntentSentimentClassifier.create(config, storage, resource, context)
    component.train(training_data())
    texts = ["track my parcel please", "hello there", "i want my money back for the shoes"]
    before = component.process([Message({TEXT: text}) for text in texts])
    served = load(config, storage, resource, context)
    assert next(served.model.encoder.parameters()).dtype == getattr(torch, precision)
    after = served.process([Message({TEXT: text}) for text in texts])
    for old, new in zip(before, after, strict=True):
        assert new.get(INTENT)["name"] == old.get(INTENT)["name"]
        assert new.get(INTENT)["confidence"] == pytest.approx(
            old.get(INTENT)["confidence"], abs=tolerance
        )
        assert new.get(SENTIMENT)["scores"] == pytest.approx(
            old.get(SENTIMENT)["scores"], abs=tolerance
        )


def test_training_learns_the_intents(
    config: Dict[str, Any], storage: LocalModelStorage, context: ExecutionContext
) -> None:
    config = {**config, "epochs": 15, "validation_fraction": 0.0}
    component = IntentSentimentClassifier.create(config, storage, Resource("learn"), context)
    component.train(training_data())
    texts = [t for ts in INTENT_EXAMPLES.values() for t in ts]
    gold = [i for i, ts in INTENT_EXAMPLES.items() for _ in ts]
    messages = component.process([Message({TEXT: t}) for t in texts])
    accuracy = sum(m.get(INTENT)["name"] == g for m, g in zip(messages, gold, strict=False)) / len(
        gold
    )
    assert accuracy >= 0.9


def test_persisted_files_are_safetensors_and_json(
    storage: LocalModelStorage, trained: Resource
) -> None:
    with storage.read_from(trained) as directory:
        names = {p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file()}
    assert {"heads.safetensors", "labels.json", "encoder/model.safetensors"} <= names
    assert not any(n.endswith((".pkl", ".pickle", ".bin", ".pt")) for n in names)


def test_sentiment_and_demands_are_well_formed(
    config: Dict[str, Any], storage: LocalModelStorage, trained: Resource, context: ExecutionContext
) -> None:
    component = load(config, storage, trained, context)
    message = Message({TEXT: "the shoes arrived broken"})
    message.set(ENTITIES, [{"entity": "product", "value": "Trail Shoes", "start": 4, "end": 9}])
    component.demand_thresholds = [0.0] * len(DEMAND_ASPECTS)  # report every aspect
    component.process([message])
    sentiment = message.get(SENTIMENT)
    assert set(sentiment) == {"label", "confidence", "scores"}
    assert sentiment["label"] in SENTIMENT_LABELS
    assert set(sentiment["scores"]) == set(SENTIMENT_LABELS)
    assert sentiment["confidence"] == max(sentiment["scores"].values())
    demands = message.get(DEMANDS)
    assert [d["aspect"] for d in demands] and {d["aspect"] for d in demands} == set(DEMAND_ASPECTS)
    assert all(d["product"] == "Trail Shoes" and 0 <= d["confidence"] <= 1 for d in demands)


def test_demands_without_product_entity_have_none(
    config: Dict[str, Any], storage: LocalModelStorage, trained: Resource, context: ExecutionContext
) -> None:
    component = load(config, storage, trained, context)
    component.demand_thresholds = [0.0] * len(DEMAND_ASPECTS)
    message = component.process([Message({TEXT: "the price is terrible"})])[0]
    assert message.get(DEMANDS) and all(d["product"] is None for d in message.get(DEMANDS))


def test_demand_threshold_is_tuned_and_persisted(
    storage: LocalModelStorage, trained: Resource
) -> None:
    import json

    with storage.read_from(trained) as directory:
        meta = json.loads((directory / "labels.json").read_text())
    assert meta["intents"] == sorted(INTENT_EXAMPLES)
    assert len(meta["demand_thresholds"]) == len(DEMAND_ASPECTS)
    assert all(0 < t < 1 for t in meta["demand_thresholds"])
    assert meta["history"], "training history is stored with the model"
    assert meta["config"]["max_seq_length"] == 32


def test_inference_is_lenient_on_bad_input(
    config: Dict[str, Any],
    storage: LocalModelStorage,
    trained: Resource,
    context: ExecutionContext,
    caplog: pytest.LogCaptureFixture,
) -> None:
    component = load(config, storage, trained, context)
    empty, spaces, long, odd = (
        Message({TEXT: ""}),
        Message({TEXT: "   "}),
        Message({TEXT: "where is my order " * 600}),
        Message({TEXT: "😀😀 ¿dónde está mi pedido? \u200b 包裹 ∑"}),
    )
    with caplog.at_level(logging.WARNING, logger="nlu.intent_sentiment_classifier"):
        component.process([empty, spaces, long, odd])
    assert len(long.get(TEXT)) > 10_000
    assert any("truncated" in r.getMessage() for r in caplog.records)
    for message in (empty, spaces):
        assert message.get(INTENT) == {"name": None, "confidence": 0.0}
        assert message.get(INTENT_RANKING_KEY) == []
        assert message.get(SENTIMENT)["label"] == "neutral"
        assert message.get(DEMANDS) == []
    for message in (long, odd):
        assert message.get(INTENT)["name"] in INTENT_EXAMPLES
    # Rasa's FallbackClassifier accepts our output unchanged and falls back on empty text.
    fallback = FallbackClassifier.create(
        {**FallbackClassifier.get_default_config()}, storage, Resource("fb"), context
    )
    fallback.process([empty, long])
    assert empty.get(INTENT)["name"] == "nlu_fallback"
    assert long.get(INTENT_RANKING_KEY)[0]["name"] in {"nlu_fallback", long.get(INTENT)["name"]}


def test_load_without_resource_falls_back_to_create(
    config: Dict[str, Any], storage: LocalModelStorage, context: ExecutionContext
) -> None:
    component = IntentSentimentClassifier.load(config, storage, Resource("never-trained"), context)
    assert component.model is None
    message = component.process([Message({TEXT: "hello"})])[0]
    assert message.get(INTENT) == {"name": None, "confidence": 0.0}
    assert message.get(DEMANDS) == []


def test_training_needs_two_intents(
    config: Dict[str, Any], storage: LocalModelStorage, context: ExecutionContext
) -> None:
    component = IntentSentimentClassifier.create(config, storage, Resource("one"), context)
    data = TrainingData([Message.build("hello", "greet"), Message.build("hi", "greet")])
    with pytest.raises(TrainingDataError, match="at least 2 intents"):
        component.train(data)


def test_training_rejects_unknown_labels(
    config: Dict[str, Any], storage: LocalModelStorage, context: ExecutionContext, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("text,sentiment,demands\nfine,angry,\n", encoding="utf-8")
    component = IntentSentimentClassifier.create(
        {**config, "task_data": [str(bad)]}, storage, Resource("bad"), context
    )
    with pytest.raises(TrainingDataError, match=r"bad.csv:2: sentiment 'angry'"):
        component.train(training_data())


def test_training_rejects_missing_task_file(
    config: Dict[str, Any], storage: LocalModelStorage, context: ExecutionContext, tmp_path: Path
) -> None:
    component = IntentSentimentClassifier.create(
        {**config, "task_data": [str(tmp_path / "nope.csv")]}, storage, Resource("x"), context
    )
    with pytest.raises(TrainingDataError, match="does not exist"):
        component.train(training_data())


@pytest.mark.parametrize(
    ("key", "value", "allowed"),
    [
        ("device", "tpu", "one of"),
        ("epochs", 0, "integer >= 1"),
        ("epochs", True, "integer >= 1"),
        ("max_seq_length", 4096, "from 8 to 512"),
        ("learning_rate", 0, "between 0 and 1"),
        ("validation_fraction", 0.9, "from 0 to 0.5"),
        ("demand_threshold", 1.5, "null (tuned)"),
        ("task_data", "data/x.csv", "list of CSV paths"),
        ("task_data", [{"path": "data/x.csv"}], "max_examples: N >= 0"),
        ("task_data", [{"path": "data/x.csv", "max_examples": -1}], "max_examples: N >= 0"),
        ("lexical_features", "yes", "true or false"),
        ("epoch", 3, "one of the keys"),
    ],
)
def test_config_validation_names_key_and_allowed_values(
    key: str, value: Any, allowed: str, storage: LocalModelStorage, context: ExecutionContext
) -> None:
    with pytest.raises(InvalidConfigException, match=f"'{key}' is .*{re.escape(allowed)}"):
        IntentSentimentClassifier.create({key: value}, storage, Resource("c"), context)


def test_cuda_requested_without_cuda_fails_training(
    config: Dict[str, Any],
    storage: LocalModelStorage,
    context: ExecutionContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    component = IntentSentimentClassifier.create(
        {**config, "device": "cuda"}, storage, Resource("gpu"), context
    )
    with pytest.raises(DeviceUnavailableError, match="device: cuda"):
        component.train(training_data())


def test_cuda_model_loads_on_cpu_host(
    config: Dict[str, Any],
    storage: LocalModelStorage,
    trained: Resource,
    context: ExecutionContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    component = load({**config, "device": "cuda"}, storage, trained, context)
    assert component.plan is not None and component.plan.device == "cpu"
    assert component.process([Message({TEXT: "hi"})])[0].get(INTENT)["name"]


def test_type_hints_resolve_at_run_time() -> None:
    for name in ("create", "load", "train", "process", "process_training_data"):
        hints = typing.get_type_hints(getattr(IntentSentimentClassifier, name))
        assert "return" in hints


def test_process_training_data_keeps_gold_intents(
    config: Dict[str, Any], storage: LocalModelStorage, trained: Resource, context: ExecutionContext
) -> None:
    component = load(config, storage, trained, context)
    data = training_data()
    gold: List[str] = [m.get(INTENT) for m in data.training_examples]
    component.process_training_data(data)
    assert [m.get(INTENT) for m in data.training_examples] == gold
    assert all(m.get(SENTIMENT)["label"] in SENTIMENT_LABELS for m in data.training_examples)


def test_fingerprint_changes_with_task_data(config: Dict[str, Any], task_csv: Path) -> None:
    before = IntentSentimentClassifier.fingerprint_addon(config)
    task_csv.write_text(task_csv.read_text() + "new row,positive,\n", encoding="utf-8")
    assert IntentSentimentClassifier.fingerprint_addon(config) != before
    capped = {**config, "task_data": [{"path": str(task_csv), "max_examples": 3}]}
    assert IntentSentimentClassifier.fingerprint_addon(capped) == (
        IntentSentimentClassifier.fingerprint_addon(config)
    )


def test_fingerprint_covers_the_noise_recipe(
    config: Dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Changing how noisy copies are written retrains the model (they are training data)."""
    import nlu.intent_sentiment_classifier as module
    from nlu.task_data import resolve_data_path

    recipe = tmp_path / "recipe.py"
    recipe.write_text("A = 1\n", encoding="utf-8")
    assert {"augmentation.py", "chinese_noise.py", "chinese_script.py"} <= set(
        module.NOISE_RECIPE_FILES
    )
    assert all(resolve_data_path(name).is_file() for name in module.NOISE_RECIPE_FILES)
    monkeypatch.setattr(module, "NOISE_RECIPE_FILES", (str(recipe),))
    before = IntentSentimentClassifier.fingerprint_addon(config)
    recipe.write_text("A = 2\n", encoding="utf-8")
    assert IntentSentimentClassifier.fingerprint_addon(config) != before


def test_a_task_file_entry_sets_its_own_row_limit() -> None:
    from nlu.task_data import task_file

    assert task_file("data/chat_messages.csv", 300) == ("data/chat_messages.csv", 300)
    assert task_file({"path": "data/reviews.csv", "max_examples": 0}, 300) == (
        "data/reviews.csv",
        0,
    )


@pytest.mark.gpu
def test_trains_and_predicts_on_cuda_with_mixed_precision(
    config: Dict[str, Any], storage: LocalModelStorage, context: ExecutionContext
) -> None:
    import torch

    if not torch.cuda.is_available():
        pytest.skip("no CUDA device on this machine")
    resource = Resource("cuda")
    component = IntentSentimentClassifier.create(
        {**config, "device": "auto"}, storage, resource, context
    )
    component.train(training_data())
    loaded = load({**config, "device": "cuda"}, storage, resource, context)
    assert loaded.plan is not None and loaded.plan.mixed_precision
    assert next(loaded.model.parameters()).device.type == "cuda"
    message = loaded.process([Message({TEXT: "where is my order"})])[0]
    assert message.get(INTENT)["name"] in INTENT_EXAMPLES


def test_lexical_layer_is_persisted_and_loaded(
    config: Dict[str, Any], storage: LocalModelStorage, trained: Resource, context: ExecutionContext
) -> None:
    import json

    from safetensors.torch import load_file

    with storage.read_from(trained) as directory:
        meta = json.loads((directory / "labels.json").read_text(encoding="utf-8"))
        stored = load_file(str(directory / "heads.safetensors"))
    assert meta["lexical"]["buckets_per_analyzer"] > 0
    weight = stored["lexical.bag.weight"]
    assert weight.shape == (2 * meta["lexical"]["buckets_per_analyzer"], 3 + 3 + 10)
    assert int(torch.count_nonzero(weight)) > 0  # training moved the zero-initialised weights
    component = load(config, storage, trained, context)
    assert component.model.lexical is not None
    assert component.model.lexical.bag.weight.equal(weight)


def train_without_lexical_features(
    config: Dict[str, Any], storage: LocalModelStorage, context: ExecutionContext, name: str
) -> Tuple[Dict[str, Any], Resource]:
    """Config with `lexical_features: false`, and the resource trained with it."""
    config = {**config, "lexical_features": False}
    resource = Resource(name)
    IntentSentimentClassifier.create(config, storage, resource, context).train(training_data())
    return config, resource


def test_without_lexical_features_the_model_has_none(
    config: Dict[str, Any], storage: LocalModelStorage, context: ExecutionContext
) -> None:
    config, resource = train_without_lexical_features(config, storage, context, "plain")
    with storage.read_from(resource) as directory:
        meta = (directory / "labels.json").read_text(encoding="utf-8")
    assert '"lexical": null' in meta
    component = load(config, storage, resource, context)
    assert component.model.lexical is None
    message = component.process([Message({TEXT: "where is my order"})])[0]
    assert message.get(INTENT)["name"] in INTENT_EXAMPLES


def test_model_saved_before_lexical_features_still_loads(
    config: Dict[str, Any], storage: LocalModelStorage, context: ExecutionContext
) -> None:
    """labels.json of older models has no "lexical" key: they load without the layer."""
    import json

    config, resource = train_without_lexical_features(config, storage, context, "older")
    with storage.write_to(resource) as directory:
        path = directory / "labels.json"
        meta = json.loads(path.read_text(encoding="utf-8"))
        del meta["lexical"]
        path.write_text(json.dumps(meta), encoding="utf-8")
    component = load({**config, "lexical_features": True}, storage, resource, context)
    assert component.model.lexical is None
    assert component.process([Message({TEXT: "hello"})])[0].get(INTENT)["name"] in INTENT_EXAMPLES


def test_training_samples_each_task_file_to_its_own_limit(
    config: Dict[str, Any],
    task_csv: Path,
    storage: LocalModelStorage,
    context: ExecutionContext,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A long file listed with ``max_examples`` gives that many rows; a plain path gives all
    of its rows when ``max_task_examples_per_file`` is 0 (the hand-written chat messages)."""
    entries = [{"path": str(task_csv), "max_examples": 2}, str(task_csv)]
    component = IntentSentimentClassifier.create(
        {**config, "task_data": entries, "epochs": 1}, storage, Resource("caps"), context
    )
    with caplog.at_level(logging.INFO, logger="nlu.intent_sentiment_classifier"):
        component.train(training_data())
    assert f"{2 + len(TASK_ROWS)} task rows" in caplog.text
