"""Hand-over actions: per-turn assessment, escalation + pause, contact choice, rating."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Dict, List

import pytest
from rasa_sdk import Tracker

from actions import escalation
from actions.escalation import ActionAssessHandoff, ActionEscalate, turns_since_handback
from actions.human import ActionRequestHuman
from knowledge.handoff import escalations
from knowledge.handoff.agents import create_agent, touch
from tests.actions.conftest import make_tracker, responses, run_action, slot_events

NOW = datetime(2026, 11, 20, 12, 0, 0)
ISSUE = "this is the third time I ask, where is my refund, I'll dispute the charge"
NEGATIVE = {
    "label": "negative",
    "confidence": 0.9,
    "scores": {"negative": 0.9, "neutral": 0.07, "positive": 0.03},
}


def user(text: str, intent: str, sentiment: Dict[str, Any] | None = None) -> Dict[str, Any]:
    parse = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": []}
    if sentiment:
        parse["sentiment"] = sentiment
    return {"event": "user", "text": text, "parse_data": parse}


def tracker_for(
    events: List[Dict[str, Any]], slots: Dict[str, Any] | None = None, paused: bool = False
) -> Tracker:
    latest = events[-1]["parse_data"]
    return Tracker(
        sender_id="shopper-7",
        # Rasa sends every slot of the domain, set or not.
        slots={"handoff_event": None, "churn_risk": None, **(slots or {})},
        latest_message=latest,
        events=events,
        paused=paused,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def fixed_clock(monkeypatch) -> None:
    monkeypatch.setattr(escalation, "utcnow", lambda: NOW)


async def test_assess_flags_the_issue_example(domain, monkeypatch) -> None:
    fixed_clock(monkeypatch)
    tracker = tracker_for(
        [user("hi", "greet"), user(ISSUE, "get_refund", NEGATIVE)], {"customer_id": 1}
    )
    events, messages = await run_action(ActionAssessHandoff(), tracker, domain)
    slots = slot_events(events)
    assert slots["handoff_event"] == "escalate:churn_risk" and slots["churn_risk"] >= 0.5
    assert messages == []


async def test_assess_leaves_requests_to_the_rule_and_calm_turns_alone(domain) -> None:
    request = tracker_for([user("a human please", "contact_human_agent")])
    assert (
        slot_events((await run_action(ActionAssessHandoff(), request, domain))[0])["handoff_event"]
        is None
    )
    calm = tracker_for([user("where is my order", "track_order")])
    assert (
        slot_events((await run_action(ActionAssessHandoff(), calm, domain))[0])["handoff_event"]
        is None
    )


def test_scoring_restarts_after_a_hand_back() -> None:
    events = [user(ISSUE, "get_refund", NEGATIVE), {"event": "resume"}, user("thanks", "thank")]
    assert [t.text for t in turns_since_handback(events)] == ["thanks"]
    failed = [
        user("where is 9", "track_order"),
        {"event": "action", "name": "utter_order_not_found"},
    ]
    assert turns_since_handback(failed)[0].failed_lookup


async def test_escalate_records_pauses_and_offers_contact_when_nobody_is_online(
    domain, monkeypatch, session_factory
) -> None:
    fixed_clock(monkeypatch)
    tracker = tracker_for(
        [user(ISSUE, "get_refund", NEGATIVE)],
        {"customer_id": 1, "handoff_event": "escalate:churn_risk"},
    )
    events, messages = await run_action(ActionEscalate(), tracker, domain)
    assert events[-1] == {"event": "pause", "timestamp": None}
    assert responses(messages) == ["utter_handoff_no_agent"]
    with session_factory() as session:
        [item] = escalations.queue(session)
        view = escalations.view(session, item.id)
    assert item.sender_id == "shopper-7" and item.trigger == "churn_risk"
    assert item.customer_id == 1 and item.offered_contact and item.priority >= 3
    assert "churn risk" in item.reason and view.churn_reasons[0]["signal"] == "dispute"


async def test_request_human_with_an_agent_online(domain, monkeypatch, session_factory) -> None:
    fixed_clock(monkeypatch)
    with session_factory() as session, session.begin():
        agent = create_agent(session, "alex", "Alex", "password123", rounds=4)
        touch(session, agent.id, NOW - timedelta(seconds=5))
    tracker = make_tracker(
        {}, text="human please", intent="contact_human_agent", active_loop="return_form"
    )
    events, messages = await run_action(ActionRequestHuman(), tracker, domain)
    assert responses(messages) == ["utter_human_handoff"]
    assert {"event": "active_loop", "name": None, "timestamp": None} in events
    assert slot_events(events)["handoff_requested"] is True
    assert events[-1]["event"] == "pause"
    with session_factory() as session:
        [item] = escalations.queue(session)
    assert item.trigger == "request" and not item.offered_contact


async def test_database_failure_tells_the_shopper_and_does_not_pause(
    domain, broken_database
) -> None:
    tracker = make_tracker({}, text="human", intent="contact_human_agent")
    events, messages = await run_action(ActionRequestHuman(), tracker, domain)
    assert responses(messages) == ["utter_handoff_unavailable"]
    assert all(e["event"] != "pause" for e in events)


async def test_paused_contact_choice_and_rating(domain, monkeypatch, session_factory) -> None:
    fixed_clock(monkeypatch)
    tracker = tracker_for([user(ISSUE, "get_refund", NEGATIVE)], {"customer_id": 1})
    await run_action(ActionEscalate(), tracker, domain)
    paused = tracker_for([user("Please call me back", "inform")], paused=True)
    events, messages = await run_action(ActionAssessHandoff(), paused, domain)
    assert responses(messages) == ["utter_handoff_callback_noted"]
    with session_factory() as session, session.begin():
        [item] = escalations.queue(session)
        assert item.contact_method == "callback"
        agent = create_agent(session, "alex", "Alex", "password123", rounds=4)
        escalations.claim(session, item.id, agent, NOW)
        escalations.resolve(session, item.id, agent, NOW)
    rating = tracker_for(
        [
            {"event": "action", "name": "utter_ask_handoff_rating"},
            {"event": "action", "name": "action_listen"},
            user("5", "nlu_fallback"),
        ]
    )
    events, _ = await run_action(ActionAssessHandoff(), rating, domain)
    assert slot_events(events)["handoff_event"] == "rated"
    with session_factory() as session:
        assert escalations.view(session, item.id).rating == 5


async def test_learned_handoff_head_flags_a_calm_turn_the_rules_miss(domain) -> None:
    calm = user("i want to talk about my order", "track_order")
    calm["parse_data"]["handoff"] = {"label": True, "confidence": 0.93}
    events, _ = await run_action(ActionAssessHandoff(), tracker_for([calm]), domain)
    assert slot_events(events)["handoff_event"] == "escalate:" + escalation.TRIGGER_LEARNED
    calm["parse_data"]["handoff"] = {"label": False, "confidence": 0.93}
    events, _ = await run_action(ActionAssessHandoff(), tracker_for([calm]), domain)
    assert slot_events(events)["handoff_event"] is None


@pytest.mark.parametrize("intent", ["nlu_fallback", "out_of_scope"])
async def test_the_learned_head_alone_never_hands_over_a_message_the_nlu_could_not_read(
    domain, intent
) -> None:
    """Pasted SQL scored 0.98 "to a person": unread messages go to the staged fallback."""
    pasted = user("1 UNION SELECT email, password_hash FROM customers--", intent)
    pasted["parse_data"]["handoff"] = {"label": True, "confidence": 0.98}
    events, _ = await run_action(ActionAssessHandoff(), tracker_for([pasted]), domain)
    assert slot_events(events)["handoff_event"] is None


async def test_the_learned_head_hands_over_a_fallback_that_was_only_ambiguous(domain) -> None:
    """Two read intents too close to choose (track_order 0.35, complaint 0.31) is a message the
    NLU read; a fallback whose best read intent is weak is not."""
    angry = user("物流一直不动，问了好几次都没人管，我要找你们主管", "nlu_fallback")
    angry["parse_data"]["handoff"] = {"label": True, "confidence": 0.97}
    ranking = [("nlu_fallback", 0.25), ("track_order", 0.35), ("complaint", 0.31)]
    angry["parse_data"]["intent_ranking"] = [{"name": n, "confidence": c} for n, c in ranking]
    events, _ = await run_action(ActionAssessHandoff(), tracker_for([angry]), domain)
    assert slot_events(events)["handoff_event"] == "escalate:" + escalation.TRIGGER_LEARNED
    weak = [("nlu_fallback", 0.25), ("out_of_scope", 0.4), ("change_order", 0.15)]
    angry["parse_data"]["intent_ranking"] = [{"name": n, "confidence": c} for n, c in weak]
    events, _ = await run_action(ActionAssessHandoff(), tracker_for([angry]), domain)
    assert slot_events(events)["handoff_event"] is None


async def test_the_turn_action_records_and_assesses_in_one_call(
    domain, session_factory, monkeypatch
) -> None:
    """action_record_turn (the one per-turn action-server call) stores the turn and flags it."""
    from sqlalchemy import select

    from actions.record_turn import ActionRecordTurn, flush_pending_turns
    from knowledge.models import Message

    fixed_clock(monkeypatch)
    tracker = tracker_for(
        [user("hi", "greet"), user(ISSUE, "get_refund", NEGATIVE)], {"customer_id": 1}
    )
    events, messages = await run_action(ActionRecordTurn(), tracker, domain)
    flush_pending_turns(timeout=10)
    slots = slot_events(events)
    assert slots["handoff_event"] == "escalate:churn_risk" and slots["churn_risk"] >= 0.5
    assert messages == []
    with session_factory() as session:
        stored = session.execute(select(Message.text)).scalars().all()
    assert stored == [ISSUE]


async def test_the_turn_action_answers_a_contact_choice_while_paused(
    domain, monkeypatch, session_factory
) -> None:
    """While paused the merged action still stores and confirms a callback choice."""
    from actions.record_turn import ActionRecordTurn, flush_pending_turns

    fixed_clock(monkeypatch)
    tracker = tracker_for([user(ISSUE, "get_refund", NEGATIVE)], {"customer_id": 1})
    await run_action(ActionEscalate(), tracker, domain)
    paused = tracker_for([user("Please call me back", "inform")], paused=True)
    events, messages = await run_action(ActionRecordTurn(), paused, domain)
    flush_pending_turns(timeout=10)
    assert slot_events(events) == {"handoff_event": None}
    assert responses(messages) == ["utter_handoff_callback_noted"]
    with session_factory() as session:
        [item] = escalations.queue(session)
        assert item.contact_method == "callback"


def test_a_routed_message_is_one_turn_not_two() -> None:
    """action_route_message reverts the message and logs it again with the routed intent:
    the streak counters must see it once (it escalated a single upset message as a streak)."""
    upset = user("1001; DROP TABLE orders;--", "nlu_fallback", NEGATIVE)
    routed = user("1001; DROP TABLE orders;--", "track_order", NEGATIVE)
    events = [
        upset,
        {"event": "action", "name": "action_route_message"},
        {"event": "rewind"},
        {"event": "action", "name": "action_listen"},
        routed,
    ]
    turns = turns_since_handback(events)
    assert [t.intent for t in turns] == ["track_order"]
    # Without the revert both would count.
    assert len(turns_since_handback([upset, routed])) == 2


async def test_an_escalation_reuses_the_assessment_of_the_same_message(
    domain, monkeypatch, session_factory
) -> None:
    fixed_clock(monkeypatch)
    queries: List[int | None] = []
    real = escalation.load_churn_inputs

    def counting(customer_id: int | None) -> Any:
        queries.append(customer_id)
        return real(customer_id)

    monkeypatch.setattr(escalation, "load_churn_inputs", counting)

    def turn(message_id: str, handoff_event: str | None) -> Tracker:
        tracker = tracker_for(
            [user(ISSUE, "get_refund", NEGATIVE)],
            {"customer_id": 1, "handoff_event": handoff_event},
        )
        tracker.latest_message["message_id"] = message_id
        return tracker

    events, _ = await run_action(ActionAssessHandoff(), turn("m1", None), domain)
    assert slot_events(events)["handoff_event"] == "escalate:churn_risk"
    events, _ = await run_action(ActionEscalate(), turn("m1", "escalate:churn_risk"), domain)
    assert events[-1]["event"] == "pause"
    assert queries == [1]  # the escalation of the same message queried nothing
    with session_factory() as session:
        [item] = escalations.queue(session)
    assert item.churn_risk == pytest.approx(slot_events(events)["churn_risk"], abs=1e-3)
    # A new message of the conversation is assessed again.
    await run_action(ActionAssessHandoff(), turn("m2", None), domain)
    assert queries == [1, 1]
    # So is the same message logged again under another intent (action_route_message).
    routed = turn("m2", None)
    routed.latest_message["intent"] = {"name": "track_refund", "confidence": 0.9}
    await run_action(ActionAssessHandoff(), routed, domain)
    assert queries == [1, 1, 1]


async def test_an_escalation_in_the_turn_links_to_the_turn_its_queued_write_stores(
    domain, session_factory, monkeypatch
) -> None:
    """action_record_turn assesses first and queues the graph write after; the escalation of the
    same turn runs after that write on the writer's thread, so it links to the turn's message
    (before, with the writer busy, it created the conversation itself and linked no message)."""
    import asyncio
    import threading

    from sqlalchemy import select

    from actions import deps
    from actions.record_turn import ActionRecordTurn, flush_pending_turns
    from knowledge.models import Conversation, Escalation, Message

    fixed_clock(monkeypatch)
    busy = threading.Event()
    deps.turn_writer().submit(busy.wait, 10)  # the writer still stores an earlier turn
    turn = [user(ISSUE, "get_refund", NEGATIVE)]
    events, _ = await run_action(ActionRecordTurn(), tracker_for(turn, {"customer_id": 1}), domain)
    flagged = slot_events(events)["handoff_event"]
    assert flagged == "escalate:churn_risk"
    escalate = tracker_for(turn, {"customer_id": 1, "handoff_event": flagged})
    opening = asyncio.create_task(run_action(ActionEscalate(), escalate, domain))
    await asyncio.sleep(0.2)
    assert not opening.done()  # waits for the queued write
    busy.set()
    events, _ = await asyncio.wait_for(opening, 10)
    flush_pending_turns(timeout=10)
    assert events[-1] == {"event": "pause", "timestamp": None}
    with session_factory() as session:
        [conversation] = session.execute(select(Conversation)).scalars().all()
        [message] = session.execute(select(Message)).scalars().all()
        [opened] = session.execute(select(Escalation)).scalars().all()
    assert conversation.sender_id == "shopper-7" and message.text == ISSUE
    assert opened.conversation_id == conversation.id and opened.message_id == message.id
