"""RabbitMQ consumer of Rasa's Pika event broker (the scale-out profile).

Rasa's ``PikaEventBroker`` publishes every tracker event as the JSON body
``{"sender_id": ..., **event.as_dict()}`` to its queues (``Settings.events_queue``, default
``shop-events``, declared durable like Rasa does). The consumer takes up to ``batch`` messages
(or whatever arrived within ``flush_s``), folds them in one transaction with the same
:func:`insight.analytics.fold.fold` the SQL broker uses, and only then acknowledges them: a crash
before the commit redelivers them, and redelivered events are recognised by their keys. A
message that is not a Rasa event is logged and rejected without requeueing.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from sqlalchemy.orm import sessionmaker

from insight.analytics.events import BadEventError, RawEvent, normalise
from insight.analytics.fold import FoldResult, fold

logger = logging.getLogger(__name__)

AMQP_SOURCE = "amqp"


@dataclass
class ConsumerStats:
    """Counters of one consumer's lifetime."""

    messages: int = 0
    events: int = 0
    rejected: int = 0
    batches: int = 0


class AmqpConsumer:
    """Consumes Rasa events from one RabbitMQ queue into the analytics tables."""

    def __init__(
        self,
        url: str,
        queue: str,
        factory: sessionmaker,
        batch: int = 200,
        flush_s: float = 0.5,
    ) -> None:
        self.url = url
        self.queue_name = queue
        self.factory = factory
        self.batch = batch
        self.flush_s = flush_s
        self.stats = ConsumerStats()
        self.ready = asyncio.Event()

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Consume until cancelled (or ``stop`` is set); reconnects through aio-pika."""
        import aio_pika

        connection = await aio_pika.connect_robust(self.url)
        try:
            channel = await connection.channel()
            await channel.set_qos(prefetch_count=self.batch)
            queue = await channel.declare_queue(self.queue_name, durable=True)
            inbox: asyncio.Queue = asyncio.Queue()
            # A callback feeding our own queue: cancelling a wait on aio-pika's queue iterator
            # would close the consumer.
            tag = await queue.consume(inbox.put)
            logger.info("Consuming Rasa events from queue %s", self.queue_name)
            self.ready.set()
            try:
                while stop is None or not stop.is_set():
                    pending = await self._collect(inbox)
                    if pending:
                        await self._fold(pending)
            finally:
                await queue.cancel(tag)
        finally:
            await connection.close()

    async def _collect(self, inbox: asyncio.Queue) -> list:  # type: ignore[type-arg]
        """Up to ``batch`` messages, waiting at most ``flush_s`` after the first."""
        pending: list = []
        deadline = None
        loop = asyncio.get_running_loop()
        while len(pending) < self.batch:
            timeout = self.flush_s if deadline is None else max(0.0, deadline - loop.time())
            try:
                message = await asyncio.wait_for(inbox.get(), timeout)
            except asyncio.TimeoutError:
                break
            pending.append(message)
            deadline = deadline or loop.time() + self.flush_s
        return pending

    async def _fold(self, pending: list) -> FoldResult:  # type: ignore[type-arg]
        events: list[RawEvent] = []
        good = []
        for message in pending:
            try:
                events.append(normalise(message.body))
                good.append(message)
            except BadEventError as error:
                logger.warning("Rejecting a message on %s: %s", self.queue_name, error)
                self.stats.rejected += 1
                await message.reject(requeue=False)
        result = await asyncio.to_thread(fold, self.factory, events, AMQP_SOURCE)
        for message in good:
            await message.ack()
        self.stats.messages += len(pending)
        self.stats.events += len(events)
        self.stats.batches += 1
        return result
