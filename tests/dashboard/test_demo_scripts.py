"""Demo traffic scripts: held-out sources only, deterministic, every persona, sane shoppers."""

from __future__ import annotations

import csv
import re
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from insight.demo.corpus import (
    CHAT_HELDOUT,
    CHAT_TRAINING,
    CHURN_CONVERSATIONS,
    DOMAIN_DIR,
    FAQ_PARAPHRASES,
    NLU_TRAINING_DIR,
    CorpusError,
    load_corpus,
)
from insight.demo.scripts import HUMAN_REQUESTS, ORDER_QUESTIONS, PERSONA_WEIGHTS, build_shoppers
from insight.demo.shop_data import ShopData, load_shop_data
from knowledge.settings import PROJECT_ROOT


@pytest.fixture(scope="module")
def corpus() -> Any:
    return load_corpus()


@pytest.fixture()
def shop(session_factory: Any) -> ShopData:
    with session_factory() as session:
        return load_shop_data(session)


def _training_texts() -> set[str]:
    """Every NLU training example and every chat row the BERT component trains on."""
    texts: set[str] = set()
    for path in (PROJECT_ROOT / "bot" / "data" / "nlu").rglob("*.yml"):
        for block in (yaml.safe_load(path.read_text()) or {}).get("nlu", []):
            for line in str(block.get("examples", "")).splitlines():
                text = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", line.strip().lstrip("- "))
                texts.add(text.strip().lower())
    with (PROJECT_ROOT / "nlu" / "data" / "chat_messages.csv").open(newline="") as handle:
        texts.update(row["text"].strip().lower() for row in csv.DictReader(handle))
    return texts


def test_corpus_comes_from_held_out_files(corpus: Any) -> None:
    # Held-out rows minus the few texts that are also NLU training examples ("goodbye").
    assert 100 <= len(corpus.chat) < 114
    assert 130 <= len(corpus.faq_questions) < 139  # the test split only
    assert len(corpus.churn_scripts) == 32  # the churn: true conversations
    training = _training_texts()
    leaked = [u.text for u in corpus.chat if u.text.lower() in training]
    leaked += [q for q in corpus.faq_questions if q.lower() in training]
    leaked += [t for script in corpus.churn_scripts for t in script if t.lower() in training]
    assert leaked == []
    assert any("passing this conversation to a person" in t for t in corpus.handoff_texts)


def test_bad_corpus_files_raise_a_clear_error(tmp_path: Path) -> None:
    for relative in (CHAT_HELDOUT, FAQ_PARAPHRASES, CHURN_CONVERSATIONS, CHAT_TRAINING):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(PROJECT_ROOT / relative, tmp_path / relative)
    for folder in (DOMAIN_DIR, NLU_TRAINING_DIR):
        shutil.copytree(PROJECT_ROOT / folder, tmp_path / folder)
    load_corpus(tmp_path)  # the copy is fine
    path = tmp_path / CHAT_HELDOUT
    path.write_text(path.read_text().replace(",negative,", ",furious,", 1))
    with pytest.raises(CorpusError, match="unknown sentiment 'furious'"):
        load_corpus(tmp_path)
    path.unlink()
    with pytest.raises(CorpusError, match=r"chat_heldout\.csv"):
        load_corpus(tmp_path)


def test_same_seed_same_scripts_other_seed_other_scripts(corpus: Any, shop: ShopData) -> None:
    first = build_shoppers(60, 7, "r1", corpus, shop)
    again = build_shoppers(60, 7, "r1", corpus, shop)
    other = build_shoppers(60, 8, "r1", corpus, shop)
    assert first == again
    assert [s.turns for s in first] != [s.turns for s in other]


def test_shoppers_cover_every_persona_with_real_customers(corpus: Any, shop: ShopData) -> None:
    shoppers = build_shoppers(300, 20240601, "run", corpus, shop)
    assert len({s.sender_id for s in shoppers}) == 300
    assert all(s.sender_id.startswith("demo-run-") for s in shoppers)
    personas = Counter(s.persona for s in shoppers)
    assert set(personas) == set(PERSONA_WEIGHTS)
    signed_in = [s for s in shoppers if s.customer_id is not None]
    assert 0.5 < len(signed_in) / len(shoppers) < 0.85
    # Some customers come back (repeated contact is a churn signal and feeds the segments).
    assert max(Counter(s.customer_id for s in signed_in).values()) > 1
    customers = {c.id: c for c in shop.customers}
    sources = {u.text for u in corpus.chat} | set(corpus.faq_questions) | set(HUMAN_REQUESTS)
    sources |= {t for script in corpus.churn_scripts for t in script}
    for shopper in shoppers:
        assert shopper.turns and all(t.strip() for t in shopper.turns)
        assert 1 <= shopper.rating <= 5
        if shopper.persona == "order":
            assert shopper.customer_id is not None
            orders = customers[shopper.customer_id].order_ids
            asked = re.search(r"order (\d+)", shopper.turns[0])
            assert asked and int(asked[1]) in orders
            continue
        for turn in shopper.turns:
            text = re.sub(r"^about the [^,]+, ", "", turn)
            assert text in sources, turn
    assert any(t in HUMAN_REQUESTS for s in shoppers for t in s.turns)
    assert all(q.format(order_id=1) for q in ORDER_QUESTIONS)


def test_product_mentions_name_catalogue_products(corpus: Any, shop: ShopData) -> None:
    shoppers = build_shoppers(200, 3, "p", corpus, shop)
    names = {n.lower() for n in shop.product_names}
    mentioned = [
        m[1] for s in shoppers for t in s.turns if (m := re.match(r"^about the ([^,]+), ", t))
    ]
    assert len(mentioned) > 20
    assert set(mentioned) <= names


def test_count_must_be_positive(corpus: Any, shop: ShopData) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        build_shoppers(0, 1, "x", corpus, shop)
