"""Loading the conversations and messages a set of :class:`Filters` selects.

Date range, channel and language are applied in SQL; intent, product category and customer
segment in Python over the (small) JSON lists each conversation row carries. Rows are returned
detached from their session, ready for the measures.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from insight.analytics.filters import Filters
from insight.analytics.tables import (
    AnalyticsConversation,
    AnalyticsMessage,
    AnalyticsSegment,
)

logger = logging.getLogger(__name__)

# Sender ids per IN (...) query.
CHUNK = 500


@dataclass
class Dataset:
    """The selected conversations (oldest first), their messages and the customers' segments."""

    conversations: list[AnalyticsConversation]
    messages: dict[str, list[AnalyticsMessage]] = field(default_factory=dict)
    segments: dict[int, int] = field(default_factory=dict)

    @property
    def ids(self) -> list[str]:
        """Sender ids of the selected conversations."""
        return [c.sender_id for c in self.conversations]

    def all_messages(self) -> list[AnalyticsMessage]:
        """Every message of the selected conversations, in time order."""
        rows = [m for c in self.conversations for m in self.messages.get(c.sender_id, [])]
        return sorted(rows, key=lambda m: (m.sent_at, m.sender_id, m.turn))


def segment_map(session: Session) -> dict[int, int]:
    """``customer id -> segment`` of the latest segmentation."""
    return {
        customer: segment
        for customer, segment in session.execute(
            select(AnalyticsSegment.customer_id, AnalyticsSegment.segment)
        ).all()
    }


def select_conversations(
    session: Session,
    filters: Filters,
    ids: Sequence[str] | None = None,
    segments: dict[int, int] | None = None,
) -> list[AnalyticsConversation]:
    """The conversations ``filters`` (and, when given, ``ids``) select, oldest first."""
    query = select(AnalyticsConversation).order_by(
        AnalyticsConversation.started_at, AnalyticsConversation.sender_id
    )
    if filters.start is not None:
        query = query.where(AnalyticsConversation.started_at >= filters.start)
    if filters.end is not None:
        query = query.where(AnalyticsConversation.started_at < filters.end)
    if filters.channel is not None:
        query = query.where(AnalyticsConversation.channel == filters.channel)
    if filters.language is not None:
        query = query.where(AnalyticsConversation.language == filters.language)
    if ids is not None:
        wanted = set(ids)
        rows = [r for r in session.execute(query).scalars() if r.sender_id in wanted]
    else:
        rows = list(session.execute(query).scalars())
    if filters.intent is not None:
        rows = [r for r in rows if filters.intent in (r.intents or [])]
    if filters.category is not None:
        category = filters.category.lower()
        rows = [r for r in rows if category in {c.lower() for c in r.categories or []}]
    if filters.segment is not None:
        segment_of = segments if segments is not None else segment_map(session)
        rows = [
            r
            for r in rows
            if r.customer_id is not None and segment_of.get(r.customer_id) == filters.segment
        ]
    return rows


def load_messages(session: Session, sender_ids: Iterable[str]) -> dict[str, list[AnalyticsMessage]]:
    """Messages of the given conversations, each list in turn order."""
    ids = list(dict.fromkeys(sender_ids))
    found: dict[str, list[AnalyticsMessage]] = defaultdict(list)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        query = (
            select(AnalyticsMessage)
            .where(AnalyticsMessage.sender_id.in_(chunk))
            .order_by(AnalyticsMessage.sender_id, AnalyticsMessage.turn)
        )
        for row in session.execute(query).scalars():
            found[row.sender_id].append(row)
    return dict(found)


def load(session: Session, filters: Filters, ids: Sequence[str] | None = None) -> Dataset:
    """The :class:`Dataset` ``filters`` select."""
    segments = segment_map(session)
    conversations = select_conversations(session, filters, ids, segments)
    messages = load_messages(session, [c.sender_id for c in conversations])
    session.expunge_all()
    return Dataset(conversations, messages, segments)
