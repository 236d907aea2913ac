"""Asking for a person: open an escalation, say what happens next, pause the bot.

The shared hand-over logic (durable escalation, agent presence, ``ConversationPaused``) lives in
``actions/escalation.py``; automatic hand-overs (churn risk, negative streak, repeated fallbacks)
use the same base through ``action_escalate``.
"""

from __future__ import annotations

import logging
from typing import List

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.escalation import EscalateBase
from knowledge.scoring.churn import TRIGGER_REQUEST

logger = logging.getLogger(__name__)


class ActionRequestHuman(EscalateBase):
    """The shopper asked for a person: escalate (stopping any form) and pause the bot."""

    started_response = "utter_human_handoff"

    def name(self) -> str:
        """Answers ``contact_human_agent``."""
        return "action_request_human"

    def trigger(self, tracker: Tracker) -> str:
        """Always an explicit request."""
        return TRIGGER_REQUEST

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[EventType]:
        """Escalate, and set ``handoff_requested`` for the dialogue."""
        events = await super().run(dispatcher, tracker, domain)
        return [SlotSet("handoff_requested", True), *events]
