"""Abstract bases of every action that reads or writes the shop database.

:class:`ShopAction` opens one short transaction per run, turns the shop's domain errors into
friendly responses and any database failure into a polite "something went wrong" (never a
traceback). :class:`OrderAction` adds the verified order; :class:`OrderFormAction` hands the
submit action of an order form one :class:`OrderTurn`; :class:`OrderChangeAction` runs the steps
every change of an order shares: refuse (explained), confirm, apply.
"""

from __future__ import annotations

import abc
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from actions import deps
from actions.identity import explain_refused_claim, requester_from
from actions.localise import order_status_name, shopper_language
from knowledge.models import Order
from knowledge.shop import queries as shop

logger = logging.getLogger(__name__)

#: Slot an order form's validator sets once the order meets the flow's precondition.
ELIGIBLE_SLOT = "order_eligible"


def explain_order_error(
    dispatcher: CollectingDispatcher, error: shop.ShopError, order_id: Any, guest: bool
) -> bool:
    """Utter the response for an order lookup error; False if ``error`` is not one of those."""
    if isinstance(error, shop.InvalidOrderId):
        dispatcher.utter_message(response="utter_invalid_order_id")
    elif isinstance(error, shop.OrderNotFound):
        response = "utter_order_not_found_guest" if guest else "utter_order_not_found"
        dispatcher.utter_message(response=response, order_id=order_id)
    elif isinstance(error, shop.NotCustomersOrder):
        dispatcher.utter_message(response="utter_not_your_order", order_id=order_id)
    else:
        return False
    return True


class ShopAction(Action, abc.ABC):
    """Run :meth:`perform` inside one transaction, with errors answered politely."""

    #: Slots of this flow to clear once the action has run (so the next flow asks again).
    reset_slots: tuple = ()

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        """Open a session, call :meth:`perform`, and answer errors without crashing."""
        explain_refused_claim(dispatcher, tracker)
        events: List[EventType] = []
        try:
            with deps.session_factory()() as session, session.begin():
                events = self.perform(dispatcher, tracker, session)
        except shop.ShopError as error:
            logger.info("%s: %s", self.name(), error)
            events = self.on_shop_error(dispatcher, tracker, error)
        except (SQLAlchemyError, OSError):
            logger.exception("%s failed on the shop database", self.name())
            dispatcher.utter_message(response="utter_something_went_wrong")
        return events + [SlotSet(slot, None) for slot in self.reset_slots]

    @abc.abstractmethod
    def perform(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, session: Session
    ) -> List[EventType]:
        """Do the action's work with ``session`` (committed when this returns)."""

    def on_shop_error(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, error: shop.ShopError
    ) -> List[EventType]:
        """Explain a domain error that :meth:`perform` raised (rolled back)."""
        order_id = tracker.get_slot("order_id")
        guest = (requester_from(tracker) or shop.Requester()).customer_id is None
        if explain_order_error(dispatcher, error, order_id, guest):
            return [SlotSet("order_id", None)]
        dispatcher.utter_message(response="utter_something_went_wrong")
        return []


class OrderAction(ShopAction, abc.ABC):
    """A :class:`ShopAction` about the order in the ``order_id`` slot, for the verified shopper."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        """Ask for missing details instead of guessing, then run as a :class:`ShopAction`."""
        explain_refused_claim(dispatcher, tracker)
        if tracker.get_slot("order_id") is None or requester_from(tracker) is None:
            dispatcher.utter_message(response="utter_ask_order_id")
            return [SlotSet(slot, None) for slot in self.reset_slots]
        return await super().run(dispatcher, tracker, domain)

    def perform(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, session: Session
    ) -> List[EventType]:
        """Resolve the order number and requester, then call :meth:`on_order`."""
        order_id = shop.parse_order_id(tracker.get_slot("order_id"))
        requester = requester_from(tracker)
        assert requester is not None  # checked in run()
        order = shop.get_order(session, order_id, requester)
        return self.on_order(dispatcher, tracker, session, order, requester) or []

    @abc.abstractmethod
    def on_order(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        session: Session,
        order: Any,
        requester: shop.Requester,
    ) -> List[EventType] | None:
        """Act on the shopper's ``order`` (a :class:`knowledge.models.Order`)."""


class AccountAction(ShopAction, abc.ABC):
    """A :class:`ShopAction` that needs a signed-in customer."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        """Ask guests to sign in; run as a :class:`ShopAction` for customers."""
        requester = requester_from(tracker)
        if requester is None or requester.customer_id is None:
            dispatcher.utter_message(response=self.sign_in_response)
            return [SlotSet(slot, None) for slot in self.reset_slots]
        return await super().run(dispatcher, tracker, domain)

    #: Response telling a guest to sign in first.
    sign_in_response = "utter_sign_in_for_account"

    def customer_id(self, tracker: Tracker) -> int:
        """The signed-in customer's id (checked in :meth:`run`)."""
        requester = requester_from(tracker)
        assert requester is not None and requester.customer_id is not None
        return requester.customer_id


@dataclass(frozen=True)
class OrderTurn:
    """What the submit action of an order form works with: the verified order, in one turn."""

    dispatcher: CollectingDispatcher
    tracker: Tracker
    session: Session
    order: Order
    requester: shop.Requester
    #: The shopper's language (for the values put into responses).
    language: str
    #: The time of this turn (one reading, so that every step agrees).
    now: datetime

    def say(self, response: str, **values: Any) -> None:
        """Utter ``response`` about this order (``order_id`` filled in)."""
        self.dispatcher.utter_message(response=response, order_id=self.order.id, **values)

    def slot(self, name: str) -> Any:
        """The value of slot ``name``."""
        return self.tracker.get_slot(name)


class OrderFormAction(OrderAction, abc.ABC):
    """Submit action of an order form: :meth:`answer` an :class:`OrderTurn`, then clear the form."""

    reset_slots: tuple = (ELIGIBLE_SLOT,)

    def on_order(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        session: Session,
        order: Order,
        requester: shop.Requester,
    ) -> List[EventType] | None:
        """Bundle the turn and :meth:`answer` it."""
        language = shopper_language(tracker)
        self.answer(OrderTurn(dispatcher, tracker, session, order, requester, language, deps.now()))
        return None

    @abc.abstractmethod
    def answer(self, turn: OrderTurn) -> None:
        """Tell the shopper about (or act on) ``turn.order``."""


class OrderChangeAction(OrderFormAction, abc.ABC):
    """Change an order in three steps: :meth:`refuse` (explained), confirm, :meth:`apply`."""

    #: Boolean slot the shopper must have set to ``True`` first (``None``: nothing to confirm).
    confirm_slot: str | None = None
    #: Response when the shopper did not confirm.
    kept_response = ""

    def answer(self, turn: OrderTurn) -> None:
        """Explain a refusal, or keep the order unless confirmed, or apply the change."""
        if self.refuse(turn):
            return
        if self.confirm_slot is not None and turn.slot(self.confirm_slot) is not True:
            turn.say(self.kept_response)
            return
        self.apply(turn)

    def refuse(self, turn: OrderTurn) -> bool:
        """Explain why the order can't change and return True; the default allows only orders
        still processing (subclasses explain some states in their own words first)."""
        if turn.order.status in shop.CHANGEABLE:
            return False
        status = order_status_name(turn.order.status, turn.language)
        turn.say("utter_cannot_change_finished", status=status)
        return True

    @abc.abstractmethod
    def apply(self, turn: OrderTurn) -> None:
        """Make the change in ``turn.session`` and tell the shopper."""
