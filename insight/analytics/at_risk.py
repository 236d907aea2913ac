"""Customers at churn risk in the selected conversations, sorted by value at risk.

Reuses the bot's own scorer (``knowledge/scoring/churn.py``) on each selected conversation's user
turns together with the customer's knowledge-graph history
(``knowledge.graph.queries.churn_inputs``):
a customer's risk is the highest of their conversations', its reasons are that assessment's,
and ``value_at_risk = risk * lifetime spend``.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from insight.analytics import dataset
from insight.analytics.filters import Filters
from insight.analytics.measure_base import Context, Result, ids_of, rnd
from insight.analytics.tables import AnalyticsMessage
from knowledge.graph.queries import UnknownCustomerError, churn_inputs
from knowledge.models import Customer
from knowledge.scoring.churn import Assessment, ChurnConfig, Turn, assess

logger = logging.getLogger(__name__)

DEFAULT_MIN_RISK = 0.3


class ParamError(ValueError):
    """A measure-specific query parameter is invalid (``param`` names it)."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param


def min_risk(ctx: Context) -> float:
    """The ``min_risk`` parameter (0..1, default 0.3)."""
    raw = ctx.params.get("min_risk")
    if raw is None or not raw.strip():
        return DEFAULT_MIN_RISK
    try:
        value = float(raw)
    except ValueError:
        raise ParamError(
            "min_risk", f"'min_risk' must be a number in [0, 1], got {raw!r}"
        ) from None
    if not 0.0 <= value <= 1.0:
        raise ParamError("min_risk", f"'min_risk' must be in [0, 1], got {value}")
    return value


def turns_of(messages: list[AnalyticsMessage]) -> list[Turn]:
    """The scorer's view of a conversation's user messages."""
    return [
        Turn(
            text=m.text,
            intent=m.intent,
            sentiment_label=m.sentiment_label,
            sentiment_confidence=m.sentiment_confidence,
            sentiment_score=m.sentiment_score,
            failed_lookup=bool(m.failed_lookup),
        )
        for m in messages
    ]


def churn(session: Session, filters: Filters, ctx: Context) -> Result:
    """Customers whose risk reaches ``min_risk``, most value at risk first."""
    threshold = min_risk(ctx)
    data = dataset.load(session, filters)
    config = ChurnConfig.from_settings(ctx.settings)
    by_customer: dict[int, list[Any]] = defaultdict(list)
    for c in data.conversations:
        if c.customer_id is not None:
            by_customer[c.customer_id].append(c)
    names = (
        dict(
            session.execute(
                select(Customer.id, Customer.name).where(Customer.id.in_(list(by_customer)))
            ).all()
        )
        if by_customer
        else {}
    )
    rows = []
    for customer_id, convs in by_customer.items():
        try:
            inputs = churn_inputs(session, customer_id, ctx.now)
        except UnknownCustomerError:
            inputs = None
        best: tuple[Assessment, Any] | None = None
        for c in convs:
            assessment = assess(turns_of(data.messages.get(c.sender_id, [])), inputs, config)
            if best is None or assessment.risk > best[0].risk:
                best = (assessment, c)
        assert best is not None
        assessment = best[0]
        if assessment.risk < threshold:
            continue
        spend = float(inputs.spend) if inputs is not None else 0.0
        complaints = Counter(
            d["aspect"]
            for c in convs
            for m in data.messages.get(c.sender_id, [])
            if m.sentiment_label == "negative"
            for d in m.demands or []
        )
        rows.append(
            {
                "customer_id": customer_id,
                "name": names.get(customer_id, f"customer {customer_id}"),
                "segment": data.segments.get(customer_id),
                "risk": rnd(assessment.risk, 3),
                "spend": rnd(spend, 2),
                "value_at_risk": rnd(assessment.risk * spend, 2),
                "reasons": [r.as_dict() for r in assessment.reasons],
                "reasons_text": "; ".join(r.detail for r in assessment.reasons[:3]),
                "complaints": [aspect for aspect, _ in complaints.most_common()],
                "conversation_ids": ids_of(convs),
            }
        )
    rows.sort(key=lambda r: (-r["value_at_risk"], -r["risk"], r["customer_id"]))
    return {
        "summary": {
            "customers": len(by_customer),
            "at_risk": len(rows),
            "value_at_risk": rnd(sum(r["value_at_risk"] for r in rows), 2),
            "min_risk": threshold,
            "conversation_ids": [i for r in rows for i in r["conversation_ids"]],
        },
        "rows": rows,
    }
