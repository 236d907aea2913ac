"""Tracking: status in plain words, only for the shopper's own orders, errors answered politely."""

from __future__ import annotations

import pytest

from actions.track_order import (
    ActionAskTrackOrderId,
    ActionTrackOrder,
    ValidateTrackOrderForm,
    orders_on_the_way,
)
from knowledge.models import OrderStatus
from tests.actions.conftest import make_tracker, responses, run_action, slot_events
from tests.actions.facts import customer_email, find_order, other_customer_order


@pytest.mark.parametrize("status", list(OrderStatus))
async def test_track_every_status(domain, session_factory, status) -> None:
    order = find_order(session_factory, status)
    tracker = make_tracker({"customer_id": order.customer_id, "order_id": str(order.id)})
    events, messages = await run_action(ActionTrackOrder(), tracker, domain)
    assert responses(messages) == [f"utter_order_{status.value}"]
    assert messages[0]["order_id"] == order.id
    assert events == []


async def test_track_shipped_order_gives_carrier_tracking_and_eta(domain, session_factory) -> None:
    order = find_order(session_factory, OrderStatus.SHIPPED)
    tracker = make_tracker({"customer_id": order.customer_id, "order_id": str(order.id)})
    _, [message] = await run_action(ActionTrackOrder(), tracker, domain)
    assert message["carrier"] == order.carrier
    assert message["tracking_number"] == order.tracking_number
    assert str(order.eta.day) in message["eta"] and order.eta.strftime("%B") in message["eta"]


async def test_unknown_order_is_explained_and_cleared(domain) -> None:
    tracker = make_tracker({"customer_id": 1, "order_id": "999999"})
    events, messages = await run_action(ActionTrackOrder(), tracker, domain)
    assert responses(messages) == ["utter_order_not_found"]
    assert slot_events(events)["order_id"] is None


async def test_other_customers_order_reveals_nothing(domain, session_factory) -> None:
    order = find_order(session_factory, OrderStatus.SHIPPED)
    theirs = other_customer_order(session_factory, order.customer_id)
    tracker = make_tracker({"customer_id": order.customer_id, "order_id": str(theirs.id)})
    events, messages = await run_action(ActionTrackOrder(), tracker, domain)
    assert responses(messages) == ["utter_not_your_order"]
    assert theirs.tracking_number not in str(messages) if theirs.tracking_number else True
    assert slot_events(events)["order_id"] is None


async def test_guest_with_matching_email_can_track(domain, session_factory) -> None:
    order = find_order(session_factory, OrderStatus.DELIVERED)
    email = customer_email(session_factory, order.id)
    tracker = make_tracker({"email": email, "order_id": str(order.id)})
    _, messages = await run_action(ActionTrackOrder(), tracker, domain)
    assert responses(messages) == ["utter_order_delivered"]


async def test_guest_without_email_is_asked_instead_of_answered(domain) -> None:
    _, messages = await run_action(ActionTrackOrder(), make_tracker({"order_id": "1001"}), domain)
    assert responses(messages) == ["utter_ask_order_id"]


async def test_database_failure_is_answered_politely(domain, broken_database) -> None:
    tracker = make_tracker({"customer_id": 1, "order_id": "1001"})
    _events, messages = await run_action(ActionTrackOrder(), tracker, domain)
    assert responses(messages) == ["utter_something_went_wrong"]
    assert "Traceback" not in str(messages)


async def test_form_asks_guests_for_email_and_customers_only_for_the_order(domain) -> None:
    validator = ValidateTrackOrderForm()
    guest = make_tracker({}, active_loop="track_order_form")
    customer = make_tracker({"customer_id": 1}, active_loop="track_order_form")
    assert await validator.required_slots([], None, guest, domain) == ["email", "order_id"]
    assert await validator.required_slots([], None, customer, domain) == ["order_id"]


async def test_form_rejects_non_numeric_and_foreign_order_ids(domain, session_factory) -> None:
    validator = ValidateTrackOrderForm()
    mine = find_order(session_factory, OrderStatus.SHIPPED)
    theirs = other_customer_order(session_factory, mine.customer_id)
    for value, response in [
        ("no idea", "utter_invalid_order_id"),
        (str(theirs.id), "utter_not_your_order"),
        ("999999", "utter_order_not_found"),
    ]:
        tracker = make_tracker(
            {"customer_id": mine.customer_id, "order_id": value, "requested_slot": "order_id"},
            active_loop="track_order_form",
        )
        tracker.events.append({"event": "slot", "name": "order_id", "value": value})
        events, messages = await run_action(validator, tracker, domain)
        assert responses(messages) == [response]
        assert slot_events(events)["order_id"] is None
        assert slot_events(events)["requested_slot"] == "order_id"


async def test_form_accepts_own_order_and_finishes(domain, session_factory) -> None:
    order = find_order(session_factory, OrderStatus.SHIPPED)
    tracker = make_tracker(
        {
            "customer_id": order.customer_id,
            "order_id": f"#{order.id}",
            "requested_slot": "order_id",
        },
        active_loop="track_order_form",
    )
    tracker.events.append({"event": "slot", "name": "order_id", "value": f"#{order.id}"})
    events, messages = await run_action(ValidateTrackOrderForm(), tracker, domain)
    assert messages == []
    assert slot_events(events) == {
        "order_id": str(order.id),
        "order_eligible": True,
        "requested_slot": None,
    }


async def test_guest_order_and_email_must_belong_together(domain, session_factory) -> None:
    order = find_order(session_factory, OrderStatus.SHIPPED)
    validator = ValidateTrackOrderForm()
    # The number first: kept unverified, nothing revealed, email asked next.
    tracker = make_tracker({"order_id": str(order.id)}, active_loop="track_order_form")
    tracker.events.append({"event": "slot", "name": "order_id", "value": str(order.id)})
    events, messages = await run_action(validator, tracker, domain)
    # (the list equals the domain's, so rasa_sdk lets Rasa pick the next slot: email)
    assert messages == [] and slot_events(events).get("requested_slot", "email") == "email"
    assert slot_events(events)["order_id"] == str(order.id)
    # A wrong email: both cleared and the shopper told.
    tracker = make_tracker(
        {"order_id": str(order.id), "email": "wrong@example.com"}, active_loop="track_order_form"
    )
    tracker.events.append({"event": "slot", "name": "email", "value": "wrong@example.com"})
    events, messages = await run_action(validator, tracker, domain)
    assert responses(messages) == ["utter_order_not_found_guest"]
    assert slot_events(events)["email"] is None and slot_events(events)["order_id"] is None
    # The right email: verified and done.
    email = customer_email(session_factory, order.id)
    tracker = make_tracker(
        {"order_id": str(order.id), "email": email}, active_loop="track_order_form"
    )
    tracker.events.append({"event": "slot", "name": "email", "value": email})
    events, messages = await run_action(validator, tracker, domain)
    assert messages == []
    assert slot_events(events)["email"] == email
    assert slot_events(events)["order_eligible"] is True


async def test_form_rejects_malformed_email(domain) -> None:
    tracker = make_tracker({"email": "not an email"}, active_loop="track_order_form")
    tracker.events.append({"event": "slot", "name": "email", "value": "not an email"})
    events, messages = await run_action(ValidateTrackOrderForm(), tracker, domain)
    assert responses(messages) == ["utter_invalid_email"]
    assert slot_events(events)["email"] is None


async def test_form_survives_a_database_failure(domain, broken_database) -> None:
    tracker = make_tracker({"customer_id": 1, "order_id": "1001"}, active_loop="track_order_form")
    tracker.events.append({"event": "slot", "name": "order_id", "value": "1001"})
    events, messages = await run_action(ValidateTrackOrderForm(), tracker, domain)
    assert responses(messages) == ["utter_something_went_wrong"]
    assert slot_events(events)["order_id"] is None


# --- asked "which order?", a signed-in shopper first sees the orders on their way ---


def _on_the_way(session_factory, customer_id):
    with session_factory() as session:
        return [
            (o.id, o.status, o.tracking_number) for o in orders_on_the_way(session, customer_id)
        ]


async def test_asking_which_order_lists_the_orders_on_their_way(domain, session_factory) -> None:
    shipped = find_order(session_factory, OrderStatus.SHIPPED)
    listed = _on_the_way(session_factory, shipped.customer_id)
    assert shipped.id in [order_id for order_id, _, _ in listed]
    assert all(status in (OrderStatus.SHIPPED, OrderStatus.PROCESSING) for _, status, _ in listed)
    tracker = make_tracker({"customer_id": shipped.customer_id}, intent="track_order")
    events, messages = await run_action(ActionAskTrackOrderId(), tracker, domain)
    assert events == []
    names = responses(messages)
    assert names[0] == "utter_orders_on_the_way" and names[-1] == "utter_ask_which_order_on_the_way"
    shown = {m["order_id"]: m for m in messages[1:-1]}
    assert set(shown) == {order_id for order_id, _, _ in listed}
    assert shown[shipped.id]["tracking_number"] == shipped.tracking_number
    assert shown[shipped.id]["response"] == "utter_order_shipped"
    assert {b["payload"] for b in messages[-1]["buttons"]} == {
        f'/track_order{{"order_id": "{order_id}"}}' for order_id in shown
    }


async def test_a_guest_or_a_shopper_with_nothing_on_the_way_is_asked_for_the_number(
    domain, session_factory
) -> None:
    _, messages = await run_action(ActionAskTrackOrderId(), make_tracker({}), domain)
    assert responses(messages) == ["utter_ask_order_id"]
    delivered = find_order(session_factory, OrderStatus.DELIVERED)
    for customer_id in range(1, 61):
        if not _on_the_way(session_factory, customer_id):
            break
    else:
        pytest.skip("every seeded customer has an order on the way")
    tracker = make_tracker({"customer_id": customer_id})
    _, messages = await run_action(ActionAskTrackOrderId(), tracker, domain)
    assert responses(messages) == ["utter_no_orders_on_the_way"]
    assert delivered.id  # the seed has delivered orders too
