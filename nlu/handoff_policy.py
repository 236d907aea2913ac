"""``HandoffPolicy``: hands the conversation to a person when the per-turn assessment says so.

A dialogue policy, not an NLU component, but it is a Rasa graph component like the others, so it
lives here (``config.yml`` names it ``nlu.handoff_policy.HandoffPolicy``). It learns nothing: it
reads the ``handoff_event`` slot that ``action_assess_handoff`` (``actions/escalation.py``) sets
on every user turn through a custom slot mapping, and

* predicts ``action_escalate`` when the slot was set to ``"escalate:<trigger>"`` in this turn,
* predicts ``utter_handoff_rating_thanks`` when it was set to ``"rated"``,
* predicts ``action_listen`` right after that thank-you,

each with confidence 1.0 and a priority above the RulePolicy's (4), so it wins ties with rules
and forms; otherwise it predicts nothing (all zeros) and the other policies decide as usual.
Rules cannot express "whatever the intent, if this slot was just set", and a story per intent
would not cover forms, which is why this is a policy.
"""

from __future__ import annotations

import logging
from typing import Any, Dict

from rasa.core.policies.policy import PolicyPrediction
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from nlu.stateless_policy import StatelessPolicy, first_action_of_turn

logger = logging.getLogger(__name__)

# Slot the assessment action sets on every user turn.
EVENT_SLOT = "event_slot"
# Action run for "escalate:<trigger>".
ESCALATE_ACTION = "escalate_action"
# Response uttered for "rated".
THANKS_ACTION = "thanks_action"
# Above RulePolicy (4), so a hand-over wins over any rule or form of the same turn.
PRIORITY = "priority"

ESCALATE_PREFIX = "escalate:"
RATED = "rated"


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True
)
class HandoffPolicy(StatelessPolicy):
    """Predicts the hand-over action in the turn the assessment flagged it."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """Defaults: the slot, the actions, and a priority above RulePolicy."""
        return {
            # Slot set by action_assess_handoff on every user turn.
            EVENT_SLOT: "handoff_event",
            # Action that opens the escalation and pauses the bot.
            ESCALATE_ACTION: "action_escalate",
            # Response thanking the shopper for a rating.
            THANKS_ACTION: "utter_handoff_rating_thanks",
            # Policy priority (RulePolicy has 4, MemoizationPolicy 3, TEDPolicy 1).
            PRIORITY: 6,
        }

    def validate_domain(self, domain: Domain) -> None:
        """Raise a ValueError naming what the domain lacks."""
        slot = self.config[EVENT_SLOT]
        if slot not in {s.name for s in domain.slots}:
            raise ValueError(
                f"HandoffPolicy: slot '{slot}' is not in the domain; add bot/domain/handoff.yml "
                f"or set '{EVENT_SLOT}' in config.yml."
            )
        for key in (ESCALATE_ACTION, THANKS_ACTION):
            if self.config[key] not in domain.action_names_or_texts:
                raise ValueError(
                    f"HandoffPolicy: action '{self.config[key]}' ({key}) is not in the domain."
                )

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: Dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        """1.0 for the hand-over step of this turn, else no prediction."""
        result = self._default_predictions(domain)
        action = self.next_action(tracker)
        if action is not None and action in domain.action_names_or_texts:
            result[domain.index_for_action(action)] = 1.0
            logger.debug("HandoffPolicy predicts %s", action)
        return self._prediction(result)

    def next_action(self, tracker: DialogueStateTracker) -> str | None:
        """The action this policy wants now, if any."""
        if not first_action_of_turn(tracker):
            if tracker.latest_action_name == self.config[THANKS_ACTION]:
                return ACTION_LISTEN_NAME
            return None
        value = self._slot_set_this_turn(tracker)
        if isinstance(value, str) and value.startswith(ESCALATE_PREFIX):
            return str(self.config[ESCALATE_ACTION])
        if value == RATED:
            return str(self.config[THANKS_ACTION])
        return None

    def _slot_set_this_turn(self, tracker: DialogueStateTracker) -> Any:
        """The value the event slot got after the latest user message, if it got one."""
        slot = self.config[EVENT_SLOT]
        for event in reversed(tracker.events):
            if isinstance(event, UserUttered):
                return None
            if isinstance(event, SlotSet) and event.key == slot:
                return event.value
        return None
