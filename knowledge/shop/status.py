"""An order's status in the shopper's words: the bot's track-order sentence, for every caller.

:func:`status_message` gives the domain response name (``utter_order_shipped`` ...) and the
variables the track-order action sends to Rasa; :func:`status_sentence` renders the same
response's text (its Chinese variation for ``zh``) from ``bot/domain/orders.yml`` without Rasa,
so the agent console suggests exactly the sentence the bot would say. The formatters (dates,
money, fixed words) live here so that the action server and the web app share them.
"""

from __future__ import annotations

import logging
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Mapping

import yaml

from knowledge.language import DEFAULT_LANGUAGE
from knowledge.models import Order, OrderStatus

logger = logging.getLogger(__name__)

ZH = "zh"
#: Chinese weekday names, Monday first (``date.weekday()`` order).
ZH_WEEKDAYS = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")

#: Words actions put into responses, by key and language.
WORDS: Mapping[str, Mapping[str, str]] = {
    "unknown_date": {"en": "an unknown date", ZH: "日期待定"},
    "our_carrier": {"en": "our carrier", ZH: "物流公司"},
    "no_tracking_number": {"en": "not assigned yet", ZH: "暂未生成"},
}

#: The domain response that tells each order state.
STATUS_RESPONSES = {
    OrderStatus.PROCESSING: "utter_order_processing",
    OrderStatus.SHIPPED: "utter_order_shipped",
    OrderStatus.DELIVERED: "utter_order_delivered",
    OrderStatus.CANCELLED: "utter_order_cancelled",
    OrderStatus.RETURNED: "utter_order_returned",
    OrderStatus.REFUNDED: "utter_order_refunded",
}

#: The domain file holding the status responses (the bot's own words).
ORDERS_DOMAIN = Path(__file__).resolve().parents[2] / "bot" / "domain" / "orders.yml"


def word(key: str, language: str) -> str:
    """The word :data:`WORDS` holds under ``key`` in ``language`` (English if it has none)."""
    forms = WORDS[key]
    return forms.get(language, forms[DEFAULT_LANGUAGE])


def format_money(amount: Any, language: str = DEFAULT_LANGUAGE) -> str:
    """An amount in the shop's currency, e.g. ``$59.00`` (the same in every language)."""
    return f"${amount:,.2f}"


def format_day(value: date | None, language: str) -> str:
    """A date or datetime: ``Friday 20 November 2026`` or ``2026年11月20日（星期五）``."""
    if value is None:
        return word("unknown_date", language)
    if language == ZH:
        weekday = ZH_WEEKDAYS[value.weekday()]
        return f"{value.year}年{value.month}月{value.day}日（{weekday}）"
    return f"{value:%A} {value.day} {value:%B %Y}"


def status_message(order: Order, language: str = DEFAULT_LANGUAGE) -> Dict[str, Any]:
    """The response name and its variables describing ``order``'s status, in ``language``."""
    return {
        "response": STATUS_RESPONSES[order.status],
        "order_id": order.id,
        "placed_on": format_day(order.placed_at, language),
        "total": format_money(order.total, language),
        "carrier": order.carrier or word("our_carrier", language),
        "tracking_number": order.tracking_number or word("no_tracking_number", language),
        "shipped_on": format_day(order.shipped_at, language),
        "eta": format_day(order.eta, language),
        "delivered_on": format_day(order.delivered_at, language),
        "cancelled_on": format_day(order.cancelled_at, language),
    }


@lru_cache(maxsize=4)
def response_texts(path: Path = ORDERS_DOMAIN) -> Dict[str, Dict[str, str]]:
    """``response name -> {language: text}`` of a domain file (a variation conditioned on the
    ``language`` slot is that language's; the unconditioned one is English)."""
    domain = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    texts: Dict[str, Dict[str, str]] = {}
    for name, variations in (domain.get("responses") or {}).items():
        for variation in variations or ():
            if not isinstance(variation, dict) or "text" not in variation:
                continue
            language = DEFAULT_LANGUAGE
            for condition in variation.get("condition") or ():
                if condition.get("name") == "language":
                    language = str(condition.get("value"))
            texts.setdefault(name, {}).setdefault(language, str(variation["text"]))
    return texts


def status_sentence(order: Order, language: str = DEFAULT_LANGUAGE) -> str:
    """The sentence the bot's track-order action makes Rasa say about ``order``, in
    ``language`` (English when the response has no variation in it)."""
    message = status_message(order, language)
    forms = response_texts()[message.pop("response")]
    return forms.get(language, forms[DEFAULT_LANGUAGE]).format(**message)
