"""A minimal Socket.IO client over the websocket transport, on aiohttp.

The load benchmark and the scale tests talk to Rasa's socket.io channel the way the widget does:
websocket only (several Rasa workers share one port, so long-polling requests of one session
could reach different workers). python-socketio's ``AsyncClient`` needs ``aiohttp >= 3.10`` for
that transport and Rasa 3.6 pins 3.9, so this speaks the few frames needed itself: Engine.IO v4
open/ping/pong/message and Socket.IO v5 connect/event on the default namespace.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any, Dict, List, Tuple

import aiohttp

logger = logging.getLogger(__name__)


class SocketIOError(RuntimeError):
    """The server refused or closed the Socket.IO connection."""


class WebSocketIOClient:
    """Connect, emit events, and receive events from one Socket.IO server."""

    def __init__(self, http: aiohttp.ClientSession, base_url: str, path: str = "/socket.io/"):
        self.http = http
        self.url = base_url.rstrip("/") + path + "?EIO=4&transport=websocket"
        self.events: asyncio.Queue[Tuple[str, Any]] = asyncio.Queue()
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task | None = None
        self._connected = asyncio.Event()

    async def connect(self, timeout_s: float = 30.0) -> None:
        """Open the websocket and join the default namespace."""
        self._ws = await self.http.ws_connect(self.url, timeout=timeout_s, autoping=True)
        opening = await self._ws.receive(timeout=timeout_s)
        if opening.type != aiohttp.WSMsgType.TEXT or not str(opening.data).startswith("0"):
            raise SocketIOError(f"unexpected Engine.IO opening {opening.data!r}")
        await self._ws.send_str("40")
        self._reader = asyncio.create_task(self._read())
        await asyncio.wait_for(self._connected.wait(), timeout_s)

    async def _read(self) -> None:
        assert self._ws is not None
        async for message in self._ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            data = str(message.data)
            if data == "2":  # Engine.IO ping
                await self._ws.send_str("3")
            elif data.startswith("40"):
                self._connected.set()
            elif data.startswith("44"):
                logger.warning("socket.io connection refused: %s", data[2:])
                break
            elif data.startswith("42"):
                payload: List[Any] = json.loads(data[2:])
                await self.events.put((payload[0], payload[1] if len(payload) > 1 else None))
        await self.events.put(("disconnect", None))

    async def emit(self, event: str, data: Any) -> None:
        """Send ``event`` with ``data``."""
        assert self._ws is not None
        await self._ws.send_str("42" + json.dumps([event, data]))

    async def next_event(self, name: str, timeout_s: float) -> Any:
        """The data of the next ``name`` event (other events before it are dropped)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            event, data = await asyncio.wait_for(self.events.get(), deadline - loop.time())
            if event == name:
                return data
            if event == "disconnect":
                raise SocketIOError("disconnected")

    def drain(self, name: str) -> List[Dict[str, Any]]:
        """The ``name`` events already received and not read yet."""
        found = []
        while not self.events.empty():
            event, data = self.events.get_nowait()
            if event == name:
                found.append(data)
        return found

    async def close(self) -> None:
        """Close the websocket."""
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, SocketIOError):
                await self._reader
