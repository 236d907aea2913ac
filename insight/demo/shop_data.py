"""What the simulated shoppers know about the shop: customers, their orders, the catalogue.

Read-only: the demo never writes to the shop database (every row it causes comes from the bot).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge.models import Customer, Order, OrderItem, Product

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ShopCustomer:
    """A seeded customer, the ids of their orders and the names of products they bought."""

    id: int
    order_ids: tuple[int, ...]
    product_names: tuple[str, ...]


@dataclass(frozen=True)
class ShopData:
    """The customers the demo signs in as and the product names shoppers talk about."""

    customers: tuple[ShopCustomer, ...]
    product_names: tuple[str, ...]


class ShopDataError(RuntimeError):
    """The shop database has no customers or products (run ``python -m knowledge setup``)."""


def load_shop_data(session: Session) -> ShopData:
    """Customers (by id) with their orders and bought products, and every product name."""
    products = tuple(session.execute(select(Product.name).order_by(Product.id)).scalars())
    orders: dict[int, list[int]] = {}
    for customer_id, order_id in session.execute(
        select(Order.customer_id, Order.id).order_by(Order.customer_id, Order.id)
    ):
        orders.setdefault(customer_id, []).append(order_id)
    bought: dict[int, list[str]] = {}
    for customer_id, name in session.execute(
        select(Order.customer_id, Product.name)
        .join(OrderItem, OrderItem.order_id == Order.id)
        .join(Product, Product.id == OrderItem.product_id)
        .order_by(Order.customer_id, OrderItem.id)
    ):
        names = bought.setdefault(customer_id, [])
        if name not in names:
            names.append(name)
    customers = tuple(
        ShopCustomer(cid, tuple(orders.get(cid, ())), tuple(bought.get(cid, ())))
        for cid in session.execute(select(Customer.id).order_by(Customer.id)).scalars()
    )
    if not customers or not products:
        raise ShopDataError("the shop database has no customers or products: run `make db`")
    return ShopData(customers, products)
