"""Known analytics data for the dashboard tests: the analytics' fixed Rasa event log plus one
hostile conversation, folded into a test database by the analytics' own fold.

The hostile conversation (``x-hostile``, 2026-11-21, socket.io, guest) carries markup that must
render as text and personal data that must be masked: a card number, an e-mail address, a phone
number and a street address.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

ROOT = Path(__file__).resolve().parents[2]
EVENT_LOG = ROOT / "tests" / "analytics" / "data" / "event_log.json"
HOSTILE_SENDER = "x-hostile"
XSS = '<img src=x onerror="window.__xss=1">'
CARD = "4111 1111 1111 1111"
EMAIL = "mallory.example@example.org"
PHONE = "+44 7700 900456"
STREET = "221B Baker Street"
HOSTILE_TEXT = (
    f"{XSS} you charged card {CARD} twice, write to {EMAIL} or call {PHONE}, I live at {STREET}"
)


def _ts(hour: int, minute: int, second: float = 0.0) -> float:
    return datetime(2026, 11, 21, hour, minute, tzinfo=timezone.utc).timestamp() + second


def hostile_conversation() -> list[dict[str, Any]]:
    """Rasa events (``Event.as_dict()`` shape) of the hostile conversation."""
    sender = HOSTILE_SENDER
    parse = {
        "intent": {"name": "payment_issue", "confidence": 0.91},
        "entities": [],
        "text": HOSTILE_TEXT,
        "message_id": "x-m0",
        "metadata": {},
        "intent_ranking": [{"name": "payment_issue", "confidence": 0.91}],
        "sentiment": {
            "label": "negative",
            "confidence": 0.93,
            "scores": {"negative": 0.93, "neutral": 0.05, "positive": 0.02},
        },
        "demands": [{"aspect": "payment", "confidence": 0.88, "product": None}],
    }
    return [
        {"sender_id": sender, "event": "action", "timestamp": _ts(9, 0), "name": "action_listen"},
        {"sender_id": sender, "event": "session_started", "timestamp": _ts(9, 0, 0.5)},
        {
            "sender_id": sender,
            "event": "user",
            "timestamp": _ts(9, 1),
            "text": HOSTILE_TEXT,
            "parse_data": parse,
            "input_channel": "socketio",
            "message_id": "x-m0",
            "metadata": {},
        },
        {
            "sender_id": sender,
            "event": "bot",
            "timestamp": _ts(9, 1, 1.0),
            "text": f"Sorry about the double charge on {CARD}.",
            "data": {},
            "metadata": {},
        },
    ]


def fold_known_data(factory: sessionmaker[Session]) -> int:
    """Fold the fixed event log and the hostile conversation; how many conversations it made."""
    from insight.analytics.events import normalise
    from insight.analytics.fold import fold

    payloads = json.loads(EVENT_LOG.read_text(encoding="utf-8")) + hostile_conversation()
    result = fold(factory, [normalise(p) for p in payloads], "dashboard-test")
    return result.conversations
