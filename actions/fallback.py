"""Not understood messages and stopping a flow: no dead ends.

A message the NLU did not understand goes through stages (Rasa's two-stage fallback, with
buttons), counted by the not-understood messages in a row (a "Something else" click counts):

1. an FAQ answer when one template clearly fits; else the bot's best two or three guesses from
   the intent ranking as buttons, in the shopper's language ("Do you want to track an order or
   start a return?"), carrying the message's order number, plus "Something else"; with no
   guess, the FAQ lookup (answer or "which one did you mean"), else "not sure: rephrase, or
   talk to a person";
2. ("Something else", or the rephrased message is not understood either) the FAQ lookup on the
   shopper's latest typed words; else the offer of a person.

Messages that belong to a flow (an order number with cue words, a bare number after a question)
never get here: ``RoutingPolicy`` routes them first (``nlu/routing.py``).
"""

from __future__ import annotations

import logging
from typing import List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.answer_question import answer_if_confident, shopper_language
from actions.clarify import guess_buttons, guess_question
from actions.form_stop import STOPPED_RESPONSE, stop_form_events
from nlu.routing import FALLBACK_INTENT, guesses, latest_typed, user_messages

logger = logging.getLogger(__name__)

#: Stage of the first not-understood message: guesses as buttons.
GUESS_STAGE = 1


def fallbacks_in_a_row(tracker: Tracker) -> int:
    """How many of the latest user messages in a row were not understood."""
    count = 0
    for message in reversed(user_messages(tracker.events or [])):
        if (message.get("intent") or {}).get("name") != FALLBACK_INTENT:
            break
        count += 1
    return count


class ActionHandleFallback(Action):
    """Guesses as buttons, then the FAQ, then a person: never a dead end."""

    def name(self) -> str:
        """Answers ``nlu_fallback``."""
        return "action_handle_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        """Answer the not-understood message according to its stage."""
        stage = fallbacks_in_a_row(tracker)
        words = latest_typed(tracker.events or [])
        text = str((words or {}).get("text") or "")
        if stage <= GUESS_STAGE:
            answered = await answer_if_confident(dispatcher, tracker, text, allow_choice=False)
            if answered is not None:
                return answered
            picks = guesses(words)
            if picks:
                language = shopper_language(tracker)
                logger.info("Guessing %s for %r", picks, text[:80])
                dispatcher.utter_message(
                    text=guess_question(picks, language),
                    buttons=guess_buttons(picks, (words or {}).get("entities") or [], language),
                )
                return []
        answered = await answer_if_confident(dispatcher, tracker, text)
        if answered is not None:
            return answered
        if stage <= GUESS_STAGE:
            dispatcher.utter_message(response="utter_faq_not_sure")
        else:
            dispatcher.utter_message(response="utter_fallback_offer_human")
        return []


class ActionStopFlow(Action):
    """The shopper said no: stop any form in progress (see actions/form_stop.py), offer help."""

    def name(self) -> str:
        """Answers ``deny`` outside a confirmation question."""
        return "action_stop_flow"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        """End the active form, if any (confirming it stopped), and ask what else we can do."""
        form = tracker.active_loop_name
        if not form:
            dispatcher.utter_message(response="utter_ok_anything_else")
            return []
        logger.info("%s stopped by %r", form, (tracker.latest_message or {}).get("text"))
        dispatcher.utter_message(response=STOPPED_RESPONSE)
        return stop_form_events(form, domain)
