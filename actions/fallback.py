"""Not understood messages and stopping a flow.

A message the NLU did not understand is first looked up in the FAQ answers (it is often a
question no intent covers); when no template fits the bot says it is not sure and offers to
rephrase or a person, and after two misses in a row asks whether to bring in a person.
"""

from __future__ import annotations

import logging
from typing import List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.answer_question import answer_if_confident

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
    """FAQ answer if one fits; else say so honestly and offer a person (again after two misses)."""

    def name(self) -> str:
        """Answers ``nlu_fallback``."""
        return "action_handle_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        """Answer from the FAQ when a template fits, else ask to rephrase or offer a person."""
        answered = await answer_if_confident(dispatcher, tracker)
        if answered is not None:
            return answered
        if fallbacks_in_a_row(tracker) >= OFFER_HUMAN_AFTER:
            dispatcher.utter_message(response="utter_fallback_offer_human")
        else:
            dispatcher.utter_message(response="utter_faq_not_sure")
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
