"""Rasa's REST channel with strict input checks and a per-sender rate limit.

Named in bot/credentials.yml instead of ``rest:``; its name is still ``rest``, so the URL stays
``/webhooks/rest/webhook`` and replies keep Rasa's format (a JSON list of messages). Differences
from Rasa's own ``RestInput``, whose handler answers 500 on many bad bodies:

* the body must be a UTF-8 JSON object with a string ``sender`` (<= 255 characters), a string
  ``message`` and an optional object ``metadata``; anything else is a 400 with
  ``{"error": ...}``;
* a sender over its rate limit gets HTTP 429 (``Retry-After``) with the message
  :data:`channels.rate_limit.TOO_FAST`;
* a message over ``SHOP_MAX_MESSAGE_CHARS`` gets 413, an empty one a 200 asking what the
  shopper needs; neither reaches the bot (channels/message_guard.py).
"""

from __future__ import annotations

import json
import logging
import math
from asyncio import CancelledError
from typing import Any, Dict

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from rasa.utils.endpoints import bool_arg
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse, ResponseStream

from channels import action_response_check
from channels.message_guard import MAX_SENDER_CHARS, MessageGuard, OnNewMessage
from knowledge.settings import get_settings
from nlu.serving_load import MESSAGES

logger = logging.getLogger(__name__)


class BadRequestError(ValueError):
    """The REST body is not what the channel accepts (the message is the client's hint)."""


def parse_body(raw: bytes) -> Dict[str, Any]:
    """``sender``, ``message``, ``metadata`` and ``input_channel`` of a REST body, checked."""
    try:
        body = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise BadRequestError("the body must be UTF-8 encoded JSON") from None
    except ValueError:
        raise BadRequestError("the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise BadRequestError("the body must be a JSON object")
    sender = body.get("sender")
    if isinstance(sender, int) and not isinstance(sender, bool):
        sender = str(sender)
    if not isinstance(sender, str) or not sender.strip() or len(sender) > MAX_SENDER_CHARS:
        raise BadRequestError(f"'sender' must be a non-empty string of <= {MAX_SENDER_CHARS}")
    message = body.get("message", "")
    if not isinstance(message, str):
        raise BadRequestError("'message' must be a string")
    metadata = body.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise BadRequestError("'metadata' must be a JSON object")
    input_channel = body.get("input_channel")
    return {
        "sender": sender,
        "message": message,
        "metadata": metadata,
        "input_channel": input_channel if isinstance(input_channel, str) else None,
    }


def _error(status: int, text: str) -> HTTPResponse:
    return response.json({"error": text}, status=status)


class GuardedRestInput(RestInput):
    """``RestInput`` (same name and URL) behind :class:`MessageGuard` and strict parsing."""

    @classmethod
    def name(cls) -> str:
        """Keep Rasa's channel name, hence ``/webhooks/rest/webhook``."""
        return "rest"

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        """Health check on ``/`` and the guarded message webhook on ``/webhook``."""
        action_response_check.install()
        on_new_message = MESSAGES.counted(on_new_message)  # the NLU's thread choice reads it
        guard = MessageGuard(get_settings())
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> ResponseStream | HTTPResponse:
            try:
                body = parse_body(request.body or b"")
            except BadRequestError as error:
                return _error(400, str(error))
            sender, text = body["sender"], body["message"]
            refusal = guard.check(sender, text)
            if refusal is not None:
                headers = {}
                if refusal.status == 429:
                    headers["Retry-After"] = str(math.ceil(guard.limiter.retry_after(sender)) or 1)
                return response.json(
                    [{"recipient_id": sender, "text": refusal.text}],
                    status=refusal.status,
                    headers=headers,
                )
            input_channel = body["input_channel"] or self.name()
            if bool_arg(request, "stream", default=False):
                return response.stream(
                    self.stream_response(
                        on_new_message, text, sender, input_channel, body["metadata"]
                    ),
                    content_type="text/event-stream",
                )
            collector = CollectingOutputChannel()
            try:
                await on_new_message(
                    UserMessage(
                        text,
                        collector,
                        sender,
                        input_channel=input_channel,
                        metadata=body["metadata"],
                    )
                )
            except CancelledError:
                logger.error("REST message from %r timed out", sender)
            except Exception:
                logger.exception("REST message from %r failed", sender)
            return response.json(collector.messages)

        return webhook
