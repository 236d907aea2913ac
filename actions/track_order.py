"""Track an order: status, carrier, tracking number and delivery date in plain words."""

from __future__ import annotations

import logging
from typing import Any, Dict, List

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session

from actions.order_form import OrderFormValidator
from actions.shop_action import OrderAction, format_day, format_money
from knowledge import shop
from knowledge.models import Order, OrderStatus

logger = logging.getLogger(__name__)

STATUS_RESPONSES = {
    OrderStatus.PROCESSING: "utter_order_processing",
    OrderStatus.SHIPPED: "utter_order_shipped",
    OrderStatus.DELIVERED: "utter_order_delivered",
    OrderStatus.CANCELLED: "utter_order_cancelled",
    OrderStatus.RETURNED: "utter_order_returned",
    OrderStatus.REFUNDED: "utter_order_refunded",
}


def status_message(order: Order) -> Dict[str, Any]:
    """The response name and its variables describing ``order``'s status."""
    return {
        "response": STATUS_RESPONSES[order.status],
        "order_id": order.id,
        "placed_on": format_day(order.placed_at),
        "total": format_money(order.total),
        "carrier": order.carrier or "our carrier",
        "tracking_number": order.tracking_number or "not assigned yet",
        "shipped_on": format_day(order.shipped_at),
        "eta": format_day(order.eta),
        "delivered_on": format_day(order.delivered_at),
        "cancelled_on": format_day(order.cancelled_at),
    }


class ValidateTrackOrderForm(OrderFormValidator):
    """Which order to track (any of the shopper's orders)."""

    def name(self) -> str:
        """Validator of ``track_order_form``."""
        return "validate_track_order_form"


class ActionTrackOrder(OrderAction):
    """Tell the shopper where their order is."""

    def name(self) -> str:
        """Submit action of ``track_order_form``."""
        return "action_track_order"

    def on_order(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        session: Session,
        order: Order,
        requester: shop.Requester,
    ) -> List[EventType] | None:
        """Utter the status sentence for the order."""
        dispatcher.utter_message(**status_message(order))
        return None
