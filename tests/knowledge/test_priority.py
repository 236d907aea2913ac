"""Background threads lower their own CPU priority, the others keep theirs."""

from __future__ import annotations

import os
import threading

import pytest

from knowledge.priority import background_executor, lower_this_thread

pytestmark = pytest.mark.skipif(not hasattr(os, "getpriority"), reason="no thread priorities")


def _niceness() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def test_the_background_thread_is_nicer_and_the_caller_is_not() -> None:
    before = _niceness()
    executor = background_executor("test-background", 5)
    try:
        inside = executor.submit(_niceness).result(timeout=10)
    finally:
        executor.shutdown(wait=True)
    assert inside == min(19, before + 5)
    assert _niceness() == before


def test_zero_leaves_the_thread_alone() -> None:
    result: list = []
    thread = threading.Thread(target=lambda: result.append((lower_this_thread(0), _niceness())))
    thread.start()
    thread.join()
    assert result == [(False, _niceness())]
