"""Rasa's SQL tracker store, made to ride out a database restart without losing events.

Rasa 3.6's ``SQLTrackerStore`` creates its engine without ``pool_pre_ping``: after PostgreSQL
restarts, every pooled connection is dead, the next ``retrieve`` fails, and Rasa's
``FailSafeTrackerStore`` silently starts that shopper on an empty in-memory tracker (the
conversation's context and the new events never reach the database). This subclass

* pings pooled connections before use (a restarted server costs one reconnect, not an error);
* retries ``retrieve`` / ``save`` on connection errors for ``retry_s`` seconds (a restart
  takes a second or two), so a request that arrives mid-restart waits and then succeeds;
* streams the tracker's new events to the event broker once per save, not once per retry;
* hands Rasa each session's recent window (scale/tracker_window.py), like the embedded profile.

Named in ``bot/endpoints-scale.yml`` as ``scale.tracker_store.ResilientSQLTrackerStore``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Awaitable, Callable, TypeVar

import sqlalchemy as sa
from rasa.core.tracker_store import create_engine_kwargs
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.exc import DBAPIError, OperationalError

from scale.tracker_window import WindowedSQLTrackerStore

logger = logging.getLogger(__name__)

# Seconds a tracker-store call keeps retrying on a lost database connection.
DEFAULT_RETRY_S = 20.0
# First pause between retries (doubles up to MAX_BACKOFF_S).
FIRST_BACKOFF_S = 0.2
MAX_BACKOFF_S = 2.0

T = TypeVar("T")


def is_connection_error(error: BaseException) -> bool:
    """True for errors that mean the database is (temporarily) unreachable."""
    if isinstance(error, OperationalError):
        return True
    return isinstance(error, DBAPIError) and bool(error.connection_invalidated)


class ResilientSQLTrackerStore(WindowedSQLTrackerStore):
    """The windowed SQL tracker store with pre-ping and bounded retries."""

    def __init__(self, *args: Any, retry_s: float = DEFAULT_RETRY_S, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.retry_s = float(retry_s)
        url = self.engine.url  # type: ignore[has-type]
        self.replace_engine(sa.create_engine(url, pool_pre_ping=True, **create_engine_kwargs(url)))

    async def _with_retries(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        """Run ``call``; on a connection error retry with backoff until ``retry_s`` passed."""
        deadline = time.monotonic() + self.retry_s
        backoff = FIRST_BACKOFF_S
        while True:
            try:
                return await call()
            except Exception as error:
                if not is_connection_error(error) or time.monotonic() + backoff > deadline:
                    raise
                logger.warning(
                    "tracker store %s failed (%s); retrying in %.1fs", what, error, backoff
                )
                await asyncio.sleep(backoff)
                backoff = min(MAX_BACKOFF_S, backoff * 2)

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        """The tracker of ``sender_id``'s current session, retried across a restart."""
        return await self._with_retries(
            "retrieve", lambda: super(ResilientSQLTrackerStore, self).retrieve(sender_id)
        )

    async def retrieve_full_tracker(self, sender_id: str) -> DialogueStateTracker | None:
        """The tracker of every session of ``sender_id``, retried across a restart."""
        return await self._with_retries(
            "retrieve_full_tracker",
            lambda: super(ResilientSQLTrackerStore, self).retrieve_full_tracker(sender_id),
        )

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Publish the new events once, then store them (retried across a restart)."""
        await self.stream_events(tracker)

        async def store() -> None:
            self._store_new_events(tracker)

        await self._with_retries("save", store)
