"""Rasa events as the analytics read them: one normal form and one stable key per event.

Events reach the analytics by three paths that carry the same ``Event.as_dict()`` JSON:

* Rasa's SQL event broker writes ``{"sender_id": ..., **event.as_dict()}`` to the ``data``
  column of its table ``events`` (``rasa.core.brokers.sql.SQLEventBroker``);
* Rasa's Pika broker publishes the same body to a RabbitMQ queue;
* Rasa's SQL tracker store keeps ``event.as_dict()`` in the ``data`` column of its own table
  ``events`` with ``sender_id`` in a column of its own (the backfill reads it).

:func:`normalise` turns any of them into ``(sender_id, event dict without sender_id)`` and
:func:`event_key` digests that pair, so an event has the same key whichever path delivered it
and however often.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any, Mapping

logger = logging.getLogger(__name__)

# Keys some paths add around the event itself (not part of Event.as_dict()).
_ENVELOPE_KEYS = ("sender_id",)


class BadEventError(ValueError):
    """A broker message or row that is not a Rasa event (no sender id, type or timestamp)."""


@dataclass(frozen=True)
class RawEvent:
    """One Rasa event in normal form."""

    key: str
    sender_id: str
    event_type: str
    timestamp: float
    data: dict[str, Any]


def event_key(sender_id: str, event: Mapping[str, Any]) -> str:
    """sha256 of the sender id and the event's canonical JSON (sorted keys, no spaces)."""
    canonical = json.dumps(event, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{sender_id}\n{canonical}".encode()).hexdigest()


def normalise(payload: Any, sender_id: str | None = None) -> RawEvent:
    """The :class:`RawEvent` of a broker body / tracker row (JSON text, bytes or a dict).

    ``sender_id`` is taken from the payload, else from the argument (tracker-store rows keep it
    in a column). Raises :class:`BadEventError` on anything that is not a Rasa event.
    """
    if isinstance(payload, (bytes, bytearray)):
        payload = payload.decode("utf-8", errors="replace")
    if isinstance(payload, str):
        try:
            payload = json.loads(payload)
        except json.JSONDecodeError as error:
            raise BadEventError(f"not JSON: {error}") from error
    if not isinstance(payload, Mapping):
        raise BadEventError(f"expected a JSON object, got {type(payload).__name__}")
    sender = payload.get("sender_id", sender_id)
    if not sender or not isinstance(sender, str):
        raise BadEventError("event without a sender_id")
    event = {k: v for k, v in payload.items() if k not in _ENVELOPE_KEYS}
    kind = event.get("event")
    if not kind or not isinstance(kind, str):
        raise BadEventError("event without an 'event' type")
    try:
        timestamp = float(event["timestamp"])
    except (KeyError, TypeError, ValueError) as error:
        raise BadEventError(f"{kind} event without a numeric timestamp") from error
    return RawEvent(event_key(sender, event), sender, kind, timestamp, event)
