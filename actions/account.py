"""Account requests: deletion (recorded, never executed here) and changing the email."""

from __future__ import annotations

import abc
import logging
from typing import Any, Dict, List

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from actions import deps
from actions.form_stop import StoppableFormValidator
from actions.identity import customer_id_from, is_signed_in
from actions.shop_action import AccountAction
from knowledge.shop import queries as shop

logger = logging.getLogger(__name__)


class SignedInFormValidator(StoppableFormValidator, abc.ABC):
    """A form that asks nothing of guests (its action tells them to sign in)."""

    @abc.abstractmethod
    def name(self) -> str:
        """``validate_<form name>``."""

    async def required_slots(
        self,
        domain_slots: List[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> List[str]:
        """The domain's slots for customers, none for guests."""
        return list(domain_slots) if is_signed_in(tracker) else []


class ValidateDeleteAccountForm(SignedInFormValidator):
    """Confirmation of the deletion request."""

    def name(self) -> str:
        """Validator of ``delete_account_form``."""
        return "validate_delete_account_form"


class ActionDeleteAccount(AccountAction):
    """Record a confirmed deletion request (the privacy team executes it; no data is deleted)."""

    reset_slots = ("confirm_delete",)

    def name(self) -> str:
        """Submit action of ``delete_account_form``."""
        return "action_delete_account"

    def perform(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, session: Session
    ) -> List[EventType]:
        """Check the customer exists and record the request in the log."""
        customer = shop.get_customer(session, self.customer_id(tracker))
        if tracker.get_slot("confirm_delete") is not True:
            dispatcher.utter_message(response="utter_delete_kept")
            return []
        logger.info(
            "Account deletion requested by customer %d (conversation %s)",
            customer.id,
            tracker.sender_id,
        )
        dispatcher.utter_message(response="utter_delete_recorded")
        return []


class ValidateEmailChangeForm(SignedInFormValidator):
    """The new email: a valid address not used by another account."""

    def name(self) -> str:
        """Validator of ``email_change_form``."""
        return "validate_email_change_form"

    def validate_new_email(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        """Reject malformed addresses and addresses of other accounts."""
        try:
            email = shop.normalise_email(value)
        except shop.InvalidEmail:
            dispatcher.utter_message(response="utter_invalid_email")
            return {"new_email": None}
        customer_id = customer_id_from(tracker)
        try:
            with deps.session_factory()() as session:
                taken = shop.email_in_use(session, email, exclude_customer_id=customer_id)
        except (SQLAlchemyError, OSError):
            logger.exception("Could not check email availability")
            dispatcher.utter_message(response="utter_something_went_wrong")
            return {"new_email": None}
        if taken:
            dispatcher.utter_message(response="utter_email_taken")
            return {"new_email": None}
        return {"new_email": email}


class ActionChangeEmail(AccountAction):
    """Change the account's email address."""

    reset_slots = ("new_email",)

    def name(self) -> str:
        """Submit action of ``email_change_form``."""
        return "action_change_email"

    def perform(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, session: Session
    ) -> List[EventType]:
        """Write the validated email to the customer record."""
        new_email = tracker.get_slot("new_email")
        if not new_email:
            dispatcher.utter_message(response="utter_ask_new_email")
            return []
        try:
            email = shop.change_email(session, self.customer_id(tracker), new_email)
        except shop.EmailTaken:
            dispatcher.utter_message(response="utter_email_taken")
            return []
        except shop.InvalidEmail:
            dispatcher.utter_message(response="utter_invalid_email")
            return []
        dispatcher.utter_message(response="utter_email_changed", email=email)
        return []
