"""Rasa's SQL tracker store, with a turn costing the same at message 200 as at message 10.

Rasa 3.6 works on the whole conversation session every turn: ``SQLTrackerStore.retrieve`` reads
and replays every event since the session started, ``save`` reads them all again to find what to
publish to the event broker and counts them to find what to insert, each policy featurises the
whole tracker, and each action-server call serialises it for rasa_sdk to parse. A 200-message
conversation cost ~9x its first turns (docs/performance.md).

:class:`WindowedSQLTrackerStore` hands Rasa the **recent window** of a session instead: the last
``window_turns`` user turns, after a snapshot of the state before them (the session start, the
slots that were set, the active form, a pause). Every event is still stored in the same table, and
``retrieve_full_tracker`` (the HTTP API's ``GET /conversations/{id}/tracker``) still returns them
all. What sees only the window: the policies (MemoizationPolicy looks at 5 states, RulePolicy's
rules are shorter than a turn window), and the custom actions (the hand-over assessment scores the
conversation's last ``window_turns`` turns; a sign-in notice is repeated once the earlier one left
the window).

The window is kept in memory per conversation (least recently used dropped first), so ``retrieve``
replays only the window; a cheap ``max(id)`` query per retrieve checks that no other process wrote
to the conversation meanwhile (the scale profile's workers share the database), and reads the
session from the database when one did. ``save`` inserts and publishes the events appended since
the tracker was retrieved, without reading the conversation back.

Named in ``bot/endpoints.yml``; the scale profile's ``ResilientSQLTrackerStore`` builds on it.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Sequence

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore, TrackerEventDiffEngine
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    ConversationPaused,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.slots import Slot
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

from knowledge.db import configure_sqlite_connection, sqlite_engine_kwargs
from knowledge.settings import Settings

logger = logging.getLogger(__name__)

#: Attribute a retrieved tracker carries: how many of its events the database already holds.
STORED_ATTRIBUTE = "_shop_stored_events"


def session_events(events: Sequence[Event]) -> List[Event]:
    """The events from the session's latest ``SessionStarted`` on (all when there is none)."""
    events = list(events)
    for index in range(len(events) - 1, -1, -1):
        if isinstance(events[index], SessionStarted):
            return events[index:]
    return events


def window_start(events: Sequence[Event], turns: int) -> int:
    """Index where the last ``turns`` user turns begin (0: the events hold no more than that).

    A turn begins at the ``action_listen`` before its user message, so the window starts the
    way a conversation does after its snapshot.
    """
    users = [i for i, event in enumerate(events) if isinstance(event, UserUttered)]
    if turns <= 0 or len(users) <= turns:
        return 0
    index = users[-turns]
    before = events[index - 1]
    if isinstance(before, ActionExecuted) and before.action_name == ACTION_LISTEN_NAME:
        index -= 1
    return index


def snapshot(state: DialogueStateTracker, timestamp: float) -> List[Event]:
    """Events that put a new tracker in ``state``'s slots, form and pause state."""
    events: List[Event] = [SessionStarted(timestamp=timestamp)]
    for name, slot in state.slots.items():
        if slot.value != slot.initial_value:
            events.append(SlotSet(name, slot.value, timestamp=timestamp))
    if state.active_loop_name:
        events.append(ActiveLoop(state.active_loop_name, timestamp=timestamp))
    if state.is_paused():
        events.append(ConversationPaused(timestamp=timestamp))
    return events


def recent_window(
    sender_id: str, events: Sequence[Event], slots: Iterable[Slot], turns: int
) -> List[Event]:
    """The session's last ``turns`` user turns after a snapshot of the state before them."""
    current = session_events(events)
    start = window_start(current, turns)
    if start == 0:
        return current
    before = DialogueStateTracker.from_events(sender_id, current[:start], slots)
    return snapshot(before, current[start].timestamp) + current[start:]


@dataclass
class CachedWindow:
    """A conversation's recent window as the Rasa process last stored it."""

    last_id: int
    events: List[Dict[str, Any]]


class WindowedSQLTrackerStore(SQLTrackerStore):
    """``SQLTrackerStore`` that hands Rasa each session's recent window, kept in memory."""

    def __init__(
        self,
        *args: Any,
        window_turns: int | None = None,
        cache_conversations: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if self.engine.dialect.name == "sqlite":  # type: ignore[has-type]
            # Keep connections open, with the project's pragmas: Rasa's engine opens a new one
            # for each of a turn's queries (knowledge.db.sqlite_engine_kwargs).
            engine = sa.create_engine(self.engine.url, **sqlite_engine_kwargs())  # type: ignore[has-type]
            sa.event.listen(engine, "connect", configure_sqlite_connection)
            self.replace_engine(engine)
        settings = Settings()
        self.window_turns = int(
            settings.tracker_window_turns if window_turns is None else window_turns
        )
        self.cache_conversations = int(
            settings.tracker_cache_conversations
            if cache_conversations is None
            else cache_conversations
        )
        self._windows: OrderedDict[str, CachedWindow] = OrderedDict()
        #: How many retrieves read the whole session from the database (not from memory).
        self.sessions_read = 0

    def replace_engine(self, engine: sa.engine.Engine) -> None:
        """Use ``engine`` instead of the one Rasa's ``SQLTrackerStore`` created."""
        self.engine.dispose()  # type: ignore[has-type]
        self.engine = engine
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)

    # --- reading -------------------------------------------------------------------------

    def _last_event_id(self, sender_id: str) -> int | None:
        """Id of the conversation's newest stored event (None: nothing stored)."""
        with self.session_scope() as session:
            return (
                session.query(sa.func.max(self.SQLEvent.id))
                .filter(self.SQLEvent.sender_id == sender_id)
                .scalar()
            )

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        """The recent window of ``sender_id``'s current session (None: no conversation)."""
        last_id = self._last_event_id(sender_id)
        if last_id is None:
            self._windows.pop(sender_id, None)
            return None
        cached = self._windows.get(sender_id)
        if cached is not None and cached.last_id == last_id:
            self._windows.move_to_end(sender_id)
            tracker = DialogueStateTracker.from_dict(sender_id, cached.events, self._slots())
        else:
            self.sessions_read += 1
            full = await super().retrieve(sender_id)
            if full is None:
                return None
            window = recent_window(sender_id, full.events, self._slots(), self.window_turns)
            tracker = DialogueStateTracker.from_events(sender_id, window, self._slots())
            self._remember(sender_id, last_id, window)
        setattr(tracker, STORED_ATTRIBUTE, len(tracker.events))
        return tracker

    def _slots(self) -> List[Slot]:
        return list(self.domain.slots) if self.domain else []

    def _remember(self, sender_id: str, last_id: int, window: Sequence[Event]) -> None:
        """Keep ``window`` as the conversation's, dropping the least recently used ones."""
        if self.cache_conversations <= 0:
            return
        self._windows[sender_id] = CachedWindow(last_id, [event.as_dict() for event in window])
        self._windows.move_to_end(sender_id)
        while len(self._windows) > self.cache_conversations:
            self._windows.popitem(last=False)

    # --- writing -------------------------------------------------------------------------

    def _new_events(self, tracker: DialogueStateTracker) -> List[Event] | None:
        """Events appended since ``retrieve`` (None: a tracker this store did not hand out)."""
        stored = getattr(tracker, STORED_ATTRIBUTE, None)
        if stored is None:
            return None
        return list(tracker.events)[stored:]

    async def stream_events(self, tracker: DialogueStateTracker) -> None:
        """Publish the events appended since ``retrieve`` (Rasa reads the session back)."""
        if self.event_broker is None:
            return
        new_events = self._new_events(tracker)
        if new_events is None:
            # Rasa's way, against the whole stored session (not the window).
            stored = await SQLTrackerStore.retrieve(self, tracker.sender_id)
            new_events = TrackerEventDiffEngine.event_difference(stored, tracker)
        await self._stream_new_events(self.event_broker, new_events, tracker.sender_id)

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Publish and store the new events; the window is kept for the next retrieve."""
        await self.stream_events(tracker)
        self._store_new_events(tracker)

    def _store_new_events(self, tracker: DialogueStateTracker) -> None:
        """Insert the events the database does not hold yet, in one transaction."""
        new_events = self._new_events(tracker)
        foreign = new_events is None
        with self.session_scope() as session:
            if new_events is None:
                new_events = list(self._additional_events(session, tracker))
            rows = [self._row(tracker.sender_id, event) for event in new_events]
            session.add_all(rows)
            session.flush()
            last_id = rows[-1].id if rows else None
            session.commit()
        setattr(tracker, STORED_ATTRIBUTE, len(tracker.events))
        if foreign:
            # Not from retrieve (a new conversation, a replaced history): read it back next time.
            self._windows.pop(tracker.sender_id, None)
        elif last_id is not None:
            window = recent_window(
                tracker.sender_id, list(tracker.events), self._slots(), self.window_turns
            )
            self._remember(tracker.sender_id, last_id, window)
        logger.debug("tracker %s stored (%d new events)", tracker.sender_id, len(rows))

    def _row(self, sender_id: str, event: Event) -> Any:
        """The table row of one event, as Rasa's ``SQLTrackerStore.save`` writes it."""
        data = event.as_dict()
        return self.SQLEvent(
            sender_id=sender_id,
            type_name=event.type_name,
            timestamp=data.get("timestamp"),
            intent_name=data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
            action_name=data.get("name"),
            data=json.dumps(data),
        )
