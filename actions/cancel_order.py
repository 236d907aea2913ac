"""Cancel an order: only before it ships, and only after the shopper confirms."""

from __future__ import annotations

import logging
from typing import List

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session

from actions import deps
from actions.localise import format_money, order_status_name, shopper_language
from actions.order_form import OrderFormValidator
from actions.shop_action import OrderAction
from knowledge.models import Order, OrderStatus
from knowledge.shop import queries as shop

logger = logging.getLogger(__name__)


def explain_not_cancellable(
    dispatcher: CollectingDispatcher, order: Order, return_window_days: int, language: str
) -> None:
    """Say (in ``language``) why ``order`` cannot be cancelled and what to do instead."""
    if order.status is OrderStatus.SHIPPED:
        dispatcher.utter_message(
            response="utter_cannot_cancel_shipped",
            order_id=order.id,
            return_window_days=return_window_days,
        )
    elif order.status is OrderStatus.DELIVERED:
        dispatcher.utter_message(response="utter_cannot_cancel_delivered", order_id=order.id)
    elif order.status is OrderStatus.CANCELLED:
        dispatcher.utter_message(response="utter_already_cancelled", order_id=order.id)
    else:
        dispatcher.utter_message(
            response="utter_cannot_change_finished",
            order_id=order.id,
            status=order_status_name(order.status, language),
        )


class ValidateCancelOrderForm(OrderFormValidator):
    """Which order to cancel; asks for confirmation only if it can still be cancelled."""

    follow_up_slots = ("confirm_cancel",)

    def name(self) -> str:
        """Validator of ``cancel_order_form``."""
        return "validate_cancel_order_form"

    def eligible(self, order: Order) -> bool:
        """Only orders in processing can be cancelled."""
        return order.status in shop.CHANGEABLE


class ActionCancelOrder(OrderAction):
    """Cancel the confirmed order, or explain why it can't be cancelled."""

    reset_slots = ("confirm_cancel", "order_eligible")

    def name(self) -> str:
        """Submit action of ``cancel_order_form``."""
        return "action_cancel_order"

    def on_order(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        session: Session,
        order: Order,
        requester: shop.Requester,
    ) -> List[EventType] | None:
        """Cancel when confirmed; otherwise keep the order or explain."""
        language = shopper_language(tracker)
        if order.status not in shop.CHANGEABLE:
            explain_not_cancellable(dispatcher, order, deps.settings().return_window_days, language)
            return None
        if tracker.get_slot("confirm_cancel") is not True:
            dispatcher.utter_message(response="utter_cancel_kept", order_id=order.id)
            return None
        refunded = shop.cancel_order(session, order.id, requester, deps.now())
        dispatcher.utter_message(response="utter_order_cancelled_now", order_id=order.id)
        if refunded is not None:
            dispatcher.utter_message(
                response="utter_cancel_refund", amount=format_money(refunded, language)
            )
        return None
