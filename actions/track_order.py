"""Track an order: status, carrier, tracking number and delivery date in plain words."""

from __future__ import annotations

import logging
from typing import Any, Dict, List

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session

from actions.localise import format_day, format_money, shopper_language, word
from actions.order_form import OrderFormValidator
from actions.shop_action import OrderAction
from knowledge.language import DEFAULT_LANGUAGE
from knowledge.models import Order, OrderStatus
from knowledge.shop import queries as shop

logger = logging.getLogger(__name__)

STATUS_RESPONSES = {
    OrderStatus.PROCESSING: "utter_order_processing",
    OrderStatus.SHIPPED: "utter_order_shipped",
    OrderStatus.DELIVERED: "utter_order_delivered",
    OrderStatus.CANCELLED: "utter_order_cancelled",
    OrderStatus.RETURNED: "utter_order_returned",
    OrderStatus.REFUNDED: "utter_order_refunded",
}


def status_message(order: Order, language: str = DEFAULT_LANGUAGE) -> Dict[str, Any]:
    """The response name and its variables describing ``order``'s status, in ``language``."""
    return {
        "response": STATUS_RESPONSES[order.status],
        "order_id": order.id,
        "placed_on": format_day(order.placed_at, language),
        "total": format_money(order.total, language),
        "carrier": order.carrier or word("our_carrier", language),
        "tracking_number": order.tracking_number or word("no_tracking_number", language),
        "shipped_on": format_day(order.shipped_at, language),
        "eta": format_day(order.eta, language),
        "delivered_on": format_day(order.delivered_at, language),
        "cancelled_on": format_day(order.cancelled_at, language),
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
        dispatcher.utter_message(**status_message(order, shopper_language(tracker)))
        return None
