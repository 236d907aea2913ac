"""RoutingPolicy: predicts action_route_message at a turn's first action, outside forms, for a
message that belongs to another flow (nlu/routing.py decides), and nothing otherwise."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict, List

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActiveLoop, Event, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from nlu.routing_policy import RoutingPolicy

logger = logging.getLogger(__name__)

DOMAIN_DIR = Path(__file__).resolve().parents[2] / "bot" / "domain"
ROUTE = "action_route_message"


@pytest.fixture(scope="module")
def domain() -> Domain:
    """The bot's real domain."""
    return Domain.load(str(DOMAIN_DIR))


@pytest.fixture()
def policy(tmp_path: Path, domain: Domain) -> RoutingPolicy:
    """A trained (nothing to learn) policy with the default config."""
    policy = RoutingPolicy(
        RoutingPolicy.get_default_config(),
        LocalModelStorage(tmp_path),
        Resource("routing"),
        ExecutionContext(GraphSchema({}), "test"),
    )
    policy.train([], domain)
    return policy


def user(text: str, intent: str, entities: List[Dict[str, Any]] | None = None) -> UserUttered:
    """A user message with parse data."""
    parse = {"intent": {"name": intent, "confidence": 0.9}, "entities": entities or []}
    return UserUttered(text, parse["intent"], parse["entities"], parse)


def predicted(policy: RoutingPolicy, domain: Domain, events: List[Event]) -> str | None:
    """The action the policy predicts with confidence 1, or None."""
    tracker = DialogueStateTracker.from_events("t", events, domain.slots)
    prediction = policy.predict_action_probabilities(tracker, domain)
    best = max(range(len(prediction.probabilities)), key=prediction.probabilities.__getitem__)
    return domain.action_names_or_texts[best] if prediction.probabilities[best] == 1.0 else None


def test_a_bare_number_after_a_cancel_request_is_routed(policy, domain):
    events = [
        ActionExecuted("action_listen"),
        user("I want to cancel an order", "cancel_order"),
        ActionExecuted("action_listen"),
        user("1043", "greet"),
    ]
    assert predicted(policy, domain, events) == ROUTE
    assert policy.config["priority"] == 5


def test_not_in_a_form_not_after_an_action_and_not_for_a_clear_message(policy, domain):
    listen = ActionExecuted("action_listen")
    bare = user("1043", "greet")
    in_form = [listen, ActiveLoop("track_order_form"), listen, bare]
    assert predicted(policy, domain, in_form) is None
    assert predicted(policy, domain, [listen, bare, ActionExecuted("utter_greet")]) is None
    # Right after the routing action (which reverts the turn when it routes): listen.
    assert predicted(policy, domain, [listen, bare, ActionExecuted(ROUTE)]) == "action_listen"
    clear = user("where is order 1043", "track_order", [{"entity": "order_id", "value": "1043"}])
    assert predicted(policy, domain, [listen, clear]) is None


def test_a_domain_without_the_action_is_named_in_the_error(tmp_path):
    policy = RoutingPolicy(
        {},
        LocalModelStorage(tmp_path),
        Resource("routing"),
        ExecutionContext(GraphSchema({}), "test"),
    )
    with pytest.raises(ValueError, match="action_route_message"):
        policy.train([], Domain.empty())
