"""Language detection: the pure rules (knowledge.language) and the Rasa component around them."""

from __future__ import annotations

import pytest
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message

from knowledge.language import count_scripts, detect_language, normalise_language
from nlu.language_detector import LANGUAGE_KEY, LanguageDetector


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("我的订单1234到哪了？", "zh"),
        ("怎么退货", "zh"),
        ("訂單能取消嗎", "zh"),
        ("我的order到哪了", "zh"),
        ("退钱！！！", "zh"),
        ("where is my order 1234?", "en"),
        ("Where is my 快递 parcel", "en"),
        ("ＷＨＥＲＥ ＩＳ my order", "en"),  # noqa: RUF001 (full-width on purpose)
        ("1234", None),
        ("ok", None),
        ("thx", None),
        ("👍👍", None),
        ("", None),
        ("   ", None),
        ("注文はどこですか", None),
        ("주문 어디", None),
    ],
)
def test_detect_language(text: str, expected: str | None) -> None:
    assert detect_language(text) == expected


def test_none_is_no_language() -> None:
    assert detect_language(None) is None


def test_script_counts() -> None:
    counts = count_scripts("我的order 1234")
    assert (counts.han, counts.latin_letters, counts.latin_words) == (2, 5, 1)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("zh", "zh"),
        ("zh-CN", "zh"),
        ("ZH_tw", "zh"),
        ("en-GB", "en"),
        ("fr", "en"),
        (None, "en"),
        (3, "en"),
    ],
)
def test_normalise_language(value: object, expected: str) -> None:
    assert normalise_language(value) == expected


def _process(*texts: str) -> list[Message]:
    detector = LanguageDetector.create({}, None, None, None)  # type: ignore[arg-type]
    return detector.process([Message(data={TEXT: text}) for text in texts])


def test_component_publishes_language_and_entity() -> None:
    chinese, english, unclear = _process("我的订单1234到哪了？", "where is my order", "1234")
    assert chinese.get(LANGUAGE_KEY) == "zh"
    assert chinese.get(ENTITIES) == [
        {
            "entity": "language",
            "value": "zh",
            "start": 0,
            "end": 12,
            "extractor": "LanguageDetector",
        }
    ]
    assert english.get(LANGUAGE_KEY) == "en"
    assert [e["value"] for e in english.get(ENTITIES)] == ["en"]
    assert unclear.get(LANGUAGE_KEY) is None
    assert not unclear.get(ENTITIES)
    assert LANGUAGE_KEY in chinese.as_dict_nlu() or LANGUAGE_KEY in chinese.output_properties


def test_component_keeps_other_extractors_entities() -> None:
    message = Message(data={TEXT: "订单123456能取消吗"})
    message.set(ENTITIES, [{"entity": "order_id", "value": "123456", "start": 2, "end": 8}])
    LanguageDetector.create({}, None, None, None).process([message])  # type: ignore[arg-type]
    assert [e["entity"] for e in message.get(ENTITIES)] == ["order_id", "language"]


def test_component_tolerates_missing_text() -> None:
    (message,) = LanguageDetector.create({}, None, None, None).process([Message(data={})])  # type: ignore[arg-type]
    assert message.get(LANGUAGE_KEY) is None


@pytest.mark.parametrize(
    ("text", "entities"),
    [
        ("Yoga Mat", [{"entity": "product", "value": "yoga mat", "start": 0, "end": 8}]),
        (
            "li.wei@example.com",
            [{"entity": "email", "value": "li.wei@example.com", "start": 0, "end": 18}],
        ),
    ],
)
def test_an_answer_made_only_of_entities_carries_no_language(
    text: str, entities: list[dict]
) -> None:
    """A Chinese shopper clicking "Yoga Mat" or typing an e-mail keeps the conversation's
    language: the already extracted spans do not count as words of the shopper's own."""
    message = Message(data={TEXT: text})
    message.set(ENTITIES, entities)
    LanguageDetector.create({}, None, None, None).process([message])  # type: ignore[arg-type]
    assert message.get(LANGUAGE_KEY) is None
    assert [e["entity"] for e in message.get(ENTITIES)] == [entities[0]["entity"]]
    # Words around the entity still decide.
    (around,) = _process("please send the invoice to my email")
    assert around.get(LANGUAGE_KEY) == "en"
    mixed = Message(data={TEXT: f"我要退 {text}"})
    mixed.set(ENTITIES, [{**entities[0], "start": 4, "end": 4 + len(text)}])
    LanguageDetector.create({}, None, None, None).process([mixed])  # type: ignore[arg-type]
    assert mixed.get(LANGUAGE_KEY) == "zh"
