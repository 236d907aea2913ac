"""action_route_message: the latest message is replaced by one with the routed intent, keeping
its id and metadata; nothing happens when there is nothing to route."""

from __future__ import annotations

import logging

from actions.route_message import ActionRouteMessage
from nlu.routing import ROUTED_KEY, route
from tests.actions.conftest import make_tracker, run_action
from tests.nlu.test_routing import parse, user_events

logger = logging.getLogger(__name__)


async def test_the_action_rewrites_the_message_keeping_its_id_and_metadata(domain):
    first = parse("I'd like to cancel an order", "cancel_order", 0.9)
    second = parse("1043", "greet", 0.8, entities=[])
    tracker = make_tracker({}, text="1043", intent="greet", events=user_events(first, second))
    events, messages = await run_action(ActionRouteMessage(), tracker, domain)
    assert messages == []
    assert [e["event"] for e in events] == ["rewind", "action", "user"]
    assert events[1]["name"] == "action_listen"
    user = events[2]
    assert (user["text"], user["message_id"], user["metadata"]) == (
        "1043",
        "m1",
        {"customer_id": "signed"},
    )
    assert user["parse_data"]["intent"] == {"name": "cancel_order", "confidence": 1.0}
    assert user["parse_data"][ROUTED_KEY]["intent"] == "greet"
    assert [(e["entity"], e["value"]) for e in user["parse_data"]["entities"]] == [
        ("order_id", "1043")
    ]
    # The rewritten message is not routed again.
    assert route(user["parse_data"], first) is None


async def test_the_action_does_nothing_when_there_is_nothing_to_route(domain):
    message = parse("where is order 1043", "track_order", 0.9)
    tracker = make_tracker({}, text=message["text"], events=user_events(message))
    events, messages = await run_action(ActionRouteMessage(), tracker, domain)
    assert (events, [m["response"] for m in messages]) == ([], ["utter_default"])
