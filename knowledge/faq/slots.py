"""Slot values of the answer templates: the shop's facts from the settings and the demo shop's data
(``knowledge/shop/seed.py``), in English or in Chinese.

English lists read "a, b and c"; Chinese lists use the enumeration comma "a、b、c" and numbers
stand next to their unit without a space ("5个工作日"), as Chinese shops write them.
"""

from __future__ import annotations

import logging
from typing import Dict, Sequence

from knowledge.language import DEFAULT_LANGUAGE, normalise_language
from knowledge.settings import Settings
from knowledge.shop.seed import CARRIERS, CATALOGUE, CITIES, DELIVERY_METHODS, PAYMENT_METHODS

logger = logging.getLogger(__name__)

PAYMENT_LABELS = {
    "visa": "Visa",
    "mastercard": "Mastercard",
    "amex": "American Express",
    "paypal": "PayPal",
    "apple_pay": "Apple Pay",
    "bank_transfer": "bank transfer",
}
DELIVERY_LABELS = {"standard": "standard", "express": "express", "next_day": "next-day"}
COUNTRY_NAMES = {
    "GB": "the UK",
    "DE": "Germany",
    "FR": "France",
    "ES": "Spain",
    "NL": "the Netherlands",
    "US": "the United States",
    "CA": "Canada",
}
# Chinese labels of the same shop data (brand names stay as they are).
PAYMENT_LABELS_ZH = {**PAYMENT_LABELS, "bank_transfer": "银行转账"}
DELIVERY_LABELS_ZH = {"standard": "标准配送", "express": "加急配送", "next_day": "次日达"}
COUNTRY_NAMES_ZH = {
    "GB": "英国",
    "DE": "德国",
    "FR": "法国",
    "ES": "西班牙",
    "NL": "荷兰",
    "US": "美国",
    "CA": "加拿大",
}
CATEGORY_NAMES_ZH = {
    "Clothing": "服装",
    "Shoes": "鞋靴",
    "Electronics": "数码电子",
    "Beauty": "美妆个护",
    "Sports": "运动户外",
    "Toys": "玩具",
    "Home & Kitchen": "家居厨房",
    "Books": "图书",
}
# Chinese text of the default ``support_hours`` setting; a changed setting is shown as configured.
SUPPORT_HOURS_ZH = {
    "Monday to Friday 8:00-20:00 and Saturday 9:00-17:00 (UK time)": (
        "周一至周五 8:00-20:00、周六 9:00-17:00（英国时间）"
    ),
}
# Enumeration comma of Chinese lists ("DHL、UPS、FedEx").
ZH_LIST_SEPARATOR = "、"

SLOT_NAMES = frozenset(
    {
        "shop_name",
        "support_email",
        "support_phone",
        "support_hours",
        "currency",
        "free_shipping_over",
        "return_window_days",
        "refund_processing_days",
        "warranty_months",
        "carriers",
        "categories",
        "payment_methods",
        "card_brands",
        "wallets",
        "delivery_methods",
        "standard_days",
        "express_days",
        "next_day_days",
        "shipping_countries",
    }
)


def join_words(words: Sequence[str]) -> str:
    """``a, b and c``."""
    words = list(words)
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def join_words_zh(words: Sequence[str]) -> str:
    """``a、b、c``."""
    return ZH_LIST_SEPARATOR.join(words)


def _days(n: int) -> str:
    return f"{n} business day" if n == 1 else f"{n} business days"


def _days_zh(n: int) -> str:
    return f"{n}个工作日"


def _with_days_zh(label: str, days: int) -> str:
    """``标准配送（5个工作日）`` (full-width parentheses, as in Chinese text)."""
    return f"{label}（{_days_zh(days)}）"


def shop_slots(settings: Settings, language: str = DEFAULT_LANGUAGE) -> Dict[str, str]:
    """Values of every slot in ``language`` (``normalise_language``: unknown -> English), from the
    settings and the demo shop's catalogue and delivery data."""
    if normalise_language(language) == "zh":
        return _shop_slots_zh(settings)
    delivery = dict(DELIVERY_METHODS)
    cards = [PAYMENT_LABELS[m] for m in PAYMENT_METHODS if m in ("visa", "mastercard", "amex")]
    wallets = [PAYMENT_LABELS[m] for m in PAYMENT_METHODS if m in ("paypal", "apple_pay")]
    countries = list(dict.fromkeys(COUNTRY_NAMES.get(code, code) for _, code, _ in CITIES))
    slots = {
        "shop_name": settings.shop_name,
        "support_email": settings.support_email,
        "support_phone": settings.support_phone,
        "support_hours": settings.support_hours,
        "currency": settings.currency_symbol,
        "free_shipping_over": f"{settings.currency_symbol}{settings.free_shipping_over}",
        "return_window_days": str(settings.return_window_days),
        "refund_processing_days": str(settings.refund_processing_days),
        "warranty_months": str(settings.warranty_months),
        "carriers": join_words(list(CARRIERS)),
        "categories": join_words(list(CATALOGUE)),
        "payment_methods": join_words([PAYMENT_LABELS.get(m, m) for m in PAYMENT_METHODS]),
        "card_brands": join_words(cards),
        "wallets": join_words(wallets),
        "delivery_methods": join_words(
            [f"{DELIVERY_LABELS.get(m, m)} ({_days(d)})" for m, d in DELIVERY_METHODS]
        ),
        "standard_days": _days(delivery["standard"]),
        "express_days": _days(delivery["express"]),
        "next_day_days": _days(delivery["next_day"]),
        "shipping_countries": join_words(countries),
    }
    assert set(slots) == SLOT_NAMES, "shop_slots and SLOT_NAMES must list the same slots"
    return slots


def _shop_slots_zh(settings: Settings) -> Dict[str, str]:
    """The Chinese values of every slot (numbers without a space before 天 / 个工作日)."""
    slots = shop_slots(settings, DEFAULT_LANGUAGE)
    delivery = dict(DELIVERY_METHODS)
    cards = [PAYMENT_LABELS_ZH[m] for m in PAYMENT_METHODS if m in ("visa", "mastercard", "amex")]
    wallets = [PAYMENT_LABELS_ZH[m] for m in PAYMENT_METHODS if m in ("paypal", "apple_pay")]
    countries = list(dict.fromkeys(COUNTRY_NAMES_ZH.get(code, code) for _, code, _ in CITIES))
    slots.update(
        {
            "support_hours": SUPPORT_HOURS_ZH.get(settings.support_hours, settings.support_hours),
            "carriers": join_words_zh(list(CARRIERS)),
            "categories": join_words_zh([CATEGORY_NAMES_ZH.get(c, c) for c in CATALOGUE]),
            "payment_methods": join_words_zh(
                [PAYMENT_LABELS_ZH.get(m, m) for m in PAYMENT_METHODS]
            ),
            "card_brands": join_words_zh(cards),
            "wallets": join_words_zh(wallets),
            "delivery_methods": join_words_zh(
                [_with_days_zh(DELIVERY_LABELS_ZH.get(m, m), d) for m, d in DELIVERY_METHODS]
            ),
            "standard_days": _days_zh(delivery["standard"]),
            "express_days": _days_zh(delivery["express"]),
            "next_day_days": _days_zh(delivery["next_day"]),
            "shipping_countries": join_words_zh(countries),
        }
    )
    return slots
