"""Answer templates: the shipped YAML files validate, fill from the settings, and bad files fail
with a message that names the problem."""

from __future__ import annotations

import csv
import logging
import re
from pathlib import Path

import pytest

from knowledge.answer_templates import (
    INTENTS,
    SLOT_NAMES,
    TemplateError,
    load_templates,
    parse_templates,
    shop_slots,
    templates_hash,
)
from knowledge.seed import CARRIERS, CATALOGUE
from knowledge.settings import Settings

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
