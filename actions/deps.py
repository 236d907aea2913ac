"""Cached providers of the action server's shared resources, created on first use."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import lru_cache, partial
from typing import Any, Callable, Tuple, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from knowledge.db import get_engine, make_session_factory
from knowledge.faq.index import AnswerIndex, Encoder, encoder_path, index_dir, load_or_build
from knowledge.settings import Settings, get_settings

logger = logging.getLogger(__name__)

T = TypeVar("T")


def settings() -> Settings:
    """The process settings."""
    return get_settings()


@lru_cache(maxsize=1)
def session_factory() -> sessionmaker[Session]:
    """Session factory on the shop database; open one short session per action run."""
    return make_session_factory(get_engine(settings().resolved_database_url))


def now() -> datetime:
    """The current local time without microseconds (naive, like the shop's timestamps)."""
    return datetime.now().replace(microsecond=0)


@lru_cache(maxsize=1)
def encoder() -> Encoder:
    """The sentence-transformers encoder of FAQ questions (loaded on first use)."""
    return Encoder(encoder_path(settings()))


@lru_cache(maxsize=1)
def answer_index() -> AnswerIndex:
    """The FAQ answer index, loaded once per process and rebuilt first when the templates or
    the encoder changed since it was saved."""
    model = encoder()
    return load_or_build(
        index_dir(settings()), model, encoder_name=model.name, dimension=model.dimension
    )


@lru_cache(maxsize=1)
def turn_writer() -> ThreadPoolExecutor:
    """One background thread that stores user turns in the knowledge graph, in arrival order."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="turn-writer")


async def after_queued_turns(function: Callable[..., T], *args: Any) -> T:
    """``function(*args)`` run on the turn writer's thread, after every turn queued before it.

    For database work that needs the rows a queued turn creates (an escalation links to the
    turn's conversation and message); in a thread of its own when turns are written inline.
    """
    if not settings().record_turn_in_background:
        return await asyncio.to_thread(function, *args)
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(turn_writer(), partial(function, *args))


#: The latest hand-over assessment of each conversation, ``sender id -> (Rasa message id and
#: intent, Assessment)`` (kept by actions.escalation.assess_tracker).
assessments: OrderedDict[str, Tuple[str, Any]] = OrderedDict()


def clear_caches() -> None:
    """Forget every cached resource (tests point the providers at a new database)."""
    assessments.clear()
    if turn_writer.cache_info().currsize:
        turn_writer().shutdown(wait=True)
    turn_writer.cache_clear()
    get_settings.cache_clear()
    get_engine.cache_clear()
    session_factory.cache_clear()
    encoder.cache_clear()
    answer_index.cache_clear()
