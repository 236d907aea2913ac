"""Changing items and addresses: only before shipping, validated, written to the database."""

from __future__ import annotations

from actions.change_order import ActionAskRemoveItem, ActionChangeOrder, ValidateChangeOrderForm
from actions.shipping_address import (
    ActionChangeShippingAddress,
    ActionSetSavedAddress,
    ValidateSavedAddressForm,
    ValidateShippingAddressForm,
)
from knowledge.models import Customer, Order, OrderStatus
from tests.actions.conftest import make_tracker, responses, run_action, slot_events
from tests.actions.facts import find_order, item_names


async def test_remove_item_from_processing_order(domain, session_factory) -> None:
    order = find_order(session_factory, OrderStatus.PROCESSING, min_items=2)
    name = item_names(session_factory, order.id)[-1]
    tracker = make_tracker(
        {"customer_id": order.customer_id, "order_id": str(order.id), "remove_item": name}
    )
    events, messages = await run_action(ActionChangeOrder(), tracker, domain)
    assert responses(messages) == ["utter_item_removed", "utter_add_items_hint"]
    assert slot_events(events)["remove_item"] is None
    assert name not in item_names(session_factory, order.id)


async def test_last_item_and_shipped_orders_are_explained(domain, session_factory) -> None:
    single = find_order(session_factory, OrderStatus.PROCESSING, max_items=1)
    shipped = find_order(session_factory, OrderStatus.SHIPPED)
    for order, response in [(single, "utter_last_item"), (shipped, "utter_cannot_change_shipped")]:
        name = item_names(session_factory, order.id)[0]
        tracker = make_tracker(
            {"customer_id": order.customer_id, "order_id": str(order.id), "remove_item": name}
        )
        _, messages = await run_action(ActionChangeOrder(), tracker, domain)
        assert responses(messages) == [response]
        assert item_names(session_factory, order.id) == item_names(session_factory, order.id)
        assert name in item_names(session_factory, order.id)


async def test_item_question_offers_the_orders_items_as_buttons(domain, session_factory) -> None:
    order = find_order(session_factory, OrderStatus.PROCESSING, min_items=2)
    tracker = make_tracker({"customer_id": order.customer_id, "order_id": str(order.id)})
    _, [message] = await run_action(ActionAskRemoveItem(), tracker, domain)
    assert message["response"] == "utter_ask_remove_item"
    assert [b["title"] for b in message["buttons"]] == item_names(session_factory, order.id)


async def test_item_must_belong_to_the_order(domain, session_factory) -> None:
    order = find_order(session_factory, OrderStatus.PROCESSING, min_items=2)
    validator = ValidateChangeOrderForm()
    tracker = make_tracker({"customer_id": order.customer_id, "order_id": str(order.id)})
    name = item_names(session_factory, order.id)[0]
    assert validator.validate_remove_item(name.upper(), None, tracker, domain) == {
        "remove_item": name
    }
    from rasa_sdk.executor import CollectingDispatcher

    dispatcher = CollectingDispatcher()
    assert validator.validate_remove_item("a unicorn", dispatcher, tracker, domain) == {
        "remove_item": None
    }
    assert responses(dispatcher.messages) == ["utter_item_not_in_order"]


async def test_change_shipping_address_updates_the_order(domain, session_factory) -> None:
    order = find_order(session_factory, OrderStatus.PROCESSING)
    tracker = make_tracker(
        {
            "customer_id": order.customer_id,
            "order_id": str(order.id),
            "shipping_address": "221B Baker Street, London, NW1 6XE",
        }
    )
    events, messages = await run_action(ActionChangeShippingAddress(), tracker, domain)
    assert responses(messages) == ["utter_address_changed"]
    assert slot_events(events)["shipping_address"] is None
    with session_factory() as s:
        saved = s.get(Order, order.id)
        assert (saved.shipping_street, saved.shipping_city, saved.shipping_postcode) == (
            "221B Baker Street",
            "London",
            "NW1 6XE",
        )


async def test_shipped_order_address_cannot_change(domain, session_factory) -> None:
    order = find_order(session_factory, OrderStatus.SHIPPED)
    tracker = make_tracker(
        {
            "customer_id": order.customer_id,
            "order_id": str(order.id),
            "shipping_address": "1 New Road, Leeds, LS1 1AA",
        }
    )
    _, messages = await run_action(ActionChangeShippingAddress(), tracker, domain)
    assert responses(messages) == ["utter_cannot_change_address_shipped"]
    with session_factory() as s:
        assert s.get(Order, order.id).shipping_city != "Leeds"


async def test_address_validation(domain) -> None:
    from rasa_sdk.executor import CollectingDispatcher

    validator = ValidateShippingAddressForm()
    tracker = make_tracker({"customer_id": 1})
    for text, response in [
        ("", "utter_invalid_address"),
        ("somewhere", "utter_invalid_address"),
        ("x, " * 120, "utter_address_too_long"),
    ]:
        dispatcher = CollectingDispatcher()
        assert validator.validate_shipping_address(text, dispatcher, tracker, domain) == {
            "shipping_address": None
        }
        assert responses(dispatcher.messages) == [response]
    assert validator.validate_shipping_address(
        " 1 New Road ,Leeds, LS1 1AA", CollectingDispatcher(), tracker, domain
    ) == {"shipping_address": "1 New Road ,Leeds, LS1 1AA"}


async def test_saved_address_for_customers_only(domain, session_factory) -> None:
    guest = make_tracker({"shipping_address": "1 New Road, Leeds, LS1 1AA"})
    _, messages = await run_action(ActionSetSavedAddress(), guest, domain)
    assert responses(messages) == ["utter_sign_in_for_account"]
    assert (
        await ValidateSavedAddressForm().required_slots(["shipping_address"], None, guest, domain)
        == []
    )
    customer = make_tracker({"customer_id": 4, "shipping_address": "1 New Road, Leeds, LS1 1AA"})
    _, messages = await run_action(ActionSetSavedAddress(), customer, domain)
    assert responses(messages) == ["utter_saved_address_changed"]
    with session_factory() as s:
        assert (s.get(Customer, 4).street, s.get(Customer, 4).city) == ("1 New Road", "Leeds")
