"""Migration 0002 and recording user turns into the knowledge graph against a real database."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session, sessionmaker

from knowledge.graph.record import (
    DemandInput,
    TurnInput,
    order_number,
    record_turn,
    signed_sentiment,
)
from knowledge.migrate import alembic_config, upgrade
from knowledge.models import (
    Base,
    Conversation,
    Customer,
    GraphEdge,
    Message,
    Order,
    OrderStatus,
    Product,
)

NOW = datetime(2026, 11, 20, 12, 0, 0)
GRAPH_TABLES = {"conversations", "messages", "graph_edges", "escalations"}


def _ts(when: datetime) -> float:
    return when.replace(tzinfo=timezone.utc).timestamp()


def _record(factory: sessionmaker[Session], turn: TurnInput):
    with factory() as session, session.begin():
        return record_turn(session, turn, now=NOW)


def _edges(session: Session, message_id: int) -> list[tuple]:
    rows = session.execute(
        select(
            GraphEdge.source_type,
            GraphEdge.source_key,
            GraphEdge.relation,
            GraphEdge.target_type,
            GraphEdge.target_key,
            GraphEdge.weight,
            GraphEdge.properties,
        )
        .where(GraphEdge.message_id == message_id)
        .order_by(GraphEdge.id)
    ).all()
    return [tuple(r) for r in rows]


@pytest.fixture()
def shop(session_factory):
    """A customer, one of their shipped orders and a product from the seeded shop."""
    with session_factory() as session:
        order = (
            session.execute(
                select(Order).where(Order.status == OrderStatus.SHIPPED).order_by(Order.id)
            )
            .scalars()
            .first()
        )
        product = session.execute(
            select(Product).where(Product.name == "Wireless Earbuds")
        ).scalar_one()
        return {"customer": order.customer_id, "order": order.id, "product": product.id}


def test_migration_0002_creates_graph_tables_matching_the_models(engine, database_url) -> None:
    # The migrations create the analytics tables too; their models live in insight.analytics.
    import insight.analytics.tables  # noqa: F401

    assert set(inspect(engine).get_table_names()) >= GRAPH_TABLES
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
        assert (
            # 0002 or a later head (0003 adds the hand-over tables).
            connection.exec_driver_sql("select version_num from alembic_version").scalar() >= "0002"
        )


def test_migration_0002_downgrades_and_upgrades_again(engine, database_url) -> None:
    command.downgrade(alembic_config(database_url), "0001")
    tables = set(inspect(engine).get_table_names())
    assert not GRAPH_TABLES & tables and "orders" in tables
    upgrade(database_url)
    assert set(inspect(engine).get_table_names()) >= GRAPH_TABLES


def test_signed_sentiment_and_order_numbers() -> None:
    scores = {"negative": 0.9, "neutral": 0.08, "positive": 0.02}
    assert signed_sentiment({"label": "negative", "confidence": 0.9, "scores": scores}) == (
        "negative",
        -0.88,
        0.9,
    )
    assert signed_sentiment({"label": "positive", "confidence": 0.7}) == ("positive", 0.7, 0.7)
    assert signed_sentiment({"label": "neutral", "confidence": 0.6}) == ("neutral", 0.0, 0.6)
    assert signed_sentiment(None) == (None, None, None)
    assert [order_number(v) for v in ("#1234", "1234", 1234, "order no. 77", "abc", None)] == [
        1234,
        1234,
        1234,
        77,
        None,
        None,
    ]


def test_track_order_turn_mentions_the_order(session_factory, shop) -> None:
    result = _record(
        session_factory,
        TurnInput(
            sender_id="web-1",
            text=f"where is my order #{shop['order']}?",
            rasa_message_id="m-1",
            rasa_timestamp=_ts(datetime(2026, 11, 19, 9, 30)),
            channel="rest",
            customer_id=shop["customer"],
            intent="track_order",
            intent_confidence=0.97,
            sentiment_label="neutral",
            sentiment_score=0.05,
            sentiment_confidence=0.8,
            order_refs=(f"#{shop['order']}",),
        ),
    )
    assert result.created and result.turn == 1 and result.order_ids == (shop["order"],)
    with session_factory() as session:
        message = session.get(Message, result.message_id)
        assert (message.intent, message.intent_confidence, message.sentiment_label) == (
            "track_order",
            0.97,
            "neutral",
        )
        assert message.customer_id == shop["customer"] and message.order_id == shop["order"]
        assert message.sent_at == datetime(2026, 11, 19, 9, 30) and message.created_at == NOW
        conversation = session.get(Conversation, result.conversation_id)
        assert (conversation.sender_id, conversation.customer_id, conversation.channel) == (
            "web-1",
            shop["customer"],
            "rest",
        )
        assert conversation.turn_count == 1
        assert _edges(session, message.id) == [
            (
                "customer",
                str(shop["customer"]),
                "MENTIONED",
                "order",
                str(shop["order"]),
                1.0,
                {"sentiment": 0.05, "intent": "track_order"},
            ),
        ]


def test_complaint_naming_a_product_links_customer_product_and_aspect(session_factory, shop):
    result = _record(
        session_factory,
        TurnInput(
            sender_id="web-2",
            text="the wireless earbuds broke after two days",
            rasa_message_id="m-2",
            customer_id=shop["customer"],
            intent="complain",
            sentiment_label="negative",
            sentiment_score=-0.88,
            demands=(DemandInput("quality", 0.91, "wireless EARBUDS"),),
            product_names=("wireless earbuds",),
        ),
    )
    assert result.product_ids == (shop["product"],)
    with session_factory() as session:
        message = session.get(Message, result.message_id)
        assert message.product_id == shop["product"]
        assert message.demands == [
            {
                "aspect": "quality",
                "confidence": 0.91,
                "product": "wireless EARBUDS",
                "product_id": shop["product"],
                "sentiment": -0.88,
            }
        ]
        assert _edges(session, message.id) == [
            (
                "customer",
                str(shop["customer"]),
                "COMPLAINED_ABOUT",
                "product",
                str(shop["product"]),
                0.88,
                {"aspect": "quality", "sentiment": -0.88, "intent": "complain"},
            ),
            (
                "message",
                str(message.id),
                "HAS_DEMAND",
                "aspect",
                "quality",
                0.91,
                {"sentiment": -0.88, "product_id": shop["product"]},
            ),
        ]


def test_turn_inside_a_form_complains_about_the_order_in_question(session_factory, shop) -> None:
    first = _record(
        session_factory,
        TurnInput(
            sender_id="web-3",
            text="I want to return something",
            rasa_message_id="f-1",
            customer_id=shop["customer"],
            intent="return_item",
            sentiment_label="neutral",
            sentiment_score=0.0,
        ),
    )
    # Inside the return form: the user answers with free text; the order is in the slot.
    second = _record(
        session_factory,
        TurnInput(
            sender_id="web-3",
            text="it came a week late and the box was crushed",
            rasa_message_id="f-2",
            customer_id=None,
            intent="inform",
            sentiment_label="negative",
            sentiment_score=-0.7,
            demands=(DemandInput("delivery", 0.8), DemandInput("packaging", 0.6)),
            context_order_ref=str(shop["order"]),
        ),
    )
    assert (first.turn, second.turn) == (1, 2)
    assert second.conversation_id == first.conversation_id
    # The customer stays known from the conversation even when this turn lacks it.
    assert second.customer_id == shop["customer"]
    with session_factory() as session:
        relations = [(e[2], e[4], e[6].get("aspect")) for e in _edges(session, second.message_id)]
        assert relations == [
            ("COMPLAINED_ABOUT", str(shop["order"]), "delivery"),
            ("COMPLAINED_ABOUT", str(shop["order"]), "packaging"),
            ("HAS_DEMAND", "delivery", None),
            ("HAS_DEMAND", "packaging", None),
        ]
        assert session.get(Message, second.message_id).order_id == shop["order"]
        assert session.get(Conversation, first.conversation_id).turn_count == 2


def test_praise_and_questions(session_factory, shop) -> None:
    praise = _record(
        session_factory,
        TurnInput(
            sender_id="web-4",
            text="love my earbuds",
            rasa_message_id="p-1",
            customer_id=shop["customer"],
            intent="feedback",
            sentiment_label="positive",
            sentiment_score=0.75,
            product_names=("Wireless Earbuds",),
        ),
    )
    question = _record(
        session_factory,
        TurnInput(
            sender_id="web-4",
            text="do the wireless earbuds come in white?",
            rasa_message_id="p-2",
            customer_id=shop["customer"],
            intent="product_question",
            sentiment_label="neutral",
            sentiment_score=0.02,
            product_names=("Wireless Earbuds", "Flux Capacitor"),
        ),
    )
    with session_factory() as session:
        assert [(e[2], e[5]) for e in _edges(session, praise.message_id)] == [("PRAISED", 0.75)]
        # Unknown product names are ignored; neutral turns ask about products.
        assert [(e[2], e[4], e[5]) for e in _edges(session, question.message_id)] == [
            ("ASKED_ABOUT", str(shop["product"]), 1.0),
        ]


def test_anonymous_and_unknown_customers_hang_edges_on_the_conversation(session_factory, shop):
    result = _record(
        session_factory,
        TurnInput(
            sender_id="guest-1",
            text="earbuds are too expensive",
            rasa_message_id="g-1",
            customer_id=999_999,
            intent="complain",
            sentiment_label="negative",
            sentiment_score=-0.5,
            product_names=("Wireless Earbuds",),
            demands=(DemandInput("price", 0.9),),
        ),
    )
    assert result.customer_id is None
    with session_factory() as session:
        assert session.get(Conversation, result.conversation_id).customer_id is None
        assert _edges(session, result.message_id)[0][:5] == (
            "conversation",
            str(result.conversation_id),
            "COMPLAINED_ABOUT",
            "product",
            str(shop["product"]),
        )
    # Logging in later links the conversation (and that turn) to the customer.
    later = _record(
        session_factory,
        TurnInput(
            sender_id="guest-1",
            text="I'm logged in now",
            rasa_message_id="g-2",
            customer_id=shop["customer"],
            intent="inform",
        ),
    )
    with session_factory() as session:
        assert session.get(Conversation, later.conversation_id).customer_id == shop["customer"]
        assert session.get(Message, later.message_id).customer_id == shop["customer"]


def test_replayed_turns_are_stored_once(session_factory, shop) -> None:
    turn = TurnInput(
        sender_id="web-5",
        text="the earbuds are broken",
        rasa_message_id="dup-1",
        customer_id=shop["customer"],
        intent="complain",
        sentiment_label="negative",
        sentiment_score=-0.9,
        product_names=("Wireless Earbuds",),
        demands=(DemandInput("quality", 0.9),),
    )
    first = _record(session_factory, turn)
    again = _record(session_factory, turn)
    assert first.created and not again.created
    assert (again.message_id, again.turn) == (first.message_id, first.turn)
    # Without a Rasa message id the (timestamp, text) digest is the key.
    no_id = TurnInput(sender_id="web-5", text="hello?", rasa_timestamp=1_790_000_000.5)
    assert _record(session_factory, no_id).created
    assert not _record(session_factory, no_id).created
    with session_factory() as session:
        assert (
            session.execute(
                select(func.count(Message.id)).where(
                    Message.conversation_id == first.conversation_id
                )
            ).scalar_one()
            == 2
        )
        assert session.execute(select(func.count(GraphEdge.id))).scalar_one() == 2
        assert session.get(Conversation, first.conversation_id).turn_count == 2


def test_recording_never_changes_shop_rows(session_factory, shop) -> None:
    def counts() -> tuple[int, int]:
        with session_factory() as session:
            return (
                session.execute(select(func.count(Customer.id))).scalar_one(),
                session.execute(select(func.count(Order.id))).scalar_one(),
            )

    before = counts()
    _record(
        session_factory,
        TurnInput(
            sender_id="web-6",
            text="hi",
            rasa_message_id="x",
            customer_id=shop["customer"],
            intent="greet",
        ),
    )
    assert counts() == before
