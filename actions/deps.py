"""Cached providers of the action server's shared resources, created on first use."""

from __future__ import annotations

import logging
from functools import lru_cache

from sqlalchemy.orm import Session, sessionmaker

from knowledge.db import get_engine, make_session_factory
from knowledge.settings import Settings, get_settings

logger = logging.getLogger(__name__)


def settings() -> Settings:
    """The process settings."""
    return get_settings()


@lru_cache(maxsize=1)
def session_factory() -> sessionmaker[Session]:
    """Session factory on the shop database; open one short session per action run."""
    return make_session_factory(get_engine(settings().resolved_database_url))


def clear_caches() -> None:
    """Forget every cached resource (tests point the providers at a new database)."""
    get_settings.cache_clear()
    get_engine.cache_clear()
    session_factory.cache_clear()
