"""Request handlers of the insight web app."""

from __future__ import annotations

import logging

from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from insight.web.keys import SESSION_FACTORY
from knowledge.models import Customer, Order

logger = logging.getLogger(__name__)


async def health(request: web.Request) -> web.Response:
    """Liveness and database check: 200 with counts, 503 when the database is down."""
    try:
        with request.app[SESSION_FACTORY]() as session:
            customers = session.execute(select(func.count(Customer.id))).scalar_one()
            orders = session.execute(select(func.count(Order.id))).scalar_one()
    except SQLAlchemyError:
        logger.exception("health check: database unavailable")
        return web.json_response({"status": "database unavailable"}, status=503)
    return web.json_response({"status": "ok", "customers": customers, "orders": orders})
