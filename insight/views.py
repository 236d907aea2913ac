"""Request handlers of the insight web app."""

from __future__ import annotations

import html
import logging

from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from insight.keys import SESSION_FACTORY, SETTINGS
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


async def shop_page(request: web.Request) -> web.Response:
    """Placeholder shop page until the chat widget lands: links to the bot's endpoints."""
    settings = request.app[SETTINGS]
    rasa = html.escape(settings.rasa_url)
    body = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Demo shop</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main><h1>Demo shop</h1>
<p>The chat widget is coming. Meanwhile talk to the bot over its REST channel:</p>
<pre>curl -s {rasa}/webhooks/rest/webhook -H 'Content-Type: application/json' \\
  -d '{{"sender": "me", "message": "where is my order 1001?",
       "metadata": {{"customer_id": 1}}}}'</pre>
</main></body></html>"""
    return web.Response(text=body, content_type="text/html")
