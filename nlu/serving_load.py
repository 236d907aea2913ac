"""How many shopper messages the Rasa process is handling right now.

The input channels (``channels/``) count each message while Rasa handles it; the NLU component
reads the count to pick its torch thread count (``nlu.device.serving_threads``): a forward that
is the only work in flight may use both cores, one among several uses one (two OpenMP threads
on cores busy with other messages wait for each other; docs/performance.md). No imports of
Rasa here: channels and NLU components both stand on this module.
"""

from __future__ import annotations

import functools
from typing import Any, Awaitable, Callable, TypeVar

Handler = TypeVar("Handler", bound=Callable[..., Awaitable[Any]])


class InFlight:
    """A counter of messages in progress in this process (the event loop's thread only)."""

    def __init__(self) -> None:
        self.count = 0

    def counted(self, handler: Handler) -> Handler:
        """``handler`` (a channel's ``on_new_message``) counting the messages it handles."""

        @functools.wraps(handler)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            try:
                return await handler(*args, **kwargs)
            finally:
                self.count -= 1

        return wrapper  # type: ignore[return-value]


#: The Rasa process's messages in progress.
MESSAGES = InFlight()
