"""Chinese training noise: shoppers' slips that keep the message's meaning and its digits."""

from __future__ import annotations

import random
import re

from nlu.augmentation import noisy_variant
from nlu.chinese_noise import (
    CHAT_SPELLINGS,
    PARTICLES,
    chat_spellings,
    chinese_variant,
    with_particle,
)
from nlu.chinese_script import TRADITIONAL, to_simplified, to_traditional


def test_traditional_table_maps_one_character_to_one() -> None:
    assert len(TRADITIONAL) > 50
    for simplified, traditional in TRADITIONAL.items():
        assert len(simplified) == 1 and len(traditional) == 1
    assert to_traditional("订单123能取消吗") == "訂單123能取消嗎"
    assert to_simplified("訂單123能取消嗎") == "订单123能取消吗"


def test_chat_spellings_replace_a_known_word_and_keep_the_rest() -> None:
    rng = random.Random(3)
    text = "为什么订单1052还没有发货"
    variants = {chat_spellings(text, rng) for _ in range(40)}
    assert text not in variants
    known = {spelling for _, spellings in CHAT_SPELLINGS for spelling in spellings}
    for variant in variants:
        assert "1052" in variant
        assert "发货" in variant
        assert any(spelling in variant for spelling in known)
    # Longer words are listed first, so 为什么 is never cut into 为 + a spelling of 什么.
    words = [word for word, _ in CHAT_SPELLINGS]
    assert words.index("为什么") < words.index("什么")
    assert chat_spellings("hello", rng) == "hello"


def test_particle_goes_before_the_closing_punctuation() -> None:
    rng = random.Random(1)
    variant = with_particle("快递到哪了？？", rng)
    assert variant.endswith("？？")
    assert variant[-3] in PARTICLES
    assert with_particle("好的吧", rng) == "好的吧"


def test_chinese_copies_differ_keep_digits_and_repeat_with_the_seed() -> None:
    texts = ["订单889201什么时候到", "我想取消订单", "退款已经三天了还没到账", "密码忘了怎么办"]
    first = [chinese_variant(text, random.Random(7)) for text in texts]
    again = [chinese_variant(text, random.Random(7)) for text in texts]
    assert first == again
    for text, variant in zip(texts, first, strict=True):
        assert variant != text
        assert re.findall(r"\d+", variant) == re.findall(r"\d+", text)


def test_noisy_chinese_copies_use_the_chinese_slips() -> None:
    rng = random.Random(11)
    text = "为什么我的订单还没有发货"
    variants = [noisy_variant(text, rng) for _ in range(60)]
    assert all(variant != text for variant in variants)
    known = {spelling for _, spellings in CHAT_SPELLINGS for spelling in spellings}
    assert sum(any(s in v for s in known) for v in variants) >= 20
    assert not any(re.search(r"[a-z]{4,}", v) for v in variants)  # no English letter typos
