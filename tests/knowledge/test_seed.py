"""The migration builds the schema; the seed fills it deterministically, every order state."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session, sessionmaker

from knowledge.db import make_engine, make_session_factory
from knowledge.migrate import upgrade
from knowledge.models import (
    Customer,
    Order,
    OrderStatus,
    PaymentStatus,
    Refund,
    ReturnRequest,
    ReturnStatus,
)
from knowledge.shop.seed import FIRST_ORDER_ID, is_empty, seed
from tests.conftest import SEED_NOW, SEED_VALUE


def _fingerprint(factory: sessionmaker[Session]) -> list[tuple]:
    with factory() as session:
        rows = session.execute(
            select(
                Order.id, Order.customer_id, Order.status, Order.total, Order.tracking_number
            ).order_by(Order.id)
        ).all()
    return [tuple(row) for row in rows]


def test_migration_creates_every_table(engine) -> None:
    tables = set(inspect(engine).get_table_names())
    assert {
        "customers",
        "products",
        "categories",
        "orders",
        "order_items",
        "returns",
        "refunds",
        "alembic_version",
    } <= tables


def test_migration_is_idempotent(database_url: str) -> None:
    upgrade(database_url)
    upgrade(database_url)


def test_seed_has_orders_in_every_state(session_factory) -> None:
    with session_factory() as session:
        statuses = Counter(session.execute(select(Order.status)).scalars())
        assert set(statuses) == set(OrderStatus)
        shipped = (
            session.execute(select(Order).where(Order.status == OrderStatus.SHIPPED))
            .scalars()
            .all()
        )
        assert shipped and all(o.tracking_number and o.carrier for o in shipped)
        assert all(o.eta is not None and o.eta > SEED_NOW.date() for o in shipped)
        assert session.execute(select(func.min(Order.id))).scalar_one() == FIRST_ORDER_ID
        assert (
            session.execute(
                select(func.count()).where(Order.payment_status == PaymentStatus.FAILED)
            ).scalar_one()
            > 0
        )


def test_returned_and_refunded_orders_have_returns_and_refunds(session_factory) -> None:
    with session_factory() as session:
        for order in session.execute(
            select(Order).where(Order.status.in_([OrderStatus.RETURNED, OrderStatus.REFUNDED]))
        ).scalars():
            assert order.returns, order.id
            refund = session.execute(select(Refund).where(Refund.order_id == order.id)).scalar_one()
            assert (refund.issued_at is not None) == (order.status is OrderStatus.REFUNDED)
        assert (
            session.execute(
                select(func.count(ReturnRequest.id)).where(
                    ReturnRequest.status == ReturnStatus.REQUESTED
                )
            ).scalar_one()
            > 0
        )


def test_seed_is_deterministic(tmp_path, session_factory) -> None:
    url = f"sqlite:///{tmp_path / 'again.db'}"
    upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with factory() as session, session.begin():
        assert is_empty(session)
        seed(session, seed_value=SEED_VALUE, customers=60, products=30, now=SEED_NOW)
    assert _fingerprint(factory) == _fingerprint(session_factory)
    with factory() as session:
        assert not is_empty(session)
        assert session.execute(select(func.count(Customer.id))).scalar_one() == 60
    engine.dispose()
