"""Payment problems: look at the order's payment status and say what to do."""

from __future__ import annotations

import logging

from actions.localise import format_money, payment_method_name
from actions.order_form import OrderFormValidator
from actions.shop_action import OrderFormAction, OrderTurn
from knowledge.models import PaymentStatus

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


class ActionCheckPayment(OrderFormAction):
    """Explain the order's payment status and the next step."""

    def name(self) -> str:
        """Submit action of ``payment_form``."""
        return "action_check_payment"

    def answer(self, turn: OrderTurn) -> None:
        """Utter the response for the payment status, in the shopper's language."""
        order = turn.order
        turn.say(
            PAYMENT_RESPONSES[order.payment_status],
            total=format_money(order.total, turn.language),
            method=payment_method_name(order.payment_method, turn.language),
        )
