"""No dead ends: a not-understood message gets guesses as buttons, then the FAQ lookup, then the
offer of a person; an FAQ choice offers the matching flow; a guess button for an FAQ intent
answers from the words the shopper typed."""

from __future__ import annotations

import logging
from typing import Any, Dict, List

import pytest

from actions.answer_question import FAQ_ANSWER_SLOT, ActionAnswerQuestion
from actions.fallback import ActionHandleFallback, fallbacks_in_a_row
from knowledge.faq.index import AnswerIndex
from tests.actions.conftest import make_tracker, responses, run_action, slot_events
from tests.actions.test_answer_question import _serve_fake_index
from tests.knowledge.faq_fakes import SMALL_TEMPLATES

logger = logging.getLogger(__name__)


@pytest.fixture()
def fake_answers(monkeypatch: pytest.MonkeyPatch) -> AnswerIndex:
    """The small fake-embedded answer index with fixed thresholds."""
    return _serve_fake_index(monkeypatch, list(SMALL_TEMPLATES))


def user(text: str, intent: str, ranking=(), entities=()) -> Dict[str, Any]:
    """A ``user`` event with parse data."""
    parse = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.3},
        "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking],
        "entities": list(entities),
    }
    return {"event": "user", "text": text, "parse_data": parse}


def tracker_of(events: List[Dict[str, Any]], language: str = "en"):
    """A tracker whose latest message is the last user event of ``events``."""
    latest = [e for e in events if e["event"] == "user"][-1]
    tracker = make_tracker({"language": language}, text=latest["text"], events=events)
    tracker.latest_message = dict(latest["parse_data"])
    return tracker


LATE = user(
    "ugh it's the 3rd time I write, nothing here",
    "nlu_fallback",
    ranking=[("nlu_fallback", 0.6), ("track_order", 0.25), ("greet", 0.2), ("get_refund", 0.1)],
)


async def test_first_miss_offers_the_best_guesses_as_buttons(fake_answers, domain):
    events, [message] = await run_action(ActionHandleFallback(), tracker_of([LATE]), domain)
    assert events == []
    assert message["text"] == "Do you want to track an order or start a return?"
    assert [b["payload"] for b in message["buttons"]] == [
        "/track_order",
        "/get_refund",
        "/nlu_fallback",
    ]


async def test_guesses_carry_the_order_number_and_speak_chinese(fake_answers, domain):
    order = {"entity": "order_id", "value": "1043", "start": 2, "end": 6}
    message = user(
        "订单1043呢呢呢",
        "nlu_fallback",
        ranking=[("payment_issue", 0.3), ("get_refund", 0.2), ("bot_challenge", 0.2)],
        entities=[order],
    )
    _, [reply] = await run_action(ActionHandleFallback(), tracker_of([message], "zh"), domain)
    assert reply["text"] == "请问您是想处理付款问题，还是申请退货退款？"
    assert reply["buttons"][0] == {
        "title": "处理付款问题",
        "payload": '/payment_issue{"order_id": "1043"}',
    }
    assert reply["buttons"][-1] == {"title": "都不是", "payload": "/nlu_fallback"}


async def test_a_clear_faq_answer_comes_before_guesses(fake_answers, domain):
    message = user("how long is the return window?", "nlu_fallback", [("track_order", 0.3)])
    events, messages = await run_action(ActionHandleFallback(), tracker_of([message]), domain)
    assert [m["text"] for m in messages] == ["You can return items within 30 days."]
    assert slot_events(events) == {FAQ_ANSWER_SLOT: "1"}


async def test_something_else_looks_up_the_typed_words_in_the_faq(fake_answers, domain):
    typed = user("size exchange", "nlu_fallback", [("get_refund", 0.3)])
    _, [first] = await run_action(ActionHandleFallback(), tracker_of([typed]), domain)
    assert first["text"].startswith("Just to be sure")
    clicked = user("/nlu_fallback", "nlu_fallback")
    tracker = tracker_of([typed, clicked])
    assert fallbacks_in_a_row(tracker) == 2
    _, messages = await run_action(ActionHandleFallback(), tracker, domain)
    assert responses(messages) == ["utter_faq_which_one"]
    assert {"title": "Start a return", "payload": "/get_refund"} in messages[0]["buttons"]


async def test_after_the_faq_finds_nothing_a_person_is_offered(fake_answers, domain):
    typed = user("blorp zzz", "nlu_fallback", [("track_order", 0.3)])
    again = user("qwerty blorp", "nlu_fallback", [("track_order", 0.3)])
    _, messages = await run_action(ActionHandleFallback(), tracker_of([typed, again]), domain)
    assert responses(messages) == ["utter_fallback_offer_human"]


async def test_no_guess_and_no_faq_answer_asks_to_rephrase_or_a_person(fake_answers, domain):
    message = user("blorp zzz", "nlu_fallback", [("greet", 0.4), ("out_of_scope", 0.3)])
    _, messages = await run_action(ActionHandleFallback(), tracker_of([message]), domain)
    assert responses(messages) == ["utter_faq_not_sure"]


async def test_an_faq_guess_button_answers_from_the_typed_words(fake_answers, domain):
    typed = user("size exchange", "nlu_fallback", [("check_refund_policy", 0.3)])
    clicked = user("/check_refund_policy", "check_refund_policy")
    clicked["parse_data"]["intent"]["confidence"] = 1.0
    events, messages = await run_action(
        ActionAnswerQuestion(), tracker_of([typed, clicked]), domain
    )
    assert [m["text"] for m in messages] == ["Exchanges are free within 30 days."]
    assert slot_events(events) == {FAQ_ANSWER_SLOT: "4"}
