"""``action_route_message``: rewrite a misread message's intent so that the right flow starts.

``RoutingPolicy`` (``nlu/routing_policy.py``) predicts this action when
:func:`nlu.routing.route` finds the latest message belongs to a transactional flow the NLU
did not name. The action makes the same decision from the same events and replaces the message
by a copy with the routed intent (confidence 1.0), the entities that carry the order number,
e-mail or item, and ``routed_from`` naming the NLU's intent, in the way Rasa's two-stage
fallback replaces a clarified message: revert the user turn, then log the corrected one. Rasa
then re-extracts slots (the order number fills ``order_id``) and the rules start the flow. The
message keeps its id and metadata, so per-turn bookkeeping sees one turn, and the shopper's
sign-in claim still counts.
"""

from __future__ import annotations

import copy
import logging
import time
from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from nlu.routing import ROUTED_KEY, Route, intent_name, latest_and_previous, route

logger = logging.getLogger(__name__)

ACTION_LISTEN = "action_listen"


def rewritten_message(user_event: Dict[str, Any], decision: Route) -> Dict[str, Any]:
    """A copy of the ``user`` event ``user_event`` with the routed intent and entities."""
    event = copy.deepcopy(user_event)
    parse = dict(event.get("parse_data") or {})
    entities = [dict(e) for e in parse.get("entities") or []]
    for added in decision.entities:
        if not any(
            e.get("entity") == added["entity"] and str(e.get("value")) == str(added["value"])
            for e in entities
        ):
            entities.append(dict(added))
    parse[ROUTED_KEY] = {"intent": intent_name(parse), "reason": decision.reason}
    parse["intent"] = {"name": decision.intent, "confidence": 1.0}
    parse["entities"] = entities
    event["parse_data"] = parse
    event["timestamp"] = time.time()
    return event


def _latest_user_event(tracker: Tracker) -> Dict[str, Any] | None:
    for event in reversed(tracker.events or []):
        if event.get("event") == "user":
            return event
    return None


class ActionRouteMessage(Action):
    """Replace the latest message by one with the intent of the flow it belongs to."""

    def name(self) -> str:
        """Predicted by ``RoutingPolicy``."""
        return "action_route_message"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        """Revert the user turn and log it again with the routed intent (nothing when none)."""
        latest, previous = latest_and_previous(tracker.events or [])
        user_event = _latest_user_event(tracker)
        decision = route(latest, previous) if latest is not None else None
        if decision is None or user_event is None:
            # The policy saw a reason to route that is gone (never expected): ask to rephrase.
            logger.warning("Nothing to route for %r", (latest or {}).get("text"))
            dispatcher.utter_message(response="utter_default")
            return []
        logger.info(
            "Routing %r from %s to %s (%s)",
            str(user_event.get("text"))[:80],
            intent_name(latest),
            decision.intent,
            decision.reason,
        )
        return [
            UserUtteranceReverted(),
            ActionExecuted(ACTION_LISTEN),
            rewritten_message(user_event, decision),
        ]
