"""The shop's query and command layer: every rule the bot's actions rely on."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from knowledge.models import (
    Customer,
    Order,
    OrderStatus,
    PaymentStatus,
    Refund,
    RefundStatus,
    ReturnRequest,
    ReturnStatus,
)
from knowledge.shop import queries as shop
from tests.actions.facts import customer_email, find_order, item_names, other_customer_order
from tests.conftest import SEED_NOW

WINDOW = 30


def owner(order: Order) -> shop.Requester:
    return shop.Requester(customer_id=order.customer_id)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1001", 1001), ("#1001", 1001), ("order 1234 please", 1234), (1001.0, 1001), (7, 7)],
)
def test_parse_order_id_finds_the_number(text, expected) -> None:
    assert shop.parse_order_id(text) == expected


@pytest.mark.parametrize("text", ["", None, "no idea", "abc", True])
def test_parse_order_id_rejects_text_without_digits(text) -> None:
    with pytest.raises(shop.InvalidOrderId):
        shop.parse_order_id(text)


def test_owner_sees_their_order_and_others_are_refused(session_factory) -> None:
    mine = find_order(session_factory, OrderStatus.SHIPPED)
    theirs = other_customer_order(session_factory, mine.customer_id)
    with session_factory() as s:
        view = shop.order_summary(s, mine.id, owner(mine))
        assert (view.id, view.status, view.tracking_number) == (
            mine.id,
            OrderStatus.SHIPPED,
            mine.tracking_number,
        )
        with pytest.raises(shop.NotCustomersOrder):
            shop.get_order(s, theirs.id, owner(mine))
        with pytest.raises(shop.OrderNotFound):
            shop.get_order(s, 999999, owner(mine))


def test_guest_needs_the_matching_email(session_factory) -> None:
    order = find_order(session_factory, OrderStatus.DELIVERED)
    email = customer_email(session_factory, order.id)
    with session_factory() as s:
        assert shop.get_order(s, order.id, shop.Requester(email=email.upper())).id == order.id
        with pytest.raises(shop.OrderNotFound):
            shop.get_order(s, order.id, shop.Requester(email="someone.else@example.com"))
        with pytest.raises(shop.OrderNotFound):
            shop.get_order(s, order.id, shop.Requester())


def test_cancel_processing_order_refunds_a_paid_one(session_factory) -> None:
    order = find_order(session_factory, OrderStatus.PROCESSING, payment=PaymentStatus.PAID)
    with session_factory() as s, s.begin():
        assert shop.cancel_order(s, order.id, owner(order), SEED_NOW) == order.total
    with session_factory() as s:
        saved = s.get(Order, order.id)
        assert saved.status is OrderStatus.CANCELLED
        assert saved.cancelled_at == SEED_NOW
        assert saved.payment_status is PaymentStatus.REFUNDED
        refund = s.execute(select(Refund).where(Refund.order_id == order.id)).scalar_one()
        assert (refund.amount, refund.status) == (order.total, RefundStatus.PENDING)


def test_cancel_unpaid_order_creates_no_refund(session_factory) -> None:
    order = find_order(session_factory, OrderStatus.PROCESSING, payment=PaymentStatus.FAILED)
    with session_factory() as s, s.begin():
        assert shop.cancel_order(s, order.id, owner(order), SEED_NOW) is None
    with session_factory() as s:
        assert s.get(Order, order.id).status is OrderStatus.CANCELLED
        assert not s.execute(select(Refund).where(Refund.order_id == order.id)).all()


@pytest.mark.parametrize(
    "status", [OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.CANCELLED]
)
def test_cancel_only_before_shipping(session_factory, status) -> None:
    order = find_order(session_factory, status)
    with session_factory() as s, pytest.raises(shop.OrderNotCancellable) as caught:
        shop.cancel_order(s, order.id, owner(order), SEED_NOW)
    assert caught.value.status is status


def test_cancel_other_customers_order_is_refused(session_factory) -> None:
    order = find_order(session_factory, OrderStatus.PROCESSING)
    stranger = shop.Requester(
        customer_id=other_customer_order(session_factory, order.customer_id).customer_id
    )
    with session_factory() as s, pytest.raises(shop.NotCustomersOrder):
        shop.cancel_order(s, order.id, stranger, SEED_NOW)
    with session_factory() as s:
        assert s.get(Order, order.id).status is OrderStatus.PROCESSING


def test_remove_item_adjusts_total_and_refunds(session_factory) -> None:
    order = find_order(
        session_factory, OrderStatus.PROCESSING, payment=PaymentStatus.PAID, min_items=2
    )
    name = item_names(session_factory, order.id)[0]
    with session_factory() as s, s.begin():
        removed = shop.remove_item(s, order.id, owner(order), name.lower(), SEED_NOW)
    with session_factory() as s:
        saved = s.get(Order, order.id)
        assert name not in [i.product.name for i in saved.items]
        assert saved.total == order.total - removed.unit_price * removed.quantity
        refund = s.execute(select(Refund).where(Refund.order_id == order.id)).scalar_one()
        assert refund.amount == removed.unit_price * removed.quantity


def test_remove_item_refuses_last_item_unknown_item_and_shipped_orders(session_factory) -> None:
    single = find_order(session_factory, OrderStatus.PROCESSING, max_items=1)
    multi = find_order(session_factory, OrderStatus.PROCESSING, min_items=2)
    shipped = find_order(session_factory, OrderStatus.SHIPPED, min_items=2)
    with session_factory() as s:
        with pytest.raises(shop.LastItem):
            shop.remove_item(
                s, single.id, owner(single), item_names(session_factory, single.id)[0], SEED_NOW
            )
        with pytest.raises(shop.ItemNotInOrder):
            shop.remove_item(s, multi.id, owner(multi), "a unicorn", SEED_NOW)
        with pytest.raises(shop.OrderNotChangeable):
            shop.remove_item(
                s, shipped.id, owner(shipped), item_names(session_factory, shipped.id)[0], SEED_NOW
            )


def test_parse_address() -> None:
    address = shop.parse_address("  12 Baker Street,  London , NW1 6XE ", "GB")
    assert address == shop.Address("12 Baker Street", "London", "NW1 6XE", "GB")
    assert shop.parse_address("Flat 2, 5 Rue X, Paris, 75001, fr", "GB") == shop.Address(
        "Flat 2, 5 Rue X", "Paris", "75001", "FR"
    )
    for bad in ["", "   ", "just a street", "x" * 300 + ", a, b"]:
        with pytest.raises(shop.InvalidAddress):
            shop.parse_address(bad, "GB")


def test_change_shipping_address_only_before_shipping(session_factory) -> None:
    order = find_order(session_factory, OrderStatus.PROCESSING)
    shipped = find_order(session_factory, OrderStatus.SHIPPED)
    with session_factory() as s, s.begin():
        shop.change_shipping_address(s, order.id, owner(order), "1 New Road, Leeds, LS1 1AA")
    with session_factory() as s:
        saved = s.get(Order, order.id)
        assert (saved.shipping_street, saved.shipping_city, saved.shipping_postcode) == (
            "1 New Road",
            "Leeds",
            "LS1 1AA",
        )
        with pytest.raises(shop.OrderNotChangeable):
            shop.change_shipping_address(
                s, shipped.id, owner(shipped), "1 New Road, Leeds, LS1 1AA"
            )


def test_return_inside_window_creates_a_request(session_factory) -> None:
    order = find_order(
        session_factory, OrderStatus.DELIVERED, within_return_window=True, without_returns=True
    )
    name = item_names(session_factory, order.id)[0]
    with session_factory() as s, s.begin():
        created = shop.request_return(
            s, order.id, owner(order), name, " wrong   size ", SEED_NOW, WINDOW
        )
    with session_factory() as s:
        request = s.get(ReturnRequest, created.id)
        assert (request.order_id, request.item.product.name, request.reason, request.status) == (
            order.id,
            name,
            "wrong size",
            ReturnStatus.REQUESTED,
        )
        with pytest.raises(shop.AlreadyReturned):
            shop.request_return(s, order.id, owner(order), name, "again", SEED_NOW, WINDOW)


def test_return_window_and_delivery_are_required(session_factory) -> None:
    old = find_order(session_factory, OrderStatus.DELIVERED, within_return_window=False)
    shipped = find_order(session_factory, OrderStatus.SHIPPED)
    with session_factory() as s:
        with pytest.raises(shop.NotReturnable) as closed:
            shop.returnable_order(s, old.id, owner(old), SEED_NOW, WINDOW)
        assert closed.value.window_closed
        with pytest.raises(shop.NotReturnable) as early:
            shop.returnable_order(s, shipped.id, owner(shipped), SEED_NOW, WINDOW)
        assert not early.value.window_closed
    # The same order is returnable with a wider window (the setting decides).
    days = (SEED_NOW - old.delivered_at + timedelta(days=1)).days
    with session_factory() as s:
        assert shop.returnable_order(s, old.id, owner(old), SEED_NOW, days).id == old.id


def test_refunds_of_refunded_and_cancelled_orders(session_factory) -> None:
    refunded = find_order(session_factory, OrderStatus.REFUNDED)
    returned = find_order(session_factory, OrderStatus.RETURNED)
    delivered = find_order(session_factory, OrderStatus.DELIVERED, without_returns=True)
    with session_factory() as s:
        [issued] = shop.refunds(s, refunded.id, owner(refunded))
        assert issued.status is RefundStatus.ISSUED and issued.issued_at and issued.item_name
        [pending] = shop.refunds(s, returned.id, owner(returned))
        assert pending.status is RefundStatus.PENDING and pending.issued_at is None
        assert shop.refunds(s, delivered.id, owner(delivered)) == []


def test_invoice_only_for_paid_orders(session_factory) -> None:
    paid = find_order(session_factory, OrderStatus.DELIVERED, payment=PaymentStatus.PAID)
    failed = find_order(session_factory, OrderStatus.PROCESSING, payment=PaymentStatus.FAILED)
    with session_factory() as s:
        number = shop.invoice_number(s, paid.id, owner(paid))
        assert number == paid.invoice_number
        assert shop.invoice_path(paid.id, number).endswith(f"{number}.pdf")
        with pytest.raises(shop.NoInvoice):
            shop.invoice_number(s, failed.id, owner(failed))


def test_change_email_validates_and_refuses_taken_addresses(session_factory) -> None:
    with session_factory() as s, s.begin():
        assert shop.change_email(s, 1, " New.Me@Example.com ") == "new.me@example.com"
    with session_factory() as s:
        assert s.get(Customer, 1).email == "new.me@example.com"
        with pytest.raises(shop.InvalidEmail):
            shop.change_email(s, 1, "not-an-email")
        with pytest.raises(shop.EmailTaken):
            shop.change_email(s, 1, s.get(Customer, 2).email)
        with pytest.raises(shop.CustomerNotFound):
            shop.change_email(s, 99999, "x@example.com")


def test_set_newsletter_reports_changes(session_factory) -> None:
    with session_factory() as s, s.begin():
        before = s.get(Customer, 1).newsletter
        assert shop.set_newsletter(s, 1, not before) is True
        assert shop.set_newsletter(s, 1, not before) is False
    with session_factory() as s:
        assert s.get(Customer, 1).newsletter is (not before)


def test_money_stays_decimal(session_factory) -> None:
    order = find_order(session_factory, OrderStatus.DELIVERED)
    with session_factory() as s:
        assert isinstance(shop.order_summary(s, order.id, owner(order)).total, Decimal)
