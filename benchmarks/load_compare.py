"""This bot next to a plain ``rasa init`` bot: same driver, same messages, one run, ratios.

``python -m benchmarks.bench_load --compare [--rows single saturated long think]``
(``make bench-load``) starts this bot's embedded profile exactly as ``make run`` does and the
plain bot of ``benchmarks/plain_rasa.py`` (built and cached once per Rasa version), warms both
up, then measures each chosen row on the plain bot and on this bot one after the other (never at
the same time), all over the REST channel on loopback, this bot without its per-sender rate
limit (the plain bot has none):

* ``single``: one shopper, messages back to back for ``--single-duration`` s: p50.
* ``saturated``: ``--saturated-shoppers`` (32) shoppers back to back: messages answered per
  second and p50.
* ``long``: ``--long-conversations`` conversations of ``--long-turns`` (200) messages each, back
  to back: p50 of the 10 messages around turn 1 (1-10), 50 (46-55) and 200 (191-200).
* ``think``: ``--think-shoppers`` (50) shoppers pausing ``--think-s`` (5) s between messages for
  ``--think-duration`` s: p95 and, on this bot, the integrity check of ``bench_load``.

Every phase ends by itself (deadlines, reply timeouts). The 1-minute load average before each
row is printed beside it: other work on the machine skews both bots.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import os
import signal
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Sequence, Tuple

from benchmarks import bench_load as load
from benchmarks.plain_rasa import (
    plain_bot_dir,
    rasa_version,
    start_plain_rasa,
    stop_plain_rasa,
)

logger = logging.getLogger(__name__)

ROWS = ("single", "saturated", "long", "think")
# Turns of the long conversation whose neighbourhood (10 messages) gives the per-message p50.
LONG_WINDOWS = {1: (1, 10), 50: (46, 55), 200: (191, 200)}
OURS, PLAIN = "this bot", "plain rasa init"
# The per-sender rate limit (10 messages, then 1/s) would answer a long conversation typed back
# to back with 429s; the plain bot has none, so neither does this bot here.
NO_RATE_LIMIT = {"SHOP_RATE_LIMIT_BURST": "1000000", "SHOP_RATE_LIMIT_PER_S": "1000000"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of the comparison mode."""
    parser.add_argument("--compare", action="store_true", help="this bot vs plain `rasa init`")
    parser.add_argument("--rows", nargs="+", choices=ROWS, default=list(ROWS))
    parser.add_argument("--single-duration", type=float, default=20.0)
    parser.add_argument("--saturated-shoppers", type=int, default=32)
    parser.add_argument("--saturated-duration", type=float, default=30.0)
    parser.add_argument("--long-turns", type=int, default=200)
    parser.add_argument("--long-conversations", type=int, default=2)
    parser.add_argument("--think-shoppers", type=int, default=50)
    parser.add_argument("--think-s", type=float, default=5.0)
    parser.add_argument("--think-duration", type=float, default=60.0)
    parser.add_argument(
        "--env",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment of this bot's services (A/B of a setting in one command)",
    )
    parser.add_argument(
        "--py-spy",
        type=Path,
        default=None,
        help="folder: py-spy records this bot's Rasa and action servers during the single row "
        "(and the saturated row, in its subfolder saturated/)",
    )


@dataclass
class Bot:
    """One bot under test: where it answers and what it needs to be checked."""

    name: str
    rasa_url: str
    orders: List[Tuple[int, str]] = field(default_factory=list)
    system: load.System | None = None  # this bot only: tracker and shop databases


@dataclass
class Figure:
    """One measured figure of one bot."""

    value: float
    note: str = ""


def long_messages(order: Tuple[int, str] | None) -> List[Tuple[str, Dict[str, Any]]]:
    """The shopper messages a long conversation cycles through (no hand-over request)."""
    return [m for script in load.scripts(order) for m in script if m[0] != load.ASK_FOR_PERSON]


async def long_conversation(
    bot: Bot, turns: int, reply_timeout_s: float
) -> Tuple[List[float], int, str]:
    """One conversation of ``turns`` messages back to back: latencies, empty replies, sender."""
    import aiohttp

    sender = f"long-{uuid.uuid4().hex[:8]}"
    messages = long_messages(bot.orders[0] if bot.orders else None)
    latencies: List[float] = []
    empty = 0
    async with aiohttp.ClientSession() as http:
        for turn in range(turns):
            text, metadata = messages[turn % len(messages)]
            started = time.perf_counter()
            async with http.post(
                f"{bot.rasa_url}/webhooks/rest/webhook",
                json={"sender": sender, "message": text, "metadata": metadata},
                timeout=aiohttp.ClientTimeout(total=reply_timeout_s),
            ) as response:
                replies = await response.json(content_type=None)
                if response.status != 200:
                    raise RuntimeError(f"HTTP {response.status} at turn {turn + 1}: {replies}")
            latencies.append(time.perf_counter() - started)
            empty += not any(r.get("text") for r in replies or [])
    return latencies, empty, sender


def window_p50(runs: Sequence[Sequence[float]], first: int, last: int) -> float:
    """p50 of the latencies of turns ``first``..``last`` (1-based) over all runs."""
    values = [v for run in runs for v in run[first - 1 : last]]
    return load.percentile(values, 0.5)


def load_average() -> float:
    """The 1-minute load average."""
    return os.getloadavg()[0]


class Comparison:
    """Runs the chosen rows on both bots and collects the figures."""

    def __init__(self, args: argparse.Namespace, bots: Sequence[Bot]) -> None:
        self.args = args
        self.bots = bots
        self.figures: Dict[str, Dict[str, Figure]] = {}
        self.loads: Dict[str, List[float]] = {}
        self.failed = False

    def put(self, row: str, bot: Bot, value: float, note: str = "") -> None:
        """Record one figure and print it at once (a long run shows progress)."""
        self.figures.setdefault(row, {})[bot.name] = Figure(value, note)
        print(f"  {row} | {bot.name}: {value:.1f} {note}", flush=True)

    def each_bot(self, row: str, measure: Callable[[Bot], None]) -> None:
        """Measure ``row`` on every bot in turn, noting the load average before each."""
        for bot in self.bots:
            self.loads.setdefault(row, []).append(load_average())
            measure(bot)

    def single(self, bot: Bot) -> None:
        """One shopper back to back: p50 (ms); py-spy records this bot when asked."""
        recorders = []
        if self.args.py_spy is not None and bot.system is not None:
            recorders = start_py_spy(bot.system, self.args.py_spy)
        results, _, _ = asyncio.run(
            load.drive(
                bot.rasa_url, bot.orders, 1, self.args.single_duration, 0.0, 30.0, rest_only=True
            )
        )
        for recorder in recorders:  # py-spy writes its file on Ctrl-C
            recorder.send_signal(signal.SIGINT)
            recorder.wait(timeout=120)
        self.put("single-shopper p50 (ms)", bot, _ms(results.latencies, 0.5), _errors(results))
        if recorders:
            self.put("single-shopper messages profiled", bot, len(results.latencies))

    def saturated(self, bot: Bot) -> None:
        """N shoppers back to back: throughput and p50; py-spy records this bot when asked
        (into the ``saturated`` folder under the single row's)."""
        recorders = []
        if self.args.py_spy is not None and bot.system is not None:
            recorders = start_py_spy(bot.system, self.args.py_spy / "saturated")
        results, wall, _ = asyncio.run(
            load.drive(
                bot.rasa_url,
                bot.orders,
                self.args.saturated_shoppers,
                self.args.saturated_duration,
                0.0,
                self.args.reply_timeout,
                rest_only=True,
            )
        )
        for recorder in recorders:
            recorder.send_signal(signal.SIGINT)
            recorder.wait(timeout=120)
        shoppers = self.args.saturated_shoppers
        if recorders:
            self.put("saturated messages profiled", bot, len(results.latencies))
        self.put(
            f"{shoppers} shoppers back to back (msg/s)",
            bot,
            len(results.latencies) / wall,
            _errors(results),
        )
        self.put(f"{shoppers} shoppers back to back p50 (ms)", bot, _ms(results.latencies, 0.5))

    def long(self, bot: Bot) -> None:
        """Per-message p50 around turns 1, 50 and 200 of long conversations."""
        runs: List[List[float]] = []
        empty = 0
        for _ in range(self.args.long_conversations):
            latencies, no_text, _ = asyncio.run(
                long_conversation(bot, self.args.long_turns, self.args.reply_timeout)
            )
            runs.append(latencies)
            empty += no_text
        note = f"({empty} replies without text)" if empty else ""
        for turn, (first, last) in LONG_WINDOWS.items():
            if last <= self.args.long_turns:
                value = window_p50(runs, first, last) * 1000
                self.put(f"long conversation, turn {turn} p50 (ms)", bot, value, note)

    def think(self, bot: Bot) -> None:
        """Shoppers with think time: p95, and the integrity check on this bot."""
        results, _, run_id = asyncio.run(
            load.drive(
                bot.rasa_url,
                bot.orders,
                self.args.think_shoppers,
                self.args.think_duration,
                self.args.think_s,
                self.args.reply_timeout,
                rest_only=True,
            )
        )
        note = _errors(results)
        if bot.system is not None:
            load.wait_settled(results, bot.system.tracker_url, run_id)
            checked, problems = load.check_integrity(
                results, bot.system.tracker_url, bot.system.shop_url, run_id
            )
            for problem in problems[:10]:
                print("  integrity:", problem)
            self.failed |= bool(problems)
            note += f" integrity {'ok' if not problems else f'{len(problems)} problems'}"
            note += f" ({checked} conversations)"
        label = f"{self.args.think_shoppers} shoppers, {self.args.think_s:g} s think, p95 (ms)"
        self.put(label, bot, _ms(results.latencies, 0.95), note.strip())

    def run(self) -> None:
        """Every chosen row, in the canonical order."""
        for row in ROWS:
            if row in self.args.rows:
                print(f"row {row} ...", flush=True)
                self.each_bot(row, getattr(self, row))

    def table(self) -> str:
        """The Markdown table: both bots, the ratio, the load average."""
        lines = [
            f"| row | {OURS} | {PLAIN} | ratio (this / plain) | notes |",
            "|---|---|---|---|---|",
        ]
        for row, figures in self.figures.items():
            ours, plain = figures.get(OURS), figures.get(PLAIN)
            ratio = f"{ours.value / plain.value:.2f}x" if ours and plain and plain.value else "-"
            notes = "; ".join(f"{k}: {f.note}" for k, f in figures.items() if f.note)
            lines.append(f"| {row} | {_cell(ours)} | {_cell(plain)} | {ratio} | {notes} |")
        for name in (OURS, PLAIN):
            turns = self.figures.get("long conversation, turn 1 p50 (ms)", {}).get(name)
            last = self.figures.get("long conversation, turn 200 p50 (ms)", {}).get(name)
            if turns and last and turns.value:
                lines.append(f"| {name}: turn 200 / turn 1 | {last.value / turns.value:.2f}x |||")
        loads = ", ".join(
            f"{row} {' / '.join(f'{v:.2f}' for v in vs)}" for row, vs in self.loads.items()
        )
        lines.append(f"\n1-minute load average before each row (plain / this bot): {loads}")
        return "\n".join(lines)


def compare(args: argparse.Namespace) -> int:
    """Start both bots, measure the rows, print the table; 1 when the integrity check fails."""
    from tests.servers import free_port

    started = dt.datetime.now(dt.timezone.utc)
    project = plain_bot_dir()
    with tempfile.TemporaryDirectory(prefix="bench-load-compare-") as tmp:
        print("starting the plain rasa init bot and the embedded profile ...", flush=True)
        plain = start_plain_rasa(project, free_port(), Path(tmp) / "plain-rasa.log")
        try:
            extra = dict(item.split("=", 1) for item in args.env)
            system = load.start_system("embedded", Path(tmp), {**NO_RATE_LIMIT, **extra})
            try:
                orders = load.signed_orders(system)
                bots = [
                    Bot(PLAIN, plain.url, orders),
                    Bot(OURS, system.rasa_url, orders, system),
                ]
                asyncio.run(load.warm_up(system))
                asyncio.run(_warm_plain(plain.url))
                comparison = Comparison(args, bots)
                comparison.run()
            finally:
                load.stop_system(system.process)
        finally:
            stop_plain_rasa(plain.process)
    print(
        f"\nThis bot (embedded profile, 1 Rasa + 1 action server) vs a plain `rasa init` bot, "
        f"Rasa {rasa_version()}, REST on loopback, {os.cpu_count()} CPUs (shared), "
        f"started {started:%Y-%m-%d %H:%M} UTC\n"
    )
    print(comparison.table())
    return 1 if comparison.failed else 0


async def _warm_plain(url: str, messages: int = 20) -> None:
    """A few messages to the plain bot (not measured)."""
    import aiohttp

    async with aiohttp.ClientSession() as http:
        for n in range(messages):
            text = long_messages(None)[n % len(long_messages(None))][0]
            async with http.post(
                f"{url}/webhooks/rest/webhook", json={"sender": f"warmup-{n % 4}", "message": text}
            ) as response:
                await response.read()


def service_pids(system: load.System) -> Dict[str, int]:
    """Process ids of this bot's Rasa server and action server (descendants of the launcher)."""
    patterns = {
        "rasa": ("rasa run --enable-api",),
        "actions": ("rasa run actions", "rasa_sdk --actions"),
    }
    pids: Dict[str, int] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or not _descends_from(int(proc.name), system.process.pid):
            continue
        try:
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        for name, candidates in patterns.items():
            if any(c in command for c in candidates) and name not in pids:
                pids[name] = int(proc.name)
    return pids


def _descends_from(pid: int, ancestor: int) -> bool:
    """Whether ``ancestor`` is ``pid``'s parent, grandparent, ... (Linux /proc)."""
    while pid > 1:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return False
        pid = int(stat.rsplit(")", 1)[1].split()[1])
        if pid == ancestor:
            return True
    return False


def start_py_spy(system: load.System, folder: Path, rate: int = 100) -> List[Any]:
    """py-spy recording each server's stacks (wall time, per thread, collapsed) until Ctrl-C."""
    import shutil
    import subprocess
    import sys

    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    folder.mkdir(parents=True, exist_ok=True)
    recorders = []
    pids = service_pids(system)
    if set(pids) != {"rasa", "actions"}:
        raise RuntimeError(f"py-spy: found only {pids} among the launcher's processes")
    for name, pid in pids.items():
        command = [py_spy, "record", "--pid", str(pid), "--rate", str(rate), "--format", "raw"]
        command += ["--idle", "--threads", "--nonblocking", "-o", str(folder / f"{name}.txt")]
        recorders.append(subprocess.Popen(command, stdout=subprocess.DEVNULL))
    time.sleep(2.0)  # py-spy attaches
    return recorders


def _ms(values: Sequence[float], share: float) -> float:
    return load.percentile(values, share) * 1000


def _errors(results: load.Results) -> str:
    if not results.errors:
        return ""
    return "errors " + ", ".join(f"{k} {v}" for k, v in sorted(results.errors.items()))


def _cell(figure: Figure | None) -> str:
    return "-" if figure is None else f"{figure.value:.1f}"
