"""Test support for the chat widget: Debian's Chromium under Playwright, a stand-in Rasa channel.

Chromium is the system one (``make chromium`` installs it); Playwright never downloads a browser.
``FakeRasa`` speaks Rasa's socket.io channel protocol (``session_request``/``session_confirm``,
``user_uttered``/``bot_uttered`` to the session's room) so that rendering, reconnection and agent
payloads can be driven exactly and fast; the slow test runs against the real Rasa server.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List

import pytest
import socketio
from aiohttp import web

from tests.servers import free_port

logger = logging.getLogger(__name__)

CHROMIUM = Path(os.environ.get("SHOP_CHROMIUM", "/usr/bin/chromium"))
# Playwright's launch() gives every browser a fresh temporary profile (user-data-dir).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 667}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


async def launch_chromium(playwright: Any) -> Any:
    """Headless system Chromium; fail with the fix when it is not installed."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} not found: run `make chromium` (make test does)")
    return await playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )


Reply = Callable[[str], Awaitable[List[Dict[str, Any]]]]


@dataclass
class Received:
    """One ``user_uttered`` event as the channel got it."""

    message: str
    session_id: str
    metadata: Dict[str, Any]


@dataclass
class FakeRasa:
    """A socket.io server that behaves like Rasa's channel with session persistence."""

    reply: Reply
    port: int = field(default_factory=free_port)
    received: List[Received] = field(default_factory=list)
    confirmed: List[str] = field(default_factory=list)
    runner: web.AppRunner | None = None
    sio: socketio.AsyncServer | None = None

    @property
    def url(self) -> str:
        """Base URL the widget connects to."""
        return f"http://localhost:{self.port}"

    async def start(self) -> None:
        """Listen on ``port`` (again, after :meth:`stop`)."""
        sio = socketio.AsyncServer(async_mode="aiohttp", cors_allowed_origins="*")
        app = web.Application()
        sio.attach(app)

        @sio.on("session_request")
        async def session_request(sid: str, data: Dict[str, Any] | None) -> None:
            session_id = (data or {}).get("session_id") or uuid.uuid4().hex
            await sio.enter_room(sid, session_id)
            self.confirmed.append(session_id)
            await sio.emit("session_confirm", session_id, room=sid)

        @sio.on("user_uttered")
        async def user_uttered(sid: str, data: Dict[str, Any]) -> None:
            received = Received(data["message"], data["session_id"], data.get("customData", {}))
            self.received.append(received)
            for payload in await self.reply(received.message):
                await sio.emit("bot_uttered", payload, room=received.session_id)

        self.sio = sio
        self.runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self.runner.setup()
        await web.TCPSite(self.runner, "localhost", self.port).start()

    async def stop(self) -> None:
        """Drop every client and stop listening (a server restart, as the widget sees it)."""
        if self.sio is not None:
            await self.sio.shutdown()
        if self.runner is not None:
            await self.runner.cleanup()

    async def push(self, session_id: str, payload: Dict[str, Any]) -> None:
        """Send ``payload`` as a ``bot_uttered`` event to the session's room."""
        assert self.sio is not None
        await self.sio.emit("bot_uttered", payload, room=session_id)

    async def wait_for_message(self, count: int, timeout_s: float = 15.0) -> Received:
        """The ``count``-th message received, waiting for it."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while len(self.received) < count:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"only {len(self.received)} messages: {self.received}")
            await asyncio.sleep(0.05)
        return self.received[count - 1]
