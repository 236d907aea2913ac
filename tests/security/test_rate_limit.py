"""The per-sender token bucket and the checks every channel makes before the bot runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from channels.guarded_rest import BadRequestError, parse_body
from channels.message_guard import EMPTY, NOT_TEXT, MessageGuard, clean_socketio_payload
from channels.rate_limit import TOO_FAST, RateLimiter
from knowledge.settings import Settings


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_bucket_allows_a_burst_then_refills_per_sender() -> None:
    clock = Clock()
    limiter = RateLimiter(burst=3, per_second=0.5, clock=clock)
    assert [limiter.allow("a") for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("b")  # another sender is unaffected
    assert limiter.retry_after("a") == pytest.approx(2.0)
    clock.now += 2.0
    assert limiter.allow("a") and not limiter.allow("a")


def test_bad_limits_are_refused() -> None:
    with pytest.raises(ValueError):
        RateLimiter(burst=0, per_second=1)


def test_guard_refuses_floods_long_empty_and_non_text(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, rate_limit_burst=2, max_message_chars=10)
    guard = MessageGuard(settings, RateLimiter(2, 0.001, clock=Clock()))
    assert guard.check("s", "hello") is None
    assert guard.check("s", " \n\t ").text == EMPTY
    assert (guard.check("s", "x").text, guard.check("s", "x").status) == (TOO_FAST, 429)
    assert guard.check("t", "x" * 11).status == 413
    assert guard.check("u", 5).text == NOT_TEXT


@pytest.mark.parametrize(
    "raw, hint",
    [
        (b"\xff\xfe\x00garbage", "UTF-8"),
        (b"{not json", "JSON object"),
        (b"[1, 2]", "JSON object"),
        (b'{"message": "hi"}', "sender"),
        (b'{"sender": "a", "message": 5}', "message"),
        (b'{"sender": "a", "message": "hi", "metadata": [1]}', "metadata"),
        (b'{"sender": "' + b"a" * 300 + b'", "message": "hi"}', "sender"),
    ],
)
def test_rest_bodies_the_bot_cannot_take_are_explained(raw: bytes, hint: str) -> None:
    with pytest.raises(BadRequestError, match=hint):
        parse_body(raw)


def test_a_good_rest_body_passes_unchanged() -> None:
    body = parse_body('{"sender": 7, "message": "مرحبا 👋", "metadata": {"a": 1}}'.encode())
    assert body == {
        "sender": "7",
        "message": "مرحبا 👋",
        "metadata": {"a": 1},
        "input_channel": None,
    }


def test_socketio_payloads_rasa_would_crash_on_are_dropped_or_cleaned() -> None:
    assert clean_socketio_payload(["x"], "customData") is None
    assert clean_socketio_payload({"session_id": {"a": 1}}, "customData") is None
    assert clean_socketio_payload({"message": ["x"]}, "customData") is None
    assert clean_socketio_payload({"message": 1001}, "customData") == {
        "message": "1001",
        "customData": {},
    }
    cleaned = clean_socketio_payload({"message": "hi", "customData": "{broken"}, "customData")
    assert cleaned == {"message": "hi", "customData": {}}
    ok = clean_socketio_payload({"message": "hi", "customData": '{"a": 1}'}, "customData")
    assert ok is not None and ok["customData"] == {"a": 1}
