"""Bad and hostile chat input through the real Rasa server, action server and shop database.

Each case gets a clear answer (or a clear HTTP error), nothing crashes, and the conversation
(and everyone else's) goes on afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict

import pytest
from sqlalchemy import func, select, text

from channels.message_guard import EMPTY, TOO_LONG
from channels.rate_limit import TOO_FAST
from knowledge.db import make_engine, make_session_factory
from knowledge.models import Customer, Message, Order
from tests.security.conftest import (
    MAX_MESSAGE_CHARS,
    RATE_LIMIT_BURST,
    RATE_LIMIT_PER_S,
    LiveSystem,
    replies_text,
)

pytestmark = pytest.mark.slow

HTML = '<script>alert("x")</script><img src=x onerror=alert(1)> & "quotes" \'single\''


def _sender(tag: str) -> str:
    return f"sec-{tag}-{uuid.uuid4().hex[:8]}"


def _counts(database_url: str) -> Dict[str, int]:
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            return {
                "orders": session.execute(select(func.count(Order.id))).scalar_one(),
                "customers": session.execute(select(func.count(Customer.id))).scalar_one(),
            }
    finally:
        engine.dispose()


def _an_order(database_url: str) -> Order:
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            order = session.execute(select(Order).order_by(Order.id).limit(1)).scalar_one()
            session.expunge(order)
            return order
    finally:
        engine.dispose()


def _answers_normally(live: LiveSystem, sender: str) -> None:
    """After whatever came before, the same conversation still gets a real answer."""
    status, replies = live.say(sender, "hello")
    assert status == 200 and replies_text(replies).strip(), replies


@pytest.mark.parametrize("message", ["", "   ", "\n\t  \u00a0"])
def test_empty_and_whitespace_messages_are_answered_clearly(live: LiveSystem, message: str) -> None:
    sender = _sender("empty")
    status, replies = live.say(sender, message)
    assert (status, replies) == (200, [{"recipient_id": sender, "text": EMPTY}])
    _answers_normally(live, sender)


def test_a_100_kb_message_is_refused_with_the_limit_and_the_chat_goes_on(live: LiveSystem) -> None:
    sender = _sender("huge")
    huge = "where is my order " + "x" * 100_000
    status, replies = live.say(sender, huge)
    assert status == 413
    assert replies_text(replies) == TOO_LONG.format(length=len(huge), limit=MAX_MESSAGE_CHARS)
    _answers_normally(live, sender)


@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xfe\xfa\x00\x01binary",
        b'{"sender": "bin", "message": "caf\xe9"}',  # Latin-1, not UTF-8
        b"{not json",
        b"[1, 2, 3]",
        b'{"sender": ["x"], "message": "hi"}',
        b'{"sender": "s", "message": {"text": "hi"}}',
        b'{"sender": "s", "message": "hi", "metadata": "customer_id=1"}',
        b"",
    ],
)
def test_invalid_utf8_binary_and_malformed_bodies_get_400(live: LiveSystem, body: bytes) -> None:
    status, _, raw = live.post("/webhooks/rest/webhook", body)
    assert status == 400, raw
    assert json.loads(raw)["error"]
    _answers_normally(live, _sender("after-bad-body"))


@pytest.mark.parametrize(
    "message",
    [
        "where is my order 🙂📦🚚? 👋🏽 thanks 🙏",
        "أين طلبي؟ لم يصل بعد",  # Arabic, right to left
        "איפה ההזמנה שלי",  # Hebrew, right to left
        "mixed \u202eevil\u202c override and zero\u200bwidth",
    ],
)
def test_emoji_and_right_to_left_text_is_understood_and_stored_exactly(
    live: LiveSystem, message: str
) -> None:
    sender = _sender("unicode")
    status, replies = live.say(sender, message)
    assert status == 200 and replies_text(replies).strip(), replies
    stored = [e["text"] for e in live.tracker(sender)["events"] if e["event"] == "user"]
    assert stored == [message]


def test_html_and_script_text_is_stored_as_plain_text(live: LiveSystem) -> None:
    sender = _sender("html")
    status, replies = live.say(sender, HTML)
    assert status == 200 and replies_text(replies).strip()
    assert "<script>" not in replies_text(replies)  # never echoed back as markup
    stored = [e["text"] for e in live.tracker(sender)["events"] if e["event"] == "user"]
    assert stored == [HTML]


@pytest.mark.parametrize(
    "order_ref",
    [
        "1001' OR '1'='1",
        "1001; DROP TABLE orders;--",
        "1 UNION SELECT email, password_hash FROM customers--",
        "%' OR 1=1 --",
    ],
)
def test_sql_injection_in_order_ids_is_just_a_bad_order_number(
    live: LiveSystem, order_ref: str
) -> None:
    before = _counts(live.database_url)
    mine = _an_order(live.database_url)
    sender = _sender("sqli")
    claim = {"customer_id": live.sign(mine.customer_id)}
    status, replies = live.say(sender, f"where is my order {order_ref}", claim)
    assert status == 200 and replies_text(replies).strip(), replies
    status, replies = live.say(sender, order_ref, claim)  # as the answer to "which order?"
    answer = replies_text(replies)
    assert status == 200 and answer.strip(), replies
    assert "went wrong" not in answer, answer
    assert _counts(live.database_url) == before
    _answers_normally(live, sender)


def test_sql_injection_in_the_guest_email_is_just_an_unknown_email(live: LiveSystem) -> None:
    before = _counts(live.database_url)
    order = _an_order(live.database_url)
    sender = _sender("sqli-email")
    live.say(sender, f"where is my order {order.id}?")
    status, replies = live.say(sender, "x' OR '1'='1'--@example.com")
    answer = replies_text(replies)
    assert status == 200 and answer.strip()
    assert order.tracking_number is None or order.tracking_number not in answer
    assert "went wrong" not in answer, answer
    assert _counts(live.database_url) == before
    engine = make_engine(live.database_url)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA integrity_check")).scalar_one() == "ok"
    finally:
        engine.dispose()


def test_a_flood_from_one_sender_is_limited_and_others_are_not(live: LiveSystem) -> None:
    flooder, bystander = _sender("flood"), _sender("bystander")
    flood = 3 * RATE_LIMIT_BURST
    with ThreadPoolExecutor(max_workers=flood) as pool:  # all at once, as a script would
        results = list(pool.map(lambda i: live.say(flooder, f"hello {i}"), range(flood)))
    statuses = [status for status, _ in results]
    limited = [replies for status, replies in results if status == 429]
    # The burst gets through (a token may refill meanwhile), everything beyond is refused.
    assert RATE_LIMIT_BURST <= statuses.count(200) <= RATE_LIMIT_BURST + 2, statuses
    assert statuses.count(200) + len(limited) == flood, statuses
    assert all(replies_text(r) == TOO_FAST for r in limited)
    status, replies = live.say(bystander, "hello")
    assert status == 200 and replies_text(replies).strip() and replies_text(replies) != TOO_FAST
    # Refused messages never reached the bot.
    users = [e for e in live.tracker(flooder)["events"] if e["event"] == "user"]
    assert len(users) == flood - len(limited)


def test_rate_limited_rest_reply_says_when_to_retry(live: LiveSystem) -> None:
    sender = _sender("retry")
    body = json.dumps({"sender": sender, "message": " "}).encode()  # refused fast, still counted
    replies = [live.post("/webhooks/rest/webhook", body) for _ in range(RATE_LIMIT_BURST + 1)]
    assert [status for status, _, _ in replies] == [200] * RATE_LIMIT_BURST + [429]
    _, headers, raw = replies[-1]
    assert 1 <= int(headers["Retry-After"]) <= int(1 / RATE_LIMIT_PER_S) + 1
    assert replies_text(json.loads(raw)) == TOO_FAST


class SocketShopper:
    """A python-socketio client on Rasa's socket.io channel, as the widget connects."""

    def __init__(self, url: str) -> None:
        import socketio

        self.url = url
        self.session_id = uuid.uuid4().hex
        self.sio = socketio.AsyncClient()
        self.received: asyncio.Queue[Dict[str, Any]] = asyncio.Queue()
        self.sio.on("bot_uttered", self._on_bot)

    async def _on_bot(self, data: Dict[str, Any]) -> None:
        await self.received.put(data)

    async def __aenter__(self) -> SocketShopper:
        await self.sio.connect(self.url, transports=["polling"], socketio_path="/socket.io")
        await self.sio.emit("session_request", {"session_id": self.session_id})
        await asyncio.sleep(0.3)
        return self

    async def __aexit__(self, *exc: Any) -> None:
        # A plain disconnect waits out the pending long-poll (~25 s): close without waiting.
        tasks = [self.sio.eio.read_loop_task, self.sio.eio.write_loop_task]
        await self.sio.eio.disconnect(abort=True)
        for task in tasks:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def say(self, message: Any, **extra: Any) -> None:
        await self.sio.emit(
            "user_uttered", {"message": message, "session_id": self.session_id, **extra}
        )

    async def next_text(self, timeout: float = 60) -> str:
        return str((await asyncio.wait_for(self.received.get(), timeout)).get("text") or "")


async def test_socketio_gets_the_same_clear_answers(live: LiveSystem) -> None:
    log_start = len(live.log("rasa"))
    async with SocketShopper(live.rasa_url) as shopper:
        await shopper.say("   ")
        assert await shopper.next_text() == EMPTY
        await shopper.say("y" * 100_000)
        assert (await shopper.next_text()).startswith("Sorry, that message is too long")
        # Payloads Rasa's own handler would crash on are dropped, the socket stays usable.
        await shopper.say({"text": "not a string"})
        await shopper.say(["x"])
        await shopper.sio.emit("user_uttered", ["not", "a", "dict"])
        await shopper.sio.emit("user_uttered", {"message": "x", "session_id": {"a": 1}})
        await shopper.sio.emit("session_request", "not a dict")
        await shopper.say("hello", customData="{broken json")
        assert (await shopper.next_text()).strip()
        assert "Traceback" not in live.log("rasa")[log_start:]


async def test_socketio_flood_is_told_to_slow_down(live: LiveSystem) -> None:
    async with SocketShopper(live.rasa_url) as flooder, SocketShopper(live.rasa_url) as other:
        for i in range(RATE_LIMIT_BURST + 3):
            await flooder.say(f"hello {i}")
        texts = []
        while TOO_FAST not in texts:  # refusals are answered at once, ahead of the bot's replies
            texts.append(await flooder.next_text(timeout=30))
        await other.say("hello")
        assert await other.next_text() != TOO_FAST


def test_messages_table_holds_hostile_text_verbatim(live: LiveSystem) -> None:
    sender = _sender("stored")
    live.say(sender, HTML)
    engine = make_engine(live.database_url)
    try:
        for _ in range(50):
            with make_session_factory(engine)() as session:
                texts = session.execute(select(Message.text)).scalars().all()
            if HTML in texts:
                return
            time.sleep(0.2)
    finally:
        engine.dispose()
    pytest.fail("the hostile message never reached the knowledge graph")
