"""The test session's own settings, and the check that it leaves the user's databases alone."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from knowledge.settings import PROJECT_ROOT, Settings, get_settings
from tests import data_guard


def _write_db(path: Path, rows: int) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, data TEXT)")
        connection.executemany("INSERT INTO events (data) VALUES (?)", [("x",)] * rows)
    connection.close()


def test_an_untouched_folder_has_no_changes(tmp_path: Path) -> None:
    _write_db(tmp_path / "events.db", 3)
    (tmp_path / "notes.txt").write_text("not guarded")
    before = data_guard.snapshot(tmp_path)
    (tmp_path / "notes.txt").write_text("changed, but not a database")
    assert list(before) == ["events.db"]
    assert data_guard.changed_files(before, data_guard.snapshot(tmp_path)) == []


def test_a_written_created_or_removed_database_is_named(tmp_path: Path) -> None:
    _write_db(tmp_path / "events.db", 3)
    _write_db(tmp_path / "tracker.db", 1)
    before = data_guard.snapshot(tmp_path)
    _write_db(tmp_path / "events.db", 9)  # the fixture conversations of issue 18
    (tmp_path / "tracker.db").unlink()
    _write_db(tmp_path / "shop.db", 1)
    changes = data_guard.changed_files(before, data_guard.snapshot(tmp_path))
    assert [line.split(":")[0] for line in changes] == ["events.db", "shop.db", "tracker.db"]
    assert changes[0].startswith("events.db: changed (")
    assert changes[1:] == ["shop.db: created", "tracker.db: removed"]


def test_same_size_same_bytes_but_touched_counts_as_changed(tmp_path: Path) -> None:
    path = tmp_path / "shop.db"
    path.write_bytes(b"a" * 64)
    before = data_guard.snapshot(tmp_path)
    os.utime(path, ns=(before["shop.db"].mtime_ns + 10**9, before["shop.db"].mtime_ns + 10**9))
    assert data_guard.changed_files(before, data_guard.snapshot(tmp_path)) == [
        "shop.db: changed (64 -> 64 bytes)"
    ]


def test_a_missing_folder_is_an_empty_snapshot(tmp_path: Path) -> None:
    assert data_guard.snapshot(tmp_path / "nowhere") == {}


def test_the_guard_can_be_switched_off() -> None:
    assert data_guard.guard_enabled({})
    assert data_guard.guard_enabled({data_guard.GUARD_SWITCH: "1"})
    assert not data_guard.guard_enabled({data_guard.GUARD_SWITCH: "0"})


def test_isolation_drops_the_exported_settings(tmp_path: Path) -> None:
    user = tmp_path / "user-var"
    environ = {
        "SHOP_DATA_DIR": str(user),
        "SHOP_TRACKER_DB": str(user / "tracker.db"),
        "SHOP_EVENTS_DB": str(user / "events.db"),
        "SHOP_ACTION_SERVER_URL": "http://localhost:5055/webhook",
        "SHOP_CONVERSATION_TESTS": "bot/tests",  # a test option, not a setting: kept
        "PATH": "/usr/bin",
    }
    saved = dict(os.environ)
    try:
        os.environ.clear()
        os.environ.update(environ)
        removed = data_guard.isolate_environment(os.environ, tmp_path / "session")
        settings = Settings()
        isolated = dict(os.environ)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        get_settings.cache_clear()
    assert set(removed) == {
        "SHOP_DATA_DIR",
        "SHOP_TRACKER_DB",
        "SHOP_EVENTS_DB",
        "SHOP_ACTION_SERVER_URL",
    }
    assert settings.data_dir == (tmp_path / "session").resolve()
    assert Path(settings.resolved_events_db).parent == settings.data_dir
    assert Path(settings.resolved_tracker_db).parent == settings.data_dir
    assert isolated["SHOP_CONVERSATION_TESTS"] == "bot/tests" and isolated["PATH"] == "/usr/bin"
    # The encoder the user converted is read from their data dir, not converted again.
    assert isolated["SHOP_MULTILINGUAL_ENCODER_DIR"] == str(
        user.resolve() / "encoders" / "multilingual-e5-small"
    )


def test_this_session_runs_on_its_own_data_dir() -> None:
    settings = Settings()
    assert settings.data_dir != (PROJECT_ROOT / "var").resolve()
    assert not str(settings.resolved_events_db).startswith(str(PROJECT_ROOT / "var"))
    assert os.environ.get("SHOP_EVENTS_DB") is None
