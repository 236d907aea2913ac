"""Answer templates: load the YAML files of ``knowledge/answers/``, validate them, fill their slots.

Each file holds one topic::

    topic: returns
    templates:
      - id: 201                      # stable integer, the FAISS id of the template
        tags: [check_refund_policy]  # intents the template serves (see INTENTS)
        questions:                   # 3-6 canonical questions, embedded into the index
          - How long do I have to return an item?
        answer: You can return items within {return_window_days} days of delivery.

``{slot}`` names in answers must be keys of :func:`shop_slots` (filled from the settings and the
demo shop's constants in ``knowledge/seed.py``); an unknown slot is an error at load time.
"""

from __future__ import annotations

import hashlib
import json
import logging
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Sequence, Tuple

import yaml

from knowledge.intents import INTENTS
from knowledge.seed import CARRIERS, CATALOGUE, CITIES, DELIVERY_METHODS, PAYMENT_METHODS
from knowledge.settings import Settings

logger = logging.getLogger(__name__)

ANSWERS_DIR = Path(__file__).resolve().parent / "answers"

MIN_QUESTIONS, MAX_QUESTIONS = 3, 6

PAYMENT_LABELS = {
    "visa": "Visa",
    "mastercard": "Mastercard",
    "amex": "American Express",
    "paypal": "PayPal",
    "apple_pay": "Apple Pay",
    "bank_transfer": "bank transfer",
}
DELIVERY_LABELS = {"standard": "standard", "express": "express", "next_day": "next-day"}
COUNTRY_NAMES = {
    "GB": "the UK",
    "DE": "Germany",
    "FR": "France",
    "ES": "Spain",
    "NL": "the Netherlands",
    "US": "the United States",
    "CA": "Canada",
}

SLOT_NAMES = frozenset(
    {
        "shop_name",
        "support_email",
        "support_phone",
        "support_hours",
        "currency",
        "free_shipping_over",
        "return_window_days",
        "refund_processing_days",
        "warranty_months",
        "carriers",
        "categories",
        "payment_methods",
        "card_brands",
        "wallets",
        "delivery_methods",
        "standard_days",
        "express_days",
        "next_day_days",
        "shipping_countries",
    }
)


class TemplateError(ValueError):
    """An answer-template file is malformed; the message names the file, the id and the fix."""


@dataclass(frozen=True)
class AnswerTemplate:
    """One answer: its FAISS id, topic, intents it serves, canonical questions and raw answer."""

    id: int
    topic: str
    tags: Tuple[str, ...]
    questions: Tuple[str, ...]
    answer: str

    @property
    def title(self) -> str:
        """The first canonical question, shown on a "did you mean" button."""
        return self.questions[0]

    def fill(self, slots: Mapping[str, str]) -> str:
        """The answer text with every ``{slot}`` replaced by its value from ``slots``."""
        return self.answer.format_map(dict(slots))


def join_words(words: Sequence[str]) -> str:
    """``a, b and c``."""
    words = list(words)
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def _days(n: int) -> str:
    return f"{n} business day" if n == 1 else f"{n} business days"


def shop_slots(settings: Settings) -> Dict[str, str]:
    """Values of every slot, from the settings and the demo shop's catalogue and delivery data."""
    delivery = dict(DELIVERY_METHODS)
    cards = [PAYMENT_LABELS[m] for m in PAYMENT_METHODS if m in ("visa", "mastercard", "amex")]
    wallets = [PAYMENT_LABELS[m] for m in PAYMENT_METHODS if m in ("paypal", "apple_pay")]
    countries = list(dict.fromkeys(COUNTRY_NAMES.get(code, code) for _, code, _ in CITIES))
    slots = {
        "shop_name": settings.shop_name,
        "support_email": settings.support_email,
        "support_phone": settings.support_phone,
        "support_hours": settings.support_hours,
        "currency": settings.currency_symbol,
        "free_shipping_over": f"{settings.currency_symbol}{settings.free_shipping_over}",
        "return_window_days": str(settings.return_window_days),
        "refund_processing_days": str(settings.refund_processing_days),
        "warranty_months": str(settings.warranty_months),
        "carriers": join_words(list(CARRIERS)),
        "categories": join_words(list(CATALOGUE)),
        "payment_methods": join_words([PAYMENT_LABELS.get(m, m) for m in PAYMENT_METHODS]),
        "card_brands": join_words(cards),
        "wallets": join_words(wallets),
        "delivery_methods": join_words(
            [f"{DELIVERY_LABELS.get(m, m)} ({_days(d)})" for m, d in DELIVERY_METHODS]
        ),
        "standard_days": _days(delivery["standard"]),
        "express_days": _days(delivery["express"]),
        "next_day_days": _days(delivery["next_day"]),
        "shipping_countries": join_words(countries),
    }
    assert set(slots) == SLOT_NAMES, "shop_slots and SLOT_NAMES must list the same slots"
    return slots


def slot_names_in(text: str) -> List[str]:
    """The ``{slot}`` names used in ``text``; raises ValueError on unbalanced braces."""
    return [field for _, field, _, _ in string.Formatter().parse(text) if field is not None]


def _fail(source: str, message: str) -> TemplateError:
    return TemplateError(f"{source}: {message}")


def _parse_template(raw: object, topic: str, source: str) -> AnswerTemplate:
    """One validated template from its YAML mapping (strict: raises TemplateError)."""
    if not isinstance(raw, dict):
        raise _fail(source, f"each template must be a mapping, got {raw!r}")
    missing = {"id", "tags", "questions", "answer"} - set(raw)
    if missing:
        raise _fail(source, f"template {raw.get('id', '?')} lacks keys {sorted(missing)}")
    extra = set(raw) - {"id", "tags", "questions", "answer"}
    if extra:
        raise _fail(source, f"template {raw['id']} has unknown keys {sorted(extra)}")
    template_id = raw["id"]
    if not isinstance(template_id, int) or isinstance(template_id, bool) or template_id < 0:
        raise _fail(source, f"template id {template_id!r} must be a non-negative integer")
    where = f"template {template_id}"
    tags, questions, answer = raw["tags"], raw["questions"], raw["answer"]
    if not isinstance(tags, list) or not tags:
        raise _fail(source, f"{where}: tags must be a non-empty list of intents")
    unknown = sorted(set(tags) - INTENTS)
    if unknown:
        raise _fail(source, f"{where}: unknown intents {unknown} in tags; use {sorted(INTENTS)}")
    if not isinstance(questions, list) or not all(
        isinstance(q, str) and q.strip() for q in questions
    ):
        raise _fail(source, f"{where}: questions must be a list of non-empty strings")
    if not MIN_QUESTIONS <= len(questions) <= MAX_QUESTIONS:
        raise _fail(
            source,
            f"{where}: has {len(questions)} questions; give {MIN_QUESTIONS}-{MAX_QUESTIONS}",
        )
    if not isinstance(answer, str) or not answer.strip():
        raise _fail(source, f"{where}: answer must be a non-empty string")
    try:
        used = slot_names_in(answer)
    except ValueError as error:
        raise _fail(
            source, f"{where}: bad braces in answer ({error}); write {{{{ for a brace"
        ) from error
    bad = sorted({name for name in used if name not in SLOT_NAMES})
    if bad:
        raise _fail(
            source,
            f"{where}: unknown slot(s) {bad} in answer; known slots are {sorted(SLOT_NAMES)}",
        )
    return AnswerTemplate(
        id=template_id,
        topic=topic,
        tags=tuple(tags),
        questions=tuple(q.strip() for q in questions),
        answer=" ".join(answer.split()),
    )


def parse_templates(documents: Iterable[Tuple[str, object]]) -> List[AnswerTemplate]:
    """Validated templates from ``(source name, parsed YAML)`` pairs, sorted by id.

    Raises TemplateError on duplicate ids, duplicate questions, unknown tags or slots.
    """
    templates: List[AnswerTemplate] = []
    seen: Dict[int, str] = {}
    questions_seen: Dict[str, int] = {}
    for source, document in documents:
        if not isinstance(document, dict) or not isinstance(document.get("templates"), list):
            raise _fail(source, "expected a mapping with 'topic' and a 'templates' list")
        topic = str(document.get("topic") or Path(source).stem)
        for raw in document["templates"]:
            template = _parse_template(raw, topic, source)
            if template.id in seen:
                raise _fail(
                    source, f"duplicate template id {template.id} (also in {seen[template.id]})"
                )
            seen[template.id] = source
            for question in template.questions:
                key = question.casefold()
                if key in questions_seen:
                    raise _fail(
                        source,
                        f"template {template.id}: question {question!r} is also a question of "
                        f"template {questions_seen[key]}",
                    )
                questions_seen[key] = template.id
            templates.append(template)
    if not templates:
        raise TemplateError("no answer templates found")
    return sorted(templates, key=lambda t: t.id)


def load_templates(directory: Path | None = None) -> List[AnswerTemplate]:
    """Every template in the ``*.yml`` files of ``directory`` (default: knowledge/answers)."""
    directory = Path(directory or ANSWERS_DIR)
    files = sorted(directory.glob("*.yml"))
    if not files:
        raise TemplateError(f"no *.yml answer files in {directory}")
    documents = []
    for path in files:
        try:
            documents.append((path.name, yaml.safe_load(path.read_text(encoding="utf-8"))))
        except yaml.YAMLError as error:
            raise TemplateError(f"{path.name}: not valid YAML: {error}") from error
    templates = parse_templates(documents)
    logger.debug("Loaded %d answer templates from %s", len(templates), directory)
    return templates


def templates_hash(templates: Sequence[AnswerTemplate]) -> str:
    """SHA-256 of what the index embeds (ids and questions): a change means a rebuild."""
    payload = [[t.id, list(t.questions)] for t in sorted(templates, key=lambda t: t.id)]
    return hashlib.sha256(json.dumps(payload, ensure_ascii=False).encode("utf-8")).hexdigest()
