"""Change where an order ships (before shipping) or the account's saved shipping address."""

from __future__ import annotations

import logging
import unicodedata
from typing import Any, Dict, List

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.orm import Session

from actions.account import SignedInFormValidator
from actions.localise import language_before_latest_message, word
from actions.order_form import OrderFormValidator
from actions.shop_action import ELIGIBLE_SLOT, AccountAction, OrderChangeAction, OrderTurn
from knowledge.language import LANGUAGE_SLOT
from knowledge.models import Order, OrderStatus
from knowledge.shop import queries as shop

logger = logging.getLogger(__name__)


def address_text(value: Any) -> str:
    """The typed address on one line, with Chinese commas (full-width, ``、``) read as commas."""
    text = unicodedata.normalize("NFKC", str(value or "")).replace("、", ",")
    return " ".join(text.split())


def validate_address_text(
    value: Any, dispatcher: CollectingDispatcher, tracker: Tracker
) -> Dict[str, Any]:
    """``{"shipping_address": text}`` when the text parses as an address, else ask again.

    An address carries no language of its own ("12 Baker Street" from a Chinese shopper): the
    conversation's language before it is kept.
    """
    kept = {}
    previous = language_before_latest_message(tracker)
    if previous is not None and previous != tracker.get_slot(LANGUAGE_SLOT):
        kept[LANGUAGE_SLOT] = previous
    text = address_text(value)
    try:
        shop.parse_address(text, default_country="GB")
    except shop.InvalidAddress as error:
        too_long = len(text) > shop.MAX_ADDRESS_LENGTH
        logger.info("Rejected address: %s", error)
        dispatcher.utter_message(
            response="utter_address_too_long" if too_long else "utter_invalid_address"
        )
        return {"shipping_address": None, **kept}
    return {"shipping_address": text, **kept}


class ValidateShippingAddressForm(OrderFormValidator):
    """Which order, then the new address (only for orders not yet shipped)."""

    follow_up_slots = ("shipping_address",)

    def name(self) -> str:
        """Validator of ``shipping_address_form``."""
        return "validate_shipping_address_form"

    def eligible(self, order: Order) -> bool:
        """Only orders in processing can get a new address."""
        return order.status in shop.CHANGEABLE

    def validate_shipping_address(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        """Non-empty, not absurdly long, street, city and postcode."""
        return validate_address_text(value, dispatcher, tracker)


class ActionChangeShippingAddress(OrderChangeAction):
    """Update the order's shipping fields, or explain why it's too late."""

    reset_slots = ("shipping_address", ELIGIBLE_SLOT)

    def name(self) -> str:
        """Submit action of ``shipping_address_form``."""
        return "action_change_shipping_address"

    def refuse(self, turn: OrderTurn) -> bool:
        """A shipped order goes where it was sent: say with whom, and how to track it."""
        if turn.order.status is not OrderStatus.SHIPPED:
            return super().refuse(turn)
        turn.say(
            "utter_cannot_change_address_shipped",
            carrier=turn.order.carrier or word("our_carrier", turn.language),
            tracking_number=turn.order.tracking_number or word("no_tracking_number", turn.language),
        )
        return True

    def apply(self, turn: OrderTurn) -> None:
        """Change the address of the processing order."""
        address = shop.change_shipping_address(
            turn.session, turn.order.id, turn.requester, turn.slot("shipping_address")
        )
        turn.say("utter_address_changed", address=str(address))


class ValidateSavedAddressForm(SignedInFormValidator):
    """The account's new saved address (signed-in customers only)."""

    def name(self) -> str:
        """Validator of ``saved_address_form``."""
        return "validate_saved_address_form"

    def validate_shipping_address(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        """Non-empty, not absurdly long, street, city and postcode."""
        return validate_address_text(value, dispatcher, tracker)


class ActionSetSavedAddress(AccountAction):
    """Save the customer's new default shipping address."""

    reset_slots = ("shipping_address",)

    def name(self) -> str:
        """Submit action of ``saved_address_form``."""
        return "action_set_saved_address"

    def perform(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, session: Session
    ) -> List[EventType]:
        """Write the address to the customer record."""
        text = tracker.get_slot("shipping_address")
        if not text:
            dispatcher.utter_message(response="utter_ask_shipping_address")
            return []
        address = shop.set_default_address(session, self.customer_id(tracker), text)
        dispatcher.utter_message(response="utter_saved_address_changed", address=str(address))
        return []
