"""Agent assist in the console: summary, suggested replies, orders and quick actions, live push.

Real requests against the real app factory and a real seeded SQLite database (the fixtures of
tests/insight/test_console.py); the FAQ index is the real template set embedded by the
deterministic bag-of-words encoder of tests/knowledge/faq_fakes.py, and once (slow) by the real
bundled encoder.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from insight.analytics.events import normalise
from insight.analytics.fold import fold
from insight.web.app import create_app
from insight.web.console.assist import AnswerSource, sentiment_trend
from insight.web.console.assist_views import ANSWERS
from knowledge.faq.index import AnswerIndex, build_index
from knowledge.faq.templates import load_templates
from knowledge.graph.record import ACTED_ON, AGENT_NODE, DemandInput, TurnInput, record_turn
from knowledge.models import GraphEdge, Order, OrderStatus, ReturnRequest
from knowledge.settings import Settings
from knowledge.shop.status import status_sentence
from tests.insight import test_console as console_tests
from tests.insight.test_console import login, open_one, utcnow
from tests.knowledge.faq_fakes import FAKE_DIM, FakeEncoder

XSS = "<img src=x onerror=alert(1)>"

# The console tests' fixtures: recording Rasa stand-in, agents alex/sam (kim supervises), settings.
rasa = console_tests.rasa
agents_in_db = console_tests.agents_in_db
settings = console_tests.settings


def fake_answers() -> AnswerIndex:
    """The real answer templates, embedded by the fake bag-of-words encoder."""
    templates = load_templates()
    embed = FakeEncoder()
    return AnswerIndex(build_index(templates, embed, dimension=FAKE_DIM), templates, embed)


async def assist_client(aiohttp_client: Any, settings: Settings, answers: Any = None) -> Any:
    app = create_app(settings)
    app[ANSWERS] = AnswerSource.of(answers or fake_answers())
    return await aiohttp_client(app)


def order_of(session_factory: Any, status: OrderStatus) -> tuple[int, int]:
    """``(order id, customer id)`` of a seeded order in ``status``."""
    with session_factory() as session:
        order = (
            session.execute(select(Order).where(Order.status == status).order_by(Order.id))
            .scalars()
            .first()
        )
        assert order is not None
        return order.id, order.customer_id


def talk(session_factory: Any, sender: str, customer_id: int | None, turns: list[dict]) -> None:
    """Record the shopper's turns in the knowledge graph (as the action server does)."""
    with session_factory() as session, session.begin():
        for n, turn in enumerate(turns, start=1):
            record_turn(
                session,
                TurnInput(
                    sender_id=sender, customer_id=customer_id, rasa_timestamp=1000 + n, **turn
                ),
            )


def bot_events(sender: str) -> list:
    """Rasa events of the bot's side: an FAQ answer, a fallback, a form, two bot messages."""
    events = [
        {"event": "action", "name": "action_answer_question"},
        {"event": "bot", "text": "You can return items within 30 days."},
        {"event": "action", "name": "action_handle_fallback"},
        {"event": "bot", "text": "Sorry, I didn't get that."},
        {"event": "active_loop", "name": "track_order_form"},
    ]
    return [
        normalise({"sender_id": sender, "timestamp": 2000.0 + i, **e}) for i, e in enumerate(events)
    ]


def test_sentiment_trend_reads_first_against_last_turns() -> None:
    assert sentiment_trend([0.5, 0.4, -0.6, -0.8]) == "getting worse"
    assert sentiment_trend([-0.9, -0.7, 0.1, 0.3]) == "improving"
    assert sentiment_trend([-0.2, -0.1, -0.2]) == "steady"
    assert sentiment_trend([-0.9]) == "steady"


def test_status_sentence_is_the_bots_track_order_response(session_factory: Any) -> None:
    order_id, _ = order_of(session_factory, OrderStatus.SHIPPED)
    with session_factory() as session:
        order = session.get(Order, order_id)
        english = status_sentence(order, "en")
        chinese = status_sentence(order, "zh")
        assert english.startswith(f"Order {order_id} has shipped with {order.carrier} on ")
        assert f"Tracking number: {order.tracking_number}" in english
        assert chinese.startswith(f"亲，您的订单 {order_id} 已于")
        assert "{" not in english + chinese


async def test_anonymous_users_get_401(aiohttp_client: Any, settings: Settings, session_factory):
    escalation_id = open_one(session_factory)
    client = await assist_client(aiohttp_client, settings)
    base = f"/console/api/escalations/{escalation_id}"
    assert (await client.get(f"{base}/assist")).status == 401
    assert (await client.post(f"{base}/orders/1/cancel")).status == 401
    assert (await client.post(f"{base}/orders/1/return", json={})).status == 401


async def test_summary_and_suggestions_for_an_order_question(
    aiohttp_client: Any, settings: Settings, session_factory: Any
) -> None:
    order_id, customer_id = order_of(session_factory, OrderStatus.SHIPPED)
    talk(
        session_factory,
        "assist-shopper",
        customer_id,
        [
            {
                "text": "hi, how long do I have to return shoes?",
                "intent": "check_refund_policy",
                "sentiment_label": "neutral",
                "sentiment_score": 0.1,
            },
            {
                "text": f"my order {order_id} is late, this is annoying {XSS}",
                "intent": "complaint",
                "sentiment_label": "negative",
                "sentiment_score": -0.6,
                "order_refs": [str(order_id)],
                "demands": [DemandInput("delivery", 0.9)],
            },
            {
                "text": f"where is my order {order_id}",
                "intent": "track_order",
                "sentiment_label": "negative",
                "sentiment_score": -0.8,
                "order_refs": [str(order_id)],
            },
        ],
    )
    fold(session_factory, bot_events("assist-shopper"), "test")
    escalation_id = open_one(session_factory, "assist-shopper", customer_id=customer_id)
    client = await assist_client(aiohttp_client, settings)
    await login(client, "alex")
    response = await client.get(f"/console/api/escalations/{escalation_id}/assist")
    assert response.status == 200
    data = await response.json()
    summary = data["summary"]
    assert summary["wants"].startswith("Wants: ")
    assert "track order" in summary["wants"] and "complaint" in summary["wants"]
    assert "demands: delivery" in summary["wants"] and f"orders: #{order_id}" in summary["wants"]
    assert summary["feels"] == "Feels: negative now, getting worse (2 of 3 messages negative)"
    assert summary["tried"] == (
        "Bot tried: 1 FAQ answer(s), 1 fallback(s), flows: track order (2 bot messages)"
    )
    first, *faq = data["suggestions"]
    with session_factory() as session:
        expected = status_sentence(session.get(Order, order_id), "en")
    assert first == {
        "kind": "order_status",
        "text": expected,
        "title": f"Order #{order_id}: shipped",
        "score": None,
        "template_id": None,
        "order_id": order_id,
    }
    assert len(faq) == 3 and all(s["kind"] == "faq" and "{" not in s["text"] for s in faq)
    assert data["latest"] == f"where is my order {order_id}"
    assert data["language"] == "en" and data["guest"] is False
    listed = {o["id"]: o for o in data["orders"]}
    assert listed[order_id]["can_cancel"] is False  # shipped: too late to cancel
    assert data["took_ms"] < 300


async def test_faq_suggestions_are_filled_in_the_shoppers_language(
    aiohttp_client: Any, settings: Settings, session_factory: Any
) -> None:
    talk(
        session_factory,
        "zh-assist",
        None,
        [{"text": "退货期限是多少天？", "intent": "check_refund_policy"}],
    )
    talk(
        session_factory,
        "en-assist",
        None,
        [{"text": "how many days do I have to return an item", "intent": "check_refund_policy"}],
    )
    zh_id = open_one(session_factory, "zh-assist", customer_id=None)
    en_id = open_one(session_factory, "en-assist", customer_id=None)
    client = await assist_client(aiohttp_client, settings)
    await login(client, "alex")
    zh = await (await client.get(f"/console/api/escalations/{zh_id}/assist")).json()
    en = await (await client.get(f"/console/api/escalations/{en_id}/assist")).json()
    assert zh["language"] == "zh" and zh["guest"] is True and zh["orders"] == []
    # Guests get no order status (their orders are unknown), only FAQ answers.
    assert [s["kind"] for s in zh["suggestions"]] == ["faq"] * 3
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in s["text"]) for s in zh["suggestions"])
    window = str(settings.return_window_days)
    assert any(window in s["text"] for s in zh["suggestions"])
    assert any(f"{window} days" in s["text"] for s in en["suggestions"])
    assert not any("{" in s["text"] for s in zh["suggestions"] + en["suggestions"])


async def test_supervisors_see_assist_too(
    aiohttp_client: Any, settings: Settings, session_factory: Any
) -> None:
    escalation_id = open_one(session_factory)
    client = await assist_client(aiohttp_client, settings)
    await login(client, "kim")
    response = await client.get(f"/console/api/escalations/{escalation_id}/assist")
    assert response.status == 200
    assert (await response.json())["summary"]["feels"] == "Feels: no sentiment read yet"
    assert (await client.get("/console/api/escalations/999999/assist")).status == 404


async def test_quick_actions_run_through_the_shop_layer_and_record_the_agent(
    aiohttp_client: Any, settings: Settings, session_factory: Any
) -> None:
    processing, customer_id = order_of(session_factory, OrderStatus.PROCESSING)
    with session_factory() as session, session.begin():
        delivered = (
            session.execute(
                select(Order).where(
                    Order.customer_id != customer_id, Order.status == OrderStatus.DELIVERED
                )
            )
            .scalars()
            .first()
        )
        # Delivered two days ago, to the same shopper: inside the return window.
        delivered.customer_id = customer_id
        delivered.delivered_at = utcnow() - timedelta(days=2)
        delivered_id, item_name = delivered.id, delivered.items[0].product.name
        foreign = (
            session.execute(select(Order.id).where(Order.customer_id != customer_id))
            .scalars()
            .first()
        )
    escalation_id = open_one(session_factory, "quick-shopper", customer_id=customer_id)
    alex = await assist_client(aiohttp_client, settings)
    alex_csrf = await login(alex, "alex")
    sam = await assist_client(aiohttp_client, settings)
    sam_csrf = await login(sam, "sam")
    base = f"/console/api/escalations/{escalation_id}"

    listed = {o["id"]: o for o in (await (await alex.get(f"{base}/assist")).json())["orders"]}
    assert listed[processing]["can_cancel"] is True
    assert listed[delivered_id]["can_return"] is True and item_name in listed[delivered_id]["items"]

    cancel = f"{base}/orders/{processing}/cancel"
    unclaimed = await alex.post(cancel, headers={"X-CSRF-Token": alex_csrf})
    assert unclaimed.status == 409 and "Claim the conversation first" in await unclaimed.text()
    await alex.post(f"{base}/claim", headers={"X-CSRF-Token": alex_csrf})
    assert (await alex.post(cancel)).status == 403  # no CSRF token
    assert (await alex.post(cancel, headers={"X-CSRF-Token": sam_csrf})).status == 403
    assert (await sam.post(cancel, headers={"X-CSRF-Token": sam_csrf})).status == 409  # not his

    done = await alex.post(cancel, headers={"X-CSRF-Token": alex_csrf})
    assert done.status == 200, await done.text()
    assert (await done.json())["message"].startswith(f"Order #{processing} is cancelled")
    again = await alex.post(cancel, headers={"X-CSRF-Token": alex_csrf})
    assert again.status == 409
    assert (await again.json())["error"] == (
        f"Order #{processing} is cancelled: only orders still in processing can be cancelled."
    )
    other = await alex.post(f"{base}/orders/{foreign}/cancel", headers={"X-CSRF-Token": alex_csrf})
    assert other.status == 404
    assert (await other.json())["error"] == "That order is not one of this shopper's orders."

    returned = await alex.post(
        f"{base}/orders/{delivered_id}/return",
        json={"product": item_name},
        headers={"X-CSRF-Token": alex_csrf},
    )
    assert returned.status == 200, await returned.text()
    no_item = await alex.post(
        f"{base}/orders/{delivered_id}/return",
        json={"product": "no such thing"},
        headers={"X-CSRF-Token": alex_csrf},
    )
    assert no_item.status == 400
    with session_factory() as session:
        assert session.get(Order, processing).status is OrderStatus.CANCELLED
        opened = (
            session.execute(select(ReturnRequest).where(ReturnRequest.order_id == delivered_id))
            .scalars()
            .all()
        )
        assert [r.reason for r in opened] == ["opened by agent Alex"]
        edges = (
            session.execute(select(GraphEdge).where(GraphEdge.source_type == AGENT_NODE))
            .scalars()
            .all()
        )
        assert [(e.relation, e.target_key, e.properties["action"]) for e in edges] == [
            (ACTED_ON, str(processing), "cancel_order"),
            (ACTED_ON, str(delivered_id), "open_return"),
        ]
        assert {e.properties["agent"] for e in edges} == {"alex"}
        assert all(e.properties["escalation_id"] == escalation_id for e in edges)


async def test_assist_is_pushed_live_to_the_claimant_as_the_shopper_writes(
    aiohttp_client: Any, settings: Settings, session_factory: Any
) -> None:
    escalation_id = open_one(session_factory, "live-shopper", customer_id=None)
    client = await assist_client(aiohttp_client, settings)
    csrf = await login(client, "alex")
    await client.post(
        f"/console/api/escalations/{escalation_id}/claim", headers={"X-CSRF-Token": csrf}
    )
    ws = await client.ws_connect("/console/ws")
    text = f"do you take paypal? {XSS}"
    talk(session_factory, "live-shopper", None, [{"text": text, "intent": "check_payment_methods"}])
    deadline = asyncio.get_running_loop().time() + 5
    pushed: dict = {}
    while asyncio.get_running_loop().time() < deadline:
        message = json.loads((await ws.receive(timeout=5)).data)
        if message["type"] == "assist" and message["latest"] == text:
            pushed = message
            break
    await ws.close()
    assert pushed["escalation_id"] == escalation_id
    assert pushed["latest"] == text  # raw text in JSON; the page inserts it with textContent
    assert len(pushed["suggestions"]) == 3


async def test_the_page_loads_assist_and_never_parses_html(
    aiohttp_client: Any, settings: Settings
) -> None:
    client = await assist_client(aiohttp_client, settings)
    await login(client, "alex")
    page = await (await client.get("/console")).text()
    assert '<script src="/console/static/assist.js"></script>' in page
    assert 'id="assist"' in page
    script = await (await client.get("/console/static/assist.js")).text()
    assert "innerHTML" not in script and "insertAdjacentHTML" not in script
    assert "textContent" in script


@pytest.mark.slow
async def test_real_index_suggests_the_return_policy(
    aiohttp_client: Any, settings: Settings, session_factory: Any, tmp_path: Any
) -> None:
    """With the real bundled encoder, the return-window question gets its template in the top 3."""
    real = AnswerSource.from_settings(
        settings.copy(update={"answer_multilingual": False, "answer_index_dir": tmp_path / "idx"})
    )
    answers = await asyncio.to_thread(real.get)
    talk(
        session_factory,
        "real-shopper",
        None,
        [
            {
                "text": "How many days do I have to send something back?",
                "intent": "check_refund_policy",
            }
        ],
    )
    escalation_id = open_one(session_factory, "real-shopper", customer_id=None)
    client = await assist_client(aiohttp_client, settings, answers)
    await login(client, "alex")
    data = await (await client.get(f"/console/api/escalations/{escalation_id}/assist")).json()
    refund = {t.id for t in answers.templates.values() if "check_refund_policy" in t.tags}
    assert {s["template_id"] for s in data["suggestions"]} & refund
    assert data["took_ms"] < 300
