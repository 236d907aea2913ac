"""Demand measures: what customers want and complain about, by aspect and by product."""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

from sqlalchemy.orm import Session

from insight.analytics import dataset
from insight.analytics.filters import Filters
from insight.analytics.measure_base import Context, Result, ids_of, labels, mean
from insight.analytics.tables import AnalyticsMessage

logger = logging.getLogger(__name__)


def _mentions(data: dataset.Dataset) -> list[tuple[AnalyticsMessage, dict[str, Any]]]:
    return [(m, d) for m in data.all_messages() for d in (m.demands or [])]


def _polarity(items: list[tuple[AnalyticsMessage, dict[str, Any]]]) -> dict[str, Any]:
    messages = [m for m, _ in items]
    scores = [m.sentiment_score for m in messages if m.sentiment_score is not None]
    return {
        "mentions": len(items),
        "mean_sentiment": mean(scores),
        **labels(messages),
        "conversation_ids": ids_of(messages),
    }


def demands(session: Session, filters: Filters, ctx: Context) -> Result:
    """What customers want and complain about: demand aspects with their sentiment."""
    mentions = _mentions(dataset.load(session, filters))
    grouped: dict[str, list[tuple[AnalyticsMessage, dict[str, Any]]]] = defaultdict(list)
    for m, d in mentions:
        grouped[d["aspect"]].append((m, d))
    rows = []
    for aspect, items in sorted(grouped.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        stats = _polarity(items)
        rows.append(
            {
                "aspect": aspect,
                "mentions": stats["mentions"],
                "conversations": len(stats["conversation_ids"]),
                "mean_sentiment": stats["mean_sentiment"],
                "negative": stats["negative"],
                "neutral": stats["neutral"],
                "positive": stats["positive"],
                "conversation_ids": stats["conversation_ids"],
            }
        )
    return {
        "summary": {
            "mentions": len(mentions),
            "aspects": len(grouped),
            "conversation_ids": ids_of(m for m, _ in mentions),
        },
        "rows": rows,
    }


def demand_products(session: Session, filters: Filters, ctx: Context) -> Result:
    """Demands by product and aspect with their sentiment (products named in the demand)."""
    mentions = [(m, d) for m, d in _mentions(dataset.load(session, filters)) if d.get("product")]
    grouped: dict[tuple[str, str], list[tuple[AnalyticsMessage, dict[str, Any]]]] = defaultdict(
        list
    )
    categories: dict[str, str | None] = {}
    for m, d in mentions:
        grouped[(d["product"], d["aspect"])].append((m, d))
        categories.setdefault(d["product"], d.get("category"))
    rows = []
    for (product, aspect), items in sorted(grouped.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        stats = _polarity(items)
        rows.append(
            {
                "product": product,
                "category": categories.get(product),
                "aspect": aspect,
                "mentions": stats["mentions"],
                "mean_sentiment": stats["mean_sentiment"],
                "negative": stats["negative"],
                "positive": stats["positive"],
                "conversation_ids": stats["conversation_ids"],
            }
        )
    return {
        "summary": {
            "mentions": len(mentions),
            "products": len({p for p, _ in grouped}),
            "conversation_ids": ids_of(m for m, _ in mentions),
        },
        "rows": rows,
    }
