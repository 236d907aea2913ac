"""Rasa's SQL event broker, writing from a background thread in batches (runs inside Rasa).

Rasa's own ``SQLEventBroker.publish`` opens a connection, inserts one row and commits for every
event, on Rasa's event loop: ~20 ms an event on this project's SQLite file, so ~10 events a turn
would add ~0.2 s to every reply. This subclass keeps the same table (``events``: ``id``,
``sender_id``, ``data`` = the event JSON), so every reader stays the same, but ``publish`` only
serialises the event and queues it; one writer thread inserts whatever is queued in one
transaction (SQLite in WAL mode, so the analytics reader never blocks it). ``close`` (Rasa
shutdown) writes what is left. Events still queued when the Rasa process is killed are missing
from the broker but not from the tracker store: ``python -m insight.analytics backfill`` restores
them.

Named in ``bot/endpoints.yml``::

    event_broker:
      type: insight.analytics.rasa_broker.BufferedSQLEventBroker
      dialect: sqlite
      db: ${SHOP_EVENTS_DB}

Imports only Rasa and SQLAlchemy (it runs in the Rasa server process).
"""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import threading
import time
from typing import Any, Dict

from rasa.core.brokers.sql import SQLEventBroker
from sqlalchemy import insert

logger = logging.getLogger(__name__)

# Most rows one transaction writes.
BATCH = 500
# Seconds to wait before retrying a failed write (the rows are kept).
RETRY_S = 1.0
# Longest ``close`` waits for the queue to drain.
CLOSE_TIMEOUT_S = 10.0
_STOP = object()


class BufferedSQLEventBroker(SQLEventBroker):
    """``SQLEventBroker`` whose ``publish`` returns at once; a thread writes in batches."""

    def __init__(
        self,
        dialect: str = "sqlite",
        host: str | None = None,
        port: int | None = None,
        db: str = "events.db",
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        """Create the table (as Rasa does), switch SQLite to WAL, start the writer."""
        super().__init__(dialect, host, port, db, username, password)
        if self.engine.dialect.name == "sqlite":
            with self.engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA journal_mode=WAL")
        self._queue: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="event-broker-writer", daemon=True)
        self._thread.start()

    def publish(self, event: Dict[str, Any]) -> None:
        """Queue the event (serialised now: Rasa may change the dict afterwards)."""
        self._queue.put({"sender_id": event.get("sender_id"), "data": json.dumps(event)})

    def flush(self, timeout: float = CLOSE_TIMEOUT_S) -> bool:
        """Wait until every queued event is written; False when ``timeout`` passed first."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.005)
        return not self._queue.unfinished_tasks

    async def close(self) -> None:
        """Write what is queued, stop the writer, release the database."""
        self._queue.put(_STOP)
        await asyncio.to_thread(self._thread.join, CLOSE_TIMEOUT_S)
        if self._thread.is_alive():
            logger.error("Event broker writer did not finish; %d events lost", self._queue.qsize())
        self.engine.dispose()

    def _run(self) -> None:
        table = self.SQLBrokerEvent.__table__
        stop = False
        while not stop:
            taken = [self._queue.get()]
            while len(taken) < BATCH:
                try:
                    taken.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            stop = any(item is _STOP for item in taken)
            rows = [item for item in taken if item is not _STOP]
            while rows:
                try:
                    with self.engine.begin() as connection:
                        connection.execute(insert(table), rows)
                    break
                except Exception:
                    logger.exception("Could not write %d events; retrying", len(rows))
                    if stop:
                        break
                    time.sleep(RETRY_S)
            for _ in taken:
                self._queue.task_done()
