"""The shopper's language in the action server, and the values actions put into responses in it.

Responses pick their Chinese variation from the ``language`` slot (see bot/domain/language.yml);
the variables an action fills in (dates, order and payment states, lists of items, "our
carrier") must speak the same language, so every formatter here takes the language code that
:func:`shopper_language` reads from the tracker. Amounts keep the shop's currency in both
languages (``$59.00``); product names, carriers and addresses are shown as the shop stores them.
"""

from __future__ import annotations

import logging
from typing import Iterable, Mapping

from rasa_sdk import Tracker

from knowledge.language import DEFAULT_LANGUAGE, LANGUAGE_SLOT, normalise_language
from knowledge.models import OrderStatus, PaymentStatus

# The formatters the track-order sentence needs live in the shop layer (the console uses them too).
from knowledge.shop.status import (  # noqa: F401 - re-exported for the actions
    WORDS,
    ZH,
    ZH_WEEKDAYS,
    format_day,
    format_money,
    word,
)

logger = logging.getLogger(__name__)

#: Order states as they read in "Order 1001 is {status}" (English: the enum's value).
ORDER_STATUS_ZH: Mapping[OrderStatus, str] = {
    OrderStatus.PROCESSING: "处理中",
    OrderStatus.SHIPPED: "已发货",
    OrderStatus.DELIVERED: "已送达",
    OrderStatus.CANCELLED: "已取消",
    OrderStatus.RETURNED: "已退货",
    OrderStatus.REFUNDED: "已退款",
}

#: Payment states as they read in "its payment is {payment_status}".
PAYMENT_STATUS_ZH: Mapping[PaymentStatus, str] = {
    PaymentStatus.PAID: "已支付",
    PaymentStatus.PENDING: "待确认",
    PaymentStatus.FAILED: "支付失败",
    PaymentStatus.REFUNDED: "已退款",
}

#: Payment methods (the shop's codes) as shoppers say them.
PAYMENT_METHODS: Mapping[str, Mapping[str, str]] = {
    "paypal": {"en": "PayPal", ZH: "PayPal"},
    "apple_pay": {"en": "Apple Pay", ZH: "Apple Pay"},
    "amex": {"en": "Amex", ZH: "美国运通卡"},
    "visa": {"en": "Visa card", ZH: "Visa 卡"},
    "mastercard": {"en": "Mastercard", ZH: "万事达卡"},
    "bank_transfer": {"en": "Bank Transfer", ZH: "银行转账"},
}


def shopper_language(tracker: Tracker) -> str:
    """The conversation's language from the ``language`` slot (``"en"`` when unset or unknown)."""
    return normalise_language(tracker.get_slot(LANGUAGE_SLOT))


def language_before_latest_message(tracker: Tracker) -> str | None:
    """The ``language`` slot as it was before the latest user message (None: never set).

    For answers that carry no language of their own (an address typed in Latin letters by a
    Chinese shopper): the validator puts the conversation's language back.
    """
    seen_user = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            seen_user = True
        elif seen_user and event.get("event") == "slot" and event.get("name") == LANGUAGE_SLOT:
            return normalise_language(event.get("value"))
    return None


def join_names(names: Iterable[str], language: str) -> str:
    """A list of names as it reads in a sentence: ``A, B`` or ``A、B``."""
    return ("、" if language == ZH else ", ").join(names)


def in_brackets(text: str | None, language: str) -> str:
    """``" (text)"`` or ``"（text）"`` after a word; empty without text."""
    if not text:
        return ""
    return f"（{text}）" if language == ZH else f" ({text})"


def order_status_name(status: OrderStatus, language: str) -> str:
    """An order state as the shopper reads it (``shipped`` / ``已发货``)."""
    return ORDER_STATUS_ZH[status] if language == ZH else status.value


def payment_status_name(status: PaymentStatus, language: str) -> str:
    """A payment state as the shopper reads it (``pending`` / ``待确认``)."""
    return PAYMENT_STATUS_ZH[status] if language == ZH else status.value


def payment_method_name(method: str, language: str) -> str:
    """A payment method code as shoppers say it (``apple_pay`` -> ``Apple Pay``)."""
    forms = PAYMENT_METHODS.get(method)
    if forms is None:
        logger.debug("No name for payment method %r; showing it as a title", method)
        return method.replace("_", " ").title()
    return forms.get(language, forms[DEFAULT_LANGUAGE])
