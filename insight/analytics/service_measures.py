"""Service measures: FAQ answer rate and content gaps, low-confidence NLU messages, CSAT,
agents' first-response and resolution times."""

from __future__ import annotations

import logging
import math
import statistics
from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from insight.analytics import dataset
from insight.analytics.derive import ANSWERED, CHOICE, FALLBACK_INTENT, UNANSWERED
from insight.analytics.filters import Filters
from insight.analytics.measure_base import Context, Result, ids_of, iso, mean, rate, rnd
from insight.analytics.tables import AnalyticsMessage

logger = logging.getLogger(__name__)


def faq(session: Session, filters: Filters, ctx: Context) -> Result:
    """FAQ answer rate and the questions that found no good answer (content gaps)."""
    questions = [m for m in dataset.load(session, filters).all_messages() if m.faq_outcome]
    outcome = Counter(m.faq_outcome for m in questions)
    gaps = [m for m in questions if m.faq_outcome == UNANSWERED]
    return {
        "summary": {
            "questions": len(questions),
            "answered": outcome.get(ANSWERED, 0),
            "choice": outcome.get(CHOICE, 0),
            "unanswered": outcome.get(UNANSWERED, 0),
            "answer_rate": rate(outcome.get(ANSWERED, 0), len(questions)),
            "conversation_ids": ids_of(questions),
        },
        "rows": [
            {
                "conversation_id": m.sender_id,
                "sent_at": iso(m.sent_at),
                "text": m.text,
                "intent": m.intent,
                "confidence": rnd(m.intent_confidence),
                "outcome": m.faq_outcome,
                "conversation_ids": [m.sender_id],
            }
            for m in gaps
        ],
    }


def is_low_confidence(message: AnalyticsMessage, threshold: float) -> bool:
    """``nlu_fallback`` or an intent confidence below ``threshold``."""
    if message.intent == FALLBACK_INTENT:
        return True
    return message.intent_confidence is not None and message.intent_confidence < threshold


def low_confidence(session: Session, filters: Filters, ctx: Context) -> Result:
    """User messages the NLU was unsure about, to review (and add to the training data)."""
    threshold = ctx.settings.analytics_low_confidence
    messages = [m for m in dataset.load(session, filters).all_messages() if m.intent]
    low = [m for m in messages if is_low_confidence(m, threshold)]
    return {
        "summary": {
            "messages": len(messages),
            "low_confidence": len(low),
            "rate": rate(len(low), len(messages)),
            "threshold": threshold,
            "conversation_ids": ids_of(low),
        },
        "rows": [
            {
                "conversation_id": m.sender_id,
                "sent_at": iso(m.sent_at),
                "text": m.text,
                "intent": m.intent,
                "confidence": rnd(m.intent_confidence),
                "best_guess": m.best_guess,
                "best_guess_confidence": rnd(m.best_guess_confidence),
                "conversation_ids": [m.sender_id],
            }
            for m in low
        ],
    }


def csat(session: Session, filters: Filters, ctx: Context) -> Result:
    """Star ratings shoppers gave after a hand-back."""
    rated = [c for c in dataset.load(session, filters).conversations if c.csat is not None]
    by_stars: dict[int, list[Any]] = defaultdict(list)
    for c in rated:
        by_stars[int(c.csat or 0)].append(c)
    return {
        "summary": {
            "ratings": len(rated),
            "mean": mean(c.csat for c in rated),
            "distribution": {str(s): len(by_stars.get(s, [])) for s in range(1, 6)},
            "conversation_ids": ids_of(rated),
        },
        "rows": [
            {
                "rating": s,
                "count": len(by_stars.get(s, [])),
                "conversation_ids": ids_of(by_stars.get(s, [])),
            }
            for s in range(5, 0, -1)
        ],
    }


def durations(values: list[float]) -> dict[str, Any]:
    """Count, mean, median and 90th percentile (nearest rank) of durations in seconds."""
    if not values:
        return {"count": 0, "mean_s": None, "median_s": None, "p90_s": None}
    ordered = sorted(values)
    return {
        "count": len(ordered),
        "mean_s": rnd(sum(ordered) / len(ordered), 1),
        "median_s": rnd(statistics.median(ordered), 1),
        "p90_s": rnd(ordered[math.ceil(0.9 * len(ordered)) - 1], 1),
    }


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    return (end - start).total_seconds() if start and end else None


def agents(session: Session, filters: Filters, ctx: Context) -> Result:
    """Agents' first-response and resolution times of the hand-overs."""
    escalated = [c for c in dataset.load(session, filters).conversations if c.escalated]
    rows = []
    first: list[float] = []
    resolved: list[float] = []
    for c in escalated:
        response_s = _seconds(c.escalated_at, c.first_agent_response_at)
        resolution_s = _seconds(c.escalated_at, c.resolved_at)
        first += [response_s] if response_s is not None else []
        resolved += [resolution_s] if resolution_s is not None else []
        rows.append(
            {
                "conversation_id": c.sender_id,
                "reason": c.escalation_reason,
                "escalated_at": iso(c.escalated_at),
                "agent": c.agent_name,
                "first_response_s": rnd(response_s, 1),
                "resolution_s": rnd(resolution_s, 1),
                "csat": c.csat,
                "conversation_ids": [c.sender_id],
            }
        )
    return {
        "summary": {
            "escalations": len(rows),
            "first_response": durations(first),
            "resolution": durations(resolved),
            "conversation_ids": ids_of(escalated),
        },
        "rows": rows,
    }
