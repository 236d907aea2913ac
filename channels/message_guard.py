"""What every input channel checks before the bot sees a message: flood, size, emptiness, shape.

:class:`MessageGuard` answers a message that must not reach the bot with a clear text (sent
back through the message's own output channel) and lets every other message through unchanged.
The REST channel (channels/guarded_rest.py) also turns those answers into HTTP statuses; the
socket.io channel (channels/persistent_socketio.py) wraps its ``on_new_message`` with it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict

from rasa.core.channels.channel import UserMessage

from channels.rate_limit import TOO_FAST, RateLimiter
from knowledge.settings import Settings

logger = logging.getLogger(__name__)

TOO_LONG = (
    "Sorry, that message is too long for me ({length} characters; the limit is {limit}). "
    "Please shorten it or split it into a few messages."
)
EMPTY = "It looks like your message was empty. What can I help you with?"
NOT_TEXT = "Sorry, I can only read text messages."
# Rasa's SQL tracker store keeps sender ids in a 255-character column.
MAX_SENDER_CHARS = 255

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


@dataclass(frozen=True)
class Refusal:
    """Why a message does not reach the bot: the text to answer and the REST status."""

    text: str
    status: int


class MessageGuard:
    """Rate limit per sender, then size and emptiness checks (one per Rasa process)."""

    def __init__(self, settings: Settings, limiter: RateLimiter | None = None) -> None:
        self.settings = settings
        self.limiter = limiter or RateLimiter.from_settings(settings)

    def check(self, sender_id: str, text: Any) -> Refusal | None:
        """The refusal for this message, or None when the bot should see it."""
        if not self.limiter.allow(sender_id):
            return Refusal(TOO_FAST, 429)
        if not isinstance(text, str):
            return Refusal(NOT_TEXT, 400)
        if len(text) > self.settings.max_message_chars:
            limit = self.settings.max_message_chars
            return Refusal(TOO_LONG.format(length=len(text), limit=limit), 413)
        if not text.strip():
            return Refusal(EMPTY, 200)
        return None

    def wrap(self, on_new_message: OnNewMessage) -> OnNewMessage:
        """``on_new_message`` that first answers refused messages itself."""

        async def guarded(message: UserMessage) -> Any:
            refusal = self.check(str(message.sender_id), message.text)
            if refusal is None:
                return await on_new_message(message)
            logger.info("Refused a message from %r: %s", message.sender_id, refusal.text)
            await message.output_channel.send_text_message(message.sender_id, refusal.text)
            return None

        return guarded


def clean_socketio_payload(data: Any, metadata_key: str) -> Dict[str, Any] | None:
    """A socket.io ``user_uttered`` payload Rasa's handler can take, or None to drop it.

    Rasa's handler assumes a dict with a string message and metadata that is a dict or a JSON
    object string; anything else (a list, broken JSON, a non-string session id or message)
    would raise inside it. A number as message is read as its text.
    """
    if not isinstance(data, dict):
        return None
    message = data.get("message")
    if isinstance(message, (int, float)) and not isinstance(message, bool):
        data = {**data, "message": str(message)}
    elif message is not None and not isinstance(message, str):
        return None
    session_id = data.get("session_id")
    if session_id is not None and (
        not isinstance(session_id, str) or len(session_id) > MAX_SENDER_CHARS
    ):
        return None
    metadata = data.get(metadata_key)
    if isinstance(metadata, str):
        try:
            metadata = json.loads(metadata)
        except ValueError:
            metadata = None
    cleaned = dict(data)
    cleaned[metadata_key] = metadata if isinstance(metadata, dict) else {}
    return cleaned
