"""Returns (delivered, inside the window, an item of the order) and refund status."""

from __future__ import annotations

from sqlalchemy import select

from actions.refunds import ActionTrackRefund
from actions.returns import ActionAskReturnItem, ActionRequestReturn, ValidateReturnForm
from knowledge.models import OrderStatus, ReturnRequest, ReturnStatus
from tests.actions.conftest import make_tracker, responses, run_action, slot_events
from tests.actions.facts import find_order, item_names


def return_tracker(order, item=None, reason="wrong size"):
    return make_tracker(
        {
            "customer_id": order.customer_id,
            "order_id": str(order.id),
            "return_item": item,
            "return_reason": reason,
        }
    )


async def test_return_inside_window_is_recorded(domain, session_factory) -> None:
    order = find_order(
        session_factory, OrderStatus.DELIVERED, within_return_window=True, without_returns=True
    )
    name = item_names(session_factory, order.id)[0]
    events, messages = await run_action(ActionRequestReturn(), return_tracker(order, name), domain)
    assert responses(messages) == ["utter_return_created"]
    assert slot_events(events) == {
        "return_item": None,
        "return_reason": None,
        "order_eligible": None,
    }
    with session_factory() as s:
        request = s.execute(
            select(ReturnRequest).where(ReturnRequest.order_id == order.id)
        ).scalar_one()
        assert (request.id, request.reason, request.status) == (
            messages[0]["return_id"],
            "wrong size",
            ReturnStatus.REQUESTED,
        )


async def test_return_refused_outside_window_or_before_delivery(domain, session_factory) -> None:
    old = find_order(session_factory, OrderStatus.DELIVERED, within_return_window=False)
    shipped = find_order(session_factory, OrderStatus.SHIPPED)
    for order, response in [
        (old, "utter_return_window_closed"),
        (shipped, "utter_not_delivered_yet"),
    ]:
        name = item_names(session_factory, order.id)[0]
        _, messages = await run_action(ActionRequestReturn(), return_tracker(order, name), domain)
        assert responses(messages) == [response]
        with session_factory() as s:
            assert not s.execute(
                select(ReturnRequest).where(ReturnRequest.order_id == order.id)
            ).all()


async def test_form_skips_item_and_reason_for_ineligible_orders(domain, session_factory) -> None:
    for order, eligible, next_slot in [
        (
            find_order(session_factory, OrderStatus.DELIVERED, within_return_window=True),
            True,
            "return_item",
        ),
        (
            find_order(session_factory, OrderStatus.DELIVERED, within_return_window=False),
            False,
            None,
        ),
    ]:
        tracker = make_tracker(
            {"customer_id": order.customer_id, "order_id": str(order.id)}, active_loop="return_form"
        )
        tracker.events.append({"event": "slot", "name": "order_id", "value": str(order.id)})
        events, _ = await run_action(ValidateReturnForm(), tracker, domain)
        assert slot_events(events)["order_eligible"] is eligible
        assert slot_events(events)["requested_slot"] == next_slot


async def test_item_buttons_and_validation(domain, session_factory) -> None:
    order = find_order(
        session_factory, OrderStatus.DELIVERED, within_return_window=True, min_items=2
    )
    names = item_names(session_factory, order.id)
    tracker = make_tracker({"customer_id": order.customer_id, "order_id": str(order.id)})
    _, [message] = await run_action(ActionAskReturnItem(), tracker, domain)
    assert [b["payload"] for b in message["buttons"]] == names
    validator = ValidateReturnForm()
    assert validator.validate_return_item(names[1], None, tracker, domain) == {
        "return_item": names[1]
    }
    assert validator.validate_return_reason("  too   small ", None, tracker, domain) == {
        "return_reason": "too small"
    }


async def test_refund_status_issued_pending_and_none(domain, session_factory) -> None:
    cases = [
        (find_order(session_factory, OrderStatus.REFUNDED), ["utter_refund_issued"]),
        (find_order(session_factory, OrderStatus.RETURNED), ["utter_refund_pending"]),
        (find_order(session_factory, OrderStatus.CANCELLED), ["utter_refund_issued"]),
        (find_order(session_factory, OrderStatus.SHIPPED), ["utter_no_refund"]),
    ]
    for order, expected in cases:
        tracker = make_tracker({"customer_id": order.customer_id, "order_id": str(order.id)})
        _, messages = await run_action(ActionTrackRefund(), tracker, domain)
        assert responses(messages) == expected, order.status
        if expected != ["utter_no_refund"]:
            assert messages[0]["amount"].startswith("$")


async def test_refund_status_mentions_returns_on_their_way(domain, session_factory) -> None:
    with session_factory() as s:
        request = (
            s.execute(select(ReturnRequest).where(ReturnRequest.status == ReturnStatus.REQUESTED))
            .scalars()
            .first()
        )
        order_id, customer_id = request.order_id, request.order.customer_id
    tracker = make_tracker({"customer_id": customer_id, "order_id": str(order_id)})
    _, messages = await run_action(ActionTrackRefund(), tracker, domain)
    assert "utter_refund_return_open" in responses(messages)
