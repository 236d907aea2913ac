"""Reading Rasa's events: the SQL event broker (incremental) and the tracker store (backfill).

Both Rasa tables are called ``events`` and both have ``id``, ``sender_id`` and ``data`` (the
event's JSON) columns, so one reader serves both:

* :func:`ingest_sql_broker` reads the broker's rows after the last id it folded (kept in
  ``analytics_cursors`` and advanced in the same transaction as the fold), in batches;
* :func:`backfill` empties the analytics tables and folds every event of Rasa's SQL tracker
  store, so dashboard numbers can always be rebuilt from the raw conversations.

A row that is not a Rasa event is logged and skipped (never stops the reader).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Iterator

from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from insight.analytics import fold as folding
from insight.analytics.events import BadEventError, RawEvent, normalise
from insight.analytics.tables import AnalyticsCursor

logger = logging.getLogger(__name__)

EVENTS_TABLE = "events"
# Rows read per transaction.
BATCH_ROWS = 1000
SQL_BROKER_SOURCE = "sql-broker"
TRACKER_SOURCE = "tracker-store"


@dataclass(frozen=True)
class IngestResult:
    """What one ingest or backfill run did."""

    rows: int
    events: int
    skipped: int
    conversations: int


def sqlalchemy_url(path_or_url: str) -> str:
    """A SQLAlchemy URL for a configured SQLite path or URL."""
    return path_or_url if "://" in path_or_url else f"sqlite:///{path_or_url}"


def source_engine(path_or_url: str) -> Engine:
    """A read engine for a Rasa database (the tracker store's or the event broker's)."""
    url = sqlalchemy_url(path_or_url)
    kwargs = {"connect_args": {"timeout": 5}} if url.startswith("sqlite") else {}
    return create_engine(url, future=True, **kwargs)


def has_events_table(engine: Engine) -> bool:
    """Whether Rasa created its ``events`` table there yet (it does on its first start)."""
    if engine.url.get_backend_name() == "sqlite":
        database = engine.url.database
        from pathlib import Path

        if not database or not Path(database).exists():
            return False
    return inspect(engine).has_table(EVENTS_TABLE)


def read_rows(engine: Engine, after: int, limit: int) -> list[tuple[int, str | None, str]]:
    """``(id, sender_id, data)`` rows with ``id > after``, in id order."""
    query = text(
        "SELECT id, sender_id, data FROM events WHERE id > :after ORDER BY id LIMIT :limit"
    )
    with engine.connect() as connection:
        return [
            (int(row[0]), row[1], row[2])
            for row in connection.execute(query, {"after": after, "limit": limit})
        ]


def parse_rows(rows: list[tuple[int, str | None, str]], source: str) -> tuple[list[RawEvent], int]:
    """The events in ``rows`` and how many rows were skipped as not being events."""
    events, skipped = [], 0
    for row_id, sender_id, data in rows:
        try:
            events.append(normalise(data, sender_id=sender_id))
        except BadEventError as error:
            skipped += 1
            logger.warning("Skipping %s row %s: %s", source, row_id, error)
    return events, skipped


def cursor_position(session: Session, name: str) -> int:
    """Last row id folded from source ``name`` (0 when never read)."""
    position = session.execute(
        select(AnalyticsCursor.position).where(AnalyticsCursor.source == name)
    ).scalar_one_or_none()
    return int(position or 0)


def _set_cursor(session: Session, name: str, position: int) -> None:
    row = session.get(AnalyticsCursor, name)
    if row is None:
        session.add(AnalyticsCursor(source=name, position=position, updated_at=folding.utcnow()))
    else:
        row.position = position
        row.updated_at = folding.utcnow()


def ingest_sql_broker(
    factory: sessionmaker, broker_db: str, batch: int = BATCH_ROWS
) -> IngestResult:
    """Fold every broker row not folded yet; safe to run from several processes."""
    engine = source_engine(broker_db)
    name = f"{SQL_BROKER_SOURCE}:{engine.url.render_as_string(hide_password=True)}"
    totals = [0, 0, 0, 0]
    try:
        if not has_events_table(engine):
            logger.debug("No event broker table in %s yet", broker_db)
            return IngestResult(0, 0, 0, 0)
        while True:
            with factory() as session:
                after = cursor_position(session, name)
            rows = read_rows(engine, after, batch)
            if not rows:
                if after > 0 and _max_id(engine) < after:
                    # The broker database was recreated: read it again from the start
                    # (events folded before are recognised by their keys).
                    logger.warning("Event broker %s restarted its ids; re-reading it", broker_db)
                    with factory() as session, session.begin():
                        _set_cursor(session, name, 0)
                    continue
                break
            events, skipped = parse_rows(rows, SQL_BROKER_SOURCE)
            with factory() as session, session.begin():
                touched = folding.store_events(session, events, SQL_BROKER_SOURCE)
                rebuilt = (
                    folding.rebuild(session, touched, folding.category_lookup(session))
                    if touched
                    else 0
                )
                _set_cursor(session, name, rows[-1][0])
            for i, value in enumerate((len(rows), len(events), skipped, rebuilt)):
                totals[i] += value
            if len(rows) < batch:
                break
    finally:
        engine.dispose()
    result = IngestResult(*totals)
    if result.rows:
        logger.info("Event broker: %s", result)
    return result


def _max_id(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT MAX(id) FROM events")).scalar() or 0)


def iter_tracker_events(tracker_db: str, batch: int = BATCH_ROWS) -> Iterator[list[tuple]]:
    """The tracker store's event rows in id order, ``batch`` at a time."""
    engine = source_engine(tracker_db)
    try:
        if not has_events_table(engine):
            raise FileNotFoundError(f"no Rasa tracker store with an events table at {tracker_db}")
        after = 0
        while rows := read_rows(engine, after, batch):
            yield rows
            after = rows[-1][0]
    finally:
        engine.dispose()


def backfill(factory: sessionmaker, tracker_db: str) -> IngestResult:
    """Rebuild the analytics tables from Rasa's SQL tracker store, in one transaction."""
    totals = [0, 0, 0]
    with factory() as session, session.begin():
        folding.clear(session)
        senders: set[str] = set()
        for rows in iter_tracker_events(tracker_db):
            events, skipped = parse_rows(rows, TRACKER_SOURCE)
            senders |= folding.store_events(session, events, TRACKER_SOURCE)
            totals[0] += len(rows)
            totals[1] += len(events)
            totals[2] += skipped
        rebuilt = folding.rebuild(session, senders, folding.category_lookup(session))
    result = IngestResult(totals[0], totals[1], totals[2], rebuilt)
    logger.info("Backfill from %s: %s", tracker_db, result)
    return result
