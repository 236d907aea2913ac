"""Masks personal data in text the dashboard shows or exports.

Four kinds are replaced by a placeholder, in this order (earlier kinds win):

* e-mail addresses -> ``[email]``;
* card numbers: 13-19 digits, optionally in groups split by spaces or dashes -> ``[card]``
  (no Luhn check: a mistyped card number is still personal data);
* phone numbers: an international ``+`` number, a number written in groups (``020 7946 0000``,
  ``(555) 123-4567``) or a bare 10-11 digit run; 7-15 digits in all. Dates such as
  ``2026-11-29`` or ``29.11.2026``, order numbers (``#1003``) and 12-digit parcel tracking
  numbers are left alone;
* street addresses: a house number, one to four name words and a street type
  (``12 Baker Street``, ``221B baker st.``, ``Flat 3, 45 High Road``); phrases with small words
  such as "3 weeks on the road" are not addresses.

:func:`mask` works on one string; :func:`mask_value` walks JSON-like data (dict keys are kept).
"""

from __future__ import annotations

import logging
import re
from typing import Any

logger = logging.getLogger(__name__)

EMAIL = "[email]"
CARD = "[card]"
PHONE = "[phone]"
ADDRESS = "[address]"

_EMAIL_RE = re.compile(r"[\w.+%'-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
_CARD_RE = re.compile(r"(?<![\w+])\d(?:[ -]?\d){12,18}(?![\w])")
_PHONE_RE = re.compile(
    r"""(?<![\w+#])(?:
        \+\s?\d[\d\s().-]{5,20}\d                                   # +44 20 7946 0000
      | \(\d{2,5}\)\s?\d{2,4}(?:[\s.-]\d{2,5}){1,2}                  # (555) 123-4567
      | \d{2,5}[\s.-]\d{2,4}[\s.-]\d{2,5}(?:[\s.-]\d{2,5})?          # 020 7946 0000
      | \d{10,11}                                                   # 07700900123
    )(?![\w])""",
    re.VERBOSE,
)
_DATE_RE = re.compile(r"\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4}")
_STREET_TYPES = (
    "street|st|road|rd|avenue|ave|lane|ln|drive|dr|boulevard|blvd|way|court|ct|place|pl|"
    "square|sq|terrace|close|crescent|parkway|pkwy|highway|hwy|row|walk|gardens|grove|hill"
)
_ADDRESS_RE = re.compile(
    rf"(?<![\w])\d{{1,5}}[a-z]?,?\s+(?:[a-z][\w'-]*\.?\s+){{1,4}}(?:{_STREET_TYPES})\b\.?",
    re.IGNORECASE,
)
# Words that make "<number> ... road" a phrase rather than an address.
_SMALL_WORDS = {
    "a", "an", "and", "at", "by", "days", "down", "for", "from", "hours", "in", "into", "is",
    "it", "minutes", "months", "my", "of", "on", "or", "the", "their", "this", "that", "to",
    "up", "was", "weeks", "with", "years", "your", "our", "items", "pairs", "times",
}  # fmt: skip


def _digits(text: str) -> int:
    return sum(ch.isdigit() for ch in text)


def _phone(match: re.Match[str]) -> str:
    found = match.group(0)
    if _DATE_RE.fullmatch(found.strip()) or not 7 <= _digits(found) <= 15:
        return found
    return PHONE


def _address(match: re.Match[str]) -> str:
    found = match.group(0)
    words = re.findall(r"[a-z][\w'-]*", found.lower())[:-1]
    if any(word in _SMALL_WORDS for word in words):
        return found
    return ADDRESS


def mask(text: str) -> str:
    """``text`` with e-mails, card numbers, phone numbers and street addresses replaced."""
    if not text:
        return text
    text = _EMAIL_RE.sub(EMAIL, text)
    text = _CARD_RE.sub(CARD, text)
    text = _PHONE_RE.sub(_phone, text)
    return _ADDRESS_RE.sub(_address, text)


# Keys whose values are identifiers the dashboard links with, never free text.
ID_KEYS = frozenset({"conversation_id", "conversation_ids", "customer_ids", "id"})


def mask_value(value: Any, keep: frozenset[str] = ID_KEYS) -> Any:
    """``value`` with every string inside it masked (dicts, lists and tuples are walked).

    Values under the dict keys in ``keep`` (conversation ids used for drill-down) are left as
    they are.
    """
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, dict):
        return {key: item if key in keep else mask_value(item, keep) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_value(item, keep) for item in value]
    return value
