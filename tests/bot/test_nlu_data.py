"""The bot's NLU training data, read the way ``rasa train`` reads it.

Checks the intent set and sizes, the entity annotations, that the product lookup table
follows the seed catalogue, and that the converted Bitext data carries its licence.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from pathlib import Path
from typing import Dict, List, Set

import pytest
from rasa.shared.nlu.training_data.training_data import TrainingData

from knowledge import intents
from knowledge.intents import INTENTS
from knowledge.shop.seed import CATALOGUE
from scripts import build_nlu_data

logger = logging.getLogger(__name__)

# pykwalify (Rasa's YAML schema check) loads its extensions with the deprecated
# importlib load_module(); the warning is attributed to importlib, not to rasa.*.
pytestmark = pytest.mark.filterwarnings(
    r"ignore:the load_module\(\) method is deprecated:DeprecationWarning"
)

NLU_DIR = Path(__file__).resolve().parents[2] / "bot" / "data" / "nlu"
BITEXT_DIR = NLU_DIR / "bitext"

BITEXT_INTENTS = set(intents.BITEXT_INTENTS)
OWN_INTENTS = INTENTS - BITEXT_INTENTS
ENTITIES = {"order_id", "email", "product"}
# Bitext gives ~140-200 per intent and we add >= 15 hand-written ones; ours are hand-written.
MIN_BITEXT_INTENT_EXAMPLES = 150
MIN_OWN_INTENT_EXAMPLES = 40
MIN_SHOPPER_EXAMPLES = 15


def _load(paths: List[str]) -> TrainingData:
    """Load and merge NLU files with Rasa's loader, as ``rasa train`` does."""
    from rasa.shared.importers.utils import training_data_from_paths

    return training_data_from_paths(paths, "en")


def _nlu_files(folder: Path) -> List[str]:
    """The NLU files Rasa finds under ``folder`` (README/LICENSE are skipped)."""
    import rasa.shared.data

    return sorted(rasa.shared.data.get_data_files([str(folder)], rasa.shared.data.is_nlu_file))


@pytest.fixture(scope="module")
def nlu() -> TrainingData:
    """All of bot/data/nlu."""
    return _load(_nlu_files(NLU_DIR))


@pytest.fixture(scope="module")
def shoppers() -> TrainingData:
    """Only the hand-written examples."""
    return _load(_nlu_files(NLU_DIR / "shoppers"))


def _counts(data: TrainingData) -> Dict[str, int]:
    counts: Dict[str, int] = defaultdict(int)
    for message in data.intent_examples:
        counts[message.get("intent")] += 1
    return counts


def _regex(data: TrainingData, name: str) -> re.Pattern[str]:
    patterns = [r["pattern"] for r in data.regex_features if r["name"] == name]
    assert len(patterns) == 1, f"expected one regex named {name}, found {patterns}"
    return re.compile(patterns[0], re.IGNORECASE)


def _extract(data: TrainingData, text: str) -> Dict[str, Set[str]]:
    """Entities Rasa's RegexEntityExtractor (as configured in config.yml) would find."""
    from rasa.nlu.utils.pattern_utils import extract_patterns

    found: Dict[str, Set[str]] = defaultdict(set)
    for pattern in extract_patterns(data, use_only_entities=True, use_word_boundaries=True):
        for match in re.finditer(pattern["pattern"], text, flags=re.IGNORECASE):
            found[pattern["name"]].add(match.group(0))
    return found


def test_exactly_the_intents_of_the_bot(nlu: TrainingData) -> None:
    assert nlu.intents == BITEXT_INTENTS | OWN_INTENTS


def test_every_intent_has_enough_examples(nlu: TrainingData, shoppers: TrainingData) -> None:
    counts, own = _counts(nlu), _counts(shoppers)
    for intent in BITEXT_INTENTS:
        assert counts[intent] >= MIN_BITEXT_INTENT_EXAMPLES, intent
        assert own[intent] >= MIN_SHOPPER_EXAMPLES, intent
    for intent in OWN_INTENTS:
        assert counts[intent] >= MIN_OWN_INTENT_EXAMPLES, intent


def test_entity_annotations_use_only_our_entities(nlu: TrainingData) -> None:
    assert nlu.entities == ENTITIES


def test_order_id_annotations_are_found_by_the_order_id_regex(nlu: TrainingData) -> None:
    pattern = _regex(nlu, "order_id")
    for message in nlu.entity_examples:
        text = message.get("text")
        spans = {(m.start(), m.end()) for m in pattern.finditer(text)}
        for entity in message.get("entities"):
            if entity["entity"] == "order_id":
                assert (entity["start"], entity["end"]) in spans, text


def test_email_and_product_annotations_are_found_by_the_extractor(nlu: TrainingData) -> None:
    email = _regex(nlu, "email")
    lookup = set(build_nlu_data.product_lookup(CATALOGUE))
    for message in nlu.entity_examples:
        for entity in message.get("entities"):
            text = message.get("text")[entity["start"] : entity["end"]]
            if entity["entity"] == "email":
                assert email.fullmatch(text), text
            if entity["entity"] == "product":
                assert text.lower() in lookup, text


def test_no_example_under_two_intents(nlu: TrainingData) -> None:
    intents_of: Dict[str, Set[str]] = defaultdict(set)
    for message in nlu.intent_examples:
        intents_of[" ".join(message.get("text").lower().split())].add(message.get("intent"))
    clashes = {text: intents for text, intents in intents_of.items() if len(intents) > 1}
    assert not clashes


def test_product_lookup_follows_the_catalogue(nlu: TrainingData) -> None:
    tables = [t for t in nlu.lookup_tables if t["name"] == "product"]
    assert len(tables) == 1
    assert tables[0]["elements"] == build_nlu_data.product_lookup(CATALOGUE)
    for name in build_nlu_data.catalogue_product_names(CATALOGUE):
        assert name.lower() in tables[0]["elements"]


def test_product_synonyms_map_to_catalogue_names(nlu: TrainingData) -> None:
    expected = {
        text: name
        for name, texts in build_nlu_data.product_synonyms(CATALOGUE).items()
        for text in texts
    }
    assert nlu.entity_synonyms == expected
    assert nlu.entity_synonyms["running shoes"] == "Trail Running Shoes"
    assert all(text == text.lower() for text in nlu.entity_synonyms)


def test_entities_file_is_what_the_generator_writes() -> None:
    document = build_nlu_data.entities_document(CATALOGUE)
    written = (NLU_DIR / "entities.yml").read_text(encoding="utf-8")
    assert written == build_nlu_data.dump_yaml(document), "rerun scripts/build_nlu_data.py"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1234", "1234"),
        ("it's 1502", "1502"),
        ("#1187", "1187"),
        ("order no. 1502", "1502"),
        ("my order number is 1033", "1033"),
        ("where is purchase00123842?", "00123842"),
        ("order 113542617735902 status", "113542617735902"),
        ("我的订单1234到哪了？", "1234"),
        ("订单123456能取消吗", "123456"),
        ("单号55667", "55667"),
        ("1234号订单怎么还没发货", "1234"),
    ],
)
def test_bare_order_numbers_are_extracted(nlu: TrainingData, text: str, expected: str) -> None:
    assert _extract(nlu, text)["order_id"] == {expected}


@pytest.mark.parametrize(
    "text",
    [
        "it cost $120",
        "paid 120 dollars",
        "12 is too few",
        "the building blocks 500 pcs set",
        "delivered on 12/05/2024",
        "emma.smith1234@example.com",
        "costs 49.99",
        "where is invoice #12588",
        "I want to see my bill 00108",
        "衣服100元太贵了",
        "买了300件",
        "才20块钱",
        "付了¥120",
        "1234abc",
    ],
)
def test_money_dates_and_sizes_are_not_order_numbers(nlu: TrainingData, text: str) -> None:
    assert not _extract(nlu, text)["order_id"]


def test_bare_email_and_products_are_extracted(nlu: TrainingData) -> None:
    assert _extract(nlu, "emma.smith12@example.com")["email"] == {"emma.smith12@example.com"}
    found = _extract(nlu, "my Trail Running Shoes and the espresso machine")["product"]
    assert found == {"Trail Running Shoes", "espresso machine"}
    assert _extract(nlu, "the running shoes")["product"] == {"running shoes"}


def test_bitext_files_carry_licence_and_attribution() -> None:
    assert _nlu_files(BITEXT_DIR), "no converted Bitext files"
    licence = (BITEXT_DIR / "LICENSE.txt").read_text(encoding="utf-8")
    assert "Community Data License Agreement" in licence
    readme = (BITEXT_DIR / "README.md").read_text(encoding="utf-8")
    for needle in (
        build_nlu_data.BITEXT_PUBLISHER,
        build_nlu_data.BITEXT_REPO,
        build_nlu_data.BITEXT_COMMIT,
        build_nlu_data.BITEXT_LICENSE,
        "What we changed",
    ):
        assert needle in readme
    for path in _nlu_files(BITEXT_DIR):
        assert (
            Path(path)
            .read_text(encoding="utf-8")
            .startswith(f"# {build_nlu_data.GENERATED_HEADER}")
        )


def test_bitext_conversion_annotates_and_repairs_order_spans() -> None:
    row = {
        "id": "x",
        "instruction": "I have got to edit order 3707955617, can you help me?",
        "entity_type": "order_id",
        "entity_value": "3707955617",
        "start_offset": "25",
        "end_offset": "37",
    }
    assert build_nlu_data.annotate_row(row) == (
        "I have got to edit order [3707955617](order_id), can you help me?"
    )
    glued = {
        **row,
        "instruction": "cancelling order732201349959",
        "start_offset": "16",
        "end_offset": "28",
        "entity_value": "732201349959",
    }
    assert build_nlu_data.annotate_row(glued) == "cancelling order [732201349959](order_id)"
    other = {**row, "instruction": "add  a  [premium]  account", "entity_type": "account_type"}
    assert build_nlu_data.annotate_row(other) == "add a (premium) account"


def test_bitext_conversion_deduplicates_and_drops_conflicts() -> None:
    def row(text: str, intent: str) -> Dict[str, str]:
        return {
            "id": "x",
            "instruction": text,
            "intent": intent,
            "category": "ORDER",
            "entity_type": "",
            "entity_value": "",
            "start_offset": "",
            "end_offset": "",
        }

    converted = build_nlu_data.convert_bitext(
        [
            row("track my order", "track_order"),
            row("Track  my order", "track_order"),
            row("help", "track_order"),
            row("help", "cancel_order"),
            row("cancel it", "cancel_order"),
        ]
    )
    assert converted == {
        "order": {"cancel_order": ["cancel it"], "track_order": ["track my order"]}
    }


def test_chinese_examples_cover_every_intent_and_match_their_source(nlu: TrainingData) -> None:
    from scripts import build_zh_nlu_data

    zh_file = NLU_DIR / "zh" / "intents.yml"
    expected = build_zh_nlu_data.render(
        build_zh_nlu_data.read_examples(build_zh_nlu_data.SOURCE_FILE)
    )
    assert zh_file.read_text(encoding="utf-8") == expected, "rerun scripts/build_zh_nlu_data.py"
    chinese = _counts(_load([str(zh_file)]))
    assert set(chinese) == nlu.intents
    assert min(chinese.values()) >= 20


def test_chinese_held_out_examples_never_reach_training(nlu: TrainingData) -> None:
    import csv

    from knowledge.language import count_scripts

    held_out_file = NLU_DIR.parents[2] / "nlu" / "data" / "zh" / "intents_heldout.csv"
    with held_out_file.open(encoding="utf-8", newline="") as handle:
        held_out = {row["text"] for row in csv.DictReader(handle)}
    trained = {message.get("text") for message in nlu.intent_examples}
    assert len(held_out) == 350
    # Latin-only replies ("thanks") are also English training examples, legitimately.
    chinese_held_out = {text for text in held_out if count_scripts(text).han}
    assert len(chinese_held_out) > 300
    assert not chinese_held_out & trained
