"""``RoutingPolicy``: sends a message the NLU misread to the flow its words and context imply.

A dialogue policy like ``nlu/handoff_policy.py``: it learns nothing. At the first action of a
turn, outside any form, it asks :func:`nlu.routing.route` whether the latest message (with
the previous one as context) belongs to a transactional flow the NLU did not name: a bare order
number after a question, an order number with cue words ("return the shoes from order 1043")
under an FAQ or fallback intent, a late-parcel report. If so it predicts
``action_route_message`` (``actions/route_message.py``) with confidence 1.0 and a priority
between RulePolicy's (4) and HandoffPolicy's (6); that action rewrites the message's intent, and
the rules start the flow. Right after the action it predicts ``action_listen``: when the action
routes, it reverts the turn, so that only happens when it found nothing to do (it then asks the
shopper to rephrase). Rules cannot say "whatever the intent, if the text is a bare number".
"""

from __future__ import annotations

import logging
from typing import Any, Dict

from rasa.core.policies.policy import PolicyPrediction
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker

from nlu.routing import latest_and_previous, route
from nlu.stateless_policy import StatelessPolicy, first_action_of_turn

logger = logging.getLogger(__name__)

# Action that rewrites the message's intent.
ROUTE_ACTION = "route_action"
# Between RulePolicy (4) and HandoffPolicy (6): routing wins over rules, a hand-over over both.
PRIORITY = "priority"


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True
)
class RoutingPolicy(StatelessPolicy):
    """Predicts the routing action when the latest message belongs to another flow."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """Defaults: the routing action and a priority above RulePolicy."""
        return {
            # Custom action that rewrites the latest message's intent.
            ROUTE_ACTION: "action_route_message",
            # Policy priority (HandoffPolicy 6, RulePolicy 4, MemoizationPolicy 3, TEDPolicy 1).
            PRIORITY: 5,
        }

    def validate_domain(self, domain: Domain) -> None:
        """Raise a ValueError unless the domain knows the routing action."""
        if self.config[ROUTE_ACTION] not in domain.action_names_or_texts:
            raise ValueError(
                f"RoutingPolicy: action '{self.config[ROUTE_ACTION]}' is not in the domain; "
                f"list it in bot/domain/routing.yml or set '{ROUTE_ACTION}' in config.yml."
            )

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: Dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        """1.0 for the routing action when the latest message should be rerouted."""
        result = self._default_predictions(domain)
        action = str(self.config[ROUTE_ACTION])
        if tracker.latest_action_name == action:
            # The routing action found nothing to do (it reverts the turn when it routes).
            result[domain.index_for_action(ACTION_LISTEN_NAME)] = 1.0
        elif action in domain.action_names_or_texts and self.should_route(tracker):
            result[domain.index_for_action(action)] = 1.0
        return self._prediction(result)

    def should_route(self, tracker: DialogueStateTracker) -> bool:
        """True at a turn's first action, outside forms, when the message belongs elsewhere."""
        if tracker.active_loop_name or not first_action_of_turn(tracker):
            return False
        latest, previous = latest_and_previous([event.as_dict() for event in tracker.events])
        decision = route(latest, previous) if latest is not None else None
        if decision is not None:
            logger.debug("RoutingPolicy routes to %s: %s", decision.intent, decision.reason)
        return decision is not None
