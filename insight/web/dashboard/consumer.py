"""Plugs the analytics into the insight web app: API routes and the background consumer.

The consumer runs for the app's lifetime (``app.cleanup_ctx``): with ``SHOP_EVENTS_AMQP_URL``
set it consumes Rasa's Pika broker queue (scale-out profile), otherwise it polls the SQL event
broker's database every ``SHOP_ANALYTICS_INGEST_INTERVAL_S`` seconds (0 turns it off). When new
conversations arrived, customers are re-segmented at most every
``SHOP_ANALYTICS_SEGMENT_INTERVAL_S`` seconds. Errors are logged and retried, never fatal.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import AsyncIterator

from aiohttp import web
from sqlalchemy.orm import sessionmaker

from insight.analytics import ingest, segments
from insight.analytics.fold import utcnow
from insight.analytics.rabbit import AmqpConsumer
from insight.web.dashboard.api import setup_api_routes
from insight.web.keys import SESSION_FACTORY, SETTINGS
from knowledge.settings import Settings

logger = logging.getLogger(__name__)

# Seconds to wait before retrying after a failure of the consumer.
RETRY_S = 5.0


def resegment(factory: sessionmaker, settings: Settings) -> None:
    """Recompute the customer segments in one transaction."""
    with factory() as session, session.begin():
        segments.refresh(session, settings, utcnow())


async def poll_sql_broker(factory: sessionmaker, settings: Settings) -> None:
    """Fold new SQL-broker rows forever; re-segment now and then when data changed."""
    last_segmented = float("-inf")
    changed = False
    warned = False
    while True:
        try:
            result = await asyncio.to_thread(
                ingest.ingest_sql_broker, factory, settings.resolved_events_db
            )
            changed = changed or result.conversations > 0
            warned = False
            due = time.monotonic() - last_segmented >= settings.analytics_segment_interval_s
            if changed and due:
                await asyncio.to_thread(resegment, factory, settings)
                last_segmented, changed = time.monotonic(), False
        except asyncio.CancelledError:
            raise
        except Exception:
            if not warned:
                logger.exception("Analytics ingest failed; retrying")
                warned = True
        await asyncio.sleep(settings.analytics_ingest_interval_s)


async def consume_amqp(factory: sessionmaker, settings: Settings) -> None:
    """Consume the RabbitMQ queue forever, reconnecting after failures."""
    assert settings.events_amqp_url
    while True:
        try:
            await AmqpConsumer(settings.events_amqp_url, settings.events_queue, factory).run()
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("Analytics RabbitMQ consumer failed; reconnecting in %ss", RETRY_S)
        await asyncio.sleep(RETRY_S)


async def _consumer_ctx(app: web.Application) -> AsyncIterator[None]:
    """Run the event consumer for the app's lifetime (after the database ctx)."""
    settings = app[SETTINGS]
    factory = app[SESSION_FACTORY]
    task: asyncio.Task | None = None
    if settings.events_amqp_url:
        task = asyncio.create_task(consume_amqp(factory, settings), name="analytics-amqp")
    elif settings.analytics_ingest_interval_s > 0:
        task = asyncio.create_task(poll_sql_broker(factory, settings), name="analytics-ingest")
    yield
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def setup_analytics(app: web.Application) -> None:
    """Register the analytics API and its event consumer (call after the database ctx)."""
    app.cleanup_ctx.append(_consumer_ctx)
    setup_api_routes(app)
