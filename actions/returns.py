"""Return an item of a delivered order inside the return window."""

from __future__ import annotations

import logging
from typing import Any, Dict

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import deps
from actions.localise import format_day, join_names, order_status_name
from actions.order_form import OrderFormValidator
from actions.order_items import AskOrderItemAction, validate_item_of_order
from actions.shop_action import ELIGIBLE_SLOT, OrderChangeAction, OrderTurn
from knowledge.models import Order
from knowledge.shop import queries as shop

logger = logging.getLogger(__name__)


class ValidateReturnForm(OrderFormValidator):
    """Which order (delivered, within the window), which item and why."""

    follow_up_slots = ("return_item", "return_reason")

    def name(self) -> str:
        """Validator of ``return_form``."""
        return "validate_return_form"

    def eligible(self, order: Order) -> bool:
        """Delivered and inside the return window."""
        settings = deps.settings()
        try:
            shop.check_returnable(order, deps.now(), settings.return_window_days)
        except shop.NotReturnable:
            return False
        return True

    def validate_return_item(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        """The item must be one of the order's items."""
        return validate_item_of_order(value, dispatcher, tracker, "return_item")

    def validate_return_reason(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        """Any short non-empty text."""
        text = " ".join(str(value or "").split())
        if not text:
            return {"return_reason": None}
        return {"return_reason": text[: shop.MAX_REASON_LENGTH]}


class ActionAskReturnItem(AskOrderItemAction):
    """Ask which item to return, with the order's items as buttons."""

    slot = "return_item"


class ActionRequestReturn(OrderChangeAction):
    """Create the return request, or explain why the order can't be returned."""

    reset_slots = ("return_item", "return_reason", ELIGIBLE_SLOT)

    def name(self) -> str:
        """Submit action of ``return_form``."""
        return "action_request_return"

    def refuse(self, turn: OrderTurn) -> bool:
        """Explain an order that isn't delivered yet, or whose return window has closed."""
        window = deps.settings().return_window_days
        try:
            shop.check_returnable(turn.order, turn.now, window)
        except shop.NotReturnable as error:
            if error.window_closed:
                delivered_on = format_day(turn.order.delivered_at, turn.language)
                turn.say(
                    "utter_return_window_closed",
                    delivered_on=delivered_on,
                    return_window_days=window,
                )
            else:
                status = order_status_name(turn.order.status, turn.language)
                turn.say("utter_not_delivered_yet", status=status)
            return True
        return False

    def apply(self, turn: OrderTurn) -> None:
        """Record the ReturnRequest for the chosen item, or say why there can't be one."""
        item = turn.slot("return_item")
        reason = turn.slot("return_reason")
        window = deps.settings().return_window_days
        try:
            created = shop.request_return(
                turn.session, turn.order.id, turn.requester, item, reason, turn.now, window
            )
        except shop.AlreadyReturned:
            turn.say("utter_already_returned", item=item)
            return
        except shop.ItemNotInOrder:
            names = join_names((i.product.name for i in turn.order.items), turn.language)
            turn.say("utter_return_item_unknown", items=names)
            return
        turn.say("utter_return_created", item=created.item_name, return_id=created.id)
