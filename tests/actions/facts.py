"""Finders of seeded orders with given properties, shared by the shop and action tests."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from knowledge.models import Order, OrderStatus, PaymentStatus
from tests.conftest import SEED_NOW

logger = logging.getLogger(__name__)


def find_order(
    factory: sessionmaker[Session],
    status: OrderStatus,
    *,
    payment: PaymentStatus | None = None,
    min_items: int = 1,
    max_items: int = 99,
    within_return_window: bool | None = None,
    window_days: int = 30,
    without_returns: bool = False,
) -> Order:
    """The first seeded order matching every condition (detached; raises if none)."""
    with factory() as session:
        query = select(Order).where(Order.status == status).order_by(Order.id)
        if payment is not None:
            query = query.where(Order.payment_status == payment)
        for order in session.execute(query).scalars():
            if not min_items <= len(order.items) <= max_items:
                continue
            if without_returns and order.returns:
                continue
            if within_return_window is not None:
                inside = SEED_NOW - order.delivered_at <= timedelta(days=window_days)
                if inside != within_return_window:
                    continue
            session.expunge(order)
            return order
    raise LookupError(f"no seeded {status.value} order with those properties")


def other_customer_order(factory: sessionmaker[Session], customer_id: int) -> Order:
    """An order of somebody other than ``customer_id``."""
    with factory() as session:
        order = (
            session.execute(
                select(Order).where(Order.customer_id != customer_id).order_by(Order.id)
            )
            .scalars()
            .first()
        )
        assert order is not None
        session.expunge(order)
        return order


def item_names(factory: sessionmaker[Session], order_id: int) -> list[str]:
    """Product names of the order's items."""
    with factory() as session:
        return [i.product.name for i in session.get(Order, order_id).items]


def customer_email(factory: sessionmaker[Session], order_id: int) -> str:
    """Email of the customer who placed the order."""
    with factory() as session:
        return session.get(Order, order_id).customer.email
