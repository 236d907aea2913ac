"""The dashboard's measures: each one a function of the selected conversations.

This module holds the conversation, sentiment and intent measures and the registry; the helpers
every measure shares are in ``measure_base``, demands in ``demand_measures``, FAQ / NLU / CSAT /
agent times in ``service_measures`` and customers at churn risk in ``at_risk``.

Every measure takes an open session, the :class:`~insight.analytics.filters.Filters` and a
:class:`Context` (settings, "now", extra parameters) and returns ``{"summary": {...}, "rows":
[...]}`` of plain JSON-able values; every row and every summary carries the
``conversation_ids`` behind its numbers so the dashboard can drill down. ``MEASURES`` maps the
API names to the functions.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from datetime import date, timedelta
from typing import Any

from sqlalchemy.orm import Session

from insight.analytics import dataset
from insight.analytics.at_risk import churn
from insight.analytics.demand_measures import demand_products, demands
from insight.analytics.filters import Filters
from insight.analytics.measure_base import (
    REASON_LABELS,
    Context,
    Measure,
    Result,
    ids_of,
    iso,
    labels,
    mean,
    rate,
    rnd,
)
from insight.analytics.service_measures import agents, csat, faq, low_confidence
from insight.analytics.tables import AnalyticsMessage
from knowledge.language import SUPPORTED_LANGUAGES

logger = logging.getLogger(__name__)

# |closing - opening| below this counts as unchanged.
SHIFT_EPSILON = 0.1
# How the dashboard names each language (in that language).
LANGUAGE_LABELS = {"en": "English", "zh": "中文"}


def overview(session: Session, filters: Filters, ctx: Context) -> Result:
    """Conversations and messages (user, bot, agent), per day."""
    data = dataset.load(session, filters)
    convs = data.conversations
    by_day: dict[date, list[Any]] = defaultdict(list)
    for c in convs:
        by_day[c.started_at.date()].append(c)
    customers = {c.customer_id for c in convs if c.customer_id is not None}
    return {
        "summary": {
            "conversations": len(convs),
            "messages": sum(c.user_messages for c in convs),
            "bot_messages": sum(c.bot_messages for c in convs),
            "agent_messages": sum(c.agent_messages for c in convs),
            "customers": len(customers),
            "first_day": iso(min(by_day)) if by_day else None,
            "last_day": iso(max(by_day)) if by_day else None,
            "conversation_ids": data.ids,
        },
        "rows": [
            {
                "day": iso(day),
                "conversations": len(rows),
                "messages": sum(c.user_messages for c in rows),
                "conversation_ids": ids_of(rows),
            }
            for day, rows in sorted(by_day.items())
        ],
    }


def containment(session: Session, filters: Filters, ctx: Context) -> Result:
    """Containment (no hand-over to a person) and escalation rate by reason."""
    convs = dataset.load(session, filters).conversations
    escalated = [c for c in convs if c.escalated]
    by_reason: dict[str, list[Any]] = defaultdict(list)
    for c in escalated:
        by_reason[c.escalation_reason or "unknown"].append(c)
    total = len(convs)
    return {
        "summary": {
            "conversations": total,
            "contained": total - len(escalated),
            "escalated": len(escalated),
            "containment_rate": rate(total - len(escalated), total),
            "escalation_rate": rate(len(escalated), total),
            "conversation_ids": ids_of(convs),
        },
        "rows": [
            {
                "reason": reason,
                "label": REASON_LABELS.get(reason, reason),
                "conversations": len(rows),
                "rate": rate(len(rows), total),
                "conversation_ids": ids_of(rows),
            }
            for reason, rows in sorted(by_reason.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        ],
    }


def sentiment(session: Session, filters: Filters, ctx: Context) -> Result:
    """Mean signed sentiment of user messages per day (and the label counts)."""
    data = dataset.load(session, filters)
    scored = [m for m in data.all_messages() if m.sentiment_score is not None]
    by_day: dict[date, list[AnalyticsMessage]] = defaultdict(list)
    for m in scored:
        by_day[m.sent_at.date()].append(m)
    return {
        "summary": {
            "messages": len(scored),
            "mean": mean(m.sentiment_score for m in scored),
            **labels(scored),
            "conversation_ids": ids_of(scored),
        },
        "rows": [
            {
                "day": iso(day),
                "messages": len(rows),
                "mean": mean(m.sentiment_score for m in rows),
                **labels(rows),
                "conversation_ids": ids_of(rows),
            }
            for day, rows in sorted(by_day.items())
        ],
    }


def sentiment_shift(session: Session, filters: Filters, ctx: Context) -> Result:
    """Opening vs closing sentiment of each conversation."""
    convs = [
        c for c in dataset.load(session, filters).conversations if c.opening_sentiment is not None
    ]
    rows = []
    deltas = []
    for c in convs:
        delta = float(c.closing_sentiment or 0.0) - float(c.opening_sentiment or 0.0)
        deltas.append(delta)
        rows.append(
            {
                "conversation_id": c.sender_id,
                "started_at": iso(c.started_at),
                "opening": rnd(c.opening_sentiment),
                "closing": rnd(c.closing_sentiment),
                "delta": rnd(delta),
                "conversation_ids": [c.sender_id],
            }
        )
    return {
        "summary": {
            "conversations": len(convs),
            "opening_mean": mean(c.opening_sentiment for c in convs),
            "closing_mean": mean(c.closing_sentiment for c in convs),
            "improved": sum(d >= SHIFT_EPSILON for d in deltas),
            "worsened": sum(d <= -SHIFT_EPSILON for d in deltas),
            "unchanged": sum(abs(d) < SHIFT_EPSILON for d in deltas),
            "conversation_ids": ids_of(convs),
        },
        "rows": rows,
    }


def languages(session: Session, filters: Filters, ctx: Context) -> Result:
    """Conversations by language: count, share, messages, escalations and mean sentiment.

    Every served language has a row (0 when none of its conversations is selected), in the order
    of ``SUPPORTED_LANGUAGES``; a language stored but no longer served follows.
    """
    data = dataset.load(session, filters)
    convs = data.conversations
    by_language: dict[str, list[Any]] = {code: [] for code in SUPPORTED_LANGUAGES}
    for c in convs:
        by_language.setdefault(c.language, []).append(c)
    rows = []
    for code, items in by_language.items():
        messages = [m for c in items for m in data.messages.get(c.sender_id, [])]
        escalated = sum(1 for c in items if c.escalated)
        rows.append(
            {
                "language": code,
                "label": LANGUAGE_LABELS.get(code, code),
                "conversations": len(items),
                "share": rate(len(items), len(convs)),
                "messages": len(messages),
                "escalated": escalated,
                "escalation_rate": rate(escalated, len(items)),
                "mean_sentiment": mean(m.sentiment_score for m in messages),
                "conversation_ids": ids_of(items),
            }
        )
    return {
        "summary": {
            "conversations": len(convs),
            "languages": sum(1 for row in rows if row["conversations"]),
            "conversation_ids": data.ids,
        },
        "rows": rows,
    }


def period(filters: Filters, data: dataset.Dataset) -> tuple[date | None, date | None]:
    """The filters' date range, else the selected conversations' first and last day."""
    days = [c.started_at.date() for c in data.conversations]
    since = filters.since or (min(days) if days else None)
    until = filters.until or (max(days) if days else None)
    return since, until


def intents(session: Session, filters: Filters, ctx: Context) -> Result:
    """Intent distribution of user messages and its change against the previous period."""
    data = dataset.load(session, filters)
    since, until = period(filters, data)
    previous: list[AnalyticsMessage] = []
    prev_since = prev_until = None
    if since and until:
        length = (until - since).days + 1
        prev_until = since - timedelta(days=1)
        prev_since = prev_until - timedelta(days=length - 1)
        previous = dataset.load(session, filters.with_dates(prev_since, prev_until)).all_messages()
    current = [m for m in data.all_messages() if m.intent]
    before = Counter(m.intent for m in previous if m.intent)
    grouped: dict[str, list[AnalyticsMessage]] = defaultdict(list)
    for m in current:
        grouped[str(m.intent)].append(m)
    rows = []
    for intent, items in sorted(grouped.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        prev = before.get(intent, 0)
        rows.append(
            {
                "intent": intent,
                "count": len(items),
                "share": rate(len(items), len(current)),
                "previous_count": prev,
                "change": len(items) - prev,
                "change_pct": rnd((len(items) - prev) / prev * 100, 1) if prev else None,
                "conversation_ids": ids_of(items),
            }
        )
    for intent in sorted(set(before) - set(grouped)):
        rows.append(
            {
                "intent": intent,
                "count": 0,
                "share": 0.0 if current else None,
                "previous_count": before[intent],
                "change": -before[intent],
                "change_pct": -100.0,
                "conversation_ids": [],
            }
        )
    return {
        "summary": {
            "messages": len(current),
            "from": iso(since),
            "to": iso(until),
            "previous_from": iso(prev_since),
            "previous_to": iso(prev_until),
            "previous_messages": sum(before.values()),
            "conversation_ids": ids_of(current),
        },
        "rows": rows,
    }


def registry() -> dict[str, Measure]:
    """API name -> measure."""
    return {
        "overview": overview,
        "languages": languages,
        "containment": containment,
        "sentiment": sentiment,
        "sentiment-shift": sentiment_shift,
        "intents": intents,
        "demands": demands,
        "demand-products": demand_products,
        "churn": churn,
        "faq": faq,
        "low-confidence": low_confidence,
        "csat": csat,
        "agents": agents,
    }
