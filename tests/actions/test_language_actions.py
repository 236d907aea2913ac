"""The actions speak the shopper's language: Chinese variables for a Chinese conversation.

Each action runs against the seeded SQLite shop (fixtures of tests/actions/conftest.py); its
messages are then rendered by Rasa's own response generator with the bot's real domain, the way
Rasa renders an action server's ``response=`` messages, so the tests read the shopper's sentence.
"""

# Chinese text uses full-width punctuation on purpose.

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict

import pytest
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet
from rasa.shared.core.trackers import DialogueStateTracker
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.cancel_order import ActionCancelOrder
from actions.change_order import ActionChangeOrder
from actions.escalation import ActionAssessHandoff
from actions.identity import (
    SIGN_IN_NOT_VERIFIED,
    SIGN_IN_NOT_VERIFIED_ZH,
    ActionSessionStart,
    explain_refused_claim,
)
from actions.invoices import ActionGetInvoice
from actions.localise import format_day
from actions.newsletter import wants_unsubscribe
from actions.order_items import validate_item_of_order
from actions.payments import ActionCheckPayment
from actions.refunds import ActionTrackRefund
from actions.returns import ActionRequestReturn
from actions.shipping_address import validate_address_text
from actions.track_order import ActionTrackOrder, status_message
from knowledge.language import detect_language
from knowledge.models import OrderStatus, PaymentStatus
from tests.actions.conftest import make_tracker, responses, run_action, signed, slot_events
from tests.actions.facts import find_order, item_names

DOMAIN_DIR = Path(__file__).resolve().parents[2] / "bot" / "domain"
ENGLISH_MONTHS = re.compile(
    r"January|February|March|April|May|June|July|August|September|October|November|December"
)
ENGLISH_WEEKDAYS = re.compile(r"Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday")
CHINESE_DAY = re.compile(r"^\d{4}年\d{1,2}月\d{1,2}日（星期[一二三四五六日]）$")


@pytest.fixture(scope="module")
def rasa_domain() -> Domain:
    """The bot's domain as Rasa loads it."""
    return Domain.load(str(DOMAIN_DIR))


async def render(rasa_domain: Domain, message: Dict[str, Any], language: str) -> str:
    """The text Rasa sends for an action's ``response=`` message in a ``language`` conversation."""
    tracker = DialogueStateTracker.from_events(
        "shopper", [SlotSet("language", language)], slots=rasa_domain.slots
    )
    kwargs = {k: v for k, v in message.items() if k != "response"}
    nlg = TemplatedNaturalLanguageGenerator(rasa_domain.responses)
    draft = await nlg.generate(message["response"], tracker, "rest", **kwargs)
    assert draft is not None, message
    return draft["text"]


def customer(order, language: str = "zh", **slots: Any):
    """A signed-in tracker about ``order`` in a ``language`` conversation."""
    return make_tracker(
        {"customer_id": order.customer_id, "order_id": str(order.id), "language": language, **slots}
    )


async def test_track_shipped_order_in_chinese(domain, rasa_domain, session_factory) -> None:
    order = find_order(session_factory, OrderStatus.SHIPPED)
    _, [message] = await run_action(ActionTrackOrder(), customer(order), domain)
    assert message["response"] == "utter_order_shipped"
    for key in ("shipped_on", "eta"):
        assert CHINESE_DAY.match(message[key]), message[key]
    eta = order.eta
    assert message["eta"].startswith(f"{eta.year}年{eta.month}月{eta.day}日")
    text = await render(rasa_domain, message, "zh")
    assert f"订单 {order.id} 已于{message['shipped_on']}由 {order.carrier} 发出" in text
    assert f"预计{message['eta']}前送达" in text and order.tracking_number in text
    assert not ENGLISH_MONTHS.search(text) and not ENGLISH_WEEKDAYS.search(text)
    assert detect_language(text) == "zh"


async def test_track_every_status_renders_in_chinese_without_english_words(
    domain, rasa_domain, session_factory
) -> None:
    for status in OrderStatus:
        order = find_order(session_factory, status)
        _, [message] = await run_action(ActionTrackOrder(), customer(order), domain)
        text = await render(rasa_domain, message, "zh")
        assert detect_language(text) == "zh", text
        assert not ENGLISH_MONTHS.search(text) and "{" not in text, text
        assert "our carrier" not in text and "not assigned" not in text, text


async def test_same_order_in_english_keeps_english_dates(domain, rasa_domain, session_factory):
    order = find_order(session_factory, OrderStatus.DELIVERED)
    _, [message] = await run_action(ActionTrackOrder(), customer(order, "en"), domain)
    assert message["delivered_on"] == format_day(order.delivered_at, "en")
    assert order.delivered_at.strftime("%B") in message["delivered_on"]
    text = await render(rasa_domain, message, "en")
    assert text.startswith(f"Order {order.id} was delivered on ")


def test_status_message_fills_missing_carrier_and_tracking_number_in_chinese(
    session_factory,
) -> None:
    order = find_order(session_factory, OrderStatus.PROCESSING)
    order.carrier, order.tracking_number, order.eta = None, None, None
    chinese = status_message(order, "zh")
    english = status_message(order)
    assert english["carrier"] == "our carrier" and english["eta"] == "an unknown date"
    for key in ("carrier", "tracking_number", "eta"):
        assert detect_language(chinese[key]) == "zh", key
    assert CHINESE_DAY.match(chinese["placed_on"])


async def test_refund_status_in_chinese(domain, rasa_domain, session_factory) -> None:
    order = find_order(session_factory, OrderStatus.REFUNDED)
    _, messages = await run_action(ActionTrackRefund(), customer(order), domain)
    assert responses(messages) == ["utter_refund_issued"]
    [message] = messages
    assert CHINESE_DAY.match(message["issued_on"]) and message["amount"].startswith("$")
    assert message["item_part"] == "" or message["item_part"].startswith("（")
    text = await render(rasa_domain, message, "zh")
    assert f"退款 {message['amount']} 已于{message['issued_on']}发出" in text


async def test_payment_method_and_invoice_state_in_chinese(
    domain, rasa_domain, session_factory
) -> None:
    order = find_order(session_factory, OrderStatus.PROCESSING, payment=PaymentStatus.FAILED)
    _, [message] = await run_action(ActionCheckPayment(), customer(order), domain)
    text = await render(rasa_domain, message, "zh")
    assert text.startswith(f"订单 {order.id}（${order.total:,.2f}，") and "付款失败" in text
    _, [invoice] = await run_action(ActionGetInvoice(), customer(order), domain)
    assert invoice["response"] == "utter_no_invoice"
    assert invoice["payment_status"] == "支付失败"
    _, [english] = await run_action(ActionGetInvoice(), customer(order, "en"), domain)
    assert english["payment_status"] == "failed"


async def test_order_states_in_chinese_when_too_late_to_change(
    domain, rasa_domain, session_factory
) -> None:
    order = find_order(session_factory, OrderStatus.CANCELLED)
    _, [message] = await run_action(
        ActionCancelOrder(), customer(order, confirm_cancel=True), domain
    )
    assert message["response"] == "utter_already_cancelled"
    order = find_order(session_factory, OrderStatus.REFUNDED)
    for action in (ActionCancelOrder(), ActionChangeOrder()):
        _, [message] = await run_action(action, customer(order, remove_item="x"), domain)
        assert message["response"] == "utter_cannot_change_finished"
        assert message["status"] == "已退款"
        text = await render(rasa_domain, message, "zh")
        assert text == f"订单 {order.id} 当前状态为“已退款”，已经无法修改了。"


async def test_return_refusals_in_chinese(domain, rasa_domain, session_factory) -> None:
    old = find_order(session_factory, OrderStatus.DELIVERED, within_return_window=False)
    shipped = find_order(session_factory, OrderStatus.SHIPPED)
    name = item_names(session_factory, old.id)[0]
    _, [late] = await run_action(
        ActionRequestReturn(), customer(old, return_item=name, return_reason="太小了"), domain
    )
    assert late["response"] == "utter_return_window_closed"
    assert CHINESE_DAY.match(late["delivered_on"])
    _, [early] = await run_action(
        ActionRequestReturn(), customer(shipped, return_item="x", return_reason="太小了"), domain
    )
    assert early["response"] == "utter_not_delivered_yet" and early["status"] == "已发货"
    assert "暂时无法退货" in await render(rasa_domain, early, "zh")


async def test_items_of_an_order_are_listed_the_chinese_way(domain, session_factory) -> None:
    order = find_order(session_factory, OrderStatus.PROCESSING, min_items=2)
    names = item_names(session_factory, order.id)
    dispatcher = CollectingDispatcher()
    slot = validate_item_of_order("no such thing", dispatcher, customer(order), "remove_item")
    assert slot == {"remove_item": None}
    [message] = dispatcher.messages
    assert message["response"] == "utter_item_not_in_order"
    assert message["items"] == "、".join(names)


async def test_refused_sign_in_is_explained_in_chinese_once(domain) -> None:
    tracker = make_tracker({"language": "zh"}, metadata={"customer_id": "7"})
    dispatcher = CollectingDispatcher()
    explain_refused_claim(dispatcher, tracker)
    explain_refused_claim(dispatcher, tracker)
    assert [m["text"] for m in dispatcher.messages] == [SIGN_IN_NOT_VERIFIED_ZH]
    assert detect_language(SIGN_IN_NOT_VERIFIED_ZH) == "zh"
    # Already told this session, in either language: not again.
    told = make_tracker(
        {"language": "en"},
        metadata={"customer_id": "7"},
        events=[{"event": "session_started"}, {"event": "bot", "text": SIGN_IN_NOT_VERIFIED_ZH}],
    )
    dispatcher = CollectingDispatcher()
    explain_refused_claim(dispatcher, told)
    assert dispatcher.messages == []


@pytest.mark.parametrize(
    ("page_language", "carried", "expected"),
    [
        ("zh", None, "zh"),
        ("zh-CN", None, "zh"),
        ("zh_TW", "en", "zh"),
        ("en-GB", "zh", "en"),
        ("fr-FR", "zh", "zh"),  # not served: the conversation keeps its language
        ("fr", None, None),
        ("", None, None),
        (7, "zh", "zh"),
    ],
)
async def test_session_start_sets_the_language_from_the_page(
    domain, page_language, carried, expected
) -> None:
    slots = {"session_started_metadata": {"language": page_language}}
    if carried is not None:
        slots["language"] = carried
    events, messages = await run_action(
        ActionSessionStart(), make_tracker(slots, events=[]), domain
    )
    assert slot_events(events).get("language") == expected
    assert messages == []


async def test_session_start_with_a_page_language_and_a_customer(domain) -> None:
    metadata = {"customer_id": signed(7), "language": "zh-CN"}
    tracker = make_tracker({"session_started_metadata": metadata}, events=[])
    events, _ = await run_action(ActionSessionStart(), tracker, domain)
    assert slot_events(events)["customer_id"] == 7
    assert slot_events(events)["language"] == "zh"


async def test_session_start_explains_a_refused_sign_in_in_the_page_language(domain) -> None:
    for language, notice in (("zh-CN", SIGN_IN_NOT_VERIFIED_ZH), ("en", SIGN_IN_NOT_VERIFIED)):
        metadata = {"customer_id": "7", "language": language}
        tracker = make_tracker({"session_started_metadata": metadata}, events=[])
        events, _ = await run_action(ActionSessionStart(), tracker, domain)
        assert [e["text"] for e in events if e["event"] == "bot"] == [notice]


def test_chinese_newsletter_requests() -> None:
    for text in ("退订资讯邮件", "帮我取消订阅", "我不想再收到你们的邮件了", "别再发邮件给我"):
        assert wants_unsubscribe(text), text
    for text in ("我想订阅资讯邮件", "帮我订阅一下新闻邮件", "subscribe me"):
        assert not wants_unsubscribe(text), text


def test_addresses_typed_with_chinese_commas_are_read() -> None:
    dispatcher = CollectingDispatcher()
    slot = validate_address_text("12 Baker Street，London、NW1 6XE", dispatcher, make_tracker())
    assert slot == {"shipping_address": "12 Baker Street,London,NW1 6XE"}
    assert dispatcher.messages == []


def test_an_address_in_latin_letters_keeps_a_chinese_conversation_chinese() -> None:
    """The NLU reads "12 Baker Street ..." as English; the address answer puts zh back."""
    address = "12 Baker Street, London, NW1 6XE"
    events = [
        {"event": "slot", "name": "language", "value": "zh"},
        {"event": "user", "text": "订单1043要改收货地址"},
        {"event": "user", "text": address},
        {"event": "slot", "name": "language", "value": "en"},
    ]
    tracker = make_tracker({"language": "en"}, text=address, events=events)
    slot = validate_address_text(address, CollectingDispatcher(), tracker)
    assert slot == {"shipping_address": "12 Baker Street, London, NW1 6XE", "language": "zh"}
    # An English conversation stays as it is (nothing to put back).
    english = make_tracker(
        {"language": "en"},
        text=address,
        events=[{"event": "slot", "name": "language", "value": "en"}, *events[2:]],
    )
    assert validate_address_text(address, CollectingDispatcher(), english) == {
        "shipping_address": address
    }


async def test_paused_contact_choice_in_chinese(domain, monkeypatch) -> None:
    stored: list[str] = []
    monkeypatch.setattr(
        "actions.escalation._store_contact_choice",
        lambda sender_id, method: stored.append(method) or True,
    )
    for text, method in (("请给我回电", "callback"), ("请发邮件工单给我", "email")):
        latest = {"text": text, "intent": {"name": "nlu_fallback"}, "entities": []}
        tracker = Tracker(
            sender_id="shopper-zh",
            slots={"language": "zh"},
            latest_message=latest,
            events=[{"event": "user", "text": text, "parse_data": latest}],
            paused=True,
            followup_action=None,
            active_loop={},
            latest_action_name="action_listen",
        )
        _, messages = await run_action(ActionAssessHandoff(), tracker, domain)
        assert responses(messages) == [f"utter_handoff_{method}_noted"]
    assert stored == ["callback", "email"]
