"""What the console shows about one escalation: transcript, customer profile, churn risk."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from insight.web.console.languages import conversation_languages
from knowledge.graph.queries import (
    UnknownCustomerError,
    churn_inputs,
    customer_profile,
    past_escalations,
    top_demands,
)
from knowledge.handoff import escalations
from knowledge.models import Order
from knowledge.scoring.churn import ChurnConfig, Turn, assess
from knowledge.settings import get_settings

logger = logging.getLogger(__name__)

RECENT_ORDERS = 5


def escalation_payload(session: Session, escalation_id: int, now: datetime) -> dict[str, Any]:
    """The JSON of the console's detail panel."""
    view = escalations.view(session, escalation_id)
    item = view.item
    turns = [
        Turn(
            text=e.text,
            intent=e.intent,
            sentiment_label=e.sentiment_label,
            sentiment_confidence=e.sentiment_confidence,
            sentiment_score=e.sentiment_score,
        )
        for e in view.transcript
        if e.kind == "user"
    ]
    inputs = None
    customer: dict[str, Any] | None = None
    if item.customer_id is not None:
        try:
            inputs = churn_inputs(session, item.customer_id, now)
            customer = _customer(session, item.customer_id)
        except UnknownCustomerError:
            logger.warning("Escalation %s names unknown customer %s", item.id, item.customer_id)
    assessment = assess(turns, inputs, ChurnConfig.from_settings(get_settings()))
    language = conversation_languages(session, [item.sender_id])[item.sender_id]
    return {
        "escalation": {**item.as_dict(now), "language": language},
        "handoff": {
            "churn_risk": round(item.churn_risk, 3),
            "customer_risk": round(view.customer_risk, 3),
            "reasons": list(view.churn_reasons),
            "resolved_at": view.resolved_at.isoformat() + "Z" if view.resolved_at else None,
            "rating": view.rating,
        },
        "churn_now": assessment.as_dict(),
        "transcript": [e.as_dict() for e in view.transcript],
        "customer": customer,
    }


def _customer(session: Session, customer_id: int) -> dict[str, Any]:
    profile = customer_profile(session, customer_id)
    orders = session.execute(
        select(Order)
        .where(Order.customer_id == customer_id)
        .order_by(Order.placed_at.desc(), Order.id.desc())
        .limit(RECENT_ORDERS)
    ).scalars()
    return {
        "id": profile.customer_id,
        "name": profile.name,
        "email": profile.email,
        "orders": profile.orders,
        "spend": str(profile.spend),
        "open_returns": profile.open_returns,
        "conversations": profile.conversations,
        "messages": profile.messages,
        "last_contact_at": _iso(profile.last_contact_at),
        "recent_orders": [
            {
                "id": o.id,
                "status": getattr(o.status, "value", str(o.status)),
                "placed_at": _iso(o.placed_at),
                "total": str(o.total),
            }
            for o in orders
        ],
        "top_demands": [
            {"aspect": d.aspect, "count": d.count, "mean_sentiment": d.mean_sentiment}
            for d in top_demands(session, customer_id)
        ],
        "past_escalations": [
            {
                "id": e.id,
                "reason": e.reason,
                "status": e.status,
                "priority": e.priority,
                "created_at": _iso(e.created_at),
            }
            for e in past_escalations(session, customer_id)
        ],
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() + "Z" if value else None
