"""aiohttp application factory of the insight web app."""

from __future__ import annotations

import logging
from typing import AsyncIterator

from aiohttp import web

from insight.web.console import setup_console
from insight.web.dashboard import setup_dashboard
from insight.web.dashboard.consumer import setup_analytics
from insight.web.keys import ENGINE, SESSION_FACTORY, SETTINGS, TEMPLATES
from insight.web.routes import setup_routes
from insight.web.shop.views import make_templates
from knowledge.db import make_engine, make_session_factory
from knowledge.settings import Settings

logger = logging.getLogger(__name__)


async def _database(app: web.Application) -> AsyncIterator[None]:
    """Open the shop database engine for the app's lifetime."""
    engine = make_engine(app[SETTINGS].resolved_database_url)
    app[ENGINE] = engine
    app[SESSION_FACTORY] = make_session_factory(engine)
    yield
    engine.dispose()


def create_app(settings: Settings) -> web.Application:
    """Build the web app: shop page, health check (agent console and dashboard plug in here)."""
    app = web.Application()
    app[SETTINGS] = settings
    app[TEMPLATES] = make_templates()
    app.cleanup_ctx.append(_database)
    setup_routes(app)
    setup_console(app)
    setup_analytics(app)
    setup_dashboard(app)
    return app
