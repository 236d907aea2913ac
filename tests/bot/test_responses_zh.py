"""Every bot response exists in Chinese, and Rasa picks it for a Chinese conversation.

The convention (bot/domain/language.yml): the Chinese variation comes FIRST with the condition
``[{type: slot, name: language, value: zh}]``, the English one after it, unconditional, with the
same placeholders and buttons (titles translated, intent payloads kept).
"""

# Chinese text uses full-width punctuation on purpose.

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, List, Set

import pytest
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet
from rasa.shared.core.trackers import DialogueStateTracker

from knowledge.language import LANGUAGE_SLOT, detect_language

DOMAIN_DIR = Path(__file__).resolve().parents[2] / "bot" / "domain"
ZH_CONDITION = [{"type": "slot", "name": LANGUAGE_SLOT, "value": "zh"}]
PLACEHOLDER = re.compile(r"{(\w+)}")


@pytest.fixture(scope="module")
def domain() -> Domain:
    """The bot's domain as Rasa loads it (all of bot/domain merged)."""
    return Domain.load(str(DOMAIN_DIR))


def placeholders(variation: Dict[str, Any]) -> Set[str]:
    """The ``{names}`` a variation's text and button titles and payloads use."""
    parts = [variation.get("text") or ""]
    for button in variation.get("buttons") or []:
        parts += [button.get("title") or "", button.get("payload") or ""]
    return {name for part in parts for name in PLACEHOLDER.findall(part)}


def response_names(domain: Domain) -> List[str]:
    """Names of the domain's responses."""
    return sorted(domain.responses)


def test_the_domain_has_responses_and_the_language_slot(domain: Domain) -> None:
    assert len(domain.responses) > 80
    slot = next(s for s in domain.slots if s.name == LANGUAGE_SLOT)
    assert slot.initial_value == "en"


def test_every_response_has_chinese_first_and_unconditional_english(domain: Domain) -> None:
    problems = []
    for name in response_names(domain):
        first, *rest = domain.responses[name]
        if first.get("condition") != ZH_CONDITION:
            problems.append(f"{name}: first variation is not the zh one")
        if not rest or any(variation.get("condition") for variation in rest):
            problems.append(f"{name}: needs unconditional English variation(s) after the zh one")
    assert problems == []


def test_chinese_and_english_use_the_same_placeholders(domain: Domain) -> None:
    for name in response_names(domain):
        chinese, *english = domain.responses[name]
        for variation in english:
            assert placeholders(chinese) == placeholders(variation), name


def test_chinese_variations_read_as_chinese(domain: Domain) -> None:
    for name in response_names(domain):
        chinese, english, *_ = domain.responses[name]
        assert detect_language(chinese["text"]) == "zh", name
        assert detect_language(english["text"]) == "en", name
        assert "{" not in PLACEHOLDER.sub("", chinese["text"]), name


def test_buttons_are_translated_and_keep_their_payloads(domain: Domain) -> None:
    for name in response_names(domain):
        chinese, english, *_ = domain.responses[name]
        zh_buttons, en_buttons = chinese.get("buttons") or [], english.get("buttons") or []
        assert len(zh_buttons) == len(en_buttons), name
        for zh, en in zip(zh_buttons, en_buttons, strict=True):
            if en["payload"].startswith("/") or en["payload"].isdigit():
                # Intent and number payloads are language-free: kept as they are.
                assert zh["payload"] == en["payload"], name
            else:
                # A free-text payload is typed for the shopper: in Chinese it must read as
                # Chinese, or clicking it would switch the conversation to English.
                assert detect_language(zh["payload"]) == "zh", name
            if not en["title"].isdigit():
                assert detect_language(zh["title"]) == "zh", (name, zh["title"])


def tracker(domain: Domain, language: str | None) -> DialogueStateTracker:
    """A conversation whose ``language`` slot is ``language`` (its initial value if None)."""
    events = [] if language is None else [SlotSet(LANGUAGE_SLOT, language)]
    return DialogueStateTracker.from_events("shopper", events, slots=domain.slots)


async def test_rasa_picks_the_chinese_variation_for_a_chinese_conversation(
    domain: Domain,
) -> None:
    nlg = TemplatedNaturalLanguageGenerator(domain.responses)
    chinese, english, new = tracker(domain, "zh"), tracker(domain, "en"), tracker(domain, None)
    for name in response_names(domain):
        zh_variation, en_variation, *_ = domain.responses[name]
        values = {key: f"<{key}>" for key in placeholders(en_variation)}
        for _ in range(3):  # Rasa picks at random among the variations that fit
            zh = await nlg.generate(name, chinese, "rest", **values)
            en = await nlg.generate(name, english, "rest", **values)
            default = await nlg.generate(name, new, "rest", **values)
            assert zh is not None and en is not None and default is not None, name
            assert zh["text"] == zh_variation["text"].format(**values), name
            assert en["text"] == en_variation["text"].format(**values), name
            assert default["text"] == en["text"], name
            if zh_variation.get("buttons"):
                titles = [b["title"] for b in zh["buttons"]]
                assert titles == [b["title"] for b in zh_variation["buttons"]], name


async def test_a_chinese_status_sentence_is_filled_in(domain: Domain) -> None:
    nlg = TemplatedNaturalLanguageGenerator(domain.responses)
    message = await nlg.generate(
        "utter_order_shipped",
        tracker(domain, "zh"),
        "rest",
        order_id=1001,
        carrier="DHL",
        shipped_on="2026年11月20日（星期五）",
        tracking_number="JD0146",
        eta="2026年11月22日（星期日）",
    )
    assert message is not None
    assert message["text"] == (
        "亲，您的订单 1001 已于2026年11月20日（星期五）由 DHL 发出，物流单号：JD0146，"
        "预计2026年11月22日（星期日）前送达。"
    )
