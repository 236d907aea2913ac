"""The windowed tracker store: Rasa gets the recent turns and the same state, nothing is lost.

Real SQLite files for the tracker store and for Rasa's SQL event broker; the bot's own domain.
"""

from __future__ import annotations

from pathlib import Path
from typing import List

import pytest
import sqlalchemy as sa
from rasa.core.brokers.sql import SQLEventBroker
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    BotUttered,
    ConversationPaused,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from scale.tracker_window import (
    STORED_ATTRIBUTE,
    WindowedSQLTrackerStore,
    recent_window,
    window_start,
)

ROOT = Path(__file__).resolve().parents[2]
WINDOW = 4


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(ROOT / "bot" / "domain"))


def _store(path: Path, domain: Domain, **kwargs: object) -> WindowedSQLTrackerStore:
    return WindowedSQLTrackerStore(
        domain=domain, dialect="sqlite", db=str(path), window_turns=WINDOW, **kwargs
    )


def _start() -> List[Event]:
    return [
        ActionExecuted("action_session_start", timestamp=1.0),
        SessionStarted(timestamp=2.0),
        SlotSet("session_started_metadata", {"customer_id": "7"}, timestamp=2.0),
        ActionExecuted("action_listen", timestamp=3.0),
    ]


def _turn(number: int, intent: str = "greet") -> List[Event]:
    at = 10.0 * number
    return [
        UserUttered(f"message {number}", {"name": intent, "confidence": 0.9}, timestamp=at),
        ActionExecuted("utter_greet", timestamp=at + 1),
        BotUttered(f"reply {number}", timestamp=at + 2),
        ActionExecuted("action_listen", timestamp=at + 3),
    ]


def _long_conversation(turns: int) -> List[Event]:
    events = _start()
    for number in range(1, turns + 1):
        events += _turn(number)
        if number == 2:
            events.insert(-1, SlotSet("language", "zh", timestamp=21.5))
            events.insert(-1, SlotSet("order_id", "ORD-1001", timestamp=21.6))
        if number == 3:
            events.insert(-1, SlotSet("order_id", None, timestamp=31.5))
            events.insert(-1, SlotSet("email", "a@example.com", timestamp=31.6))
        if number == 5:
            events.insert(-1, ActiveLoop("return_form", timestamp=51.5))
            events.insert(-1, SlotSet("requested_slot", "return_reason", timestamp=51.6))
        if number == 6:
            events.insert(-1, ConversationPaused(timestamp=61.5))
    return events


def _texts(tracker: DialogueStateTracker) -> List[str]:
    return [e.text for e in tracker.events if isinstance(e, UserUttered)]


def _rows(path: Path, table: str) -> int:
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.connect() as connection:
        count = connection.execute(sa.text(f"select count(*) from {table}")).scalar()
    engine.dispose()
    return int(count or 0)


def test_window_starts_at_the_action_listen_before_the_kth_last_user_message() -> None:
    events = _long_conversation(6)
    start = window_start(events, 2)
    assert isinstance(events[start], ActionExecuted)
    assert events[start].action_name == "action_listen"
    assert [e.text for e in events[start:] if isinstance(e, UserUttered)] == [
        "message 5",
        "message 6",
    ]
    assert window_start(events, 6) == 0  # no more turns than the window
    assert window_start(events, 0) == 0  # 0 = the whole session


def test_the_window_has_the_same_state_as_the_whole_session(domain: Domain) -> None:
    events = _long_conversation(12)
    full = DialogueStateTracker.from_events("s", events, domain.slots)
    window = recent_window("s", events, domain.slots, WINDOW)
    windowed = DialogueStateTracker.from_events("s", window, domain.slots)

    assert _texts(windowed) == [f"message {n}" for n in range(9, 13)]
    assert windowed.current_slot_values() == full.current_slot_values()
    assert windowed.current_slot_values()["language"] == "zh"
    assert windowed.current_slot_values()["order_id"] is None
    assert windowed.active_loop_name == full.active_loop_name == "return_form"
    assert windowed.is_paused() and full.is_paused()
    assert windowed.latest_message.text == full.latest_message.text
    # What the policies featurise (MemoizationPolicy: 5 states) is the same.
    assert windowed.past_states(domain)[-5:] == full.past_states(domain)[-5:]


def test_only_the_latest_session_is_windowed(domain: Domain) -> None:
    events = [
        *_long_conversation(8),
        ActionExecuted("action_session_start", timestamp=500.0),
        SessionStarted(timestamp=501.0),
        ActionExecuted("action_listen", timestamp=502.0),
    ]
    events += _turn(60)
    window = recent_window("s", events, domain.slots, WINDOW)
    assert isinstance(window[0], SessionStarted) and window[0].timestamp == 501.0
    assert [e.text for e in window if isinstance(e, UserUttered)] == ["message 60"]


async def test_a_long_conversation_is_stored_whole_and_handed_out_windowed(
    tmp_path: Path, domain: Domain
) -> None:
    broker_db = tmp_path / "events.db"
    broker = SQLEventBroker(db=str(broker_db))
    store = _store(tmp_path / "tracker.db", domain, event_broker=broker)
    tracker = await store.create_tracker("long", append_action_listen=False)
    for event in _long_conversation(2):
        tracker.update(event)
    await store.save(tracker)

    for number in range(3, 31):  # turn by turn, as Rasa does: retrieve, append, save
        tracker = await store.retrieve("long")
        assert tracker is not None
        assert len(_texts(tracker)) <= WINDOW
        for event in _turn(number, intent="goodbye" if number == 30 else "greet"):
            tracker.update(event)
        await store.save(tracker)
    assert store.sessions_read == 0  # every window came from memory

    stored_events = len(_long_conversation(2)) + 28 * len(_turn(0))
    assert _rows(tmp_path / "tracker.db", "events") == stored_events
    assert _rows(broker_db, "events") == stored_events  # each event published once

    full = await store.retrieve_full_tracker("long")
    assert full is not None
    assert _texts(full) == [f"message {n}" for n in range(1, 31)]
    window = await store.retrieve("long")
    assert window is not None
    assert _texts(window) == [f"message {n}" for n in range(27, 31)]
    assert window.latest_message.intent["name"] == "goodbye"
    assert window.current_slot_values() == full.current_slot_values()
    assert window.current_slot_values()["session_started_metadata"] == {"customer_id": "7"}


async def test_saving_twice_stores_each_event_once(tmp_path: Path, domain: Domain) -> None:
    store = _store(tmp_path / "tracker.db", domain)
    tracker = DialogueStateTracker.from_events("twice", _long_conversation(6), domain.slots)
    await store.save(tracker)
    await store.save(tracker)
    retrieved = await store.retrieve("twice")
    assert retrieved is not None
    retrieved.update(UserUttered("more", {"name": "greet", "confidence": 1.0}))
    await store.save(retrieved)
    await store.save(retrieved)
    assert getattr(retrieved, STORED_ATTRIBUTE) == len(retrieved.events)
    assert _rows(tmp_path / "tracker.db", "events") == len(_long_conversation(6)) + 1


async def test_another_process_writing_the_conversation_is_seen(
    tmp_path: Path, domain: Domain
) -> None:
    """Two Rasa workers on one database: neither hands out a stale window."""
    first = _store(tmp_path / "tracker.db", domain)
    second = _store(tmp_path / "tracker.db", domain)
    tracker = DialogueStateTracker.from_events("shared", _long_conversation(6), domain.slots)
    await first.save(tracker)
    assert _texts(await first.retrieve("shared"))[-1] == "message 6"  # type: ignore[arg-type]

    other = await second.retrieve("shared")
    assert other is not None
    for event in [*_turn(7), SlotSet("email", "b@example.com", timestamp=75.0)]:
        other.update(event)
    await second.save(other)

    seen = await first.retrieve("shared")
    assert seen is not None
    assert _texts(seen)[-1] == "message 7"
    assert seen.get_slot("email") == "b@example.com"


async def test_the_cache_holds_the_most_recent_conversations(
    tmp_path: Path, domain: Domain
) -> None:
    store = _store(tmp_path / "tracker.db", domain, cache_conversations=2)
    for sender in ("a", "b", "c"):
        tracker = DialogueStateTracker.from_events(sender, _long_conversation(6), domain.slots)
        await store.save(tracker)
        retrieved = await store.retrieve(sender)
        assert retrieved is not None
        retrieved.update(UserUttered(f"from {sender}", {"name": "greet", "confidence": 1.0}))
        await store.save(retrieved)
    assert list(store._windows) == ["b", "c"]
    read_before = store.sessions_read
    dropped = await store.retrieve("a")  # read back from the database
    assert dropped is not None
    assert store.sessions_read == read_before + 1
    assert _texts(dropped)[-1] == "from a"
    assert list(store._windows) == ["c", "a"]
    assert await store.retrieve("nobody") is None
