"""HTTP clients of the demo: a shopper on Rasa's REST channel, an agent on the console's API.

Both talk to the running system exactly as real users do: the shopper posts to
``/webhooks/rest/webhook`` (with ``customer_id`` metadata when signed in, like the shop widget);
the agent signs in at ``/console/login`` (cookie + CSRF token), keeps a console websocket open
(so that the bot sees an agent online), and claims, replies to and resolves escalations through
``/console/api/...``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from typing import Any

import aiohttp

logger = logging.getLogger(__name__)

REQUEST_TIMEOUT_S = 60.0
RETRY_DELAY_S = 1.0
# HTTP 429 (too fast for the channel's rate limit): wait this long, at most this often.
SLOW_DOWN_S = 2.0
MAX_SLOW_DOWNS = 5
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


class DemoRequestError(RuntimeError):
    """A request to the system failed (after one retry; after waiting out rate limits)."""


class RestShopper:
    """Sends shopper messages to Rasa's REST channel and returns the bot's replies."""

    def __init__(self, http: aiohttp.ClientSession, rasa_url: str) -> None:
        self.http = http
        self.url = rasa_url.rstrip("/") + "/webhooks/rest/webhook"

    async def send(self, sender_id: str, text: str, metadata: dict[str, Any]) -> list[dict]:
        """Post one message; the bot's replies (an empty list while a person has the chat)."""
        body: dict[str, Any] = {"sender": sender_id, "message": text}
        if metadata:
            body["metadata"] = metadata
        failures = 0
        slowed = 0
        while True:
            try:
                async with self.http.post(
                    self.url, json=body, timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
                ) as response:
                    if response.status == 429 and slowed < MAX_SLOW_DOWNS:
                        # The channel's per-sender rate limit: wait for the bucket to refill.
                        slowed += 1
                        await asyncio.sleep(SLOW_DOWN_S)
                        continue
                    if response.status < 500:
                        if response.status >= 400:
                            detail = (await response.text())[:200]
                            raise DemoRequestError(f"Rasa answered {response.status}: {detail}")
                        replies = await response.json()
                        return replies if isinstance(replies, list) else []
                    error = f"Rasa answered {response.status}"
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                error = f"Rasa unreachable: {exc!r}"
            failures += 1
            if failures > 1:
                raise DemoRequestError(error)
            logger.warning("%s (%s); retrying once", error, sender_id)
            await asyncio.sleep(RETRY_DELAY_S)


class ConsoleAgent:
    """One demo console account (agent or supervisor) signed in, with its own cookie jar."""

    def __init__(
        self, insight_url: str, username: str, password: str, *, present: bool = True
    ) -> None:
        self.base = insight_url.rstrip("/")
        self.username = username
        self.password = password
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.csrf = ""
        # Agents keep a console websocket open so that the bot sees someone online.
        self.present = present
        self._presence: asyncio.Task[None] | None = None

    async def sign_in(self) -> bool:
        """Sign in and open the console websocket; False (logged) when the account is refused."""
        async with self.http.get(f"{self.base}/console/login") as response:
            found = CSRF_FIELD.search(await response.text())
        if not found:
            raise DemoRequestError("the console sign-in page has no CSRF token")
        form = {"username": self.username, "password": self.password, "csrf_token": found[1]}
        async with self.http.post(f"{self.base}/console/login", data=form) as response:
            page = await response.text()
            if response.status != 200 or not (meta := CSRF_META.search(page)):
                logger.warning("demo agent %r cannot sign in (%s)", self.username, response.status)
                return False
        self.csrf = meta[1]
        if self.present:
            self._presence = asyncio.create_task(
                self._stay_present(), name=f"agent-{self.username}"
            )
        return True

    async def get_json(self, path: str) -> Any:
        """GET a JSON resource of the web app (e.g. the dashboard's API) as this account."""
        async with self.http.get(self.base + path) as response:
            if response.status != 200:
                detail = (await response.text())[:200]
                raise DemoRequestError(f"{path} answered {response.status}: {detail}")
            return await response.json()

    async def _stay_present(self) -> None:
        """Keep a console websocket open: the bot counts the agent as online meanwhile."""
        while True:
            try:
                async with self.http.ws_connect(f"{self.base}/console/ws", heartbeat=20) as ws:
                    async for _message in ws:
                        pass  # queue pushes; the demo looks escalations up itself
            except aiohttp.ClientError as error:
                logger.debug("console websocket of %s: %r", self.username, error)
            await asyncio.sleep(1)

    async def find_escalation(self, sender_id: str, timeout_s: float = 10.0) -> int | None:
        """The id of the open escalation of ``sender_id`` in the queue, waiting for it."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while True:
            async with self.http.get(f"{self.base}/console/api/queue") as response:
                if response.status != 200:
                    raise DemoRequestError(f"console queue answered {response.status}")
                queue = await response.json()
            for item in queue.get("items", []):
                if item.get("sender_id") == sender_id and item.get("status") == "open":
                    return int(item["id"])
            if asyncio.get_running_loop().time() > deadline:
                return None
            await asyncio.sleep(0.5)

    async def claim(self, escalation_id: int) -> None:
        """Take the conversation (the shopper is told who joined)."""
        await self._post(f"/console/api/escalations/{escalation_id}/claim")

    async def reply(self, escalation_id: int, text: str) -> None:
        """Write to the shopper."""
        await self._post(f"/console/api/escalations/{escalation_id}/reply", {"text": text})

    async def resolve(self, escalation_id: int) -> None:
        """Hand back to the bot, which asks the shopper for a rating."""
        await self._post(f"/console/api/escalations/{escalation_id}/resolve")

    async def _post(self, path: str, body: dict[str, Any] | None = None) -> None:
        headers = {"X-CSRF-Token": self.csrf}
        async with self.http.post(self.base + path, json=body or {}, headers=headers) as response:
            # 502: stored, but Rasa's REST channel cannot push it to the shopper (expected here).
            if response.status not in (200, 502):
                detail = (await response.text())[:200]
                raise DemoRequestError(f"{path} answered {response.status}: {detail}")

    async def close(self) -> None:
        """Close the websocket and the HTTP session."""
        if self._presence is not None:
            self._presence.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._presence
        await self.http.close()
