"""Fixtures for NLU component tests: a tiny random BERT with a locally built WordPiece vocab."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Dict, List

import pytest

logger = logging.getLogger(__name__)

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDS = (  # noqa: SIM905 (a word list reads better as text)
    "i my me the a an is it to and of for on in where when how can you please want need "
    "order orders cancel refund money back track parcel package delivery late arrived "
    "hello hi hey good morning bye goodbye see thanks thank great love terrible awful "
    "bad broken price expensive size small large quality shirt shoes phone return "
    "account password payment card nobody answers support weeks days still not"
).split()
CHARACTERS = list("abcdefghijklmnopqrstuvwxyz0123456789.,!?'")


def shared_data_dir() -> Path:
    """<repo>/../shared/data or $SHOP_SHARED_DATA (tests may read it; the product may not)."""
    configured = os.environ.get("SHOP_SHARED_DATA")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[2].parent / "shared" / "data"


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random 2-layer, 32-wide BERT and its WordPiece tokenizer, saved like a HF model."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizer

    directory = tmp_path_factory.mktemp("tiny-bert")
    vocab: Dict[str, int] = {}
    for token in SPECIAL_TOKENS + CHARACTERS + [f"##{c}" for c in CHARACTERS] + WORDS:
        vocab.setdefault(token, len(vocab))
    tokenizer = BertTokenizer(vocab=vocab, do_lower_case=True)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    torch.manual_seed(0)
    BertModel(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


INTENT_EXAMPLES: Dict[str, List[str]] = {
    "greet": ["hello", "hi", "hey", "good morning", "hello there", "hi you", "hey hello"],
    "goodbye": ["bye", "goodbye", "see you", "bye bye", "goodbye then", "see you soon", "bye now"],
    "track_order": [
        "where is my order",
        "track my parcel",
        "where is my package",
        "track order please",
        "when is my delivery",
        "how can i track my order",
        "my parcel is late",
    ],
}
