"""Change an order's items before it ships (taking an item out; adding means a new order)."""

from __future__ import annotations

import logging
from typing import Any, Dict

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.localise import format_money
from actions.order_form import OrderFormValidator
from actions.order_items import AskOrderItemAction, validate_item_of_order
from actions.shop_action import ELIGIBLE_SLOT, OrderChangeAction, OrderTurn
from knowledge.models import Order, OrderStatus
from knowledge.shop import queries as shop

logger = logging.getLogger(__name__)


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


class ActionAskRemoveItem(AskOrderItemAction):
    """Ask which item to take out, with the order's items as buttons."""

    slot = "remove_item"


class ActionChangeOrder(OrderChangeAction):
    """Take the chosen item out of the order, or explain why that's not possible."""

    reset_slots = ("remove_item", ELIGIBLE_SLOT)

    def name(self) -> str:
        """Submit action of ``change_order_form``."""
        return "action_change_order"

    def refuse(self, turn: OrderTurn) -> bool:
        """A shipped order can't change any more (other states: see the base)."""
        if turn.order.status is OrderStatus.SHIPPED:
            turn.say("utter_cannot_change_shipped")
            return True
        return super().refuse(turn)

    def apply(self, turn: OrderTurn) -> None:
        """Remove the item (adjusting total and refund), or say it's the last one."""
        item = turn.slot("remove_item")
        try:
            removed = shop.remove_item(turn.session, turn.order.id, turn.requester, item, turn.now)
        except shop.LastItem:
            turn.say("utter_last_item", item=item)
            return
        total = format_money(turn.order.total, turn.language)
        turn.say("utter_item_removed", item=removed.name, total=total)
        turn.dispatcher.utter_message(response="utter_add_items_hint")
