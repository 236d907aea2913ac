"""End to end: the real action server and Rasa server answer order questions over REST.

A temp seeded shop database and tracker store, free ports, the latest model in models/; the
shopper is identified by the REST body's ``metadata.customer_id``, signed as the shop page does.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Dict, Iterator

import pytest
from sqlalchemy import select

from knowledge.db import make_engine, make_session_factory
from knowledge.language import detect_language
from knowledge.models import Order, OrderStatus
from knowledge.settings import Settings
from tests.bot.journeys import Bot as RunningBot
from tests.bot.journeys import send, serve_bot
from tests.bot.test_conversations import latest_model

logger = logging.getLogger(__name__)

pytestmark = pytest.mark.slow


class Bot:
    """The running servers (:func:`tests.bot.journeys.serve_bot`) and a one-message helper."""

    def __init__(self, running: RunningBot) -> None:
        self.database_url = running.database_url
        self._running = running

    def say(self, sender: str, text: str, customer_id: int | None = None) -> str:
        """POST ``text`` as ``sender`` (signed in as ``customer_id``); the bot's replies joined."""
        replies = send(self._running, sender, text, customer_id)
        return "\n".join(r.get("text", "") for r in replies)


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bot]:
    """Seed a temp shop, start the action server and Rasa server, stop both afterwards."""
    model = latest_model(Settings().models_dir)
    with serve_bot(tmp_path_factory.mktemp("e2e"), model) as running:
        yield Bot(running)


def _orders(database_url: str) -> Dict[str, Order]:
    """A shipped and a delivered order of one customer, and another customer's order."""
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            shipped = (
                session.execute(
                    select(Order).where(Order.status == OrderStatus.SHIPPED).order_by(Order.id)
                )
                .scalars()
                .first()
            )
            other = (
                session.execute(
                    select(Order).where(Order.customer_id != shipped.customer_id).order_by(Order.id)
                )
                .scalars()
                .first()
            )
            for order in (shipped, other):
                session.expunge(order)
            return {"shipped": shipped, "other": other}
    finally:
        engine.dispose()


def test_signed_in_shopper_hears_the_true_status_with_tracking(bot: Bot) -> None:
    order = _orders(bot.database_url)["shipped"]
    reply = bot.say("e2e-shipped", f"where is my order {order.id}?", order.customer_id)
    assert "shipped" in reply, reply
    assert order.tracking_number in reply and order.carrier in reply, reply
    assert f"{order.eta.day} {order.eta:%B %Y}" in reply, reply


def test_unknown_order_number_is_answered_helpfully(bot: Bot) -> None:
    order = _orders(bot.database_url)["shipped"]
    reply = bot.say("e2e-unknown", "where is my order 19999?", order.customer_id)
    assert "couldn't find" in reply and "19999" in reply, reply


def test_another_customers_order_is_not_revealed(bot: Bot) -> None:
    orders = _orders(bot.database_url)
    other = orders["other"]
    reply = bot.say("e2e-other", f"where is my order {other.id}?", orders["shipped"].customer_id)
    assert "isn't one of the orders on your account" in reply, reply
    assert other.status.value not in reply
    if other.tracking_number:
        assert other.tracking_number not in reply


def test_guest_is_asked_for_the_email_before_anything_is_shown(bot: Bot) -> None:
    order = _orders(bot.database_url)["shipped"]
    reply = bot.say("e2e-guest", f"where is my order {order.id}?")
    assert "email" in reply and order.tracking_number not in reply, reply


# --- Chinese shoppers (the bilingual bot on multilingual-e5-small) ---


def test_chinese_shopper_hears_the_true_status_in_chinese(bot: Bot) -> None:
    order = _orders(bot.database_url)["shipped"]
    reply = bot.say("e2e-zh-shipped", f"我的订单{order.id}到哪了？", order.customer_id)
    assert detect_language(reply) == "zh", reply
    assert "发出" in reply and str(order.id) in reply, reply
    assert order.tracking_number in reply and order.carrier in reply, reply
    assert f"{order.eta.year}年{order.eta.month}月{order.eta.day}日" in reply, reply


def test_chinese_returns_question_gets_the_returns_answer_in_chinese(bot: Bot) -> None:
    reply = bot.say("e2e-zh-returns", "怎么退货")
    assert detect_language(reply) == "zh", reply
    assert "退货" in reply and "天" in reply, reply


def test_language_is_kept_for_replies_without_words(bot: Bot) -> None:
    order = _orders(bot.database_url)["shipped"]
    first = bot.say("e2e-zh-form", "我想查一下订单", order.customer_id)
    assert detect_language(first) == "zh" and "订单" in first, first
    second = bot.say("e2e-zh-form", str(order.id), order.customer_id)
    assert detect_language(second) == "zh" and order.tracking_number in second, second


def test_angry_chinese_shopper_is_escalated_with_sentiment_shown(bot: Bot) -> None:
    from insight.web.console.profile import escalation_payload
    from knowledge.models import Conversation, Escalation

    order = _orders(bot.database_url)["shipped"]
    text = "你们这是什么垃圾服务！快递一个星期都没到，客服也不回，我要投诉，再也不在你们家买了！"
    reply = bot.say("e2e-zh-angry", text, order.customer_id)
    assert detect_language(reply) == "zh" and "客服" in reply, reply
    engine = make_engine(bot.database_url)
    try:
        with make_session_factory(engine)() as session:
            escalation = session.execute(
                select(Escalation)
                .join(Conversation, Escalation.conversation_id == Conversation.id)
                .where(Conversation.sender_id == "e2e-zh-angry")
            ).scalar_one()
            payload = escalation_payload(session, escalation.id, datetime.utcnow())
    finally:
        engine.dispose()
    assert payload["escalation"]["language"] == "zh"
    angry_turn = next(e for e in payload["transcript"] if e["text"] == text)
    assert angry_turn["sentiment"] == "negative", angry_turn
