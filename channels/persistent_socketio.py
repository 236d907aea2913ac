"""Rasa's socket.io channel with working session persistence on python-socketio >= 5.10.

Rasa 3.6.21's ``session_request`` handler calls ``sio.enter_room(...)`` without ``await``; since
python-socketio 5.10 ``AsyncServer.enter_room`` is a coroutine, so the socket never joins the
room of its session id and, with ``session_persistence: true``, every bot reply (emitted to that
room) is lost (RasaHQ/rasa#13027, still open). This channel re-registers the handler with the
``await``; everything else is Rasa's own. Named in bot/credentials.yml by dotted path.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any, Awaitable, Callable, Dict

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketIOInput
from sanic import Blueprint

from channels import action_response_check
from channels.message_guard import MessageGuard, clean_socketio_payload
from knowledge.settings import get_settings
from nlu.serving_load import MESSAGES

logger = logging.getLogger(__name__)


class PersistentSocketIOInput(SocketIOInput):
    """``SocketIOInput`` whose ``session_request`` really joins the session's room."""

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Rasa's blueprint, with the ``session_request`` handler replaced by a fixed one."""
        action_response_check.install()
        # Floods, oversized and empty messages are answered here, never reach the bot
        # (channels/message_guard.py); malformed payloads are dropped before Rasa's handler.
        guard = MessageGuard(get_settings())
        counted = MESSAGES.counted(on_new_message)  # the NLU's thread choice reads it
        socketio_webhook = super().blueprint(guard.wrap(counted))
        sio = self.sio
        assert sio is not None  # set by SocketIOInput.blueprint
        handle_message = sio.handlers[self.namespace or "/"][self.user_message_evt]

        async def user_uttered(sid: str, data: Any) -> None:
            """Rasa's handler, given only payloads it can take."""
            cleaned = clean_socketio_payload(data, self.metadata_key)
            if cleaned is None:
                logger.warning("Dropped a malformed %s from socket %s", self.user_message_evt, sid)
                return
            await handle_message(sid, cleaned)

        sio.on(self.user_message_evt, namespace=self.namespace)(user_uttered)

        async def session_request(sid: str, data: Dict | None) -> None:
            """Join the room of the (new or resumed) session id and confirm it to the client."""
            data = dict(data) if isinstance(data, dict) else {}
            session_id = data.get("session_id")
            if not isinstance(session_id, str) or not session_id or len(session_id) > 255:
                data["session_id"] = uuid.uuid4().hex
            if self.session_persistence:
                await sio.enter_room(sid, data["session_id"], namespace=self.namespace)
            await sio.emit("session_confirm", data["session_id"], room=sid)
            logger.debug("socket %s joined session %s", sid, data["session_id"])

        sio.on("session_request", namespace=self.namespace)(session_request)
        return socketio_webhook
