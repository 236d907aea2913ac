"""Fixtures of the analytics tests: a small shop database and the fixed Rasa event log."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from insight.analytics.events import RawEvent, normalise
from insight.analytics.fold import fold
from knowledge.db import make_engine, make_session_factory
from knowledge.migrate import upgrade
from knowledge.models import Category, Customer, Order, OrderStatus, PaymentStatus, Product

logger = logging.getLogger(__name__)

EVENT_LOG = Path(__file__).resolve().parent / "data" / "event_log.json"
# "Now" of the churn measure in the tests (after every order's delivery).
NOW = datetime(2026, 11, 23, 12, 0, 0)
# Lifetime spend of the three customers of the log.
SPEND = {1: Decimal("800.00"), 2: Decimal("50.00"), 3: Decimal("120.00")}


def load_log() -> list[dict[str, Any]]:
    """The fixed event log: ``{"sender_id", **event.as_dict()}`` dicts."""
    return json.loads(EVENT_LOG.read_text(encoding="utf-8"))


def log_events() -> list[RawEvent]:
    """The fixed event log in normal form."""
    return [normalise(item) for item in load_log()]


def fill_shop(session: Session) -> None:
    """Two products in two categories and three customers with one delivered order each."""
    shoes, clothing = Category(name="Shoes"), Category(name="Clothing")
    session.add_all([shoes, clothing])
    session.flush()
    session.add_all(
        [
            Product(sku="TR-1", name="Trail Runner", category_id=shoes.id, price=Decimal("90")),
            Product(sku="DJ-1", name="Denim Jacket", category_id=clothing.id, price=Decimal("60")),
        ]
    )
    for cid, spend in SPEND.items():
        session.add(
            Customer(
                id=cid,
                name=f"Customer {cid}",
                email=f"customer{cid}@example.com",
                street=f"{cid} High Street",
                city="London",
                postcode="E1 6AN",
                country="GB",
                created_at=datetime(2026, 1, 1),
            )
        )
        session.flush()
        session.add(
            Order(
                customer_id=cid,
                status=OrderStatus.DELIVERED,
                placed_at=datetime(2026, 10, 1),
                shipping_street=f"{cid} High Street",
                shipping_city="London",
                shipping_postcode="E1 6AN",
                shipping_country="GB",
                payment_method="visa",
                payment_status=PaymentStatus.PAID,
                eta=datetime(2026, 10, 5).date(),
                delivered_at=datetime(2026, 10, 4),
                total=spend,
            )
        )


@pytest.fixture(scope="session")
def shop_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite shop with the small catalogue, made once and copied per test."""
    path = tmp_path_factory.mktemp("analytics-template") / "shop.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    engine = make_engine(url)
    with make_session_factory(engine)() as session, session.begin():
        fill_shop(session)
    engine.dispose()
    return path


@pytest.fixture()
def shop_url(shop_template: Path, tmp_path: Path) -> str:
    """URL of this test's copy of the small shop."""
    target = tmp_path / "analytics-shop.db"
    target.write_bytes(shop_template.read_bytes())
    return f"sqlite:///{target}"


@pytest.fixture()
def factory(shop_url: str) -> Iterator[sessionmaker]:
    """Session factory on this test's shop database."""
    engine = make_engine(shop_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture()
def folded(factory: sessionmaker) -> sessionmaker:
    """The shop with the fixed event log folded in."""
    fold(factory, log_events(), "fixture")
    return factory


@pytest.fixture()
def fresh(shop_template: Path, tmp_path: Path) -> Iterator[sessionmaker]:
    """A second, empty copy of the small shop (for comparing ingest paths with ``folded``)."""
    target = tmp_path / "analytics-fresh.db"
    target.write_bytes(shop_template.read_bytes())
    engine = make_engine(f"sqlite:///{target}")
    yield make_session_factory(engine)
    engine.dispose()
