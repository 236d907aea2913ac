"""Change an order's items before it ships (taking an item out; adding means a new order)."""

from __future__ import annotations

import logging
from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from actions import deps
from actions.identity import requester_from
from actions.localise import format_money, join_names, order_status_name, shopper_language
from actions.order_form import OrderFormValidator
from actions.shop_action import OrderAction
from knowledge.models import Order, OrderStatus
from knowledge.shop import queries as shop

logger = logging.getLogger(__name__)


def item_buttons(order_id: Any, requester: shop.Requester | None) -> List[Dict[str, str]]:
    """One button per item of the shopper's order (empty if it can't be read)."""
    if requester is None or order_id is None:
        return []
    try:
        with deps.session_factory()() as session:
            order = shop.get_order(session, shop.parse_order_id(order_id), requester)
            names = [item.product.name for item in order.items]
    except (shop.ShopError, SQLAlchemyError, OSError):
        logger.exception("Could not list the items of order %s", order_id)
        return []
    return [{"title": name, "payload": name} for name in names]


def explain_not_changeable(dispatcher: CollectingDispatcher, order: Order, language: str) -> None:
    """Say (in ``language``) why ``order`` can no longer be changed."""
    if order.status is OrderStatus.SHIPPED:
        dispatcher.utter_message(response="utter_cannot_change_shipped", order_id=order.id)
    else:
        dispatcher.utter_message(
            response="utter_cannot_change_finished",
            order_id=order.id,
            status=order_status_name(order.status, language),
        )


class ValidateChangeOrderForm(OrderFormValidator):
    """Which order to change and which item to take out."""

    follow_up_slots = ("remove_item",)

    def name(self) -> str:
        """Validator of ``change_order_form``."""
        return "validate_change_order_form"

    def eligible(self, order: Order) -> bool:
        """Only orders in processing can be changed."""
        return order.status in shop.CHANGEABLE

    def validate_remove_item(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        """The item must be one of the order's items."""
        return validate_item_of_order(value, dispatcher, tracker, "remove_item")


def validate_item_of_order(
    value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, slot: str
) -> Dict[str, Any]:
    """``{slot: product name}`` if ``value`` names one item of the order, else ask again."""
    requester = requester_from(tracker)
    order_id = tracker.get_slot("order_id")
    if requester is None or order_id is None:
        return {slot: None}
    try:
        with deps.session_factory()() as session:
            order = shop.get_order(session, shop.parse_order_id(order_id), requester)
            try:
                return {slot: shop.find_item(order, value).product.name}
            except shop.ItemNotInOrder:
                names = join_names((i.product.name for i in order.items), shopper_language(tracker))
                dispatcher.utter_message(
                    response="utter_item_not_in_order", order_id=order.id, items=names
                )
                return {slot: None}
    except (shop.ShopError, SQLAlchemyError, OSError):
        logger.exception("Could not check item %r of order %s", value, order_id)
        dispatcher.utter_message(response="utter_something_went_wrong")
        return {slot: None}


class ActionAskRemoveItem(Action):
    """Ask which item to take out, with the order's items as buttons."""

    def name(self) -> str:
        """Asks for ``remove_item``."""
        return "action_ask_remove_item"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        """Utter the question with one button per item."""
        buttons = item_buttons(tracker.get_slot("order_id"), requester_from(tracker))
        dispatcher.utter_message(
            response="utter_ask_remove_item",
            order_id=tracker.get_slot("order_id"),
            buttons=buttons,
        )
        return []


class ActionChangeOrder(OrderAction):
    """Take the chosen item out of the order, or explain why that's not possible."""

    reset_slots = ("remove_item", "order_eligible")

    def name(self) -> str:
        """Submit action of ``change_order_form``."""
        return "action_change_order"

    def on_order(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        session: Session,
        order: Order,
        requester: shop.Requester,
    ) -> List[EventType] | None:
        """Remove the item (adjusting total and refund) when the order is still processing."""
        language = shopper_language(tracker)
        if order.status not in shop.CHANGEABLE:
            explain_not_changeable(dispatcher, order, language)
            return None
        item = tracker.get_slot("remove_item")
        try:
            removed = shop.remove_item(session, order.id, requester, item, deps.now())
        except shop.LastItem:
            dispatcher.utter_message(response="utter_last_item", order_id=order.id, item=item)
            return None
        dispatcher.utter_message(
            response="utter_item_removed",
            order_id=order.id,
            item=removed.name,
            total=format_money(order.total, language),
        )
        dispatcher.utter_message(response="utter_add_items_hint")
        return None
