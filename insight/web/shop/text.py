"""The demo shop page's own words, per language the shop serves (``?lang=en`` / ``?lang=zh``).

Product names and descriptions come from the catalogue as they are; these are the page's labels.
Every language has every key of English (``tests/insight/test_shop_page.py`` checks it).
"""

# Chinese text uses full-width punctuation, as Chinese shops write it.

from __future__ import annotations

import logging
from typing import Mapping

logger = logging.getLogger(__name__)

# <html lang> of each language (BCP 47: the widget reads its first two letters).
HTML_LANG = {"en": "en", "zh": "zh-CN"}
# How the language switch names each language (in that language).
LANGUAGE_NAMES = {"en": "English", "zh": "中文"}

PAGE_TEXT: Mapping[str, Mapping[str, str]] = {
    "en": {
        "title": "{shop}: demo shop",
        "signed_in_as": "Signed in as",
        "customer_number": "(customer #{id})",
        "guest": "Browsing as a guest",
        "picks": "Today's picks",
        "orders_title": "Your recent orders",
        "orders_hint": 'Ask the assistant (bottom right) about any of them, e.g. "where is my '
        'order {order}?"',
        "order": "Order",
        "placed": "placed",
        "separator": ", ",
        "demo_note_1": "Demo shop: add ",
        "demo_note_2": " to the address to sign in as another seeded customer, or ",
        "demo_note_3": " to browse as a guest.",
        "language": "Language",
        "widget_title": "{shop} help",
    },
    "zh": {
        "title": "{shop}：演示商店",
        "signed_in_as": "当前登录：",
        "customer_number": "（顾客编号 {id}）",
        "guest": "您正在以游客身份浏览",
        "picks": "今日推荐",
        "orders_title": "您最近的订单",
        "orders_hint": "有任何订单问题都可以问右下角的客服助手，例如：“我的订单 {order} 到哪了？”",
        "order": "订单",
        "placed": "下单日期",
        "separator": "，",
        "demo_note_1": "演示商店：在网址后加上 ",
        "demo_note_2": " 可切换为其他示例顾客登录，加上 ",
        "demo_note_3": " 则以游客身份浏览。",
        "language": "语言",
        "widget_title": "{shop} 在线客服",
    },
}


def page_text(language: str) -> Mapping[str, str]:
    """The page's words in ``language`` (a supported code), English for any other."""
    return PAGE_TEXT.get(language, PAGE_TEXT["en"])
