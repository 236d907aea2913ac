"""The scale-out profile on the real services: PostgreSQL, Redis, RabbitMQ, two Rasa processes.

Two Rasa servers (A and B, separate processes as separate Sanic workers are) share the tracker
store (a PostgreSQL database of this test), the lock store and the socket.io queue (Redis, own
key prefix) and publish to this test's RabbitMQ queue; two action servers sit behind the
gateway. A socket connected to A must get what B produced, a session must survive moving from
A to B, and one conversation's messages sent to A and B at once must be processed one by one.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any, Dict, Iterator, List

import aiohttp
import pytest
import sqlalchemy as sa

from scale.processes import Running
from scale.socketio_ws import WebSocketIOClient
from tests.scale.infra import API_TOKEN, free_port_block, scale_settings_env, start_scale_stack

pytestmark = pytest.mark.slow

REPLY_TIMEOUT_S = 60.0


class Stack:
    """The running profile: the two Rasa URLs, the tracker database and the event queue."""

    def __init__(self, running: Running, env: Dict[str, str], port_b: int) -> None:
        self.running = running
        self.url_a = f"http://localhost:{env['SHOP_RASA_PORT']}"
        self.url_b = f"http://localhost:{port_b}"
        self.tracker_url = env["SHOP_TRACKER_DATABASE_URL"]
        self.queue = env["SHOP_EVENTS_QUEUE"]

    def user_and_bot_events(self, sender: str) -> List[Dict[str, Any]]:
        """The stored events of ``sender`` in order (type and data)."""
        engine = sa.create_engine(self.tracker_url)
        try:
            with engine.connect() as connection:
                rows = connection.execute(
                    sa.text("SELECT data FROM events WHERE sender_id = :s ORDER BY id"),
                    {"s": sender},
                ).all()
        finally:
            engine.dispose()
        return [json.loads(row[0]) for row in rows]

    def settled_events(self, sender: str, user_turns: int) -> List[Dict[str, Any]]:
        """The events once ``user_turns`` turns are stored (replies are sent before the save)."""
        deadline = time.monotonic() + 30
        while True:
            events = self.user_and_bot_events(sender)
            turns = [e for e in events if e["event"] == "user"]
            if len(turns) >= user_turns or time.monotonic() > deadline:
                return events
            time.sleep(0.2)


def _drop_databases(names: List[str]) -> None:
    engine = sa.create_engine(
        "postgresql://postgres@localhost:5432/postgres", isolation_level="AUTOCOMMIT"
    )
    quote = engine.dialect.identifier_preparer.quote
    try:
        with engine.connect() as connection:
            for name in names:
                connection.execute(sa.text(f"DROP DATABASE IF EXISTS {quote(name)} WITH (FORCE)"))
    finally:
        engine.dispose()


async def _delete_queue(queue: str) -> None:
    import aio_pika

    connection = await aio_pika.connect("amqp://guest:guest@localhost/")
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete(queue)
        await channel.exchange_delete(queue)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The profile on this module's own databases, Redis prefix and queue."""
    tag = uuid.uuid4().hex[:8]
    shop_db, tracker_db = f"shop_scale_test_{tag}", f"shop_scale_test_{tag}_tracker"
    data_dir = tmp_path_factory.mktemp("scale")
    env = scale_settings_env(
        data_dir,
        {
            "SHOP_DATABASE_URL": f"postgresql://postgres@localhost:5432/{shop_db}",
            "SHOP_TRACKER_DATABASE_URL": f"postgresql://postgres@localhost:5432/{tracker_db}",
            "SHOP_REDIS_URL": "redis://localhost:6379/13",
        },
    )
    port_b = free_port_block(1)
    running = start_scale_stack(env, data_dir / "logs", [port_b])
    try:
        yield Stack(running, env, port_b)
    finally:
        running.stop()
        asyncio.run(_delete_queue(env["SHOP_EVENTS_QUEUE"]))
        _drop_databases([shop_db, tracker_db])


class SocketShopper:
    """A socket.io client as the widget is: websocket transport, a persistent session id."""

    def __init__(self, session_id: str) -> None:
        self.session_id = session_id
        self.http = aiohttp.ClientSession()
        self.client: WebSocketIOClient | None = None

    async def connect(self, url: str) -> None:
        """Connect and join the session's room."""
        self.client = WebSocketIOClient(self.http, url)
        await self.client.connect()
        await self.client.emit("session_request", {"session_id": self.session_id})
        assert await self.client.next_event("session_confirm", 30) == self.session_id

    async def say(self, text: str) -> None:
        """Send a message as the widget does."""
        assert self.client is not None
        await self.client.emit("user_uttered", {"message": text, "session_id": self.session_id})

    async def next_text(self) -> str:
        """The text of the next bot message."""
        assert self.client is not None
        return str((await self.client.next_event("bot_uttered", REPLY_TIMEOUT_S)).get("text"))

    async def close(self) -> None:
        """Disconnect."""
        if self.client is not None:
            await self.client.close()
        await self.http.close()


async def _post_bot_event(url: str, sender: str, text: str) -> None:
    """What the agent console does: a bot event through the HTTP API to the latest channel."""
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{url}/conversations/{sender}/tracker/events",
            params={"output_channel": "latest", "execute_side_effects": "true", "token": API_TOKEN},
            json={"event": "bot", "text": text},
        ) as response,
    ):
        assert response.status == 200, await response.text()


async def test_a_reply_from_worker_b_reaches_the_socket_on_worker_a(stack: Stack) -> None:
    shopper = SocketShopper(f"scale-cross-{uuid.uuid4().hex[:8]}")
    await shopper.connect(stack.url_a)
    try:
        await shopper.say("hello")
        assert await shopper.next_text()  # answered by A

        await _post_bot_event(stack.url_b, shopper.session_id, "Alex from B here")
        assert await shopper.next_text() == "Alex from B here"
    finally:
        await shopper.close()


async def test_a_session_moves_from_worker_a_to_worker_b(stack: Stack) -> None:
    session_id = f"scale-move-{uuid.uuid4().hex[:8]}"
    first = SocketShopper(session_id)
    await first.connect(stack.url_a)
    await first.say("hello")
    greeting = await first.next_text()
    await first.close()

    second = SocketShopper(session_id)
    await second.connect(stack.url_b)
    try:
        await second.say("how long do I have to send back shoes that don't fit?")
        answer = await second.next_text()
    finally:
        await second.close()

    events = stack.settled_events(session_id, 2)
    users = [e["text"] for e in events if e["event"] == "user"]
    bots = [e["text"] for e in events if e["event"] == "bot"]
    assert users == ["hello", "how long do I have to send back shoes that don't fit?"]
    assert bots.index(greeting) < bots.index(answer)


async def test_one_conversation_is_processed_one_message_at_a_time_across_processes(
    stack: Stack,
) -> None:
    sender = f"scale-lock-{uuid.uuid4().hex[:8]}"
    texts = [f"which payment methods do you accept? ({n})" for n in range(8)]

    async def send(http: aiohttp.ClientSession, n: int) -> List[Dict[str, Any]]:
        url = stack.url_a if n % 2 == 0 else stack.url_b
        async with http.post(
            f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": texts[n]}
        ) as response:
            assert response.status == 200
            return list(await response.json())

    async with aiohttp.ClientSession() as http:
        replies = await asyncio.gather(*(send(http, n) for n in range(len(texts))))
    assert all(replies), "every message got an answer"

    events = stack.settled_events(sender, len(texts))
    turns: List[List[str]] = []
    for event in events:
        if event["event"] == "user":
            turns.append([])
        elif turns and event["event"] == "action":
            turns[-1].append(event["name"])
    assert sorted(e["text"] for e in events if e["event"] == "user") == sorted(texts)
    # Each turn ran to its end (action_listen) before the next message was processed.
    assert all(turn and turn[-1] == "action_listen" for turn in turns), turns
    assert all(turn.count("action_listen") == 1 for turn in turns), turns


async def test_every_event_is_published_to_the_queue(stack: Stack) -> None:
    import aio_pika

    sender = f"scale-events-{uuid.uuid4().hex[:8]}"
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{stack.url_a}/webhooks/rest/webhook", json={"sender": sender, "message": "hello"}
        ) as response,
    ):
        assert response.status == 200 and await response.json()
    stored = stack.user_and_bot_events(sender)

    published: List[Dict[str, Any]] = []
    connection = await aio_pika.connect("amqp://guest:guest@localhost/")
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(stack.queue, durable=True, passive=True)
        for _ in range(50):
            while (message := await queue.get(no_ack=False, fail=False)) is not None:
                body = json.loads(message.body)
                if body.get("sender_id") == sender:
                    published.append(body)
                await message.ack()
            if len(published) >= len(stored):
                break
            await asyncio.sleep(0.2)
    key = [(e["event"], e.get("timestamp")) for e in stored]
    assert sorted(key, key=str) == sorted(
        ((e["event"], e.get("timestamp")) for e in published), key=str
    )
