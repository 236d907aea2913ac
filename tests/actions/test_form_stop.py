"""Stopping a form (actions/form_stop.py): a bare "never mind" ends it, answers stay answers."""

from __future__ import annotations

from typing import Any, Dict, List

import pytest
from rasa_sdk import Tracker

from actions.cancel_order import ValidateCancelOrderForm
from actions.fallback import ActionStopFlow
from actions.form_stop import is_stop_request
from actions.returns import ValidateReturnForm
from actions.track_order import ValidateTrackOrderForm
from knowledge.models import OrderStatus
from tests.actions.conftest import make_tracker, responses, run_action, slot_events
from tests.actions.facts import find_order, item_names

STOP_EVENTS = {"active_loop": None, "requested_slot": None}


@pytest.mark.parametrize(
    "text",
    [
        "no",
        "No.",
        "nope",
        "never mind",
        "Nevermind!",
        "forget it",
        "ok forget it then",
        "stop",
        "no thanks",
        "actually, I changed my mind",
        "算了",
        "算了吧",
        "不用了，谢谢",
        "那算了",
        "不退了",
        "我改主意了",
    ],
)
def test_bare_stop_phrases_are_stop_requests(text: str) -> None:
    assert is_stop_request(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "no, they don't fit",
        "they don't fit",
        "not what I ordered",
        "no idea what the number is",
        "1001",
        "cancel it",
        "stop the order",
        "取消",
        "不要了",
        "尺码不合适",
        "hello",
    ],
)
def test_answers_are_not_stop_requests(text: str) -> None:
    assert not is_stop_request(text)


def answer_tracker(
    slots: Dict[str, Any],
    form: str,
    text: str,
    intent: str,
    extracted: Dict[str, Any] | None = None,
) -> Tracker:
    """The tracker a validator gets for an answer ``text`` to the form's requested slot."""
    tracker = make_tracker(slots, text=text, intent=intent, active_loop=form)
    for name, value in (extracted or {}).items():
        tracker.events.append({"event": "slot", "name": name, "value": value})
        tracker.slots[name] = value
    return tracker


def events_by_type(events: List[Dict[str, Any]], kind: str) -> List[Dict[str, Any]]:
    return [e for e in events if e.get("event") == kind]


#: What a stopped return form clears (the order number and e-mail stay).
CLEARED_RETURN_SLOTS = {
    "return_item": None,
    "return_reason": None,
    "order_eligible": None,
    "requested_slot": None,
}


def return_reason_slots(session_factory) -> Dict[str, Any]:
    """Slots of a return form asking for the reason, for a returnable order's first item."""
    order = find_order(session_factory, OrderStatus.DELIVERED, within_return_window=True)
    return {
        "customer_id": order.customer_id,
        "order_id": str(order.id),
        "order_eligible": True,
        "return_item": item_names(session_factory, order.id)[0],
        "requested_slot": "return_reason",
    }


async def test_no_to_the_return_reason_stops_the_return(domain, session_factory) -> None:
    slots = return_reason_slots(session_factory)
    # return_reason is filled from any text (reasons are often negations the NLU reads as deny).
    tracker = answer_tracker(slots, "return_form", "no", "deny", {"return_reason": "no"})
    events, messages = await run_action(ValidateReturnForm(), tracker, domain)
    assert responses(messages) == ["utter_flow_stopped"]
    assert slot_events(events) == CLEARED_RETURN_SLOTS
    assert events_by_type(events, "active_loop") == [
        {"event": "active_loop", "name": None, "timestamp": None}
    ]
    # The turn ends there: the submit rule must not run action_request_return.
    assert [e["name"] for e in events_by_type(events, "followup")] == ["action_listen"]


async def test_a_negative_reason_is_still_a_reason(domain, session_factory) -> None:
    slots = return_reason_slots(session_factory)
    text = "no, they don't fit"
    tracker = answer_tracker(slots, "return_form", text, "deny", {"return_reason": text})
    events, messages = await run_action(ValidateReturnForm(), tracker, domain)
    assert messages == []
    assert slot_events(events)["return_reason"] == text
    assert not events_by_type(events, "active_loop")
    assert not events_by_type(events, "followup")


@pytest.mark.parametrize("text", ["never mind", "算了"])
async def test_never_mind_to_the_order_number_stops_tracking(domain, text: str) -> None:
    slots = {"customer_id": 1, "requested_slot": "order_id"}
    # Whatever the NLU said, "never mind" is not an order number.
    tracker = answer_tracker(slots, "track_order_form", text, "out_of_scope", {"order_id": text})
    events, messages = await run_action(ValidateTrackOrderForm(), tracker, domain)
    assert responses(messages) == ["utter_flow_stopped"]
    assert slot_events(events) == {"order_eligible": None, "requested_slot": None}


async def test_no_to_the_cancel_question_is_an_answer(domain, session_factory) -> None:
    order = find_order(session_factory, OrderStatus.PROCESSING)
    slots = {
        "customer_id": order.customer_id,
        "order_id": str(order.id),
        "order_eligible": True,
        "requested_slot": "confirm_cancel",
    }
    tracker = answer_tracker(slots, "cancel_order_form", "no", "deny", {"confirm_cancel": False})
    events, messages = await run_action(ValidateCancelOrderForm(), tracker, domain)
    assert "utter_flow_stopped" not in responses(messages)
    assert slot_events(events)["confirm_cancel"] is False
    assert not events_by_type(events, "followup")


async def test_the_form_asking_again_after_an_interruption_is_not_a_stop(domain) -> None:
    slots = {"customer_id": 1, "requested_slot": "order_id"}
    tracker = answer_tracker(slots, "track_order_form", "no", "deny")
    tracker.events += [
        {"event": "action", "name": "utter_greet"},
        {"event": "bot", "text": "Hi!"},
        {"event": "action", "name": "track_order_form"},
    ]
    events, messages = await run_action(ValidateTrackOrderForm(), tracker, domain)
    assert messages == []
    assert not events_by_type(events, "active_loop")


async def test_stop_flow_ends_the_form_with_a_confirmation(domain) -> None:
    tracker = make_tracker(
        {"return_item": "Trail Shoes", "order_id": "1001", "requested_slot": "return_reason"},
        text="no I don't want to do this",
        intent="deny",
        active_loop="return_form",
    )
    events, messages = await run_action(ActionStopFlow(), tracker, domain)
    assert responses(messages) == ["utter_flow_stopped"]
    assert slot_events(events) == CLEARED_RETURN_SLOTS
    assert events_by_type(events, "active_loop")[0]["name"] is None
