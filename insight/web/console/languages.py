"""The language of each conversation in the agents' queue (``en`` / ``zh``), for its badge.

The analytics' conversation row knows it best (the ``language`` slot, see
``insight.analytics.derive``); a conversation the analytics have not folded yet takes the last
clear :func:`~knowledge.language.detect_language` of the shopper's messages in the knowledge
graph (what the console's transcript shows); nothing clear is the default, English.
"""

from __future__ import annotations

import logging
from typing import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from insight.analytics.tables import AnalyticsConversation
from knowledge.language import DEFAULT_LANGUAGE, detect_language
from knowledge.models import Conversation, Message

logger = logging.getLogger(__name__)


def last_clear_language(texts: Iterable[str]) -> str:
    """The language of the last text whose language is clear; the default when none is."""
    found = DEFAULT_LANGUAGE
    for text in texts:
        found = detect_language(text) or found
    return found


def conversation_languages(session: Session, sender_ids: Iterable[str]) -> dict[str, str]:
    """``sender id -> "en" | "zh"`` for every given conversation."""
    wanted = list(dict.fromkeys(sender_ids))
    if not wanted:
        return {}
    languages: dict[str, str] = dict(
        session.execute(
            select(AnalyticsConversation.sender_id, AnalyticsConversation.language).where(
                AnalyticsConversation.sender_id.in_(wanted)
            )
        ).all()
    )
    missing = [sender for sender in wanted if sender not in languages]
    if missing:
        texts: dict[str, list[str]] = {sender: [] for sender in missing}
        rows = session.execute(
            select(Conversation.sender_id, Message.text)
            .join(Message, Message.conversation_id == Conversation.id)
            .where(Conversation.sender_id.in_(missing))
            .order_by(Conversation.sender_id, Message.turn)
        ).all()
        for sender, text in rows:
            texts[sender].append(text or "")
        languages.update({sender: last_clear_language(items) for sender, items in texts.items()})
    return languages
