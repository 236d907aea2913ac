"""Hand-over service: open, claim, reply to, resolve escalations; the agents' queue.

The database is the source of truth: the action server opens escalations, the agent console
claims and resolves them, and either process may restart at any time without losing one.
State changes are single conditional ``UPDATE ... WHERE status = ...`` statements, so two agents
racing for the same conversation get exactly one winner (the loser a
:class:`EscalationConflictError`), on SQLite and PostgreSQL alike.

Functions take an open session (run them inside ``with factory() as s, s.begin():``) and return
frozen dataclasses. Times are naive UTC.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Sequence

from sqlalchemy import and_, func, select, update
from sqlalchemy.orm import Session

from knowledge.handoff.agents import Agent
from knowledge.models import (
    AgentMessage,
    Conversation,
    Escalation,
    EscalationDetail,
    EscalationStatus,
    Message,
)

logger = logging.getLogger(__name__)

ACTIVE_STATUSES = (EscalationStatus.OPEN, EscalationStatus.CLAIMED)
CONTACT_METHODS = ("callback", "email")
MAX_REPLY_CHARS = 2000


class EscalationNotFoundError(LookupError):
    """No escalation with that id."""


class EscalationConflictError(RuntimeError):
    """The escalation is not in a state that allows the change (claimed by someone else ...)."""

    def __init__(self, message: str, status: str, claimed_by: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.claimed_by = claimed_by


@dataclass(frozen=True)
class QueueItem:
    """An escalation as the agents' queue lists it."""

    id: int
    sender_id: str
    customer_id: int | None
    customer_name: str | None
    reason: str
    trigger: str
    priority: int
    status: str
    churn_risk: float
    created_at: datetime
    claimed_by: str | None
    offered_contact: bool
    contact_method: str | None

    def as_dict(self, now: datetime) -> dict[str, Any]:
        """JSON form with the waiting time in seconds as of ``now``."""
        return {
            "id": self.id,
            "sender_id": self.sender_id,
            "customer_id": self.customer_id,
            "customer_name": self.customer_name,
            "reason": self.reason,
            "trigger": self.trigger,
            "priority": self.priority,
            "status": self.status,
            "churn_risk": round(self.churn_risk, 3),
            "created_at": self.created_at.isoformat() + "Z",
            "waiting_s": max(0, int((now - self.created_at).total_seconds())),
            "claimed_by": self.claimed_by,
            "offered_contact": self.offered_contact,
            "contact_method": self.contact_method,
        }


@dataclass(frozen=True)
class TranscriptEntry:
    """One line of a hand-over transcript: a shopper turn (with NLU outputs) or an agent reply."""

    kind: str  # "user" | "agent"
    text: str
    at: datetime
    author: str | None = None
    intent: str | None = None
    intent_confidence: float | None = None
    sentiment_label: str | None = None
    sentiment_score: float | None = None
    sentiment_confidence: float | None = None
    demands: tuple[dict, ...] = ()
    delivered: bool = True

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "kind": self.kind,
            "text": self.text,
            "at": self.at.isoformat() + "Z",
            "author": self.author,
            "intent": self.intent,
            "intent_confidence": self.intent_confidence,
            "sentiment": self.sentiment_label,
            "sentiment_score": self.sentiment_score,
            "sentiment_confidence": self.sentiment_confidence,
            "demands": list(self.demands),
            "delivered": self.delivered,
        }


@dataclass(frozen=True)
class EscalationView:
    """An escalation with everything the console's detail page shows."""

    item: QueueItem
    churn_reasons: tuple[dict, ...]
    customer_risk: float
    resolved_at: datetime | None
    rating: int | None
    transcript: tuple[TranscriptEntry, ...] = field(default=())


@dataclass(frozen=True)
class Opened:
    """Result of :func:`open_escalation`: the escalation and whether this call created it."""

    id: int
    created: bool
    priority: int


def open_escalation(
    session: Session,
    *,
    sender_id: str,
    reason: str,
    trigger: str,
    priority: int,
    churn_risk: float,
    customer_risk: float = 0.0,
    churn_reasons: Sequence[dict] = (),
    customer_id: int | None = None,
    channel: str | None = None,
    now: datetime,
) -> Opened:
    """Open an escalation for the conversation, or return the one already open or claimed."""
    conversation = session.execute(
        select(Conversation).where(Conversation.sender_id == sender_id)
    ).scalar_one_or_none()
    if conversation is None:
        conversation = Conversation(
            sender_id=sender_id,
            customer_id=customer_id,
            channel=channel,
            started_at=now,
            last_turn_at=now,
            turn_count=0,
        )
        session.add(conversation)
        session.flush()
    active = session.execute(
        select(Escalation.id, Escalation.priority).where(
            Escalation.conversation_id == conversation.id,
            Escalation.status.in_(ACTIVE_STATUSES),
        )
    ).first()
    if active is not None:
        return Opened(active[0], False, active[1])
    message_id = session.execute(
        select(func.max(Message.id)).where(Message.conversation_id == conversation.id)
    ).scalar_one()
    escalation = Escalation(
        conversation_id=conversation.id,
        customer_id=customer_id if customer_id is not None else conversation.customer_id,
        message_id=message_id,
        reason=reason[:200],
        priority=int(priority),
        status=EscalationStatus.OPEN,
        created_at=now,
    )
    session.add(escalation)
    session.flush()
    session.add(
        EscalationDetail(
            escalation_id=escalation.id,
            sender_id=sender_id,
            trigger=trigger,
            churn_risk=float(churn_risk),
            customer_risk=float(customer_risk),
            churn_reasons=list(churn_reasons),
            updated_at=now,
        )
    )
    session.flush()
    logger.info(
        "Escalation %s opened for %s (%s, priority %s)", escalation.id, sender_id, trigger, priority
    )
    return Opened(escalation.id, True, int(priority))


def claim(session: Session, escalation_id: int, agent: Agent, now: datetime) -> QueueItem:
    """Give the open escalation to ``agent``; :class:`EscalationConflictError` if not open."""
    result = session.execute(
        update(Escalation)
        .where(Escalation.id == escalation_id, Escalation.status == EscalationStatus.OPEN)
        .values(status=EscalationStatus.CLAIMED, claimed_by=agent.username, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        current = _current(session, escalation_id)
        raise EscalationConflictError(
            f"escalation {escalation_id} is {current.status.value}"
            + (f" by {current.claimed_by}" if current.claimed_by else ""),
            current.status.value,
            current.claimed_by,
        )
    _touch(session, escalation_id, now, claimed_by_id=agent.id)
    return queue_item(session, escalation_id)


def add_agent_message(
    session: Session, escalation_id: int, agent: Agent, text: str, now: datetime
) -> int:
    """Store the claimant's reply (the caller delivers it); its id. Only the claimant may reply."""
    text = text.strip()
    if not text:
        raise ValueError("empty reply")
    if len(text) > MAX_REPLY_CHARS:
        raise ValueError(f"reply longer than {MAX_REPLY_CHARS} characters")
    current = _current(session, escalation_id)
    if current.status != EscalationStatus.CLAIMED or current.claimed_by != agent.username:
        raise EscalationConflictError(
            f"escalation {escalation_id} is not claimed by {agent.username}",
            current.status.value,
            current.claimed_by,
        )
    message = AgentMessage(
        escalation_id=escalation_id,
        agent_user_id=agent.id,
        agent_name=agent.display_name,
        text=text,
        sent_at=now,
        delivered=False,
    )
    session.add(message)
    session.flush()
    _touch(session, escalation_id, now)
    return message.id


def mark_delivered(session: Session, message_id: int) -> None:
    """Record that an agent reply reached the Rasa server."""
    session.execute(
        update(AgentMessage)
        .where(AgentMessage.id == message_id)
        .values(delivered=True)
        .execution_options(synchronize_session=False)
    )


def resolve(session: Session, escalation_id: int, agent: Agent, now: datetime) -> QueueItem:
    """Close the escalation (its claimant or a supervisor; an open one only by a supervisor)."""
    allowed = (
        (EscalationStatus.OPEN, EscalationStatus.CLAIMED)
        if agent.is_supervisor
        else (EscalationStatus.CLAIMED,)
    )
    condition = [Escalation.id == escalation_id, Escalation.status.in_(allowed)]
    if not agent.is_supervisor:
        condition.append(Escalation.claimed_by == agent.username)
    result = session.execute(
        update(Escalation)
        .where(and_(*condition))
        .values(status=EscalationStatus.RESOLVED, resolved_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        current = _current(session, escalation_id)
        raise EscalationConflictError(
            f"escalation {escalation_id} cannot be resolved by {agent.username} "
            f"(it is {current.status.value})",
            current.status.value,
            current.claimed_by,
        )
    _touch(session, escalation_id, now)
    return queue_item(session, escalation_id)


def queue(session: Session, include_resolved_since: datetime | None = None) -> list[QueueItem]:
    """Open and claimed escalations, most urgent first, then longest waiting."""
    condition = Escalation.status.in_(ACTIVE_STATUSES)
    if include_resolved_since is not None:
        condition = condition | (Escalation.resolved_at >= include_resolved_since)
    rows = session.execute(
        _item_query().where(condition).order_by(Escalation.priority.desc(), Escalation.created_at)
    ).all()
    return [_item(row) for row in rows]


def queue_item(session: Session, escalation_id: int) -> QueueItem:
    """One escalation as the queue lists it."""
    row = session.execute(_item_query().where(Escalation.id == escalation_id)).first()
    if row is None:
        raise EscalationNotFoundError(escalation_id)
    return _item(row)


def view(session: Session, escalation_id: int) -> EscalationView:
    """The escalation with its churn reasons and the conversation's whole transcript."""
    item = queue_item(session, escalation_id)
    escalation = session.get(Escalation, escalation_id)
    detail = session.get(EscalationDetail, escalation_id)
    assert escalation is not None
    entries = [
        TranscriptEntry(
            kind="user",
            text=m.text,
            at=m.sent_at,
            intent=m.intent,
            intent_confidence=m.intent_confidence,
            sentiment_label=m.sentiment_label,
            sentiment_score=m.sentiment_score,
            sentiment_confidence=m.sentiment_confidence,
            demands=tuple(m.demands or ()),
        )
        for m in session.execute(
            select(Message)
            .where(Message.conversation_id == escalation.conversation_id)
            .order_by(Message.turn)
        ).scalars()
    ]
    entries += [
        TranscriptEntry(
            kind="agent", text=a.text, at=a.sent_at, author=a.agent_name, delivered=a.delivered
        )
        for a in session.execute(
            select(AgentMessage)
            .join(Escalation, AgentMessage.escalation_id == Escalation.id)
            .where(Escalation.conversation_id == escalation.conversation_id)
            .order_by(AgentMessage.id)
        ).scalars()
    ]
    entries.sort(key=lambda e: e.at)
    return EscalationView(
        item=item,
        churn_reasons=tuple(detail.churn_reasons or ()) if detail else (),
        customer_risk=detail.customer_risk if detail else 0.0,
        resolved_at=escalation.resolved_at,
        rating=detail.rating if detail else None,
        transcript=tuple(entries),
    )


def active_for_sender(session: Session, sender_id: str) -> QueueItem | None:
    """The conversation's open or claimed escalation, if any."""
    row = session.execute(
        _item_query().where(
            EscalationDetail.sender_id == sender_id, Escalation.status.in_(ACTIVE_STATUSES)
        )
    ).first()
    return _item(row) if row else None


def latest_for_sender(session: Session, sender_id: str) -> QueueItem | None:
    """The conversation's most recent escalation, whatever its status."""
    row = session.execute(
        _item_query()
        .where(EscalationDetail.sender_id == sender_id)
        .order_by(Escalation.id.desc())
        .limit(1)
    ).first()
    return _item(row) if row else None


def due_for_contact_offer(session: Session, now: datetime, timeout_s: float) -> list[QueueItem]:
    """Open escalations unclaimed for ``timeout_s`` whose shopper was not yet offered contact."""
    before = now - timedelta(seconds=timeout_s)
    rows = session.execute(
        _item_query().where(
            Escalation.status == EscalationStatus.OPEN,
            Escalation.created_at <= before,
            EscalationDetail.offered_contact_at.is_(None),
        )
    ).all()
    return [_item(row) for row in rows]


def mark_contact_offered(session: Session, escalation_id: int, now: datetime) -> bool:
    """Record the callback/ticket offer once; False when another process already did."""
    result = session.execute(
        update(EscalationDetail)
        .where(
            EscalationDetail.escalation_id == escalation_id,
            EscalationDetail.offered_contact_at.is_(None),
        )
        .values(offered_contact_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def record_contact_choice(session: Session, sender_id: str, method: str, now: datetime) -> bool:
    """Store the shopper's callback/email choice on the conversation's latest escalation."""
    if method not in CONTACT_METHODS:
        raise ValueError(f"contact method must be one of {CONTACT_METHODS}, not {method!r}")
    item = active_for_sender(session, sender_id) or latest_for_sender(session, sender_id)
    if item is None:
        return False
    _touch(session, item.id, now, contact_method=method)
    return True


def record_rating(session: Session, sender_id: str, rating: int, now: datetime) -> bool:
    """Store the shopper's 1-5 rating on the conversation's latest resolved escalation."""
    if not 1 <= rating <= 5:
        raise ValueError("rating must be 1 to 5")
    item = latest_for_sender(session, sender_id)
    if item is None or item.status != EscalationStatus.RESOLVED.value:
        return False
    _touch(session, item.id, now, rating=rating)
    return True


def fingerprint(session: Session) -> tuple[Any, ...]:
    """Changes whenever the queue or a hand-over transcript changes (the console polls it)."""
    return (
        *session.execute(
            select(func.count(), func.max(EscalationDetail.updated_at)).select_from(
                EscalationDetail
            )
        ).one(),
        session.execute(select(func.max(Message.id))).scalar_one(),
        session.execute(select(func.max(AgentMessage.id))).scalar_one(),
    )


def _item_query() -> Any:
    from knowledge.models import Customer

    return (
        select(Escalation, EscalationDetail, Customer.name)
        .join(EscalationDetail, EscalationDetail.escalation_id == Escalation.id)
        .outerjoin(Customer, Customer.id == Escalation.customer_id)
    )


def _item(row: Any) -> QueueItem:
    escalation, detail, customer_name = row
    status = escalation.status
    return QueueItem(
        id=escalation.id,
        sender_id=detail.sender_id,
        customer_id=escalation.customer_id,
        customer_name=customer_name,
        reason=escalation.reason,
        trigger=detail.trigger,
        priority=escalation.priority,
        status=status.value if isinstance(status, EscalationStatus) else str(status),
        churn_risk=detail.churn_risk,
        created_at=escalation.created_at,
        claimed_by=escalation.claimed_by,
        offered_contact=detail.offered_contact_at is not None,
        contact_method=detail.contact_method,
    )


def _current(session: Session, escalation_id: int) -> Escalation:
    escalation = session.execute(
        select(Escalation)
        .where(Escalation.id == escalation_id)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if escalation is None:
        raise EscalationNotFoundError(escalation_id)
    return escalation


def _touch(session: Session, escalation_id: int, now: datetime, **values: Any) -> None:
    session.execute(
        update(EscalationDetail)
        .where(EscalationDetail.escalation_id == escalation_id)
        .values(updated_at=now, **values)
        .execution_options(synchronize_session=False)
    )
