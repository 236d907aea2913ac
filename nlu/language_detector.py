"""LanguageDetector: tags each message with its language (en / zh) for the bilingual bot.

Publishes ``"language"`` in the parse result (``null`` when the message gives no clear answer)
and, when it is clear, an entity ``language`` that fills the Rasa slot of the same name
(bot/domain/language.yml). A message without a clear language ("1234", "ok") emits no entity,
so the slot keeps the conversation's language. Rules: :func:`knowledge.language.detect_language`.

Entities found before this component (put it after RegexEntityExtractor) do not count: an answer
that is only an e-mail address, a product name or an order number ("Yoga Mat" clicked by a
Chinese shopper) carries no language of its own and leaves the conversation's language alone.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    EXTRACTOR,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from knowledge.language import LANGUAGE_SLOT, detect_language

logger = logging.getLogger(__name__)

#: Key of the detected language in the parse result.
LANGUAGE_KEY = "language"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class LanguageDetector(GraphComponent, EntityExtractorMixin):
    """Detect the language of every message from its scripts (no model, no training)."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """No options: the rules live in :mod:`knowledge.language`."""
        return {}

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LanguageDetector:
        """A detector (stateless)."""
        return cls()

    def process(self, messages: List[Message]) -> List[Message]:
        """Set ``language`` on each message and add the ``language`` entity when it is clear."""
        for message in messages:
            text = message.get(TEXT)
            language = (
                detect_language(without_entities(text, message.get(ENTITIES) or []))
                if isinstance(text, str)
                else None
            )
            message.set(LANGUAGE_KEY, language, add_to_output=True)
            if language is None:
                continue
            entity = {
                ENTITY_ATTRIBUTE_TYPE: LANGUAGE_SLOT,
                ENTITY_ATTRIBUTE_VALUE: language,
                ENTITY_ATTRIBUTE_START: 0,
                ENTITY_ATTRIBUTE_END: len(text),
                EXTRACTOR: self.__class__.__name__,
            }
            message.set(ENTITIES, [*message.get(ENTITIES, []), entity], add_to_output=True)
        return messages


def without_entities(text: str, entities: List[Dict[str, Any]]) -> str:
    """`text` with the spans of already extracted entities blanked out."""
    chars = list(text)
    for entity in entities:
        start, end = entity.get(ENTITY_ATTRIBUTE_START), entity.get(ENTITY_ATTRIBUTE_END)
        if isinstance(start, int) and isinstance(end, int):
            chars[max(0, start) : max(0, end)] = " " * max(0, min(end, len(text)) - max(0, start))
    return "".join(chars)
