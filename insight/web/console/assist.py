"""Agent assist for one hand-over: a three-line summary, suggested replies, the shopper's orders.

Built from the knowledge graph (the shopper's turns with their intents, sentiment, demands and the
orders and products they named), the analytics' copy of the Rasa events (what the bot said and
did: FAQ answers, fallbacks, flows) and the shop layer (orders, what the rules allow). Suggested
replies are the FAQ index's best templates for the shopper's latest message, filled with the
shop's facts in the conversation's language, and, for an order question, the order's live
status in the very sentence the bot's track-order action says
(:func:`knowledge.shop.status.status_sentence`).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from insight.analytics.tables import AnalyticsEvent
from insight.web.console.languages import conversation_languages
from knowledge.faq.index import AnswerIndex, Encoder, encoder_path, index_dir, load_or_build
from knowledge.faq.slots import shop_slots
from knowledge.faq.templates import AnswerTemplate
from knowledge.handoff import escalations
from knowledge.intents import SMALL_TALK_INTENTS
from knowledge.models import Escalation, Message, Order, OrderStatus, Product
from knowledge.settings import Settings
from knowledge.shop import queries as shop
from knowledge.shop.errors import ShopError
from knowledge.shop.status import format_money, status_sentence

logger = logging.getLogger(__name__)

#: FAQ suggestions shown (the target: the right answer among the top three).
SUGGESTIONS = 3
#: Intents about one order: their suggestions start with the order's live status sentence.
ORDER_INTENTS = frozenset(
    {
        "track_order",
        "cancel_order",
        "change_order",
        "change_shipping_address",
        "delivery_period",
        "get_refund",
        "track_refund",
        "get_invoice",
        "check_invoice",
        "payment_issue",
        "complaint",
    }
)
#: Intents that say nothing about what the shopper wants.
NOT_A_WISH = frozenset({*SMALL_TALK_INTENTS, "nlu_fallback", "out_of_scope"})
#: Orders listed with their quick actions (newest first).
MAX_ORDERS = 5
#: A change of mean signed sentiment below this between the first and the last turns is "steady".
TREND_STEP = 0.2
FAQ_ACTION = "action_answer_question"


class AnswerSource:
    """The FAQ answer index for the web app: loaded once, on first use (thread-safe)."""

    def __init__(self, load: Callable[[], AnswerIndex]) -> None:
        self._load = load
        self._answers: AnswerIndex | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> AnswerSource:
        """The index the action server uses (same encoder, same folder)."""

        def load() -> AnswerIndex:
            encoder = Encoder(encoder_path(settings))
            return load_or_build(
                index_dir(settings), encoder, encoder_name=encoder.name, dimension=encoder.dimension
            )

        return cls(load)

    @classmethod
    def of(cls, answers: AnswerIndex) -> AnswerSource:
        """A source holding an index already built (tests, benchmarks)."""
        source = cls(lambda: answers)
        source._answers = answers
        return source

    def get(self) -> AnswerIndex:
        """The index (loading it the first time)."""
        with self._lock:
            if self._answers is None:
                self._answers = self._load()
            return self._answers


@dataclass(frozen=True)
class Suggestion:
    """A reply the agent may send as it is or edit first."""

    kind: str  # "order_status" | "faq"
    text: str
    title: str
    score: float | None = None
    template_id: int | None = None
    order_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "kind": self.kind,
            "text": self.text,
            "title": self.title,
            "score": None if self.score is None else round(self.score, 3),
            "template_id": self.template_id,
            "order_id": self.order_id,
        }


@dataclass
class _Turns:
    """The shopper's turns of one conversation, as the summary reads them."""

    texts: list[str] = field(default_factory=list)
    intents: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    aspects: list[str] = field(default_factory=list)
    order_ids: list[int] = field(default_factory=list)
    products: list[str] = field(default_factory=list)
    last_intent: str | None = None
    last_order_id: int | None = None


def answer_text(template: AnswerTemplate, settings: Settings, language: str) -> str:
    """The template's answer in ``language`` (English when it has none), filled with the shop's
    facts in the language it is written in (what ``action_answer_question`` sends)."""
    written_in = template.answer_language(language)
    return template.fill(shop_slots(settings, written_in), written_in)


def faq_suggestions(
    answers: AnswerIndex, settings: Settings, text: str, language: str, k: int = SUGGESTIONS
) -> list[Suggestion]:
    """The ``k`` best FAQ answers to ``text``, filled, in ``language``."""
    return [
        Suggestion(
            kind="faq",
            text=answer_text(c.template, settings, language),
            title=c.template.title_for(language),
            score=c.score,
            template_id=c.template.id,
        )
        for c in answers.search(text, k)
    ]


def assist_payload(
    session: Session,
    escalation_id: int,
    answers: AnswerIndex | None,
    settings: Settings,
    now: datetime,
) -> dict[str, Any]:
    """Summary, suggestions and orders of one escalation (raises EscalationNotFoundError)."""
    item = escalations.queue_item(session, escalation_id)
    escalation = session.get(Escalation, escalation_id)
    assert escalation is not None
    language = conversation_languages(session, [item.sender_id])[item.sender_id]
    turns = _turns(session, escalation.conversation_id)
    tried = bot_attempts(session, item.sender_id)
    orders = _orders(session, item.customer_id, now, settings)
    suggestions: list[Suggestion] = []
    status = _status_suggestion(session, item.customer_id, turns, orders, language)
    if status is not None:
        suggestions.append(status)
    latest = turns.texts[-1] if turns.texts else ""
    if answers is not None and latest:
        suggestions += faq_suggestions(answers, settings, latest, language)
    return {
        "escalation_id": item.id,
        "status": item.status,
        "claimed_by": item.claimed_by,
        "language": language,
        "latest": latest,
        "summary": {
            "wants": wants_line(turns),
            "feels": feels_line(turns.labels, turns.scores),
            "tried": tried_line(tried),
        },
        "suggestions": [s.as_dict() for s in suggestions],
        "orders": orders,
        "guest": item.customer_id is None,
    }


def _turns(session: Session, conversation_id: int) -> _Turns:
    rows = session.execute(
        select(Message, Product.name)
        .outerjoin(Product, Product.id == Message.product_id)
        .where(Message.conversation_id == conversation_id)
        .order_by(Message.turn)
    ).all()
    turns = _Turns()
    for message, product in rows:
        turns.texts.append(message.text or "")
        if message.intent:
            turns.intents.append(message.intent)
            turns.last_intent = message.intent
        if message.sentiment_label:
            turns.labels.append(message.sentiment_label)
        if message.sentiment_score is not None:
            turns.scores.append(float(message.sentiment_score))
        for demand in message.demands or ():
            if isinstance(demand, dict) and demand.get("aspect"):
                turns.aspects.append(str(demand["aspect"]))
                if demand.get("product"):
                    turns.products.append(str(demand["product"]))
        if message.order_id is not None:
            turns.order_ids.append(message.order_id)
            turns.last_order_id = message.order_id
        if product:
            turns.products.append(product)
    return turns


def _top(values: Iterable[str], limit: int = 3) -> list[str]:
    return [value for value, _ in Counter(values).most_common(limit)]


def wants_line(turns: _Turns) -> str:
    """What the shopper wants: their intents, demands, and the orders and products named."""
    parts = []
    intents = _top(i for i in turns.intents if i not in NOT_A_WISH)
    parts.append(", ".join(i.replace("_", " ") for i in intents) or "not clear yet")
    aspects = _top(turns.aspects)
    if aspects:
        parts.append("demands: " + ", ".join(aspects))
    orders = list(dict.fromkeys(turns.order_ids))
    if orders:
        parts.append("orders: " + ", ".join(f"#{o}" for o in orders))
    products = list(dict.fromkeys(turns.products))[:3]
    if products:
        parts.append("products: " + ", ".join(products))
    return "Wants: " + "; ".join(parts)


def sentiment_trend(scores: Sequence[float]) -> str:
    """``improving`` / ``getting worse`` / ``steady``: mean of the last two turns against the
    first two (``steady`` with fewer than two scored turns)."""
    if len(scores) < 2:
        return "steady"
    head = sum(scores[:2]) / len(scores[:2])
    tail = sum(scores[-2:]) / len(scores[-2:])
    if tail - head >= TREND_STEP:
        return "improving"
    if head - tail >= TREND_STEP:
        return "getting worse"
    return "steady"


def feels_line(labels: Sequence[str], scores: Sequence[float]) -> str:
    """How the shopper feels: the latest sentiment, the trend, the share of negative turns."""
    if not labels:
        return "Feels: no sentiment read yet"
    negative = sum(1 for label in labels if label == "negative")
    return (
        f"Feels: {labels[-1]} now, {sentiment_trend(scores)}"
        f" ({negative} of {len(labels)} messages negative)"
    )


@dataclass(frozen=True)
class BotAttempts:
    """What the bot did in the conversation before the hand-over."""

    replies: int = 0
    faq_answers: int = 0
    fallbacks: int = 0
    flows: tuple[str, ...] = ()


def bot_attempts(session: Session, sender_id: str) -> BotAttempts:
    """Count the bot's replies, FAQ answers and fallbacks, and name the flows (forms) it started,
    from the analytics' copy of the conversation's Rasa events."""
    rows = session.execute(
        select(AnalyticsEvent.event_type, AnalyticsEvent.data)
        .where(
            AnalyticsEvent.sender_id == sender_id,
            AnalyticsEvent.event_type.in_(("bot", "action", "active_loop")),
        )
        .order_by(AnalyticsEvent.timestamp)
    ).all()
    replies = faq = fallbacks = 0
    flows: list[str] = []
    for kind, data in rows:
        name = str((data or {}).get("name") or "")
        if kind == "bot":
            replies += 1
        elif kind == "action" and name == FAQ_ACTION:
            faq += 1
        elif kind == "action" and "fallback" in name:
            fallbacks += 1
        elif kind == "active_loop" and name and name not in flows:
            flows.append(name)
    return BotAttempts(replies, faq, fallbacks, tuple(flows))


def tried_line(tried: BotAttempts) -> str:
    """What the bot already tried, in one line."""
    if not (tried.replies or tried.faq_answers or tried.fallbacks or tried.flows):
        return "Bot tried: nothing recorded yet"
    flows = ", ".join(f.removesuffix("_form").replace("_", " ") for f in tried.flows) or "none"
    return (
        f"Bot tried: {tried.faq_answers} FAQ answer(s), {tried.fallbacks} fallback(s), "
        f"flows: {flows} ({tried.replies} bot messages)"
    )


def _orders(
    session: Session, customer_id: int | None, now: datetime, settings: Settings
) -> list[dict[str, Any]]:
    """The signed-in shopper's latest orders, each with what the shop rules allow now."""
    if customer_id is None:
        return []
    orders = session.execute(
        select(Order)
        .where(Order.customer_id == customer_id)
        .order_by(Order.placed_at.desc(), Order.id.desc())
        .limit(MAX_ORDERS)
    ).scalars()
    listed = []
    for order in orders:
        try:
            shop.check_returnable(order, now, settings.return_window_days)
            returnable = True
        except ShopError:
            returnable = False
        listed.append(
            {
                "id": order.id,
                "status": order.status.value,
                "placed_at": order.placed_at.isoformat() + "Z",
                "total": format_money(order.total),
                "items": [i.product.name for i in order.items],
                "can_cancel": order.status in shop.CHANGEABLE,
                "can_return": returnable,
            }
        )
    return listed


def _status_suggestion(
    session: Session,
    customer_id: int | None,
    turns: _Turns,
    orders: Sequence[dict[str, Any]],
    language: str,
) -> Suggestion | None:
    """The live status sentence of the order in question, for an order intent (the last order
    the shopper named, else their newest one on its way, else their newest); only the signed-in
    shopper's own orders (the shop layer checks)."""
    if customer_id is None or turns.last_intent not in ORDER_INTENTS:
        return None
    order_id = turns.last_order_id
    if order_id is None:
        moving = [o for o in orders if o["status"] in (OrderStatus.SHIPPED, OrderStatus.PROCESSING)]
        picked = moving[0] if moving else (orders[0] if orders else None)
        order_id = picked["id"] if picked else None
    if order_id is None:
        return None
    try:
        order = shop.get_order(session, order_id, shop.Requester(customer_id=customer_id))
    except ShopError as error:
        logger.info("No status suggestion for order %s: %s", order_id, error)
        return None
    return Suggestion(
        kind="order_status",
        text=status_sentence(order, language),
        title=f"Order #{order.id}: {order.status.value}",
        order_id=order.id,
    )
