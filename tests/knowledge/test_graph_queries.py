"""Profile, sentiment, demand, churn and opinion queries, and the networkx export, on a scenario
whose expected figures are worked out by hand in the comments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal

import networkx as nx
import pytest
from sqlalchemy import select

from knowledge.graph.export import export_graph
from knowledge.graph.queries import (
    DailySentiment,
    DemandStat,
    TrendPoint,
    UnknownCustomerError,
    aspect_opinions,
    aspect_trend,
    churn_inputs,
    customer_profile,
    daily_sentiment,
    latest_negative_streak,
    past_escalations,
    product_opinions,
    product_trend,
    sentiment_history,
    top_demands,
)
from knowledge.graph.record import DemandInput, TurnInput, record_turn
from knowledge.models import (
    Customer,
    Escalation,
    EscalationStatus,
    Order,
    OrderItem,
    OrderStatus,
    PaymentStatus,
    Product,
    Refund,
    RefundStatus,
    ReturnRequest,
    ReturnStatus,
)
from tests.conftest import SEED_NOW

NOW = SEED_NOW  # 2026-11-20 12:00


@dataclass
class Scenario:
    customer: int
    orders: dict[str, int]
    earbuds: int
    speaker: int
    conversations: tuple[int, int]
    anonymous_conversation: int


def _order(customer: Customer, product: Product, total: str, placed: datetime, **kw) -> Order:
    order = Order(
        customer=customer,
        placed_at=placed,
        shipping_street="1 Test St",
        shipping_city="London",
        shipping_postcode="EC1A 1BB",
        shipping_country="GB",
        payment_method="visa",
        total=Decimal(total),
        **kw,
    )
    order.items.append(OrderItem(product=product, quantity=2, unit_price=Decimal(total) / 2))
    return order


def _turn(
    sender: str, mid: str, when: datetime, text: str, label: str, pos: float, neg: float, **kw
) -> TurnInput:
    return TurnInput(
        sender_id=sender,
        text=text,
        rasa_message_id=mid,
        rasa_timestamp=when.replace(tzinfo=timezone.utc).timestamp(),
        sentiment_label=label,
        sentiment_score=round(pos - neg, 6),
        **kw,
    )


@pytest.fixture()
def scenario(session_factory) -> Scenario:
    with session_factory() as session, session.begin():
        products = {p.name: p for p in session.execute(select(Product)).scalars()}
        earbuds, speaker = products["Wireless Earbuds"], products["Bluetooth Speaker"]
        customer = Customer(
            name="Test Person",
            email="test.person@example.com",
            street="1 Test St",
            city="London",
            postcode="EC1A 1BB",
            country="GB",
            newsletter=False,
            created_at=datetime(2025, 1, 1),
        )
        # o1: delivered two days after its ETA (late), paid 100.00, 20.00 refunded.
        o1 = _order(
            customer,
            earbuds,
            "100.00",
            datetime(2026, 10, 1),
            status=OrderStatus.DELIVERED,
            payment_status=PaymentStatus.PAID,
            eta=date(2026, 10, 5),
            delivered_at=datetime(2026, 10, 7, 14),
        )
        # o2: shipped, ETA 2026-11-15 passed by NOW (late), paid 50.00.
        o2 = _order(
            customer,
            speaker,
            "50.00",
            datetime(2026, 11, 10),
            status=OrderStatus.SHIPPED,
            payment_status=PaymentStatus.PAID,
            eta=date(2026, 11, 15),
            shipped_at=datetime(2026, 11, 11),
        )
        # o3: cancelled (not spend).
        o3 = _order(
            customer,
            speaker,
            "30.00",
            datetime(2026, 9, 1),
            status=OrderStatus.CANCELLED,
            payment_status=PaymentStatus.REFUNDED,
            cancelled_at=datetime(2026, 9, 2),
        )
        # o4: delivered on time, paid 80.00, with an open return request.
        o4 = _order(
            customer,
            earbuds,
            "80.00",
            datetime(2026, 11, 1),
            status=OrderStatus.DELIVERED,
            payment_status=PaymentStatus.PAID,
            eta=date(2026, 11, 5),
            delivered_at=datetime(2026, 11, 4, 10),
        )
        # o5: the latest order, payment failed (not spend, a problem order).
        o5 = _order(
            customer,
            speaker,
            "40.00",
            datetime(2026, 11, 18, 9),
            status=OrderStatus.PROCESSING,
            payment_status=PaymentStatus.FAILED,
        )
        session.add_all([customer, o1, o2, o3, o4, o5])
        session.flush()
        session.add(
            Refund(
                order=o1,
                amount=Decimal("20.00"),
                status=RefundStatus.ISSUED,
                created_at=datetime(2026, 10, 10),
                issued_at=datetime(2026, 10, 11),
            )
        )
        session.add(
            ReturnRequest(
                order=o4,
                item=o4.items[0],
                reason="wrong size",
                status=ReturnStatus.REQUESTED,
                created_at=datetime(2026, 11, 6),
            )
        )
        cid, orders = customer.id, {"o1": o1.id, "o2": o2.id, "o3": o3.id, "o4": o4.id, "o5": o5.id}
        earbuds_id, speaker_id = earbuds.id, speaker.id

        turns = [
            # Conversation A. t1: praise of the earbuds' quality, score 0.85 - 0.05 = 0.8.
            _turn(
                "conv-a",
                "t1",
                datetime(2026, 11, 18, 10),
                "love the earbuds",
                "positive",
                0.85,
                0.05,
                customer_id=cid,
                intent="feedback",
                demands=(DemandInput("quality", 0.9, "wireless earbuds"),),
                product_names=("Wireless Earbuds",),
            ),
            # t2: neutral question about the earbuds, score 0.2 - 0.1 = 0.1.
            _turn(
                "conv-a",
                "t2",
                datetime(2026, 11, 18, 15),
                "do they come in white?",
                "neutral",
                0.2,
                0.1,
                customer_id=cid,
                intent="product_question",
                product_names=("Wireless Earbuds",),
            ),
            # Conversation B. t3: delivery complaint naming o2, score 0.05 - 0.65 = -0.6.
            _turn(
                "conv-b",
                "t3",
                datetime(2026, 11, 19, 9),
                f"where is {orders['o2']}??",
                "negative",
                0.05,
                0.65,
                customer_id=cid,
                intent="track_order",
                demands=(DemandInput("delivery", 0.95),),
                order_refs=(str(orders["o2"]),),
            ),
            # t4 (inside a form, o2 in the slot): delivery and price, score 0.0 - 0.9 = -0.9.
            _turn(
                "conv-b",
                "t4",
                datetime(2026, 11, 20, 8),
                "and I paid extra for express",
                "negative",
                0.0,
                0.9,
                customer_id=cid,
                intent="inform",
                demands=(DemandInput("delivery", 0.7), DemandInput("price", 0.6)),
                context_order_ref=str(orders["o2"]),
            ),
            # Someone anonymous complains about the earbuds: 0.1 - 0.8 = -0.7.
            _turn(
                "anon",
                "t5",
                datetime(2026, 11, 19, 20),
                "earbuds died",
                "negative",
                0.1,
                0.8,
                intent="complain",
                product_names=("Wireless Earbuds",),
                demands=(DemandInput("quality", 0.8),),
            ),
        ]
        results = [record_turn(session, t, now=NOW) for t in turns]
        conv_a, conv_b, anon = (
            results[0].conversation_id,
            results[2].conversation_id,
            results[4].conversation_id,
        )
        session.add_all(
            [
                Escalation(
                    conversation_id=conv_b,
                    customer_id=cid,
                    message_id=results[3].message_id,
                    reason="angry about late delivery",
                    priority=3,
                    status=EscalationStatus.OPEN,
                    created_at=datetime(2026, 11, 20, 8, 1),
                ),
                Escalation(
                    conversation_id=conv_a,
                    customer_id=cid,
                    reason="asked for a human",
                    priority=2,
                    status=EscalationStatus.RESOLVED,
                    claimed_by="agent-7",
                    claimed_at=datetime(2026, 11, 18, 16),
                    created_at=datetime(2026, 11, 18, 15, 30),
                    resolved_at=datetime(2026, 11, 18, 16, 30),
                ),
            ]
        )
    return Scenario(cid, orders, earbuds_id, speaker_id, (conv_a, conv_b), anon)


def test_customer_profile(session_factory, scenario) -> None:
    with session_factory() as session:
        profile = customer_profile(session, scenario.customer)
    assert profile.orders == 5
    # 100 + 50 + 80 (o3 cancelled, o5 unpaid) - 20 refunded = 210.00
    assert profile.spend == Decimal("210.00")
    assert profile.open_returns == 1
    assert profile.last_order is not None
    assert (profile.last_order.id, profile.last_order.status, profile.last_order.total) == (
        scenario.orders["o5"],
        "processing",
        Decimal("40.00"),
    )
    assert (profile.conversations, profile.messages) == (2, 4)
    assert profile.last_contact_at == datetime(2026, 11, 20, 8)


def test_unknown_customer_raises(session_factory) -> None:
    with session_factory() as session, pytest.raises(UnknownCustomerError):
        customer_profile(session, 987_654)
    with session_factory() as session, pytest.raises(UnknownCustomerError):
        churn_inputs(session, 987_654, NOW)


def test_sentiment_history_and_daily_means(session_factory, scenario) -> None:
    with session_factory() as session:
        history = sentiment_history(session, scenario.customer)
        daily = daily_sentiment(session, scenario.customer)
        recent = sentiment_history(session, scenario.customer, since=datetime(2026, 11, 19))
    assert [(p.label, p.score) for p in history] == [
        ("positive", 0.8),
        ("neutral", 0.1),
        ("negative", -0.6),
        ("negative", -0.9),
    ]
    assert [p.conversation_id for p in history] == [scenario.conversations[0]] * 2 + [
        scenario.conversations[1]
    ] * 2
    assert daily == [
        DailySentiment(date(2026, 11, 18), 2, 0.45),  # (0.8 + 0.1) / 2
        DailySentiment(date(2026, 11, 19), 1, -0.6),
        DailySentiment(date(2026, 11, 20), 1, -0.9),
    ]
    assert len(recent) == 2


def test_top_demands(session_factory, scenario) -> None:
    with session_factory() as session:
        demands = top_demands(session, scenario.customer)
    assert demands == [
        DemandStat("delivery", 2, -0.75, datetime(2026, 11, 20, 8)),  # (-0.6 - 0.9) / 2
        DemandStat("price", 1, -0.9, datetime(2026, 11, 20, 8)),
        DemandStat("quality", 1, 0.8, datetime(2026, 11, 18, 10)),
    ]


def test_past_escalations_newest_first(session_factory, scenario) -> None:
    with session_factory() as session:
        escalations = past_escalations(session, scenario.customer)
    assert [(e.reason, e.status, e.priority, e.claimed_by) for e in escalations] == [
        ("angry about late delivery", "open", 3, None),
        ("asked for a human", "resolved", 2, "agent-7"),
    ]


def test_churn_inputs(session_factory, scenario) -> None:
    with session_factory() as session:
        churn = churn_inputs(session, scenario.customer, NOW)
    assert (churn.messages, churn.negative_messages, churn.negative_streak) == (4, 2, 2)
    assert churn.mean_sentiment == -0.15  # (0.8 + 0.1 - 0.6 - 0.9) / 4
    assert churn.late_orders == 2  # o1 delivered late, o2 past its ETA
    assert churn.problem_orders == 4  # o1, o2 (late, complained), o4 (return), o5 (failed)
    assert (churn.open_returns, churn.escalations, churn.orders) == (1, 2, 5)
    assert churn.spend == Decimal("210.00")
    assert churn.days_since_last_order == 2  # o5 on 11-18 09:00
    assert churn.days_since_last_contact == 0


def test_negative_streak_reads_the_history_page_by_page(session_factory, scenario) -> None:
    with session_factory() as session:
        by_one = [latest_negative_streak(session, scenario.customer, page=n) for n in (1, 2, 3, 50)]
    assert by_one == [2, 2, 2, 2]


def test_product_opinions_and_trend(session_factory, scenario) -> None:
    with session_factory() as session:
        opinions = product_opinions(session, scenario.earbuds)
        trend = product_trend(session, scenario.earbuds, days=7, now=NOW)
        short = product_trend(session, scenario.earbuds, days=1, now=NOW)
    assert [
        (o.source_type, o.source_key, o.complaints, o.praises, o.mentions, o.mean_sentiment)
        for o in opinions
    ] == [
        ("conversation", str(scenario.anonymous_conversation), 1, 0, 0, -0.7),
        ("customer", str(scenario.customer), 0, 1, 1, 0.45),
    ]
    assert trend == [
        TrendPoint(date(2026, 11, 18), 0, 1, 1, 0.45),
        TrendPoint(date(2026, 11, 19), 1, 0, 0, -0.7),
    ]
    assert short == [TrendPoint(date(2026, 11, 19), 1, 0, 0, -0.7)]  # since 11-19 12:00


def test_order_and_aspect_opinions(session_factory, scenario) -> None:
    with session_factory() as session:
        delivery = aspect_opinions(session, "delivery")
        quality = aspect_opinions(session, "quality")
        trend = aspect_trend(session, "delivery", days=30, now=NOW)
        order = product_opinions(session, scenario.speaker)
    assert [(o.source_key, o.complaints, o.praises, o.mean_sentiment) for o in delivery] == [
        (str(scenario.customer), 2, 0, -0.75),
    ]
    assert [(o.source_type, o.complaints, o.praises) for o in quality] == [
        ("conversation", 1, 0),
        ("customer", 0, 1),
    ]
    assert trend == [
        TrendPoint(date(2026, 11, 19), 1, 0, 0, -0.6),
        TrendPoint(date(2026, 11, 20), 1, 0, 0, -0.9),
    ]
    assert order == []  # the speaker was never discussed


def test_networkx_export_of_one_customer(session_factory, scenario) -> None:
    with session_factory() as session:
        graph = export_graph(session, customer_ids=[scenario.customer])
    assert isinstance(graph, nx.MultiDiGraph)
    customer = f"customer:{scenario.customer}"
    assert graph.nodes[customer]["type"] == "customer"
    assert graph.nodes[customer]["name"] == "Test Person"
    placed = {
        (v, d["weight"])
        for _, v, d in graph.out_edges(customer, data=True)
        if d["relation"] == "PLACED"
    }
    assert placed == {
        (f"order:{scenario.orders[k]}", w)
        for k, w in [("o1", 100.0), ("o2", 50.0), ("o3", 30.0), ("o4", 80.0), ("o5", 40.0)]
    }
    o1 = f"order:{scenario.orders['o1']}"
    assert [(v, d["relation"], d["weight"]) for _, v, d in graph.out_edges(o1, data=True)] == [
        (f"product:{scenario.earbuds}", "CONTAINS", 2.0),
    ]
    earbuds = f"product:{scenario.earbuds}"
    assert graph.nodes[earbuds]["type"] == "product"
    assert [
        graph.nodes[v]["type"]
        for _, v, d in graph.out_edges(earbuds, data=True)
        if d["relation"] == "IN_CATEGORY"
    ] == ["category"]
    conversations = [
        v for _, v, d in graph.out_edges(customer, data=True) if d["relation"] == "HAD_CONVERSATION"
    ]
    assert sorted(conversations) == sorted(f"conversation:{c}" for c in scenario.conversations)
    messages = [
        v
        for c in conversations
        for _, v, d in graph.out_edges(c, data=True)
        if d["relation"] == "HAS_MESSAGE"
    ]
    assert len(messages) == 4 and all(graph.nodes[m]["type"] == "message" for m in messages)

    recorded = sorted(
        (d["relation"], v, d.get("aspect"), d["weight"])
        for _, v, d in graph.out_edges(customer, data=True)
        if d["relation"] in {"PRAISED", "COMPLAINED_ABOUT", "ASKED_ABOUT", "MENTIONED"}
    )
    o2 = f"order:{scenario.orders['o2']}"
    assert recorded == [
        ("ASKED_ABOUT", earbuds, None, 1.0),
        ("COMPLAINED_ABOUT", o2, "delivery", 0.6),
        ("COMPLAINED_ABOUT", o2, "delivery", 0.9),
        ("COMPLAINED_ABOUT", o2, "price", 0.9),
        ("MENTIONED", o2, None, 1.0),
        ("PRAISED", earbuds, "quality", 0.8),
    ]
    demands = sorted(
        (v, d["weight"])
        for m in messages
        for _, v, d in graph.out_edges(m, data=True)
        if d["relation"] == "HAS_DEMAND"
    )
    assert demands == [
        ("aspect:delivery", 0.7),
        ("aspect:delivery", 0.95),
        ("aspect:price", 0.6),
        ("aspect:quality", 0.9),
    ]
    assert graph.nodes["aspect:delivery"]["type"] == "aspect"
    # The anonymous conversation belongs to no selected customer.
    assert f"conversation:{scenario.anonymous_conversation}" not in graph


def test_networkx_export_of_everything(session_factory, scenario) -> None:
    with session_factory() as session:
        graph = export_graph(session)
        slim = export_graph(session, include_messages=False)
    anon = f"conversation:{scenario.anonymous_conversation}"
    assert graph.nodes[anon]["type"] == "conversation"
    assert [
        (v, d["relation"])
        for _, v, d in graph.out_edges(anon, data=True)
        if d["relation"] != "HAS_MESSAGE"
    ] == [(f"product:{scenario.earbuds}", "COMPLAINED_ABOUT")]
    customers = [n for n, t in graph.nodes(data="type") if t == "customer"]
    assert len(customers) == 61  # 60 seeded + the scenario's
    assert not [n for n, t in slim.nodes(data="type") if t == "message"]
    assert slim.has_edge(anon, f"product:{scenario.earbuds}")
