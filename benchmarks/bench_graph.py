"""Cost of the per-turn knowledge-graph update (``action_record_turn``).

Times, per user turn, through the rasa_sdk ``ActionExecutor`` exactly as the action server runs
it (tracker JSON in, events out): a no-op action (the baseline every custom action pays),
``action_record_turn`` writing inline on new turns and on replayed turns, and in the default
background mode (what the reply waits for, then how long the writer takes to drain the burst);
plus ``record_turn`` alone (the database part). Against a migrated, seeded SQLite file, and
PostgreSQL when reachable (``SHOP_TEST_POSTGRES_URL``, default local). The HTTP hop from Rasa
to the action server is not included (it is the same for every custom action).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from rasa_sdk import Action
from rasa_sdk.executor import ActionExecutor
from sqlalchemy import event
from sqlalchemy.engine import Engine

from actions import deps
from actions.record_turn import flush_pending_turns
from knowledge.db import make_engine, make_session_factory
from knowledge.graph.record import DemandInput, TurnInput, record_turn
from knowledge.migrate import upgrade
from knowledge.shop.seed import seed

logger = logging.getLogger(__name__)

NOW = datetime(2026, 11, 20, 12, 0, 0)
POSTGRES_URL = os.environ.get(
    "SHOP_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


class ActionNoop(Action):
    """Does nothing: the baseline cost of running any custom action."""

    def name(self) -> str:
        """The action's name."""
        return "action_bench_noop"

    async def run(self, dispatcher: Any, tracker: Any, domain: Any) -> list:
        """Return no events."""
        return []


def _action_call(action: str, sender: str, i: int) -> dict[str, Any]:
    """A tracker as Rasa sends it: three kinds of turn in rotation."""
    kind = i % 3
    text, intent, entities, label, scores, demands = [
        (
            "where is my order 1001?",
            "track_order",
            [{"entity": "order_id", "value": "1001"}],
            "neutral",
            {"negative": 0.2, "neutral": 0.7, "positive": 0.1},
            [{"aspect": "delivery", "confidence": 0.8}],
        ),
        (
            "my wireless earbuds broke after a day",
            "complain",
            [{"entity": "product", "value": "wireless earbuds"}],
            "negative",
            {"negative": 0.9, "neutral": 0.05, "positive": 0.05},
            [{"aspect": "quality", "confidence": 0.9, "product": "wireless earbuds"}],
        ),
        (
            "thanks, that's great",
            "thank",
            [],
            "positive",
            {"negative": 0.02, "neutral": 0.1, "positive": 0.88},
            [],
        ),
    ][kind]
    parse_data = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.95},
        "entities": entities,
        "sentiment": {"label": label, "confidence": max(scores.values()), "scores": scores},
        "demands": demands,
    }
    message_id = uuid.uuid4().hex
    events = [
        {"event": "action", "name": "action_listen", "timestamp": 1_795_000_000.0 + i},
        {
            "event": "user",
            "text": text,
            "parse_data": parse_data,
            "input_channel": "rest",
            "message_id": message_id,
            "metadata": {"customer_id": 1 + i % 50},
            "timestamp": 1_795_000_000.5 + i,
        },
    ]
    tracker = {
        "sender_id": sender,
        "slots": {"customer_id": 1 + i % 50, "order_id": None},
        "latest_message": parse_data,
        "events": events,
        "paused": False,
        "followup_action": None,
        "active_loop": {},
        "latest_action_name": "action_listen",
    }
    return {
        "next_action": action,
        "sender_id": sender,
        "tracker": tracker,
        "domain": {},
        "version": "3.6.21",
    }


def _timed(n: int, step: Callable[[int], None]) -> tuple[list[float], float]:
    """Wall milliseconds of each of ``n`` calls of ``step(i)``, and mean CPU ms per call.

    CPU time is the whole process's (the action's worker thread included); on a shared, busy
    machine it is the steadier figure, wall time includes waiting for a core and for fsync.
    """
    samples = []
    cpu_start = time.process_time()
    for i in range(n):
        start = time.perf_counter()
        step(i)
        samples.append((time.perf_counter() - start) * 1000)
    return samples, (time.process_time() - cpu_start) * 1000 / n


def _report(label: str, timed: tuple[list[float], float]) -> None:
    samples, cpu = timed
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    print(
        f"{label:<44} n={len(samples):4d}  p50={statistics.median(samples):7.2f} ms  "
        f"p99={p99:7.2f} ms  mean={statistics.fmean(samples):7.2f} ms  cpu={cpu:6.2f} ms",
        flush=True,
    )


def _bench_database(label: str, url: str, turns: int) -> None:
    """All measurements against the (migrated, seeded) database at ``url``."""
    os.environ["SHOP_DATABASE_URL"] = url
    os.environ["SHOP_RECORD_TURN_IN_BACKGROUND"] = "false"
    deps.clear_caches()
    executor = ActionExecutor()
    executor.register_package("actions.record_turn")
    executor.register_action(ActionNoop)
    loop = asyncio.new_event_loop()
    try:
        run = loop.run_until_complete
        for i in range(20):  # warm-up: imports, connection pool, statement caches
            run(executor.run(_action_call("action_record_turn", "warmup", i)))
            run(executor.run(_action_call("action_bench_noop", "warmup", i)))
        noop = _timed(turns, lambda i: run(executor.run(_action_call("action_bench_noop", "s", i))))
        calls = [_action_call("action_record_turn", f"bench-{i // 10}", i) for i in range(turns)]
        recorded = _timed(turns, lambda i: run(executor.run(calls[i])))
        replayed = _timed(turns, lambda i: run(executor.run(calls[i])))
        os.environ["SHOP_RECORD_TURN_IN_BACKGROUND"] = "true"
        deps.clear_caches()
        queued = [_action_call("action_record_turn", f"queued-{i // 10}", i) for i in range(turns)]
        background = _timed(turns, lambda i: run(executor.run(queued[i])))
        drain_start = time.perf_counter()
        flush_pending_turns(timeout=600)
        drain_s = time.perf_counter() - drain_start
    finally:
        loop.close()
        os.environ.pop("SHOP_RECORD_TURN_IN_BACKGROUND", None)
        deps.clear_caches()
    factory = make_session_factory(make_engine(url))

    def direct(i: int) -> None:
        turn = TurnInput(
            sender_id=f"direct-{i // 10}",
            text="my wireless earbuds broke",
            rasa_message_id=uuid.uuid4().hex,
            customer_id=1 + i % 50,
            intent="complain",
            sentiment_label="negative",
            sentiment_score=-0.85,
            demands=(DemandInput("quality", 0.9, "wireless earbuds"),),
            product_names=("wireless earbuds",),
            order_refs=("1001",),
        )
        with factory() as session, session.begin():
            record_turn(session, turn, now=NOW)

    database_only = _timed(turns, direct)
    factory.kw["bind"].dispose()
    print(f"--- {label}")
    _report("no-op custom action (baseline)", noop)
    _report("action_record_turn, inline, new turn", recorded)
    _report("action_record_turn, inline, replayed (no write)", replayed)
    _report("action_record_turn, background (default)", background)
    _report("record_turn() alone (one transaction)", database_only)
    print(
        f"{'added by recording (p50 new - p50 no-op)':<44} "
        f"{statistics.median(recorded[0]) - statistics.median(noop[0]):7.2f} ms wall, "
        f"{recorded[1] - noop[1]:6.2f} ms cpu",
        flush=True,
    )
    print(
        f"{'added to the reply in background mode':<44} "
        f"{statistics.median(background[0]) - statistics.median(noop[0]):7.2f} ms wall (p50); "
        f"the writer drained the rest of the {turns}-turn burst {drain_s:.2f} s after it",
        flush=True,
    )


def _synchronous_normal(dbapi_connection: Any, _record: Any) -> None:
    """Connect hook: fsync the SQLite WAL at checkpoints only, not on every commit."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def _seeded(url: str, customers: int) -> None:
    upgrade(url)
    engine = make_engine(url)
    with make_session_factory(engine)() as session, session.begin():
        seed(session, seed_value=20240601, customers=customers, products=60, now=NOW)
    engine.dispose()


@contextmanager
def _postgres_database() -> Iterator[str | None]:
    """A throw-away PostgreSQL database URL, or ``None`` when no server is reachable."""
    try:
        import psycopg2
        from sqlalchemy.engine import make_url

        admin = psycopg2.connect(POSTGRES_URL, connect_timeout=3)
    except Exception as error:  # any failure just skips this part
        print(f"--- PostgreSQL skipped: not reachable at {POSTGRES_URL} ({error})")
        yield None
        return
    admin.autocommit = True
    name = f"shop_bench_graph_{uuid.uuid4().hex[:8]}"
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')  # generated name, not user input
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def run(args: argparse.Namespace) -> None:
    """Print p50/p99 per recorded turn against SQLite (and PostgreSQL when reachable)."""
    turns = 100 if args.quick else 500
    customers = 60 if args.quick else 300
    previous = os.environ.get("SHOP_DATABASE_URL")
    logging.getLogger("knowledge.graph.record").setLevel(logging.ERROR)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-graph-") as folder:
            url = f"sqlite:///{Path(folder) / 'shop.db'}"
            _seeded(url, customers)
            _bench_database("SQLite (file, WAL, synchronous=FULL: as configured)", url, turns)
            deps.clear_caches()
            # What knowledge/db.py would get with PRAGMA synchronous=NORMAL (safe under WAL;
            # a power cut may lose the last commits, never corrupt the file).
            event.listen(Engine, "connect", _synchronous_normal)
            try:
                _bench_database("SQLite (file, WAL, synchronous=NORMAL)", url, turns)
            finally:
                event.remove(Engine, "connect", _synchronous_normal)
            deps.clear_caches()
        with _postgres_database() as pg_url:
            if pg_url:
                _seeded(pg_url, customers)
                _bench_database("PostgreSQL (local)", pg_url, turns)
                deps.clear_caches()
    finally:
        if previous is None:
            os.environ.pop("SHOP_DATABASE_URL", None)
        else:
            os.environ["SHOP_DATABASE_URL"] = previous
        deps.clear_caches()
