"""Engine and session factories for the shop database (SQLAlchemy 1.4, 2.0 style)."""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

logger = logging.getLogger(__name__)


def configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    """Foreign keys on, WAL journal and a busy timeout so several processes can share the file.

    ``synchronous=NORMAL``: in WAL mode a commit appends to the WAL without waiting for the disk
    (the WAL is synced at checkpoints). A crashed process loses nothing; a power cut or an OS
    crash may lose the last commits. The scale profile's PostgreSQL keeps full durability.
    """
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def sqlite_engine_kwargs() -> dict[str, Any]:
    """Engine arguments of a SQLite file: a pool of open connections (SQLAlchemy 1.4 opens a
    new connection for every session of a file database, ~2.6 ms each with the pragmas)."""
    return {
        "poolclass": QueuePool,
        "pool_size": 5,
        "max_overflow": 10,
        "connect_args": {"check_same_thread": False, "timeout": 5},
    }


def make_engine(url: str) -> Engine:
    """A new engine for ``url``; SQLite files get their folder created, pooled connections and
    sane pragmas."""
    kwargs: dict[str, Any] = {"future": True, "pool_pre_ping": True}
    if url.startswith("sqlite"):
        from sqlalchemy.engine import make_url

        database = make_url(url).database
        if database and database != ":memory:":
            from pathlib import Path

            Path(database).parent.mkdir(parents=True, exist_ok=True)
            kwargs.update(sqlite_engine_kwargs())
        else:
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 5}
    engine = create_engine(url, **kwargs)
    if url.startswith("sqlite"):
        event.listen(engine, "connect", configure_sqlite_connection)
    logger.debug("Created engine for %s", engine.url.render_as_string(hide_password=True))
    return engine


def use_wal_journal(path: str) -> str:
    """Open the SQLite file at ``path`` (created if missing) once through :func:`make_engine`,
    whose connections switch it to the WAL journal, and return the journal mode now in force.
    The mode persists in the file, so writers whose connections this project does not configure
    (Rasa's ``SQLTrackerStore``) commit with one append to the WAL instead of a rollback
    journal's extra writes and syncs."""
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            mode = str(connection.exec_driver_sql("PRAGMA journal_mode").scalar())
    finally:
        engine.dispose()
    logger.info("SQLite %s: journal mode %s", path, mode)
    return mode


@lru_cache(maxsize=8)
def get_engine(url: str) -> Engine:
    """The process-wide engine for ``url`` (created on first use)."""
    return make_engine(url)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory bound to ``engine``; use ``with factory() as s, s.begin():``."""
    return sessionmaker(engine, future=True, expire_on_commit=False)
