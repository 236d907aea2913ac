"""After the traffic: wait until the dashboard's API counts the run's conversations.

The analytics fold Rasa's events in the background (a poll of the event broker every few
seconds), so the last conversations of a run reach the dashboard a moment after the run. This
signs in as the demo supervisor, reads ``/dashboard/api/overview`` until every conversation of
the run is counted (or a timeout), and asks the API to recompute the customer segments so that
they include the new customers. Read-only apart from that recomputation, which the API offers.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Collection

from insight.demo.clients import ConsoleAgent, DemoRequestError

logger = logging.getLogger(__name__)

POLL_S = 2.0
TIMEOUT_S = 90.0


async def wait_for_dashboard(
    insight_url: str,
    username: str,
    password: str,
    sender_ids: Collection[str],
    timeout_s: float = TIMEOUT_S,
) -> str:
    """A line saying how many of ``sender_ids`` the dashboard counts (after waiting for them)."""
    supervisor = ConsoleAgent(insight_url, username, password, present=False)
    try:
        if not await supervisor.sign_in():
            return f"Could not sign in as {username} to check the dashboard."
        wanted = set(sender_ids)
        deadline = asyncio.get_running_loop().time() + timeout_s
        while True:
            overview = await supervisor.get_json("/dashboard/api/overview")
            shown = wanted & set(overview["summary"].get("conversation_ids", []))
            if shown == wanted or asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(POLL_S)
        segments = await supervisor.get_json("/dashboard/api/segments?refresh=1")
        total = overview["summary"]["conversations"]
        return (
            f"The dashboard counts {len(shown)} of this run's {len(wanted)} conversations "
            f"({total} in all) and {segments['summary']['k']} customer segments."
        )
    except DemoRequestError as error:
        logger.warning("could not read the dashboard's API: %s", error)
        return f"Could not read the dashboard's API ({error})."
    finally:
        await supervisor.close()
