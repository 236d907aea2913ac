"""Cancel an order: only before it ships, and only after the shopper confirms."""

from __future__ import annotations

import logging

from actions import deps
from actions.localise import format_money
from actions.order_form import OrderFormValidator
from actions.shop_action import ELIGIBLE_SLOT, OrderChangeAction, OrderTurn
from knowledge.models import Order, OrderStatus
from knowledge.shop import queries as shop

logger = logging.getLogger(__name__)

#: What to say when the shopper wants to cancel an order in one of these states.
NOT_CANCELLABLE = {
    OrderStatus.DELIVERED: "utter_cannot_cancel_delivered",
    OrderStatus.CANCELLED: "utter_already_cancelled",
}


class ValidateCancelOrderForm(OrderFormValidator):
    """Which order to cancel; asks for confirmation only if it can still be cancelled."""

    follow_up_slots = ("confirm_cancel",)

    def name(self) -> str:
        """Validator of ``cancel_order_form``."""
        return "validate_cancel_order_form"

    def eligible(self, order: Order) -> bool:
        """Only orders in processing can be cancelled."""
        return order.status in shop.CHANGEABLE


class ActionCancelOrder(OrderChangeAction):
    """Cancel the confirmed order, or explain why it can't be cancelled."""

    reset_slots = ("confirm_cancel", ELIGIBLE_SLOT)
    confirm_slot = "confirm_cancel"
    kept_response = "utter_cancel_kept"

    def name(self) -> str:
        """Submit action of ``cancel_order_form``."""
        return "action_cancel_order"

    def refuse(self, turn: OrderTurn) -> bool:
        """A shipped order can come back as a return; delivered and cancelled ones say so."""
        status = turn.order.status
        if status is OrderStatus.SHIPPED:
            window = deps.settings().return_window_days
            turn.say("utter_cannot_cancel_shipped", return_window_days=window)
        elif status in NOT_CANCELLABLE:
            turn.say(NOT_CANCELLABLE[status])
        else:
            return super().refuse(turn)
        return True

    def apply(self, turn: OrderTurn) -> None:
        """Cancel the order and say how much is refunded, if it was paid."""
        refunded = shop.cancel_order(turn.session, turn.order.id, turn.requester, turn.now)
        turn.say("utter_order_cancelled_now")
        if refunded is not None:
            amount = format_money(refunded, turn.language)
            turn.dispatcher.utter_message(response="utter_cancel_refund", amount=amount)
