"""Folding Rasa events into the analytics tables, idempotently.

:func:`fold` stores each event once under its key (an event seen before is skipped) and then
rebuilds the summary rows of every conversation that got a new event from ALL of that
conversation's stored events. The derived rows are therefore a pure function of the stored
events: replaying one event, a whole log, or the same events through another path (broker,
RabbitMQ, tracker-store backfill) changes nothing, and events may arrive in any order.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterable, Sequence

from sqlalchemy import delete, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from insight.analytics.derive import CategoryLookup, ConversationFacts, derive
from insight.analytics.events import RawEvent
from insight.analytics.tables import AnalyticsConversation, AnalyticsEvent, AnalyticsMessage
from knowledge.models import Category, Product

logger = logging.getLogger(__name__)

# Events written per INSERT statement.
BATCH = 500


@dataclass(frozen=True)
class FoldResult:
    """What one :func:`fold` did."""

    # Events given, sender ids that got at least one new event, conversations rebuilt.
    received: int
    senders: int
    conversations: int


def utcnow() -> datetime:
    """Now as naive UTC."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def category_lookup(session: Session) -> CategoryLookup:
    """``product name -> category name`` over the shop's catalogue (case-insensitive)."""
    rows = session.execute(
        select(func.lower(Product.name), Category.name).join(
            Category, Product.category_id == Category.id
        )
    ).all()
    table = {name: category for name, category in rows}

    def lookup(product: str) -> str | None:
        return table.get(product.strip().lower())

    return lookup


def store_events(session: Session, events: Sequence[RawEvent], source: str) -> set[str]:
    """Insert the events not stored yet; the sender ids that got at least one new event."""
    if not events:
        return set()
    unique = {e.key: e for e in events}
    keys = list(unique)
    known: set[str] = set()
    for start in range(0, len(keys), BATCH):
        chunk = keys[start : start + BATCH]
        known.update(
            session.execute(
                select(AnalyticsEvent.event_key).where(AnalyticsEvent.event_key.in_(chunk))
            ).scalars()
        )
    fresh = [e for key, e in unique.items() if key not in known]
    if not fresh:
        return set()
    now = utcnow()
    rows = [
        {
            "event_key": e.key,
            "sender_id": e.sender_id,
            "event_type": e.event_type,
            "timestamp": e.timestamp,
            "data": e.data,
            "source": source,
            "received_at": now,
        }
        for e in fresh
    ]
    for start in range(0, len(rows), BATCH):
        session.execute(_insert_ignoring_duplicates(session), rows[start : start + BATCH])
    return {e.sender_id for e in fresh}


def _insert_ignoring_duplicates(session: Session):  # type: ignore[no-untyped-def]
    """INSERT that skips keys another consumer stored meanwhile (SQLite and PostgreSQL)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(AnalyticsEvent).on_conflict_do_nothing(
            index_elements=["event_key"]
        )
    if dialect == "sqlite":
        return sqlite.insert(AnalyticsEvent).on_conflict_do_nothing(index_elements=["event_key"])
    return insert(AnalyticsEvent)


def load_events(session: Session, sender_id: str) -> list[RawEvent]:
    """Every stored event of one conversation (columns only: no ORM objects, since a long
    conversation's rebuild reads thousands of them every ingest round)."""
    rows = session.execute(
        select(
            AnalyticsEvent.event_key,
            AnalyticsEvent.sender_id,
            AnalyticsEvent.event_type,
            AnalyticsEvent.timestamp,
            AnalyticsEvent.data,
        ).where(AnalyticsEvent.sender_id == sender_id)
    )
    return [RawEvent(*row) for row in rows]


def rebuild(session: Session, sender_ids: Iterable[str], category_of: CategoryLookup) -> int:
    """Recompute the summary rows of ``sender_ids`` from their stored events; how many exist."""
    count = 0
    for sender_id in sorted(set(sender_ids)):
        session.execute(delete(AnalyticsMessage).where(AnalyticsMessage.sender_id == sender_id))
        session.execute(
            delete(AnalyticsConversation).where(AnalyticsConversation.sender_id == sender_id)
        )
        facts = derive(sender_id, load_events(session, sender_id), category_of)
        if facts is None:
            continue
        _write(session, facts)
        count += 1
    return count


def fold(factory: sessionmaker, events: Sequence[RawEvent], source: str) -> FoldResult:
    """Store ``events`` and rebuild the conversations they touch, in one transaction."""
    with factory() as session, session.begin():
        touched = store_events(session, events, source)
        rebuilt = rebuild(session, touched, category_lookup(session)) if touched else 0
    if touched:
        logger.info(
            "Folded %d events from %s (%d new senders' conversations rebuilt)",
            len(events),
            source,
            rebuilt,
        )
    return FoldResult(len(events), len(touched), rebuilt)


def rebuild_all(factory: sessionmaker) -> int:
    """Recompute every conversation's rows from the stored events (after a catalogue change)."""
    with factory() as session, session.begin():
        senders = session.execute(select(AnalyticsEvent.sender_id).distinct()).scalars().all()
        return rebuild(session, senders, category_lookup(session))


def clear(session: Session) -> None:
    """Delete all stored events and derived rows (the backfill starts from nothing)."""
    session.execute(delete(AnalyticsMessage))
    session.execute(delete(AnalyticsConversation))
    session.execute(delete(AnalyticsEvent))


def _write(session: Session, facts: ConversationFacts) -> None:
    """Insert the conversation's summary row and its message rows (Core inserts: ORM objects
    cost more than the derivation itself for a long conversation)."""
    assert facts.started_at is not None and facts.ended_at is not None
    scored = facts.scored()
    session.execute(
        insert(AnalyticsConversation),
        [
            {
                "sender_id": facts.sender_id,
                "customer_id": facts.customer_id,
                "channel": facts.channel,
                "language": facts.language,
                "started_at": facts.started_at,
                "ended_at": facts.ended_at,
                "user_messages": facts.user_messages,
                "bot_messages": facts.bot_messages,
                "agent_messages": facts.agent_messages,
                "escalated": facts.escalated,
                "escalation_reason": facts.escalation_reason,
                "escalated_at": facts.escalated_at,
                "first_agent_response_at": facts.first_agent_response_at,
                "resolved_at": facts.resolved_at,
                "agent_name": facts.agent_name,
                "csat": facts.csat,
                "opening_sentiment": scored[0] if scored else None,
                "closing_sentiment": scored[-1] if scored else None,
                "intents": facts.intents(),
                "products": facts.products(),
                "categories": facts.categories(),
                "first_text": facts.messages[0].text[:500],
            }
        ],
    )
    session.execute(
        insert(AnalyticsMessage),
        [
            {
                "event_key": m.event_key,
                "sender_id": m.sender_id,
                "turn": m.turn,
                "sent_at": m.sent_at,
                "text": m.text,
                "channel": m.channel,
                "customer_id": m.customer_id if m.customer_id is not None else facts.customer_id,
                "intent": m.intent,
                "intent_confidence": m.intent_confidence,
                "best_guess": m.best_guess,
                "best_guess_confidence": m.best_guess_confidence,
                "sentiment_label": m.sentiment_label,
                "sentiment_score": m.sentiment_score,
                "sentiment_confidence": m.sentiment_confidence,
                "demands": m.demands,
                "products": m.products,
                "categories": m.categories,
                "faq_outcome": m.faq_outcome,
                "rating": m.rating,
                "failed_lookup": m.failed_lookup,
            }
            for m in facts.messages
        ],
    )
