"""Plugs the supervisor dashboard page into the insight web app."""

from __future__ import annotations

import logging
from pathlib import Path

import jinja2
from aiohttp import web

from insight.web.dashboard import views
from insight.web.dashboard.inbox_api import setup_inbox
from insight.web.dashboard.keys import DASHBOARD_TEMPLATES

logger = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).resolve().parent


def setup_dashboard(app: web.Application) -> None:
    """Register the page, its static files and Chart.js (call after ``setup_console``)."""
    app[DASHBOARD_TEMPLATES] = jinja2.Environment(
        loader=jinja2.FileSystemLoader(PACKAGE_DIR / "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
    )
    router = app.router
    router.add_get("/dashboard", views.dashboard_page, name="dashboard")
    router.add_get("/dashboard/vendor/{name}", views.chart_js, name="dashboard-vendor")
    router.add_static("/dashboard/static/", PACKAGE_DIR / "static", name="dashboard-static")
    setup_inbox(app)
