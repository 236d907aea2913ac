"""Who the shopper is: the logged-in customer from channel metadata, or a guest's email.

The shop page sends ``{"customer_id": <id>}`` as message metadata (REST: the ``metadata``
field of the POST body; socket.io: ``customData``). Rasa stores the first message's metadata
in the ``session_started_metadata`` slot; later messages carry it in ``latest_message``.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from actions import deps
from knowledge import shop

logger = logging.getLogger(__name__)

CUSTOMER_ID_SLOT = "customer_id"
EMAIL_SLOT = "email"
SESSION_METADATA_SLOT = "session_started_metadata"
METADATA_KEY = "customer_id"


def parse_customer_id(value: Any) -> int | None:
    """A positive integer customer id from a metadata value, else None."""
    if isinstance(value, bool):
        return None
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def _from_metadata(metadata: Any) -> int | None:
    """The customer id inside a metadata dict, if any."""
    if isinstance(metadata, dict):
        return parse_customer_id(metadata.get(METADATA_KEY))
    return None


def customer_id_from(tracker: Tracker) -> int | None:
    """The logged-in customer's id: slot, then latest message metadata, then session metadata."""
    for candidate in (
        parse_customer_id(tracker.get_slot(CUSTOMER_ID_SLOT))
        if tracker.get_slot(CUSTOMER_ID_SLOT) is not None
        else None,
        _from_metadata((tracker.latest_message or {}).get("metadata")),
        _from_metadata(tracker.get_slot(SESSION_METADATA_SLOT)),
    ):
        if candidate is not None:
            return candidate
    return None


def requester_from(tracker: Tracker) -> shop.Requester | None:
    """Who asks: the logged-in customer, else a guest with the email they gave, else None."""
    customer_id = customer_id_from(tracker)
    if customer_id is not None:
        return shop.Requester(customer_id=customer_id)
    email = tracker.get_slot(EMAIL_SLOT)
    if email:
        return shop.Requester(email=str(email))
    return None


def is_signed_in(tracker: Tracker) -> bool:
    """True when the channel told us which customer is chatting."""
    return customer_id_from(tracker) is not None


class ActionSessionStart(Action):
    """Start a session and remember the logged-in customer from the channel metadata."""

    def name(self) -> str:
        """Rasa's session start action, overridden."""
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        """Emit SessionStarted, carry over slots, set ``customer_id`` if the metadata has one."""
        events: List[EventType] = [SessionStarted()]
        carried = self._carried_slots(tracker, domain)
        metadata = tracker.get_slot(SESSION_METADATA_SLOT)
        if metadata is not None:
            carried[SESSION_METADATA_SLOT] = metadata
        customer_id = _from_metadata(metadata)
        if customer_id is not None and self._exists(customer_id):
            carried[CUSTOMER_ID_SLOT] = customer_id
        elif customer_id is not None:
            logger.warning("Metadata names unknown customer %s; treating as guest", customer_id)
        events.extend(SlotSet(k, v) for k, v in carried.items())
        events.append(ActionExecuted("action_listen"))
        return events

    @staticmethod
    def _carried_slots(tracker: Tracker, domain: Dict[str, Any]) -> Dict[str, Any]:
        """Slots to keep from the previous session when the domain asks for it."""
        config = domain.get("session_config", {})
        if not config.get("carry_over_slots_to_new_session", True):
            return {}
        skip = {SESSION_METADATA_SLOT, "requested_slot"}
        return {
            name: value
            for name, value in tracker.current_slot_values().items()
            if value is not None and name not in skip
        }

    @staticmethod
    def _exists(customer_id: int) -> bool:
        """Whether the customer exists (a database error counts as unknown, and is logged)."""
        try:
            with deps.session_factory()() as session:
                return shop.customer_exists(session, customer_id)
        except SQLAlchemyError:
            logger.exception("Could not look up customer %s at session start", customer_id)
            return False
