"""Read side of the customer knowledge graph: profiles, sentiment, demands, churn inputs, opinions.

Every function takes an open session and returns frozen dataclasses (no ORM objects escape), so
web views and scorers can use the results after the session closes. Times are naive UTC; the
functions that depend on "now" take it as an argument so results are reproducible.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Iterable, Sequence

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from knowledge.models import (
    Customer,
    Escalation,
    GraphEdge,
    Message,
    NodeType,
    Order,
    OrderStatus,
    PaymentStatus,
    Refund,
    RefundStatus,
    Relation,
    ReturnRequest,
    ReturnStatus,
)

logger = logging.getLogger(__name__)

OPEN_RETURN_STATUSES = (ReturnStatus.REQUESTED, ReturnStatus.RECEIVED)
# Orders that earn the shop nothing.
UNPAID_STATUSES = (PaymentStatus.FAILED, PaymentStatus.PENDING)
NEGATIVE = "negative"
POSITIVE = "positive"


class UnknownCustomerError(LookupError):
    """No customer with the requested id."""


@dataclass(frozen=True)
class OrderSummary:
    """An order as a profile lists it."""

    id: int
    status: str
    placed_at: datetime
    total: Decimal


@dataclass(frozen=True)
class CustomerProfile:
    """Who the customer is to the shop and to the assistant."""

    customer_id: int
    name: str
    email: str
    orders: int
    # Totals of orders that were neither cancelled nor left unpaid, minus refunds issued on them.
    spend: Decimal
    open_returns: int
    last_order: OrderSummary | None
    conversations: int
    messages: int
    last_contact_at: datetime | None


@dataclass(frozen=True)
class SentimentPoint:
    """The sentiment of one user message."""

    message_id: int
    conversation_id: int
    sent_at: datetime
    intent: str | None
    label: str | None
    score: float | None


@dataclass(frozen=True)
class DailySentiment:
    """Mean signed sentiment of a customer's messages on one day."""

    day: date
    messages: int
    mean_score: float


@dataclass(frozen=True)
class DemandStat:
    """How often an aspect came up and how the customer felt about it."""

    aspect: str
    count: int
    mean_sentiment: float | None
    last_at: datetime


@dataclass(frozen=True)
class EscalationSummary:
    """A past or open hand-over to a human."""

    id: int
    conversation_id: int
    reason: str
    priority: int
    status: str
    created_at: datetime
    claimed_by: str | None
    resolved_at: datetime | None


@dataclass(frozen=True)
class ChurnInputs:
    """Raw signals a churn-risk score combines (the scoring lives in ``insight/``)."""

    customer_id: int
    messages: int
    negative_messages: int
    # Consecutive negative messages at the end of the customer's history.
    negative_streak: int
    mean_sentiment: float | None
    late_orders: int
    # Late, payment-failed, returned-from or complained-about orders (each counted once).
    problem_orders: int
    open_returns: int
    escalations: int
    orders: int
    spend: Decimal
    days_since_last_order: int | None
    days_since_last_contact: int | None


@dataclass(frozen=True)
class Opinion:
    """One source's (customer's or anonymous conversation's) stance toward a product/aspect."""

    source_type: str
    source_key: str
    complaints: int
    praises: int
    mentions: int
    mean_sentiment: float | None
    last_at: datetime


@dataclass(frozen=True)
class TrendPoint:
    """Complaints, praises and mean sentiment toward a product or aspect on one day."""

    day: date
    complaints: int
    praises: int
    mentions: int
    mean_sentiment: float | None


def customer_profile(session: Session, customer_id: int) -> CustomerProfile:
    """Orders, spend, open returns, last order and contact history of one customer."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise UnknownCustomerError(customer_id)
    orders = _orders(session, customer_id)
    last = max(orders, key=lambda o: (o.placed_at, o.id), default=None)
    conversations, messages, last_contact = session.execute(
        select(
            func.count(func.distinct(Message.conversation_id)),
            func.count(Message.id),
            func.max(Message.sent_at),
        ).where(Message.customer_id == customer_id)
    ).one()
    return CustomerProfile(
        customer_id=customer.id,
        name=customer.name,
        email=customer.email,
        orders=len(orders),
        spend=_spend(session, orders),
        open_returns=_open_returns(session, customer_id),
        last_order=(
            OrderSummary(last.id, _value(last.status), last.placed_at, last.total) if last else None
        ),
        conversations=conversations,
        messages=messages,
        last_contact_at=last_contact,
    )


def sentiment_history(
    session: Session, customer_id: int, since: datetime | None = None
) -> list[SentimentPoint]:
    """The customer's messages with a sentiment, oldest first."""
    query = (
        select(Message)
        .where(Message.customer_id == customer_id, Message.sentiment_label.is_not(None))
        .order_by(Message.sent_at, Message.id)
    )
    if since is not None:
        query = query.where(Message.sent_at >= since)
    return [
        SentimentPoint(
            m.id, m.conversation_id, m.sent_at, m.intent, m.sentiment_label, m.sentiment_score
        )
        for m in session.execute(query).scalars()
    ]


def daily_sentiment(
    session: Session, customer_id: int, since: datetime | None = None
) -> list[DailySentiment]:
    """Mean signed sentiment of the customer's messages per day, oldest day first."""
    by_day: dict[date, list[float]] = defaultdict(list)
    for point in sentiment_history(session, customer_id, since):
        if point.score is not None:
            by_day[point.sent_at.date()].append(point.score)
    return [
        DailySentiment(day, len(scores), round(sum(scores) / len(scores), 6))
        for day, scores in sorted(by_day.items())
    ]


def top_demands(session: Session, customer_id: int, limit: int = 5) -> list[DemandStat]:
    """The aspects the customer raised most, with mean sentiment (most frequent first)."""
    rows = session.execute(
        select(
            GraphEdge.target_key,
            func.count(GraphEdge.id),
            func.avg(Message.sentiment_score),
            func.max(Message.sent_at),
        )
        .join(Message, GraphEdge.message_id == Message.id)
        .where(
            GraphEdge.relation == Relation.HAS_DEMAND.value,
            GraphEdge.target_type == NodeType.ASPECT.value,
            Message.customer_id == customer_id,
        )
        .group_by(GraphEdge.target_key)
        .order_by(func.count(GraphEdge.id).desc(), GraphEdge.target_key)
        .limit(limit)
    ).all()
    return [
        DemandStat(aspect, count, _round(mean), last_at) for aspect, count, mean, last_at in rows
    ]


def past_escalations(session: Session, customer_id: int) -> list[EscalationSummary]:
    """The customer's escalations, newest first."""
    rows = session.execute(
        select(Escalation)
        .where(Escalation.customer_id == customer_id)
        .order_by(Escalation.created_at.desc(), Escalation.id.desc())
    ).scalars()
    return [
        EscalationSummary(
            e.id,
            e.conversation_id,
            e.reason,
            e.priority,
            _value(e.status),
            e.created_at,
            e.claimed_by,
            e.resolved_at,
        )
        for e in rows
    ]


def latest_negative_streak(session: Session, customer_id: int, page: int = 50) -> int:
    """How many of the customer's latest messages in a row are negative (newest first)."""
    streak = 0
    while True:
        labels = session.execute(
            select(Message.sentiment_label)
            .where(Message.customer_id == customer_id)
            .order_by(Message.sent_at.desc(), Message.id.desc())
            .offset(streak)
            .limit(page)
        ).scalars()
        seen = 0
        for label in labels:
            if label != NEGATIVE:
                return streak
            streak += 1
            seen += 1
        if seen < page:
            return streak


def churn_inputs(session: Session, customer_id: int, now: datetime) -> ChurnInputs:
    """Every raw churn signal of one customer, as of ``now``."""
    if session.get(Customer, customer_id) is None:
        raise UnknownCustomerError(customer_id)
    orders = _orders(session, customer_id)
    # Aggregates in SQL: a customer's history grows with every turn, this query runs on each.
    messages, negative, mean_score, last_contact = session.execute(
        select(
            func.count(Message.id),
            func.sum(case((Message.sentiment_label == NEGATIVE, 1), else_=0)),
            func.avg(Message.sentiment_score),
            func.max(Message.sent_at),
        ).where(Message.customer_id == customer_id)
    ).one()
    streak = latest_negative_streak(session, customer_id)

    late = {o.id for o in orders if _is_late(o, now)}
    failed = {o.id for o in orders if o.payment_status == PaymentStatus.FAILED}
    returned = set(
        session.execute(
            select(ReturnRequest.order_id)
            .join(Order, ReturnRequest.order_id == Order.id)
            .where(Order.customer_id == customer_id)
        ).scalars()
    )
    complained = {
        int(key)
        for key in session.execute(
            select(GraphEdge.target_key).where(
                GraphEdge.source_type == NodeType.CUSTOMER.value,
                GraphEdge.source_key == str(customer_id),
                GraphEdge.relation == Relation.COMPLAINED_ABOUT.value,
                GraphEdge.target_type == NodeType.ORDER.value,
            )
        ).scalars()
    }
    escalations = session.execute(
        select(func.count(Escalation.id)).where(Escalation.customer_id == customer_id)
    ).scalar_one()
    last_order = max((o.placed_at for o in orders), default=None)
    return ChurnInputs(
        customer_id=customer_id,
        messages=int(messages or 0),
        negative_messages=int(negative or 0),
        negative_streak=streak,
        mean_sentiment=_round(float(mean_score)) if mean_score is not None else None,
        late_orders=len(late),
        problem_orders=len(late | failed | returned | complained),
        open_returns=_open_returns(session, customer_id),
        escalations=escalations,
        orders=len(orders),
        spend=_spend(session, orders),
        days_since_last_order=(now - last_order).days if last_order else None,
        days_since_last_contact=(now - last_contact).days if last_contact else None,
    )


def product_opinions(session: Session, product_id: int) -> list[Opinion]:
    """Who complained about, praised or asked about a product (most complaints first)."""
    return _opinions(
        _polarity_rows(session, NodeType.PRODUCT.value, str(product_id)),
    )


def aspect_opinions(session: Session, aspect: str) -> list[Opinion]:
    """Who raised an aspect (delivery, price, ...) and how they felt (most complaints first)."""
    return _opinions(_aspect_rows(session, aspect))


def product_trend(
    session: Session, product_id: int, *, days: int, now: datetime
) -> list[TrendPoint]:
    """Per-day complaints, praises, mentions and mean sentiment toward a product (last ``days``)."""
    since = now - timedelta(days=days)
    return _trend(_polarity_rows(session, NodeType.PRODUCT.value, str(product_id), since))


def aspect_trend(session: Session, aspect: str, *, days: int, now: datetime) -> list[TrendPoint]:
    """Per-day complaints, praises, mentions and mean sentiment on an aspect (last ``days``)."""
    since = now - timedelta(days=days)
    return _trend(_aspect_rows(session, aspect, since))


# A row for the opinion/trend aggregations: (source_type, source_key, kind, sentiment, at)
# where kind is "complaint", "praise" or "mention".
_Row = tuple[str, str, str, "float | None", datetime]

_KIND = {
    Relation.COMPLAINED_ABOUT.value: "complaint",
    Relation.PRAISED.value: "praise",
}


def _polarity_rows(
    session: Session, target_type: str, target_key: str, since: datetime | None = None
) -> list[_Row]:
    """One row per conversation turn that addressed the node (several aspects count once)."""
    query = (
        select(
            GraphEdge.source_type,
            GraphEdge.source_key,
            GraphEdge.relation,
            GraphEdge.message_id,
            Message.sentiment_score,
            GraphEdge.created_at,
        )
        .join(Message, GraphEdge.message_id == Message.id)
        .where(
            GraphEdge.target_type == target_type,
            GraphEdge.target_key == target_key,
            GraphEdge.relation.in_(
                [
                    Relation.COMPLAINED_ABOUT.value,
                    Relation.PRAISED.value,
                    Relation.ASKED_ABOUT.value,
                    Relation.MENTIONED.value,
                ]
            ),
        )
        .order_by(GraphEdge.created_at, GraphEdge.id)
    )
    if since is not None:
        query = query.where(GraphEdge.created_at >= since)
    seen: set[tuple[int, str]] = set()
    rows: list[_Row] = []
    for source_type, source_key, relation, message_id, score, at in session.execute(query):
        if (message_id, relation) in seen:
            continue
        seen.add((message_id, relation))
        rows.append((source_type, source_key, _KIND.get(relation, "mention"), score, at))
    return rows


def _aspect_rows(session: Session, aspect: str, since: datetime | None = None) -> list[_Row]:
    """One row per message that raised ``aspect``; polarity from the message's sentiment label."""
    query = (
        select(
            Message.customer_id,
            Message.conversation_id,
            Message.sentiment_label,
            Message.sentiment_score,
            Message.sent_at,
        )
        .join(GraphEdge, GraphEdge.message_id == Message.id)
        .where(
            GraphEdge.relation == Relation.HAS_DEMAND.value,
            GraphEdge.target_type == NodeType.ASPECT.value,
            GraphEdge.target_key == aspect,
        )
        .order_by(Message.sent_at, Message.id)
    )
    if since is not None:
        query = query.where(Message.sent_at >= since)
    rows: list[_Row] = []
    for customer_id, conversation_id, label, score, at in session.execute(query):
        source = (
            (NodeType.CUSTOMER.value, str(customer_id))
            if customer_id is not None
            else (NodeType.CONVERSATION.value, str(conversation_id))
        )
        kind = {NEGATIVE: "complaint", POSITIVE: "praise"}.get(label or "", "mention")
        rows.append((*source, kind, score, at))
    return rows


def _opinions(rows: Iterable[_Row]) -> list[Opinion]:
    """Aggregate rows per source."""
    groups: dict[tuple[str, str], list[_Row]] = defaultdict(list)
    for row in rows:
        groups[(row[0], row[1])].append(row)
    opinions = [
        Opinion(
            source_type=source_type,
            source_key=source_key,
            complaints=sum(1 for r in group if r[2] == "complaint"),
            praises=sum(1 for r in group if r[2] == "praise"),
            mentions=sum(1 for r in group if r[2] == "mention"),
            mean_sentiment=_mean(r[3] for r in group),
            last_at=max(r[4] for r in group),
        )
        for (source_type, source_key), group in groups.items()
    ]
    return sorted(opinions, key=lambda o: (-o.complaints, -o.praises, o.source_type, o.source_key))


def _trend(rows: Iterable[_Row]) -> list[TrendPoint]:
    """Aggregate rows per day."""
    days: dict[date, list[_Row]] = defaultdict(list)
    for row in rows:
        days[row[4].date()].append(row)
    return [
        TrendPoint(
            day=day,
            complaints=sum(1 for r in group if r[2] == "complaint"),
            praises=sum(1 for r in group if r[2] == "praise"),
            mentions=sum(1 for r in group if r[2] == "mention"),
            mean_sentiment=_mean(r[3] for r in group),
        )
        for day, group in sorted(days.items())
    ]


def _orders(session: Session, customer_id: int) -> Sequence[Order]:
    """The customer's orders."""
    return session.execute(select(Order).where(Order.customer_id == customer_id)).scalars().all()


def _spend(session: Session, orders: Sequence[Order]) -> Decimal:
    """Totals of kept, paid orders minus the refunds issued on them."""
    counted = [
        o
        for o in orders
        if o.status != OrderStatus.CANCELLED and o.payment_status not in UNPAID_STATUSES
    ]
    if not counted:
        return Decimal("0.00")
    refunded = session.execute(
        select(Refund.amount).where(
            Refund.order_id.in_([o.id for o in counted]), Refund.status == RefundStatus.ISSUED
        )
    ).scalars()
    total = sum((o.total for o in counted), Decimal("0.00")) - sum(refunded, Decimal("0.00"))
    return total.quantize(Decimal("0.01"))


def _open_returns(session: Session, customer_id: int) -> int:
    """Return requests of the customer still in progress."""
    return session.execute(
        select(func.count(ReturnRequest.id))
        .join(Order, ReturnRequest.order_id == Order.id)
        .where(Order.customer_id == customer_id, ReturnRequest.status.in_(OPEN_RETURN_STATUSES))
    ).scalar_one()


def _is_late(order: Order, now: datetime) -> bool:
    """Past its ETA and not delivered, or delivered after its ETA."""
    if order.eta is None:
        return False
    if order.delivered_at is not None:
        return order.delivered_at.date() > order.eta
    return order.status == OrderStatus.SHIPPED and now.date() > order.eta


def _mean(values: Iterable[float | None]) -> float | None:
    """Mean of the non-missing values, rounded; ``None`` when there are none."""
    present = [v for v in values if v is not None]
    return _round(sum(present) / len(present)) if present else None


def _round(value: float | None) -> float | None:
    """Six decimals (hides float noise of SQL averages)."""
    return None if value is None else round(float(value), 6)


def _value(member: object) -> str:
    """An enum member's value (or the string itself)."""
    return str(getattr(member, "value", member))


__all__ = [
    "ChurnInputs",
    "CustomerProfile",
    "DailySentiment",
    "DemandStat",
    "EscalationSummary",
    "Opinion",
    "OrderSummary",
    "SentimentPoint",
    "TrendPoint",
    "UnknownCustomerError",
    "aspect_opinions",
    "aspect_trend",
    "churn_inputs",
    "customer_profile",
    "daily_sentiment",
    "past_escalations",
    "product_opinions",
    "product_trend",
    "sentiment_history",
    "top_demands",
]
