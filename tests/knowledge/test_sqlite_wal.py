"""knowledge.db.use_wal_journal: the tracker store's SQLite file journals with WAL."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from knowledge.db import use_wal_journal


def journal_mode(path: Path) -> str:
    connection = sqlite3.connect(path)
    try:
        return str(connection.execute("PRAGMA journal_mode").fetchone()[0])
    finally:
        connection.close()


def test_a_new_file_is_created_in_wal_mode_and_the_mode_persists(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "tracker.db"
    assert use_wal_journal(str(path)) == "wal"
    assert path.is_file()
    assert journal_mode(path) == "wal"  # a later, unconfigured connection sees it


def test_an_existing_database_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "tracker.db"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, data TEXT)")
    connection.execute("INSERT INTO events (data) VALUES ('hello')")
    connection.commit()
    connection.close()
    assert journal_mode(path) == "delete"
    assert use_wal_journal(str(path)) == "wal"
    connection = sqlite3.connect(path)
    assert connection.execute("SELECT data FROM events").fetchall() == [("hello",)]
    connection.close()
