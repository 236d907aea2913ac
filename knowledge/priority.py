"""Background threads that yield the CPU to the serving path (Linux thread niceness).

On the embedded profile's two cores, the insight app's analytics ingest (every
``SHOP_ANALYTICS_INGEST_INTERVAL_S`` seconds it folds the new event-broker rows) ran at the same
priority as the Rasa server's NLU forward and made a lone shopper's replies ~4 ms slower at the
median (docs/performance.md, cut 13). Linux schedules each thread on its own, so the thread that
does such work lowers its own priority; the process's other threads (the web app's requests)
keep theirs. Only for threads that hold no lock a serving thread waits for: in another process
than the serving one, or a process of its own.
"""

from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import partial

logger = logging.getLogger(__name__)


def lower_this_thread(niceness: int) -> bool:
    """Raise the calling thread's niceness by ``niceness`` (0: leave it); False (logged at
    debug) where the platform does not allow it."""
    if niceness <= 0:
        return False
    try:
        thread_id = threading.get_native_id()
        current = os.getpriority(os.PRIO_PROCESS, thread_id)
        os.setpriority(os.PRIO_PROCESS, thread_id, min(19, current + niceness))
        return True
    except (AttributeError, OSError) as error:
        logger.debug("could not lower the priority of thread %s: %s", threading.get_ident(), error)
        return False


def background_executor(name: str, niceness: int) -> ThreadPoolExecutor:
    """One worker thread, ``niceness`` below the process's priority, for periodic batch work."""
    return ThreadPoolExecutor(
        max_workers=1, thread_name_prefix=name, initializer=partial(lower_this_thread, niceness)
    )
