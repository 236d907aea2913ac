"""Masking of personal data, including the cases that must NOT be masked."""

from __future__ import annotations

import pytest

from insight.analytics.masking import mask, mask_value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail me at john.doe+shop@mail.co.uk now", "mail me at [email] now"),
        ("JANE_O'NEIL@Example.COM", "[email]"),
        ("card 4111 1111 1111 1111 thanks", "card [card] thanks"),
        ("4111-1111-1111-1111", "[card]"),
        ("amex 378282246310005.", "amex [card]."),
        ("call +44 20 7946 0000", "call [phone]"),
        ("my mobile: +44 7700 900123", "my mobile: [phone]"),
        ("ring 07700900123 after 5", "ring [phone] after 5"),
        ("(555) 123-4567", "[phone]"),
        ("020 7946 0000", "[phone]"),
        ("I live at 12 Baker Street, London", "I live at [address], London"),
        ("221B baker st. please", "[address] please"),
        ("Flat 3, 45 High Road", "Flat 3, [address]"),
        ("send it to 7 Elm Way", "send it to [address]"),
        ("1600 Pennsylvania Avenue NW", "[address] NW"),
    ],
)
def test_masks(text: str, expected: str) -> None:
    assert mask(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "where is order #1003?",
        "order 1003 placed on 2026-11-29",
        "it arrived 29.11.2026 at 10:30",
        "tracking 794600001234",
        "it costs $1,299.00",
        "size 10 way too small",
        "waited 3 weeks on the road",
        "2 pairs of shoes",
        "rated 4 out of 5",
    ],
)
def test_leaves_ordinary_numbers_alone(text: str) -> None:
    assert mask(text) == text


def test_mask_value_walks_json_but_keeps_ids() -> None:
    value = {
        "conversation_id": "user 07700900123",
        "conversation_ids": ["a@b.co"],
        "rows": [{"text": "a@b.co", "n": 3, "nested": ("call 07700900123",)}],
    }
    assert mask_value(value) == {
        "conversation_id": "user 07700900123",
        "conversation_ids": ["a@b.co"],
        "rows": [{"text": "[email]", "n": 3, "nested": ["call [phone]"]}],
    }
