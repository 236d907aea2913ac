"""Chinese chat noise for training copies: IME slips, chat spellings, particles, traditional.

Chinese shoppers do not make letter typos; they pick the wrong homophone from the input method
(定单 for 订单, 以经 for 已经, 在/再), write chat spellings (咋, 啥, 木有, kf, tk), end with a
particle (啊, 呢, 吧, 哈) and, from Hong Kong and Taiwan, type traditional characters. Each
substitution below keeps the meaning of the message; digits are never touched.

The traditional characters come from the table in ``nlu/chinese_script.py`` (shared with the
routing, which reads them back). Pure Python: imported by training only.
"""

from __future__ import annotations

import logging
import random
from typing import Tuple

from nlu.chinese_script import to_traditional

logger = logging.getLogger(__name__)

# Word -> what shoppers type instead (IME homophones, chat spellings, pinyin initials).
# Longer words first, so 为什么 is replaced before 什么.
CHAT_SPELLINGS: Tuple[Tuple[str, Tuple[str, ...]], ...] = (
    ("为什么", ("为啥", "为神马")),
    ("怎么办", ("咋办", "肿么办")),
    ("怎么", ("咋", "怎莫", "肿么")),
    ("什么", ("啥", "神马", "甚么")),
    ("没有", ("木有", "没", "没得")),
    ("订单", ("定单", "dd", "单子")),
    ("账号", ("帐号", "号")),
    ("账户", ("帐户",)),
    ("已经", ("以经", "已")),
    ("客服", ("kf", "客fu")),
    ("退款", ("tk", "退钱")),
    ("物流", ("wl",)),
    ("快递", ("kd", "快滴")),
    ("一下", ("下", "一哈")),
    ("这个", ("这", "介个")),
    ("谢谢", ("3q", "谢啦", "xx")),
    ("知道", ("造",)),
    ("东西", ("东东",)),
    ("可以", ("能",)),
    ("再", ("在",)),
    ("在", ("再",)),
    ("的", ("滴", "得", "地")),
    ("吗", ("嘛", "么", "咩")),
)
PARTICLES = ("啊", "呢", "吧", "哈", "呀", "啦", "哦", "嘛", "～")
_TRAILING_PUNCTUATION = "。？！?!.～~ "


def chat_spellings(text: str, rng: random.Random, max_swaps: int = 2) -> str:
    """`text` with one or two words typed as shoppers do (an IME slip or a chat spelling)."""
    candidates = [pair for pair in CHAT_SPELLINGS if pair[0] in text]
    if not candidates:
        return text
    rng.shuffle(candidates)
    for word, spellings in candidates[:max_swaps]:
        if word in text:
            text = text.replace(word, rng.choice(spellings), 1)
    return text


def with_particle(text: str, rng: random.Random) -> str:
    """`text` ending in a chat particle, its closing punctuation kept after it."""
    stripped = text.rstrip(_TRAILING_PUNCTUATION)
    if not stripped or stripped[-1] in PARTICLES:
        return text
    return stripped + rng.choice(PARTICLES) + text[len(stripped) :].strip()


def chinese_variant(text: str, rng: random.Random) -> str:
    """One noisy Chinese copy: mostly chat spellings and particles, seldom traditional."""
    roll = rng.random()
    if roll < 0.1:
        return to_traditional(text)
    variant = chat_spellings(text, rng)
    if variant == text or rng.random() < 0.4:
        variant = with_particle(variant, rng)
    return variant
