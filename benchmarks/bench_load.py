"""Load benchmark: simulated shoppers over REST and socket.io against `make run`'s profiles.

``--compare`` (what ``make bench-load`` runs) measures this bot next to a plain ``rasa init``
bot instead: ``benchmarks/load_compare.py``. Without it:

``python -m benchmarks.bench_load [--profiles embedded scale] [--shoppers 50 200]
[--duration 30]`` (``make bench-load``) starts the whole system exactly as ``make run`` does
(``scripts/run_system.py``, on a temp data dir, free ports, and for the scale profile its own
PostgreSQL databases, Redis prefix and RabbitMQ queue), then for each shopper count runs N
concurrent shoppers for a fixed time. Each shopper goes through short scripted conversations
(greeting and order tracking as a signed-in customer, FAQ questions, asking for a person) on a
new sender id each, half of them over REST, half over socket.io (websocket), waiting for the
reply and ``--think`` seconds before the next message. The generator stops by itself: no new
message after the deadline, in-flight replies get ``--reply-timeout`` seconds.

Printed per profile and shopper count: messages answered per second, p50/p95/p99 latency (REST:
the whole reply; socket.io: until the first reply message), errors (HTTP errors, timeouts,
empty replies, rate-limited), and afterwards the integrity check: every conversation's tracker
(read from the tracker store once it stops growing) holds exactly the messages sent, in order,
and the replies received, in order, and every conversation that asked for a person has exactly
one escalation in the shop database (the others none). A message the shopper gave up on (no
reply within ``--reply-timeout``, counted as a timeout error) ends its conversation and may or
may not be stored: Rasa cancels the handling of a REST request whose client left.

Before the timed runs a few conversations of every script warm the system up (the first FAQ
question loads the sentence encoder in each action server), so one-off costs are not measured.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
STARTUP_S = 900.0
ASK_FOR_PERSON = "I want to talk to a human agent"
EXPECTED_REPLY_TIMEOUT_S = 30.0


@dataclass
class Conversation:
    """What one simulated conversation sent and received."""

    sender: str
    channel: str
    sent: List[str] = field(default_factory=list)
    received: List[str] = field(default_factory=list)
    # The last message got no reply in time (REST: the server cancels its handling, so it may
    # or may not be stored; the conversation ends there).
    gave_up: bool = False

    @property
    def asked_for_person(self) -> bool:
        """Whether the shopper asked for a person (one escalation expected)."""
        return ASK_FOR_PERSON in self.sent


@dataclass
class Results:
    """Figures of one load run."""

    latencies: List[float] = field(default_factory=list)
    errors: Dict[str, int] = field(default_factory=dict)
    conversations: List[Conversation] = field(default_factory=list)

    def error(self, kind: str) -> None:
        """Count one error of ``kind``."""
        self.errors[kind] = self.errors.get(kind, 0) + 1


def scripts(order: Tuple[int, str] | None) -> List[List[Tuple[str, Dict[str, Any]]]]:
    """The conversations shoppers pick from: (text, metadata) per message."""
    signed: Dict[str, Any] = {}
    order_text = "where is my order?"
    if order is not None:
        order_id, token = order
        signed = {"customer_id": token}
        order_text = f"where is my order {order_id}?"
    return [
        [("hello", signed), (order_text, signed), ("thank you, bye", signed)],
        [
            ("how long do I have to send back shoes that don't fit?", {}),
            ("which payment methods do you accept?", {}),
            ("thanks", {}),
        ],
        [("hi", signed), (ASK_FOR_PERSON, signed)],
    ]


class Shopper:
    """One simulated shopper: conversation after conversation until the deadline."""

    def __init__(
        self,
        number: int,
        run_id: str,
        rasa_url: str,
        orders: Sequence[Tuple[int, str]],
        results: Results,
        think_s: float,
        reply_timeout_s: float,
        rest_only: bool = False,
    ) -> None:
        self.number = number
        self.run_id = run_id
        self.rasa_url = rasa_url
        self.orders = orders
        self.results = results
        self.think_s = think_s
        self.reply_timeout_s = reply_timeout_s
        self.channel = "rest" if rest_only or number % 2 == 0 else "socketio"
        self.random = random.Random(number)

    async def run(self, deadline: float, http: Any) -> None:
        """Hold conversations until ``deadline``."""
        await asyncio.sleep(self.random.uniform(0, self.think_s))  # no thundering herd
        count = 0
        while time.monotonic() < deadline:
            order = self.random.choice(self.orders) if self.orders else None
            script = self.random.choice(scripts(order))
            conversation = Conversation(f"load-{self.run_id}-{self.number}-{count}", self.channel)
            self.results.conversations.append(conversation)
            count += 1
            if self.channel == "rest":
                await self._rest(conversation, script, deadline, http)
            else:
                await self._socketio(conversation, script, deadline, http)

    async def _rest(
        self, conversation: Conversation, script: List[Tuple[str, Dict]], deadline: float, http: Any
    ) -> None:
        import aiohttp

        for text, metadata in script:
            if time.monotonic() >= deadline:
                return
            body = {"sender": conversation.sender, "message": text, "metadata": metadata}
            conversation.sent.append(text)
            started = time.perf_counter()
            try:
                async with http.post(
                    f"{self.rasa_url}/webhooks/rest/webhook",
                    json=body,
                    timeout=aiohttp.ClientTimeout(total=self.reply_timeout_s),
                ) as response:
                    replies = await response.json(content_type=None)
                    elapsed = time.perf_counter() - started
                    if response.status == 429:
                        self.results.error("rate limited")
                        continue
                    if response.status != 200:
                        self.results.error(f"HTTP {response.status}")
                        continue
            except asyncio.TimeoutError:
                self.results.error("timeout")
                conversation.gave_up = True
                return
            except aiohttp.ClientError as error:
                self.results.error(type(error).__name__)
                conversation.gave_up = True
                return
            texts = [r["text"] for r in replies if r.get("text")]
            conversation.received.extend(texts)
            if not texts:
                self.results.error("empty reply")
            self.results.latencies.append(elapsed)
            await asyncio.sleep(self.think_s * self.random.uniform(0.5, 1.5))

    async def _socketio(
        self, conversation: Conversation, script: List[Tuple[str, Dict]], deadline: float, http: Any
    ) -> None:
        from scale.socketio_ws import SocketIOError, WebSocketIOClient

        client = WebSocketIOClient(http, self.rasa_url)
        try:
            await client.connect(self.reply_timeout_s)
            await client.emit("session_request", {"session_id": conversation.sender})
            await client.next_event("session_confirm", self.reply_timeout_s)
            for text, metadata in script:
                if time.monotonic() >= deadline:
                    break
                conversation.received.extend(  # late parts of the previous answer
                    d["text"] for d in client.drain("bot_uttered") if d.get("text")
                )
                conversation.sent.append(text)
                started = time.perf_counter()
                await client.emit(
                    "user_uttered",
                    {"message": text, "session_id": conversation.sender, "customData": metadata},
                )
                try:
                    reply = await client.next_event("bot_uttered", self.reply_timeout_s)
                except asyncio.TimeoutError:
                    self.results.error("timeout")
                    conversation.gave_up = True
                    break
                self.results.latencies.append(time.perf_counter() - started)
                if reply.get("text"):
                    conversation.received.append(reply["text"])
                await asyncio.sleep(self.think_s * self.random.uniform(0.5, 1.5))
            await asyncio.sleep(0.5)  # the rest of the last answer
            conversation.received.extend(
                d["text"] for d in client.drain("bot_uttered") if d.get("text")
            )
        except (asyncio.TimeoutError, SocketIOError, aiohttp_errors()) as error:
            self.results.error(f"socket.io {type(error).__name__}")
        finally:
            await client.close()


def aiohttp_errors() -> type[Exception]:
    """aiohttp's client error base class (imported lazily)."""
    import aiohttp

    return aiohttp.ClientError


def percentile(values: Sequence[float], share: float) -> float:
    """The ``share`` quantile (0-1) of ``values`` (nearest rank); NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))
    return ordered[rank]


def is_subsequence(needles: Sequence[str], haystack: Sequence[str]) -> bool:
    """Whether ``needles`` occur in ``haystack`` in this order."""
    position = iter(haystack)
    return all(any(item == candidate for candidate in position) for item in needles)


def check_integrity(
    results: Results, tracker_url: str, shop_url: str, run_id: str
) -> Tuple[int, List[str]]:
    """Conversations checked and the problems found (empty list: all intact)."""
    import sqlalchemy as sa

    user: Dict[str, List[str]] = {}
    bot: Dict[str, List[str]] = {}
    engine = sa.create_engine(tracker_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text(
                    "SELECT sender_id, type_name, data FROM events "
                    "WHERE sender_id LIKE :prefix ORDER BY id"
                ),
                {"prefix": f"load-{run_id}-%"},
            )
            for sender, type_name, data in rows:
                if type_name == "user":
                    user.setdefault(sender, []).append(json.loads(data).get("text"))
                elif type_name == "rewind" and user.get(sender):
                    # Routing takes a message back and logs it again with its new intent
                    # (actions/route_message.py): one message, stored once in the end.
                    user[sender].pop()
                elif type_name == "bot":
                    bot.setdefault(sender, []).append(json.loads(data).get("text"))
    finally:
        engine.dispose()
    escalations: Dict[str, int] = {}
    engine = sa.create_engine(shop_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text(
                    "SELECT c.sender_id, COUNT(e.id) FROM escalations e "
                    "JOIN conversations c ON c.id = e.conversation_id "
                    "WHERE c.sender_id LIKE :prefix GROUP BY c.sender_id"
                ),
                {"prefix": f"load-{run_id}-%"},
            )
            escalations = {sender: int(count) for sender, count in rows}
    finally:
        engine.dispose()
    problems: List[str] = []
    for conversation in results.conversations:
        sender = conversation.sender
        allowed = [conversation.sent]
        if conversation.gave_up:
            allowed.append(conversation.sent[:-1])
        if user.get(sender, []) not in allowed:
            problems.append(
                f"{sender}: tracker user turns {user.get(sender)} != {conversation.sent}"
            )
        if not is_subsequence(conversation.received, bot.get(sender, [])):
            problems.append(f"{sender}: replies received are not the tracker's, in order")
        expected = {1 if conversation.asked_for_person else 0}
        if conversation.gave_up and conversation.sent[-1:] == [ASK_FOR_PERSON]:
            expected = {0, 1}
        if escalations.get(sender, 0) not in expected:
            problems.append(
                f"{sender}: {escalations.get(sender, 0)} escalations, {expected} expected"
            )
    return len(results.conversations), problems


@dataclass
class System:
    """A running `make run` (one profile) and where its data is."""

    process: subprocess.Popen
    rasa_url: str
    tracker_url: str
    shop_url: str
    data_dir: Path
    log: Path


def start_system(profile: str, data_dir: Path, env_extra: Dict[str, str]) -> System:
    """Start ``scripts/run_system.py`` for ``profile`` and wait for "The system is up"."""
    from scale.profile import ensure_postgres_database
    from tests.servers import free_port, free_port_block

    ports = {k: str(free_port()) for k in ("SHOP_RASA_PORT", "SHOP_INSIGHT_PORT")}
    # The scale profile's action servers use the ports after the gateway's.
    ports["SHOP_ACTION_PORT"] = str(free_port_block(4))
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("SHOP_TRACKER_DB", "SHOP_EVENTS_DB", "SHOP_ACTION_SERVER_URL")
    }
    env.update(
        {
            **ports,
            "SHOP_DATA_DIR": str(data_dir),
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
            "PROFILE": profile,
            **env_extra,
        }
    )
    if profile == "embedded":
        env["SHOP_DATABASE_URL"] = f"sqlite:///{data_dir / 'shop.db'}"
        subprocess.run(
            [sys.executable, "-m", "knowledge", "setup"], cwd=ROOT, env=env, check=True, timeout=600
        )
        tracker_url = f"sqlite:///{data_dir / 'tracker.db'}"
    else:
        tracker_url = env["SHOP_TRACKER_DATABASE_URL"]
        ensure_postgres_database(tracker_url)
    log = data_dir / f"run_system-{profile}.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "scripts" / "run_system.py")],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + STARTUP_S
    try:
        while "Press Ctrl-C" not in log.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{profile} profile did not start:\n" + log.read_text()[-3000:])
            time.sleep(1)
    except BaseException:
        stop_system(process)
        raise
    return System(
        process,
        f"http://localhost:{ports['SHOP_RASA_PORT']}",
        tracker_url,
        env["SHOP_DATABASE_URL"],
        data_dir,
        log,
    )


def stop_system(process: subprocess.Popen) -> None:
    """Ctrl-C the launcher (it stops every service), kill it if it hangs."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def signed_orders(system: System, count: int = 40) -> List[Tuple[int, str]]:
    """(order id, signed customer token) of some seeded orders, as the shop page signs them."""
    import sqlalchemy as sa

    from knowledge.settings import Settings
    from knowledge.shop.identity_token import sign_customer_id

    settings = Settings(data_dir=system.data_dir)
    engine = sa.create_engine(system.shop_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text("SELECT id, customer_id FROM orders ORDER BY id LIMIT :n"), {"n": count}
            ).all()
    finally:
        engine.dispose()
    return [(int(o), sign_customer_id(int(c), settings)) for o, c in rows]


async def warm_up(system: System, conversations: int = 8, timeout_s: float = 300.0) -> None:
    """Hold a few conversations of every script (not measured, not checked).

    The first FAQ question loads the sentence encoder in each action server and the first
    messages warm each Rasa worker; a timed run must not include those one-off costs.
    """
    import aiohttp

    orders = signed_orders(system, 4)
    async with aiohttp.ClientSession() as http:

        async def conversation(n: int, script: List[Tuple[str, Dict[str, Any]]]) -> None:
            for text, metadata in script:
                body: Dict[str, Any] = {
                    "sender": f"warmup-{uuid.uuid4().hex[:8]}-{n}",
                    "message": text,
                    "metadata": metadata,
                }
                async with http.post(
                    f"{system.rasa_url}/webhooks/rest/webhook",
                    json=body,
                    timeout=aiohttp.ClientTimeout(total=timeout_s),
                ) as response:
                    await response.read()

        for n in range(conversations):
            await asyncio.gather(
                *(conversation(n, script) for script in scripts(orders[n % len(orders)]))
            )


def wait_settled(results: Results, tracker_url: str, run_id: str, quiet_s: float = 10.0) -> None:
    """Wait until the tracker store holds every message sent, or stops growing for ``quiet_s``."""
    import sqlalchemy as sa

    sent = sum(len(c.sent) for c in results.conversations)
    engine = sa.create_engine(tracker_url)
    last, changed = -1, time.monotonic()
    try:
        while True:
            with engine.connect() as connection:
                stored = connection.execute(
                    sa.text(
                        "SELECT COUNT(*) FROM events WHERE type_name = 'user' "
                        "AND sender_id LIKE :prefix"
                    ),
                    {"prefix": f"load-{run_id}-%"},
                ).scalar_one()
            if stored >= sent or time.monotonic() - changed > quiet_s:
                return
            if stored != last:
                last, changed = stored, time.monotonic()
            time.sleep(1)
    finally:
        engine.dispose()


async def drive(
    rasa_url: str,
    orders: Sequence[Tuple[int, str]],
    shoppers: int,
    duration_s: float,
    think_s: float,
    reply_timeout_s: float,
    rest_only: bool = False,
) -> Tuple[Results, float, str]:
    """Run ``shoppers`` concurrent shoppers for ``duration_s``; results, wall time, run id."""
    import aiohttp

    run_id = uuid.uuid4().hex[:8]
    results = Results()
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        started = time.monotonic()
        deadline = started + duration_s
        await asyncio.gather(
            *(
                Shopper(
                    n, run_id, rasa_url, orders, results, think_s, reply_timeout_s, rest_only
                ).run(deadline, http)
                for n in range(shoppers)
            )
        )
        wall = time.monotonic() - started
    return results, wall, run_id


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the table; exit 1 when the integrity check fails."""
    from benchmarks import load_compare

    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--profiles", nargs="+", default=["embedded", "scale"])
    parser.add_argument("--shoppers", nargs="+", type=int, default=[50, 200])
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per run")
    parser.add_argument("--think", type=float, default=1.0, help="mean pause between messages")
    parser.add_argument("--reply-timeout", type=float, default=EXPECTED_REPLY_TIMEOUT_S)
    parser.add_argument("--rasa-workers", type=int, default=2, help="scale profile")
    parser.add_argument("--action-workers", type=int, default=2, help="scale profile")
    load_compare.add_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.compare:
        return load_compare.compare(args)
    rows: List[str] = []
    failed = False
    for profile in args.profiles:
        tag = uuid.uuid4().hex[:6]
        extra: Dict[str, str] = {}
        if profile == "scale":
            extra = {
                "SHOP_DATABASE_URL": f"postgresql://postgres@localhost:5432/bench_load_{tag}",
                "SHOP_TRACKER_DATABASE_URL": (
                    f"postgresql://postgres@localhost:5432/bench_load_{tag}_tracker"
                ),
                "SHOP_REDIS_URL": "redis://localhost:6379/12",
                "SHOP_REDIS_PREFIX": f"benchload{tag}",
                "SHOP_EVENTS_QUEUE": f"bench-load-{tag}",
                "SHOP_EVENTS_EXCHANGE": f"bench-load-{tag}",
                "SHOP_RASA_WORKERS": str(args.rasa_workers),
                "SHOP_ACTION_WORKERS": str(args.action_workers),
            }
        with tempfile.TemporaryDirectory(prefix=f"bench-load-{profile}-") as tmp:
            print(f"starting the {profile} profile ...", flush=True)
            system = start_system(profile, Path(tmp), extra)
            try:
                asyncio.run(warm_up(system))
                for shoppers in args.shoppers:
                    results, wall, run_id = asyncio.run(
                        drive(
                            system.rasa_url,
                            signed_orders(system),
                            shoppers,
                            args.duration,
                            args.think,
                            args.reply_timeout,
                        )
                    )
                    wait_settled(results, system.tracker_url, run_id)
                    checked, problems = check_integrity(
                        results, system.tracker_url, system.shop_url, run_id
                    )
                    failed |= bool(problems)
                    for problem in problems[:10]:
                        print("  integrity:", problem)
                    lat = results.latencies
                    errors = ", ".join(f"{k} {v}" for k, v in sorted(results.errors.items()))
                    workers = (
                        f"{args.rasa_workers}+{args.action_workers}"
                        if profile == "scale"
                        else "1+1"
                    )
                    rows.append(
                        f"| {profile} | {workers} | {shoppers} | {len(lat) / wall:.1f} | "
                        f"{percentile(lat, 0.5) * 1000:.0f} | {percentile(lat, 0.95) * 1000:.0f} | "
                        f"{percentile(lat, 0.99) * 1000:.0f} | {len(lat)} | {errors or 0} | "
                        f"{'ok' if not problems else f'{len(problems)} problems'} ({checked}) |"
                    )
                    print(rows[-1], flush=True)
            finally:
                stop_system(system.process)
                if profile == "scale":
                    _drop_scale_resources(extra)
    print(
        f"\nLoad: {args.duration:.0f} s per run, think time {args.think} s, "
        f"{os.cpu_count()} CPUs (shared)\n"
        "| profile | Rasa+action workers | shoppers | msg/s | p50 ms | p95 ms | p99 ms | "
        "answered | errors | integrity (conversations) |\n"
        "|---|---|---|---|---|---|---|---|---|---|"
    )
    print("\n".join(rows))
    return 1 if failed else 0


def _drop_scale_resources(extra: Dict[str, str]) -> None:
    """Remove the run's queue, exchange, lock keys and databases (best effort)."""
    import sqlalchemy as sa

    try:
        asyncio.run(_delete_queue(extra["SHOP_EVENTS_QUEUE"], extra["SHOP_EVENTS_EXCHANGE"]))
    except Exception as error:  # cleanup only: report and go on
        logger.warning("could not delete the bench queue: %s", error)
    engine = sa.create_engine(
        "postgresql://postgres@localhost:5432/postgres", isolation_level="AUTOCOMMIT"
    )
    quote = engine.dialect.identifier_preparer.quote
    try:
        with engine.connect() as connection:
            for key in ("SHOP_DATABASE_URL", "SHOP_TRACKER_DATABASE_URL"):
                name = quote(extra[key].rsplit("/", 1)[1])
                connection.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    except Exception as error:
        logger.warning("could not drop the bench databases: %s", error)
    finally:
        engine.dispose()


async def _delete_queue(queue: str, exchange: str) -> None:
    """Delete a RabbitMQ queue and exchange of the default broker."""
    import aio_pika

    connection = await aio_pika.connect("amqp://guest:guest@localhost/")
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete(queue)
        await channel.exchange_delete(exchange)


def run(args: argparse.Namespace) -> None:
    """Entry point of ``python -m benchmarks load`` (``--quick``: 10 s, 50 shoppers)."""
    argv = ["--duration", "10", "--shoppers", "50"] if getattr(args, "quick", False) else []
    if main(argv):
        raise SystemExit("load benchmark: integrity check failed")


if __name__ == "__main__":
    sys.exit(main())
