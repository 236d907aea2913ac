"""Invoices: the invoice number and where to download it; none while unpaid."""

from __future__ import annotations

import logging

from actions.localise import payment_status_name
from actions.order_form import OrderFormValidator
from actions.shop_action import OrderFormAction, OrderTurn
from knowledge.shop import queries as shop

logger = logging.getLogger(__name__)


class ValidateInvoiceForm(OrderFormValidator):
    """Which order's invoice."""

    def name(self) -> str:
        """Validator of ``invoice_form``."""
        return "validate_invoice_form"


class ActionGetInvoice(OrderFormAction):
    """Give the invoice number and download path, or explain why there is none yet."""

    def name(self) -> str:
        """Submit action of ``invoice_form``."""
        return "action_get_invoice"

    def answer(self, turn: OrderTurn) -> None:
        """Utter the invoice, or that the payment is still open."""
        order = turn.order
        try:
            number = shop.invoice_number(turn.session, order.id, turn.requester)
        except shop.NoInvoice:
            status = payment_status_name(order.payment_status, turn.language)
            turn.say("utter_no_invoice", payment_status=status)
            return
        turn.say(
            "utter_invoice", invoice_number=number, invoice_path=shop.invoice_path(order.id, number)
        )
