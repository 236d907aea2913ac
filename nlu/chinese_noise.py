"""Chinese chat noise for training copies: IME slips, chat spellings, particles, traditional.

Chinese shoppers do not make letter typos; they pick the wrong homophone from the input method
(定单 for 订单, 以经 for 已经, 在/再), write chat spellings (咋, 啥, 木有, kf, tk), end with a
particle (啊, 呢, 吧, 哈) and, from Hong Kong and Taiwan, type traditional characters. Each
substitution below keeps the meaning of the message; digits are never touched.

Why a table of our own and not a library: OpenCC / zhconv are not in the lock, and the copies
only need the few hundred characters of shop chat (a test checks every pair maps one character
to one character). Pure Python: imported by training, and by nlu/routing.py, which reads
traditional characters and chat spellings of its cue words back as the standard ones.
"""

from __future__ import annotations

import logging
import random
from typing import Dict, Tuple

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

# Simplified -> traditional for the characters of shop chat (one character to one).
_SIMPLIFIED = (
    "订单货发账号运费钱换么还没这个吗买卖东递过说话时间们给问题务态质码邮电为会让处样应该经"
    "尽点几里开关闭网页录册补偿赔坏错双颜长实际则规户设认证绑银现优惠价评论诉联转谢见对帮请"
    "询动无业纸够尔呗刚从进边亲"
)
_TRADITIONAL = (
    "訂單貨發賬號運費錢換麼還沒這個嗎買賣東遞過說話時間們給問題務態質碼郵電為會讓處樣應該經"
    "盡點幾裡開關閉網頁錄冊補償賠壞錯雙顏長實際則規戶設認證綁銀現優惠價評論訴聯轉謝見對幫請"
    "詢動無業紙夠爾唄剛從進邊親"
)
TRADITIONAL: Dict[str, str] = dict(zip(_SIMPLIFIED, _TRADITIONAL, strict=True))


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


def to_traditional(text: str) -> str:
    """`text` in traditional characters (those of the table; others stay as they are)."""
    return "".join(TRADITIONAL.get(char, char) for char in text)


def chinese_variant(text: str, rng: random.Random) -> str:
    """One noisy Chinese copy: mostly chat spellings and particles, seldom traditional."""
    roll = rng.random()
    if roll < 0.1:
        return to_traditional(text)
    variant = chat_spellings(text, rng)
    if variant == text or rng.random() < 0.4:
        variant = with_particle(variant, rng)
    return variant
