"""Shopper journey completion: the journeys of ``tests/bot/journeys.yml`` over REST, end to end.

``python -m benchmarks journeys`` seeds a temporary shop, starts the real action server and Rasa
server with the newest model in ``models/`` (``make train``), plays every journey once
(``tests/bot/journeys.py``, the runner ``tests/bot/test_journeys.py`` uses too) and prints each
journey's result and the completion rate: the share of journeys whose every reply and database
check held (issue 17's target: at least 95 %).
"""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.trained import latest_model
from tests.bot.journeys import load_journeys, run_all, serve_bot

logger = logging.getLogger(__name__)

TARGET = 0.95


def run(args: Any) -> None:
    """Play every journey and print the completion rate by language and shopper."""
    model = latest_model()
    if model is None:
        print("SKIP bench_journeys: no trained model in models/ (run make train)")
        return
    journeys = load_journeys()
    print(f"model {model.name}, {len(journeys)} journeys")
    with tempfile.TemporaryDirectory(prefix="bench-journeys-") as tmp:
        start = time.perf_counter()
        with serve_bot(Path(tmp), model) as bot:
            print(f"servers up in {time.perf_counter() - start:.0f}s")
            results = run_all(bot, journeys, run_id=f"bench{int(time.time())}")
    groups: dict[str, list[bool]] = {}
    for journey, result in zip(journeys, results, strict=True):
        mark = "ok  " if result.passed else "FAIL"
        print(f"{mark} {result.id}" + ("" if result.passed else f": {result.failures[0]}"))
        key = f"{journey.get('language', 'en')} {journey.get('shopper', 'guest')}"
        groups.setdefault(key, []).append(result.passed)
    for key, passed in sorted(groups.items()):
        print(f"{key:14} {sum(passed):3}/{len(passed):<3} = {sum(passed) / len(passed):.1%}")
    done = sum(r.passed for r in results)
    rate = done / len(results)
    verdict = "meets" if rate >= TARGET else "below"
    print(f"journey completion {done}/{len(results)} = {rate:.1%} ({verdict} target {TARGET:.0%})")
