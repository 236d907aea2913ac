"""Shopper journeys: multi-turn conversations over the REST channel, checked against the shop.

The journeys are data (``tests/bot/journeys.yml``): who the shopper is (signed in or a guest),
which seeded order the journey is about (chosen from the database by its state, never
hard-coded), what the shopper types or clicks, what each reply must (not) contain, and what the
database must show afterwards (order cancelled, return created, address changed, escalation
recorded). :func:`run_journey` plays one against running servers; :func:`serve_bot` starts the
real action server and Rasa server on a temp seeded shop. ``tests/bot/test_journeys.py`` (one
server set for all journeys) and ``python -m benchmarks journeys`` (completion rate) share both.
"""

from __future__ import annotations

import contextlib
import json
import logging
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Sequence, Set

import yaml
from sqlalchemy import select

from knowledge.db import make_engine, make_session_factory
from knowledge.language import detect_language
from knowledge.models import (
    Conversation,
    Escalation,
    Order,
    OrderStatus,
    PaymentStatus,
    Refund,
    RefundStatus,
    ReturnRequest,
)
from knowledge.settings import Settings
from knowledge.shop.identity_token import sign_customer_id
from tests.servers import ROOT, is_up, service_env, set_up_shop, stop_process

logger = logging.getLogger(__name__)

JOURNEYS_FILE = Path(__file__).with_name("journeys.yml")
STARTUP_S = 420
REQUEST_TIMEOUT_S = 120
# How long the database checks wait for writes that follow the reply.
OUTCOME_WAIT_S = 5


@dataclass(frozen=True)
class Bot:
    """Running servers: the Rasa server's URL, the shop database and the data dir."""

    url: str
    database_url: str
    data_dir: Path


@dataclass
class JourneyResult:
    """The outcome of one journey: failures (empty when it passed) and the transcript."""

    id: str
    failures: List[str] = field(default_factory=list)
    transcript: List[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """True when every check held."""
        return not self.failures

    def report(self) -> str:
        """Failures and transcript as text for an assertion message."""
        return "\n".join([*self.failures, "--- transcript ---", *self.transcript])


def load_journeys(path: Path = JOURNEYS_FILE) -> List[Dict[str, Any]]:
    """The journey definitions, each with a unique ``id``."""
    journeys = yaml.safe_load(path.read_text(encoding="utf-8"))["journeys"]
    ids = [j["id"] for j in journeys]
    if len(ids) != len(set(ids)):
        raise ValueError(f"duplicate journey ids in {path}")
    return journeys


# --- servers ---


@contextlib.contextmanager
def serve_bot(data_dir: Path, model: Path) -> Iterator[Bot]:
    """Seed a shop in ``data_dir``, start the action and Rasa servers with ``model``, stop both."""
    env = service_env(data_dir, host="localhost")
    rasa_port, action_port = env["SHOP_RASA_PORT"], env["SHOP_ACTION_PORT"]
    set_up_shop(env)
    commands = {
        "actions": [
            sys.executable,
            "-m",
            "rasa_sdk",
            "--actions",
            "actions",
            "--port",
            action_port,
        ],
        "rasa": [
            sys.executable,
            "-m",
            "rasa",
            "run",
            "--model",
            str(model),
            "--endpoints",
            "bot/endpoints.yml",
            "--credentials",
            "bot/credentials.yml",
            "--interface",
            "localhost",
            "--port",
            rasa_port,
        ],
    }
    health = {
        "actions": f"http://localhost:{action_port}/health",
        "rasa": f"http://localhost:{rasa_port}/",
    }
    with contextlib.ExitStack() as stack:
        logs = {n: stack.enter_context(open(data_dir / f"{n}.log", "wb")) for n in commands}
        processes: Dict[str, subprocess.Popen] = {}
        try:
            for name, command in commands.items():
                processes[name] = subprocess.Popen(
                    command,
                    cwd=ROOT,
                    env=env,
                    stdout=logs[name],
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            _wait_until_up(processes, health, data_dir)
            yield Bot(f"http://localhost:{rasa_port}", env["SHOP_DATABASE_URL"], data_dir)
        finally:
            for process in processes.values():
                stop_process(process)
            still_running = [name for name, p in processes.items() if p.poll() is None]
            if still_running:
                raise RuntimeError(f"servers still running after stop: {still_running}")


def _wait_until_up(
    processes: Mapping[str, subprocess.Popen], health: Mapping[str, str], data_dir: Path
) -> None:
    deadline = time.monotonic() + STARTUP_S
    pending = set(processes)
    while pending:
        for name in list(pending):
            if processes[name].poll() is not None:
                log = (data_dir / f"{name}.log").read_text(errors="replace")[-4000:]
                raise RuntimeError(f"{name} server exited:\n{log}")
            if is_up(health[name]):
                pending.discard(name)
        if time.monotonic() > deadline:
            raise RuntimeError(f"not up in {STARTUP_S}s: {sorted(pending)}")
        time.sleep(1)


def send(bot: Bot, sender: str, text: str, customer_id: int | None) -> List[Dict[str, Any]]:
    """POST ``text`` as ``sender`` (signed in as ``customer_id``); the bot's replies."""
    body: Dict[str, Any] = {"sender": sender, "message": text}
    if customer_id is not None:
        claim = sign_customer_id(customer_id, Settings(data_dir=bot.data_dir))
        body["metadata"] = {"customer_id": claim}
    request = urllib.request.Request(
        f"{bot.url}/webhooks/rest/webhook",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S) as response:
        return list(json.loads(response.read()))


# --- choosing the seeded orders a journey is about ---


def _matches(
    order: Order,
    refunds: Sequence[Refund],
    wanted: Mapping[str, Any],
    now: datetime,
    window_days: int,
) -> bool:
    """Whether ``order`` (with its ``refunds``) has every property ``wanted`` names."""
    if "status" in wanted and order.status is not OrderStatus(wanted["status"]):
        return False
    if "payment" in wanted and order.payment_status is not PaymentStatus(wanted["payment"]):
        return False
    if wanted.get("returnable"):
        if order.status is not OrderStatus.DELIVERED or order.returns:
            return False
        if order.delivered_at is None or now - order.delivered_at > timedelta(days=window_days - 2):
            return False
    if "refund" in wanted:
        statuses = {r.status for r in refunds}
        if RefundStatus(wanted["refund"]) not in statuses:
            return False
    return len(order.items) >= int(wanted.get("min_items", 1))


def choose_orders(
    database_url: str, journeys: Sequence[Mapping[str, Any]]
) -> Dict[str, Dict[str, Any]]:
    """Facts of a distinct seeded order (and another customer's order) for each journey."""
    engine = make_engine(database_url)
    used: Set[int] = set()
    chosen: Dict[str, Dict[str, Any]] = {}
    window = Settings().return_window_days
    now = datetime.utcnow()
    try:
        with make_session_factory(engine)() as session:
            orders = session.execute(select(Order).order_by(Order.id)).scalars().all()
            refunds: Dict[int, List[Refund]] = {}
            for refund in session.execute(select(Refund)).scalars():
                refunds.setdefault(refund.order_id, []).append(refund)
            for journey in journeys:
                wanted = journey.get("order") or {}
                order = next(
                    o
                    for o in orders
                    if o.id not in used and _matches(o, refunds.get(o.id, []), wanted, now, window)
                )
                used.add(order.id)
                other = next(
                    o for o in orders if o.customer_id != order.customer_id and o.tracking_number
                )
                chosen[journey["id"]] = _facts(order, refunds.get(order.id, []), other)
    finally:
        engine.dispose()
    return chosen


def _facts(order: Order, refunds: Sequence[Refund], other: Order) -> Dict[str, Any]:
    """The placeholders a journey's texts and checks may use."""
    return {
        "order": str(order.id),
        "customer_id": order.customer_id,
        "email": order.customer.email,
        "tracking": order.tracking_number or "",
        "carrier": order.carrier or "",
        "invoice": order.invoice_number or "",
        "item": order.items[0].product.name,
        "refund_amount": f"{refunds[-1].amount:.2f}" if refunds else "",
        "other": str(other.id),
        "other_tracking": other.tracking_number or "",
        "status": order.status.value,
    }


# --- playing a journey ---


def _fill(text: str, facts: Mapping[str, Any]) -> str:
    return str(text).format(**facts)


def _reply_text(replies: Sequence[Mapping[str, Any]]) -> str:
    return "\n".join(str(r.get("text") or "") for r in replies)


def _buttons(replies: Sequence[Mapping[str, Any]]) -> List[Mapping[str, Any]]:
    return [b for r in replies for b in (r.get("buttons") or [])]


def _check_step(
    step: Mapping[str, Any],
    replies: Sequence[Mapping[str, Any]],
    facts: Mapping[str, Any],
    language: str,
) -> List[str]:
    """The failed expectations of one step."""
    failures: List[str] = []
    text = _reply_text(replies)
    lowered = text.lower()
    if not text.strip() and not _buttons(replies):
        # Issue 17: no message, inside a form or not, may go unanswered.
        failures.append("no reply at all")
    for wanted in step.get("expect") or []:
        value = _fill(wanted, facts)
        if value.lower() not in lowered:
            failures.append(f"reply lacks {value!r}")
    any_of = [_fill(v, facts) for v in step.get("expect_any") or []]
    if any_of and not any(v.lower() in lowered for v in any_of):
        failures.append(f"reply has none of {any_of!r}")
    for unwanted in step.get("reject") or []:
        value = _fill(unwanted, facts)
        if value and value.lower() in lowered:
            failures.append(f"reply contains {value!r}")
    payloads = [str(b.get("payload") or "") for b in _buttons(replies)]
    for prefix in step.get("buttons") or []:
        value = _fill(prefix, facts)
        if not any(p.startswith(value) for p in payloads):
            failures.append(f"no button {value!r} among {payloads!r}")
    chinese = step.get("check_language", True) and text.strip() and language == "zh"
    if chinese and detect_language(text) != "zh":
        failures.append("reply is not in Chinese")
    return failures


def _message_of(step: Mapping[str, Any], last: Sequence[Mapping[str, Any]], facts: Mapping) -> str:
    """What the shopper sends: typed text, or the payload of a button of the last reply."""
    if "say" in step:
        return _fill(step["say"], facts)
    prefix = _fill(step["click"], facts)
    for button in _buttons(last):
        payload = str(button.get("payload") or "")
        if payload.startswith(prefix) or str(button.get("title") or "") == prefix:
            return payload
    raise LookupError(f"no button {prefix!r} to click among {_buttons(last)!r}")


def _check_outcome(
    bot: Bot, journey: Mapping[str, Any], facts: Mapping[str, Any], sender: str
) -> List[str]:
    """The failed database checks of a journey."""
    wanted = journey.get("outcome") or {}
    if not wanted:
        return []
    failures: List[str] = []
    engine = make_engine(bot.database_url)
    try:
        with make_session_factory(engine)() as session:
            order = session.get(Order, int(facts["order"]))
            assert order is not None
            if "order_status" in wanted and order.status.value != wanted["order_status"]:
                failures.append(f"order {order.id} is {order.status.value}")
            if "return_created" in wanted:
                returns = session.execute(
                    select(ReturnRequest).where(ReturnRequest.order_id == order.id)
                ).scalars()
                created = bool(list(returns))
                if created and not wanted["return_created"]:
                    failures.append(f"a return request was recorded for order {order.id}")
                elif not created and wanted["return_created"]:
                    failures.append(f"no return request for order {order.id}")
            if "shipping_street" in wanted and order.shipping_street != wanted["shipping_street"]:
                failures.append(f"order {order.id} ships to {order.shipping_street!r}")
            if wanted.get("escalation"):
                escalation = session.execute(
                    select(Escalation)
                    .join(Conversation, Escalation.conversation_id == Conversation.id)
                    .where(Conversation.sender_id == sender)
                ).first()
                if escalation is None:
                    failures.append(f"no escalation recorded for {sender}")
    finally:
        engine.dispose()
    return failures


def run_journey(
    bot: Bot, journey: Mapping[str, Any], facts: Mapping[str, Any], run_id: str = "j"
) -> JourneyResult:
    """Play ``journey`` against ``bot`` and check every reply and the database afterwards."""
    result = JourneyResult(journey["id"])
    sender = f"{run_id}-{journey['id']}"
    customer_id = facts["customer_id"] if journey.get("shopper") == "signed_in" else None
    language = journey.get("language", "en")
    last: List[Dict[str, Any]] = []
    for number, step in enumerate(journey["steps"], start=1):
        try:
            message = _message_of(step, last, facts)
        except LookupError as error:
            result.failures.append(f"step {number}: {error}")
            return result
        try:
            last = send(bot, sender, message, customer_id)
        except OSError as error:
            result.failures.append(f"step {number}: request failed: {error}")
            return result
        result.transcript.append(f"> {message}")
        result.transcript += [f"< {r.get('text')} {r.get('buttons') or ''}" for r in last]
        result.failures += [f"step {number}: {f}" for f in _check_step(step, last, facts, language)]
    if journey.get("outcome"):
        # Escalations and per-turn bookkeeping may be written just after the reply.
        deadline = time.monotonic() + OUTCOME_WAIT_S
        failures = _check_outcome(bot, journey, facts, sender)
        while failures and time.monotonic() < deadline:
            time.sleep(0.5)
            failures = _check_outcome(bot, journey, facts, sender)
        result.failures += failures
    return result


def run_all(bot: Bot, journeys: Sequence[Mapping[str, Any]], run_id: str) -> List[JourneyResult]:
    """Every journey once, in order, each on its own chosen order."""
    facts = choose_orders(bot.database_url, journeys)
    return [run_journey(bot, j, facts[j["id"]], run_id) for j in journeys]
