"""Drill-down: the list of conversations behind a number and one conversation's transcript."""

from __future__ import annotations

import logging
from typing import Any, Sequence

from sqlalchemy.orm import Session

from insight.analytics import dataset
from insight.analytics.derive import AGENT_KINDS, AGENT_MESSAGE, sort_events, to_datetime
from insight.analytics.filters import Filters
from insight.analytics.fold import load_events
from insight.analytics.measure_base import REASON_LABELS, iso, rnd
from insight.analytics.service_measures import is_low_confidence
from insight.analytics.tables import AnalyticsConversation, AnalyticsMessage

logger = logging.getLogger(__name__)

MAX_LIMIT = 500


class UnknownConversationError(LookupError):
    """No analytics conversation with that sender id."""


def conversation_row(c: AnalyticsConversation, segments: dict[int, int]) -> dict[str, Any]:
    """A conversation as the drill-down list shows it."""
    return {
        "conversation_id": c.sender_id,
        "customer_id": c.customer_id,
        "segment": segments.get(c.customer_id) if c.customer_id is not None else None,
        "channel": c.channel,
        "language": c.language,
        "started_at": iso(c.started_at),
        "ended_at": iso(c.ended_at),
        "messages": c.user_messages,
        "escalated": bool(c.escalated),
        "escalation_reason": c.escalation_reason,
        "csat": c.csat,
        "opening_sentiment": rnd(c.opening_sentiment),
        "closing_sentiment": rnd(c.closing_sentiment),
        "intents": list(c.intents or []),
        "categories": list(c.categories or []),
        "first_text": c.first_text,
        "conversation_ids": [c.sender_id],
    }


def conversations(
    session: Session,
    filters: Filters,
    ids: Sequence[str] | None,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    """The selected conversations, newest first, one page of them."""
    segments = dataset.segment_map(session)
    rows = dataset.select_conversations(session, filters, ids, segments)
    rows.sort(key=lambda c: (c.started_at, c.sender_id), reverse=True)
    page = rows[offset : offset + limit]
    return {
        "total": len(rows),
        "limit": limit,
        "offset": offset,
        "rows": [conversation_row(c, segments) for c in page],
    }


def transcript(session: Session, sender_id: str, low_threshold: float) -> dict[str, Any]:
    """One conversation: its summary row and every message with what the NLU made of it."""
    conversation = session.get(AnalyticsConversation, sender_id)
    if conversation is None:
        raise UnknownConversationError(sender_id)
    messages = {
        m.event_key: m for m in dataset.load_messages(session, [sender_id]).get(sender_id, [])
    }
    lines: list[dict[str, Any]] = []
    for event in sort_events(load_events(session, sender_id)):
        at = iso(to_datetime(event.timestamp))
        data = event.data
        if event.event_type == "user" and event.key in messages:
            lines.append(_user_line(messages[event.key], at, low_threshold))
        elif event.event_type == "bot":
            line = _bot_line(data, at)
            if line is not None:
                lines.append(line)
        elif event.event_type == "pause" and conversation.escalated:
            reason = REASON_LABELS.get(conversation.escalation_reason or "unknown", "")
            lines.append({"kind": "event", "at": at, "text": f"Handed to a person: {reason}"})
        elif event.event_type == "resume":
            lines.append({"kind": "event", "at": at, "text": "Handed back to the bot"})
    return {
        "conversation": conversation_row(conversation, dataset.segment_map(session)),
        "transcript": lines,
    }


def _user_line(m: AnalyticsMessage, at: str | None, low_threshold: float) -> dict[str, Any]:
    return {
        "kind": "user",
        "at": at,
        "text": m.text,
        "intent": m.intent,
        "confidence": rnd(m.intent_confidence),
        "sentiment": (
            {"label": m.sentiment_label, "score": rnd(m.sentiment_score)}
            if m.sentiment_label
            else None
        ),
        "demands": [
            {"aspect": d["aspect"], "product": d.get("product"), "confidence": d.get("confidence")}
            for d in m.demands or []
        ],
        "low_confidence": is_low_confidence(m, low_threshold) if m.intent else False,
        "faq_outcome": m.faq_outcome,
    }


def _bot_line(data: dict[str, Any], at: str | None) -> dict[str, Any] | None:
    metadata = data.get("metadata") or {}
    kind = metadata.get("handoff") if isinstance(metadata, dict) else None
    if kind in AGENT_KINDS:
        text = metadata.get("agent_text") or ""
        if kind == AGENT_MESSAGE:
            return {"kind": "agent", "at": at, "text": text, "agent": metadata.get("agent")}
        return {"kind": "event", "at": at, "text": text}
    payload = data.get("data") or {}
    buttons = [
        str(b.get("title") or b.get("payload") or "")
        for b in (payload.get("buttons") or [])
        if isinstance(b, dict)
    ]
    text = data.get("text")
    if not text and not buttons:
        return None
    return {"kind": "bot", "at": at, "text": text, "buttons": buttons}
