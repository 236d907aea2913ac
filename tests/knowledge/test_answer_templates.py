"""Answer templates: the shipped YAML files validate, fill from the settings, and bad files fail
with a message that names the problem."""

from __future__ import annotations

import csv
import logging
import re
from pathlib import Path

import pytest

from knowledge.faq.templates import (
    INTENTS,
    SLOT_NAMES,
    TemplateError,
    load_templates,
    parse_templates,
    shop_slots,
    slot_names_in,
    templates_hash,
    tidy_text,
)
from knowledge.settings import Settings
from knowledge.shop.seed import CARRIERS, CATALOGUE

logger = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[2]
FAQ_INTENTS = {
    "product_question",
    "check_refund_policy",
    "delivery_options",
    "delivery_period",
    "check_payment_methods",
    "check_cancellation_fee",
    "contact_customer_service",
}


def _raw(**overrides):
    raw = {
        "id": 1,
        "tags": ["check_refund_policy"],
        "questions": ["one?", "two?", "three?"],
        "answer": "Within {return_window_days} days.",
    }
    raw.update(overrides)
    return raw


def _zh(**overrides):
    block = {
        "questions": ["退货期限是几天", "多久内能退", "退货政策"],
        "answer": "签收后{return_window_days}天内可以退货。",
    }
    block.update(overrides)
    return block


def _han(text: str) -> bool:
    return bool(re.search(r"[\u4e00-\u9fff]", text))


def _parse(*templates):
    return parse_templates([("test.yml", {"topic": "test", "templates": list(templates)})])


def test_shipped_templates_are_many_valid_and_cover_the_faq_intents():
    templates = load_templates()
    assert len(templates) >= 80
    assert len({t.id for t in templates}) == len(templates)
    assert all(3 <= len(t.questions) <= 6 for t in templates)
    assert {tag for t in templates for tag in t.tags} <= INTENTS
    assert {tag for t in templates for tag in t.tags} >= FAQ_INTENTS
    assert len({t.topic for t in templates}) >= 6


def test_every_shipped_answer_fills_completely_from_the_settings():
    slots = shop_slots(Settings())
    for template in load_templates():
        text = template.fill(slots)
        assert "{" not in text and "}" not in text, template.id
        assert text.strip()


def test_slots_come_from_settings_and_the_shop_data():
    settings = Settings(return_window_days=45, support_email="care@shop.test")
    slots = shop_slots(settings)
    assert set(slots) == SLOT_NAMES
    assert all(carrier in slots["carriers"] for carrier in CARRIERS)
    assert all(category in slots["categories"] for category in CATALOGUE)
    by_id = {t.id: t for t in load_templates()}
    assert "within 45 days of delivery" in by_id[201].fill(slots)
    assert "care@shop.test" in by_id[901].fill(slots)
    assert "next-day (1 business day)" in by_id[101].fill(slots)


def test_unknown_slot_is_an_error_naming_the_slot_and_the_template():
    with pytest.raises(
        TemplateError, match=r"test.yml: template 7: unknown slot\(s\) \['opening_times'\]"
    ):
        _parse(_raw(id=7, answer="We open {opening_times}."))


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (_raw(tags=["order_pizza"]), r"unknown intents \['order_pizza'\]"),
        (_raw(questions=["only one?"]), "has 1 questions; give 3-6"),
        (_raw(questions=["a?"] * 2 + ["", "b?"]), "non-empty strings"),
        (_raw(answer="  "), "answer must be a non-empty string"),
        (_raw(answer="Unbalanced {return_window_days"), "bad braces"),
        (_raw(id="seven"), "must be a non-negative integer"),
        (_raw(colour="red"), r"unknown keys \['colour'\]"),
        ({"id": 3, "tags": ["greet"]}, "lacks keys"),
    ],
)
def test_malformed_templates_fail_with_a_clear_message(raw, message):
    with pytest.raises(TemplateError, match=message):
        _parse(raw)


def test_duplicate_ids_and_questions_are_errors():
    with pytest.raises(TemplateError, match="duplicate template id 1"):
        _parse(_raw(), _raw(questions=["four?", "five?", "six?"]))
    with pytest.raises(TemplateError, match=r"'Two\?' is also a question of template 1"):
        _parse(_raw(), _raw(id=2, questions=["Two?", "five?", "six?"]))


def test_a_folder_without_templates_or_with_bad_yaml_fails(tmp_path: Path):
    with pytest.raises(TemplateError, match=r"no \*\.yml answer files"):
        load_templates(tmp_path)
    (tmp_path / "broken.yml").write_text("templates: [\n")
    with pytest.raises(TemplateError, match=r"broken\.yml: not valid YAML"):
        load_templates(tmp_path)


def test_hash_follows_what_is_embedded():
    first = _parse(_raw())
    assert templates_hash(first) == templates_hash(_parse(_raw()))
    assert templates_hash(first) == templates_hash(_parse(_raw(answer="Other text.")))
    assert templates_hash(first) != templates_hash(_parse(_raw(questions=["x?", "y?", "z?"])))


def test_benchmark_paraphrases_are_held_out_and_point_at_real_templates():
    templates = load_templates()
    canonical = {q.casefold() for t in templates for q in t.questions}
    ids = {t.id for t in templates}
    with (REPO / "benchmarks" / "data" / "faq_paraphrases.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) >= 150
    assert not [r["query"] for r in rows if r["query"].casefold() in canonical]
    assert {int(r["template_id"]) for r in rows} <= ids
    assert {r["split"] for r in rows} == {"dev", "test"}
    assert all(re.search(r"[a-z]", r["query"]) for r in rows)


# --- Chinese ----------------------------------------------------------------------------------


def test_every_shipped_template_has_chinese_questions_and_an_answer_with_the_same_slots():
    for template in load_templates():
        zh = template.translation("zh")
        assert zh is not None, template.id
        assert template.languages == ("en", "zh")
        assert 3 <= len(zh.questions) <= 5 and all(_han(q) for q in zh.questions), template.id
        assert _han(zh.answer) and zh.answer != template.answer
        assert sorted(set(slot_names_in(zh.answer))) == sorted(set(slot_names_in(template.answer)))
        # folded YAML lines leave no space inside a Chinese sentence
        assert not re.search(r"[\u4e00-\u9fff，。；：、] | [\u4e00-\u9fff，。；：、]", zh.answer)


def test_every_shipped_answer_fills_completely_in_chinese():
    slots = shop_slots(Settings(), "zh")
    for template in load_templates():
        text = template.fill(slots, "zh")
        assert "{" not in text and "}" not in text, template.id
        assert _han(text)


def test_chinese_slots_read_as_a_chinese_shop_writes_them():
    settings = Settings(return_window_days=45, support_email="care@shop.test")
    slots = shop_slots(settings, "zh")
    assert set(slots) == SLOT_NAMES
    assert slots["carriers"] == "、".join(CARRIERS)
    assert slots["standard_days"] == "5个工作日" and slots["next_day_days"] == "1个工作日"
    assert "次日达（1个工作日）" in slots["delivery_methods"]
    assert slots["shipping_countries"].startswith("英国、德国")
    assert "银行转账" in slots["payment_methods"] and "PayPal" in slots["wallets"]
    assert "服装" in slots["categories"] and "家居厨房" in slots["categories"]
    assert slots["support_hours"].startswith("周一至周五")
    # numbers and contact details are the settings' own, in both languages
    for name in ("return_window_days", "support_email", "support_phone", "free_shipping_over"):
        assert slots[name] == shop_slots(settings)[name]
    by_id = {t.id: t for t in load_templates()}
    assert "签收后45天内" in by_id[201].fill(slots, "zh")
    assert "care@shop.test" in by_id[901].fill(slots, "zh")
    # an unknown language gets the English slots; a changed opening time is shown as configured
    assert shop_slots(settings, "fr") == shop_slots(settings)
    assert shop_slots(Settings(support_hours="9-5"), "zh")["support_hours"] == "9-5"


def test_a_template_without_chinese_answers_in_english():
    (template,) = _parse(_raw())
    assert template.translation("zh") is None and template.languages == ("en",)
    assert template.answer_for("zh") == template.answer
    assert template.answer_language("zh") == "en"
    assert template.title_for("zh") == "one?"
    assert template.fill({"return_window_days": "30"}, "zh") == "Within 30 days."


def test_the_chinese_block_is_parsed_and_used_for_chinese():
    (template,) = _parse(_raw(zh=_zh(questions=["  退货期限  是几天 ", "多久内能退", "退货政策"])))
    assert template.questions_for("zh") == ("退货期限 是几天", "多久内能退", "退货政策")
    assert template.title_for("zh-CN") == "退货期限 是几天"
    assert template.answer_language("zh") == "zh"
    assert template.fill({"return_window_days": "30"}, "zh") == "签收后30天内可以退货。"
    assert template.fill({"return_window_days": "30"}, "en") == "Within 30 days."
    assert [lang for lang, _ in template.all_questions()] == ["en"] * 3 + ["zh"] * 3


def test_folded_chinese_lines_join_without_spaces_but_keep_latin_spacing():
    assert tidy_text("签收后\n{return_window_days}天内，\n可以用 Apple Pay 付款。", "zh") == (
        "签收后{return_window_days}天内，可以用Apple Pay付款。"
    )
    assert tidy_text("请点击“我的\n订单”", "zh") == "请点击“我的订单”"
    assert tidy_text("Pay with\n  Apple   Pay.") == "Pay with Apple Pay."


@pytest.mark.parametrize(
    ("zh", "message"),
    [
        ({"questions": ["一？", "二？", "三？"]}, r"template 1: zh lacks keys \['answer'\]"),
        ("退货", "template 1: zh must be a mapping"),
        (_zh(questions=["只有一个"]), "template 1: zh: has 1 questions; give 3-6"),
        (_zh(questions="退货期限"), "zh: questions must be a list of non-empty strings"),
        (_zh(answer=" "), "zh: answer must be a non-empty string"),
        (_zh(answer="签收后{return_window_days天内"), "zh: bad braces"),
        (_zh(answer="{opening_times}营业"), r"zh: unknown slot\(s\) \['opening_times'\]"),
        (
            _zh(answer="请在{warranty_months}个月内退货。"),
            r"zh: answer uses slots \['warranty_months'\] but the English answer uses "
            r"\['return_window_days'\]; both languages must use the same \{slot\}s",
        ),
        (_zh(answer="可以退货。"), r"uses slots \[\] but the English answer uses"),
        ({**_zh(), "title": "退货"}, r"template 1: zh has unknown keys \['title'\]"),
    ],
)
def test_malformed_chinese_blocks_fail_with_a_clear_message(zh, message):
    with pytest.raises(TemplateError, match=message):
        _parse(_raw(zh=zh))


def test_a_language_the_shop_does_not_serve_is_an_unknown_key():
    with pytest.raises(TemplateError, match=r"unknown keys \['fr'\] \(translations: \['zh'\]\)"):
        _parse(_raw(fr=_zh()))


def test_a_chinese_question_of_two_templates_is_an_error():
    message = "template 2: question '退货期限是几天' is also a question of template 1"
    with pytest.raises(TemplateError, match=message):
        _parse(_raw(zh=_zh()), _raw(id=2, questions=["x?", "y?", "z?"], zh=_zh()))


def test_hash_follows_the_chinese_questions_too():
    base = templates_hash(_parse(_raw(zh=_zh())))
    assert base != templates_hash(_parse(_raw()))
    assert base != templates_hash(_parse(_raw(zh=_zh(questions=["甲", "乙", "丙"]))))
    # answers are not embedded: changing one needs no rebuild (and is read fresh at load)
    assert base == templates_hash(_parse(_raw(zh=_zh(answer="{return_window_days}天内可退。"))))


def test_chinese_benchmark_paraphrases_are_held_out_and_point_at_real_templates():
    templates = load_templates()
    canonical = {q.casefold().strip() for t in templates for _, q in t.all_questions()}
    ids = {t.id for t in templates}
    path = REPO / "benchmarks" / "data" / "faq_paraphrases_zh.csv"
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) >= 150
    assert not [r["query"] for r in rows if r["query"].casefold().strip() in canonical]
    assert {int(r["template_id"]) for r in rows} <= ids
