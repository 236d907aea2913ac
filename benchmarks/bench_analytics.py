"""Analytics: event-broker publish cost inside Rasa, ingest throughput, measure latency.

* publish: Rasa's own ``SQLEventBroker`` against ``BufferedSQLEventBroker`` on the same SQLite
  disk, same events: the time ``publish`` blocks Rasa's event loop (p50 / p95) and, for the
  buffered one, until everything is written;
* ingest: broker rows folded into the analytics tables (events per second);
* measures: each of the 12 measures over the folded conversations (ms);
* fold by length: folding one new turn into a conversation of 1, 50 and 200 turns (ms p50,
  and turn 200 / turn 1): the ingest rebuilds a touched conversation from all its events.

Events are the fixed test log (tests/analytics/data/event_log.json) copied under new sender
ids and days, so the figures come from Rasa-shaped events.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import tempfile
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

LOG = Path(__file__).resolve().parents[1] / "tests" / "analytics" / "data" / "event_log.json"


def copies(n: int) -> list[dict[str, Any]]:
    """``n`` copies of the test log, each copy under its own sender ids and a day later."""
    log = json.loads(LOG.read_text())
    out = []
    for i in range(n):
        for item in log:
            out.append(
                {
                    **item,
                    "sender_id": f"{item['sender_id']}-{i}",
                    "timestamp": item["timestamp"] + 86400 * (i % 28),
                }
            )
    return out


def _pcts(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return f"p50 {statistics.median(ordered) * 1000:.3f} ms / p95 {p95 * 1000:.3f} ms"


def bench_publish(events: list[dict[str, Any]], folder: Path) -> None:
    """Publish latency of the two brokers."""
    from rasa.core.brokers.sql import SQLEventBroker

    from insight.analytics.rasa_broker import BufferedSQLEventBroker

    for cls in (SQLEventBroker, BufferedSQLEventBroker):
        broker = cls(dialect="sqlite", db=str(folder / f"{cls.__name__}.db"))
        times = []
        start = time.perf_counter()
        for event in events:
            t = time.perf_counter()
            broker.publish(event)
            times.append(time.perf_counter() - t)
        if isinstance(broker, BufferedSQLEventBroker):
            broker.flush()
        total = time.perf_counter() - start
        print(
            f"publish {cls.__name__:24s} n={len(events)}: {_pcts(times)}; "
            f"all written after {total:.2f} s",
            flush=True,
        )
        broker.engine.dispose()


def bench_tracker_saves(events: list[dict[str, Any]], folder: Path) -> None:
    """What a broker adds to Rasa's per-turn ``TrackerStore.save`` (SQLite tracker store)."""
    import asyncio

    from rasa.core.brokers.sql import SQLEventBroker
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import Event
    from rasa.shared.core.trackers import DialogueStateTracker

    from insight.analytics.rasa_broker import BufferedSQLEventBroker

    by_sender: dict[str, list[Any]] = {}
    for item in events:
        body = {k: v for k, v in item.items() if k != "sender_id"}
        by_sender.setdefault(item["sender_id"], []).append(Event.from_parameters(body))

    domain = Domain.load(str(Path(__file__).resolve().parents[1] / "bot" / "domain"))

    async def saves(broker: Any, tag: str) -> list[float]:
        store = SQLTrackerStore(domain, db=str(folder / f"tracker-{tag}.db"))
        store.event_broker = broker
        times = []
        for sender_id, evs in by_sender.items():
            cuts = [i for i, e in enumerate(evs) if e.type_name == "user"] + [len(evs)]
            for end in cuts[1:]:
                tracker = DialogueStateTracker.from_events(
                    sender_id, evs[:end], slots=list(domain.slots)
                )
                t = time.perf_counter()
                await store.save(tracker)
                times.append(time.perf_counter() - t)
        store.engine.dispose()
        return times

    for tag, broker in (
        ("none", None),
        ("rasa-sql", SQLEventBroker(dialect="sqlite", db=str(folder / "save-rasa.db"))),
        ("buffered", BufferedSQLEventBroker(dialect="sqlite", db=str(folder / "save-buf.db"))),
    ):
        times = asyncio.run(saves(broker, tag))
        print(f"tracker save per turn, broker {tag:9s} n={len(times)}: {_pcts(times)}", flush=True)
        if isinstance(broker, BufferedSQLEventBroker):
            broker.flush()


def long_conversation_turns(turns: int) -> list[list[dict[str, Any]]]:
    """``turns`` user turns (with the bot's events after each) of one conversation, built from
    the test log's longest conversation, each turn at its own time and message id."""
    log = [item for item in json.loads(LOG.read_text()) if item["sender_id"] == "c1"]
    templates: list[list[dict[str, Any]]] = []
    for item in log:
        if item["event"] == "user" or not templates:
            templates.append([])
        templates[-1].append(item)
    templates = [t for t in templates if t[0]["event"] == "user"]
    out = []
    for i in range(turns):
        turn = json.loads(json.dumps(templates[i % len(templates)]))
        for j, item in enumerate(turn):
            item["sender_id"] = "long-conversation"
            item["timestamp"] = 1_790_000_000 + i * 10 + j * 0.01
            if item.get("message_id"):
                item["message_id"] = f"turn-{i}"
        out.append(turn)
    return out


def bench_fold_by_length(folder: Path, quick: bool) -> None:
    """Fold one new turn at a time into one conversation: ms p50 around turns 1, 50, 200."""
    from insight.analytics.events import normalise
    from insight.analytics.fold import fold
    from knowledge.db import make_engine, make_session_factory
    from knowledge.migrate import upgrade

    url = f"sqlite:///{folder / 'fold-by-length.db'}"
    upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    windows = {1: range(0, 5), 50: range(48, 53), 200: range(196, 201)}
    last = 50 if quick else 200
    times: dict[int, list[float]] = {turn: [] for turn in windows}
    for i, turn in enumerate(long_conversation_turns(last + 1)):
        events = [normalise(item) for item in turn]
        start = time.perf_counter()
        fold(factory, events, "bench")
        took = (time.perf_counter() - start) * 1000
        for at, window in windows.items():
            if i in window:
                times[at].append(took)
    engine.dispose()
    p50 = {at: statistics.median(v) for at, v in times.items() if v}
    shown = ", ".join(f"turn {at} {value:.1f} ms" for at, value in p50.items())
    ratio = p50[max(p50)] / p50[1]
    print(
        f"fold one turn into one conversation, p50: {shown} (turn {max(p50)} / turn 1: "
        f"{ratio:.2f}x)",
        flush=True,
    )


def run(args: argparse.Namespace) -> None:
    """Print the figures."""
    from insight.analytics import ingest, measures
    from insight.analytics.filters import Filters
    from knowledge.db import make_engine, make_session_factory
    from knowledge.migrate import upgrade
    from knowledge.settings import Settings
    from knowledge.shop.seed import seed

    folder = Path(tempfile.mkdtemp(prefix="bench-analytics-"))
    bench_fold_by_length(folder, args.quick)
    bench_publish(copies(2 if args.quick else 6), folder)
    bench_tracker_saves(copies(2 if args.quick else 6), folder)

    n = 10 if args.quick else 60
    events = copies(n)
    url = f"sqlite:///{folder / 'shop.db'}"
    upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with factory() as session, session.begin():
        seed(session, seed_value=1, customers=300, products=60, now=datetime(2026, 11, 20))
    broker_db = folder / "events.db"
    from insight.analytics.rasa_broker import BufferedSQLEventBroker

    broker = BufferedSQLEventBroker(dialect="sqlite", db=str(broker_db))
    for event in events:
        broker.publish(event)
    broker.flush()
    broker.engine.dispose()
    start = time.perf_counter()
    result = ingest.ingest_sql_broker(factory, str(broker_db))
    took = time.perf_counter() - start
    print(
        f"ingest: {result.events} events ({result.conversations} conversation rebuilds) "
        f"in {took:.2f} s ({result.events / took:.0f} events/s)",
        flush=True,
    )
    ctx = measures.Context(Settings(), datetime(2026, 12, 20), {})
    filters = [Filters(), Filters(since=date(2026, 11, 16), until=date(2026, 11, 22))]
    for name, measure in measures.registry().items():
        times = []
        for f in filters:
            with factory() as session:
                t = time.perf_counter()
                measure(session, f, ctx)
                times.append(time.perf_counter() - t)
        print(
            f"measure {name:16s} all {times[0] * 1000:7.1f} ms, one week "
            f"{times[1] * 1000:7.1f} ms ({n * 7} conversations)",
            flush=True,
        )
    engine.dispose()
