"""A small HTTP gateway in front of several action-server processes.

Rasa calls one action endpoint; this gateway spreads the conversations over the action-server
processes: all calls of one conversation go to the same process (a hash of the sender id), so
its turns are handled and recorded in order and its caches stay warm. A backend that refuses
the connection (its process is down) is skipped for the next one. When no backend answers, or
the chosen one takes longer than ``SHOP_ACTION_TIMEOUT_S``, the gateway answers Rasa itself
with a polite message for the shopper instead of an error: Rasa 3.6 otherwise logs the failed
call and goes on *silently* (the shopper sees no reply at all). Actions that run on every turn
beside the dialogue (the custom slot mappings ``action_record_turn`` and
``action_assess_handoff``) fail silently, so that a failure is reported once per turn, by the
action the shopper is waiting for.

A call that timed out is not retried elsewhere: the backend may still be running it.

Run: ``python -m scale.action_gateway --port 5055 --backend http://localhost:5056 ...``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import re
import zlib
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Dict, List, Sequence

from aiohttp import (
    ClientConnectionError,
    ClientConnectorError,
    ClientSession,
    ClientTimeout,
    TCPConnector,
    web,
)

from knowledge.settings import Settings, get_settings

logger = logging.getLogger(__name__)

# ``next_action`` is the first key of Rasa's action call; reading it from the head of the body
# spares parsing the whole (domain-sized) JSON on every call.
_NEXT_ACTION = re.compile(rb'"next_action"\s*:\s*"([^"\\]{1,200})"')
_SENDER_ID = re.compile(rb'"sender_id"\s*:\s*"((?:[^"\\]|\\.){0,1000})"')
_HEAD_BYTES = 512
# Headers not forwarded between hops.
_HOP_HEADERS = {"host", "content-length", "transfer-encoding", "connection", "keep-alive"}


@dataclass
class GatewayConfig:
    """Where the gateway sends calls and what it answers when they fail."""

    backends: Sequence[str]
    timeout_s: float
    unavailable_text: str
    timeout_text: str
    silent_actions: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def from_settings(cls, backends: Sequence[str], settings: Settings) -> GatewayConfig:
        """The configuration for ``backends`` (base URLs) with the messages from settings."""
        if not backends:
            raise ValueError("the action gateway needs at least one --backend URL")
        return cls(
            backends=[b.rstrip("/") for b in backends],
            timeout_s=settings.action_timeout_s,
            unavailable_text=settings.action_unavailable_text,
            timeout_text=settings.action_timeout_text,
            silent_actions=frozenset(settings.action_silent_on_failure),
        )


def action_name(body: bytes) -> str:
    """The ``next_action`` of a Rasa action call (empty when it cannot be read)."""
    match = _NEXT_ACTION.search(body[:_HEAD_BYTES])
    if match:
        return match.group(1).decode("utf-8", "replace")
    try:
        return str(json.loads(body).get("next_action", ""))
    except (ValueError, AttributeError):
        return ""


def sender_id(body: bytes) -> str:
    """The ``sender_id`` of a Rasa action call (empty when it cannot be read)."""
    match = _SENDER_ID.search(body[: _HEAD_BYTES * 4])
    if match:
        return match.group(1).decode("utf-8", "replace")
    try:
        return str(json.loads(body).get("sender_id", ""))
    except (ValueError, AttributeError):
        return ""


def backend_index(sender: str, backends: int) -> int:
    """The backend (0-based) that serves conversation ``sender`` while all are up."""
    return zlib.crc32(sender.encode("utf-8")) % backends


def polite_answer(config: GatewayConfig, action: str, text: str) -> Dict[str, List[Any]]:
    """The action-server response Rasa gets instead of an error: no events, one message."""
    if action in config.silent_actions:
        return {"events": [], "responses": []}
    return {"events": [], "responses": [{"text": text}]}


class ActionGateway:
    """One backend per conversation, with failover to the next on refused connections."""

    def __init__(self, config: GatewayConfig) -> None:
        self.config = config
        self._session: ClientSession | None = None

    async def start(self) -> None:
        """Open the client session (a fresh connection per call, see below)."""
        # No keep-alive: a backend that died while idle would fail the next call on its stale
        # pooled connection mid-request (not safe to repeat); a fresh local connect is ~0.1 ms
        # and a dead backend refuses it at once, so the call moves on to the next backend.
        self._session = ClientSession(
            timeout=ClientTimeout(total=None), connector=TCPConnector(force_close=True)
        )

    async def stop(self) -> None:
        """Close the client session."""
        if self._session is not None:
            await self._session.close()

    def _order(self, sender: str) -> List[str]:
        """Backends in the order to try for a call of conversation ``sender``."""
        backends = list(self.config.backends)
        start = backend_index(sender, len(backends))
        return backends[start:] + backends[:start]

    async def webhook(self, request: web.Request) -> web.StreamResponse:
        """Forward an action call; answer politely when no backend runs it in time."""
        assert self._session is not None
        body = await request.read()
        action = action_name(body)
        sender = sender_id(body)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_HEADERS}
        for backend in self._order(sender):
            try:
                async with self._session.post(
                    f"{backend}/webhook",
                    data=body,
                    headers=headers,
                    timeout=ClientTimeout(total=self.config.timeout_s),
                ) as response:
                    payload = await response.read()
                    return web.Response(
                        body=payload,
                        status=response.status,
                        content_type=response.content_type,
                    )
            except ClientConnectorError as error:
                logger.warning("action server %s unreachable (%s); trying the next", backend, error)
            except ClientConnectionError as error:
                # Connected, then lost: the backend may have run part of the action, so the
                # call is not repeated elsewhere.
                logger.error("action server %s dropped %r (%s)", backend, action, error)
                return web.json_response(
                    polite_answer(self.config, action, self.config.unavailable_text)
                )
            except asyncio.TimeoutError:
                logger.error(
                    "action %r took longer than %.1fs on %s", action, self.config.timeout_s, backend
                )
                return web.json_response(
                    polite_answer(self.config, action, self.config.timeout_text)
                )
        logger.error("no action server answered for %r", action)
        return web.json_response(polite_answer(self.config, action, self.config.unavailable_text))

    async def health(self, _request: web.Request) -> web.Response:
        """200 with the backends that answer their health check; 503 when none does."""
        assert self._session is not None
        up: List[str] = []
        for backend in self.config.backends:
            try:
                async with self._session.get(
                    f"{backend}/health", timeout=ClientTimeout(total=2)
                ) as response:
                    if response.status == 200:
                        up.append(backend)
            except (ClientConnectorError, asyncio.TimeoutError):
                continue
        return web.json_response(
            {"status": "ok" if up else "down", "backends_up": up}, status=200 if up else 503
        )


def create_app(config: GatewayConfig) -> web.Application:
    """The gateway's aiohttp application."""
    gateway = ActionGateway(config)
    app = web.Application(client_max_size=64 * 1024 * 1024)

    async def client_session(_app: web.Application) -> AsyncIterator[None]:
        await gateway.start()
        yield
        await gateway.stop()

    app.cleanup_ctx.append(client_session)
    app.router.add_post("/webhook", gateway.webhook)
    app.router.add_get("/health", gateway.health)
    return app


def main(argv: Sequence[str] | None = None) -> None:
    """Run the gateway until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--host", default=None, help="interface (default: SHOP_HOST)")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument(
        "--backend", action="append", default=[], help="action server base URL (repeat)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    settings = get_settings()
    config = GatewayConfig.from_settings(args.backend, settings)
    logger.info("action gateway over %s", ", ".join(config.backends))
    web.run_app(create_app(config), host=args.host or settings.host, port=args.port, print=None)


if __name__ == "__main__":
    main()
