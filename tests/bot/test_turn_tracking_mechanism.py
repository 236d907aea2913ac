"""Proof that ``action_record_turn`` runs on every user turn, with real Rasa.

The declaration under test is the project's own ``bot/domain/turn_tracking.yml``: a slot whose
only mapping is ``type: custom, action: action_record_turn``. Rasa's default action
``action_extract_slots`` runs after every user message (``MessageProcessor.handle_message``)
and calls the action of every custom mapping whose conditions hold; with no conditions that is
every message, in rules, inside forms, whatever the policies then predict.

The slow test trains a tiny model (keyword intents, regex entities, RulePolicy, a form) with that
domain file, serves the real rasa_sdk executor over HTTP as the action server, and talks to the
real ``Agent``: every message reaches the action exactly once, the graph gets one row per turn,
and the dialogue (rules, form) behaves as if the action did not exist.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Dict, List

import pytest
import yaml
from sqlalchemy import select

from knowledge.models import Conversation, GraphEdge, Message, Product
from knowledge.shop.identity_token import sign_customer_id

REPO = Path(__file__).resolve().parents[2]
DECLARATION = REPO / "bot" / "domain" / "turn_tracking.yml"

# Rasa's training imports matplotlib, whose old pyparsing calls warn (not our code).
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:matplotlib.*")

TINY_DOMAIN = """
version: "3.1"
intents: [greet, track_order, inform, complain]
entities: [order_id, product]
slots:
  order_id:
    type: text
    influence_conversation: false
    mappings:
    - type: from_entity
      entity: order_id
  customer_id:
    type: any
    influence_conversation: false
    mappings:
    - type: custom
forms:
  track_order_form:
    required_slots: [order_id]
responses:
  utter_greet: [{text: "Hello!"}]
  utter_ask_order_id: [{text: "Which order?"}]
  utter_order_on_its_way: [{text: "Order {order_id} is on its way."}]
  utter_sorry: [{text: "Sorry to hear that."}]
"""

TINY_NLU = """
version: "3.1"
nlu:
- intent: greet
  examples: |
    - hello
- intent: track_order
  examples: |
    - track my order
- intent: inform
  examples: |
    - it is
    - [9999](order_id)
- intent: complain
  examples: |
    - broken
- regex: order_id
  examples: |
    - \\d{4}
"""

TINY_RULES = """
version: "3.1"
rules:
- rule: greet
  steps: [{intent: greet}, {action: utter_greet}]
- rule: complain
  steps: [{intent: complain}, {action: utter_sorry}]
- rule: start tracking
  steps: [{intent: track_order}, {action: track_order_form}, {active_loop: track_order_form}]
- rule: finish tracking
  condition: [{active_loop: track_order_form}]
  steps:
  - {action: track_order_form}
  - {active_loop: null}
  - {slot_was_set: [{requested_slot: null}]}
  - {action: utter_order_on_its_way}
"""


def _config() -> str:
    return f"""
recipe: default.v1
language: en
assistant_id: turn-tracking-proof
pipeline:
- name: WhitespaceTokenizer
- name: KeywordIntentClassifier
- name: RegexEntityExtractor
- name: {__name__}.KeywordSentimentTagger
policies:
- name: RulePolicy
"""


def _declared_slot() -> Dict[str, Any]:
    declaration = yaml.safe_load(DECLARATION.read_text())
    ((name, slot),) = declaration["slots"].items()
    return {"name": name, **slot, "actions": declaration["actions"]}


def test_declaration_is_an_unconditional_custom_mapping() -> None:
    slot = _declared_slot()
    assert slot["mappings"] == [{"type": "custom", "action": "action_record_turn"}]
    assert slot["influence_conversation"] is False
    assert "action_record_turn" in slot["actions"]


def test_no_form_ignores_intents_and_no_other_slot_reuses_the_action() -> None:
    """Rasa skips every mapping (custom ones too) for a form's ``ignored_intents``."""
    for path in sorted((REPO / "bot" / "domain").glob("*.yml")):
        domain = yaml.safe_load(path.read_text()) or {}
        for form, spec in (domain.get("forms") or {}).items():
            assert not (spec or {}).get("ignored_intents"), (
                f"{path.name}: form {form} has ignored_intents; action_record_turn would not run "
                "for those intents while the form is active"
            )
        if path == DECLARATION:
            continue
        for name, slot in (domain.get("slots") or {}).items():
            actions = [m.get("action") for m in slot.get("mappings", [])]
            assert "action_record_turn" not in actions, f"{path.name}: slot {name} reuses it"


def test_one_action_server_call_per_turn_for_the_bookkeeping() -> None:
    """Only turn_tracking's mapping names an action: each such mapping is a round trip a turn."""
    with_action = {
        (path.name, name): [m["action"] for m in slot.get("mappings", []) if m.get("action")]
        for path in sorted((REPO / "bot" / "domain").glob("*.yml"))
        for name, slot in ((yaml.safe_load(path.read_text()) or {}).get("slots") or {}).items()
    }
    assert {k: v for k, v in with_action.items() if v} == {
        ("turn_tracking.yml", "turn_tracking"): ["action_record_turn"]
    }


# --- A stand-in for the project's NLU: publishes sentiment and demands like nlu/ does. -------

try:
    from rasa.engine.graph import ExecutionContext, GraphComponent
    from rasa.engine.recipes.default_recipe import DefaultV1Recipe
    from rasa.engine.storage.resource import Resource
    from rasa.engine.storage.storage import ModelStorage
    from rasa.shared.nlu.training_data.message import Message as NluMessage
    from rasa.shared.nlu.training_data.training_data import TrainingData

    @DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
    class KeywordSentimentTagger(GraphComponent):
        """Sets ``sentiment``/``demands`` (and a product entity) from keywords, for this test."""

        @classmethod
        def create(
            cls,
            config: Dict[str, Any],
            model_storage: ModelStorage,
            resource: Resource,
            execution_context: ExecutionContext,
        ) -> KeywordSentimentTagger:
            return cls()

        def process_training_data(self, training_data: TrainingData) -> TrainingData:
            return training_data

        def process(self, messages: List[NluMessage]) -> List[NluMessage]:
            for message in messages:
                text = (message.get("text") or "").lower()
                negative = "broken" in text
                scores = (
                    {"negative": 0.9, "neutral": 0.05, "positive": 0.05}
                    if negative
                    else {"negative": 0.1, "neutral": 0.8, "positive": 0.1}
                )
                label = max(scores, key=scores.get)
                message.set(
                    "sentiment",
                    {"label": label, "confidence": scores[label], "scores": scores},
                    add_to_output=True,
                )
                demands = []
                if "earbuds" in text:
                    demands.append(
                        {"aspect": "quality", "confidence": 0.8, "product": "wireless earbuds"}
                    )
                    entities = message.get("entities", [])
                    message.set(
                        "entities",
                        [
                            *entities,
                            {
                                "entity": "product",
                                "value": "Wireless Earbuds",
                                "start": text.index("wireless"),
                                "end": text.index("earbuds") + 7,
                                "extractor": "KeywordSentimentTagger",
                            },
                        ],
                        add_to_output=True,
                    )
                message.set("demands", demands, add_to_output=True)
            return messages

except ImportError:  # pragma: no cover - rasa is always installed in this project
    pass


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny model trained with the project's turn_tracking.yml (about a minute on 1 CPU)."""
    from rasa.model_training import train

    root = tmp_path_factory.mktemp("turn-tracking-bot")
    (root / "domain").mkdir()
    (root / "domain" / "domain.yml").write_text(TINY_DOMAIN)
    shutil.copy(DECLARATION, root / "domain" / "turn_tracking.yml")
    (root / "nlu.yml").write_text(TINY_NLU)
    (root / "rules.yml").write_text(TINY_RULES)
    (root / "config.yml").write_text(_config())
    result = train(
        domain=str(root / "domain"),
        config=str(root / "config.yml"),
        training_files=[str(root / "nlu.yml"), str(root / "rules.yml")],
        output=str(root / "models"),
        fixed_model_name="tiny",
    )
    assert result.code == 0 and result.model, "training the tiny model failed"
    return Path(result.model)


async def _action_server(aiohttp_server: Any, calls: List[Dict[str, Any]]) -> Any:
    """The real rasa_sdk executor with actions/record_turn.py, behind an aiohttp /webhook."""
    from aiohttp import web
    from rasa_sdk.executor import ActionExecutor

    executor = ActionExecutor()
    executor.register_package("actions.record_turn")

    async def webhook(request: web.Request) -> web.Response:
        action_call = await request.json()
        tracker = action_call["tracker"]
        calls.append(
            {
                "action": action_call["next_action"],
                "text": tracker["latest_message"].get("text"),
                "active_loop": (tracker.get("active_loop") or {}).get("name"),
            }
        )
        return web.json_response(await executor.run(action_call))

    app = web.Application()
    app.router.add_post("/webhook", webhook)
    return await aiohttp_server(app)


async def _say(agent: Any, sender: str, text: str, metadata: dict | None = None) -> List[str]:
    from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

    output = CollectingOutputChannel()
    await agent.handle_message(UserMessage(text, output, sender, metadata=metadata))
    return [m.get("text") for m in output.messages]


@pytest.mark.slow
async def test_action_runs_on_every_user_turn_in_rules_and_forms(
    tiny_model: Path,
    aiohttp_server: Any,
    database_url: str,
    session_factory: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from rasa.core.agent import Agent
    from rasa.utils.endpoints import EndpointConfig

    from actions import deps

    monkeypatch.setenv("SHOP_DATABASE_URL", database_url)
    monkeypatch.setenv("SHOP_IDENTITY_SECRET", "turn-tracking-test-key")
    deps.clear_caches()
    calls: List[Dict[str, Any]] = []
    server = await _action_server(aiohttp_server, calls)
    agent = Agent.load(
        tiny_model,
        action_endpoint=EndpointConfig(str(server.make_url("/webhook"))),
    )
    sender, customer = "proof-1", 1
    claim = sign_customer_id(customer, deps.settings())  # as the shop page signs it
    conversation = [
        ("hello", ["Hello!"]),  # rule
        ("track my order", ["Which order?"]),  # rule activates the form
        ("it is 1001", ["Order 1001 is on its way."]),  # inside the active form
        ("my wireless earbuds are broken", ["Sorry to hear that."]),  # rule, negative, product
    ]
    try:
        for text, expected in conversation:
            assert await _say(agent, sender, text, {"customer_id": claim}) == expected
        tracker = await agent.tracker_store.retrieve(sender)
    finally:
        deps.clear_caches()

    # Every user message reaches the action, in order, including the one inside the form. The
    # message that activates the form reaches it twice: FormAction re-runs action_extract_slots
    # on activation; the replay is recognised by its message id (one row per message below).
    assert {c["action"] for c in calls} == {"action_record_turn"}
    assert [(c["text"], c["active_loop"]) for c in calls] == [
        ("hello", None),
        ("track my order", None),
        ("track my order", "track_order_form"),
        ("it is 1001", "track_order_form"),
        ("my wireless earbuds are broken", None),
    ]
    # Invisible to the dialogue: never an executed action, no slot event, no bot message.
    names = [e.as_dict().get("name") for e in tracker.events]
    assert "action_record_turn" not in names
    assert tracker.get_slot("turn_tracking") is None

    with session_factory() as session:
        rows = session.execute(select(Message).order_by(Message.turn)).scalars().all()
        assert [(m.turn, m.text, m.intent, m.customer_id) for m in rows] == [
            (1, "hello", "greet", customer),
            (2, "track my order", "track_order", customer),
            (3, "it is 1001", "inform", customer),
            (4, "my wireless earbuds are broken", "complain", customer),
        ]
        assert len({m.rasa_message_id for m in rows}) == 4
        assert rows[2].order_id == 1001  # the order_id entity named inside the form
        assert (rows[3].sentiment_label, rows[3].sentiment_score) == ("negative", -0.85)
        earbuds = session.execute(
            select(Product.id).where(Product.name == "Wireless Earbuds")
        ).scalar_one()
        assert rows[3].product_id == earbuds
        assert rows[3].demands[0]["aspect"] == "quality"
        assert ("COMPLAINED_ABOUT", "product", str(earbuds)) in session.execute(
            select(GraphEdge.relation, GraphEdge.target_type, GraphEdge.target_key).where(
                GraphEdge.message_id == rows[3].id
            )
        ).all()
        assert session.execute(select(Conversation.turn_count)).scalar_one() == 4


@pytest.mark.slow
async def test_conversation_goes_on_when_the_action_server_is_down(tiny_model: Path) -> None:
    from rasa.core.agent import Agent
    from rasa.utils.endpoints import EndpointConfig

    agent = Agent.load(tiny_model, action_endpoint=EndpointConfig("http://127.0.0.1:1/webhook"))
    assert await _say(agent, "proof-2", "hello") == ["Hello!"]
    assert await _say(agent, "proof-2", "track my order") == ["Which order?"]
    tracker = await agent.tracker_store.retrieve("proof-2")
    assert tracker.active_loop_name == "track_order_form"
    assert json.dumps(tracker.current_state())  # a healthy, serialisable tracker
