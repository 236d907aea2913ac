"""From one conversation's Rasa events to its analytics rows (pure functions, no database).

What the events say, and where it comes from in this project:

* ``user`` events: text, ``parse_data`` with Rasa's ``intent`` / ``intent_ranking`` and our NLU's
  ``sentiment`` and ``demands`` (``nlu/output_keys.py``), ``entities`` (``product``),
  ``input_channel``.
* The customer is the ``customer_id`` slot, which ``action_session_start`` sets only from a
  verified, signed claim (``actions/identity.py``); the raw ``metadata.customer_id`` claim is
  never trusted here.
* A hand-over is a ``pause`` event (``ConversationPaused`` returned by ``action_escalate`` or
  ``action_request_human``, ``actions/escalation.py`` / ``actions/human.py``). Its reason is
  ``request`` after ``action_request_human``, else the trigger in the ``handoff_event`` slot
  (``escalate:<trigger>``) that ``action_assess_handoff`` set in that turn.
* Agents' replies are ``bot`` events whose ``metadata.handoff`` is ``agent_message`` (also
  ``agent_joined`` / ``agent_left``) with ``metadata.agent``
  (``insight/web/console/rasa_client.py``); the hand-back is a ``resume`` event.
* CSAT: the user's 1-5 answer right after ``utter_ask_handoff_rating``.
* Language: the last supported value of the ``language`` slot (``knowledge/language.py``: the
  NLU's language detector fills it whenever a message's language is clear); a conversation
  without such a slot event (logged before the bot was bilingual) takes the last clear
  :func:`~knowledge.language.detect_language` of the shopper's texts; ``"en"`` otherwise.
* FAQ: ``action_answer_question`` / ``action_handle_fallback`` answered when they set the slot
  ``faq_answer_id`` to a template id, offered a choice when they sent buttons, else found no
  good answer. A button press (``/product_question{"faq_id": ...}``) settles the earlier
  question rather than counting as a new one.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Mapping, Sequence

from insight.analytics.events import RawEvent
from knowledge.graph.record import signed_sentiment
from knowledge.language import (
    DEFAULT_LANGUAGE,
    LANGUAGE_SLOT,
    detect_language,
    normalise_language,
)
from nlu.output_keys import DEMANDS, SENTIMENT

logger = logging.getLogger(__name__)

# Mirrors of the names the bot uses (tests/analytics/test_derive.py checks they still match).
ESCALATE_ACTION = "action_escalate"
REQUEST_HUMAN_ACTION = "action_request_human"
HANDOFF_SLOT = "handoff_event"
ESCALATE_PREFIX = "escalate:"
RATING_QUESTION = "utter_ask_handoff_rating"
RATING = re.compile(r"^\s*([1-5])\s*(stars?|/\s*5|out of 5)?\s*$", re.IGNORECASE)
FAQ_ACTIONS = ("action_answer_question", "action_handle_fallback")
# Bot responses that mean a lookup failed for the shopper (as actions/escalation.py counts them).
FAILED_LOOKUP = re.compile(r"^utter_\w*not_found")
FAQ_SLOT = "faq_answer_id"
AGENT_MESSAGE = "agent_message"
AGENT_KINDS = ("agent_message", "agent_joined", "agent_left")
FALLBACK_INTENT = "nlu_fallback"
PRODUCT_ENTITY = "product"
CUSTOMER_SLOT = "customer_id"
REASON_REQUEST = "request"
REASON_UNKNOWN = "unknown"
ANSWERED, CHOICE, UNANSWERED = "answered", "choice", "unanswered"

# product name (lower case) -> category name, or None when not a product of the shop.
CategoryLookup = Callable[[str], "str | None"]


def to_datetime(timestamp: float) -> datetime:
    """Epoch seconds to naive UTC (the knowledge graph's convention)."""
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).replace(tzinfo=None)


def parse_customer_id(value: Any) -> int | None:
    """A positive integer customer id from a slot value, else None."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


@dataclass
class MessageFacts:
    """One user message (becomes an ``analytics_messages`` row)."""

    event_key: str
    sender_id: str
    turn: int
    sent_at: datetime
    text: str
    channel: str | None
    customer_id: int | None
    intent: str | None
    intent_confidence: float | None
    best_guess: str | None
    best_guess_confidence: float | None
    sentiment_label: str | None
    sentiment_score: float | None
    sentiment_confidence: float | None
    demands: list[dict[str, Any]]
    products: list[str]
    categories: list[str]
    faq_outcome: str | None = None
    rating: int | None = None
    failed_lookup: bool = False


@dataclass
class ConversationFacts:
    """One conversation (becomes an ``analytics_conversations`` row)."""

    sender_id: str
    customer_id: int | None = None
    channel: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    bot_messages: int = 0
    agent_messages: int = 0
    escalated: bool = False
    escalation_reason: str | None = None
    escalated_at: datetime | None = None
    first_agent_response_at: datetime | None = None
    resolved_at: datetime | None = None
    agent_name: str | None = None
    csat: int | None = None
    language: str = DEFAULT_LANGUAGE
    messages: list[MessageFacts] = field(default_factory=list)

    @property
    def user_messages(self) -> int:
        """How many user messages the conversation has."""
        return len(self.messages)

    def scored(self) -> list[float]:
        """Signed sentiment of the messages that have one, in order."""
        return [m.sentiment_score for m in self.messages if m.sentiment_score is not None]

    def intents(self) -> list[str]:
        """Distinct intents in order of first appearance."""
        return _distinct(m.intent for m in self.messages if m.intent)

    def products(self) -> list[str]:
        """Distinct products named, in order of first appearance."""
        return _distinct(p for m in self.messages for p in m.products)

    def categories(self) -> list[str]:
        """Distinct product categories named, in order of first appearance."""
        return _distinct(c for m in self.messages for c in m.categories)


def sort_events(events: Iterable[RawEvent]) -> list[RawEvent]:
    """Events in the order Rasa logged them (timestamp, then key for exact ties)."""
    return sorted(events, key=lambda e: (e.timestamp, e.key))


def derive(
    sender_id: str, events: Sequence[RawEvent], category_of: CategoryLookup
) -> ConversationFacts | None:
    """The conversation's facts from its events (any order); None without a user message."""
    return _Deriver(sender_id, category_of).run(sort_events(events))


class _Deriver:
    """Walks one conversation's events in order, keeping the little state the facts need."""

    def __init__(self, sender_id: str, category_of: CategoryLookup) -> None:
        self.facts = ConversationFacts(sender_id)
        self.category_of = category_of
        self.last_action: str | None = None
        self.current_action: str | None = None
        self.handoff_slot: str | None = None
        self.escalating_reason: str | None = None
        self.slot_customer: int | None = None
        self.faq_message: MessageFacts | None = None
        self.paused = False
        # Last supported value of the language slot / last clear language of a shopper's text.
        self.slot_language: str | None = None
        self.text_language: str | None = None

    def run(self, events: Sequence[RawEvent]) -> ConversationFacts | None:
        for event in events:
            handler = getattr(self, f"_on_{event.event_type}", None)
            if handler is not None:
                handler(event)
            if self.facts.messages:
                self.facts.ended_at = to_datetime(event.timestamp)
        if not self.facts.messages:
            return None
        self.facts.customer_id = next(
            (m.customer_id for m in self.facts.messages if m.customer_id is not None),
            self.slot_customer,
        )
        self.facts.language = self.slot_language or self.text_language or DEFAULT_LANGUAGE
        return self.facts

    def _on_user(self, event: RawEvent) -> None:
        data = event.data
        parse = data.get("parse_data") or {}
        intent = parse.get("intent") or {}
        name = intent.get("name") or None
        if name and str(name).startswith("EXTERNAL_"):
            return
        text = str(data.get("text") or "")
        sent_at = to_datetime(event.timestamp)
        facts = self.facts
        products = _distinct(
            str(e.get("value")).strip()
            for e in parse.get("entities") or data.get("entities") or []
            if isinstance(e, Mapping) and e.get("entity") == PRODUCT_ENTITY and e.get("value")
        )
        demands = []
        for demand in parse.get(DEMANDS) or []:
            if not isinstance(demand, Mapping) or not demand.get("aspect"):
                continue
            product = str(demand["product"]).strip() if demand.get("product") else None
            if product:
                products = _distinct([*products, product])
            demands.append(
                {
                    "aspect": str(demand["aspect"]),
                    "confidence": _float(demand.get("confidence")),
                    "product": product,
                    "category": self.category_of(product) if product else None,
                }
            )
        categories = _distinct(c for c in (self.category_of(p) for p in products) if c)
        label, score, sentiment_confidence = signed_sentiment(parse.get(SENTIMENT))
        guess, guess_confidence = _best_guess(parse)
        customer = self.slot_customer
        message = MessageFacts(
            event_key=event.key,
            sender_id=facts.sender_id,
            turn=len(facts.messages) + 1,
            sent_at=sent_at,
            text=text,
            channel=data.get("input_channel") or None,
            customer_id=customer,
            intent=name,
            intent_confidence=_float(intent.get("confidence")),
            best_guess=guess,
            best_guess_confidence=guess_confidence,
            sentiment_label=label,
            sentiment_score=score,
            sentiment_confidence=sentiment_confidence,
            demands=demands,
            products=products,
            categories=categories,
        )
        if self.last_action == RATING_QUESTION and (match := RATING.match(text)):
            message.rating = int(match.group(1))
            facts.csat = message.rating
        if facts.started_at is None:
            facts.started_at = sent_at
        if facts.channel is None and message.channel:
            facts.channel = message.channel
        facts.messages.append(message)
        if not text.startswith("/"):  # button payloads carry no language
            self.text_language = detect_language(text) or self.text_language
        self.current_action = None
        if text.startswith("/") and self.faq_message is not None:
            return  # a button press settles the earlier question (see module docstring)
        self.faq_message = None

    def _on_action(self, event: RawEvent) -> None:
        name = event.data.get("name")
        if not name or name == "action_listen":
            self.current_action = None
            return
        self.last_action = self.current_action = name
        if FAILED_LOOKUP.match(name) and self.facts.messages:
            self.facts.messages[-1].failed_lookup = True
        if name == REQUEST_HUMAN_ACTION:
            self.escalating_reason = REASON_REQUEST
        elif name == ESCALATE_ACTION:
            slot = self.handoff_slot or ""
            self.escalating_reason = (
                slot[len(ESCALATE_PREFIX) :] if slot.startswith(ESCALATE_PREFIX) else REASON_UNKNOWN
            )
        if name in FAQ_ACTIONS and self.facts.messages:
            latest = self.facts.messages[-1]
            if self.faq_message is None or self.faq_message is latest:
                self.faq_message = latest
            if self.faq_message.faq_outcome != ANSWERED:
                self.faq_message.faq_outcome = UNANSWERED

    def _on_slot(self, event: RawEvent) -> None:
        name, value = event.data.get("name"), event.data.get("value")
        if name == HANDOFF_SLOT:
            self.handoff_slot = str(value) if value is not None else None
        elif name == CUSTOMER_SLOT:
            self.slot_customer = parse_customer_id(value)
        elif name == LANGUAGE_SLOT:
            self.slot_language = slot_language(value) or self.slot_language
        elif (
            name == FAQ_SLOT
            and self.current_action in FAQ_ACTIONS
            and self.faq_message
            and value not in (None, "")
        ):
            self.faq_message.faq_outcome = ANSWERED

    def _on_bot(self, event: RawEvent) -> None:
        metadata = event.data.get("metadata") or {}
        kind = metadata.get("handoff") if isinstance(metadata, Mapping) else None
        facts = self.facts
        if kind in AGENT_KINDS:
            if kind == AGENT_MESSAGE:
                facts.agent_messages += 1
                if facts.escalated and facts.first_agent_response_at is None:
                    facts.first_agent_response_at = to_datetime(event.timestamp)
                facts.agent_name = facts.agent_name or metadata.get("agent") or None
            return
        facts.bot_messages += 1
        data = event.data.get("data") or {}
        if (
            self.current_action in FAQ_ACTIONS
            and self.faq_message is not None
            and isinstance(data, Mapping)
            and data.get("buttons")
            and self.faq_message.faq_outcome != ANSWERED
        ):
            self.faq_message.faq_outcome = CHOICE

    def _on_pause(self, event: RawEvent) -> None:
        facts = self.facts
        self.paused = True
        if not facts.escalated:
            facts.escalated = True
            facts.escalation_reason = self.escalating_reason or REASON_UNKNOWN
            facts.escalated_at = to_datetime(event.timestamp)

    def _on_resume(self, event: RawEvent) -> None:
        if self.paused and self.facts.escalated and self.facts.resolved_at is None:
            self.facts.resolved_at = to_datetime(event.timestamp)
        self.paused = False


def slot_language(value: Any) -> str | None:
    """The supported language a ``language`` slot value names (``"zh-CN"`` -> ``"zh"``).

    None for anything else (no value, an unknown language): such a value is not a clear answer.
    """
    if not isinstance(value, str):
        return None
    code = normalise_language(value)
    named = value.strip().lower().replace("_", "-").split("-", 1)[0]
    return code if named == code else None


def _best_guess(parse: Mapping[str, Any]) -> tuple[str | None, float | None]:
    """The top intent of the ranking other than ``nlu_fallback``."""
    for entry in parse.get("intent_ranking") or []:
        if isinstance(entry, Mapping) and entry.get("name") not in (None, FALLBACK_INTENT):
            return str(entry["name"]), _float(entry.get("confidence"))
    return None, None


def _float(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def _distinct(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))
