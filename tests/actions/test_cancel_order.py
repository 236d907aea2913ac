"""Cancelling: only before shipping, only after an explicit yes; the database is updated."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from actions.cancel_order import ActionCancelOrder, ValidateCancelOrderForm
from knowledge.models import Order, OrderStatus, PaymentStatus, Refund
from tests.actions.conftest import make_tracker, responses, run_action, slot_events
from tests.actions.facts import find_order, other_customer_order
from tests.conftest import SEED_NOW


def cancel_tracker(order: Order, confirm=None, customer_id=None):
    return make_tracker(
        {
            "customer_id": customer_id or order.customer_id,
            "order_id": str(order.id),
            "confirm_cancel": confirm,
            "order_eligible": True,
        },
        intent="affirm" if confirm else "deny",
    )


async def test_confirmed_cancellation_updates_order_and_refunds(domain, session_factory) -> None:
    order = find_order(session_factory, OrderStatus.PROCESSING, payment=PaymentStatus.PAID)
    events, messages = await run_action(ActionCancelOrder(), cancel_tracker(order, True), domain)
    assert responses(messages) == ["utter_order_cancelled_now", "utter_cancel_refund"]
    assert messages[1]["amount"] == f"${order.total:,.2f}"
    assert slot_events(events) == {"confirm_cancel": None, "order_eligible": None}
    with session_factory() as s:
        saved = s.get(Order, order.id)
        assert saved.status is OrderStatus.CANCELLED and saved.cancelled_at == SEED_NOW
        assert s.execute(select(Refund).where(Refund.order_id == order.id)).scalar_one()


async def test_denied_cancellation_keeps_the_order(domain, session_factory) -> None:
    order = find_order(session_factory, OrderStatus.PROCESSING)
    _, messages = await run_action(ActionCancelOrder(), cancel_tracker(order, False), domain)
    assert responses(messages) == ["utter_cancel_kept"]
    with session_factory() as s:
        assert s.get(Order, order.id).status is OrderStatus.PROCESSING


@pytest.mark.parametrize(
    ("status", "response"),
    [
        (OrderStatus.SHIPPED, "utter_cannot_cancel_shipped"),
        (OrderStatus.DELIVERED, "utter_cannot_cancel_delivered"),
        (OrderStatus.CANCELLED, "utter_already_cancelled"),
        (OrderStatus.REFUNDED, "utter_cannot_change_finished"),
    ],
)
async def test_impossible_cancellations_are_explained(domain, session_factory, status, response):
    order = find_order(session_factory, status)
    _, messages = await run_action(ActionCancelOrder(), cancel_tracker(order, True), domain)
    assert responses(messages) == [response]
    with session_factory() as s:
        assert s.get(Order, order.id).status is status


async def test_shipped_explanation_mentions_the_return_window(domain, session_factory) -> None:
    order = find_order(session_factory, OrderStatus.SHIPPED)
    _, [message] = await run_action(ActionCancelOrder(), cancel_tracker(order, True), domain)
    assert message["return_window_days"] == 30


async def test_other_customers_order_cannot_be_cancelled(domain, session_factory) -> None:
    order = find_order(session_factory, OrderStatus.PROCESSING)
    stranger = other_customer_order(session_factory, order.customer_id).customer_id
    _events, messages = await run_action(
        ActionCancelOrder(), cancel_tracker(order, True, customer_id=stranger), domain
    )
    assert responses(messages) == ["utter_not_your_order"]
    with session_factory() as s:
        assert s.get(Order, order.id).status is OrderStatus.PROCESSING


async def test_database_failure_changes_nothing(domain, session_factory, broken_database) -> None:
    order = find_order(session_factory, OrderStatus.PROCESSING)
    _, messages = await run_action(ActionCancelOrder(), cancel_tracker(order, True), domain)
    assert responses(messages) == ["utter_something_went_wrong"]


async def test_form_asks_for_confirmation_only_when_cancellable(domain, session_factory) -> None:
    for status, eligible, next_slot in [
        (OrderStatus.PROCESSING, True, "confirm_cancel"),
        (OrderStatus.SHIPPED, False, None),
    ]:
        order = find_order(session_factory, status)
        tracker = make_tracker(
            {"customer_id": order.customer_id, "order_id": str(order.id)},
            active_loop="cancel_order_form",
        )
        tracker.events.append({"event": "slot", "name": "order_id", "value": str(order.id)})
        events, messages = await run_action(ValidateCancelOrderForm(), tracker, domain)
        assert messages == []
        assert slot_events(events)["order_eligible"] is eligible
        assert slot_events(events)["requested_slot"] == next_slot
