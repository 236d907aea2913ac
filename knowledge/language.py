"""The shopper's language: which ones the shop serves and how a message's language is detected.

Pure Python (no model): the NLU component :mod:`nlu.language_detector` calls
:func:`detect_language` per message and the Rasa slot ``language`` keeps the last clear answer,
so a message without a clear language ("1234", "ok", an emoji) keeps the conversation's language.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

SUPPORTED_LANGUAGES = ("en", "zh")
DEFAULT_LANGUAGE = "en"
#: Name of the Rasa slot (and of the entity that fills it) holding the conversation's language.
LANGUAGE_SLOT = "language"

# Latin words of at least two letters; a message needs two of them to count as English
# (so "ok", "thx" or "3q" typed by a Chinese shopper does not switch the conversation).
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
MIN_ENGLISH_WORDS = 2
# Han characters weigh this many Latin letters (one character is roughly one word).
HAN_WEIGHT = 3


@dataclass(frozen=True)
class ScriptCounts:
    """How many characters of each script a text holds."""

    han: int
    kana_or_hangul: int
    latin_letters: int
    latin_words: int


def _is_han(char: str) -> bool:
    code = ord(char)
    return (
        0x4E00 <= code <= 0x9FFF
        or 0x3400 <= code <= 0x4DBF
        or 0xF900 <= code <= 0xFAFF
        or 0x20000 <= code <= 0x2FA1F
    )


def _is_kana_or_hangul(char: str) -> bool:
    code = ord(char)
    return 0x3040 <= code <= 0x30FF or 0xAC00 <= code <= 0xD7AF or 0x1100 <= code <= 0x11FF


def count_scripts(text: str) -> ScriptCounts:
    """Count Han, kana/Hangul and Latin characters (after NFKC, so full-width letters count)."""
    normalised = unicodedata.normalize("NFKC", text)
    han = sum(1 for char in normalised if _is_han(char))
    other_cjk = sum(1 for char in normalised if _is_kana_or_hangul(char))
    latin = sum(1 for char in normalised if char.isascii() and char.isalpha())
    words = len(_LATIN_WORD.findall(normalised))
    return ScriptCounts(han, other_cjk, latin, words)


def detect_language(text: str | None) -> str | None:
    """``"zh"``, ``"en"`` or None when the text gives no clear answer.

    Chinese when Han characters outweigh the Latin letters (``我的order到哪了`` is Chinese);
    None for Japanese or Korean (kana / Hangul: not served, keep the conversation's language),
    for digits, emoji and one-word Latin replies.
    """
    if not text:
        return None
    counts = count_scripts(text)
    if counts.kana_or_hangul:
        return None
    if counts.han and counts.han * HAN_WEIGHT >= counts.latin_letters:
        return "zh"
    if counts.latin_words >= MIN_ENGLISH_WORDS:
        return "en"
    return None


def normalise_language(value: object) -> str:
    """A supported language code for ``value`` (``"zh-CN"`` -> ``"zh"``); the default otherwise."""
    if isinstance(value, str):
        code = value.strip().lower().replace("_", "-").split("-", 1)[0]
        if code in SUPPORTED_LANGUAGES:
            return code
    return DEFAULT_LANGUAGE
