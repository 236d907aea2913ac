"""Answer templates: load the YAML files of ``knowledge/faq/answers/``, validate them, fill slots.

Each file holds one topic::

    topic: returns
    templates:
      - id: 201                      # stable integer, the FAISS id of the template
        tags: [check_refund_policy]  # intents the template serves (see INTENTS)
        questions:                   # 3-6 canonical questions, embedded into the index
          - How long do I have to return an item?
        answer: You can return items within {return_window_days} days of delivery.
        zh:                          # the same template in Chinese (optional per template)
          questions:                 # 3-6 questions as a Chinese shopper asks them, also embedded
            - 退货期限是几天
          answer: >-
            签收后{return_window_days}天内可以退货。

``{slot}`` names in answers must be keys of :func:`shop_slots` (filled from the settings and the
demo shop's constants in ``knowledge/shop/seed.py``, in the answer's language); an unknown slot is
an error at load time, and a translation must use exactly the English answer's slots.

Chinese answers may be folded over several YAML lines (``>-``): whitespace next to a Chinese
character or full-width punctuation mark is dropped, so a line break never leaves a space inside
a Chinese sentence (write ``30天``, not ``30 天``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import string
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Sequence, Tuple

import yaml

from knowledge.faq.slots import SLOT_NAMES, join_words, join_words_zh, shop_slots
from knowledge.intents import INTENTS
from knowledge.language import DEFAULT_LANGUAGE, SUPPORTED_LANGUAGES, normalise_language

# Slot helpers live in knowledge.faq.slots; re-exported here for the templates' callers.
__all__ = [
    "SLOT_NAMES",
    "AnswerTemplate",
    "TemplateError",
    "Translation",
    "join_words",
    "join_words_zh",
    "load_templates",
    "parse_templates",
    "shop_slots",
    "templates_hash",
    "tidy_text",
]

logger = logging.getLogger(__name__)

ANSWERS_DIR = Path(__file__).resolve().parent / "answers"

MIN_QUESTIONS, MAX_QUESTIONS = 3, 6
#: Language of a template's top-level ``questions`` and ``answer``.
BASE_LANGUAGE = DEFAULT_LANGUAGE
#: Languages a template may add as a ``<code>: {questions, answer}`` block.
TRANSLATION_LANGUAGES = tuple(code for code in SUPPORTED_LANGUAGES if code != BASE_LANGUAGE)
_TEMPLATE_KEYS = frozenset({"id", "tags", "questions", "answer"})
_TRANSLATION_KEYS = frozenset({"questions", "answer"})

# Characters next to which whitespace is dropped in Chinese texts: wide and full-width
# characters (Han, full-width punctuation) and the curly quotes Chinese text uses.
_CJK_QUOTES = frozenset("“”‘’")  # noqa: RUF001


class TemplateError(ValueError):
    """An answer-template file is malformed; the message names the file, the id and the fix."""


@dataclass(frozen=True)
class Translation:
    """A template's questions and raw answer in one more language (see TRANSLATION_LANGUAGES)."""

    language: str
    questions: Tuple[str, ...]
    answer: str


@dataclass(frozen=True)
class AnswerTemplate:
    """One answer: its FAISS id, topic, intents it serves, canonical questions and raw answer
    (English), and its translations."""

    id: int
    topic: str
    tags: Tuple[str, ...]
    questions: Tuple[str, ...]
    answer: str
    translations: Tuple[Translation, ...] = ()

    @property
    def title(self) -> str:
        """The first canonical question, shown on a "did you mean" button."""
        return self.questions[0]

    @property
    def languages(self) -> Tuple[str, ...]:
        """The languages this template answers in, English first."""
        return (BASE_LANGUAGE, *(t.language for t in self.translations))

    def translation(self, language: str) -> Translation | None:
        """The translation into ``language``, or None (also for English, the base language)."""
        code = normalise_language(language)
        return next((t for t in self.translations if t.language == code), None)

    def questions_for(self, language: str) -> Tuple[str, ...]:
        """The questions in ``language``; the English ones when the template lacks it."""
        translated = self.translation(language)
        return translated.questions if translated else self.questions

    def title_for(self, language: str) -> str:
        """The button title in ``language`` (English when the template lacks it)."""
        return self.questions_for(language)[0]

    def answer_for(self, language: str) -> str:
        """The raw answer in ``language``; the English one when the template lacks it."""
        translated = self.translation(language)
        return translated.answer if translated else self.answer

    def answer_language(self, language: str) -> str:
        """The language :meth:`answer_for` actually answers in for ``language``."""
        return language if self.translation(language) else BASE_LANGUAGE

    def all_questions(self) -> List[Tuple[str, str]]:
        """``(language, question)`` for every question of every language (what is embedded)."""
        pairs = [(BASE_LANGUAGE, q) for q in self.questions]
        for translated in self.translations:
            pairs += [(translated.language, q) for q in translated.questions]
        return pairs

    def fill(self, slots: Mapping[str, str], language: str = BASE_LANGUAGE) -> str:
        """The answer in ``language`` (English when missing) with every ``{slot}`` replaced by its
        value from ``slots``; give the slots of the same language (:func:`shop_slots`)."""
        return self.answer_for(language).format_map(dict(slots))


def _is_cjk(char: str) -> bool:
    return unicodedata.east_asian_width(char) in ("W", "F") or char in _CJK_QUOTES


def tidy_text(text: str, language: str = BASE_LANGUAGE) -> str:
    """``text`` single-spaced; for Chinese, without whitespace next to a Chinese character or
    full-width mark (YAML folds line breaks into spaces, which Chinese does not use)."""
    words = text.split()
    if language == BASE_LANGUAGE or not words:
        return " ".join(words)
    out = words[0]
    for word in words[1:]:
        out += ("" if _is_cjk(out[-1]) or _is_cjk(word[0]) else " ") + word
    return out


def slot_names_in(text: str) -> List[str]:
    """The ``{slot}`` names used in ``text``; raises ValueError on unbalanced braces."""
    return [field for _, field, _, _ in string.Formatter().parse(text) if field is not None]


def _fail(source: str, message: str) -> TemplateError:
    return TemplateError(f"{source}: {message}")


def _check_questions(questions: object, source: str, where: str) -> Tuple[str, ...]:
    if not isinstance(questions, list) or not all(
        isinstance(q, str) and q.strip() for q in questions
    ):
        raise _fail(source, f"{where}: questions must be a list of non-empty strings")
    if not MIN_QUESTIONS <= len(questions) <= MAX_QUESTIONS:
        raise _fail(
            source,
            f"{where}: has {len(questions)} questions; give {MIN_QUESTIONS}-{MAX_QUESTIONS}",
        )
    return tuple(" ".join(q.split()) for q in questions)


def _check_answer(answer: object, source: str, where: str) -> List[str]:
    """The slot names of a valid answer text (raises TemplateError otherwise)."""
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
    return used


def _parse_translation(
    raw: object, language: str, english_slots: List[str], source: str, template_id: int
) -> Translation:
    """The ``<language>:`` block of a template: questions and an answer with the English slots."""
    where = f"template {template_id}: {language}"
    if not isinstance(raw, dict):
        raise _fail(source, f"{where} must be a mapping with 'questions' and 'answer'")
    missing = _TRANSLATION_KEYS - set(raw)
    if missing:
        raise _fail(source, f"{where} lacks keys {sorted(missing)}")
    extra = set(raw) - _TRANSLATION_KEYS
    if extra:
        raise _fail(source, f"{where} has unknown keys {sorted(extra)}")
    questions = _check_questions(raw["questions"], source, where)
    used = _check_answer(raw["answer"], source, where)
    if sorted(set(used)) != sorted(set(english_slots)):
        raise _fail(
            source,
            f"{where}: answer uses slots {sorted(set(used))} but the English answer uses "
            f"{sorted(set(english_slots))}; both languages must use the same {{slot}}s",
        )
    return Translation(language, questions, tidy_text(raw["answer"], language))


def _parse_template(raw: object, topic: str, source: str) -> AnswerTemplate:
    """One validated template from its YAML mapping (strict: raises TemplateError)."""
    if not isinstance(raw, dict):
        raise _fail(source, f"each template must be a mapping, got {raw!r}")
    missing = _TEMPLATE_KEYS - set(raw)
    if missing:
        raise _fail(source, f"template {raw.get('id', '?')} lacks keys {sorted(missing)}")
    extra = set(raw) - _TEMPLATE_KEYS - set(TRANSLATION_LANGUAGES)
    if extra:
        raise _fail(
            source,
            f"template {raw['id']} has unknown keys {sorted(extra, key=str)} (translations: "
            f"{list(TRANSLATION_LANGUAGES)})",
        )
    template_id = raw["id"]
    if not isinstance(template_id, int) or isinstance(template_id, bool) or template_id < 0:
        raise _fail(source, f"template id {template_id!r} must be a non-negative integer")
    where = f"template {template_id}"
    tags = raw["tags"]
    if not isinstance(tags, list) or not tags:
        raise _fail(source, f"{where}: tags must be a non-empty list of intents")
    unknown = sorted(set(tags) - INTENTS)
    if unknown:
        raise _fail(source, f"{where}: unknown intents {unknown} in tags; use {sorted(INTENTS)}")
    questions = _check_questions(raw["questions"], source, where)
    used = _check_answer(raw["answer"], source, where)
    translations = tuple(
        _parse_translation(raw[language], language, used, source, template_id)
        for language in TRANSLATION_LANGUAGES
        if language in raw
    )
    return AnswerTemplate(
        id=template_id,
        topic=topic,
        tags=tuple(tags),
        questions=questions,
        answer=tidy_text(raw["answer"]),
        translations=translations,
    )


def parse_templates(documents: Iterable[Tuple[str, object]]) -> List[AnswerTemplate]:
    """Validated templates from ``(source name, parsed YAML)`` pairs, sorted by id.

    Raises TemplateError on duplicate ids, duplicate questions (in any language), unknown tags or
    slots, and translations whose slots differ from the English answer's.
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
            for _, question in template.all_questions():
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
    """Every template in the ``*.yml`` files of ``directory`` (default: knowledge/faq/answers)."""
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
    """SHA-256 of what the index embeds (ids and the questions of every language): a change
    means a rebuild. Answers are read from the YAML at load time, so they are not hashed."""
    payload = [
        [t.id, [[language, question] for language, question in t.all_questions()]]
        for t in sorted(templates, key=lambda t: t.id)
    ]
    return hashlib.sha256(json.dumps(payload, ensure_ascii=False).encode("utf-8")).hexdigest()
