"""``StatelessPolicy``: the base of our policies that learn nothing (hand-over, routing).

They read the tracker and predict one action when it applies; training only checks that the
domain knows what they need, and nothing is stored. Subclasses give the defaults
(``get_default_config``), ``validate_domain`` and ``predict_action_probabilities``.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List

from rasa.core.policies.policy import Policy
from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker

logger = logging.getLogger(__name__)


class StatelessPolicy(Policy):
    """A policy with its config merged over its defaults, nothing to learn and nothing stored."""

    def __init__(
        self,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        featurizer: Any | None = None,
    ) -> None:
        """Merge the config with the defaults."""
        super().__init__(
            {**self.get_default_config(), **config},
            model_storage,
            resource,
            execution_context,
            featurizer,
        )

    def train(
        self,
        training_trackers: List[TrackerWithCachedStates],
        domain: Domain,
        **kwargs: Any,
    ) -> Resource:
        """Nothing to learn; check that the domain knows what the policy needs."""
        self.validate_domain(domain)
        return self._resource

    def validate_domain(self, domain: Domain) -> None:
        """Raise a ValueError naming what the domain lacks (nothing, unless overridden)."""

    def persist(self) -> None:
        """Nothing to persist (the policy has no state)."""

    @classmethod
    def load(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> StatelessPolicy:
        """A policy with ``config`` (nothing is stored)."""
        return cls(config, model_storage, resource, execution_context)


def first_action_of_turn(tracker: DialogueStateTracker) -> bool:
    """True when no action has run since the latest user message.

    Not ``latest_action_name == action_listen``: a message that answers a bot utterance run
    through the HTTP API (the console's rating question after a hand-back) follows that
    utterance directly, with no ``action_listen`` in between.
    """
    for event in reversed(tracker.events):
        if isinstance(event, ActionExecuted):
            return False
        if isinstance(event, UserUttered):
            return True
    return False
