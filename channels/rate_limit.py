"""Per-sender token buckets: one sender flooding the bot cannot slow down everyone else.

Each sender gets ``burst`` tokens that refill at ``per_second``; a message takes one. An empty
bucket means the sender is flooding: the channel answers :data:`TOO_FAST` (REST with HTTP 429)
and the message never reaches the bot (channels/message_guard.py). Buckets
live in the Rasa process (several Rasa workers behind sticky routing each keep their own);
idle full buckets are dropped so memory stays bounded by the number of active senders.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Callable, Dict

from knowledge.settings import Settings

logger = logging.getLogger(__name__)

TOO_FAST = "You're sending messages too fast, please wait a few seconds and try again."
# Buckets are swept when this many senders are tracked.
SWEEP_AT = 10_000


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Token bucket per sender id (not thread-safe: use it from one event loop)."""

    def __init__(
        self, burst: int, per_second: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if burst < 1 or per_second <= 0:
            raise ValueError("rate limit needs burst >= 1 and per_second > 0")
        self.burst = float(burst)
        self.per_second = per_second
        self.clock = clock
        self._buckets: Dict[str, _Bucket] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimiter:
        """The limiter configured by ``SHOP_RATE_LIMIT_BURST`` and ``SHOP_RATE_LIMIT_PER_S``."""
        return cls(settings.rate_limit_burst, settings.rate_limit_per_s)

    def allow(self, sender_id: str) -> bool:
        """Take a token for ``sender_id``; False when its bucket is empty (too fast)."""
        now = self.clock()
        if len(self._buckets) >= SWEEP_AT:
            self._sweep(now)
        bucket = self._buckets.get(sender_id)
        if bucket is None:
            bucket = self._buckets[sender_id] = _Bucket(self.burst, now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.per_second)
        bucket.updated = now
        if bucket.tokens < 1.0:
            logger.warning("Rate limited sender %r", sender_id)
            return False
        bucket.tokens -= 1.0
        return True

    def retry_after(self, sender_id: str) -> float:
        """Seconds until ``sender_id`` may send again."""
        bucket = self._buckets.get(sender_id)
        if bucket is None:
            return 0.0
        return max(0.0, (1.0 - bucket.tokens) / self.per_second)

    def _sweep(self, now: float) -> None:
        """Forget senders whose buckets have refilled (they behave like new senders)."""
        full_after = self.burst / self.per_second
        self._buckets = {
            sender: bucket
            for sender, bucket in self._buckets.items()
            if now - bucket.updated < full_after
        }
