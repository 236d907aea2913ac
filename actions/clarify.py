"""The bot's guesses when it is unsure, as a question with buttons in the shopper's language.

"Do you want to track an order or start a return?" with one button per guess (payload
``/track_order``, carrying the message's order number as ``/track_order{"order_id": "1043"}``)
and a "Something else" button (``/nlu_fallback``) that moves on to the FAQ lookup.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Mapping, Sequence

from nlu.routing import FALLBACK_INTENT, ORDER_ENTITY, TRANSACTIONAL, intent_payload

logger = logging.getLogger(__name__)

ZH = "zh"

#: Each intent as a phrase that completes "Do you want to ..." / "请问您是想...".
PHRASES: Mapping[str, Mapping[str, str]] = {
    "track_order": {"en": "track an order", ZH: "查询订单物流"},
    "cancel_order": {"en": "cancel an order", ZH: "取消订单"},
    "change_order": {"en": "change an order", ZH: "修改订单"},
    "change_shipping_address": {"en": "change an order's address", ZH: "修改订单收货地址"},
    "set_up_shipping_address": {"en": "set your saved address", ZH: "设置默认收货地址"},
    "get_refund": {"en": "start a return", ZH: "申请退货退款"},
    "track_refund": {"en": "check a refund", ZH: "查询退款进度"},
    "get_invoice": {"en": "get an invoice", ZH: "获取发票"},
    "check_invoice": {"en": "get an invoice", ZH: "获取发票"},
    "payment_issue": {"en": "sort out a payment problem", ZH: "处理付款问题"},
    "place_order": {"en": "place an order", ZH: "下单购买"},
    "check_refund_policy": {"en": "read the returns policy", ZH: "了解退货政策"},
    "check_cancellation_fee": {"en": "know about cancellation fees", ZH: "了解取消费用"},
    "delivery_options": {"en": "see the delivery options", ZH: "了解配送方式"},
    "delivery_period": {"en": "know how long delivery takes", ZH: "了解配送时间"},
    "check_payment_methods": {"en": "see the payment methods", ZH: "了解支付方式"},
    "product_question": {"en": "ask about a product", ZH: "咨询商品"},
    "contact_customer_service": {"en": "contact customer service", ZH: "联系客服"},
    "create_account": {"en": "create an account", ZH: "注册账号"},
    "delete_account": {"en": "delete your account", ZH: "注销账号"},
    "edit_account": {"en": "change your account details", ZH: "修改账户信息"},
    "recover_password": {"en": "reset your password", ZH: "找回密码"},
    "registration_problems": {"en": "fix a sign-up problem", ZH: "解决注册问题"},
    "switch_account": {"en": "switch accounts", ZH: "切换账号"},
    "newsletter_subscription": {"en": "manage the newsletter", ZH: "管理资讯邮件订阅"},
    "complaint": {"en": "make a complaint", ZH: "投诉"},
    "review": {"en": "leave feedback", ZH: "提交评价"},
}
SOMETHING_ELSE = {"en": "Something else", ZH: "都不是"}
#: The question, by number of guesses and language.
QUESTIONS: Mapping[str, Mapping[int, str]] = {
    "en": {
        1: "Just to be sure: do you want to {0}?",
        2: "Do you want to {0} or {1}?",
        3: "Do you want to {0}, {1} or {2}?",
    },
    ZH: {
        1: "请问您是想{0}吗？",
        2: "请问您是想{0}，还是{1}？",
        3: "请问您是想{0}、{1}，还是{2}？",
    },
}


def phrase(intent: str, language: str) -> str:
    """How ``intent`` reads after "Do you want to" in ``language``."""
    lang = ZH if language == ZH else "en"
    return PHRASES.get(intent, {}).get(lang) or intent.replace("_", " ")


def title(intent: str, language: str) -> str:
    """A button title for ``intent`` ("Track an order", "查询订单物流")."""
    text = phrase(intent, language)
    return text[:1].upper() + text[1:]


def guess_question(intents: Sequence[str], language: str) -> str:
    """ "Do you want to track an order or start a return?" for up to three intents."""
    lang = ZH if language == ZH else "en"
    picked = list(intents)[:3]
    return QUESTIONS[lang][len(picked)].format(*(phrase(i, lang) for i in picked))


def guess_buttons(
    intents: Sequence[str], entities: Sequence[Mapping[str, Any]], language: str
) -> List[Dict[str, str]]:
    """One button per guess (transactional ones carry the order number) and "Something else"."""
    orders = [e for e in entities if e.get("entity") == ORDER_ENTITY][:1]
    buttons = [
        {
            "title": title(intent, language),
            "payload": intent_payload(intent, orders if intent in TRANSACTIONAL else ()),
        }
        for intent in intents
    ]
    lang = ZH if language == ZH else "en"
    buttons.append({"title": SOMETHING_ELSE[lang], "payload": f"/{FALLBACK_INTENT}"})
    return buttons
