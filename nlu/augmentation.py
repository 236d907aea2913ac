"""Noisy copies of intent examples, so the model reads shoppers who type fast and angry.

The training data is mostly well-formed questions; shoppers write lowercase, without
punctuation, with typos, and wrap the request in context ("hi. ... this is the third time").
`augment` adds, for a fraction of the intent examples, one copy with such noise, seeded and
deterministic; copies of concrete requests (cancel, track, refund...) often get an angry clause,
so that an angry request is still read as the request. Noise never touches digits (order
numbers keep their meaning). Chinese copies get the slips Chinese shoppers make instead of letter
typos (IME homophones, chat spellings, particles, traditional characters; nlu/chinese_noise.py)
and may lose punctuation or gain a context clause.
Pure Python: imported by training only.
"""

from __future__ import annotations

import logging
import random
import re
import string
from typing import Callable, Collection, List, Sequence, Tuple

from knowledge.language import detect_language
from nlu.chinese_noise import chinese_variant

logger = logging.getLogger(__name__)

# Clauses shoppers put around a request; none of them carries an intent of its own.
EN_PREFIXES = (
    "hi",
    "hello",
    "hey there",
    "ok so",
    "quick question",
    "sorry to bother you",
    "this is getting ridiculous",
    "i'm really annoyed",
    "third time asking",
    "not happy at all",
    "good morning",
    "um",
)
EN_SUFFIXES = ("thanks", "thx", "pls", "asap", "please help", "??", "!!!", "cheers", "ty")
ZH_PREFIXES = (
    "你好",
    "亲",
    "在吗",
    "请问",
    "喂",
    "麻烦问一下",
    "真是气死了",
    "第三次问了",
    "急",
    "是这样的",
    "不好意思打扰一下",
    "哈喽",
    "那个",
    "在不在",
    "等半天了",
)
ZH_SUFFIXES = ("谢谢", "快点", "？？", "!!!", "急急急", "麻烦了", "好吗")

# Anger around a concrete request (cancel, track, refund...): the request, not `complaint`, is
# what the shopper wants done; sentiment and the churn rules read the anger.
EN_ANGRY = (
    "this is unacceptable",
    "worst shop ever",
    "absolutely useless service",
    "i'm so fed up with you",
    "you people are a joke",
    "third time asking and nobody answers",
    "your service is a disgrace",
    "i'm furious",
    "never had such bad service",
    "sort it out now",
)
ZH_ANGRY = (
    "什么破店",
    "垃圾服务",
    "太过分了",
    "气死我了",
    "问了好几次都没人管",
    "你们怎么回事",
    "服务太差了",
    "再这样我就投诉",
)
# Share of the noisy Chinese copies typed with chat spellings, IME slips, a particle or
# traditional characters (nlu/chinese_noise.py); the others and half of these lose their
# punctuation or gain a context clause.
ZH_SPELLING_SHARE = 0.6
# Share of the noisy copies of such intents that get an angry clause.
ANGRY_SHARE = 0.5

# Neighbouring keys on a QWERTY keyboard, for substitution typos.
_NEIGHBOURS = {
    "a": "qwsz",
    "b": "vghn",
    "c": "xdfv",
    "d": "serfcx",
    "e": "wsdr",
    "f": "drtgvc",
    "g": "ftyhbv",
    "h": "gyujnb",
    "i": "ujko",
    "j": "huikmn",
    "k": "jiolm",
    "l": "kop",
    "m": "njk",
    "n": "bhjm",
    "o": "iklp",
    "p": "ol",
    "q": "wa",
    "r": "edft",
    "s": "awedxz",
    "t": "rfgy",
    "u": "yhji",
    "v": "cfgb",
    "w": "qase",
    "x": "zsdc",
    "y": "tghu",
    "z": "asx",
}
_KEPT_PUNCTUATION = "#"
_PUNCTUATION = re.compile(
    "[" + re.escape(string.punctuation.replace(_KEPT_PUNCTUATION, "")) + "，。？！、：；]"
)


def _typo(word: str, rng: random.Random) -> str:
    """One typo in a word of letters: swap, drop, double or hit a neighbouring key."""
    if len(word) < 4 or not word.isalpha() or not word.isascii():
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(4)
    if kind == 0:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == 1:
        return word[:i] + word[i + 1 :]
    if kind == 2:
        return word[:i] + word[i] + word[i:]
    neighbours = _NEIGHBOURS.get(word[i].lower())
    return word if not neighbours else word[:i] + rng.choice(neighbours) + word[i + 1 :]


def add_typos(text: str, rng: random.Random, rate: float = 0.15) -> str:
    """Typos in about `rate` of the words (at least one when a word can take one)."""
    words = text.split(" ")
    candidates = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha() and w.isascii()]
    if not candidates:
        return text
    chosen = {i for i in candidates if rng.random() < rate} or {rng.choice(candidates)}
    return " ".join(_typo(w, rng) if i in chosen else w for i, w in enumerate(words))


def strip_punctuation(text: str) -> str:
    """Without punctuation (keeps `#` before order numbers) and with single spaces."""
    return " ".join(_PUNCTUATION.sub(" ", text).split())


def chat_style(text: str, rng: random.Random) -> str:
    """Lowercase, no punctuation, apostrophes dropped: how many type in a chat widget."""
    return strip_punctuation(text.lower().replace("'", ""))


def with_context(text: str, rng: random.Random, chinese: bool) -> str:
    """The request wrapped in a context clause before or after it."""
    prefixes, suffixes = (ZH_PREFIXES, ZH_SUFFIXES) if chinese else (EN_PREFIXES, EN_SUFFIXES)
    joiner = "，" if chinese else ". "
    if rng.random() < 0.6:
        return rng.choice(prefixes) + joiner + text
    return text.rstrip(" .") + (" " if not chinese else "") + rng.choice(suffixes)


def with_anger(text: str, rng: random.Random) -> str:
    """The request with an angry clause before or after it (in the text's language)."""
    chinese = detect_language(text) == "zh"
    clauses, joiner = (ZH_ANGRY, "，") if chinese else (EN_ANGRY, ". ")
    clause = rng.choice(clauses)
    if rng.random() < 0.5:
        return clause + joiner + text
    return text.rstrip(" .。") + joiner + clause


def noisy_variant(text: str, rng: random.Random) -> str:
    """One noisy copy of `text` (may equal `text` when no noise applies)."""
    chinese = detect_language(text) == "zh"
    if chinese:
        ops: Sequence[Callable[[str], str]] = (
            strip_punctuation,
            lambda t: with_context(t, rng, chinese=True),
        )
        variant = chinese_variant(text, rng) if rng.random() < ZH_SPELLING_SHARE else text
        if variant == text or rng.random() < 0.5:
            variant = rng.choice(ops)(variant)
        return variant if variant != text else with_context(text, rng, chinese=True)
    variant = text
    if rng.random() < 0.6:
        variant = chat_style(variant, rng)
    if rng.random() < 0.6:
        variant = add_typos(variant, rng)
    if rng.random() < 0.35:
        variant = with_context(variant, rng, chinese=False)
    if variant == text:
        variant = add_typos(chat_style(text, rng), rng)
    return variant


def augment(
    rows: Sequence[Tuple[str, str]],
    fraction: float,
    seed: int,
    angry_intents: Collection[str] = (),
) -> List[Tuple[str, str]]:
    """Noisy (text, intent) copies of about `fraction` of `rows` (none equal to a given text);
    of the copies of `angry_intents`, about `ANGRY_SHARE` get an angry clause."""
    if fraction <= 0:
        return []
    rng = random.Random(seed)
    seen = {text for text, _ in rows}
    extra: List[Tuple[str, str]] = []
    for text, intent in rows:
        if rng.random() >= fraction:
            continue
        variant = noisy_variant(text, rng).strip()
        if intent in angry_intents and rng.random() < ANGRY_SHARE:
            variant = with_anger(variant, rng)
        if variant and variant not in seen:
            seen.add(variant)
            extra.append((variant, intent))
    logger.info("augmentation: %d noisy copies of %d intent examples", len(extra), len(rows))
    return extra
