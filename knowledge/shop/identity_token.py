"""Signed customer ids: how the shop page proves to the bot which customer is chatting.

The page (or any trusted client) puts ``sign_customer_id(customer_id, settings)`` into the Rasa
message metadata as ``customer_id``; the action server accepts a customer id only from such a
token (:func:`verify_customer_token`). A token is ``<id>.<expiry>.<signature>``: the signature
is HMAC-SHA256 under :func:`knowledge.secret_files.identity_secret` over
``customer:<id>:<expiry>`` (expiry in Unix seconds), base64url without padding. A plain number,
a changed id or expiry, another key's signature or an expired token verifies as nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import time
from dataclasses import dataclass
from enum import Enum

from knowledge.secret_files import identity_secret
from knowledge.settings import Settings

logger = logging.getLogger(__name__)

_SEPARATOR = "."
# Longest token text looked at (an id and an expiry of sane size plus a 43-character signature).
MAX_TOKEN_CHARS = 120


class TokenProblem(str, Enum):
    """Why a customer-id claim was refused."""

    UNSIGNED = "unsigned"
    MALFORMED = "malformed"
    BAD_SIGNATURE = "bad_signature"
    EXPIRED = "expired"


@dataclass(frozen=True)
class Verified:
    """The outcome of checking a claim: the customer id, or the problem."""

    customer_id: int | None
    problem: TokenProblem | None = None


def _signature(key: bytes, customer_id: int, expires: int) -> str:
    message = f"customer:{customer_id}:{expires}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def sign_customer_id(
    customer_id: int, settings: Settings, *, ttl_s: int | None = None, now: float | None = None
) -> str:
    """A token that proves ``customer_id`` until ``ttl_s`` (default from settings) from now."""
    if isinstance(customer_id, bool) or int(customer_id) <= 0:
        raise ValueError(f"customer id must be a positive integer, not {customer_id!r}")
    lifetime = settings.identity_token_ttl_s if ttl_s is None else ttl_s
    expires = int((time.time() if now is None else now) + lifetime)
    signature = _signature(identity_secret(settings), int(customer_id), expires)
    return _SEPARATOR.join((str(int(customer_id)), str(expires), signature))


def verify_customer_token(
    claim: object, settings: Settings, *, now: float | None = None
) -> Verified:
    """The customer id a metadata claim proves, or why it proves nothing."""
    if not isinstance(claim, str) or claim.count(_SEPARATOR) != 2:
        return Verified(None, TokenProblem.UNSIGNED)
    if len(claim) > MAX_TOKEN_CHARS:
        return Verified(None, TokenProblem.MALFORMED)
    raw_id, raw_expires, signature = claim.split(_SEPARATOR)
    if not (
        raw_id.isascii() and raw_id.isdigit() and raw_expires.isascii() and raw_expires.isdigit()
    ):
        return Verified(None, TokenProblem.MALFORMED)
    customer_id, expires = int(raw_id), int(raw_expires)
    expected = _signature(identity_secret(settings), customer_id, expires)
    if customer_id <= 0 or not hmac.compare_digest(signature.encode(), expected.encode()):
        return Verified(None, TokenProblem.BAD_SIGNATURE)
    if expires < (time.time() if now is None else now):
        return Verified(None, TokenProblem.EXPIRED)
    return Verified(customer_id)
