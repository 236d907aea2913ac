"""Talks to the Rasa server's HTTP API on behalf of agents (``rasa run --enable-api``).

Agent messages reach the shopper through the channel the shopper is on: the console appends a
``BotUttered`` event to the conversation with ``output_channel=latest&execute_side_effects=true``
(``POST /conversations/{id}/tracker/events``), which Rasa records in the tracker and sends through
that channel's output (works while the conversation is paused). On socket.io the shopper's client
receives, on ``bot_uttered``::

    {"text": "<agent text>", "custom": {"type": "agent_message", "agent": "<name>", "text": ...}}

(``type`` is ``agent_joined`` on claim and ``agent_left`` on resolve). Rasa's socket.io output
emits a ``custom`` payload as ``sio.emit(event, **custom)``, hence the event's ``custom`` is
``{"data": <what the client receives>}``; the event has no ``text`` of its own so the client gets
one message, not two. Resolve appends ``ConversationResumed`` and runs
``utter_ask_handoff_rating`` (``POST /conversations/{id}/execute``).
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

import aiohttp

logger = logging.getLogger(__name__)

AGENT_JOINED = "agent_joined"
AGENT_MESSAGE = "agent_message"
AGENT_LEFT = "agent_left"
RATING_RESPONSE = "utter_ask_handoff_rating"
TIMEOUT_RESPONSE = "utter_handoff_timeout"
TIMEOUT_S = 10


class RasaUnavailableError(RuntimeError):
    """The Rasa server could not be reached or refused the request."""


def agent_event(kind: str, agent: str, text: str) -> dict[str, Any]:
    """The ``bot`` event that shows an agent's message (or join/leave notice) to the shopper."""
    payload = {"text": text, "custom": {"type": kind, "agent": agent, "text": text}}
    return {
        "event": "bot",
        "text": None,
        "data": {"custom": {"data": payload}},
        "metadata": {"agent": agent, "handoff": kind, "agent_text": text},
    }


class RasaClient:
    """Async client of the Rasa HTTP API for one web app (one aiohttp session)."""

    def __init__(self, base_url: str, token: str | None, session: aiohttp.ClientSession) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.session = session

    async def agent_message(self, sender_id: str, agent: str, text: str) -> None:
        """Deliver an agent's reply into the shopper's channel."""
        await self.append(sender_id, [agent_event(AGENT_MESSAGE, agent, text)])

    async def agent_joined(self, sender_id: str, agent: str) -> None:
        """Tell the shopper that a person took over."""
        text = f"{agent} from our team has joined the chat."
        await self.append(sender_id, [agent_event(AGENT_JOINED, agent, text)])

    async def agent_left(self, sender_id: str, agent: str) -> None:
        """Hand back to the bot: notice, ``ConversationResumed``, then the rating question."""
        text = f"{agent} has left the chat. The assistant is back to help you."
        await self.append(sender_id, [agent_event(AGENT_LEFT, agent, text), {"event": "resume"}])
        await self.execute(sender_id, RATING_RESPONSE)

    async def offer_contact(self, sender_id: str) -> None:
        """Nobody claimed in time: apologise and offer a callback or e-mail ticket."""
        await self.execute(sender_id, TIMEOUT_RESPONSE)

    async def append(self, sender_id: str, events: list[dict[str, Any]]) -> None:
        """Append ``events`` and send the bot messages among them through the latest channel."""
        await self._post(
            f"/conversations/{quote(sender_id, safe='')}/tracker/events",
            events,
            {"output_channel": "latest", "execute_side_effects": "true"},
        )

    async def execute(self, sender_id: str, action: str) -> None:
        """Run one action (e.g. a response) in the conversation, output to the latest channel."""
        await self._post(
            f"/conversations/{quote(sender_id, safe='')}/execute",
            {"name": action},
            {"output_channel": "latest"},
        )

    async def _post(self, path: str, body: Any, params: dict[str, str]) -> None:
        if self.token:
            params = {**params, "token": self.token}
        try:
            async with self.session.post(
                self.base_url + path,
                json=body,
                params=params,
                timeout=aiohttp.ClientTimeout(total=TIMEOUT_S),
            ) as response:
                if response.status >= 400:
                    detail = (await response.text())[:300]
                    raise RasaUnavailableError(f"Rasa answered {response.status}: {detail}")
        except (aiohttp.ClientError, TimeoutError) as error:
            raise RasaUnavailableError(f"Rasa server unreachable: {error}") from error
