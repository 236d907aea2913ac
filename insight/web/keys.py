"""Typed keys of the aiohttp application's shared state."""

from __future__ import annotations

import jinja2
from aiohttp import web
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from knowledge.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", Engine)
SESSION_FACTORY = web.AppKey("session_factory", sessionmaker)
TEMPLATES = web.AppKey("templates", jinja2.Environment)

__all__ = ["ENGINE", "SESSION_FACTORY", "SETTINGS", "TEMPLATES", "Session"]
