"""Command line of the data layer: ``python -m knowledge {migrate,seed,setup}``."""

from __future__ import annotations

import argparse
import logging
from datetime import datetime

from knowledge.db import make_engine, make_session_factory
from knowledge.handoff.agents import ensure_demo_agents
from knowledge.migrate import upgrade
from knowledge.settings import get_settings
from knowledge.shop.seed import is_empty, seed

logger = logging.getLogger(__name__)


def setup_database(url: str, *, do_seed: bool = True) -> bool:
    """Migrate the database at ``url`` and seed it when empty; True when it seeded."""
    settings = get_settings()
    upgrade(url)
    if not do_seed:
        return False
    engine = make_engine(url)
    try:
        factory = make_session_factory(engine)
        if settings.console_demo_accounts:
            with factory() as session, session.begin():
                ensure_demo_agents(session)
        with factory() as session, session.begin():
            if not is_empty(session):
                logger.info("Shop database already holds data; not seeding")
                return False
            seed(
                session,
                seed_value=settings.seed,
                customers=settings.seed_customers,
                products=settings.seed_products,
                now=datetime.now().replace(microsecond=0),
            )
        return True
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and run one data-layer command."""
    parser = argparse.ArgumentParser(prog="python -m knowledge", description=__doc__)
    parser.add_argument("command", choices=["migrate", "seed", "setup"])
    parser.add_argument("--database-url", help="SQLAlchemy URL (default: SHOP_DATABASE_URL)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    url = args.database_url or get_settings().resolved_database_url
    if args.command == "migrate":
        upgrade(url)
    else:
        seeded = setup_database(url)
        print("seeded the demo shop" if seeded else "shop database ready")


if __name__ == "__main__":
    main()
