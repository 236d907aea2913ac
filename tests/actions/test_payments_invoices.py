"""Payment problems by payment status, and invoices only for paid orders."""

from __future__ import annotations

import pytest

from actions.invoices import ActionGetInvoice
from actions.payments import ActionCheckPayment
from knowledge.models import OrderStatus, PaymentStatus
from tests.actions.conftest import make_tracker, responses, run_action
from tests.actions.facts import find_order


@pytest.mark.parametrize(
    ("status", "payment", "response"),
    [
        (OrderStatus.PROCESSING, PaymentStatus.FAILED, "utter_payment_failed"),
        (OrderStatus.PROCESSING, PaymentStatus.PENDING, "utter_payment_pending"),
        (OrderStatus.SHIPPED, PaymentStatus.PAID, "utter_payment_ok"),
        (OrderStatus.REFUNDED, PaymentStatus.REFUNDED, "utter_payment_refunded"),
    ],
)
async def test_payment_status_advice(domain, session_factory, status, payment, response) -> None:
    order = find_order(session_factory, status, payment=payment)
    tracker = make_tracker({"customer_id": order.customer_id, "order_id": str(order.id)})
    _, messages = await run_action(ActionCheckPayment(), tracker, domain)
    assert responses(messages) == [response]
    assert messages[0]["total"] == f"${order.total:,.2f}"


async def test_invoice_for_paid_order(domain, session_factory) -> None:
    order = find_order(session_factory, OrderStatus.DELIVERED, payment=PaymentStatus.PAID)
    tracker = make_tracker({"customer_id": order.customer_id, "order_id": str(order.id)})
    _, [message] = await run_action(ActionGetInvoice(), tracker, domain)
    assert message["response"] == "utter_invoice"
    assert message["invoice_number"] == order.invoice_number
    assert order.invoice_number in message["invoice_path"]


async def test_no_invoice_while_unpaid(domain, session_factory) -> None:
    order = find_order(session_factory, OrderStatus.PROCESSING, payment=PaymentStatus.FAILED)
    tracker = make_tracker({"customer_id": order.customer_id, "order_id": str(order.id)})
    _, [message] = await run_action(ActionGetInvoice(), tracker, domain)
    assert (message["response"], message["payment_status"]) == ("utter_no_invoice", "failed")


async def test_invoice_of_unknown_order(domain) -> None:
    tracker = make_tracker({"customer_id": 1, "order_id": "999999"})
    _, messages = await run_action(ActionGetInvoice(), tracker, domain)
    assert responses(messages) == ["utter_order_not_found"]
