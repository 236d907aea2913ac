"""The side-by-side load benchmark's pure parts: turn windows, py-spy breakdown, process tree."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from benchmarks.load_compare import _descends_from, long_messages, window_p50
from benchmarks.turn_profile import RASA_PARTS, WAITING, breakdown, read_stacks, report


def test_window_p50_takes_the_turns_of_every_run() -> None:
    runs = [[0.1, 0.2, 0.3, 0.4], [0.5, 0.6, 0.7, 0.8]]
    assert window_p50(runs, 1, 1) == 0.1  # turn 1 of both runs: 0.1, 0.5
    assert window_p50(runs, 3, 4) == 0.4  # 0.3, 0.4, 0.7, 0.8


def test_long_conversation_never_asks_for_a_person() -> None:
    texts = [text for text, _ in long_messages((1001, "signed"))]
    assert "I want to talk to a human agent" not in texts
    assert "where is my order 1001?" in texts


def test_breakdown_counts_each_sample_once_and_waiting_by_its_innermost_frame(
    tmp_path: Path,
) -> None:
    main = "thread (1): MainThread;run (sanic/app.py:1);serve (sanic/server/runners.py:2)"
    raw = tmp_path / "rasa.txt"
    raw.write_text(
        f"{main};parse_message (rasa/core/processor.py:3);forward (torch/linear.py:4) 30\n"
        f"{main};_run_custom_action (rasa/core/actions/action.py:5);validate (j.py:6) 10\n"
        f"{main} 50\n"
        "thread (2): writer;wait (threading.py:7) 99\n"
    )
    stacks = read_stacks(raw)
    totals = breakdown(stacks, RASA_PARTS, main_only=True)
    assert totals == {
        "NLU (parse_message)": 30,
        "action call: action_extract_slots (custom mapping)": 10,
        WAITING: 50,
    }
    table = report(tmp_path, messages=10, rate=100)
    assert "| NLU (parse_message) | 30.0 | 33% |" in table  # 30 samples / 100 Hz / 10 messages


def test_descends_from_follows_the_parent_chain() -> None:
    child = subprocess.Popen(["sleep", "5"])
    try:
        assert _descends_from(child.pid, os.getpid())
        assert not _descends_from(os.getpid(), child.pid)
    finally:
        child.kill()
        child.wait()
