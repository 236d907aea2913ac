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
