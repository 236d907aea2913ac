"""Where one turn's time goes: py-spy samples of the Rasa and action servers, by part.

``python -m benchmarks.bench_load --compare --rows single --py-spy var/bench/profile`` records
both servers of this bot (``py-spy record --idle --threads --format raw``) while one shopper
talks back to back; then ``python -m benchmarks.turn_profile var/bench/profile --messages N``
(N: the messages the single row answered, printed by the run) prints, per server, the
milliseconds per message of each part: NLU, each policy, each action-server call (building the
request, waiting for the answer), tracker store load and save, event broker, and the rest.

A sample whose innermost frame waits (``IDLE``) counts as waiting; any other counts for the first
part in ``RASA_PARTS`` / ``ACTION_PARTS`` whose pattern occurs in its stack. The recording is wall
time (``--idle``), so the Rasa server's main thread adds up to the whole reply; its idle samples
are where it waits for the action server or the client.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

logger = logging.getLogger(__name__)

# (part, pattern in the semicolon-joined stack); the first match wins.
RASA_PARTS: List[Tuple[str, str]] = [
    ("event broker", "rasa_broker.py"),
    ("tracker store: save", "tracker_window.py:save"),
    ("tracker store: save", "tracker_store.py:save"),
    ("tracker store: load", "tracker_window.py:retrieve"),
    ("tracker store: load", "tracker_store.py:retrieve"),
    ("tracker store: load", "tracker_store.py:_retrieve"),
    ("tracker store: other", "tracker_store.py"),
    ("NLU (parse_message)", "processor.py:parse_message"),
    ("NLU (parse_message)", "processor.py:_parse_message_with_graph"),
    ("policy: MemoizationPolicy", "memoization.py"),
    ("policy: RulePolicy", "rule_policy.py"),
    ("policy: TEDPolicy", "ted_policy.py"),
    ("policy: HandoffPolicy", "handoff_policy.py"),
    ("policies: ensemble, featurizing", "predict_next_with_tracker"),
    ("policies: ensemble, featurizing", "_predict_next_with_tracker"),
    ("policies: ensemble, featurizing", "processor.py:predict_next_action"),
    ("action call: action_extract_slots (custom mapping)", "action.py:_run_custom_action"),
    ("action call: building the request", "action.py:_action_call_format"),
    ("action call: other", "action.py:run"),
    ("responses (NLG)", "nlg/"),
    ("channel: message handling", "channels/"),
]
ACTION_PARTS: List[Tuple[str, str]] = [
    ("record turn (background writer thread)", "store_turn"),
    ("hand-over assessment", "escalation.py"),
    ("record turn (request side)", "record_turn.py"),
    ("answering actions (shop, FAQ)", "actions/"),
    ("rasa_sdk: request, tracker, response", "rasa_sdk/executor.py"),
    ("rasa_sdk: request, tracker, response", "rasa_sdk/endpoint.py"),
]
# A sample whose innermost frame is one of these waits (the event loop runs in uvloop's C code,
# so an idle Sanic loop shows as its ``serve`` frame).
IDLE = re.compile(
    r"(selectors\.py:select|threading\.py:wait|queue\.py:get|sanic/server/runners\.py:serve"
    r"|thread\.py:_worker$)"
)
WAITING = "waiting (action server, client, I/O)"
MAIN_THREAD = re.compile(r"MainThread|run_forever|run_until_complete")


def read_stacks(path: Path) -> Counter[str]:
    """``stack -> samples`` of a py-spy raw (collapsed) file."""
    stacks: Counter[str] = Counter()
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks[_normalise(stack)] += int(count)
    return stacks


def _normalise(stack: str) -> str:
    """``func (path/file.py:12)`` frames as ``path/file.py:func`` (what the patterns match)."""
    return ";".join(
        re.sub(r"^(.*?) \((.*?)(?::\d+)?\)$", r"\2:\1", frame) for frame in stack.split(";")
    )


def breakdown(
    stacks: Counter[str], parts: Sequence[Tuple[str, str]], main_only: bool
) -> Dict[str, int]:
    """Samples per part (``idle``, ``other``); only the event-loop thread with ``main_only``."""
    totals: Counter[str] = Counter()
    for stack, samples in stacks.items():
        if main_only and not MAIN_THREAD.search(stack):
            continue
        if IDLE.search(stack.rsplit(";", 1)[-1]):
            totals[WAITING] += samples
            continue
        part = next((name for name, pattern in parts if pattern in stack), None)
        totals[part or "other (Sanic, HTTP, JSON, event loop)"] += samples
    return dict(totals)


def report(folder: Path, messages: int, rate: int) -> str:
    """The Markdown tables of both servers: ms per message and share of each part."""
    lines: List[str] = []
    for name, parts, main_only in (
        ("rasa", RASA_PARTS, True),
        ("actions", ACTION_PARTS, False),
    ):
        path = folder / f"{name}.txt"
        if not path.exists():
            continue
        totals = breakdown(read_stacks(path), parts, main_only)
        total = sum(totals.values()) or 1
        scope = "event-loop thread, wall time" if main_only else "all threads, busy time"
        lines += [
            f"\n{name} server ({scope}), {messages} messages, {rate} samples/s:",
            "| part | ms per message | share |",
            "|---|---|---|",
        ]
        for part, samples in sorted(totals.items(), key=lambda kv: -kv[1]):
            if not main_only and part == WAITING:
                continue
            ms = samples / rate / messages * 1000
            lines.append(f"| {part} | {ms:.1f} | {samples / total:.0%} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the breakdown of a py-spy recording folder."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--messages", type=int, required=True, help="messages in the recording")
    parser.add_argument("--rate", type=int, default=100, help="py-spy samples per second")
    args = parser.parse_args(argv)
    print(report(args.folder, args.messages, args.rate))
    return 0


if __name__ == "__main__":
    sys.exit(main())
