"""Migration 0002 and a recorded turn on a real PostgreSQL server (skipped when none is reachable).

Uses ``SHOP_TEST_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``) to
create and drop a throw-away database.
"""

from __future__ import annotations

import os
import uuid
from datetime import datetime
from typing import Iterator

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, inspect, select
from sqlalchemy.engine import make_url

from knowledge.db import make_engine, make_session_factory
from knowledge.graph.queries import customer_profile, top_demands
from knowledge.graph.record import DemandInput, TurnInput, record_turn
from knowledge.migrate import alembic_config, upgrade
from knowledge.models import Base, GraphEdge, Message, Order, OrderStatus
from knowledge.shop.seed import seed

ADMIN_URL = os.environ.get(
    "SHOP_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
NOW = datetime(2026, 11, 20, 12, 0, 0)


@pytest.fixture()
def postgres_url() -> Iterator[str]:
    """URL of a fresh, empty PostgreSQL database, dropped afterwards."""
    psycopg2 = pytest.importorskip("psycopg2")
    try:
        admin = psycopg2.connect(ADMIN_URL, connect_timeout=3)
    except psycopg2.OperationalError as error:
        pytest.skip(
            f"PostgreSQL not reachable at {ADMIN_URL} ({error}); set SHOP_TEST_POSTGRES_URL"
        )
    admin.autocommit = True
    name = f"shop_graph_test_{uuid.uuid4().hex[:10]}"
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')  # name is generated here, not user input
    try:
        yield make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def test_graph_migration_and_turn_update_on_postgres(postgres_url: str) -> None:
    upgrade(postgres_url)
    engine = make_engine(postgres_url)
    try:
        assert {"conversations", "messages", "graph_edges", "escalations"} <= set(
            inspect(engine).get_table_names()
        )
        with engine.connect() as connection:
            assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
        factory = make_session_factory(engine)
        with factory() as session, session.begin():
            seed(session, seed_value=7, customers=5, products=10, now=NOW)
        with factory() as session:
            order = (
                session.execute(
                    select(Order).where(Order.status != OrderStatus.CANCELLED).order_by(Order.id)
                )
                .scalars()
                .first()
            )
            customer_id, order_id = order.customer_id, order.id
        turn = TurnInput(
            sender_id="pg-1",
            text="my trail running shoes arrived late",
            rasa_message_id="pg-m1",
            rasa_timestamp=1_795_000_000.0,
            channel="rest",
            customer_id=customer_id,
            intent="complain",
            intent_confidence=0.9,
            sentiment_label="negative",
            sentiment_score=-0.8,
            demands=(DemandInput("delivery", 0.9, "TRAIL running shoes"),),
            product_names=("trail running shoes",),
            order_refs=(f"#{order_id}",),
        )
        for _ in range(2):  # the replay must not write twice
            with factory() as session, session.begin():
                result = record_turn(session, turn, now=NOW)
        with factory() as session:
            assert session.execute(select(func.count(Message.id))).scalar_one() == 1
            relations = sorted(session.execute(select(GraphEdge.relation)).scalars())
            assert relations == ["COMPLAINED_ABOUT", "HAS_DEMAND", "MENTIONED"]
            message = session.get(Message, result.message_id)
            assert message.demands[0]["aspect"] == "delivery"
            assert message.order_id == order_id and message.product_id is not None
            assert [d.aspect for d in top_demands(session, customer_id)] == ["delivery"]
            assert customer_profile(session, customer_id).messages == 1
        command.downgrade(alembic_config(postgres_url), "0001")
        assert "graph_edges" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()
