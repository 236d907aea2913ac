"""What every dashboard measure is built on: its context and result types, rounding, ids, dates.

The measure modules (``measures``, ``demand_measures``, ``service_measures``, ``at_risk``) import
these helpers; ``measures.registry`` imports the measure modules, so nothing here imports them.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Callable, Iterable, Mapping

from sqlalchemy.orm import Session

from insight.analytics.filters import Filters
from insight.analytics.tables import AnalyticsMessage
from knowledge.settings import Settings

logger = logging.getLogger(__name__)

Result = dict[str, Any]
REASON_LABELS = {
    "request": "Shopper asked for a person",
    "negative_streak": "Shopper upset several turns in a row",
    "fallbacks": "Bot did not understand repeatedly",
    "churn_risk": "High churn risk",
    "unknown": "Other",
}


@dataclass(frozen=True)
class Context:
    """What measures need besides the filters."""

    settings: Settings
    now: datetime
    params: Mapping[str, str] = field(default_factory=dict)


def rnd(value: float | None, places: int = 4) -> float | None:
    """``value`` rounded for JSON (None stays None)."""
    return None if value is None else round(float(value), places)


def mean(values: Iterable[float | None]) -> float | None:
    """Arithmetic mean of the values that are not None; None for no values."""
    items = [v for v in values if v is not None]
    return rnd(sum(items) / len(items)) if items else None


def rate(part: int, whole: int) -> float | None:
    """``part / whole`` rounded, None when ``whole`` is 0."""
    return rnd(part / whole) if whole else None


def ids_of(items: Iterable[Any]) -> list[str]:
    """Distinct sender ids of rows (conversations or messages), in order."""
    return list(dict.fromkeys(item.sender_id for item in items))


def iso(value: datetime | date | None) -> str | None:
    """ISO form (seconds precision for datetimes)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(microsecond=0).isoformat()
    return value.isoformat()


def labels(messages: list[AnalyticsMessage]) -> dict[str, int]:
    """How many of ``messages`` are negative, neutral and positive."""
    counts = Counter(m.sentiment_label for m in messages)
    return {label: counts.get(label, 0) for label in ("negative", "neutral", "positive")}


Measure = Callable[[Session, Filters, Context], Result]
