"""Extra Rasa events for the NLU inbox tests: the bot's guesses followed, rejected, refused."""

from __future__ import annotations

from typing import Any, Dict, List

HOSTILE = '<img src=x onerror="window.__xss=1"> mail me at eve@example.com'
START = 1795100000.0


def user(sender: str, at: float, text: str, intent: str, confidence: float, *ranking: Any) -> Dict:
    """A user event as Rasa logs it, with our NLU's extra keys."""
    ranked = [{"name": intent, "confidence": confidence}]
    ranked += [{"name": n, "confidence": c} for n, c in ranking]
    return {
        "sender_id": sender,
        "event": "user",
        "timestamp": at,
        "text": text,
        "parse_data": {
            "intent": {"name": intent, "confidence": confidence},
            "entities": [],
            "text": text,
            "message_id": f"{sender}-{at}",
            "intent_ranking": ranked,
            "sentiment": {"label": "negative", "confidence": 0.7, "scores": {}},
            "demands": [],
        },
        "input_channel": "socketio",
        "message_id": f"{sender}-{at}",
    }


def guesses(sender: str, at: float, *intents: str) -> Dict:
    """The clarify action's bot message: one button per guess and "something else"."""
    buttons = [{"title": i, "payload": f"/{i}"} for i in intents]
    buttons.append({"title": "Something else", "payload": "/nlu_fallback"})
    return {
        "sender_id": sender,
        "event": "bot",
        "timestamp": at,
        "text": "Do you mean one of these?",
        "data": {"buttons": buttons},
        "metadata": {},
    }


def inbox_log() -> List[Dict]:
    """g1: guesses then a typed message of another intent (rejected, hostile text);
    g2: guesses then "something else" (rejected); g3: guesses then a click on one (followed)."""
    t = START
    return [
        {"sender_id": "g1", "event": "session_started", "timestamp": t},
        user(
            "g1", t + 1, HOSTILE, "nlu_fallback", 0.7, ("track_order", 0.4), ("cancel_order", 0.3)
        ),
        guesses("g1", t + 2, "track_order", "cancel_order"),
        user("g1", t + 3, "no, I want my money back", "get_refund", 0.91),
        {"sender_id": "g2", "event": "session_started", "timestamp": t + 10},
        user("g2", t + 11, "the thing with the box", "nlu_fallback", 0.7, ("complaint", 0.35)),
        guesses("g2", t + 12, "complaint"),
        user("g2", t + 13, "/nlu_fallback", "nlu_fallback", 1.0),
        {"sender_id": "g3", "event": "session_started", "timestamp": t + 20},
        user("g3", t + 21, "where's my stuff", "nlu_fallback", 0.7, ("track_order", 0.45)),
        guesses("g3", t + 22, "track_order"),
        user("g3", t + 23, "/track_order", "track_order", 1.0),
    ]
