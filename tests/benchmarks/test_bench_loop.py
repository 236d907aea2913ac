"""The loop benchmark's parts that need no trained model: misreads, the halves, the export
through the inbox's path (dev texts in, eval texts out), and the retrain report's diff."""

from __future__ import annotations

from pathlib import Path

from benchmarks.bench_loop import export_through_inbox, misreads, split_halves
from benchmarks.bench_shoppers import ShopperMessage, read_split
from benchmarks.shoppers_diff import diff_lines
from insight.analytics.training_export import normalise


def message(text: str, intent: str) -> ShopperMessage:
    return ShopperMessage(text, intent, "neutral", frozenset(), False)


def parse(intent: str) -> dict:
    return {"intent": {"name": intent, "confidence": 0.9}}


def test_misreads_count_fallback_as_out_of_scope_and_halves_alternate_per_intent() -> None:
    rows = [
        ("en", message("a", "track_order")),
        ("en", message("b", "track_order")),
        ("en", message("c", "out_of_scope")),
        ("en", message("d", "complaint")),
        ("zh", message("e", "track_order")),
    ]
    parses = [parse("cancel_order"), parse("get_refund"), parse("nlu_fallback"), parse("complaint"),
              parse("greet")]  # fmt: skip
    wrong = misreads(rows, parses)
    assert [m.text for _, m in wrong] == ["a", "b", "e"]
    corrected, held = split_halves(wrong)
    assert [m.text for _, m in corrected] == ["a", "e"]
    assert [m.text for _, m in held] == ["b"]


def test_the_export_path_keeps_dev_texts_and_drops_eval_texts(tmp_path: Path) -> None:
    dev = [("en", m) for m in read_split("dev", "en")[:5]]
    dev += [("zh", m) for m in read_split("dev", "zh")[:5]]
    frozen = read_split("eval", "en")[0]
    path = export_through_inbox([*dev, ("en", frozen)], tmp_path)

    from rasa.shared.nlu.training_data.loading import load_data

    loaded = {
        normalise(m.get("text")): m.get("intent") for m in load_data(str(path)).intent_examples
    }
    assert normalise(frozen.text) not in loaded
    assert all(loaded[normalise(m.text)] == m.intent for _, m in dev if normalise(m.text) in loaded)
    assert len(loaded) >= 8  # at most a duplicate or two of existing training examples


def test_the_retrain_diff_names_each_change() -> None:
    before = {"model": "a", "figures": {"en": {"intent_accuracy": 0.5}}}
    after = {"model": "b", "split": "eval", "figures": {"en": {"intent_accuracy": 0.75}}}
    lines = diff_lines(before, after)
    assert lines[0] == "model a -> b (split eval)"
    assert "0.500 ->    0.750 (+0.250)" in lines[1]


def test_bitext_2020_pool_keeps_chat_like_rows_of_known_intents_never_trained(
    tmp_path: Path, monkeypatch
) -> None:
    import csv

    from benchmarks.bench_loop import bitext_2020_pool, message_pool
    from insight.analytics.training_export import training_intents

    trained_text = next(iter(training_intents(Path("bot/data/nlu"))))
    folder = tmp_path / "bitext_customer_support_2020"
    folder.mkdir()
    rows = [
        ("b-1", "where is my ordr plz", "track_order", "BQZ"),  # kept
        ("b-2", "Where is my order?", "track_order", "BI"),  # not chat-like
        ("b-3", "my bloody refund??", "get_refund", "W"),  # kept
        ("b-4", "gimme a quote", "get_quote", "Q"),  # intent the bot lacks
        ("b-5", trained_text, "track_order", "Q"),  # a training text
    ]
    with (folder / "utterances.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "utterance", "intent", "intent_original", "category", "flags"])
        writer.writerows([(i, t, n, n, "X", f) for i, t, n, f in rows])
    monkeypatch.setenv("SHOP_SHARED_DATA", str(tmp_path))
    pool = bitext_2020_pool(10, ["track_order", "get_refund"])
    assert sorted(m.text for _, m in pool) == ["my bloody refund??", "where is my ordr plz"]
    assert {lang for lang, _ in pool} == {"en"}
    assert len(bitext_2020_pool(1, ["track_order", "get_refund"])) == 1
    monkeypatch.setenv("BENCH_LOOP_POOL", "bitext2020")
    assert len(message_pool(["track_order", "get_refund"])) == 2
    monkeypatch.setenv("BENCH_LOOP_POOL", "dev")
    assert len(message_pool([])) == len(read_split("dev", "en")) + len(read_split("dev", "zh"))
