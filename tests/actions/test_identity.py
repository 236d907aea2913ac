"""Identity: the signed-in customer from a signed metadata claim; guests are asked for an email.

An unsigned, forged or expired claim is refused: the shopper is a guest and is told once.
"""

from __future__ import annotations

from rasa_sdk.executor import CollectingDispatcher

from actions import deps
from actions.identity import (
    SIGN_IN_NOT_VERIFIED,
    ActionSessionStart,
    customer_id_from,
    explain_refused_claim,
    requester_from,
)
from knowledge.shop.identity_token import sign_customer_id
from tests.actions.conftest import make_tracker, run_action, signed, slot_events


async def test_session_start_sets_customer_from_metadata(domain) -> None:
    metadata = {"customer_id": signed(7)}
    tracker = make_tracker({"session_started_metadata": metadata}, events=[])
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
    assert slot_events(events)["session_started_metadata"] == metadata
    assert messages == []


async def test_session_start_ignores_unknown_or_missing_customers(domain) -> None:
    for metadata in ({"customer_id": signed(999999)}, None, {}):
        tracker = make_tracker({"session_started_metadata": metadata}, events=[])
        events, messages = await run_action(ActionSessionStart(), tracker, domain)
        assert "customer_id" not in slot_events(events) and messages == []


async def test_session_start_refuses_unsigned_forged_and_expired_claims(domain) -> None:
    expired = sign_customer_id(7, deps.settings(), ttl_s=-1)
    forged = signed(8).replace("8.", "7.", 1)
    for claim in (7, "7", "abc", expired, forged):
        # Even a carried-over customer is dropped when the new session's claim is refused.
        tracker = make_tracker(
            {"customer_id": 7, "session_started_metadata": {"customer_id": claim}}, events=[]
        )
        events, messages = await run_action(ActionSessionStart(), tracker, domain)
        assert "customer_id" not in slot_events(events), claim
        # Told after session_started, where every later action of the session sees it.
        kinds = [e["event"] for e in events]
        assert kinds.index("session_started") < kinds.index("bot") < kinds.index("action")
        assert [e["text"] for e in events if e["event"] == "bot"] == [SIGN_IN_NOT_VERIFIED]
        assert messages == [], claim


async def test_session_start_carries_over_slots(domain) -> None:
    tracker = make_tracker({"order_id": "1001", "requested_slot": "email"}, events=[])
    events, _ = await run_action(ActionSessionStart(), tracker, domain)
    assert slot_events(events) == {"order_id": "1001"}


async def test_session_start_survives_a_database_failure(domain, broken_database) -> None:
    tracker = make_tracker({"session_started_metadata": {"customer_id": signed(3)}}, events=[])
    events, messages = await run_action(ActionSessionStart(), tracker, domain)
    assert "customer_id" not in slot_events(events) and messages == []


def test_customer_id_from_message_claim_then_slot_then_session() -> None:
    assert customer_id_from(make_tracker({"customer_id": 5})) == 5
    assert (
        customer_id_from(make_tracker({"customer_id": 5}, metadata={"customer_id": signed(9)})) == 9
    )
    assert customer_id_from(make_tracker({}, metadata={"customer_id": signed(9)})) == 9
    session = {"session_started_metadata": {"customer_id": signed(4)}}
    assert customer_id_from(make_tracker(session)) == 4
    assert customer_id_from(make_tracker({})) is None


def test_a_refused_claim_on_the_message_makes_a_guest() -> None:
    for claim in (9, "9", -1, signed(9) + "x"):
        tracker = make_tracker({"customer_id": 5}, metadata={"customer_id": claim})
        assert customer_id_from(tracker) is None, claim
        assert requester_from(tracker) is None
    unsigned_session = {"session_started_metadata": {"customer_id": 4}}
    assert customer_id_from(make_tracker(unsigned_session)) is None


def test_the_shopper_is_told_once_per_session() -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker({}, metadata={"customer_id": "9"})
    explain_refused_claim(dispatcher, tracker)
    explain_refused_claim(dispatcher, tracker)
    assert [m["text"] for m in dispatcher.messages] == [SIGN_IN_NOT_VERIFIED]
    told = make_tracker(
        {},
        metadata={"customer_id": "9"},
        events=[{"event": "session_started"}, {"event": "bot", "text": SIGN_IN_NOT_VERIFIED}],
    )
    later = CollectingDispatcher()
    explain_refused_claim(later, told)
    assert later.messages == []
    explain_refused_claim(later, make_tracker({}, metadata={"customer_id": signed(9)}))
    assert later.messages == []


def test_a_forms_validation_sees_the_notice_session_start_gave() -> None:
    # A form's validation action gets Rasa's temporary tracker, which starts at session_started
    # (seen on the live system): the notice must lie after it, as session start now puts it.
    from_session_start = [
        {"event": "session_started"},
        {"event": "slot", "name": "session_started_metadata", "value": {"customer_id": "9"}},
        {"event": "bot", "text": SIGN_IN_NOT_VERIFIED},
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": "where is my order 3?"},
        {"event": "bot", "text": "You're not signed in, so I need to check it's your order first."},
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": "attacker@example.com"},
        {"event": "action", "name": "track_order_form"},
    ]
    dispatcher = CollectingDispatcher()
    tracker = make_tracker({}, metadata={"customer_id": "9"}, events=from_session_start)
    explain_refused_claim(dispatcher, tracker)
    assert dispatcher.messages == []


def test_requester_is_customer_else_guest_email_else_none() -> None:
    assert requester_from(make_tracker({"customer_id": 5, "email": "a@b.co"})).customer_id == 5
    guest = requester_from(make_tracker({"email": "a@b.co"}))
    assert guest.customer_id is None and guest.email == "a@b.co"
    assert requester_from(make_tracker({})) is None
