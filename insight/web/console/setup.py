"""Plugs the agent console into the insight web app: routes, templates, hub, Rasa client."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import AsyncIterator

import aiohttp
import jinja2
from aiohttp import web

from insight.web.console import auth, views
from insight.web.console.assist_views import setup_assist
from insight.web.console.hub import Hub
from insight.web.console.keys import CONSOLE_TEMPLATES, HUB, RASA
from insight.web.console.rasa_client import RasaClient
from insight.web.keys import SESSION_FACTORY, SETTINGS
from knowledge.secret_files import rasa_api_token

logger = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).resolve().parent


async def _console_ctx(app: web.Application) -> AsyncIterator[None]:
    """Rasa client session and the queue poller for the app's lifetime (after the database)."""
    settings = app[SETTINGS]
    async with aiohttp.ClientSession() as http:
        app[RASA] = RasaClient(settings.rasa_url, rasa_api_token(settings), http)
        hub = Hub(settings, app[SESSION_FACTORY], app[RASA])
        app[HUB] = hub
        task = asyncio.create_task(hub.run(), name="console-hub")
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        for ws in list(hub.sockets):
            await ws.close(code=aiohttp.WSCloseCode.GOING_AWAY, message=b"server shutdown")


def setup_console(app: web.Application) -> None:
    """Register the console's routes and its resources (call after the database ctx)."""
    auth.setup_sessions(app, app[SETTINGS])
    app[CONSOLE_TEMPLATES] = jinja2.Environment(
        loader=jinja2.FileSystemLoader(PACKAGE_DIR / "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
    )
    app.cleanup_ctx.append(_console_ctx)
    router = app.router
    router.add_get("/console/login", views.login_page, name="console-login")
    router.add_post("/console/login", views.login, name="console-login-post")
    router.add_post("/console/logout", views.logout, name="console-logout")
    router.add_get("/console", views.console_page, name="console")
    router.add_get("/console/escalations/{id:\\d+}", views.console_page, name="console-escalation")
    router.add_get("/console/ws", views.websocket, name="console-ws")
    router.add_get("/console/api/queue", views.api_queue, name="console-api-queue")
    router.add_get("/console/api/escalations/{id:\\d+}", views.api_escalation)
    router.add_post("/console/api/escalations/{id:\\d+}/claim", views.api_claim)
    router.add_post("/console/api/escalations/{id:\\d+}/reply", views.api_reply)
    router.add_post("/console/api/escalations/{id:\\d+}/resolve", views.api_resolve)
    router.add_static("/console/static/", PACKAGE_DIR / "static", name="console-static")
    setup_assist(app)
