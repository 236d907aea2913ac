"""URL routes of the insight web app."""

from __future__ import annotations

from aiohttp import web

from insight import views


def setup_routes(app: web.Application) -> None:
    """Register every route of the app."""
    app.router.add_get("/", views.shop_page, name="shop")
    app.router.add_get("/healthz", views.health, name="health")
