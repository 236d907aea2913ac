"""Console sessions on aiohttp-session: an encrypted cookie, CSRF tokens bound to the session.

aiohttp-session's :class:`~aiohttp_session.cookie_storage.EncryptedCookieStorage` keeps the
session (``{"agent": agent id or null, "csrf": token}``) in the cookie ``console_session``,
encrypted and authenticated with Fernet (AES-128-CBC and HMAC-SHA256, from ``cryptography``).
The key comes from ``SHOP_CONSOLE_SECRET``, else a secret generated once in the data dir
(:func:`knowledge.secret_files.console_secret`). A session expires ``console_session_s`` after it
was written (sign-in): the cookie's Max-Age, and on the server Fernet's timestamp check.

State-changing requests carry the session's CSRF token (header ``X-CSRF-Token`` or form field
``csrf_token``); signing in starts a new session with a new token. The cookie is ``HttpOnly``,
``SameSite=Strict`` and ``Secure`` on https or with ``SHOP_BEHIND_HTTPS``.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from dataclasses import dataclass
from typing import Any

import aiohttp_session
from aiohttp import web
from aiohttp_session.cookie_storage import EncryptedCookieStorage
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from knowledge.secret_files import console_secret
from knowledge.settings import Settings

logger = logging.getLogger(__name__)

COOKIE = "console_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
# Keys of the session mapping.
AGENT = "agent"
CSRF = "csrf"


@dataclass(frozen=True)
class ConsoleSession:
    """What a console session holds: the signed-in agent (if any) and the CSRF token."""

    agent_id: int | None
    csrf: str


def session_key(secret: str) -> bytes:
    """The 32-byte cookie encryption key derived from ``secret`` (HKDF-SHA256)."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"shop console session")
    return hkdf.derive(secret.encode())


class ConsoleCookieStorage(EncryptedCookieStorage):
    """The encrypted cookie storage, ``Secure`` on https requests or behind an https proxy."""

    def __init__(self, key: bytes, *, max_age: int, behind_https: bool) -> None:
        super().__init__(
            key,
            cookie_name=COOKIE,
            max_age=max_age,
            # One sign-in for the console (/console) and the supervisors' dashboard (/dashboard).
            path="/",
            httponly=True,
            samesite="Strict",
        )
        self.behind_https = behind_https

    async def save_session(
        self, request: web.Request, response: web.StreamResponse, session: aiohttp_session.Session
    ) -> None:
        """Write the cookie as aiohttp-session does, then mark it ``Secure`` where it must be."""
        await super().save_session(request, response, session)
        if (request.secure or self.behind_https) and COOKIE in response.cookies:
            response.cookies[COOKIE]["secure"] = True


def setup_sessions(app: web.Application, settings: Settings) -> None:
    """Install aiohttp-session's middleware with the console's cookie storage."""
    storage = ConsoleCookieStorage(
        session_key(console_secret(settings)),
        max_age=settings.console_session_s,
        behind_https=settings.behind_https,
    )
    aiohttp_session.setup(app, storage)


def _console_session(session: aiohttp_session.Session) -> ConsoleSession | None:
    """The console's view of an aiohttp-session session; ``None`` when it has no CSRF token."""
    csrf = session.get(CSRF)
    if not isinstance(csrf, str) or not csrf:
        return None
    agent = session.get(AGENT)
    return ConsoleSession(agent if isinstance(agent, int) else None, csrf)


async def current(request: web.Request) -> ConsoleSession | None:
    """The request's valid session, if any (a forged, tampered or expired cookie gives none)."""
    return _console_session(await aiohttp_session.get_session(request))


async def ensure_session(request: web.Request) -> ConsoleSession:
    """The request's session, or a new anonymous one (saved with the response)."""
    session = await aiohttp_session.get_session(request)
    found = _console_session(session)
    if found is not None:
        return found
    session[AGENT] = None
    session[CSRF] = secrets.token_urlsafe(24)
    return ConsoleSession(None, session[CSRF])


async def sign_in(request: web.Request, agent_id: int) -> ConsoleSession:
    """Replace the request's session by a fresh one (new CSRF token) for ``agent_id``."""
    session = await aiohttp_session.new_session(request)
    session[AGENT] = agent_id
    session[CSRF] = secrets.token_urlsafe(24)
    return ConsoleSession(agent_id, session[CSRF])


async def sign_out(request: web.Request) -> None:
    """End the request's session (the response deletes the cookie)."""
    (await aiohttp_session.get_session(request)).invalidate()


def check_csrf(request: web.Request, session: ConsoleSession | None, form: Any = None) -> None:
    """Raise 403 unless the request carries the session's CSRF token."""
    token = request.headers.get(CSRF_HEADER) or (form.get(CSRF_FIELD) if form else None)
    if session is None or not token or not hmac.compare_digest(str(token), session.csrf):
        raise web.HTTPForbidden(text="missing or wrong CSRF token")
