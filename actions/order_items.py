"""The items of the shopper's order: as answer buttons, and as the value of an item slot."""

from __future__ import annotations

import abc
import logging
from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from actions import deps
from actions.identity import requester_from
from actions.localise import join_names, shopper_language
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


class AskOrderItemAction(Action, abc.ABC):
    """``action_ask_<slot>``: utter ``utter_ask_<slot>`` with one button per item of the order."""

    @property
    @abc.abstractmethod
    def slot(self) -> str:
        """The item slot this action asks for (a class attribute in subclasses)."""

    def name(self) -> str:
        """``action_ask_<slot>``, the action Rasa runs to ask for the slot."""
        return f"action_ask_{self.slot}"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        """Utter the question with one button per item."""
        buttons = item_buttons(tracker.get_slot("order_id"), requester_from(tracker))
        dispatcher.utter_message(
            response=f"utter_ask_{self.slot}",
            order_id=tracker.get_slot("order_id"),
            buttons=buttons,
        )
        return []
