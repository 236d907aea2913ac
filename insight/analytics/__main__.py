"""Command line: ``python -m insight.analytics {ingest,backfill,segment,consume,rebuild}``.

* ``ingest``   fold the SQL event broker's new rows once (the web app does it continuously);
* ``backfill`` rebuild the analytics tables from Rasa's SQL tracker store;
* ``rebuild``  recompute conversations/messages from the stored events (e.g. new catalogue);
* ``segment``  recompute the customer segments;
* ``consume``  consume Rasa's Pika broker queue from RabbitMQ until interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import logging

from insight.analytics import fold, ingest, segments
from insight.analytics.fold import utcnow
from insight.analytics.rabbit import AmqpConsumer
from knowledge.db import make_engine, make_session_factory
from knowledge.settings import get_settings

logger = logging.getLogger(__name__)


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and run one analytics command."""
    settings = get_settings()
    parser = argparse.ArgumentParser(
        prog="python -m insight.analytics",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", choices=["ingest", "backfill", "rebuild", "segment", "consume"])
    parser.add_argument("--database-url", help="shop database (default: SHOP_DATABASE_URL)")
    parser.add_argument("--events-db", help="SQL event broker DB (default: SHOP_EVENTS_DB)")
    parser.add_argument("--tracker-db", help="Rasa tracker store DB (default: SHOP_TRACKER_DB)")
    parser.add_argument("--amqp-url", help="RabbitMQ URL (default: SHOP_EVENTS_AMQP_URL)")
    parser.add_argument("--queue", help="RabbitMQ queue (default: SHOP_EVENTS_QUEUE)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    engine = make_engine(args.database_url or settings.resolved_database_url)
    factory = make_session_factory(engine)
    try:
        if args.command == "ingest":
            print(ingest.ingest_sql_broker(factory, args.events_db or settings.resolved_events_db))
        elif args.command == "backfill":
            try:
                print(ingest.backfill(factory, args.tracker_db or settings.resolved_tracker_db))
            except FileNotFoundError as error:
                parser.exit(2, f"backfill: {error}\n")
        elif args.command == "rebuild":
            print(f"rebuilt {fold.rebuild_all(factory)} conversations")
        elif args.command == "segment":
            with factory() as session, session.begin():
                result = segments.refresh(session, settings, utcnow())
            for item in result.info:
                print(f"segment {item['segment']} ({item['size']}): {item['description']}")
        else:
            url = args.amqp_url or settings.events_amqp_url
            if not url:
                parser.error("consume needs --amqp-url or SHOP_EVENTS_AMQP_URL")
            consumer = AmqpConsumer(url, args.queue or settings.events_queue, factory)
            try:
                asyncio.run(consumer.run())
            except KeyboardInterrupt:
                print(consumer.stats)
    finally:
        engine.dispose()


if __name__ == "__main__":
    main()
