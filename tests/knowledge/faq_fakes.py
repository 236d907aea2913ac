"""Small deterministic stand-ins for the sentence encoder, shared by the FAQ retrieval tests."""

from __future__ import annotations

import logging
import re
import zlib
from collections.abc import Sequence

import numpy as np

from knowledge.faq.templates import AnswerTemplate, Translation

logger = logging.getLogger(__name__)

FAKE_DIM = 64


class FakeEncoder:
    """Hashed bag of words (each Chinese character counts as a word): texts sharing words get a
    high cosine; counts its calls."""

    name = "fake-bag-of-words"
    dimension = FAKE_DIM

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        """One unit-length row per text (a zero row for a text without words)."""
        self.calls += 1
        out = np.zeros((len(texts), FAKE_DIM), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"[a-z0-9']+|[\u4e00-\u9fff]", text.lower()):
                out[row, zlib.crc32(word.encode()) % FAKE_DIM] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return out / norms


def template(
    tid: int,
    questions: Sequence[str],
    answer: str,
    tags=("product_question",),
    zh: tuple[Sequence[str], str] | None = None,
):
    """An AnswerTemplate for tests; ``zh`` = (Chinese questions, Chinese answer)."""
    translations = (Translation("zh", tuple(zh[0]), zh[1]),) if zh else ()
    return AnswerTemplate(
        id=tid,
        topic="test",
        tags=tuple(tags),
        questions=tuple(questions),
        answer=answer,
        translations=translations,
    )


SMALL_TEMPLATES = [
    template(
        1,
        ["return window days", "how long return window", "return window policy"],
        "You can return items within {return_window_days} days.",
        tags=("check_refund_policy",),
    ),
    template(
        2,
        ["payment methods accepted", "pay with card", "which payment methods"],
        "We accept {payment_methods}.",
        tags=("check_payment_methods",),
    ),
    template(
        3,
        ["gift card balance check", "voucher balance", "gift card expiry"],
        "Gift cards are valid for 3 years.",
    ),
    template(
        4,
        ["exchange shoes size", "swap shoes size", "shoes exchange"],
        "Exchanges are free within {return_window_days} days.",
        tags=("check_refund_policy",),
    ),
    template(
        5,
        ["exchange boots size", "swap boots size", "boots exchange"],
        "Boots can be exchanged too.",
        tags=("product_question",),
    ),
]


# The first two small templates with Chinese questions and answers, plus one in English only.
BILINGUAL_TEMPLATES = [
    template(
        1,
        ["return window days", "how long return window", "return window policy"],
        "You can return items within {return_window_days} days.",
        tags=("check_refund_policy",),
        zh=(["退货期限", "几天内退货", "退货政策"], "签收后{return_window_days}天内可以退货。"),
    ),
    template(
        2,
        ["payment methods accepted", "pay with card", "which payment methods"],
        "We accept {payment_methods}.",
        tags=("check_payment_methods",),
        zh=(["付款方式", "刷卡付款", "支持哪些支付"], "我们支持{payment_methods}。"),
    ),
    template(
        4,
        ["exchange shoes size", "swap shoes size", "shoes exchange"],
        "Exchanges are free within {return_window_days} days.",
        tags=("check_refund_policy",),
    ),
]
