"""Return an item of a delivered order inside the return window."""

from __future__ import annotations

import logging
from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.orm import Session

from actions import deps
from actions.change_order import item_buttons, validate_item_of_order
from actions.identity import requester_from
from actions.localise import format_day, join_names, order_status_name, shopper_language
from actions.order_form import OrderFormValidator
from actions.shop_action import OrderAction
from knowledge.models import Order
from knowledge.shop import queries as shop

logger = logging.getLogger(__name__)


def explain_not_returnable(
    dispatcher: CollectingDispatcher,
    order: Order,
    error: shop.NotReturnable,
    window_days: int,
    language: str,
) -> None:
    """Say (in ``language``) why the order can't be returned: not delivered yet, or too late."""
    if error.window_closed:
        dispatcher.utter_message(
            response="utter_return_window_closed",
            order_id=order.id,
            delivered_on=format_day(order.delivered_at, language),
            return_window_days=window_days,
        )
    else:
        dispatcher.utter_message(
            response="utter_not_delivered_yet",
            order_id=order.id,
            status=order_status_name(order.status, language),
        )


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


class ActionAskReturnItem(Action):
    """Ask which item to return, with the order's items as buttons."""

    def name(self) -> str:
        """Asks for ``return_item``."""
        return "action_ask_return_item"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        """Utter the question with one button per item."""
        buttons = item_buttons(tracker.get_slot("order_id"), requester_from(tracker))
        dispatcher.utter_message(
            response="utter_ask_return_item",
            order_id=tracker.get_slot("order_id"),
            buttons=buttons,
        )
        return []


class ActionRequestReturn(OrderAction):
    """Create the return request, or explain why the order can't be returned."""

    reset_slots = ("return_item", "return_reason", "order_eligible")

    def name(self) -> str:
        """Submit action of ``return_form``."""
        return "action_request_return"

    def on_order(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        session: Session,
        order: Order,
        requester: shop.Requester,
    ) -> List[EventType] | None:
        """Check eligibility and record the ReturnRequest."""
        window = deps.settings().return_window_days
        now = deps.now()
        language = shopper_language(tracker)
        try:
            shop.check_returnable(order, now, window)
        except shop.NotReturnable as error:
            explain_not_returnable(dispatcher, order, error, window, language)
            return None
        item = tracker.get_slot("return_item")
        try:
            created = shop.request_return(
                session, order.id, requester, item, tracker.get_slot("return_reason"), now, window
            )
        except shop.AlreadyReturned:
            dispatcher.utter_message(
                response="utter_already_returned", order_id=order.id, item=item
            )
            return None
        except shop.ItemNotInOrder:
            names = join_names((i.product.name for i in order.items), language)
            dispatcher.utter_message(
                response="utter_return_item_unknown", order_id=order.id, items=names
            )
            return None
        dispatcher.utter_message(
            response="utter_return_created",
            order_id=order.id,
            item=created.item_name,
            return_id=created.id,
        )
        return None
