"""Asking for a person: record the request and say a human will take over.

The hand-off itself (notifying agents, pausing the bot) is later work that grows from here.
"""

from __future__ import annotations

import logging
from typing import List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.identity import customer_id_from

logger = logging.getLogger(__name__)


class ActionRequestHuman(Action):
    """Record that the shopper wants a person, and stop any form in progress."""

    def name(self) -> str:
        """Answers ``contact_human_agent``."""
        return "action_request_human"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        """Set ``handoff_requested`` and tell the shopper a person will take over."""
        logger.info(
            "Hand-off requested in conversation %s (customer %s)",
            tracker.sender_id,
            customer_id_from(tracker),
        )
        dispatcher.utter_message(response="utter_human_handoff")
        events: List[EventType] = [SlotSet("handoff_requested", True)]
        if tracker.active_loop_name:
            events += [ActiveLoop(None), SlotSet("requested_slot", None)]
        return events
