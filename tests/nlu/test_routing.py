"""Routing a misread message to its flow (nlu/routing.py) and the guesses offered as buttons
(actions/clarify.py)."""

from __future__ import annotations

import json
import logging
import re
from typing import Any, Dict, List

import pytest

from actions.clarify import guess_buttons, guess_question
from nlu.routing import (
    ROUTED_KEY,
    cue_flow,
    cue_text,
    guesses,
    latest_and_previous,
    reports_missing_parcel,
    route,
)

logger = logging.getLogger(__name__)

ORDER_NUMBER = re.compile(r"\d{3,}")


def parse(
    text: str,
    intent: str = "nlu_fallback",
    confidence: float = 0.3,
    ranking: List[tuple] | None = None,
    entities: List[Dict[str, Any]] | None = None,
) -> Dict[str, Any]:
    """Parse data as the NLU gives it; order numbers in ``text`` become entities."""
    found = [
        {"entity": "order_id", "value": m.group(), "start": m.start(), "end": m.end()}
        for m in ORDER_NUMBER.finditer(text)
    ]
    return {
        "text": text,
        "intent": {"name": intent, "confidence": confidence},
        "intent_ranking": [{"name": n, "confidence": c} for n, c in (ranking or [])],
        "entities": found if entities is None else entities,
    }


@pytest.mark.parametrize(
    ("text", "intent", "expected"),
    [
        # The failing messages.
        ("I want to return the shoes from order 1043", "check_refund_policy", "get_refund"),
        ("has the refund for order 1187 been paid?", "nlu_fallback", "track_refund"),
        (
            "my ordr 1043 is realy late. its been 2 weks and nothing arived",
            "check_cancellation_fee",
            "track_order",
        ),
        # More cue words, English and Chinese.
        ("where the hell is 1043", "complaint", "track_order"),
        ("please cancle 1043", "check_cancellation_fee", "cancel_order"),
        ("need the invoice for 1043", "product_question", "get_invoice"),
        ("receipt for order 1043??", "nlu_fallback", "get_invoice"),
        ("I want my money back for 1043", "check_refund_policy", "get_refund"),
        ("我的订单1043到哪了", "nlu_fallback", "track_order"),
        ("订单1043还没到", "delivery_period", "track_order"),
        ("订单1043我要退货", "check_refund_policy", "get_refund"),
        ("订单1043的退款到账了吗", "nlu_fallback", "track_refund"),
        ("帮我取消订单1043", "check_cancellation_fee", "cancel_order"),
        ("订单1043开发票", "nlu_fallback", "get_invoice"),
        # Chat spellings, IME slips and traditional characters of the cue words.
        ("为什么我的定单1052还木有到", "complaint", "track_order"),
        ("订单1043咋还没有到", "nlu_fallback", "track_order"),
        ("訂單1043還沒到", "nlu_fallback", "track_order"),
        ("訂單1043我要退貨", "check_refund_policy", "get_refund"),
        ("定单1043的退款到帐了吗", "nlu_fallback", "track_refund"),
    ],
)
def test_an_order_number_with_cue_words_starts_the_cued_flow(text, intent, expected):
    decision = route(parse(text, intent))
    assert decision is not None and decision.intent == expected, decision
    assert decision.entities[0]["entity"] == "order_id"
    assert decision.entities[0]["value"] == ORDER_NUMBER.search(text).group()


def test_cue_text_standardises_chinese_chat_spellings_and_keeps_the_rest():
    assert cue_text("为什么我的定单1052还木有到") == "为什么我的订单1052还没有到"
    assert cue_text("訂單1043還沒到") == "订单1043还没到"
    assert cue_text("where is order 1043") == "where is order 1043"
    assert cue_flow("我的定单1052到底啥时候到") == "track_order"


def test_a_transactional_intent_is_left_to_its_rule():
    assert route(parse("where is order 1043", "track_order", 0.9)) is None
    assert route(parse("cancel 1043 and where is my refund", "cancel_order", 0.9)) is None


def test_an_unsure_transactional_intent_gives_way_to_the_cue_words():
    """Issue 17: "return the shoes from order 1043" read as change_order at 30% is a return."""
    decision = route(parse("I want to return the shoes from order 1043", "change_order", 0.3))
    assert decision is not None and decision.intent == "get_refund"
    assert decision.entities[0]["value"] == "1043"
    # Sure of itself, or without a number, or when the cue agrees: the NLU's intent stays.
    assert route(parse("I want to return the shoes from order 1043", "change_order", 0.8)) is None
    assert route(parse("I want to return the shoes", "change_order", 0.3)) is None
    assert route(parse("cancel order 1043", "cancel_order", 0.3)) is None


@pytest.mark.parametrize("intent", ["goodbye", "thank", "greet", "bot_challenge"])
def test_unsure_small_talk_goes_to_the_staged_fallback(intent):
    """A guessed "goodbye" at 26% for "about my thing from before" would end the conversation."""
    decision = route(parse("about my thing from before", intent, 0.26))
    assert decision is not None and decision.intent == "nlu_fallback"
    assert route(parse("thanks a lot", intent, 0.9)) is None


def test_small_talk_unsure_only_of_its_kind_is_kept():
    """ "thank you, bye": thank 0.45, goodbye 0.20 is small talk, not a message to clarify
    (later in a session; as its first message see the opening-reply test below)."""
    both = [("thank", 0.45), ("goodbye", 0.2), ("change_shipping_address", 0.03)]
    earlier = parse("where is order 1043", "track_order", 0.9)
    assert route(parse("thank you, bye", "thank", 0.45, ranking=both), earlier) is None
    alone = [("goodbye", 0.26), ("track_order", 0.2), ("get_refund", 0.15)]
    decision = route(parse("about my thing from before", "goodbye", 0.26, ranking=alone))
    assert decision is not None and decision.intent == "nlu_fallback"


@pytest.mark.parametrize("intent", ["affirm", "deny"])
def test_unsure_yes_and_no_stay_answers(intent):
    earlier = parse("cancel order 1043", "cancel_order", 0.9)
    assert route(parse("yeah ok", intent, 0.3), earlier) is None


@pytest.mark.parametrize("intent", ["affirm", "deny", "goodbye", "thank"])
def test_an_unsure_reply_opening_the_session_goes_to_the_staged_fallback(intent):
    """As a session's first message a yes, no, thanks or bye answers nothing: "the stuff" read
    as affirm at 0.27 and "about my thing from before" as goodbye at 0.52 get the guesses."""
    decision = route(parse("about my thing from before", intent, 0.52))
    assert decision is not None and decision.intent == "nlu_fallback"
    assert "opening the session" in decision.reason
    assert route(parse("yes", intent, 0.95)) is None  # sure of itself: kept
    later = parse("about my thing from before", intent, 0.52)
    earlier = parse("hello", "greet", 0.9)
    assert route(later, earlier) is None  # later in the session the usual bars apply


def test_without_cue_words_an_unsure_message_follows_the_ranking():
    message = parse(
        "order 1043 hmm", ranking=[("greet", 0.3), ("change_order", 0.32), ("track_order", 0.1)]
    )
    assert route(message).intent == "change_order"
    # A weak guess is offered as a button by the fallback, not run.
    weak = parse(
        "1001; DROP TABLE orders;--",
        ranking=[("change_order", 0.21), ("cancel_order", 0.12)],
    )
    assert route(weak) is None


def test_a_confident_small_talk_intent_with_a_number_but_no_cue_is_kept():
    assert route(parse("thanks, order 1043 was great", "thank", 0.95)) is None


@pytest.mark.parametrize(
    "text",
    [
        "my parcel still hasn't arrived",
        "package never came",
        "I haven't received my order yet",
        "where is my parcel??",
        "still waiting for my stuff, its been ages",
        "我的快递怎么还没到",
        "包裹还没收到",
        "我的快递肿么还木有到",
        "包裹還沒收到",
    ],
)
def test_a_missing_parcel_report_without_a_number_goes_to_tracking(text):
    assert reports_missing_parcel(text)
    decision = route(parse(text, "nlu_fallback", entities=[]))
    assert decision is not None and decision.intent == "track_order" and decision.entities == ()
    assert route(parse(text, "delivery_period", 0.8, entities=[])).intent == "track_order"


@pytest.mark.parametrize(
    "text",
    [
        "how long does delivery take?",
        "do you deliver to Norway",
        "配送需要几天",
        "what is tracking",
    ],
)
def test_delivery_questions_stay_faq_questions(text):
    assert route(parse(text, "delivery_period", 0.8, entities=[])) is None


@pytest.mark.parametrize(
    ("previous", "expected"),
    [
        (parse("I want to cancel an order", "cancel_order", 0.9), "cancel_order"),
        (parse("what's your return policy", "check_refund_policy", 0.9), "get_refund"),
        (
            parse("it never showed", ranking=[("track_refund", 0.3), ("get_refund", 0.2)]),
            "track_refund",
        ),
        (None, "track_order"),
        (parse("hi", "greet", 0.99), "track_order"),
    ],
)
def test_a_bare_order_number_follows_the_previous_message(previous, expected):
    for intent in ("greet", "nlu_fallback", "product_question", "deny", "track_order"):
        decision = route(parse("1043", intent, 0.9, entities=[]), previous)
        if intent == expected:
            assert decision is None  # already right
            continue
        assert decision is not None and decision.intent == expected, (intent, decision)
        assert decision.entities[0] == {
            **decision.entities[0],
            "entity": "order_id",
            "value": "1043",
        }


@pytest.mark.parametrize("text", ["#1043", "order 1043", "1043.", "订单号1043", " 1043 "])
def test_bare_order_numbers_come_in_several_spellings(text):
    decision = route(parse(text, "greet", 0.9, entities=[]))
    assert decision is not None and decision.entities[0]["value"] == "1043"


def test_a_bare_email_or_item_needs_a_question_before_it():
    email = parse("Jo.Doe@example.com", "greet", 0.6, entities=[])
    assert route(email) is None
    tracked = route(email, parse("where is my order", "track_order", 0.9))
    assert tracked.intent == "track_order" and tracked.entities[0]["entity"] == "email"
    item = parse(
        "the hiking boots",
        "product_question",
        0.6,
        entities=[{"entity": "product", "value": "hiking boots", "start": 4, "end": 16}],
    )
    assert route(item) is None
    assert route(item, parse("I want to return something", "get_refund", 0.9)).intent == (
        "get_refund"
    )


@pytest.mark.parametrize(
    "message",
    [
        parse("/track_order", "track_order", 1.0),
        parse("", "nlu_fallback"),
        {**parse("1043", "greet"), ROUTED_KEY: {"intent": "greet"}},
        parse("what's the weather on mars", "out_of_scope", 0.9, entities=[]),
    ],
    ids=["payload", "empty", "already-routed", "out-of-scope"],
)
def test_payloads_empty_routed_and_out_of_scope_messages_are_never_routed(message):
    assert route(message) is None


def test_cue_words_pick_the_most_specific_flow():
    assert cue_flow("refund for my return of order 5") == "get_refund"
    assert cue_flow("did the refund arrive") == "track_refund"
    assert cue_flow("the parcel is late") == "track_order"
    assert cue_flow("hello there") is None


def test_guesses_skip_small_talk_and_put_the_cue_first():
    message = parse(
        "order 1043 ugh",
        ranking=[
            ("nlu_fallback", 0.5),
            ("greet", 0.3),
            ("get_refund", 0.2),
            ("out_of_scope", 0.2),
            ("track_order", 0.1),
            ("check_invoice", 0.05),
            ("get_invoice", 0.04),
            ("review", 0.001),
        ],
    )
    assert guesses(message) == ["get_refund", "track_order", "check_invoice"]
    late = parse("it is late", ranking=[("get_refund", 0.4), ("track_order", 0.1)], entities=[])
    assert guesses(late)[:2] == ["track_order", "get_refund"]
    assert guesses(parse("??", ranking=[("greet", 0.9)], entities=[])) == []


def test_the_guess_question_and_buttons_read_in_the_shoppers_language():
    assert guess_question(["track_order", "get_refund"], "en") == (
        "Do you want to track an order or start a return?"
    )
    assert guess_question(["track_order", "get_refund", "get_invoice"], "zh") == (
        "请问您是想查询订单物流、申请退货退款，还是获取发票？"
    )
    order = [{"entity": "order_id", "value": "1043"}]
    buttons = guess_buttons(["track_order", "check_refund_policy"], order, "en")
    assert buttons == [
        {"title": "Track an order", "payload": '/track_order{"order_id": "1043"}'},
        {"title": "Read the returns policy", "payload": "/check_refund_policy"},
        {"title": "Something else", "payload": "/nlu_fallback"},
    ]
    assert json.loads(buttons[0]["payload"][len("/track_order") :]) == {"order_id": "1043"}
    assert guess_buttons(["get_refund"], [], "zh")[0]["title"] == "申请退货退款"


def user_events(*messages: Dict[str, Any]) -> List[Dict[str, Any]]:
    events: List[Dict[str, Any]] = []
    for number, message in enumerate(messages):
        events += [
            {"event": "action", "name": "action_listen"},
            {
                "event": "user",
                "text": message["text"],
                "parse_data": message,
                "message_id": f"m{number}",
                "metadata": {"customer_id": "signed"},
            },
        ]
    return events


def test_reverted_messages_are_not_context():
    first = parse("I want to cancel an order", "cancel_order", 0.9)
    second = parse("1043", "greet", 0.9, entities=[])
    events = user_events(first, second)
    latest, previous = latest_and_previous(events)
    assert (latest["text"], previous["text"]) == ("1043", "I want to cancel an order")
    reverted = [*events[:2], {"event": "rewind"}, *events[2:]]
    assert latest_and_previous(reverted) == (latest, None)
    restarted = [*events[:2], {"event": "session_started"}, *events[2:]]
    assert latest_and_previous(restarted)[1] is None


def test_a_confident_faq_question_with_a_number_but_no_cue_stays_an_faq_question():
    message = parse(
        "does the jacket in order 1043 come in blue?",
        "product_question",
        0.8,
        ranking=[("product_question", 0.8), ("change_order", 0.15)],
    )
    assert route(message) is None


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("I want to track an order", "place_order"),
        ("can you track my parcel", "product_question"),
        ("where is my package", "delivery_options"),
        ("帮我查一下订单", "nlu_fallback"),
    ],
)
def test_a_tracking_request_without_a_number_goes_to_tracking(text, intent):
    decision = route(parse(text, intent, 0.7, entities=[]))
    assert decision is not None and decision.intent == "track_order"


def test_placing_an_order_stays_placing_an_order():
    assert route(parse("how do I place an order?", "place_order", 0.9, entities=[])) is None


@pytest.mark.parametrize(
    "text",
    ["我要投诉一下这个充电宝，充了一晚上还是没电", "I want to complain about this charger"],
)
def test_an_outright_complaint_read_unsure_as_an_faq_goes_to_the_complaint_flow(text):
    decision = route(parse(text, "product_question", 0.40, entities=[]))
    assert decision is not None and decision.intent == "complaint" and decision.entities == ()
    # Read with confidence, the NLU's intent stays; "complaint" itself is never rerouted.
    assert route(parse(text, "product_question", 0.9, entities=[])) is None
    assert route(parse(text, "complaint", 0.4, entities=[])) is None


def test_a_question_about_complaints_without_the_words_stays_an_faq():
    assert route(parse("is this charger any good", "product_question", 0.4, entities=[])) is None
