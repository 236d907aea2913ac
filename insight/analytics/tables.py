"""Analytics tables (migration 0004): raw Rasa events and what the dashboard reads from them.

``analytics_events`` holds every Rasa event once, keyed by a digest of the event itself
(:func:`insight.analytics.events.event_key`), so the same event arriving twice, from the event
broker and again from the tracker store, is stored once. ``analytics_conversations`` and
``analytics_messages`` are derived from those events alone (``insight.analytics.fold``) and can
be dropped and rebuilt at any time; ``analytics_segments`` / ``analytics_segment_info`` hold the
latest customer segmentation (``insight.analytics.segments``).
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import JSON, Boolean, Column, DateTime, Float, Integer, String, Text

from knowledge.models import Base

logger = logging.getLogger(__name__)


class AnalyticsEvent(Base):
    """One Rasa tracker event, stored once whatever path brought it (broker, tracker store)."""

    __tablename__ = "analytics_events"

    # sha256 of the sender id and the canonical JSON of the event (see events.event_key).
    event_key: str = Column(String(64), primary_key=True)
    sender_id: str = Column(String(255), nullable=False, index=True)
    event_type: str = Column(String(40), nullable=False)
    # Rasa's epoch-seconds timestamp of the event.
    timestamp: float = Column(Float, nullable=False, index=True)
    data: dict = Column(JSON, nullable=False)
    # "sql-broker" | "amqp" | "tracker-store" | "fixture": the first path that delivered it.
    source: str = Column(String(20), nullable=False)
    received_at: datetime = Column(DateTime, nullable=False)


class AnalyticsCursor(Base):
    """How far a consumer has read a source (e.g. the SQL broker's last row id)."""

    __tablename__ = "analytics_cursors"

    source: str = Column(String(200), primary_key=True)
    position: int = Column(Integer, nullable=False, default=0)
    updated_at: datetime = Column(DateTime, nullable=False)


class AnalyticsConversation(Base):
    """One conversation (Rasa sender id) summarised from its events."""

    __tablename__ = "analytics_conversations"

    sender_id: str = Column(String(255), primary_key=True)
    customer_id: int | None = Column(Integer, index=True)
    channel: str | None = Column(String(40), index=True)
    # "en" | "zh" (knowledge.language): the language slot, else the shopper's texts (see
    # insight.analytics.derive; added by migration 0005).
    language: str = Column(String(8), nullable=False, default="en", server_default="en", index=True)
    # Time of the first user message and of the last event.
    started_at: datetime = Column(DateTime, nullable=False, index=True)
    ended_at: datetime = Column(DateTime, nullable=False)
    user_messages: int = Column(Integer, nullable=False, default=0)
    bot_messages: int = Column(Integer, nullable=False, default=0)
    agent_messages: int = Column(Integer, nullable=False, default=0)
    escalated: bool = Column(Boolean, nullable=False, default=False)
    # request | negative_streak | fallbacks | churn_risk | unknown (first hand-over).
    escalation_reason: str | None = Column(String(40))
    escalated_at: datetime | None = Column(DateTime)
    first_agent_response_at: datetime | None = Column(DateTime)
    resolved_at: datetime | None = Column(DateTime)
    agent_name: str | None = Column(String(120))
    # 1-5 stars given after the hand-back.
    csat: int | None = Column(Integer)
    opening_sentiment: float | None = Column(Float)
    closing_sentiment: float | None = Column(Float)
    intents: list = Column(JSON, nullable=False, default=list)
    products: list = Column(JSON, nullable=False, default=list)
    categories: list = Column(JSON, nullable=False, default=list)
    first_text: str = Column(Text, nullable=False, default="")


class AnalyticsMessage(Base):
    """One user message with what the NLU and the bot made of it."""

    __tablename__ = "analytics_messages"

    event_key: str = Column(String(64), primary_key=True)
    sender_id: str = Column(String(255), nullable=False, index=True)
    turn: int = Column(Integer, nullable=False)
    sent_at: datetime = Column(DateTime, nullable=False, index=True)
    text: str = Column(Text, nullable=False, default="")
    channel: str | None = Column(String(40))
    customer_id: int | None = Column(Integer)
    intent: str | None = Column(String(100))
    intent_confidence: float | None = Column(Float)
    # Best intent of the ranking other than nlu_fallback (what the NLU would have said).
    best_guess: str | None = Column(String(100))
    best_guess_confidence: float | None = Column(Float)
    sentiment_label: str | None = Column(String(10))
    # Signed: P(positive) - P(negative), in [-1, 1].
    sentiment_score: float | None = Column(Float)
    sentiment_confidence: float | None = Column(Float)
    # [{"aspect", "confidence", "product", "category"}]
    demands: list = Column(JSON, nullable=False, default=list)
    products: list = Column(JSON, nullable=False, default=list)
    categories: list = Column(JSON, nullable=False, default=list)
    # answered | choice | unanswered when the message was a question for the FAQ answers.
    faq_outcome: str | None = Column(String(12))
    # Stars when the message answered the rating question.
    rating: int | None = Column(Integer)
    # The bot answered it with a failed lookup (utter_*not_found), a churn signal.
    failed_lookup: bool = Column(Boolean, nullable=False, default=False)


class AnalyticsSegment(Base):
    """A customer's segment in the latest segmentation."""

    __tablename__ = "analytics_segments"

    customer_id: int = Column(Integer, primary_key=True)
    segment: int = Column(Integer, nullable=False, index=True)
    features: dict = Column(JSON, nullable=False, default=dict)
    computed_at: datetime = Column(DateTime, nullable=False)


class AnalyticsSegmentInfo(Base):
    """One segment of the latest segmentation, described in words."""

    __tablename__ = "analytics_segment_info"

    segment: int = Column(Integer, primary_key=True)
    label: str = Column(String(200), nullable=False)
    description: str = Column(Text, nullable=False)
    size: int = Column(Integer, nullable=False)
    # {feature: {"mean": float, "z": float}}
    features: dict = Column(JSON, nullable=False, default=dict)
    k: int = Column(Integer, nullable=False)
    silhouette: float | None = Column(Float)
    computed_at: datetime = Column(DateTime, nullable=False)
