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

Calls of the actions in ``replay_actions`` (``action_record_turn``: it writes the turn into the
knowledge graph, idempotently per Rasa message id) that found no backend at all are kept in
memory and sent again, in their order, once a backend answers: before the next call of the
same conversation, and every ``REPLAY_S`` seconds for the others. So a turn the shopper sent
while every action server was down still reaches the knowledge graph; only the replayed call's
answer is dropped (Rasa has long moved on).

Run: ``python -m scale.action_gateway --port 5055 --backend http://localhost:5056 ...``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import re
import zlib
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Deque, Dict, List, Mapping, Sequence, Tuple

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
#: Seconds between attempts to send the kept calls of conversations that went quiet.
REPLAY_S = 2.0
#: Most kept calls (the oldest are dropped beyond, with an error in the log).
REPLAY_LIMIT = 10_000
#: Actions whose calls are kept and sent again when no backend took them.
DEFAULT_REPLAY_ACTIONS = frozenset({"action_record_turn"})


@dataclass
class GatewayConfig:
    """Where the gateway sends calls and what it answers when they fail."""

    backends: Sequence[str]
    timeout_s: float
    unavailable_text: str
    timeout_text: str
    silent_actions: frozenset[str] = field(default_factory=frozenset)
    replay_actions: frozenset[str] = DEFAULT_REPLAY_ACTIONS

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


class NoBackendError(Exception):
    """No backend accepted the connection."""


Call = Tuple[bytes, Mapping[str, str]]


class ActionGateway:
    """One backend per conversation, with failover to the next on refused connections."""

    def __init__(self, config: GatewayConfig) -> None:
        self.config = config
        self._session: ClientSession | None = None
        # Kept calls by conversation, conversations in the order their first call was kept.
        self._kept: OrderedDict[str, Deque[Call]] = OrderedDict()
        self._replaying: Dict[str, asyncio.Lock] = {}

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

    def kept_calls(self) -> int:
        """How many calls wait to be sent again."""
        return sum(len(calls) for calls in self._kept.values())

    def _keep(self, sender: str, body: bytes, headers: Mapping[str, str]) -> None:
        """Keep a call to send again once a backend is back."""
        if self.kept_calls() >= REPLAY_LIMIT:
            oldest = next(iter(self._kept))
            self._kept[oldest].popleft()
            if not self._kept[oldest]:
                del self._kept[oldest]
            logger.error("more than %d calls kept; dropped the oldest of %s", REPLAY_LIMIT, oldest)
        self._kept.setdefault(sender, deque()).append((body, dict(headers)))

    async def _post(
        self, sender: str, body: bytes, headers: Mapping[str, str]
    ) -> Tuple[bytes, int, str]:
        """Send a call to the conversation's backend, or the next that accepts the connection.

        Raises :class:`NoBackendError` when none does; a lost connection or a timeout propagate.
        """
        assert self._session is not None
        for backend in self._order(sender):
            try:
                async with self._session.post(
                    f"{backend}/webhook",
                    data=body,
                    headers=headers,
                    timeout=ClientTimeout(total=self.config.timeout_s),
                ) as response:
                    return await response.read(), response.status, response.content_type
            except ClientConnectorError as error:
                logger.warning("action server %s unreachable (%s); trying the next", backend, error)
        raise NoBackendError()

    async def replay(self, sender: str) -> bool:
        """Send the conversation's kept calls again, in order; True when none is left."""
        lock = self._replaying.setdefault(sender, asyncio.Lock())
        async with lock:
            calls = self._kept.get(sender)
            while calls:
                body, headers = calls[0]
                try:
                    _, status, _ = await self._post(sender, body, headers)
                except NoBackendError:
                    return False
                except (ClientConnectionError, asyncio.TimeoutError) as error:
                    # It may have run: not sent a third time (the write is idempotent anyway).
                    logger.error("replayed call of %s failed (%s); dropped", sender, error)
                    status = 0
                calls.popleft()
                logger.info(
                    "replayed a kept %s call of %s (status %s)", action_name(body), sender, status
                )
            self._kept.pop(sender, None)
            return True

    async def replay_all(self) -> None:
        """Send every conversation's kept calls again (stops at the first with no backend)."""
        for sender in list(self._kept):
            if not await self.replay(sender):
                return

    async def webhook(self, request: web.Request) -> web.StreamResponse:
        """Forward an action call; answer politely when no backend runs it in time."""
        body = await request.read()
        action = action_name(body)
        sender = sender_id(body)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_HEADERS}
        if sender in self._kept:
            await self.replay(sender)  # earlier turns first, so the graph keeps their order
        try:
            payload, status, content_type = await self._post(sender, body, headers)
            return web.Response(body=payload, status=status, content_type=content_type)
        except NoBackendError:
            logger.error("no action server answered for %r", action)
            if action in self.config.replay_actions:
                self._keep(sender, body, headers)
            return web.json_response(
                polite_answer(self.config, action, self.config.unavailable_text)
            )
        except ClientConnectionError as error:
            # Connected, then lost: the backend may have run part of the action, so the
            # call is not repeated elsewhere.
            logger.error("action server dropped %r of %s (%s)", action, sender, error)
            return web.json_response(
                polite_answer(self.config, action, self.config.unavailable_text)
            )
        except asyncio.TimeoutError:
            logger.error("action %r took longer than %.1fs", action, self.config.timeout_s)
            return web.json_response(polite_answer(self.config, action, self.config.timeout_text))

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

    async def replayer(_app: web.Application) -> AsyncIterator[None]:
        async def loop() -> None:
            while True:
                await asyncio.sleep(REPLAY_S)
                if gateway.kept_calls():
                    await gateway.replay_all()

        task = asyncio.create_task(loop())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    app.cleanup_ctx.append(client_session)
    app.cleanup_ctx.append(replayer)
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
    # uvloop (Sanic's loop, in the lock) and no access log: the gateway adds a hop to every
    # action call of every turn (docs/performance.md, cut 12).
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    web.run_app(
        create_app(config),
        host=args.host or settings.host,
        port=args.port,
        print=None,
        access_log=None,
    )


if __name__ == "__main__":
    main()
