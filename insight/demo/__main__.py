"""``python -m insight.demo`` (``make demo``): simulated shoppers chat with the running bot.

When the system is not running, it is started first (as ``make run`` does) and kept running after
the traffic so that the dashboard can be explored; Ctrl-C stops it (``--stop-after`` stops it
right after the traffic). When it is already running (``make run`` in another terminal), only the
traffic is sent.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from typing import Sequence

from insight.demo.catch_up import wait_for_dashboard
from insight.demo.clients import ConsoleAgent
from insight.demo.corpus import Corpus, CorpusError, load_corpus
from insight.demo.driver import DemoDriver, DemoStats
from insight.demo.scripts import Shopper, build_shoppers
from insight.demo.shop_data import load_shop_data
from insight.demo.system import StartedSystem, SystemStartError, services_up
from knowledge.db import make_engine, make_session_factory
from knowledge.handoff.agents import DEMO_ACCOUNTS
from knowledge.models import AgentRole
from knowledge.settings import Settings, get_settings
from knowledge.shop.identity_token import sign_customer_id

logger = logging.getLogger("insight.demo")

DEFAULT_CONVERSATIONS = 300
DEFAULT_CONCURRENCY = 4
DEFAULT_SEED = 20240601


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m insight.demo", description=__doc__)
    parser.add_argument("--conversations", type=int, default=DEFAULT_CONVERSATIONS)
    parser.add_argument(
        "--concurrency", type=int, default=DEFAULT_CONCURRENCY, help="shoppers talking at once"
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="same seed, same scripts")
    parser.add_argument(
        "--run-id",
        default=None,
        help="part of every sender id (default: the start time), so that runs never mix",
    )
    parser.add_argument(
        "--no-start", action="store_true", help="fail instead of starting a stopped system"
    )
    parser.add_argument(
        "--stop-after", action="store_true", help="stop a system the demo started after the run"
    )
    args = parser.parse_args(argv)
    if args.conversations < 1 or args.concurrency < 1:
        parser.error("--conversations and --concurrency must be at least 1")
    return args


def load_shoppers(
    settings: Settings, args: argparse.Namespace, run_id: str, corpus: Corpus
) -> list[Shopper]:
    """The scripts of this run (reads the shop database, read-only)."""
    engine = make_engine(settings.resolved_database_url)
    try:
        with make_session_factory(engine)() as session:
            shop = load_shop_data(session)
    finally:
        engine.dispose()
    return build_shoppers(args.conversations, args.seed, run_id, corpus, shop)


def demo_account(role: AgentRole) -> tuple[str, str]:
    """Name and password of the first demo account of ``role`` (``knowledge.handoff.agents``)."""
    return next((u, p) for u, _name, p, r in DEMO_ACCOUNTS if r == role)


async def drive(
    settings: Settings, args: argparse.Namespace, shoppers: list[Shopper], corpus: Corpus
) -> DemoStats:
    """Sign the demo agents in, play every shopper, wait until the dashboard counts them."""
    agents = [
        ConsoleAgent(settings.insight_url, user, password)
        for user, _name, password, role in DEMO_ACCOUNTS
        if role == AgentRole.AGENT
    ]
    signed_in = [agent for agent in agents if await agent.sign_in()]
    if not signed_in:
        print("No demo agent could sign in: hand-overs stay in the queue.", flush=True)
    try:
        driver = DemoDriver(
            settings.rasa_url,
            corpus.handoff_texts,
            signed_in,
            args.concurrency,
            args.seed,
            sign_customer=lambda customer_id: sign_customer_id(customer_id, settings),
            progress=lambda line: print(line, flush=True),
        )
        stats = await driver.run(shoppers)
    finally:
        for agent in agents:
            await agent.close()
    print(stats.summary(), flush=True)
    if stats.finished_ids:
        user, password = demo_account(AgentRole.SUPERVISOR)
        print("Waiting for the dashboard to count the conversations ...", flush=True)
        line = await wait_for_dashboard(settings.insight_url, user, password, stats.finished_ids)
        print(line, flush=True)
    return stats


def print_where(settings: Settings) -> None:
    """Where to look at the result."""
    supervisor = demo_account(AgentRole.SUPERVISOR)
    print(
        f"\nDashboard: {settings.insight_url}/dashboard "
        f"(sign in as {supervisor[0]} / {supervisor[1]})",
        flush=True,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Make sure the system runs, drive the traffic, print the summary."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    logger.setLevel(logging.INFO)
    args = parse_args(argv)
    settings = get_settings()
    run_id = args.run_id or time.strftime("%Y%m%d%H%M%S", time.gmtime())
    system: StartedSystem | None = None
    try:
        up = services_up(settings)
        if not all(up.values()):
            if any(up.values()) or args.no_start:
                down = ", ".join(name for name, ok in up.items() if not ok)
                print(f"Not running: {down}. Start the system with `make run`.", file=sys.stderr)
                return 2
            system = StartedSystem(settings)
            system.start()
        corpus = load_corpus()
        shoppers = load_shoppers(settings, args, run_id, corpus)
        print(
            f"Sending {len(shoppers)} conversations to {settings.rasa_url} "
            f"({args.concurrency} at a time, seed {args.seed}, run {run_id})",
            flush=True,
        )
        stats = asyncio.run(drive(settings, args, shoppers, corpus))
        print_where(settings)
        if system is not None and not args.stop_after:
            print("The system keeps running; press Ctrl-C to stop it.", flush=True)
            system.wait()
        return 0 if stats.failed == 0 else 1
    except CorpusError as error:
        print(f"Demo data missing: {error}", file=sys.stderr)
        return 2
    except SystemStartError as error:
        print(f"Could not start the system: {error} (logs in {settings.data_dir / 'logs'})")
        return 2
    except KeyboardInterrupt:
        return 130
    finally:
        if system is not None:
            system.stop()


if __name__ == "__main__":
    sys.exit(main())
