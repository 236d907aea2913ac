"""Payment problems: look at the order's payment status and say what to do."""

from __future__ import annotations

import logging
from typing import List

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session

from actions.localise import format_money, payment_method_name, shopper_language
from actions.order_form import OrderFormValidator
from actions.shop_action import OrderAction
from knowledge.models import Order, PaymentStatus
from knowledge.shop import queries as shop

logger = logging.getLogger(__name__)

PAYMENT_RESPONSES = {
    PaymentStatus.FAILED: "utter_payment_failed",
    PaymentStatus.PENDING: "utter_payment_pending",
    PaymentStatus.PAID: "utter_payment_ok",
    PaymentStatus.REFUNDED: "utter_payment_refunded",
}


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
        """Utter the response for the payment status, in the shopper's language."""
        language = shopper_language(tracker)
        dispatcher.utter_message(
            response=PAYMENT_RESPONSES[order.payment_status],
            order_id=order.id,
            total=format_money(order.total, language),
            method=payment_method_name(order.payment_method, language),
        )
        return None
