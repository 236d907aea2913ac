"""Runs the simulated conversations against the running system, bounded and concurrency-limited.

At most ``concurrency`` shoppers talk at once (each sends one message at a time, so Rasa sees at
most that many requests in flight). A shopper whose conversation is handed to a person may send
one line while waiting; when the demo agent takes it, the agent waits a moment, claims, replies,
resolves, and the shopper answers the bot's rating question. A failed conversation is counted and
reported, never retried beyond one retry per request, and does not stop the others.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Sequence

import aiohttp

from insight.demo.clients import ConsoleAgent, DemoRequestError, RestShopper
from insight.demo.scripts import Shopper

logger = logging.getLogger(__name__)

# Seconds the demo agent waits before each of claim, reply and resolve (uniform in the range,
# drawn from the run's seed), so that first-response and resolution times are not all zero.
AGENT_DELAY_S = (0.5, 2.5)


@dataclass
class DemoStats:
    """What the run did (printed as the summary)."""

    total: int
    finished: int = 0
    failed: int = 0
    messages: int = 0
    bot_replies: int = 0
    handovers: int = 0
    agent_handled: int = 0
    left_in_queue: int = 0
    ratings: int = 0
    personas: Counter = field(default_factory=Counter)
    signed_in: int = 0
    errors: list[str] = field(default_factory=list)
    finished_ids: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    @property
    def elapsed_s(self) -> float:
        """Seconds since the run started."""
        return time.monotonic() - self.started

    def progress_line(self) -> str:
        """One line of progress."""
        return (
            f"[{self.finished + self.failed:>4}/{self.total}] {self.messages} messages, "
            f"{self.handovers} hand-overs, {self.failed} failed, {self.elapsed_s:.0f} s"
        )

    def summary(self) -> str:
        """The end-of-run summary."""
        rate = self.messages / self.elapsed_s if self.elapsed_s else 0.0
        personas = ", ".join(f"{name} {n}" for name, n in sorted(self.personas.items()))
        lines = [
            f"Demo traffic finished in {self.elapsed_s:.1f} s ({rate:.1f} messages/s)",
            f"  conversations : {self.finished} done, {self.failed} failed (of {self.total})",
            f"  shoppers      : {self.signed_in} signed-in customers, "
            f"{self.finished + self.failed - self.signed_in} guests",
            f"  personas      : {personas}",
            f"  messages      : {self.messages} sent, {self.bot_replies} bot replies",
            f"  hand-overs    : {self.handovers} ({self.agent_handled} answered by the demo "
            f"agents, {self.left_in_queue} left in the queue), {self.ratings} ratings",
        ]
        lines += [f"  error: {e}" for e in self.errors[:5]]
        return "\n".join(lines)


class DemoDriver:
    """Plays :class:`Shopper` scripts through the REST channel; agents answer hand-overs."""

    def __init__(
        self,
        rasa_url: str,
        handoff_texts: frozenset[str],
        agents: Sequence[ConsoleAgent],
        concurrency: int,
        seed: int,
        sign_customer: Callable[[int], str],
        progress: Callable[[str], None] = print,
        agent_delay_s: tuple[float, float] = AGENT_DELAY_S,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.rasa_url = rasa_url
        self.handoff_texts = handoff_texts
        self.agents = list(agents)
        self.concurrency = concurrency
        self.rng = random.Random(seed)
        self.sign_customer = sign_customer
        self.progress = progress
        self.agent_delay_s = agent_delay_s

    async def run(self, shoppers: Sequence[Shopper]) -> DemoStats:
        """Play every shopper; the stats of the run."""
        stats = DemoStats(total=len(shoppers))
        every = max(1, len(shoppers) // 20)
        slots = asyncio.Semaphore(self.concurrency)
        # Delays are drawn up front so that they do not depend on task scheduling.
        delays = [tuple(self.rng.uniform(*self.agent_delay_s) for _ in range(3)) for _ in shoppers]
        connector = aiohttp.TCPConnector(limit=self.concurrency)
        async with aiohttp.ClientSession(connector=connector) as http:
            rest = RestShopper(http, self.rasa_url)

            async def play(index: int, shopper: Shopper) -> None:
                async with slots:
                    try:
                        await self._converse(rest, index, shopper, delays[index], stats)
                        stats.finished += 1
                        stats.finished_ids.append(shopper.sender_id)
                    except DemoRequestError as error:
                        stats.failed += 1
                        stats.errors.append(f"{shopper.sender_id}: {error}")
                        logger.error("conversation %s failed: %s", shopper.sender_id, error)
                stats.personas[shopper.persona] += 1
                stats.signed_in += shopper.customer_id is not None
                if (stats.finished + stats.failed) % every == 0:
                    self.progress(stats.progress_line())

            await asyncio.gather(*(play(i, s) for i, s in enumerate(shoppers)))
        return stats

    async def _converse(
        self,
        rest: RestShopper,
        index: int,
        shopper: Shopper,
        delays: tuple[float, ...],
        stats: DemoStats,
    ) -> None:
        """One conversation: the script until a hand-over, then the person and the rating."""
        # Signed in like the shop page signs its shopper in: a signed customer-id token.
        metadata = (
            {"customer_id": self.sign_customer(shopper.customer_id)}
            if shopper.customer_id is not None
            else {}
        )
        say = functools.partial(self._say, rest, shopper.sender_id, metadata, stats)
        handed_over = False
        for text in shopper.turns:
            replies = await say(text)
            if any((r.get("text") or "").strip() in self.handoff_texts for r in replies):
                handed_over = True
                break
        if not handed_over:
            return
        stats.handovers += 1
        if shopper.wait_message:
            await say(shopper.wait_message)
        if not (self.agents and shopper.agent_answers):
            stats.left_in_queue += 1
            return
        agent = self.agents[index % len(self.agents)]
        escalation_id = await agent.find_escalation(shopper.sender_id)
        if escalation_id is None:
            raise DemoRequestError("handed over, but no open escalation in the console queue")
        await asyncio.sleep(delays[0])
        await agent.claim(escalation_id)
        await asyncio.sleep(delays[1])
        await agent.reply(escalation_id, shopper.agent_reply)
        await asyncio.sleep(delays[2])
        await agent.resolve(escalation_id)
        stats.agent_handled += 1
        await say(str(shopper.rating))
        stats.ratings += 1
        if shopper.closing:
            await say(shopper.closing)

    @staticmethod
    async def _say(
        rest: RestShopper, sender_id: str, metadata: dict[str, str], stats: DemoStats, text: str
    ) -> list[dict]:
        replies = await rest.send(sender_id, text, metadata)
        stats.messages += 1
        stats.bot_replies += len(replies)
        return replies
