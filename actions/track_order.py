"""Track an order: status, carrier, tracking number and delivery date in plain words.

Asked "which order?", a signed-in shopper first sees the orders on their way (shipped or still
in processing) with their status and tracking number, and picks one (buttons) or types a number.
"""

from __future__ import annotations

import logging
from typing import List, Sequence

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from actions import deps
from actions.identity import customer_id_from
from actions.localise import shopper_language
from actions.order_form import OrderFormValidator
from actions.shop_action import OrderAction
from knowledge.models import Order, OrderStatus
from knowledge.shop import queries as shop
from knowledge.shop.status import STATUS_RESPONSES, status_message  # noqa: F401 - re-exported
from nlu.routing import TRACK, intent_payload

logger = logging.getLogger(__name__)

#: Orders "on their way": shipped, or paid for and being packed.
ON_THE_WAY = (OrderStatus.SHIPPED, OrderStatus.PROCESSING)
#: At most this many orders are listed (newest first).
MAX_LISTED = 5


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


def orders_on_the_way(session: Session, customer_id: int) -> Sequence[Order]:
    """The customer's shipped and processing orders, newest first (at most :data:`MAX_LISTED`)."""
    query = (
        select(Order)
        .where(Order.customer_id == customer_id, Order.status.in_(ON_THE_WAY))
        .order_by(Order.placed_at.desc(), Order.id.desc())
        .limit(MAX_LISTED)
    )
    return session.execute(query).scalars().all()


class ActionAskTrackOrderId(Action):
    """Ask which order to track; a signed-in shopper first sees their orders on the way."""

    def name(self) -> str:
        """Asks ``order_id`` in ``track_order_form``."""
        return "action_ask_track_order_form_order_id"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        """List the orders on their way with status and tracking, then ask which one."""
        customer_id = customer_id_from(tracker)
        if customer_id is None:
            dispatcher.utter_message(response="utter_ask_order_id")
            return []
        language = shopper_language(tracker)
        try:
            with deps.session_factory()() as session:
                messages = [
                    status_message(o, language) for o in orders_on_the_way(session, customer_id)
                ]
        except (SQLAlchemyError, OSError):
            logger.exception("Could not list the orders of customer %s", customer_id)
            dispatcher.utter_message(response="utter_ask_order_id")
            return []
        if not messages:
            dispatcher.utter_message(response="utter_no_orders_on_the_way")
            return []
        dispatcher.utter_message(response="utter_orders_on_the_way")
        for message in messages:
            dispatcher.utter_message(**message)
        buttons = [
            {
                "title": str(m["order_id"]),
                "payload": intent_payload(
                    TRACK, [{"entity": "order_id", "value": str(m["order_id"])}]
                ),
            }
            for m in messages
        ]
        dispatcher.utter_message(response="utter_ask_which_order_on_the_way", buttons=buttons)
        return []
