"""The live queue: websockets of signed-in agents, fed by a database poll.

The database is the source of truth (the action server opens escalations in another process),
so one background task per web app polls a cheap fingerprint of the escalation tables every
``Settings.console_poll_s`` seconds and, when it changes, pushes the sorted queue to every open
console. The same task keeps connected agents marked online and offers a callback/e-mail ticket
to shoppers whose escalation nobody claimed within ``handoff_claim_timeout_s`` (once, recorded in
the database, so a restart neither loses nor repeats it).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from aiohttp import web
from sqlalchemy.orm import Session, sessionmaker

from insight.web.console.languages import conversation_languages
from insight.web.console.rasa_client import RasaClient, RasaUnavailableError
from knowledge.handoff import agents, escalations
from knowledge.settings import Settings

logger = logging.getLogger(__name__)

# Seconds between presence updates of connected agents.
PRESENCE_EVERY_S = 10.0


def utcnow() -> datetime:
    """Now as naive UTC (the database's convention)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


@dataclass
class Hub:
    """Connected consoles and the poller that pushes queue changes to them."""

    settings: Settings
    factory: sessionmaker[Session]
    rasa: RasaClient
    sockets: dict[web.WebSocketResponse, int] = field(default_factory=dict)
    last_fingerprint: Any = None
    last_presence: float = 0.0
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    # Agent assist's live push (insight.web.console.assist_views.AssistPusher), when set up.
    assist: Any = None

    def snapshot(self) -> dict[str, Any]:
        """The queue message every console receives (each item with its ``language``)."""
        now = utcnow()
        with self.factory() as session:
            items = escalations.queue(session)
            languages = conversation_languages(session, [i.sender_id for i in items])
        return {
            "type": "queue",
            "items": [{**i.as_dict(now), "language": languages[i.sender_id]} for i in items],
        }

    async def add(self, ws: web.WebSocketResponse, agent_id: int) -> None:
        """Register a console and send it the current queue."""
        self.sockets[ws] = agent_id
        await asyncio.to_thread(self._touch, [agent_id])
        await ws.send_str(json.dumps(await asyncio.to_thread(self.snapshot)))

    def remove(self, ws: web.WebSocketResponse) -> None:
        """Forget a closed console."""
        self.sockets.pop(ws, None)

    def poke(self) -> None:
        """Poll now (after a change made by this app)."""
        self.wake.set()

    async def run(self) -> None:
        """Poll, push, keep presence and offer contact, until cancelled."""
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("console poll failed")
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.wake.wait(), self.settings.console_poll_s)
            self.wake.clear()

    async def tick(self) -> None:
        """One poll: push the queue if it changed, presence, unclaimed-timeout offers."""
        loop = asyncio.get_running_loop()
        if self.sockets and loop.time() - self.last_presence >= PRESENCE_EVERY_S:
            self.last_presence = loop.time()
            await asyncio.to_thread(self._touch, sorted(set(self.sockets.values())))
        await self.offer_contact()
        fingerprint = await asyncio.to_thread(self._fingerprint)
        if fingerprint != self.last_fingerprint:
            self.last_fingerprint = fingerprint
            await self.broadcast(await asyncio.to_thread(self.snapshot))
            if self.assist is not None:
                await self.assist.push(self)

    async def broadcast(self, message: dict[str, Any]) -> None:
        """Send ``message`` to every open console."""
        text = json.dumps(message)
        for ws in list(self.sockets):
            if ws.closed:
                self.remove(ws)
                continue
            try:
                await ws.send_str(text)
            except (ConnectionError, RuntimeError):
                self.remove(ws)

    async def offer_contact(self) -> None:
        """Offer a callback/ticket to shoppers left unclaimed past the timeout (once each)."""
        timeout = self.settings.handoff_claim_timeout_s
        due = await asyncio.to_thread(self._due, timeout)
        for item in due:
            if not await asyncio.to_thread(self._mark_offered, item.id):
                continue
            try:
                await self.rasa.offer_contact(item.sender_id)
                logger.info("Escalation %s unclaimed for %ss: offered contact", item.id, timeout)
            except RasaUnavailableError as error:
                logger.error("Could not offer contact for escalation %s: %s", item.id, error)

    def _fingerprint(self) -> Any:
        with self.factory() as session:
            return escalations.fingerprint(session)

    def _touch(self, agent_ids: list[int]) -> None:
        now = utcnow()
        with self.factory() as session, session.begin():
            for agent_id in agent_ids:
                agents.touch(session, agent_id, now)

    def _due(self, timeout: float) -> list[escalations.QueueItem]:
        with self.factory() as session:
            return escalations.due_for_contact_offer(session, utcnow(), timeout)

    def _mark_offered(self, escalation_id: int) -> bool:
        with self.factory() as session, session.begin():
            return escalations.mark_contact_offered(session, escalation_id, utcnow())
