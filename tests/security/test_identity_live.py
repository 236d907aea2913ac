"""Forged identity and the Rasa HTTP API token, through the real running system.

A shopper who claims to be another customer (a bare number, an altered or expired token, a
token from another key) is treated as a guest, told so, and never sees that customer's orders;
the shop page's own signed claim works. The Rasa HTTP API answers 401 without the token.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from typing import Any, Dict

import pytest
from sqlalchemy import select

from actions.identity import SIGN_IN_NOT_VERIFIED
from knowledge.db import make_engine, make_session_factory
from knowledge.models import Order, OrderStatus
from knowledge.settings import Settings
from knowledge.shop.identity_token import sign_customer_id
from tests.security.conftest import LiveSystem, replies_text

pytestmark = pytest.mark.slow


def _victims_order(database_url: str) -> Order:
    """A shipped order with a tracking number (what an attacker would want to read)."""
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            order = (
                session.execute(
                    select(Order)
                    .where(Order.status == OrderStatus.SHIPPED, Order.tracking_number.is_not(None))
                    .order_by(Order.id)
                )
                .scalars()
                .first()
            )
            assert order is not None
            session.expunge(order)
            return order
    finally:
        engine.dispose()


def _forged_claims(live: LiveSystem, victim: int) -> Dict[str, Any]:
    genuine_other = live.sign(victim + 1)
    _, expires, signature = genuine_other.split(".")
    return {
        "bare number": victim,
        "number as text": str(victim),
        "id swapped in a real token": f"{victim}.{expires}.{signature}",
        "expired token": live.sign(victim, ttl_s=-60),
        "another key": sign_customer_id(
            victim, Settings(data_dir=live.root, identity_secret="attacker-key")
        ),
        "junk": "<script>alert(1)</script>",
    }


@pytest.mark.parametrize(
    "kind",
    [
        "bare number",
        "number as text",
        "id swapped in a real token",
        "expired token",
        "another key",
        "junk",
    ],
)
def test_a_forged_customer_id_never_reads_another_customers_order(
    live: LiveSystem, kind: str
) -> None:
    order = _victims_order(live.database_url)
    claim = _forged_claims(live, order.customer_id)[kind]
    sender = f"sec-forged-{uuid.uuid4().hex[:8]}"
    status, replies = live.say(sender, f"where is my order {order.id}?", {"customer_id": claim})
    answer = replies_text(replies)
    assert status == 200
    # Once in the reply: session start tells it, the answering action does not repeat it.
    assert answer.count(SIGN_IN_NOT_VERIFIED) == 1, answer
    assert order.tracking_number not in answer and order.carrier not in answer, answer
    assert "shipped" not in answer.lower(), answer
    # As a guest the bot asks for the order's e-mail instead; guessing one reveals nothing.
    status, replies = live.say(sender, "attacker@example.com", {"customer_id": claim})
    assert order.tracking_number not in replies_text(replies)
    # Told once per session, not on every message.
    assert replies_text(replies).count(SIGN_IN_NOT_VERIFIED) == 0


def test_the_shop_pages_signed_claim_reads_the_customers_own_order(live: LiveSystem) -> None:
    order = _victims_order(live.database_url)
    sender = f"sec-genuine-{uuid.uuid4().hex[:8]}"
    claim = {"customer_id": live.sign(order.customer_id)}
    status, replies = live.say(sender, f"where is my order {order.id}?", claim)
    answer = replies_text(replies)
    assert status == 200 and SIGN_IN_NOT_VERIFIED not in answer
    assert order.tracking_number in answer, answer


def test_a_forged_claim_mid_conversation_drops_the_sign_in(live: LiveSystem) -> None:
    order = _victims_order(live.database_url)
    sender = f"sec-midway-{uuid.uuid4().hex[:8]}"
    mine = {"customer_id": live.sign(order.customer_id + 1)}
    live.say(sender, "hello", mine)
    _, replies = live.say(
        sender, f"where is my order {order.id}?", {"customer_id": order.customer_id}
    )
    answer = replies_text(replies)
    assert SIGN_IN_NOT_VERIFIED in answer and order.tracking_number not in answer, answer


def _get(url: str, body: bytes | None = None) -> int:
    request = urllib.request.Request(url, data=body, method="POST" if body else "GET")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.parametrize(
    "path, body",
    [
        ("/status", None),
        ("/version", None),
        ("/model/parse", json.dumps({"text": "hello"}).encode()),
        ("/conversations/sec-api/tracker", None),
        ("/conversations/sec-api/tracker/events", json.dumps({"event": "pause"}).encode()),
        ("/conversations/sec-api/messages", json.dumps({"text": "x", "sender": "user"}).encode()),
    ],
)
def test_rasa_http_api_needs_the_token(live: LiveSystem, path: str, body: bytes | None) -> None:
    if path == "/version":
        # Rasa leaves /version open by design; it tells nothing about conversations.
        assert _get(live.rasa_url + path) == 200
        return
    assert _get(live.rasa_url + path, body) == 401
    assert _get(f"{live.rasa_url}{path}?token=wrong-{live.token}", body) == 401
    assert _get(f"{live.rasa_url}{path}?token={live.token}", body) == 200


def test_the_channels_stay_open_without_the_token(live: LiveSystem) -> None:
    status, replies = live.say(f"sec-open-{uuid.uuid4().hex[:8]}", "hello")
    assert status == 200 and replies_text(replies).strip()
