"""Simplified and traditional characters of shop chat, one character to one.

Training copies are written in traditional characters with it (``nlu/chinese_noise.py``) and the
routing reads traditional cue words back as simplified ones (``nlu/routing.py``). Part of the NLU
contract layer like ``nlu/routing.py``: pure Python, imports neither ``rasa`` nor ``rasa_sdk``.

Why a table of our own and not a library: OpenCC / zhconv are not in the lock, and both uses only
need the few hundred characters of shop chat (a test checks every pair maps one character to one).
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Dict

logger = logging.getLogger(__name__)

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
#: Simplified -> traditional.
TRADITIONAL: Dict[str, str] = dict(zip(_SIMPLIFIED, _TRADITIONAL, strict=True))


def to_traditional(text: str) -> str:
    """`text` in traditional characters (those of the table; others stay as they are)."""
    return "".join(TRADITIONAL.get(char, char) for char in text)


@lru_cache(maxsize=1)
def _simplified_table() -> Dict[int, str]:
    return str.maketrans({trad: simp for simp, trad in TRADITIONAL.items()})


def to_simplified(text: str) -> str:
    """`text` with the table's traditional characters simplified (others stay as they are)."""
    return text.translate(_simplified_table())
