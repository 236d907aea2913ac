"""Faults on the scale-out profile, each with real processes and real services.

The profile runs on infrastructure this module owns, so it can break it without touching what
other people use: a PostgreSQL cluster of its own (shop database and tracker store), a
redis-server of its own (lock store), and a TCP proxy in front of the shared RabbitMQ (taken
down instead of the broker). Two action servers sit behind the action gateway.

* action servers killed mid-conversation: one dead is invisible (the gateway fails over), all
  dead gives the shopper a polite retry message, and the conversation goes on once they are back;
* a slow action (its database table locked): the shopper is told it takes too long;
* PostgreSQL restarted, also with a message arriving while it is down: nothing is lost, the
  requests recover, the escalation after the restart exists exactly once;
* RabbitMQ unreachable: the shopper notices nothing; the events are buffered in the Rasa
  process and published when the broker is back (none lost);
* Redis down: the shopper gets a clear error, the stored conversation is untouched, and it goes
  on once Redis is back.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
import sqlalchemy as sa

from knowledge.settings import Settings
from knowledge.shop.identity_token import sign_customer_id
from scale.action_gateway import backend_index
from scale.processes import Running
from tests.scale.infra import (
    IDENTITY_SECRET,
    PrivatePostgres,
    PrivateRedis,
    TcpProxy,
    scale_settings_env,
    start_scale_stack,
)

pytestmark = pytest.mark.slow

RABBITMQ_PORT = 5672
ACTION_TIMEOUT_S = 10
FAQ_ANSWER = "Visa"  # in the answer to FAQ
SETTINGS = Settings(identity_secret=IDENTITY_SECRET)
FAQ = "which payment methods do you accept?"


class Faults:
    """The running profile and the infrastructure a test may break."""

    def __init__(
        self,
        running: Running,
        env: Dict[str, str],
        postgres: PrivatePostgres,
        redis: PrivateRedis,
        proxy: TcpProxy,
    ) -> None:
        self.running = running
        self.env = env
        self.postgres = postgres
        self.redis = redis
        self.proxy = proxy
        self.url = f"http://localhost:{env['SHOP_RASA_PORT']}"
        self.queue = env["SHOP_EVENTS_QUEUE"]

    def say(self, sender: str, text: str, customer_id: int | None = None) -> str:
        """POST a message over REST; the bot's reply texts joined by newlines."""
        import urllib.request

        body: Dict[str, Any] = {"sender": sender, "message": text}
        if customer_id is not None:
            body["metadata"] = {"customer_id": sign_customer_id(customer_id, SETTINGS)}
        request = urllib.request.Request(
            f"{self.url}/webhooks/rest/webhook",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=120) as response:
            assert response.status == 200
            replies: List[Dict[str, Any]] = json.loads(response.read())
        return "\n".join(r.get("text") or "" for r in replies)

    def backend_sender(self, name: str, prefix: str) -> str:
        """A new sender id whose conversation the gateway sends to action server ``name``."""
        index = action_servers(self).index(name)
        while True:
            sender = f"{prefix}-{uuid.uuid4().hex[:6]}"
            if backend_index(sender, len(action_servers(self))) == index:
                return sender

    def warm_up(self, timeout_s: float = 300.0) -> None:
        """Ask each action server the FAQ until it answers (the encoder loads on first use)."""
        deadline = time.monotonic() + timeout_s
        for name in action_servers(self):
            while FAQ_ANSWER not in self.say(self.backend_sender(name, "warmup"), FAQ):
                assert time.monotonic() < deadline, f"{name} never answered the FAQ"
                time.sleep(2)

    def _query(self, database: str, sql: str, **params: Any) -> List[Any]:
        engine = sa.create_engine(self.postgres.url(database))
        try:
            with engine.connect() as connection:
                return list(connection.execute(sa.text(sql), params).all())
        finally:
            engine.dispose()

    def events(self, sender: str) -> List[Dict[str, Any]]:
        """Every stored event of ``sender``, in order."""
        rows = self._query(
            "tracker", "SELECT data FROM events WHERE sender_id = :s ORDER BY id", s=sender
        )
        return [json.loads(row[0]) for row in rows]

    def user_texts(self, sender: str) -> List[str]:
        """The shopper's stored messages, in order."""
        return [e["text"] for e in self.events(sender) if e["event"] == "user"]

    def escalations(self, sender: str) -> int:
        """How many escalations the shop database holds for ``sender``."""
        rows = self._query(
            "shop",
            "SELECT COUNT(e.id) FROM escalations e JOIN conversations c "
            "ON c.id = e.conversation_id WHERE c.sender_id = :s",
            s=sender,
        )
        return int(rows[0][0])

    def a_customer_order(self) -> tuple[int, int]:
        """(order id, customer id) of a seeded order."""
        row = self._query("shop", "SELECT id, customer_id FROM orders ORDER BY id LIMIT 1")[0]
        return int(row[0]), int(row[1])


@pytest.fixture(scope="module")
def faults(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Faults]:
    """The profile on its own PostgreSQL, Redis and RabbitMQ proxy."""
    data_dir = tmp_path_factory.mktemp("faults")
    postgres, redis, proxy = PrivatePostgres(), PrivateRedis(), TcpProxy(RABBITMQ_PORT)
    running: Running | None = None
    env: Dict[str, str] = {}
    try:
        postgres.start()
        redis.start()
        proxy.up()
        env = scale_settings_env(
            data_dir,
            {
                "SHOP_DATABASE_URL": postgres.url("shop"),
                "SHOP_TRACKER_DATABASE_URL": postgres.url("tracker"),
                "SHOP_REDIS_URL": f"redis://localhost:{redis.port}/0",
                "SHOP_EVENTS_AMQP_URL": f"amqp://guest:guest@localhost:{proxy.port}/%2F",
                "SHOP_ACTION_TIMEOUT_S": str(ACTION_TIMEOUT_S),
            },
        )
        running = start_scale_stack(env, data_dir / "logs")
        stack = Faults(running, env, postgres, redis, proxy)
        stack.warm_up()
        yield stack
    finally:
        if running is not None:
            running.stop()
        proxy.close()
        redis.stop()
        postgres.destroy()
        if env:
            asyncio.run(_delete_queue(env["SHOP_EVENTS_QUEUE"]))


async def _delete_queue(queue: str) -> None:
    import aio_pika

    connection = await aio_pika.connect(f"amqp://guest:guest@localhost:{RABBITMQ_PORT}/")
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete(queue)
        await channel.exchange_delete(queue)


def action_servers(faults: Faults) -> List[str]:
    """The action servers' service names, in the gateway's backend order (by port)."""
    return sorted(name for name in faults.running.specs if name.startswith("action server"))


def test_action_servers_killed_mid_conversation(faults: Faults) -> None:
    first, second = action_servers(faults)
    sender = faults.backend_sender(first, "fault-actions")  # served by the first
    unavailable = SETTINGS.action_unavailable_text
    assert faults.say(sender, "hello")

    faults.running.kill(first)
    for _ in range(2):  # its server is dead: the gateway moves the conversation on
        assert FAQ_ANSWER in faults.say(sender, FAQ)

    faults.running.kill(second)
    assert unavailable in faults.say(sender, FAQ)

    for name in (first, second):
        faults.running.start(faults.running.specs[name])
    faults.running.wait_up([first, second], timeout_s=300)
    faults.warm_up()  # fresh processes load the FAQ encoder again
    assert FAQ_ANSWER in faults.say(sender, FAQ)  # the conversation goes on
    assert faults.user_texts(sender) == ["hello", FAQ, FAQ, FAQ, FAQ]


def test_a_slow_action_is_answered_politely(faults: Faults) -> None:
    sender = f"fault-slow-{uuid.uuid4().hex[:6]}"
    order_id, customer_id = faults.a_customer_order()
    question = f"where is my order {order_id}?"
    engine = sa.create_engine(faults.postgres.url("shop"))
    try:
        with engine.connect() as blocker:
            transaction = blocker.begin()
            blocker.execute(sa.text("LOCK TABLE orders IN ACCESS EXCLUSIVE MODE"))
            started = time.monotonic()
            reply = faults.say(sender, question, customer_id)
            took = time.monotonic() - started
            transaction.rollback()
    finally:
        engine.dispose()
    assert SETTINGS.action_timeout_text in reply
    assert took >= ACTION_TIMEOUT_S
    reply = faults.say(sender, question, customer_id)
    assert str(order_id) in reply and SETTINGS.action_timeout_text not in reply


def test_database_restart_loses_nothing(faults: Faults) -> None:
    sender = f"fault-db-{uuid.uuid4().hex[:6]}"
    assert faults.say(sender, "hello")

    faults.postgres.stop()
    faults.postgres.start()
    # Stale pooled connections are replaced, not failed.
    assert FAQ_ANSWER in faults.say(sender, FAQ)

    faults.postgres.stop()
    replies: List[str] = []
    during = threading.Thread(target=lambda: replies.append(faults.say(sender, "thanks")))
    during.start()
    time.sleep(2.0)  # the message waits for the database ...
    faults.postgres.start()
    during.join(timeout=120)
    assert replies and replies[0]  # ... and is answered once it is back

    assert faults.say(sender, "I want to talk to a human agent")
    assert faults.user_texts(sender) == ["hello", FAQ, "thanks", "I want to talk to a human agent"]
    assert faults.escalations(sender) == 1


def test_rabbitmq_down_events_are_buffered_and_published_later(faults: Faults) -> None:
    import aio_pika

    sender = f"fault-mq-{uuid.uuid4().hex[:6]}"
    faults.proxy.down()
    try:
        assert faults.say(sender, "hello")
        assert faults.say(sender, FAQ)
    finally:
        faults.proxy.up()
    stored = faults.events(sender)
    assert [e["text"] for e in stored if e["event"] == "user"] == ["hello", FAQ]

    async def published() -> List[Dict[str, Any]]:
        found: List[Dict[str, Any]] = []
        connection = await aio_pika.connect(f"amqp://guest:guest@localhost:{RABBITMQ_PORT}/")
        async with connection:
            channel = await connection.channel()
            queue = await channel.declare_queue(faults.queue, durable=True, passive=True)
            deadline = time.monotonic() + 60  # the broker reconnects every few seconds
            while len(found) < len(stored) and time.monotonic() < deadline:
                message = await queue.get(no_ack=False, fail=False)
                if message is None:
                    await asyncio.sleep(0.5)
                    continue
                body = json.loads(message.body)
                if body.get("sender_id") == sender:
                    found.append(body)
                await message.ack()
        return found

    events = asyncio.run(published())
    key = sorted((e["event"], e["timestamp"]) for e in stored)
    assert sorted((e["event"], e["timestamp"]) for e in events) == key


def test_redis_down_is_a_clear_error_and_corrupts_nothing(faults: Faults) -> None:
    sender = f"fault-redis-{uuid.uuid4().hex[:6]}"
    assert faults.say(sender, "hello")
    before = faults.events(sender)

    faults.redis.stop()
    try:
        assert faults.say(sender, FAQ) == SETTINGS.service_unavailable_text
        assert faults.events(sender) == before
    finally:
        faults.redis.start()
    assert FAQ_ANSWER in faults.say(sender, FAQ)
    assert faults.user_texts(sender) == ["hello", FAQ]


def test_logs_name_each_fault(faults: Faults) -> None:
    """The operators' side: each fault left a clear line in the logs."""
    gateway = faults.running.log_tail("action gateway", 1_000_000)
    assert "unreachable" in gateway and "took longer than" in gateway
    rasa = faults.running.log_tail("rasa server", 2_000_000)
    assert "a store is unreachable" in rasa
    assert Path(faults.running.log_dir).is_dir() and os.listdir(faults.running.log_dir)
