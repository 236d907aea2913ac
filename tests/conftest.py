"""Fixtures shared by every test: a migrated, seeded shop database on a real SQLite file."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from knowledge.db import make_engine, make_session_factory
from knowledge.migrate import upgrade
from knowledge.shop.seed import seed

logger = logging.getLogger(__name__)

# A fixed clock so that seeded dates, ETAs and return windows are reproducible in tests.
SEED_NOW = datetime(2026, 11, 20, 12, 0, 0)
SEED_VALUE = 20240601


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
