"""The tracker store survives a PostgreSQL restart: no error, no event lost (own PG cluster)."""

from __future__ import annotations

import asyncio
import time
from typing import Iterator

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from scale.tracker_store import ResilientSQLTrackerStore
from tests.scale.infra import PrivatePostgres

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    server.start()
    yield server
    server.destroy()


def _store(postgres: PrivatePostgres, retry_s: float = 20.0) -> ResilientSQLTrackerStore:
    return ResilientSQLTrackerStore(
        domain=Domain.empty(),
        dialect="postgresql",
        host="localhost",
        port=postgres.port,
        username="postgres",
        db="tracker",
        login_db="postgres",
        retry_s=retry_s,
    )


def _start_after(postgres: PrivatePostgres, seconds: float) -> None:
    time.sleep(seconds)
    postgres.start()


def _turn(tracker: DialogueStateTracker, text: str) -> None:
    tracker.update(UserUttered(text))
    tracker.update(BotUttered(f"re: {text}"))
    tracker.update(ActionExecuted("action_listen"))


async def test_a_restart_between_turns_loses_nothing(postgres: PrivatePostgres) -> None:
    store = _store(postgres)
    tracker = DialogueStateTracker("restart-between", slots=[])
    _turn(tracker, "one")
    await store.save(tracker)

    postgres.stop()
    postgres.start()  # every pooled connection is now dead

    stored = await store.retrieve("restart-between")
    assert stored is not None
    _turn(stored, "two")
    await store.save(stored)
    again = await store.retrieve("restart-between")
    assert again is not None
    assert [e.text for e in again.events if isinstance(e, UserUttered)] == ["one", "two"]


async def test_a_request_during_the_outage_waits_for_the_database(
    postgres: PrivatePostgres,
) -> None:
    store = _store(postgres)
    tracker = DialogueStateTracker("during-outage", slots=[])
    _turn(tracker, "one")
    await store.save(tracker)
    postgres.stop()
    loop = asyncio.get_running_loop()
    restart = loop.run_in_executor(None, _start_after, postgres, 2.0)
    _turn(tracker, "two")
    await store.save(tracker)  # retried until the server is back
    await restart
    stored = await store.retrieve("during-outage")
    assert stored is not None
    assert [e.text for e in stored.events if isinstance(e, UserUttered)] == ["one", "two"]


async def test_an_outage_longer_than_the_retry_window_is_an_error(
    postgres: PrivatePostgres,
) -> None:
    from sqlalchemy.exc import OperationalError

    store = _store(postgres, retry_s=1.0)
    postgres.stop()
    try:
        with pytest.raises(OperationalError):
            await store.retrieve("nobody")
    finally:
        postgres.start()
