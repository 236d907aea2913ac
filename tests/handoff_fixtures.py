"""A tiny bot for the hand-over tests: keyword intents, keyword sentiment, the real handoff.yml.

``KeywordSentiment`` stands in for the project's BERT component (``nlu/``): it publishes
``sentiment`` exactly as that component does, from a few keywords, so the tests decide which
turns are negative. Imported by the Rasa server the end-to-end test starts (PYTHONPATH = repo).
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any, Dict, List

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

logger = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[1]
NEGATIVE_WORDS = ("awful", "dispute", "third time", "terrible", "useless")

DOMAIN = """
version: "3.1"
intents: [greet, get_refund, complaint, contact_human_agent, order_status]
slots:
  customer_id:
    type: any
    influence_conversation: false
    mappings:
    - type: custom
  handoff_requested:
    type: bool
    influence_conversation: false
    mappings:
    - type: custom
actions:
- action_request_human
responses:
  utter_greet: [{text: "Hello! How can I help?"}]
  utter_refund: [{text: "Refunds take up to 5 days after we receive the item."}]
  utter_complaint: [{text: "I'm sorry about that."}]
  utter_order_status: [{text: "Your order is on its way."}]
  utter_human_handoff: [{text: "A member of our team will take over shortly."}]
"""

NLU = """
version: "3.1"
nlu:
- intent: greet
  examples: |
    - hello
- intent: get_refund
  examples: |
    - refund
- intent: complaint
  examples: |
    - awful
- intent: contact_human_agent
  examples: |
    - human
- intent: order_status
  examples: |
    - parcel
"""

RULES = """
version: "3.1"
rules:
- rule: greet
  steps: [{intent: greet}, {action: utter_greet}]
- rule: refund
  steps: [{intent: get_refund}, {action: utter_refund}]
- rule: complaint
  steps: [{intent: complaint}, {action: utter_complaint}]
- rule: order status
  steps: [{intent: order_status}, {action: utter_order_status}]
- rule: person
  steps: [{intent: contact_human_agent}, {action: action_request_human}]
"""

CONFIG = """
recipe: default.v1
language: en
assistant_id: handoff-tests
pipeline:
- name: WhitespaceTokenizer
- name: KeywordIntentClassifier
- name: tests.handoff_fixtures.KeywordSentiment
policies:
- name: RulePolicy
- name: nlu.handoff_policy.HandoffPolicy
"""


def train_tiny_bot(root: Path) -> Path:
    """Train the tiny bot (with the project's handoff.yml and turn_tracking.yml) into ``root``."""
    from rasa.model_training import train

    (root / "domain").mkdir(parents=True, exist_ok=True)
    (root / "domain" / "tiny.yml").write_text(DOMAIN)
    for name in ("handoff.yml", "turn_tracking.yml"):
        shutil.copy(REPO / "bot" / "domain" / name, root / "domain" / name)
    (root / "nlu.yml").write_text(NLU)
    (root / "rules.yml").write_text(RULES)
    (root / "config.yml").write_text(CONFIG)
    result = train(
        domain=str(root / "domain"),
        config=str(root / "config.yml"),
        training_files=[str(root / "nlu.yml"), str(root / "rules.yml")],
        output=str(root / "models"),
        fixed_model_name="handoff",
    )
    assert result.code == 0 and result.model, "training the tiny hand-over bot failed"
    return Path(result.model)


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class KeywordSentiment(GraphComponent):
    """Publishes ``sentiment`` like the project's classifier: negative on a few keywords."""

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> KeywordSentiment:
        """No state."""
        return cls()

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Nothing to learn."""
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        """Set ``sentiment`` on every message."""
        for message in messages:
            text = (message.get("text") or "").lower()
            if any(word in text for word in NEGATIVE_WORDS):
                scores = {"negative": 0.92, "neutral": 0.05, "positive": 0.03}
            else:
                scores = {"negative": 0.05, "neutral": 0.85, "positive": 0.10}
            label = max(scores, key=lambda k: scores[k])
            message.set(
                "sentiment",
                {"label": label, "confidence": scores[label], "scores": scores},
                add_to_output=True,
            )
            message.set("demands", [], add_to_output=True)
        return messages
