"""Hand-over to a person: churn risk on every turn, escalation, pause, contact choice, rating.

How the pieces fit (see also ``nlu/handoff_policy.py`` and ``bot/domain/handoff.yml``):

* :func:`assess_turn` runs on EVERY user turn inside ``action_record_turn`` (the one custom slot
  mapping with an action, ``bot/domain/turn_tracking.yml``: Rasa's ``action_extract_slots`` calls
  it before any policy predicts, also while the conversation is paused; one action-server round
  trip per turn records and assesses). It scores churn risk (``knowledge/scoring/churn.py``) from
  the turns since the last hand-back and the customer's knowledge-graph history, and sets
  ``churn_risk`` and ``handoff_event`` (``"escalate:<trigger>"`` when a person should take over;
  :func:`handoff_trigger_of` is the one place that decides). ``action_extract_slots`` keeps only
  SlotSet and BotUttered events, so it cannot pause the bot itself.
* ``HandoffPolicy`` sees ``handoff_event`` set in this turn and predicts ``action_escalate``,
  which opens a durable :class:`~knowledge.models.Escalation`, tells the shopper what happens
  next and returns ``ConversationPaused``: Rasa stops predicting for this conversation, so the
  bot never talks over the agent, while ``action_extract_slots`` still records each turn.
* While paused, the assessment still answers the shopper's callback/e-mail choice (a BotUttered).
* After the agent resolves, the console appends ``ConversationResumed`` and the bot asks for a
  rating; a 1-5 answer sets ``handoff_event = "rated"`` and the policy thanks the shopper.
"""

from __future__ import annotations

import asyncio
import logging
import re
from abc import ABC, abstractmethod
from datetime import datetime, timezone
from typing import Any, Dict, List, Mapping, Sequence

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, ConversationPaused, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import deps
from actions.identity import customer_id_from
from knowledge.graph.queries import ChurnInputs, UnknownCustomerError, churn_inputs
from knowledge.graph.record import signed_sentiment
from knowledge.handoff import agents, escalations
from knowledge.scoring.churn import (
    TRIGGER_CHURN_RISK,
    TRIGGER_FALLBACKS,
    TRIGGER_NEGATIVE_STREAK,
    TRIGGER_REQUEST,
    Assessment,
    ChurnConfig,
    Turn,
    assess,
)
from nlu.output_keys import HANDOFF, SENTIMENT
from nlu.routing import FALLBACK_INTENT, RANKING_MIN_CONFIDENCE, ranked

logger = logging.getLogger(__name__)

ASSESS_ACTION = "action_assess_handoff"
ESCALATE_ACTION = "action_escalate"
EVENT_SLOT = "handoff_event"
RISK_SLOT = "churn_risk"
ESCALATE_PREFIX = "escalate:"
RATED = "rated"
RATING_QUESTION = "utter_ask_handoff_rating"
# Bot responses that mean a lookup failed for the shopper.
FAILED_LOOKUP = re.compile(r"^utter_\w*not_found")
CALLBACK = re.compile(
    r"\b(call\s*(me\s*)?back|callback|phone|ring me|call me)\b|回电|回拨|打电话|来电|电话联系",
    re.IGNORECASE,
)
EMAIL = re.compile(r"\b(e-?mail|ticket|write to me|mail me)\b|邮件|邮箱|工单|电邮", re.IGNORECASE)
RATING = re.compile(r"^\s*([1-5])\s*(stars?|/\s*5|out of 5)?\s*$", re.IGNORECASE)
# Events after which the conversation starts over for churn scoring.
RESET_EVENTS = {"resume", "restart", "session_started"}
# The NLU's learned hand-over head (``nlu.output_keys.HANDOFF``) said "a person should take this".
TRIGGER_LEARNED = "handoff_model"
#: rasa's UserUtteranceReverted: the latest user message was taken back (and logged again).
REVERTED_EVENT = "rewind"
#: Messages the NLU could not read: the learned head alone never hands them over (pasted
#: code, SQL or gibberish scored 0.98 "to a person"); the churn rules still may.
UNREAD_INTENTS = frozenset({"nlu_fallback", "out_of_scope"})
# Conversations whose latest assessment is kept (deps.assessments), so that an escalation action
# of the same turn reuses what action_record_turn computed (least recently assessed dropped first).
ASSESSMENTS_KEPT = 1000
REASON_TEXT = {
    TRIGGER_REQUEST: "Shopper asked for a person",
    TRIGGER_LEARNED: "The hand-over model says a person should take this",
    TRIGGER_FALLBACKS: "Bot did not understand the shopper repeatedly",
    TRIGGER_NEGATIVE_STREAK: "Shopper upset on several turns in a row",
    TRIGGER_CHURN_RISK: "High churn risk",
}


def utcnow() -> datetime:
    """Now as naive UTC, like the knowledge graph's timestamps (tests replace it)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def turn_from_parse(text: str, parse: Mapping[str, Any]) -> Turn:
    """The scoring turn of one user message from its NLU parse result (``parse_data``)."""
    intent = (parse.get("intent") or {}).get("name")
    label, score, confidence = signed_sentiment(parse.get(SENTIMENT))
    return Turn(
        text=text,
        intent=str(intent) if intent else None,
        sentiment_label=label,
        sentiment_confidence=confidence,
        sentiment_score=score,
    )


def handoff_trigger_of(assessment: Assessment, parse: Mapping[str, Any]) -> str | None:
    """Why the latest message goes to a person, or None: the churn rule's trigger, else the
    NLU's learned hand-over head (``HANDOFF``: ``{"label": bool, ...}``) when it publishes one
    for a message the NLU could read (:func:`nlu_read`).

    The single place that decides; ``benchmarks/bench_shoppers.py`` scores exactly this.
    """
    if assessment.trigger is not None:
        return assessment.trigger
    learned = parse.get(HANDOFF)
    if nlu_read(parse) and isinstance(learned, Mapping) and learned.get("label") is True:
        return TRIGGER_LEARNED
    return None


def nlu_read(parse: Mapping[str, Any]) -> bool:
    """Whether the NLU read the message: an intent other than ``UNREAD_INTENTS``, or a fallback
    only for ambiguity (two read intents close, the best at ``RANKING_MIN_CONFIDENCE`` or more,
    as "late parcel, asked five times, get me your manager": track_order 0.35, complaint 0.31)."""
    name = (parse.get("intent") or {}).get("name")
    if name not in UNREAD_INTENTS:
        return True
    if name != FALLBACK_INTENT:
        return False
    read = [confidence for name, confidence in ranked(parse) if name not in UNREAD_INTENTS]
    return bool(read) and read[0] >= RANKING_MIN_CONFIDENCE


def turns_since_handback(events: Sequence[Dict[str, Any]]) -> List[Turn]:
    """The user turns since the last hand-back, restart or new session, oldest first."""
    turns: List[Turn] = []
    failed: List[bool] = []
    for event in events:
        kind = event.get("event")
        if kind in RESET_EVENTS:
            turns, failed = [], []
        elif kind == "user":
            turn = turn_from_parse(event.get("text") or "", event.get("parse_data") or {})
            if turn.intent and turn.intent.startswith("EXTERNAL_"):
                continue
            turns.append(turn)
            failed.append(False)
        elif kind == REVERTED_EVENT and turns:
            # A routed message is reverted and logged again with its new intent
            # (actions/route_message.py): one turn, not two.
            turns.pop()
            failed.pop()
        elif kind == "action" and failed and FAILED_LOOKUP.match(event.get("name") or ""):
            failed[-1] = True
    return [
        Turn(t.text, t.intent, t.sentiment_label, t.sentiment_confidence, t.sentiment_score, f)
        for t, f in zip(turns, failed, strict=True)
    ]


def load_churn_inputs(customer_id: int | None) -> ChurnInputs | None:
    """The customer's knowledge-graph churn signals, ``None`` for guests or on database errors."""
    if customer_id is None:
        return None
    try:
        with deps.session_factory()() as session:
            return churn_inputs(session, customer_id, utcnow())
    except UnknownCustomerError:
        return None
    except Exception:
        logger.exception("Could not read churn inputs of customer %s", customer_id)
        return None


async def assess_tracker(tracker: Tracker) -> Assessment:
    """Churn assessment of the tracker's conversation after its latest turn.

    Computed once per user message: the escalation action of a turn gets the assessment that
    ``action_record_turn`` made of the same message (Rasa's message id and the intent it was
    read as: a message that action_route_message logged again with another intent is assessed
    again), not a second round of queries (docs/performance.md, cut 12).
    """
    latest = tracker.latest_message or {}
    message_id = str(latest.get("message_id") or "")
    key = f"{message_id}\n{(latest.get('intent') or {}).get('name') or ''}"
    kept = deps.assessments.get(tracker.sender_id)
    if message_id and kept is not None and kept[0] == key:
        deps.assessments.move_to_end(tracker.sender_id)
        return kept[1]
    assessment = await _assess(tracker)
    if message_id:
        deps.assessments[tracker.sender_id] = (key, assessment)
        deps.assessments.move_to_end(tracker.sender_id)
        while len(deps.assessments) > ASSESSMENTS_KEPT:
            deps.assessments.popitem(last=False)
    return assessment


async def _assess(tracker: Tracker) -> Assessment:
    """:func:`assess_tracker` without the per-message reuse."""
    settings = deps.settings()
    inputs = None
    try:
        inputs = await asyncio.wait_for(
            asyncio.to_thread(load_churn_inputs, customer_id_from(tracker)),
            settings.record_turn_timeout_s,
        )
    except asyncio.TimeoutError:
        logger.error("Churn inputs of %s took too long; scoring the conversation only", tracker)
    return assess(
        turns_since_handback(tracker.events or []), inputs, ChurnConfig.from_settings(settings)
    )


def describe(assessment: Assessment, trigger: str) -> str:
    """A one-line reason for the agents' queue."""
    text = REASON_TEXT.get(trigger, trigger)
    top = [r.detail for r in assessment.reasons[:3]]
    tail = f" ({'; '.join(top)})" if top else ""
    return f"{text}, churn risk {assessment.risk:.2f}{tail}"[:200]


async def assess_turn(dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
    """The hand-over assessment of the latest user turn: ``churn_risk`` and ``handoff_event``.

    Runs inside ``action_record_turn`` (one action-server call per turn for the bookkeeping);
    while paused it answers a callback/e-mail choice, and a 1-5 answer to the rating question
    sets ``handoff_event = "rated"``. Never raises: a failure clears ``handoff_event``.
    """
    latest = tracker.latest_message or {}
    intent = (latest.get("intent") or {}).get("name") or ""
    text = latest.get("text") or ""
    if intent.startswith("EXTERNAL_") or not (text or intent):
        return []
    try:
        if tracker.is_paused():
            await _answer_while_paused(dispatcher, tracker, text)
            return [SlotSet(EVENT_SLOT, None)]
        if is_rating_answer(tracker, text):
            stored = await asyncio.to_thread(_store_rating, tracker.sender_id, text)
            return [SlotSet(EVENT_SLOT, RATED if stored else None)]
        assessment = await assess_tracker(tracker)
    except Exception:
        logger.exception("Hand-over assessment failed for %s", tracker.sender_id)
        return [SlotSet(EVENT_SLOT, None)]
    trigger = handoff_trigger_of(assessment, latest)
    # An explicit request is answered by action_request_human through the dialogue rules.
    event = None if trigger in (None, TRIGGER_REQUEST) else ESCALATE_PREFIX + trigger
    if event:
        logger.info("Hand-over flagged for %s: %s", tracker.sender_id, assessment.as_dict())
    return [SlotSet(RISK_SLOT, round(assessment.risk, 3)), SlotSet(EVENT_SLOT, event)]


def is_rating_answer(tracker: Tracker, text: str) -> bool:
    """The shopper answers the rating question with 1-5."""
    if not RATING.match(text):
        return False
    for event in reversed(tracker.events or []):
        if event.get("event") == "action" and event.get("name") not in ("action_listen", None):
            return event.get("name") == RATING_QUESTION
    return False


async def _answer_while_paused(
    dispatcher: CollectingDispatcher, tracker: Tracker, text: str
) -> None:
    """Store a callback/e-mail choice and confirm it; other messages wait for the agent."""
    method = "callback" if CALLBACK.search(text) else "email" if EMAIL.search(text) else None
    if method is None:
        return
    stored = await asyncio.to_thread(_store_contact_choice, tracker.sender_id, method)
    if stored:
        dispatcher.utter_message(response=f"utter_handoff_{method}_noted")


class ActionAssessHandoff(Action):
    """:func:`assess_turn` as an action of its own (the bot runs it in ``action_record_turn``)."""

    def name(self) -> str:
        """Not in the domain: kept for callers that assess a tracker by action name."""
        return ASSESS_ACTION

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        """Set ``churn_risk`` and ``handoff_event``; while paused, answer contact choices."""
        return await assess_turn(dispatcher, tracker)


class EscalateBase(Action, ABC):
    """Open an escalation, tell the shopper what happens next, pause the bot."""

    # Said when an agent is online; otherwise utter_handoff_no_agent offers a callback/ticket.
    started_response = "utter_handoff_started"

    @abstractmethod
    def trigger(self, tracker: Tracker) -> str:
        """Why this conversation goes to a person (a ``TRIGGER_*`` of knowledge.scoring.churn)."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        """Record the escalation durably, then pause; on database failure, offer e-mail."""
        trigger = self.trigger(tracker)
        assessment = await assess_tracker(tracker)
        try:
            # After this turn's queued graph write, which creates the conversation and message
            # the escalation links to (the write is queued after the assessment).
            opened, online = await deps.after_queued_turns(
                _open, tracker, trigger, assessment, describe(assessment, trigger)
            )
        except Exception:
            logger.exception("Could not open an escalation for %s", tracker.sender_id)
            dispatcher.utter_message(response="utter_handoff_unavailable")
            return [SlotSet(EVENT_SLOT, None)]
        if online:
            dispatcher.utter_message(response=self.started_response)
        else:
            dispatcher.utter_message(response="utter_handoff_no_agent")
        events: List[EventType] = [
            SlotSet(EVENT_SLOT, None),
            SlotSet(RISK_SLOT, round(assessment.risk, 3)),
        ]
        if tracker.active_loop_name:
            events += [ActiveLoop(None), SlotSet("requested_slot", None)]
        logger.info(
            "Conversation %s handed to a person (escalation %s, new=%s, online=%s)",
            tracker.sender_id,
            opened.id,
            opened.created,
            online,
        )
        return [*events, ConversationPaused()]


class ActionEscalate(EscalateBase):
    """Automatic hand-over flagged by ``action_assess_handoff`` (predicted by HandoffPolicy)."""

    def name(self) -> str:
        """Predicted by ``nlu.handoff_policy.HandoffPolicy``."""
        return ESCALATE_ACTION

    def trigger(self, tracker: Tracker) -> str:
        """The trigger stored in ``handoff_event``."""
        value = str(tracker.get_slot(EVENT_SLOT) or "")
        return value[len(ESCALATE_PREFIX) :] if value.startswith(ESCALATE_PREFIX) else "churn_risk"


def _open(
    tracker: Tracker, trigger: str, assessment: Assessment, reason: str
) -> tuple[escalations.Opened, bool]:
    """Open (or find) the escalation; whether an agent is online. Offers contact if none."""
    settings = deps.settings()
    now = utcnow()
    customer = assessment.customer
    with deps.session_factory()() as session, session.begin():
        opened = escalations.open_escalation(
            session,
            sender_id=tracker.sender_id,
            reason=reason,
            trigger=trigger,
            priority=assessment.priority,
            churn_risk=assessment.risk,
            customer_risk=customer.risk if customer else 0.0,
            churn_reasons=[r.as_dict() for r in assessment.reasons],
            customer_id=customer_id_from(tracker),
            channel=tracker.get_latest_input_channel(),
            now=now,
        )
        online = agents.agents_online(session, now, settings.handoff_presence_s) > 0
        if not online:
            escalations.mark_contact_offered(session, opened.id, now)
    return opened, online


def _store_contact_choice(sender_id: str, method: str) -> bool:
    with deps.session_factory()() as session, session.begin():
        return escalations.record_contact_choice(session, sender_id, method, utcnow())


def _store_rating(sender_id: str, text: str) -> bool:
    match = RATING.match(text)
    if not match:
        return False
    with deps.session_factory()() as session, session.begin():
        return escalations.record_rating(session, sender_id, int(match.group(1)), utcnow())
