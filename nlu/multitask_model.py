"""The shared-encoder model behind IntentSentimentClassifier, and its inference stages.

Stages follow transformers' pipelines: `preprocess` (truncate, tokenize), `forward` (batched,
`torch.inference_mode`, device and autocast), and postprocess in `nlu.postprocess` (pure numpy).
Only code paths that run the model import this module, so torch/transformers load lazily.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Sequence, Tuple

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn
from transformers import AutoConfig, AutoModel, AutoTokenizer, PreTrainedTokenizerBase

from nlu.device import DevicePlan, autocast_dtype
from nlu.lexical_features import INDICES, OFFSETS, WEIGHTS, LexicalConfig, LexicalHasher

logger = logging.getLogger(__name__)

ENCODER_DIR = "encoder"
HEADS_FILE = "heads.safetensors"
# Prefix of the lexical layer's tensors inside HEADS_FILE.
LEXICAL_PREFIX = "lexical."
# The optional hand-over head (two classes: stay with the bot, go to a person).
HANDOFF_HEAD = "handoff"
HANDOFF_CLASSES = 2
# Key of the mean-pooled sentence embedding among the forward outputs (not a head).
EMBEDDING = "embedding"
# Texts longer than this many characters per allowed token are cut before tokenizing, so a
# pasted novel cannot stall the tokenizer; the token limit does the precise truncation.
CHARS_PER_TOKEN_CAP = 12


class LexicalLayer(nn.Module):
    """A sparse linear layer over hashed n-grams (`nlu.lexical_features`): logits for every
    head, zero-initialised so that n-grams never seen in training add nothing."""

    def __init__(self, config: LexicalConfig, n_outputs: int) -> None:
        """`n_outputs` = the heads' output sizes summed (split again by MultiTaskModel)."""
        super().__init__()
        self.bag = nn.EmbeddingBag(config.n_features, n_outputs, mode="sum")
        nn.init.zeros_(self.bag.weight)

    def forward(
        self, indices: torch.Tensor, offsets: torch.Tensor, weights: torch.Tensor
    ) -> torch.Tensor:
        """(batch, n_outputs) logits; a text without any n-gram gets zeros."""
        return self.bag(indices, offsets, per_sample_weights=weights)


def split_lexical(
    tensors: Dict[str, torch.Tensor],
) -> Tuple[Dict[str, torch.Tensor], Tuple[torch.Tensor, ...] | None]:
    """The tokenizer's tensors, and the lexical (indices, offsets, weights) or None."""
    rest = {k: v for k, v in tensors.items() if k not in (INDICES, OFFSETS, WEIGHTS)}
    if INDICES not in tensors:
        return rest, None
    return rest, (tensors[INDICES], tensors[OFFSETS], tensors[WEIGHTS])


class MultiTaskModel(nn.Module):
    """A BERT-style encoder, mean pooling, and three linear heads (intent, sentiment, demands),
    optionally a fourth (hand-over); optionally a sparse layer over hashed n-grams
    (`nlu.lexical_features`) that adds its logits to every head's."""

    encoder: Any  # a transformers PreTrainedModel (config, save_pretrained, embeddings, ...)

    def __init__(
        self,
        encoder: Any,
        n_intents: int,
        n_sentiments: int,
        n_aspects: int,
        lexical: LexicalConfig | None = None,
        handoff: bool = False,
    ) -> None:
        """Wrap `encoder` and add freshly initialised heads of the given sizes."""
        super().__init__()
        self.encoder = encoder
        hidden = int(encoder.config.hidden_size)
        self.dropout = nn.Dropout(float(getattr(encoder.config, "hidden_dropout_prob", 0.1)))
        self.head_sizes = {"intent": n_intents, "sentiment": n_sentiments, "demands": n_aspects}
        if handoff:
            self.head_sizes[HANDOFF_HEAD] = HANDOFF_CLASSES
        self.heads = nn.ModuleDict(
            {name: nn.Linear(hidden, size) for name, size in self.head_sizes.items()}
        )
        self.lexical = (
            None if lexical is None else LexicalLayer(lexical, sum(self.head_sizes.values()))
        )
        self.hasher = None if lexical is None else LexicalHasher(lexical)

    def forward(self, **encoded: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Logits of every head for a batch from :func:`encode_batch`, and under ``EMBEDDING``
        the mean-pooled sentence embedding (before dropout)."""
        tensors, lexical_inputs = split_lexical(encoded)
        # float32 whatever the encoder's weights (a bfloat16 serving encoder: nlu.device).
        hidden = self.encoder(**tensors).last_hidden_state.float()
        mask = tensors["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        embedding = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
        pooled = self.dropout(embedding)
        logits = {name: head(pooled) for name, head in self.heads.items()}
        if self.lexical is not None:
            if lexical_inputs is None:
                raise ValueError(
                    "this model uses lexical features: encode batches with encode_batch"
                )
            lexical = self.lexical(*lexical_inputs).to(pooled.dtype)
            parts = torch.split(lexical, list(self.head_sizes.values()), dim=1)
            pairs = zip(self.head_sizes, parts, strict=True)
            logits = {name: logits[name] + part for name, part in pairs}
        logits[EMBEDDING] = embedding
        return logits

    def freeze(self, embeddings: bool, n_layers: int) -> None:
        """Stop training the embeddings and/or the lowest `n_layers` transformer layers."""
        modules: List[nn.Module] = []
        if embeddings and getattr(self.encoder, "embeddings", None) is not None:
            modules.append(self.encoder.embeddings)
        layers = getattr(getattr(self.encoder, "encoder", None), "layer", None)
        if n_layers > 0 and layers is not None:
            modules.extend(list(layers)[:n_layers])
        for module in modules:
            for parameter in module.parameters():
                parameter.requires_grad_(False)


def load_pretrained(path: Path) -> Tuple[nn.Module, PreTrainedTokenizerBase]:
    """Encoder and tokenizer from a local Hugging Face model directory (never downloads)."""
    if not (path / "config.json").is_file():
        raise FileNotFoundError(
            f"{path} is not a Hugging Face model directory (no config.json); set `model_path` "
            "to a local directory made by save_pretrained, or leave it unset for the bundled "
            "all-MiniLM-L6-v2."
        )
    config = AutoConfig.from_pretrained(path, local_files_only=True)
    # Computed in float32 whatever the stored dtype (the component stores float16 weights).
    encoder = AutoModel.from_pretrained(
        path, config=config, local_files_only=True, dtype=torch.float32
    )
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    return encoder, tokenizer


def build_model(
    encoder_path: Path,
    n_intents: int,
    n_sentiments: int,
    n_aspects: int,
    lexical: LexicalConfig | None = None,
    handoff: bool = False,
) -> Tuple[MultiTaskModel, PreTrainedTokenizerBase]:
    """A new model on top of the pretrained encoder at `encoder_path`."""
    encoder, tokenizer = load_pretrained(encoder_path)
    model = MultiTaskModel(encoder, n_intents, n_sentiments, n_aspects, lexical, handoff)
    return model, tokenizer


def save_model(
    model: MultiTaskModel,
    tokenizer: PreTrainedTokenizerBase,
    directory: Path,
    half_precision: bool = False,
) -> None:
    """Encoder + tokenizer via save_pretrained (safetensors), heads as one safetensors file.

    `half_precision` stores the encoder's weights as float16 (half the archive, and half the
    time Rasa spends gzipping it); :func:`load_pretrained` computes in float32 again.
    """
    encoder_dir = directory / ENCODER_DIR
    kwargs: Dict[str, Any] = {}
    if "safe_serialization" in inspect.signature(model.encoder.save_pretrained).parameters:
        kwargs["safe_serialization"] = True  # transformers < 5; 5.x always writes safetensors
    if half_precision:
        state = model.encoder.state_dict()
        with torch.no_grad():
            for tensor in state.values():
                if tensor.is_floating_point():
                    # Round in place too, so the trained model predicts exactly as it loads.
                    tensor.copy_(tensor.to(torch.float16).to(tensor.dtype))
        kwargs["state_dict"] = {
            key: value.detach().to("cpu", torch.float16)
            if value.is_floating_point()
            else value.detach().to("cpu")
            for key, value in state.items()
        }
    model.encoder.save_pretrained(encoder_dir, **kwargs)
    tokenizer.save_pretrained(encoder_dir)
    heads = {
        key: tensor.detach().to("cpu").contiguous()
        for key, tensor in model.heads.state_dict().items()
    }
    if model.lexical is not None:
        for key, tensor in model.lexical.state_dict().items():
            heads[LEXICAL_PREFIX + key] = tensor.detach().to("cpu").contiguous()
    save_file(heads, str(directory / HEADS_FILE))


def load_model(
    directory: Path,
    n_intents: int,
    n_sentiments: int,
    n_aspects: int,
    lexical: LexicalConfig | None = None,
) -> Tuple[MultiTaskModel, PreTrainedTokenizerBase]:
    """The model `save_model` wrote, in eval mode on CPU (with the hand-over head if stored)."""
    stored = load_file(str(directory / HEADS_FILE))
    handoff = f"{HANDOFF_HEAD}.weight" in stored
    model, tokenizer = build_model(
        directory / ENCODER_DIR, n_intents, n_sentiments, n_aspects, lexical, handoff
    )
    model.heads.load_state_dict(
        {k: v for k, v in stored.items() if not k.startswith(LEXICAL_PREFIX)}
    )
    if model.lexical is not None:
        model.lexical.load_state_dict(
            {k[len(LEXICAL_PREFIX) :]: v for k, v in stored.items() if k.startswith(LEXICAL_PREFIX)}
        )
    model.eval()
    return model, tokenizer


def write_json(path: Path, data: Dict[str, Any]) -> None:
    """Pretty JSON, UTF-8."""
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")


def read_json(path: Path) -> Dict[str, Any]:
    """JSON written by write_json."""
    return json.loads(path.read_text(encoding="utf-8"))


@dataclass
class Encoded:
    """A tokenized batch and, per text, whether it was truncated."""

    tensors: Dict[str, torch.Tensor]
    truncated: List[bool]


def cap_characters(texts: Sequence[str], max_seq_length: int) -> List[str]:
    """`texts` cut to CHARS_PER_TOKEN_CAP characters per allowed token (before any tokenizing or
    hashing)."""
    char_cap = max_seq_length * CHARS_PER_TOKEN_CAP
    return [text[:char_cap] for text in texts]


def preprocess(
    texts: Sequence[str], tokenizer: PreTrainedTokenizerBase, max_seq_length: int
) -> Encoded:
    """Cap, tokenize, truncate to `max_seq_length` tokens and pad one batch."""
    capped = cap_characters(texts, max_seq_length)
    fast = bool(getattr(tokenizer, "is_fast", False))
    encoded = tokenizer(
        capped,
        truncation=True,
        max_length=max_seq_length,
        padding=True,
        return_tensors="pt",
        return_offsets_mapping=fast,
    )
    truncated = []
    offsets = encoded.pop("offset_mapping", None)
    for row, (original, text) in enumerate(zip(texts, capped, strict=False)):
        if len(original) > len(text):
            truncated.append(True)
        elif offsets is not None:
            last_end = int(offsets[row, :, 1].max())
            truncated.append(last_end < len(text.rstrip()))
        else:
            truncated.append(int(encoded["attention_mask"][row].sum()) >= max_seq_length)
    return Encoded(dict(encoded), truncated)


def encode_batch(
    model: MultiTaskModel,
    tokenizer: PreTrainedTokenizerBase,
    texts: Sequence[str],
    max_seq_length: int,
) -> Encoded:
    """:func:`preprocess`, plus the hashed n-gram features when the model uses them (of the
    text up to the same character cap, so a huge message costs no more than a long one)."""
    encoded = preprocess(texts, tokenizer, max_seq_length)
    if model.hasher is not None:
        features = model.hasher.transform(cap_characters(texts, max_seq_length))
        encoded.tensors.update({k: torch.from_numpy(v) for k, v in features.items()})
    return encoded


def autocast_context(plan: DevicePlan) -> contextlib.AbstractContextManager:
    """CUDA autocast when the plan uses mixed precision, else a no-op."""
    if plan.mixed_precision and plan.device == "cuda":
        return torch.autocast(device_type="cuda", dtype=autocast_dtype())  # type: ignore[arg-type]
    return contextlib.nullcontext()


def forward(model: MultiTaskModel, encoded: Encoded, plan: DevicePlan) -> Dict[str, np.ndarray]:
    """Logits of every head as float32 numpy arrays, without autograd."""
    tensors = {key: value.to(plan.device) for key, value in encoded.tensors.items()}
    with torch.inference_mode(), autocast_context(plan):
        logits = model(**tensors)
    return {name: value.float().cpu().numpy() for name, value in logits.items()}


def batches_by_length(texts: Sequence[str], batch_size: int) -> Iterator[List[int]]:
    """Indices of `texts` in batches of similar length (less padding), in a fixed order."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    for start in range(0, len(order), batch_size):
        yield order[start : start + batch_size]


def predict_logits(
    model: MultiTaskModel,
    tokenizer: PreTrainedTokenizerBase,
    texts: Sequence[str],
    max_seq_length: int,
    batch_size: int,
    plan: DevicePlan,
) -> Tuple[Dict[str, np.ndarray], List[bool]]:
    """Logits per head (and the ``EMBEDDING``) for all `texts` (in input order) and per-text
    truncation flags."""
    if model.training:  # eval() walks every submodule: ~2 ms a message when served one by one
        model.eval()
    names = [*model.head_sizes, EMBEDDING]
    outputs: Dict[str, List[np.ndarray]] = {name: [None] * len(texts) for name in names}  # type: ignore[list-item]
    truncated = [False] * len(texts)
    for indices in batches_by_length(texts, batch_size):
        encoded = encode_batch(model, tokenizer, [texts[i] for i in indices], max_seq_length)
        logits = forward(model, encoded, plan)
        for row, index in enumerate(indices):
            truncated[index] = encoded.truncated[row]
            for name in names:
                outputs[name][index] = logits[name][row]
    stacked = {
        name: np.stack(rows) if rows else np.zeros((0, 0), np.float32)
        for name, rows in outputs.items()
    }
    return stacked, truncated
