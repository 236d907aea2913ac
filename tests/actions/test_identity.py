"""Identity: the logged-in customer from channel metadata; guests are asked for an email."""

from __future__ import annotations

from actions.identity import ActionSessionStart, customer_id_from, requester_from
from tests.actions.conftest import make_tracker, run_action, slot_events


async def test_session_start_sets_customer_from_metadata(domain) -> None:
    tracker = make_tracker({"session_started_metadata": {"customer_id": "7"}}, events=[])
    events, messages = await run_action(ActionSessionStart(), tracker, domain)
    assert events[0]["event"] == "session_started"
    assert (
        events[-1]
        == {
            "event": "action",
            "name": "action_listen",
            "policy": None,
            "confidence": None,
            "action_text": None,
            "hide_rule_turn": False,
            "timestamp": None,
        }
        or events[-1]["name"] == "action_listen"
    )
    assert slot_events(events)["customer_id"] == 7
    assert slot_events(events)["session_started_metadata"] == {"customer_id": "7"}
    assert messages == []


async def test_session_start_ignores_unknown_or_missing_customers(domain) -> None:
    for metadata in ({"customer_id": 999999}, {"customer_id": "abc"}, None, {}):
        tracker = make_tracker({"session_started_metadata": metadata}, events=[])
        events, _ = await run_action(ActionSessionStart(), tracker, domain)
        assert "customer_id" not in slot_events(events)


async def test_session_start_carries_over_slots(domain) -> None:
    tracker = make_tracker({"order_id": "1001", "requested_slot": "email"}, events=[])
    events, _ = await run_action(ActionSessionStart(), tracker, domain)
    assert slot_events(events) == {"order_id": "1001"}


async def test_session_start_survives_a_database_failure(domain, broken_database) -> None:
    tracker = make_tracker({"session_started_metadata": {"customer_id": 3}}, events=[])
    events, messages = await run_action(ActionSessionStart(), tracker, domain)
    assert "customer_id" not in slot_events(events) and messages == []


def test_customer_id_from_slot_then_message_then_session() -> None:
    assert customer_id_from(make_tracker({"customer_id": 5}, metadata={"customer_id": 9})) == 5
    assert customer_id_from(make_tracker({}, metadata={"customer_id": "9"})) == 9
    assert customer_id_from(make_tracker({"session_started_metadata": {"customer_id": 4}})) == 4
    assert customer_id_from(make_tracker({}, metadata={"customer_id": -1})) is None
    assert customer_id_from(make_tracker({})) is None


def test_requester_is_customer_else_guest_email_else_none() -> None:
    assert requester_from(make_tracker({"customer_id": 5, "email": "a@b.co"})).customer_id == 5
    guest = requester_from(make_tracker({"email": "a@b.co"}))
    assert guest.customer_id is None and guest.email == "a@b.co"
    assert requester_from(make_tracker({})) is None
