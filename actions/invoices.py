"""Invoices: the invoice number and where to download it; none while unpaid."""

from __future__ import annotations

import logging
from typing import List

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session

from actions.localise import payment_status_name, shopper_language
from actions.order_form import OrderFormValidator
from actions.shop_action import OrderAction
from knowledge.models import Order
from knowledge.shop import queries as shop

logger = logging.getLogger(__name__)


class ValidateInvoiceForm(OrderFormValidator):
    """Which order's invoice."""

    def name(self) -> str:
        """Validator of ``invoice_form``."""
        return "validate_invoice_form"


class ActionGetInvoice(OrderAction):
    """Give the invoice number and download path, or explain why there is none yet."""

    reset_slots = ("order_eligible",)

    def name(self) -> str:
        """Submit action of ``invoice_form``."""
        return "action_get_invoice"

    def on_order(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        session: Session,
        order: Order,
        requester: shop.Requester,
    ) -> List[EventType] | None:
        """Utter the invoice, or that the payment is still open."""
        try:
            number = shop.invoice_number(session, order.id, requester)
        except shop.NoInvoice:
            dispatcher.utter_message(
                response="utter_no_invoice",
                order_id=order.id,
                payment_status=payment_status_name(order.payment_status, shopper_language(tracker)),
            )
            return None
        dispatcher.utter_message(
            response="utter_invoice",
            order_id=order.id,
            invoice_number=number,
            invoice_path=shop.invoice_path(order.id, number),
        )
        return None
