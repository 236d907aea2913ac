"""URL routes of the insight web app."""

from __future__ import annotations

from aiohttp import web

from insight.web import views
from insight.web.shop.views import setup_shop_routes


def setup_routes(app: web.Application) -> None:
    """Register every route of the app."""
    setup_shop_routes(app)
    app.router.add_get("/healthz", views.health, name="health")
