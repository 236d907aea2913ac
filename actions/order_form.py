"""Abstract validator of the forms that start with "which order?" (and, for guests, "which email?").

Subclasses name the form, say whether a verified order meets the flow's precondition
(:meth:`OrderFormValidator.eligible`) and list the slots to ask only when it does
(:attr:`OrderFormValidator.follow_up_slots`). When it does not, the form ends early and the
flow's action explains why, so that the explanation lives in one place.
"""

from __future__ import annotations

import abc
import logging
from typing import Any, Dict, List

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from actions import deps
from actions.form_stop import StoppableFormValidator
from actions.identity import customer_id_from, explain_refused_claim
from actions.shop_action import ELIGIBLE_SLOT, explain_order_error
from knowledge.models import Order
from knowledge.shop import queries as shop

logger = logging.getLogger(__name__)


class OrderFormValidator(StoppableFormValidator, abc.ABC):
    """Validate ``email`` and ``order_id`` together; ask follow-ups only for eligible orders."""

    #: Slots asked after the order is verified and eligible.
    follow_up_slots: tuple = ()

    @abc.abstractmethod
    def name(self) -> str:
        """``validate_<form name>``."""

    def eligible(self, order: Order) -> bool:
        """Whether the flow can go on with ``order``; the default accepts any order."""
        return True

    async def required_slots(
        self,
        domain_slots: List[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> List[str]:
        """Email for guests, the order number, then the follow-ups for an eligible order."""
        explain_refused_claim(dispatcher, tracker)  # a refused sign-in is why we ask for email
        slots = [] if customer_id_from(tracker) is not None else ["email"]
        slots.append("order_id")
        if tracker.get_slot("order_id") is not None and tracker.get_slot(ELIGIBLE_SLOT):
            slots.extend(self.follow_up_slots)
        return slots

    def validate_email(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        """A guest's email; when the order number is known, check the two belong together."""
        try:
            email = shop.normalise_email(value)
        except shop.InvalidEmail:
            dispatcher.utter_message(response="utter_invalid_email")
            return {"email": None}
        order_id = tracker.get_slot("order_id")
        if order_id is None:
            return {"email": email}
        checked = self._check(dispatcher, order_id, shop.Requester(email=email))
        if checked.get("order_id") is None:
            return {"email": None, **checked}
        return {"email": email, **checked}

    def validate_order_id(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        """The order number must be digits and one of the shopper's orders."""
        try:
            order_id = shop.parse_order_id(value)
        except shop.InvalidOrderId:
            dispatcher.utter_message(response="utter_invalid_order_id")
            return {"order_id": None, ELIGIBLE_SLOT: None}
        customer_id = customer_id_from(tracker)
        if customer_id is not None:
            return self._check(dispatcher, order_id, shop.Requester(customer_id=customer_id))
        email = tracker.get_slot("email")
        if not email:
            # A guest: keep the number unverified until we have their email (nothing shown).
            return {"order_id": str(order_id), ELIGIBLE_SLOT: None}
        checked = self._check(dispatcher, order_id, shop.Requester(email=str(email)))
        if checked.get("order_id") is None:
            return {"email": None, **checked}
        return checked

    def _check(
        self, dispatcher: CollectingDispatcher, order_id: Any, requester: shop.Requester
    ) -> Dict[str, Any]:
        """Slots after looking the order up for ``requester`` (errors explained and cleared)."""
        try:
            number = shop.parse_order_id(order_id)
            with deps.session_factory()() as session:
                order = shop.get_order(session, number, requester)
                ok = self.eligible(order)
        except shop.ShopError as error:
            logger.info("%s: %s", self.name(), error)
            explain_order_error(dispatcher, error, order_id, requester.customer_id is None)
            return {"order_id": None, ELIGIBLE_SLOT: None}
        except (SQLAlchemyError, OSError):
            logger.exception("%s could not look up order %s", self.name(), order_id)
            dispatcher.utter_message(response="utter_something_went_wrong")
            return {"order_id": None, ELIGIBLE_SLOT: None}
        return {"order_id": str(number), ELIGIBLE_SLOT: ok}
