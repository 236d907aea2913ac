"""Recording one user turn into the customer knowledge graph (a message row plus typed edges).

The caller (``actions/record_turn.py``) turns a Rasa tracker into a :class:`TurnInput`; this module
knows nothing about Rasa. :func:`record_turn` is idempotent per Rasa message: a replayed turn
(same conversation, same Rasa message id) is recognised and nothing is written twice.

Edges written per turn (``source`` is ``customer:<id>`` when the customer is known, else
``conversation:<id>``, so anonymous opinions still count for products and aspects):

- polarity toward each named product / the order in question, from the turn's sentiment:
  negative -> ``COMPLAINED_ABOUT``, positive -> ``PRAISED``, neutral -> ``ASKED_ABOUT`` (products);
  properties ``{"aspect", "sentiment"}``, weight ``|sentiment|`` (or 1.0 when neutral);
- ``MENTIONED`` for every order the turn names (order_id entity);
- ``message:<id> -HAS_DEMAND-> aspect:<name>`` for every demand, weight = its confidence.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping, Sequence

from sqlalchemy import and_, func, insert, select
from sqlalchemy.orm import Session

from knowledge.models import (
    Conversation,
    Customer,
    GraphEdge,
    Message,
    NodeType,
    Order,
    Product,
    Relation,
)

logger = logging.getLogger(__name__)

# Below this absolute signed score a "negative"/"positive" label still counts as that polarity;
# the label decides, the score is only the weight.
NEUTRAL = "neutral"
NEGATIVE = "negative"
POSITIVE = "positive"

_ORDER_NUMBER = re.compile(r"\d+")


@dataclass(frozen=True)
class DemandInput:
    """One demand the NLU found in the turn."""

    aspect: str
    confidence: float = 1.0
    product: str | None = None


@dataclass(frozen=True)
class TurnInput:
    """Everything :func:`record_turn` needs about one user turn (plain data, no Rasa types)."""

    sender_id: str
    text: str
    rasa_message_id: str | None = None
    rasa_timestamp: float | None = None
    channel: str | None = None
    customer_id: int | None = None
    intent: str | None = None
    intent_confidence: float | None = None
    sentiment_label: str | None = None
    sentiment_score: float | None = None
    sentiment_confidence: float | None = None
    demands: Sequence[DemandInput] = ()
    product_names: Sequence[str] = ()
    # Orders the user named in this turn (entity values, "#1234" or "1234").
    order_refs: Sequence[str] = ()
    # The order the conversation is about (slot), used as complaint target when nothing is named.
    context_order_ref: str | None = None

    @property
    def idempotency_key(self) -> str:
        """Rasa's message id, else a digest of timestamp and text (stable across replays)."""
        if self.rasa_message_id:
            return str(self.rasa_message_id)[:64]
        digest = hashlib.sha1(f"{self.rasa_timestamp!r}|{self.text}".encode()).hexdigest()
        return f"sha1:{digest}"


@dataclass(frozen=True)
class RecordResult:
    """What :func:`record_turn` did."""

    message_id: int
    conversation_id: int
    turn: int
    created: bool
    edges: int = 0
    customer_id: int | None = None
    product_ids: tuple[int, ...] = field(default=())
    order_ids: tuple[int, ...] = field(default=())


def signed_sentiment(
    sentiment: Mapping[str, Any] | None,
) -> tuple[str | None, float | None, float | None]:
    """``(label, signed score, confidence)`` from the NLU's sentiment output.

    The score is P(positive) - P(negative) when the class scores are present, else
    +confidence / -confidence / 0 by label.
    """
    if not sentiment:
        return None, None, None
    label = sentiment.get("label")
    confidence = _float(sentiment.get("confidence"))
    scores = sentiment.get("scores") or {}
    if POSITIVE in scores or NEGATIVE in scores:
        score = _float(scores.get(POSITIVE, 0.0)) - _float(scores.get(NEGATIVE, 0.0))
    elif label == POSITIVE:
        score = confidence
    elif label == NEGATIVE:
        score = -confidence
    else:
        score = 0.0
    return label, round(max(-1.0, min(1.0, score)), 6), confidence


def order_number(ref: str | int | None) -> int | None:
    """The order number in an entity/slot value such as ``"#1234"``, ``"1234"`` or ``1234``."""
    if ref is None:
        return None
    match = _ORDER_NUMBER.search(str(ref))
    return int(match.group()) if match else None


def record_turn(session: Session, turn: TurnInput, now: datetime | None = None) -> RecordResult:
    """Store one user turn (message row, conversation upkeep, edges) unless already stored.

    Run inside a transaction (``with factory() as s, s.begin():``); flushes but never commits.
    """
    now = now or _utcnow()
    sent_at = _sent_at(turn.rasa_timestamp, now)
    # One query finds the conversation and whether this message is already recorded.
    found = session.execute(
        select(Conversation, Message.id, Message.turn)
        .outerjoin(
            Message,
            and_(
                Message.conversation_id == Conversation.id,
                Message.rasa_message_id == turn.idempotency_key,
            ),
        )
        .where(Conversation.sender_id == turn.sender_id)
    ).first()
    conversation: Conversation | None = found[0] if found else None
    if found is not None and found[1] is not None:
        logger.debug("Turn %s of %s already recorded", turn.idempotency_key, turn.sender_id)
        return RecordResult(
            message_id=found[1],
            conversation_id=found[0].id,
            turn=found[2],
            created=False,
            customer_id=found[0].customer_id,
        )

    customer_id = _known_customer(session, turn.customer_id)
    if conversation is None:
        conversation = Conversation(
            sender_id=turn.sender_id,
            customer_id=customer_id,
            channel=turn.channel,
            started_at=sent_at,
            last_turn_at=sent_at,
            turn_count=0,
        )
        session.add(conversation)
        session.flush()
    if customer_id is not None:
        conversation.customer_id = customer_id
    elif conversation.customer_id is not None:
        customer_id = conversation.customer_id
    if turn.channel and not conversation.channel:
        conversation.channel = turn.channel
    conversation.turn_count = (conversation.turn_count or 0) + 1
    conversation.last_turn_at = max(conversation.last_turn_at, sent_at)

    product_names = list(
        dict.fromkeys([*turn.product_names, *(d.product for d in turn.demands if d.product)])
    )
    products = _products_by_name(session, product_names)
    named_orders = _existing_orders(session, [order_number(ref) for ref in turn.order_refs])
    context_order = None
    if not named_orders and turn.context_order_ref is not None:
        context_orders = _existing_orders(session, [order_number(turn.context_order_ref)])
        context_order = context_orders[0] if context_orders else None

    score = turn.sentiment_score
    demands = [
        {
            "aspect": d.aspect,
            "confidence": round(float(d.confidence), 6),
            "product": d.product,
            "product_id": products.get(d.product.lower()) if d.product else None,
            "sentiment": score,
        }
        for d in turn.demands
    ]
    first_product = next(iter(products.values()), None)
    first_order = named_orders[0] if named_orders else context_order
    message = Message(
        conversation_id=conversation.id,
        turn=conversation.turn_count,
        rasa_message_id=turn.idempotency_key,
        rasa_timestamp=turn.rasa_timestamp,
        customer_id=customer_id,
        text=turn.text or "",
        intent=turn.intent,
        intent_confidence=turn.intent_confidence,
        sentiment_label=turn.sentiment_label,
        sentiment_score=score,
        sentiment_confidence=turn.sentiment_confidence,
        demands=demands,
        product_id=first_product,
        order_id=first_order,
        sent_at=sent_at,
        created_at=now,
    )
    session.add(message)
    session.flush()

    source = (
        (NodeType.CUSTOMER.value, str(customer_id))
        if customer_id is not None
        else (NodeType.CONVERSATION.value, str(conversation.id))
    )
    edges = list(
        _turn_edges(
            turn, source, demands, products, named_orders, context_order, message.id, sent_at
        )
    )
    if edges:
        # One multi-row INSERT (edges need no ORM identity).
        session.execute(insert(GraphEdge), edges)
    return RecordResult(
        message_id=message.id,
        conversation_id=conversation.id,
        turn=message.turn,
        created=True,
        edges=len(edges),
        customer_id=customer_id,
        product_ids=tuple(products.values()),
        order_ids=tuple(named_orders) or ((context_order,) if context_order else ()),
    )


def _turn_edges(
    turn: TurnInput,
    source: tuple[str, str],
    demands: list[dict[str, Any]],
    products: dict[str, int],
    named_orders: list[int],
    context_order: int | None,
    message_id: int,
    at: datetime,
) -> Iterable[dict[str, Any]]:
    """Column values of the typed edges one recorded turn adds."""
    label, score = turn.sentiment_label, turn.sentiment_score
    polarity = {NEGATIVE: Relation.COMPLAINED_ABOUT, POSITIVE: Relation.PRAISED}.get(label or "")
    weight = abs(score) if (polarity and score is not None) else 1.0

    def edge(relation: Relation, target: tuple[str, str], w: float, **props: Any) -> dict:
        return dict(
            source_type=source[0],
            source_key=source[1],
            relation=relation.value,
            target_type=target[0],
            target_key=target[1],
            weight=round(w, 6),
            properties={k: v for k, v in props.items() if v is not None},
            created_at=at,
            message_id=message_id,
        )

    # Aspects per product the demands tie to a product; untied aspects apply to every target.
    aspects_by_product: dict[int, list[str | None]] = {}
    free_aspects: list[str | None] = []
    for demand in demands:
        if demand["product_id"] is not None:
            aspects_by_product.setdefault(demand["product_id"], []).append(demand["aspect"])
        else:
            free_aspects.append(demand["aspect"])

    for product_id in dict.fromkeys(products.values()):
        aspects = aspects_by_product.get(product_id) or free_aspects or [None]
        for aspect in dict.fromkeys(aspects):
            relation = polarity or Relation.ASKED_ABOUT
            yield edge(
                relation,
                (NodeType.PRODUCT.value, str(product_id)),
                weight,
                aspect=aspect,
                sentiment=score,
                intent=turn.intent,
            )

    for order_id in named_orders:
        yield edge(
            Relation.MENTIONED,
            (NodeType.ORDER.value, str(order_id)),
            1.0,
            sentiment=score,
            intent=turn.intent,
        )
    # Complaints / praise land on the order in question when no product was named.
    if polarity and not products:
        for order_id in named_orders or ([context_order] if context_order else []):
            for aspect in dict.fromkeys(free_aspects or [None]):
                yield edge(
                    polarity,
                    (NodeType.ORDER.value, str(order_id)),
                    weight,
                    aspect=aspect,
                    sentiment=score,
                    intent=turn.intent,
                )

    for demand in demands:
        yield dict(
            source_type=NodeType.MESSAGE.value,
            source_key=str(message_id),
            relation=Relation.HAS_DEMAND.value,
            target_type=NodeType.ASPECT.value,
            target_key=demand["aspect"],
            weight=demand["confidence"],
            properties={
                k: v
                for k, v in {
                    "sentiment": score,
                    "product_id": demand["product_id"],
                }.items()
                if v is not None
            },
            created_at=at,
            message_id=message_id,
        )


def _products_by_name(session: Session, names: Sequence[str]) -> dict[str, int]:
    """``{lower-cased name: product id}`` for the names that match a product (case-insensitive)."""
    wanted = {n.strip().lower() for n in names if n and n.strip()}
    if not wanted:
        return {}
    rows = session.execute(
        select(func.lower(Product.name), Product.id).where(func.lower(Product.name).in_(wanted))
    ).all()
    found = {name: pid for name, pid in rows}
    # Keep the order in which the turn named them.
    ordered = {}
    for name in names:
        key = name.strip().lower() if name else ""
        if key in found:
            ordered[key] = found[key]
    for name in wanted - set(found):
        logger.debug("No product named %r", name)
    return ordered


def _existing_orders(session: Session, numbers: Sequence[int | None]) -> list[int]:
    """The order numbers (in the given order, de-duplicated) that exist in the shop."""
    wanted = [n for n in dict.fromkeys(numbers) if n is not None]
    if not wanted:
        return []
    found = set(session.execute(select(Order.id).where(Order.id.in_(wanted))).scalars())
    return [n for n in wanted if n in found]


def _known_customer(session: Session, customer_id: int | None) -> int | None:
    """``customer_id`` if such a customer exists (a stale or forged id is ignored)."""
    if customer_id is None:
        return None
    exists = session.execute(select(Customer.id).where(Customer.id == customer_id)).scalar()
    if exists is None:
        logger.warning("Turn names unknown customer %s; recording it as anonymous", customer_id)
    return exists


def _sent_at(timestamp: float | None, fallback: datetime) -> datetime:
    """Naive UTC datetime of a Rasa event timestamp (epoch seconds)."""
    if timestamp is None:
        return fallback
    return datetime.fromtimestamp(float(timestamp), tz=timezone.utc).replace(tzinfo=None)


def _utcnow() -> datetime:
    """Now as a naive UTC datetime (the shop stores naive UTC)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _float(value: Any) -> float:
    """``float(value)``, 0.0 for ``None`` or garbage."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


#: Node type of a console agent (``agent:<agent user id>``) in edges an agent's action writes.
AGENT_NODE = "agent"
#: Relation ``agent -ACTED_ON-> order`` of a quick action an agent took for a shopper.
ACTED_ON = "ACTED_ON"


def record_agent_action(
    session: Session,
    *,
    agent_id: int,
    agent_name: str,
    action: str,
    order_id: int,
    conversation_id: int | None,
    details: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> GraphEdge:
    """Record that a console agent took ``action`` (``cancel_order``, ``open_return``) on an
    order for a shopper: an edge ``agent:<id> -ACTED_ON-> order:<id>`` whose properties name the
    agent, the action and the conversation (run inside the action's transaction)."""
    edge = GraphEdge(
        source_type=AGENT_NODE,
        source_key=str(agent_id),
        relation=ACTED_ON,
        target_type=NodeType.ORDER.value,
        target_key=str(order_id),
        weight=1.0,
        properties={
            "action": action,
            "agent": agent_name,
            "conversation_id": conversation_id,
            **dict(details or {}),
        },
        created_at=now or _utcnow(),
    )
    session.add(edge)
    session.flush()
    logger.info("Agent %s: %s on order %s", agent_name, action, order_id)
    return edge
