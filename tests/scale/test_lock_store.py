"""The atomic Redis lock store serializes one conversation across processes (real Redis)."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from typing import Iterator, List

import pytest
import redis

from scale.lock_store import AtomicRedisLockStore

REDIS_DB = 14


@pytest.fixture()
def prefix() -> Iterator[str]:
    """A key prefix of this test's own; its keys are removed afterwards."""
    prefix = "scaletest" + uuid.uuid4().hex[:8]
    yield prefix
    client = redis.Redis(db=REDIS_DB)
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)


def _store(prefix: str) -> AtomicRedisLockStore:
    return AtomicRedisLockStore(host="localhost", port=6379, db=REDIS_DB, key_prefix=prefix)


def test_one_conversation_is_served_one_message_at_a_time(prefix: str) -> None:
    """Eight 'processes' (own connection, own event loop) never overlap inside one lock."""
    inside = 0
    most_inside = 0
    served: List[int] = []
    guard = threading.Lock()

    async def handle(store: AtomicRedisLockStore, n: int) -> None:
        nonlocal inside, most_inside
        async with store.lock("conv-1"):
            with guard:
                inside += 1
                most_inside = max(most_inside, inside)
            await asyncio.sleep(0.02)
            with guard:
                inside -= 1
                served.append(n)

    def worker(n: int) -> None:
        async def three_messages() -> None:
            store = _store(prefix)
            await asyncio.gather(*(handle(store, n * 10 + i) for i in range(3)))

        asyncio.run(three_messages())

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(served) == 24
    assert most_inside == 1
    # 24 turns of 20 ms one after another, each waiting at most one 50 ms poll.
    assert time.monotonic() - started < 24 * (0.02 + 0.06) + 5
    assert not list(redis.Redis(db=REDIS_DB).scan_iter(f"{prefix}:*")), "lock left behind"


async def test_other_conversations_do_not_wait(prefix: str) -> None:
    store = _store(prefix)
    async with store.lock("a"), store.lock("b"):
        assert store.get_lock("b") is not None


async def test_redis_down_is_a_lock_error() -> None:
    from rasa.core.lock_store import LockError

    store = AtomicRedisLockStore(host="localhost", port=1, db=REDIS_DB, socket_timeout=1)
    with pytest.raises(LockError):
        async with store.lock("a"):
            pass
