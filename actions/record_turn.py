"""``action_record_turn``: the per-turn bookkeeping, one action-server call per user message.

Rasa runs it after EVERY user message, before any policy predicts, whatever rule, story or form
is active: the domain (``bot/domain/turn_tracking.yml``) gives the slot ``turn_tracking`` a single
``custom`` slot mapping with this action and no conditions, and Rasa's default action
``action_extract_slots`` (run by ``MessageProcessor.handle_message`` on each message) calls the
action of every unconditional custom mapping. It does two jobs in that one call (each round trip
serialises the whole tracker and domain; docs/performance.md), the second first:

1. writes the turn into the customer knowledge graph. By default the write happens on the action
   server's background writer thread (``deps.turn_writer``), so the reply does not wait for the
   database; with ``record_turn_in_background`` off it writes before answering and waits at most
   ``Settings.record_turn_timeout_s``. Recording returns no events and never raises.
2. when the domain has the ``handoff_event`` slot (``bot/domain/handoff.yml``), runs the
   hand-over assessment (:func:`actions.escalation.assess_turn`) and returns its ``SlotSet``
   events (and, while paused, its confirmation of a contact choice).
"""

from __future__ import annotations

import asyncio
import logging
from concurrent import futures
from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import IntegrityError

from actions import deps
from actions.escalation import EVENT_SLOT, assess_turn
from actions.identity import verify_claim
from knowledge.graph.record import (
    DemandInput,
    RecordResult,
    TurnInput,
    record_turn,
    signed_sentiment,
)
from nlu.output_keys import DEMANDS, SENTIMENT

logger = logging.getLogger(__name__)

ACTION_NAME = "action_record_turn"
# Slot filled by channel metadata (identity) and read as the turn's customer.
CUSTOMER_SLOT = "customer_id"
# Slot holding the order the conversation is about.
ORDER_SLOT = "order_id"
# Entities naming shop rows.
PRODUCT_ENTITY = "product"
ORDER_ENTITY = "order_id"


def turn_from_tracker(tracker: Tracker) -> TurnInput:
    """The :class:`TurnInput` of the tracker's latest user message."""
    latest: Dict[str, Any] = tracker.latest_message or {}
    user_event = _latest_user_event(tracker)
    intent = latest.get("intent") or {}
    label, score, confidence = signed_sentiment(latest.get(SENTIMENT))
    entities = latest.get("entities") or []
    metadata = (user_event.get("metadata") or {}) if user_event else {}
    if not metadata:
        metadata = latest.get("metadata") or {}
    demands = [
        DemandInput(
            aspect=str(d["aspect"]),
            confidence=float(d.get("confidence") or 0.0),
            product=d.get("product") or None,
        )
        for d in (latest.get(DEMANDS) or [])
        if isinstance(d, dict) and d.get("aspect")
    ]
    return TurnInput(
        sender_id=tracker.sender_id,
        text=latest.get("text") or (user_event or {}).get("text") or "",
        rasa_message_id=latest.get("message_id") or (user_event or {}).get("message_id"),
        rasa_timestamp=(user_event or {}).get("timestamp"),
        channel=tracker.get_latest_input_channel(),
        customer_id=_customer_id(tracker.get_slot(CUSTOMER_SLOT), _verified_customer(metadata)),
        intent=intent.get("name"),
        intent_confidence=_optional_float(intent.get("confidence")),
        sentiment_label=label,
        sentiment_score=score,
        sentiment_confidence=confidence,
        demands=tuple(demands),
        product_names=tuple(
            str(e["value"])
            for e in entities
            if e.get("entity") == PRODUCT_ENTITY and e.get("value")
        ),
        order_refs=tuple(
            str(e["value"]) for e in entities if e.get("entity") == ORDER_ENTITY and e.get("value")
        ),
        context_order_ref=_optional_str(tracker.get_slot(ORDER_SLOT)),
    )


# Writes queued on the background writer and not finished yet (strong references).
_pending: set[futures.Future] = set()


def flush_pending_turns(timeout: float | None = None) -> None:
    """Wait until every turn queued for the background writer is stored (tests, shutdown)."""
    futures.wait(list(_pending), timeout=timeout)


def store_turn(turn: TurnInput) -> RecordResult | None:
    """Record ``turn`` in one short transaction; ``None`` (logged) when the database fails."""
    try:
        with deps.session_factory()() as session, session.begin():
            return record_turn(session, turn)
    except IntegrityError as error:
        # Most likely a concurrent replay of the same message won the race: already recorded.
        logger.warning(
            "Turn %s of %s not recorded (conflict): %s",
            turn.idempotency_key,
            turn.sender_id,
            error.orig,
        )
        return None
    except Exception:
        logger.exception("Could not record turn %s of %s", turn.idempotency_key, turn.sender_id)
        return None


async def record_latest_turn(tracker: Tracker) -> None:
    """Queue the latest user turn for the background writer (or write it within the budget)."""
    try:
        turn = turn_from_tracker(tracker)
    except Exception:
        logger.exception("Could not read the latest turn of %s", tracker.sender_id)
        return
    if not (turn.text or turn.intent):
        return
    settings = deps.settings()
    if settings.record_turn_in_background:
        future = deps.turn_writer().submit(store_turn, turn)
        _pending.add(future)
        future.add_done_callback(_pending.discard)
        return
    timeout = settings.record_turn_timeout_s
    try:
        result = await asyncio.wait_for(asyncio.to_thread(store_turn, turn), timeout)
    except asyncio.TimeoutError:
        logger.error("Recording turn of %s took over %.1fs; skipped", turn.sender_id, timeout)
        return
    if result is not None:
        logger.debug("Recorded %s", result)


class ActionRecordTurn(Action):
    """Record the latest user turn, then assess the hand-over (when the domain has that slot)."""

    def name(self) -> str:
        """The action's name in the domain."""
        return ACTION_NAME

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[str, Any]]:
        """Assess the hand-over, then record the turn; the assessment's slot events, or none
        without ``handoff_event``.

        Assessing first: the background write (a few ms of ORM work) would otherwise hold the
        GIL while the assessment, which the reply waits for, reads the customer's history
        (docs/performance.md, cut 12). That history is the customer's *past* messages either
        way. An escalation in the same turn runs on the writer's thread after this write
        (``deps.after_queued_turns``), so the conversation and message it links to exist.
        """
        events: List[Dict[str, Any]] = []
        if EVENT_SLOT in tracker.slots:  # the tracker lists every slot of the domain
            events = await assess_turn(dispatcher, tracker)
        await record_latest_turn(tracker)
        return events


def _latest_user_event(tracker: Tracker) -> Dict[str, Any] | None:
    """The tracker's latest ``user`` event (carries message id, timestamp, metadata)."""
    for event in reversed(tracker.events or []):
        if event.get("event") == "user":
            return event
    return None


def _verified_customer(metadata: Dict[str, Any]) -> int | None:
    """The customer id a signed metadata claim proves (an unsigned claim counts as none)."""
    verified = verify_claim(metadata)
    return verified.customer_id if verified is not None else None


def _customer_id(*candidates: Any) -> int | None:
    """The first candidate that is a customer number."""
    for value in candidates:
        if value is None or isinstance(value, bool):
            continue
        try:
            return int(str(value).strip())
        except ValueError:
            logger.debug("Ignoring non-numeric customer id %r", value)
    return None


def _optional_float(value: Any) -> float | None:
    """``float(value)`` or ``None``."""
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def _optional_str(value: Any) -> str | None:
    """``str(value)`` or ``None`` for empty values."""
    if value is None or value == "":
        return None
    return str(value)
