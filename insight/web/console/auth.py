"""Console sessions: an HMAC-signed cookie, CSRF tokens, and the sign-in guard.

The cookie holds ``{"a": agent id or null, "c": csrf token, "e": expiry}`` as base64 JSON and
an HMAC-SHA256 of it under ``Settings.console_secret`` (a random per-process key when unset).
Nothing secret is in the cookie; changing it breaks the signature. State-changing requests carry
the session's CSRF token (header ``X-CSRF-Token`` or form field ``csrf_token``) and the cookie is
``SameSite=Strict`` and ``HttpOnly`` (and ``Secure`` on https or with ``SHOP_BEHIND_HTTPS``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from aiohttp import web

from insight.web.keys import SETTINGS

logger = logging.getLogger(__name__)

COOKIE = "console_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class ConsoleSession:
    """The decoded cookie: the signed-in agent (if any) and the CSRF token."""

    agent_id: int | None
    csrf: str
    expires: float


CONSOLE_KEY = web.AppKey("console_key", bytes)


def make_key(configured: str | None) -> bytes:
    """The signing key: the configured secret, else a random key for this process."""
    if configured:
        return configured.encode()
    logger.warning("SHOP_CONSOLE_SECRET unset: console sessions end when the app restarts")
    return secrets.token_bytes(32)


def secret_key(request: web.Request) -> bytes:
    """The app's signing key (set by ``setup_console``)."""
    return request.app[CONSOLE_KEY]


def encode(session: ConsoleSession, key: bytes) -> str:
    """The cookie value of ``session``."""
    payload = json.dumps(
        {"a": session.agent_id, "c": session.csrf, "e": int(session.expires)},
        separators=(",", ":"),
    ).encode()
    body = base64.urlsafe_b64encode(payload).decode().rstrip("=")
    return f"{body}.{_sign(body, key)}"


def decode(value: str | None, key: bytes, now: float | None = None) -> ConsoleSession | None:
    """The session in a cookie value; ``None`` if missing, forged, malformed or expired."""
    if not value or "." not in value:
        return None
    body, signature = value.rsplit(".", 1)
    if not hmac.compare_digest(signature, _sign(body, key)):
        return None
    try:
        data: Any = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        session = ConsoleSession(
            int(data["a"]) if data.get("a") is not None else None, str(data["c"]), float(data["e"])
        )
    except (ValueError, KeyError, TypeError):
        return None
    if session.expires < (now if now is not None else time.time()):
        return None
    return session


def current(request: web.Request) -> ConsoleSession | None:
    """The request's valid session, if any."""
    return decode(request.cookies.get(COOKIE), secret_key(request))


def ensure_session(request: web.Request) -> ConsoleSession:
    """The request's session, or a new anonymous one (set it with :func:`set_cookie`)."""
    return current(request) or new_session(request, None)


def new_session(request: web.Request, agent_id: int | None) -> ConsoleSession:
    """A fresh session (new CSRF token) for ``agent_id``."""
    lifetime = request.app[SETTINGS].console_session_s
    return ConsoleSession(agent_id, secrets.token_urlsafe(24), time.time() + lifetime)


def set_cookie(request: web.Request, response: web.StreamResponse, session: ConsoleSession) -> None:
    """Store ``session`` in the response's cookie."""
    response.set_cookie(
        COOKIE,
        encode(session, secret_key(request)),
        max_age=max(0, int(session.expires - time.time())),
        httponly=True,
        samesite="Strict",
        # Secure on https, and always behind an https proxy (SHOP_BEHIND_HTTPS).
        secure=request.secure or request.app[SETTINGS].behind_https,
        # One sign-in for the console (/console) and the supervisors' dashboard (/dashboard).
        path="/",
    )


def check_csrf(request: web.Request, session: ConsoleSession | None, form: Any = None) -> None:
    """Raise 403 unless the request carries the session's CSRF token."""
    token = request.headers.get(CSRF_HEADER) or (form.get(CSRF_FIELD) if form else None)
    if session is None or not token or not hmac.compare_digest(str(token), session.csrf):
        raise web.HTTPForbidden(text="missing or wrong CSRF token")


def _sign(body: str, key: bytes) -> str:
    digest = hmac.new(key, body.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")
