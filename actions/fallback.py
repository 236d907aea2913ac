"""Not understood messages and stopping a flow: rephrase first, offer a person after two."""

from __future__ import annotations

import logging
from typing import List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

logger = logging.getLogger(__name__)

FALLBACK_INTENT = "nlu_fallback"
#: After this many not understood messages in a row, offer a person.
OFFER_HUMAN_AFTER = 2


def fallbacks_in_a_row(tracker: Tracker) -> int:
    """How many of the latest user messages in a row were not understood."""
    count = 0
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if intent != FALLBACK_INTENT:
            break
        count += 1
    return count


class ActionHandleFallback(Action):
    """Ask to rephrase; after two misunderstandings in a row, offer a person."""

    def name(self) -> str:
        """Answers ``nlu_fallback``."""
        return "action_handle_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        """Utter the rephrase request or the offer of a person."""
        if fallbacks_in_a_row(tracker) >= OFFER_HUMAN_AFTER:
            dispatcher.utter_message(response="utter_fallback_offer_human")
        else:
            dispatcher.utter_message(response="utter_please_rephrase")
        return []


class ActionStopFlow(Action):
    """The shopper said no: stop any form in progress and offer further help."""

    def name(self) -> str:
        """Answers ``deny`` outside a confirmation question."""
        return "action_stop_flow"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        """Deactivate the active form, if any, and ask what else we can do."""
        dispatcher.utter_message(response="utter_ok_anything_else")
        if tracker.active_loop_name:
            return [ActiveLoop(None), SlotSet("requested_slot", None)]
        return []
