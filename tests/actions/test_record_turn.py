"""``action_record_turn`` with rasa_sdk trackers against a real database, including failures."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Iterator

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import ActionExecutor, CollectingDispatcher
from sqlalchemy import func, select

from actions import deps
from actions import record_turn as module
from actions.record_turn import ActionRecordTurn, turn_from_tracker
from knowledge.models import Conversation, GraphEdge, Message, Order, OrderStatus, Product
from tests.actions.conftest import signed

MESSAGE_ID = "4f1c2a7e9b"
TIMESTAMP = 1_795_000_000.25


@pytest.fixture()
def use_database(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Point the action's providers at a database URL (cleared again afterwards)."""

    def use(url: str, **env: str) -> None:
        monkeypatch.setenv("SHOP_DATABASE_URL", url)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        deps.clear_caches()

    yield use
    deps.clear_caches()


@pytest.fixture()
def shop(session_factory) -> dict[str, int]:
    with session_factory() as session:
        order = (
            session.execute(
                select(Order).where(Order.status == OrderStatus.DELIVERED).order_by(Order.id)
            )
            .scalars()
            .first()
        )
        product = session.execute(
            select(Product).where(Product.name == "Wireless Earbuds")
        ).scalar_one()
        return {"customer": order.customer_id, "order": order.id, "product": product.id}


def _tracker(
    *,
    sender: str = "web-42",
    text: str = "My wireless earbuds from order 1001 stopped working",
    message_id: str | None = MESSAGE_ID,
    slots: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    entities: list[dict[str, Any]] | None = None,
    active_loop: dict[str, Any] | None = None,
) -> Tracker:
    parse_data = {
        "text": text,
        "intent": {"name": "complain", "confidence": 0.93},
        "entities": entities or [],
        "sentiment": {
            "label": "negative",
            "confidence": 0.9,
            "scores": {"negative": 0.9, "neutral": 0.07, "positive": 0.03},
        },
        "demands": [{"aspect": "quality", "confidence": 0.88, "product": "wireless earbuds"}],
    }
    events = [
        {"event": "action", "name": "action_session_start", "timestamp": TIMESTAMP - 5},
        {"event": "action", "name": "action_listen", "timestamp": TIMESTAMP - 4},
        {
            "event": "user",
            "text": text,
            "parse_data": parse_data,
            "input_channel": "socketio",
            "message_id": message_id,
            "metadata": metadata or {},
            "timestamp": TIMESTAMP,
        },
    ]
    return Tracker(
        sender, slots or {}, parse_data, events, False, None, active_loop or {}, "action_listen"
    )


def _run(tracker: Tracker) -> tuple[list, CollectingDispatcher]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionRecordTurn().run(dispatcher, tracker, {}))
    module.flush_pending_turns(timeout=10)
    return events, dispatcher


def _counts(session_factory) -> tuple[int, int]:
    with session_factory() as session:
        return (
            session.execute(select(func.count(Message.id))).scalar_one(),
            session.execute(select(func.count(GraphEdge.id))).scalar_one(),
        )


def test_turn_from_tracker_reads_parse_data_event_and_slots(shop) -> None:
    tracker = _tracker(
        metadata={"customer_id": signed(7)},
        slots={"order_id": "1005"},
        entities=[
            {"entity": "product", "value": "Wireless Earbuds"},
            {"entity": "order_id", "value": "#1001"},
        ],
    )
    turn = turn_from_tracker(tracker)
    assert (turn.sender_id, turn.rasa_message_id, turn.rasa_timestamp, turn.channel) == (
        "web-42",
        MESSAGE_ID,
        TIMESTAMP,
        "socketio",
    )
    assert (turn.intent, turn.intent_confidence) == ("complain", 0.93)
    assert (turn.sentiment_label, turn.sentiment_score, turn.sentiment_confidence) == (
        "negative",
        -0.87,
        0.9,
    )
    assert turn.customer_id == 7  # from the signed metadata claim: the slot is not set yet
    # An unsigned claim names nobody.
    assert turn_from_tracker(_tracker(metadata={"customer_id": "7"})).customer_id is None
    assert turn.product_names == ("Wireless Earbuds",) and turn.order_refs == ("#1001",)
    assert turn.context_order_ref == "1005"
    assert [(d.aspect, d.confidence, d.product) for d in turn.demands] == [
        ("quality", 0.88, "wireless earbuds"),
    ]
    # The slot wins over metadata once identity has set it.
    assert (
        turn_from_tracker(
            _tracker(slots={"customer_id": 3}, metadata={"customer_id": signed(7)})
        ).customer_id
        == 3
    )


def test_action_records_the_turn_and_returns_no_events(
    use_database, database_url, session_factory, shop
) -> None:
    use_database(database_url)
    tracker = _tracker(
        slots={"customer_id": shop["customer"]},
        entities=[
            {"entity": "product", "value": "wireless earbuds"},
            {"entity": "order_id", "value": str(shop["order"])},
        ],
    )
    events, dispatcher = _run(tracker)
    assert events == [] and dispatcher.messages == []
    with session_factory() as session:
        message = session.execute(select(Message)).scalar_one()
        assert (
            message.rasa_message_id,
            message.customer_id,
            message.product_id,
            message.order_id,
        ) == (MESSAGE_ID, shop["customer"], shop["product"], shop["order"])
        assert (message.sentiment_label, message.sentiment_score) == ("negative", -0.87)
        conversation = session.get(Conversation, message.conversation_id)
        assert (conversation.sender_id, conversation.channel) == ("web-42", "socketio")
        relations = sorted(session.execute(select(GraphEdge.relation)).scalars())
        assert relations == ["COMPLAINED_ABOUT", "HAS_DEMAND", "MENTIONED"]


def test_action_is_idempotent_per_rasa_message(use_database, database_url, session_factory, shop):
    use_database(database_url)
    tracker = _tracker(
        metadata={"customer_id": signed(shop["customer"])},
        entities=[{"entity": "product", "value": "wireless earbuds"}],
    )
    _run(tracker)
    first = _counts(session_factory)
    _run(tracker)  # Rasa may run action_extract_slots twice for one message
    assert _counts(session_factory) == first == (1, 2)
    _run(_tracker(message_id="another-message", text="still broken"))
    assert _counts(session_factory)[0] == 2


def test_action_inside_an_active_form_records_too(
    use_database, database_url, session_factory, shop
) -> None:
    use_database(database_url)
    tracker = _tracker(
        text="it just stopped",
        slots={
            "customer_id": shop["customer"],
            "order_id": str(shop["order"]),
            "requested_slot": "return_reason",
        },
        active_loop={"name": "return_form"},
    )
    tracker.latest_message["demands"] = [{"aspect": "quality", "confidence": 0.8, "product": None}]
    assert _run(tracker)[0] == []
    with session_factory() as session:
        message = session.execute(select(Message)).scalar_one()
        assert message.order_id == shop["order"]
        assert ("COMPLAINED_ABOUT", "order", str(shop["order"])) in session.execute(
            select(GraphEdge.relation, GraphEdge.target_type, GraphEdge.target_key)
        ).all()


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://postgres@127.0.0.1:1/nowhere",  # nothing listens on port 1
        "sqlite:///{tmp}/never-migrated.db",  # reachable, but no tables
    ],
    ids=["server-down", "schema-missing"],
)
def test_database_failures_are_logged_and_the_turn_goes_on(
    use_database, tmp_path, caplog: pytest.LogCaptureFixture, url: str
) -> None:
    use_database(url.format(tmp=tmp_path))
    with caplog.at_level(logging.ERROR, logger="actions.record_turn"):
        events, dispatcher = _run(_tracker())
    assert events == [] and dispatcher.messages == []
    assert any("Could not record turn" in r.getMessage() for r in caplog.records)


async def test_slow_database_is_abandoned_after_the_time_budget(
    use_database, database_url, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    use_database(
        database_url, SHOP_RECORD_TURN_TIMEOUT_S="0.1", SHOP_RECORD_TURN_IN_BACKGROUND="false"
    )
    monkeypatch.setattr(module, "store_turn", lambda turn: time.sleep(0.6))
    start = time.perf_counter()
    with caplog.at_level(logging.ERROR, logger="actions.record_turn"):
        events = await ActionRecordTurn().run(CollectingDispatcher(), _tracker(), {})
    assert events == [] and time.perf_counter() - start < 0.5
    assert any("skipped" in r.getMessage() for r in caplog.records)


async def test_background_write_does_not_delay_the_reply(
    use_database, database_url, session_factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_database(database_url)
    real_store = module.store_turn

    def slow_store(turn):  # a database that takes 0.6 s per write
        time.sleep(0.6)
        return real_store(turn)

    monkeypatch.setattr(module, "store_turn", slow_store)
    start = time.perf_counter()
    events = await ActionRecordTurn().run(CollectingDispatcher(), _tracker(), {})
    assert events == [] and time.perf_counter() - start < 0.2
    assert _counts(session_factory)[0] == 0  # not written yet: the reply did not wait
    module.flush_pending_turns(timeout=10)
    assert _counts(session_factory)[0] == 1


def test_malformed_parse_data_does_not_crash(use_database, database_url, session_factory) -> None:
    use_database(database_url)
    tracker = _tracker()
    tracker.latest_message["sentiment"] = "very angry"  # not the documented dict
    tracker.latest_message["demands"] = [{"aspect": "delivery", "confidence": "high"}]
    assert _run(tracker)[0] == []


async def test_action_server_executor_runs_it(use_database, database_url, session_factory) -> None:
    use_database(database_url)
    executor = ActionExecutor()
    executor.register_package("actions.record_turn")
    assert "action_record_turn" in executor.actions
    state = _tracker().current_state()
    state["events"] = _tracker().events
    response = await executor.run(
        {
            "next_action": "action_record_turn",
            "sender_id": "web-42",
            "tracker": state,
            "domain": {},
            "version": "3.6.21",
        }
    )
    assert response == {"events": [], "responses": []}
    module.flush_pending_turns(timeout=10)
    assert _counts(session_factory)[0] == 1
