"""The values actions put into responses, in English and Chinese."""

# Chinese text uses full-width punctuation on purpose.

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from actions.localise import (
    format_day,
    format_money,
    in_brackets,
    join_names,
    order_status_name,
    payment_method_name,
    payment_status_name,
    shopper_language,
    word,
)
from knowledge.language import detect_language
from knowledge.models import OrderStatus, PaymentStatus
from tests.actions.conftest import make_tracker


def test_shopper_language_reads_the_slot_and_falls_back_to_english() -> None:
    assert shopper_language(make_tracker({"language": "zh"})) == "zh"
    assert shopper_language(make_tracker({"language": "zh-CN"})) == "zh"
    assert shopper_language(make_tracker({"language": "en"})) == "en"
    assert shopper_language(make_tracker({"language": "fr"})) == "en"
    assert shopper_language(make_tracker({})) == "en"


@pytest.mark.parametrize(
    ("value", "english", "chinese"),
    [
        (date(2026, 11, 20), "Friday 20 November 2026", "2026年11月20日（星期五）"),
        (datetime(2026, 3, 1, 23, 59), "Sunday 1 March 2026", "2026年3月1日（星期日）"),
        (date(2027, 1, 4), "Monday 4 January 2027", "2027年1月4日（星期一）"),
    ],
)
def test_format_day(value, english, chinese) -> None:
    assert format_day(value, "en") == english
    assert format_day(value, "zh") == chinese


def test_unknown_day_and_missing_words_read_in_the_language() -> None:
    assert format_day(None, "en") == "an unknown date"
    assert detect_language(format_day(None, "zh")) == "zh"
    for key in ("our_carrier", "no_tracking_number"):
        assert detect_language(word(key, "zh")) == "zh"
        assert word(key, "fr") == word(key, "en")


def test_money_keeps_the_shops_currency_in_both_languages() -> None:
    assert format_money(Decimal("1234.5"), "en") == "$1,234.50"
    assert format_money(Decimal("59"), "zh") == "$59.00"


def test_lists_and_brackets() -> None:
    names = ["Linen Shirt", "Wool Scarf", "Desk Lamp"]
    assert join_names(names, "en") == "Linen Shirt, Wool Scarf, Desk Lamp"
    assert join_names(iter(names), "zh") == "Linen Shirt、Wool Scarf、Desk Lamp"
    assert in_brackets("Wool Scarf", "en") == " (Wool Scarf)"
    assert in_brackets("Wool Scarf", "zh") == "（Wool Scarf）"
    assert in_brackets(None, "zh") == "" and in_brackets("", "en") == ""


def test_every_order_and_payment_state_has_a_chinese_name() -> None:
    for status in OrderStatus:
        assert order_status_name(status, "en") == status.value
        assert detect_language(order_status_name(status, "zh")) == "zh"
    for payment in PaymentStatus:
        assert payment_status_name(payment, "en") == payment.value
        assert detect_language(payment_status_name(payment, "zh")) == "zh"
    assert len({order_status_name(s, "zh") for s in OrderStatus}) == len(OrderStatus)


def test_payment_method_names() -> None:
    assert payment_method_name("apple_pay", "en") == "Apple Pay"
    assert payment_method_name("visa", "en") == "Visa card"
    assert payment_method_name("bank_transfer", "en") == "Bank Transfer"
    assert payment_method_name("bank_transfer", "zh") == "银行转账"
    assert payment_method_name("paypal", "zh") == "PayPal"
    # A code the shop adds later still reads sensibly.
    assert payment_method_name("gift_card", "zh") == "Gift Card"
