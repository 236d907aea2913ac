"""Which epoch training keeps: the intent head's validation accuracy first."""

from __future__ import annotations

from nlu.training import selection_key


def test_better_intent_accuracy_wins_over_a_better_mean() -> None:
    # BANKING77, 2026-12-06: epoch 2 had the better mean only through its demand F1.
    epoch_2 = {"intent_accuracy": 0.9182, "demand_micro_f1": 0.7342, "score": 0.8135}
    epoch_3 = {"intent_accuracy": 0.9311, "demand_micro_f1": 0.7285, "score": 0.8082}
    assert selection_key(epoch_3) > selection_key(epoch_2)


def test_the_mean_decides_between_equal_intent_accuracies() -> None:
    first = {"intent_accuracy": 0.93114, "score": 0.80}
    second = {"intent_accuracy": 0.93096, "score": 0.82}
    assert selection_key(second) > selection_key(first)


def test_without_intent_rows_the_mean_ranks() -> None:
    assert selection_key({"score": 0.7}) > selection_key({"score": 0.6})
