"""The NLU inbox: shopper messages worth a supervisor's verdict, grouped by likely intent.

A message enters the inbox for any of these reasons (a message may have several):

* ``fallback``: the NLU did not understand it (``nlu_fallback``);
* ``low_confidence``: its intent's confidence is below ``SHOP_ANALYTICS_LOW_CONFIDENCE``;
* ``handed_over``: it is the last shopper message before the conversation went to a person;
* ``guess_rejected``: the bot offered guesses (buttons with ``/intent`` payloads, see
  ``actions/clarify.py``) and the shopper then followed another intent (typed something the NLU
  read as an intent not offered, or chose "something else").

Its likely intent is the NLU's best guess other than ``nlu_fallback``. Button payload messages
(``/intent``) never enter the inbox themselves; when the shopper clicked a guess, the clicked
intent is shown as what they ``followed``.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Sequence

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from insight.analytics.derive import sort_events
from insight.analytics.fold import load_events
from insight.analytics.measure_base import iso, rnd
from insight.analytics.tables import AnalyticsConversation, AnalyticsMessage
from knowledge.models import NluCorrection

logger = logging.getLogger(__name__)

FALLBACK_INTENT = "nlu_fallback"
FALLBACK = "fallback"
LOW_CONFIDENCE = "low_confidence"
HANDED_OVER = "handed_over"
GUESS_REJECTED = "guess_rejected"
STATUSES = ("open", "done", "all")
UNKNOWN_GROUP = "(no guess)"


@dataclass
class Candidate:
    """One inbox message and why it is there."""

    message: AnalyticsMessage
    reasons: List[str] = field(default_factory=list)
    followed: str | None = None

    def add(self, reason: str) -> None:
        """Note one more reason (once)."""
        if reason not in self.reasons:
            self.reasons.append(reason)


def payload_intent(text: str) -> str | None:
    """``track_order`` of ``/track_order`` or ``/track_order{"order_id": 3}``; None for text."""
    if not text.startswith("/"):
        return None
    name = text[1:].split("{", 1)[0].strip()
    return name or None


def likely_intent(m: AnalyticsMessage) -> str:
    """The group of a message: the NLU's best guess other than nlu_fallback."""
    if m.intent and m.intent != FALLBACK_INTENT:
        return m.intent
    return m.best_guess or UNKNOWN_GROUP


def _suggested(data: Mapping[str, Any]) -> List[str]:
    payload = data.get("data") or {}
    buttons = payload.get("buttons") if isinstance(payload, dict) else None
    found = []
    for button in buttons or []:
        if isinstance(button, dict):
            name = payload_intent(str(button.get("payload") or ""))
            if name:
                found.append(name)
    return found


def guess_outcomes(
    session: Session, sender_id: str, messages: Mapping[str, AnalyticsMessage]
) -> Dict[str, tuple[bool, str | None]]:
    """Message key -> (guess rejected?, intent the shopper followed) for messages the bot
    answered with guess buttons, from the conversation's stored events."""
    outcomes: Dict[str, tuple[bool, str | None]] = {}
    last_user: str | None = None
    offered: tuple[str, List[str]] | None = None
    for event in sort_events(load_events(session, sender_id)):
        if event.event_type == "bot":
            guesses = _suggested(event.data)
            if guesses and last_user is not None:
                offered = (last_user, guesses)
        elif event.event_type == "user":
            message = messages.get(event.key)
            if offered is not None and message is not None:
                asked, guesses = offered
                clicked = payload_intent(message.text or "")
                followed = clicked if clicked else message.intent
                rejected = followed == FALLBACK_INTENT or followed not in guesses
                outcomes[asked] = (rejected, None if followed == FALLBACK_INTENT else followed)
            offered = None
            if message is not None and payload_intent(message.text or "") is None:
                last_user = event.key
    return outcomes


def candidates(session: Session, threshold: float) -> List[Candidate]:
    """Every inbox message with its reasons, newest first."""
    found: Dict[str, Candidate] = {}

    def candidate(m: AnalyticsMessage) -> Candidate:
        return found.setdefault(m.event_key, Candidate(m))

    unsure = session.execute(
        select(AnalyticsMessage).where(
            or_(
                AnalyticsMessage.intent == FALLBACK_INTENT,
                AnalyticsMessage.intent_confidence < threshold,
            )
        )
    ).scalars()
    for m in unsure:
        candidate(m).add(FALLBACK if m.intent == FALLBACK_INTENT else LOW_CONFIDENCE)
    escalated = session.execute(
        select(AnalyticsConversation).where(AnalyticsConversation.escalated.is_(True))
    ).scalars()
    for conversation in escalated:
        query = select(AnalyticsMessage).where(AnalyticsMessage.sender_id == conversation.sender_id)
        if conversation.escalated_at is not None:
            query = query.where(AnalyticsMessage.sent_at <= conversation.escalated_at)
        rows = [m for m in session.execute(query).scalars() if payload_intent(m.text or "") is None]
        if rows:
            last = max(rows, key=lambda m: (m.sent_at, m.turn))
            candidate(last).add(HANDED_OVER)
    for sender_id in sorted({c.message.sender_id for c in found.values()}):
        messages = {
            m.event_key: m
            for m in session.execute(
                select(AnalyticsMessage).where(AnalyticsMessage.sender_id == sender_id)
            ).scalars()
        }
        for key, (rejected, followed) in guess_outcomes(session, sender_id, messages).items():
            if key in messages:
                item = candidate(messages[key]) if rejected else found.get(key)
                if item is None:
                    continue
                if rejected:
                    item.add(GUESS_REJECTED)
                item.followed = followed
    kept = [c for c in found.values() if payload_intent(c.message.text or "") is None]
    kept.sort(key=lambda c: (c.message.sent_at, c.message.event_key), reverse=True)
    return kept


def correction_row(c: NluCorrection) -> Dict[str, Any]:
    """A stored verdict as the inbox shows it."""
    return {
        "intent": c.intent,
        "sentiment": c.sentiment,
        "demands": list(c.demands or []),
        "verdict": c.verdict,
        "by": c.agent_name,
        "at": iso(c.corrected_at),
    }


def item_row(c: Candidate, language: str, correction: NluCorrection | None) -> Dict[str, Any]:
    """One inbox message as the API returns it (text not yet masked)."""
    m = c.message
    return {
        "key": m.event_key,
        "conversation_id": m.sender_id,
        "sent_at": iso(m.sent_at),
        "text": m.text,
        "language": language,
        "intent": m.intent,
        "confidence": rnd(m.intent_confidence),
        "best_guess": m.best_guess,
        "best_guess_confidence": rnd(m.best_guess_confidence),
        "likely_intent": likely_intent(m),
        "reasons": list(c.reasons),
        "followed": c.followed,
        "sentiment": m.sentiment_label,
        "demands": [d["aspect"] for d in m.demands or [] if isinstance(d, dict) and "aspect" in d],
        "correction": correction_row(correction) if correction is not None else None,
    }


def _languages(session: Session, sender_ids: Iterable[str]) -> Dict[str, str]:
    ids = sorted(set(sender_ids))
    if not ids:
        return {}
    rows = session.execute(
        select(AnalyticsConversation.sender_id, AnalyticsConversation.language).where(
            AnalyticsConversation.sender_id.in_(ids)
        )
    ).all()
    return {r.sender_id: r.language for r in rows}


def corrections_of(session: Session, keys: Sequence[str]) -> Dict[str, NluCorrection]:
    """Stored verdicts of the messages ``keys``."""
    if not keys:
        return {}
    rows = session.execute(
        select(NluCorrection).where(NluCorrection.message_key.in_(list(keys)))
    ).scalars()
    return {r.message_key: r for r in rows}


def inbox(session: Session, threshold: float, status: str = "open") -> Dict[str, Any]:
    """The inbox grouped by likely intent (largest group first): open, done or all messages."""
    if status not in STATUSES:
        raise ValueError(f"status must be one of {STATUSES}")
    found = candidates(session, threshold)
    verdicts = corrections_of(session, [c.message.event_key for c in found])
    languages = _languages(session, (c.message.sender_id for c in found))
    groups: Dict[str, List[Dict[str, Any]]] = defaultdict(list)
    counts = {"open": 0, "done": 0}
    for c in found:
        done = c.message.event_key in verdicts
        counts["done" if done else "open"] += 1
        if status == "all" or (status == "done") == done:
            row = item_row(
                c, languages.get(c.message.sender_id, "en"), verdicts.get(c.message.event_key)
            )
            groups[row["likely_intent"]].append(row)
    ordered = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    return {
        "status": status,
        "threshold": threshold,
        "summary": {**counts, "total": counts["open"] + counts["done"]},
        "groups": [
            {"intent": name, "count": len(items), "items": items} for name, items in ordered
        ],
    }
