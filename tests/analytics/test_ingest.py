"""Ingest paths: folding is idempotent, and Rasa's SQL event broker, Rasa's SQL tracker store
(backfill) and Rasa's Pika broker on the real RabbitMQ all give the same analytics tables."""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import sessionmaker

from insight.analytics import ingest
from insight.analytics.events import BadEventError, normalise
from insight.analytics.fold import fold, rebuild_all
from insight.analytics.rabbit import AmqpConsumer
from insight.analytics.tables import (
    AnalyticsConversation,
    AnalyticsCursor,
    AnalyticsEvent,
    AnalyticsMessage,
)
from tests.analytics.conftest import load_log, log_events

AMQP_URL = "amqp://guest:guest@localhost:5672/"


def snapshot(factory: sessionmaker) -> dict[str, Any]:
    """Every analytics row, without the bookkeeping columns (source, received_at)."""
    with factory() as session:
        events = sorted(
            (
                e.event_key,
                e.sender_id,
                e.event_type,
                e.timestamp,
                json.dumps(e.data, sort_keys=True),
            )
            for e in session.execute(select(AnalyticsEvent)).scalars()
        )
        tables = {}
        for model in (AnalyticsConversation, AnalyticsMessage):
            columns = [c.name for c in model.__table__.columns]
            tables[model.__tablename__] = sorted(
                json.dumps({c: getattr(row, c) for c in columns}, sort_keys=True, default=str)
                for row in session.execute(select(model)).scalars()
            )
    return {"events": events, **tables}


def test_event_log_has_rasas_shape() -> None:
    """Rasa reads every fixture event and writes it back unchanged."""
    from rasa.shared.core.events import Event

    for item in load_log():
        body = {k: v for k, v in item.items() if k != "sender_id"}
        assert Event.from_parameters(body).as_dict() == body


def test_normalise_rejects_what_is_not_an_event() -> None:
    for bad in (
        b"not json",
        "[1, 2]",
        {"event": "user", "timestamp": 1.0},
        {"sender_id": "a"},
        {"sender_id": "a", "event": "user", "timestamp": "yesterday"},
    ):
        with pytest.raises(BadEventError):
            normalise(bad)
    event = normalise('{"event": "pause", "timestamp": 5}', sender_id="x")
    assert (event.sender_id, event.event_type, event.timestamp) == ("x", "pause", 5.0)
    assert normalise({"sender_id": "x", "event": "pause", "timestamp": 5}).key == event.key


def test_replaying_the_log_changes_nothing(folded: sessionmaker) -> None:
    before = snapshot(folded)
    assert len(before["events"]) == len(load_log())
    again = fold(folded, log_events(), "fixture")
    assert (again.senders, again.conversations) == (0, 0)
    events = log_events()
    random.Random(7).shuffle(events)
    fold(folded, events[: len(events) // 2], "fixture")
    fold(folded, events, "fixture")
    assert snapshot(folded) == before
    assert rebuild_all(folded) == 9  # c1..c10 but c8 (no user message)
    assert snapshot(folded) == before


def test_events_in_any_order_and_in_pieces_give_the_same_tables(
    fresh: sessionmaker, folded: sessionmaker
) -> None:
    expected = snapshot(folded)
    factory = fresh
    events = log_events()
    random.Random(3).shuffle(events)
    for start in range(0, len(events), 17):
        fold(factory, events[start : start + 17], "fixture")
    assert snapshot(factory) == expected


def publish_to_sql_broker(path: Path, items: list[dict[str, Any]]) -> None:
    """Write events with Rasa's own SQL event broker (as the running bot does)."""
    from rasa.core.brokers.sql import SQLEventBroker

    broker = SQLEventBroker(dialect="sqlite", db=str(path))
    for item in items:
        broker.publish(item)
    broker.engine.dispose()


def test_buffered_broker_writes_what_rasas_broker_writes(tmp_path: Path) -> None:
    """Same rows as Rasa's SQLEventBroker, written later by the thread; close drains it."""
    from insight.analytics.rasa_broker import BufferedSQLEventBroker

    log = load_log()
    publish_to_sql_broker(tmp_path / "rasa.db", log)
    broker = BufferedSQLEventBroker(dialect="sqlite", db=str(tmp_path / "buffered.db"))
    for item in log[:100]:
        broker.publish(item)
    assert broker.flush()
    for item in log[100:]:
        broker.publish(item)
    asyncio.run(broker.close())

    def rows(name: str) -> list[tuple]:
        engine = ingest.source_engine(str(tmp_path / name))
        with engine.connect() as connection:
            found = list(connection.execute(text("SELECT id, sender_id, data FROM events")))
        engine.dispose()
        return [tuple(row) for row in found]

    assert rows("buffered.db") == rows("rasa.db")
    assert len(rows("buffered.db")) == len(log)


def test_sql_event_broker_ingest(fresh: sessionmaker, folded: sessionmaker, tmp_path: Path) -> None:
    expected = snapshot(folded)
    factory = fresh
    broker_db = tmp_path / "events.db"
    assert ingest.ingest_sql_broker(factory, str(broker_db)).rows == 0  # no broker DB yet
    log = load_log()
    publish_to_sql_broker(broker_db, log[:50])
    first = ingest.ingest_sql_broker(factory, str(broker_db), batch=20)
    assert (first.rows, first.events) == (50, 50)
    publish_to_sql_broker(broker_db, log[50:])
    engine = ingest.source_engine(str(broker_db))
    with engine.begin() as connection:  # a row that is not an event is skipped, not fatal
        connection.execute(text("INSERT INTO events (sender_id, data) VALUES ('x', 'oops')"))
    engine.dispose()
    second = ingest.ingest_sql_broker(factory, str(broker_db), batch=20)
    assert (second.rows, second.events, second.skipped) == (len(log) - 50 + 1, len(log) - 50, 1)
    assert ingest.ingest_sql_broker(factory, str(broker_db)).rows == 0
    assert snapshot(factory) == expected
    with factory() as session:
        assert session.execute(select(AnalyticsCursor.position)).scalar_one() == len(log) + 1


async def test_backfill_from_rasas_tracker_store_matches_ingest(
    fresh: sessionmaker, folded: sessionmaker, tmp_path: Path
) -> None:
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import Event
    from rasa.shared.core.trackers import DialogueStateTracker

    expected = snapshot(folded)
    factory = fresh
    tracker_db = tmp_path / "tracker.db"
    store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(tracker_db))
    by_sender: dict[str, list[Any]] = {}
    for item in load_log():
        body = {k: v for k, v in item.items() if k != "sender_id"}
        by_sender.setdefault(item["sender_id"], []).append(Event.from_parameters(body))
    for sender_id, events in by_sender.items():
        await store.save(DialogueStateTracker.from_events(sender_id, events))
    store.engine.dispose()
    # Something folded before the backfill that the tracker store never had is dropped.
    fold(factory, [normalise({"sender_id": "stale", "event": "pause", "timestamp": 1.0})], "x")
    result = ingest.backfill(factory, str(tracker_db))
    assert (result.events, result.conversations) == (len(load_log()), 9)
    assert snapshot(factory) == expected
    ingest.backfill(factory, str(tracker_db))
    assert snapshot(factory) == expected


async def test_the_bots_endpoints_feed_the_event_broker(
    fresh: sessionmaker, folded: sessionmaker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """bot/endpoints.yml as Rasa reads it: saving trackers streams every event to the SQL
    broker; ingesting the broker and backfilling the tracker store give the same tables."""
    from rasa.core.brokers.broker import EventBroker
    from rasa.core.tracker_store import TrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import Event
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.utils.endpoints import read_endpoint_config

    root = Path(__file__).resolve().parents[2]
    monkeypatch.setenv("SHOP_TRACKER_DB", str(tmp_path / "tracker.db"))
    monkeypatch.setenv("SHOP_EVENTS_DB", str(tmp_path / "events.db"))
    monkeypatch.setenv("SHOP_ACTION_SERVER_URL", "http://localhost:9/webhook")
    endpoints = str(root / "bot" / "endpoints.yml")
    broker = await EventBroker.create(read_endpoint_config(endpoints, "event_broker"))
    store = TrackerStore.create(
        read_endpoint_config(endpoints, "tracker_store"), Domain.empty(), broker
    )
    by_sender: dict[str, list[Any]] = {}
    for item in load_log():
        body = {k: v for k, v in item.items() if k != "sender_id"}
        by_sender.setdefault(item["sender_id"], []).append(Event.from_parameters(body))
    for sender_id, events in by_sender.items():
        tracker = DialogueStateTracker.from_events(sender_id, events[:5])
        await store.save(tracker)  # a conversation saved turn by turn, as the bot does
        tracker = DialogueStateTracker.from_events(sender_id, events)
        await store.save(tracker)
    store.engine.dispose()  # type: ignore[attr-defined]
    assert type(broker).__name__ == "BufferedSQLEventBroker"
    await broker.close()  # writes what is still queued
    expected = snapshot(folded)
    result = ingest.ingest_sql_broker(fresh, str(tmp_path / "events.db"))
    # Rasa's event diff re-publishes the last event of the earlier save (once per sender):
    # the broker holds 8 duplicates, the analytics store each event once.
    assert result.events == len(load_log()) + len(by_sender)
    assert snapshot(fresh) == expected
    ingest.backfill(fresh, str(tmp_path / "tracker.db"))
    assert snapshot(fresh) == expected


def test_backfill_without_a_tracker_store_says_so(factory: sessionmaker, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no Rasa tracker store"):
        ingest.backfill(factory, str(tmp_path / "missing.db"))


async def test_rabbitmq_consumer_with_rasas_pika_broker(
    fresh: sessionmaker, folded: sessionmaker
) -> None:
    """Rasa's Pika broker publishes the log twice to a real RabbitMQ; the consumer folds it."""
    import aio_pika

    # rasa's pika.py calls rasa.shared.core.events without importing it (the server has).
    import rasa.shared.core.events  # noqa: F401
    from rasa.core.brokers.pika import PikaEventBroker

    expected = snapshot(folded)
    factory = fresh
    name = f"analytics-test-{uuid.uuid4().hex[:8]}"
    broker = PikaEventBroker(
        "localhost",
        "guest",
        "guest",
        queues=[name],
        exchange_name=name,
        event_loop=asyncio.get_running_loop(),
    )
    await broker.connect()
    consumer = AmqpConsumer(AMQP_URL, name, factory, batch=40, flush_s=0.2)
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    try:
        await asyncio.wait_for(consumer.ready.wait(), 10)
        log = load_log()
        for item in log + log:  # delivered twice: stored once
            broker.publish(item)
        connection = await aio_pika.connect(AMQP_URL)
        channel = await connection.channel()
        await channel.default_exchange.publish(aio_pika.Message(b"not an event"), name)
        for _ in range(200):
            if consumer.stats.messages >= 2 * len(log) + 1:
                break
            await asyncio.sleep(0.1)
        assert consumer.stats.messages == 2 * len(log) + 1
        assert consumer.stats.rejected == 1
        assert snapshot(factory) == expected
        stop.set()
        await channel.default_exchange.publish(aio_pika.Message(b"{}"), name)
        await asyncio.wait_for(task, 10)
        await channel.queue_delete(name)
        await channel.exchange_delete(name)
        await connection.close()
    finally:
        task.cancel()
        await broker.close()
