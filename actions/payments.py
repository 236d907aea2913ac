"""Payment problems: look at the order's payment status and say what to do."""

from __future__ import annotations

import logging
from typing import List

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session

from actions.order_form import OrderFormValidator
from actions.shop_action import OrderAction, format_money
from knowledge import shop
from knowledge.models import Order, PaymentStatus

logger = logging.getLogger(__name__)

PAYMENT_RESPONSES = {
    PaymentStatus.FAILED: "utter_payment_failed",
    PaymentStatus.PENDING: "utter_payment_pending",
    PaymentStatus.PAID: "utter_payment_ok",
    PaymentStatus.REFUNDED: "utter_payment_refunded",
}


def method_name(method: str) -> str:
    """A payment method as shoppers say it (``apple_pay`` -> ``Apple Pay``)."""
    special = {"paypal": "PayPal", "amex": "Amex", "visa": "Visa card"}
    return special.get(method, method.replace("_", " ").title())


class ValidatePaymentForm(OrderFormValidator):
    """Which order the payment problem is about."""

    def name(self) -> str:
        """Validator of ``payment_form``."""
        return "validate_payment_form"


class ActionCheckPayment(OrderAction):
    """Explain the order's payment status and the next step."""

    reset_slots = ("order_eligible",)

    def name(self) -> str:
        """Submit action of ``payment_form``."""
        return "action_check_payment"

    def on_order(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        session: Session,
        order: Order,
        requester: shop.Requester,
    ) -> List[EventType] | None:
        """Utter the response for the payment status."""
        dispatcher.utter_message(
            response=PAYMENT_RESPONSES[order.payment_status],
            order_id=order.id,
            total=format_money(order.total),
            method=method_name(order.payment_method),
        )
        return None
