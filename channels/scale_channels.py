"""The REST and socket.io channels of the scale-out profile (named in bot/credentials-scale.yml).

Both are the default profile's channels (same names, URLs and input checks) with two additions:

* **socket.io across workers**: Rasa's socket.io server keeps its sockets and rooms in the
  memory of one process, so a reply produced by another Rasa worker (an agent's message posted
  to the HTTP API, a second tab on another worker) would never reach the shopper. With
  ``redis_url`` set, python-socketio's ``AsyncRedisManager`` passes every emit through a Redis
  pub/sub channel; the worker that holds the shopper's socket (in the session's room) delivers
  it. Clients must use the websocket transport (the widget does), since long-polling requests
  of one session could land on different workers.
* **a clear answer when the infrastructure is down**: Rasa answers a message whose lock store
  (Redis) or tracker store (PostgreSQL) is unreachable with an empty reply. These channels tell
  the shopper instead (``SHOP_SERVICE_UNAVAILABLE_TEXT``); the message is not processed, so the
  stored conversation stays exactly as it was.
"""

from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable, Dict

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.lock_store import LockError
from sanic import Blueprint
from sqlalchemy.exc import OperationalError

from channels.guarded_rest import GuardedRestInput
from channels.persistent_socketio import PersistentSocketIOInput
from knowledge.settings import get_settings

logger = logging.getLogger(__name__)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


def _infrastructure_errors() -> tuple[type[BaseException], ...]:
    """Errors that mean a store the Rasa server depends on is unreachable."""
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    return (LockError, RedisConnectionError, RedisTimeoutError, OperationalError)


def answer_when_unavailable(on_new_message: OnNewMessage, text: str) -> OnNewMessage:
    """``on_new_message`` that answers ``text`` when a store is down instead of failing mute."""
    errors = _infrastructure_errors()

    async def handle(message: UserMessage) -> Any:
        try:
            return await on_new_message(message)
        except errors as error:
            logger.error(
                "message from %r not processed, a store is unreachable: %s",
                message.sender_id,
                error,
            )
            await message.output_channel.send_text_message(message.sender_id, text)
            return None

    return handle


class ScaleRestInput(GuardedRestInput):
    """The guarded REST channel that answers clearly when a store is unreachable."""

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        """The guarded webhook around a message handler that reports store outages."""
        text = get_settings().service_unavailable_text
        return super().blueprint(answer_when_unavailable(on_new_message, text))


class ScaleSocketIOInput(PersistentSocketIOInput):
    """The persistent socket.io channel with a Redis message queue shared by all workers."""

    def __init__(
        self,
        *args: Any,
        redis_url: str | None = None,
        redis_channel: str = "socketio",
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.redis_url = redis_url
        self.redis_channel = redis_channel

    @classmethod
    def from_credentials(cls, credentials: Dict[str, Any] | None) -> InputChannel:
        """Rasa's socket.io credentials plus ``redis_url`` and ``redis_channel``."""
        credentials = dict(credentials or {})
        redis_url = credentials.pop("redis_url", None) or None
        redis_channel = credentials.pop("redis_channel", None) or "socketio"
        channel = super().from_credentials(credentials)
        assert isinstance(channel, ScaleSocketIOInput)
        channel.redis_url = redis_url
        channel.redis_channel = redis_channel
        return channel

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        """The persistent socket.io blueprint, its emits shared through Redis."""
        text = get_settings().service_unavailable_text
        webhook = super().blueprint(answer_when_unavailable(on_new_message, text))
        sio = self.sio
        assert sio is not None
        if self.redis_url:
            import socketio

            manager = socketio.AsyncRedisManager(self.redis_url, channel=self.redis_channel)
            # Swapped before the server starts, while no socket is connected yet; the
            # manager's listener starts with the worker's first connection.
            sio.manager = manager
            manager.set_server(sio)
            logger.info("socket.io emits shared through Redis channel %r", self.redis_channel)
        return webhook
