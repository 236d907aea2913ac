"""Typed keys of the aiohttp application's shared state."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from knowledge.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", Engine)
SESSION_FACTORY = web.AppKey("session_factory", sessionmaker)

__all__ = ["ENGINE", "SESSION_FACTORY", "SETTINGS", "Session"]
