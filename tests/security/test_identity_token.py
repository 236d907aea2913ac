"""Signed customer ids: what verifies, what is refused, and the shared secret on disk."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from knowledge.secret_files import IDENTITY_SECRET_FILE, identity_secret, rasa_api_token
from knowledge.settings import Settings
from knowledge.shop.identity_token import (
    TokenProblem,
    Verified,
    sign_customer_id,
    verify_customer_token,
)

NOW = 1_800_000_000.0


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, identity_secret="test-identity-key")


def test_a_signed_id_verifies_until_it_expires(settings: Settings) -> None:
    token = sign_customer_id(42, settings, ttl_s=60, now=NOW)
    assert token.startswith("42.")
    assert verify_customer_token(token, settings, now=NOW + 59).customer_id == 42
    expired = verify_customer_token(token, settings, now=NOW + 61)
    assert (expired.customer_id, expired.problem) == (None, TokenProblem.EXPIRED)


@pytest.mark.parametrize(
    "claim, problem",
    [
        (7, TokenProblem.UNSIGNED),
        ("7", TokenProblem.UNSIGNED),
        ({"id": 7}, TokenProblem.UNSIGNED),
        ("a.b.c", TokenProblem.MALFORMED),
        ("-7.1900000000.abc", TokenProblem.MALFORMED),
        ("7." + "9" * 200 + ".abc", TokenProblem.MALFORMED),
        ("\u0667.1900000000.abc", TokenProblem.MALFORMED),  # Arabic-Indic 7: isdigit(), not ascii
    ],
)
def test_unsigned_or_malformed_claims_are_refused(claim: object, problem, settings) -> None:
    assert verify_customer_token(claim, settings, now=NOW) == Verified(None, problem)


def test_changing_the_id_or_expiry_or_the_key_breaks_the_signature(settings, tmp_path) -> None:
    token = sign_customer_id(42, settings, ttl_s=60, now=NOW)
    customer, expires, signature = token.split(".")
    for forged in (
        f"43.{expires}.{signature}",
        f"{customer}.{int(expires) + 3600}.{signature}",
        f"{customer}.{expires}.{signature[:-2]}AA",
        sign_customer_id(42, Settings(data_dir=tmp_path, identity_secret="other"), now=NOW),
    ):
        assert verify_customer_token(forged, settings, now=NOW).problem is (
            TokenProblem.BAD_SIGNATURE
        ), forged


def test_only_positive_ids_can_be_signed(settings: Settings) -> None:
    for bad in (0, -3, True):
        with pytest.raises(ValueError):
            sign_customer_id(bad, settings)


def test_unset_secret_is_generated_once_in_the_data_dir_and_shared(tmp_path: Path) -> None:
    first = Settings(data_dir=tmp_path)
    key = identity_secret(first)
    path = tmp_path / IDENTITY_SECRET_FILE
    assert len(key) >= 40 and path.read_text().strip().encode() == key
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    # Another process with the same data dir (the action server) uses the same key ...
    token = sign_customer_id(5, Settings(data_dir=tmp_path))
    assert verify_customer_token(token, first).customer_id == 5
    # ... and the Rasa API token is a different secret, stable as well.
    assert rasa_api_token(first) == rasa_api_token(Settings(data_dir=tmp_path)) != key.decode()
    assert rasa_api_token(Settings(data_dir=tmp_path, rasa_token="set")) == "set"
