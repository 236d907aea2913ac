"""ActionAnswerQuestion with a rasa_sdk Tracker: answer, ask which one, not sure + a person,
button choices, bad input, answers in the shopper's language (English when a template has no
translation), and (slow) the real encoders on a returns question in English and in Chinese."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict, List

import pytest
import yaml

from actions import deps
from actions.answer_question import (
    FAQ_ANSWER_SLOT,
    ActionAnswerQuestion,
    choice_payload,
)
from actions.fallback import ActionHandleFallback
from knowledge.faq.index import AnswerIndex, build_index, multilingual_encoder_dir
from knowledge.settings import Settings, get_settings
from tests.actions.conftest import make_tracker, responses, run_action, slot_events
from tests.knowledge.faq_fakes import BILINGUAL_TEMPLATES, FAKE_DIM, SMALL_TEMPLATES, FakeEncoder

logger = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[2]
FAQ_INTENTS = [
    "product_question",
    "check_refund_policy",
    "delivery_options",
    "delivery_period",
    "check_payment_methods",
    "check_cancellation_fee",
    "contact_customer_service",
]


def _serve_fake_index(monkeypatch: pytest.MonkeyPatch, templates: list) -> AnswerIndex:
    """``templates`` fake-embedded behind deps.answer_index, with fixed thresholds."""
    monkeypatch.setenv("SHOP_ANSWER_THRESHOLD", "0.5")
    monkeypatch.setenv("SHOP_ANSWER_MARGIN", "0.03")
    monkeypatch.setenv("SHOP_RETURN_WINDOW_DAYS", "30")
    get_settings.cache_clear()
    embed = FakeEncoder()
    answers = AnswerIndex(build_index(templates, embed, dimension=FAKE_DIM), templates, embed)
    _provide(monkeypatch, lambda: answers)
    return answers


@pytest.fixture()
def fake_answers(monkeypatch: pytest.MonkeyPatch) -> AnswerIndex:
    """A small fake-embedded answer index behind deps.answer_index, with fixed thresholds."""
    return _serve_fake_index(monkeypatch, list(SMALL_TEMPLATES))


@pytest.fixture()
def bilingual_answers(monkeypatch: pytest.MonkeyPatch) -> AnswerIndex:
    """Templates with Chinese questions and answers (and one without) behind deps."""
    return _serve_fake_index(monkeypatch, list(BILINGUAL_TEMPLATES))


def _provide(monkeypatch: pytest.MonkeyPatch, provider) -> None:
    """Replace deps.answer_index by ``provider`` (clear_caches still works on it)."""
    provider.cache_clear = lambda: None
    monkeypatch.setattr(deps, "answer_index", provider)


def _tracker(
    text: Any,
    intent: str = "product_question",
    confidence: float = 0.99,
    entities: List[Dict[str, Any]] | None = None,
    language: str | None = None,
):
    slots = {"language": language} if language is not None else None
    tracker = make_tracker(slots, text=text, intent=intent)
    tracker.latest_message["intent"]["confidence"] = confidence
    tracker.latest_message["entities"] = entities or []
    return tracker


async def _run(tracker, domain):
    return await run_action(ActionAnswerQuestion(), tracker, domain)


def test_the_action_is_named_and_listed_in_the_domain(domain):
    assert ActionAnswerQuestion().name() == "action_answer_question"
    faq = yaml.safe_load((REPO / "bot" / "domain" / "faq.yml").read_text())
    assert "action_answer_question" in faq["actions"]
    assert set(FAQ_INTENTS) <= set(faq["intents"])
    assert "faq_id" in faq["entities"] and FAQ_ANSWER_SLOT in faq["slots"]
    # The English variation: the unconditional one (the Chinese one comes first).
    not_sure = next(v for v in domain["responses"]["utter_faq_not_sure"] if not v.get("condition"))
    assert {"title": "Talk to a person", "payload": "/contact_human_agent"} in not_sure["buttons"]
    assert "utter_faq_which_one" in domain["responses"]


def test_rules_send_each_faq_intent_to_the_action():
    rules = yaml.safe_load((REPO / "bot" / "data" / "rules" / "faq.yml").read_text())["rules"]
    routed = {
        r["steps"][0]["intent"]
        for r in rules
        if r["steps"][1] == {"action": "action_answer_question"}
    }
    assert routed == set(FAQ_INTENTS)


async def test_a_clear_question_gets_the_filled_answer(fake_answers, domain):
    events, messages = await _run(_tracker("how long is the return window?"), domain)
    assert messages == [
        {**messages[0], "text": "You can return items within 30 days.", "buttons": []}
    ]
    assert "{" not in messages[0]["text"]
    assert slot_events(events) == {FAQ_ANSWER_SLOT: "1"}


async def test_two_close_templates_are_offered_as_a_choice(fake_answers, domain):
    events, messages = await _run(_tracker("size exchange", confidence=0.4), domain)
    assert responses(messages) == ["utter_faq_which_one"]
    buttons = messages[0]["buttons"]
    # The two templates, and the flow of the returns template's topic.
    assert {b["payload"] for b in buttons} == {choice_payload(4), choice_payload(5), "/get_refund"}
    assert {b["title"] for b in buttons} == {
        "exchange shoes size",
        "exchange boots size",
        "Start a return",
    }
    assert buttons[0]["payload"] in (
        '/product_question{"faq_id": "4"}',
        '/product_question{"faq_id": "5"}',
    )
    assert slot_events(events) == {FAQ_ANSWER_SLOT: None}


async def test_pressing_a_choice_button_answers_that_template(fake_answers, domain):
    tracker = _tracker(
        choice_payload(4), entities=[{"entity": "faq_id", "value": "4", "start": 0, "end": 1}]
    )
    events, messages = await _run(tracker, domain)
    assert [m["text"] for m in messages] == ["Exchanges are free within 30 days."]
    assert slot_events(events) == {FAQ_ANSWER_SLOT: "4"}


async def test_a_confident_intent_settles_a_close_call(fake_answers, domain):
    tracker = _tracker("size exchange", intent="check_refund_policy", confidence=0.95)
    events, messages = await _run(tracker, domain)
    assert [m["text"] for m in messages] == ["Exchanges are free within 30 days."]
    assert slot_events(events) == {FAQ_ANSWER_SLOT: "4"}


async def test_an_unrelated_question_gets_not_sure_and_a_person(fake_answers, domain):
    events, messages = await _run(_tracker("what is the weather on mars"), domain)
    assert responses(messages) == ["utter_faq_not_sure"]
    assert slot_events(events) == {FAQ_ANSWER_SLOT: None}


@pytest.mark.parametrize(
    "text",
    ["", "   ", None, "/product_question", "\x00\x01", "🙂🙂🙂", "?" * 10_000],
    ids=["empty", "spaces", "none", "bare-payload", "control", "emoji", "10k-marks"],
)
async def test_empty_or_odd_text_is_answered_politely(fake_answers, domain, text):
    events, messages = await _run(_tracker(text), domain)
    assert responses(messages) == ["utter_faq_not_sure"]
    assert slot_events(events) == {FAQ_ANSWER_SLOT: None}


async def test_huge_text_is_truncated_and_still_answered(fake_answers, domain, caplog):
    caplog.set_level(logging.INFO)
    text = "which payment methods do you accept? " * 20_000
    events, messages = await _run(_tracker(text), domain)
    assert slot_events(events) == {FAQ_ANSWER_SLOT: "2"}
    assert messages[0]["text"].startswith("We accept Visa, Mastercard")
    assert "Truncating" in caplog.text


@pytest.mark.parametrize("value", ["abc", "999", None, "4.5"])
async def test_a_bad_faq_id_entity_falls_back_to_not_sure(fake_answers, domain, value):
    tracker = _tracker(choice_payload(4), entities=[{"entity": "faq_id", "value": value}])
    _, messages = await _run(tracker, domain)
    assert responses(messages) == ["utter_faq_not_sure"]


async def test_a_broken_index_never_crashes_the_action(monkeypatch, domain, caplog):
    def broken():
        raise RuntimeError("index file is corrupt")

    _provide(monkeypatch, broken)
    events, messages = await _run(_tracker("how long is the return window?"), domain)
    assert responses(messages) == ["utter_faq_not_sure"]
    assert slot_events(events) == {FAQ_ANSWER_SLOT: None}
    assert "FAQ retrieval failed" in caplog.text


async def test_a_chinese_shopper_gets_the_chinese_answer_with_chinese_slots(
    bilingual_answers, domain
):
    events, messages = await _run(_tracker("支持哪些付款方式", language="zh"), domain)
    assert [m["text"] for m in messages] == [
        "我们支持Visa、Mastercard、American Express、PayPal、Apple Pay、银行转账。"
    ]
    assert slot_events(events) == {FAQ_ANSWER_SLOT: "2"}
    _, messages = await _run(_tracker("退货期限是几天", language="zh-CN"), domain)
    assert [m["text"] for m in messages] == ["签收后30天内可以退货。"]


async def test_the_language_slot_decides_the_answer_language(bilingual_answers, domain):
    # an English question in a Chinese conversation (the slot keeps the last clear language)
    _, messages = await _run(_tracker("which payment methods", language="zh"), domain)
    assert messages[0]["text"].startswith("我们支持Visa、")
    for language in ("en", None, "fr", 42):
        _, messages = await _run(_tracker("which payment methods", language=language), domain)
        assert messages[0]["text"] == (
            "We accept Visa, Mastercard, American Express, PayPal, Apple Pay and bank transfer."
        )


async def test_a_template_without_chinese_answers_a_chinese_shopper_in_english(
    bilingual_answers, domain
):
    tracker = _tracker(
        choice_payload(4),
        entities=[{"entity": "faq_id", "value": "4"}],
        language="zh",
    )
    events, messages = await _run(tracker, domain)
    assert [m["text"] for m in messages] == ["Exchanges are free within 30 days."]
    assert slot_events(events) == {FAQ_ANSWER_SLOT: "4"}


async def test_a_chinese_button_press_answers_in_chinese(bilingual_answers, domain):
    tracker = _tracker(
        choice_payload(1), entities=[{"entity": "faq_id", "value": "1"}], language="zh"
    )
    _, messages = await _run(tracker, domain)
    assert [m["text"] for m in messages] == ["签收后30天内可以退货。"]


async def test_choice_buttons_carry_titles_in_the_shoppers_language(
    bilingual_answers, monkeypatch, domain
):
    # "退货 付款" shares one character with a question of each of templates 1 and 2
    monkeypatch.setenv("SHOP_ANSWER_THRESHOLD", "0.1")
    monkeypatch.setenv("SHOP_ANSWER_MARGIN", "0.5")
    get_settings.cache_clear()
    _, messages = await _run(_tracker("退货 付款", confidence=0.4, language="zh"), domain)
    assert responses(messages) == ["utter_faq_which_one"]
    assert {b["title"] for b in messages[0]["buttons"]} == {"退货期限", "付款方式", "申请退货退款"}
    _, messages = await _run(_tracker("退货 付款", confidence=0.4, language="en"), domain)
    assert {b["title"] for b in messages[0]["buttons"]} == {
        "return window days",
        "payment methods accepted",
        "Start a return",
    }


@pytest.mark.slow
async def test_real_encoder_answers_a_returns_question_with_the_window(
    monkeypatch, tmp_path, domain
):
    monkeypatch.setenv("SHOP_ANSWER_INDEX_DIR", str(tmp_path / "answer_index"))
    monkeypatch.setenv("SHOP_RETURN_WINDOW_DAYS", "30")
    deps.clear_caches()
    tracker = _tracker(
        "how long do I have to send back shoes that don't fit?", intent="check_refund_policy"
    )
    events, messages = await _run(tracker, domain)
    assert slot_events(events) == {FAQ_ANSWER_SLOT: "201"}
    assert "within 30 days of delivery" in messages[0]["text"]
    assert (tmp_path / "answer_index" / "meta.json").exists()


@pytest.mark.slow
@pytest.mark.skipif(
    not (multilingual_encoder_dir(Settings()) / "config.json").is_file(),
    reason="no converted multilingual encoder: run `make encoder-multilingual`",
)
async def test_real_multilingual_encoder_answers_a_chinese_returns_question_in_chinese(
    monkeypatch, tmp_path, domain
):
    monkeypatch.setenv("SHOP_ANSWER_INDEX_DIR", str(tmp_path / "answer_index"))
    monkeypatch.setenv("SHOP_RETURN_WINDOW_DAYS", "30")
    for name in ("SHOP_ANSWER_ENCODER", "SHOP_ANSWER_THRESHOLD", "SHOP_ANSWER_MARGIN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SHOP_ANSWER_MULTILINGUAL", "true")
    deps.clear_caches()
    tracker = _tracker("东西收到以后几天内还能退？", intent="check_refund_policy", language="zh")
    events, messages = await _run(tracker, domain)
    assert slot_events(events) == {FAQ_ANSWER_SLOT: "201"}
    assert "签收后30天内可以退货" in messages[0]["text"]
    assert deps.answer_index().index.meta["languages"] == ["en", "zh"]


async def test_a_not_understood_question_is_answered_from_the_faq(fake_answers, domain):
    tracker = _tracker("how long is the return window?", intent="nlu_fallback", confidence=0.7)
    events, messages = await run_action(ActionHandleFallback(), tracker, domain)
    assert [m["text"] for m in messages] == ["You can return items within 30 days."]
    assert slot_events(events) == {FAQ_ANSWER_SLOT: "1"}


async def test_a_not_understood_message_without_a_fitting_answer_is_not_sure(fake_answers, domain):
    tracker = _tracker("what is the weather on mars", intent="nlu_fallback", confidence=0.7)
    events, messages = await run_action(ActionHandleFallback(), tracker, domain)
    assert (events, responses(messages)) == ([], ["utter_faq_not_sure"])
    assert messages[0]["buttons"] is not None
