"""Fixtures shared by every test: a migrated, seeded shop database on a real SQLite file.

Every test session runs on settings of its own (tests/data_guard.py): whatever ``SHOP_``
variables the environment exports, the data directory is a temporary folder, and the session
fails when the user's databases (``var/*.db``) changed while it ran.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime
from pathlib import Path
from typing import Dict, Iterator, List

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from knowledge.db import make_engine, make_session_factory
from knowledge.migrate import upgrade
from knowledge.shop.seed import seed
from tests import data_guard

logger = logging.getLogger(__name__)

# A fixed clock so that seeded dates, ETAs and return windows are reproducible in tests.
SEED_NOW = datetime(2026, 11, 20, 12, 0, 0)
SEED_VALUE = 20240601

_USER_DATA = pytest.StashKey[Dict[Path, Dict[str, data_guard.FileState]]]()
_TEST_DATA_DIR = pytest.StashKey[Path]()


def pytest_configure(config: pytest.Config) -> None:
    """Snapshot the user's databases, then give the session its own data dir and settings."""
    folders = data_guard.user_data_dirs(os.environ)
    if data_guard.guard_enabled(os.environ):
        config.stash[_USER_DATA] = {folder: data_guard.snapshot(folder) for folder in folders}
    data_dir = data_guard.make_test_data_dir()
    config.stash[_TEST_DATA_DIR] = data_dir
    data_guard.isolate_environment(os.environ, data_dir)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the session when a test changed, created or removed one of the user's databases."""
    before = session.config.stash.get(_USER_DATA, None)
    if before is None:
        return
    problems: List[str] = []
    for folder, files in before.items():
        problems += [
            f"{folder}/{line}"
            for line in data_guard.changed_files(files, data_guard.snapshot(folder))
        ]
    if problems:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        message = (
            "the test session changed the user's data (tests must use their own data dir; "
            f"set {data_guard.GUARD_SWITCH}=0 only while `make run` writes there):\n  "
            + "\n  ".join(problems)
        )
        if reporter is not None:
            reporter.write_line("")
            reporter.write_sep("=", "user data changed", red=True)
            reporter.write_line(message)
        logger.error(message)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_unconfigure(config: pytest.Config) -> None:
    """Delete the session's temporary data dir."""
    data_dir = config.stash.get(_TEST_DATA_DIR, None)
    if data_dir is not None:
        data_guard.remove_test_data_dir(data_dir)


@pytest.fixture(scope="session")
def seeded_template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated and seeded SQLite file made once per test session, copied per test."""
    path = tmp_path_factory.mktemp("shop-template") / "shop.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    engine = make_engine(url)
    with make_session_factory(engine)() as session, session.begin():
        seed(session, seed_value=SEED_VALUE, customers=60, products=30, now=SEED_NOW)
    engine.dispose()
    return path


@pytest.fixture()
def database_url(seeded_template_db: Path, tmp_path: Path) -> str:
    """URL of a fresh copy of the seeded shop database for one test."""
    target = tmp_path / "shop.db"
    target.write_bytes(seeded_template_db.read_bytes())
    return f"sqlite:///{target}"


@pytest.fixture()
def engine(database_url: str) -> Iterator[Engine]:
    """Engine on the test's database, disposed afterwards."""
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture()
def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Session factory on the test's database."""
    return make_session_factory(engine)
