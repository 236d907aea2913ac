"""Rasa's Redis lock store with atomic ticket updates, for several Rasa processes.

Rasa 3.6's ``RedisLockStore`` updates a conversation's ticket lock by GET, change, SET. Inside
one process that is safe (no ``await`` in between), but two Rasa processes can interleave: two
messages of one conversation may draw the same ticket and be processed at the same time, and a
``cleanup`` that deletes the lock right after another process queued a ticket makes that
message fail with "Could not acquire lock". This subclass does every read-modify-write of a
lock in a Redis ``WATCH``/``MULTI`` transaction (retried when another process changed the lock
meanwhile), and waits for its turn by polling every ``poll_s`` seconds instead of Rasa's 1 s.

Named in ``bot/endpoints-scale.yml`` as ``scale.lock_store.AtomicRedisLockStore``.
"""

from __future__ import annotations

import json
import logging
from contextlib import asynccontextmanager
from typing import Any, AsyncGenerator, Callable

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

logger = logging.getLogger(__name__)

# Seconds between checks whether a waiting message's turn has come.
DEFAULT_POLL_S = 0.05


class AtomicRedisLockStore(RedisLockStore):
    """``RedisLockStore`` whose ticket changes are Redis transactions."""

    def __init__(
        self,
        endpoint_config: EndpointConfig | None = None,
        poll_s: float = DEFAULT_POLL_S,
        **kwargs: Any,
    ) -> None:
        """Rasa creates custom lock stores from their ``endpoint_config`` (endpoints.yml)."""
        if endpoint_config is not None:
            kwargs = {"host": endpoint_config.url, **endpoint_config.kwargs, **kwargs}
            poll_s = float(kwargs.pop("poll_s", poll_s))
        super().__init__(**kwargs)
        self.poll_s = float(poll_s)

    def _update(self, conversation_id: str, change: Callable[[TicketLock], Any]) -> Any:
        """Apply ``change`` to the stored lock atomically; returns what ``change`` returned.

        ``change`` gets the current (or a new) lock and mutates it; an emptied lock is deleted.
        """
        key = self.key_prefix + conversation_id
        result: list[Any] = []

        def transaction(pipe: Any) -> None:
            result.clear()
            raw = pipe.get(key)
            lock = TicketLock.from_dict(json.loads(raw)) if raw else None
            if lock is None:
                lock = TicketLock(conversation_id)
                existed = False
            else:
                existed = True
            result.append(change(lock))
            pipe.multi()
            if lock.tickets:
                pipe.set(key, lock.dumps())
            elif existed:
                pipe.delete(key)

        self.red.transaction(transaction, key)
        return result[0]

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        """Append a ticket to the conversation's queue (atomically) and return its number."""
        try:
            return int(self._update(conversation_id, lambda lock: lock.issue_ticket(lock_lifetime)))
        except Exception as error:
            raise LockError(f"Error while acquiring lock. Error:\n{error}") from error

    def update_lock(self, conversation_id: str) -> None:
        """Drop expired tickets (atomically)."""
        self._update(conversation_id, lambda lock: lock.remove_expired_tickets())

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        """Remove this ticket; the lock disappears with its last ticket (atomically)."""
        self._update(conversation_id, lambda lock: lock.remove_ticket_for(ticket_number))

    @asynccontextmanager
    async def lock(
        self,
        conversation_id: str,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: float | None = None,
    ) -> AsyncGenerator[TicketLock, None]:
        """Hold the conversation's lock; waits its turn polling every ``poll_s`` seconds."""
        ticket = self.issue_ticket(conversation_id, lock_lifetime)
        try:
            yield await self._acquire_lock(conversation_id, ticket, self.poll_s)
        finally:
            self.cleanup(conversation_id, ticket)
