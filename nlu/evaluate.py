"""``python -m nlu.evaluate --model models --csv FILE``: score a trained Rasa model on a CSV.

Reports accuracy, per-class precision/recall/F1, macro averages and the most frequent confusions
for whichever of the intent, sentiment and demands columns the CSV has (demands: `;`-separated
aspects, scored as multi-label with micro and macro F1). Default CSV: the held-out chat messages
(`nlu/data/chat_heldout.csv`), never used for training.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import logging
import sys
from pathlib import Path
from typing import Any, Dict, List, Sequence, Set

from nlu.metrics import multilabel_report, per_class_report, top_confusions
from nlu.output_keys import DEMANDS, SENTIMENT
from nlu.task_data import DEMAND_SEPARATOR

logger = logging.getLogger(__name__)

DEFAULT_CSV = Path(__file__).resolve().parent / "data" / "chat_heldout.csv"


def resolve_model(path: Path) -> Path:
    """A model archive as given, or the newest `*.tar.gz` in a directory."""
    if path.is_file():
        return path
    archives = sorted(path.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not archives:
        raise FileNotFoundError(f"no trained model (*.tar.gz) in {path}; run `make train` first")
    return archives[-1]


def parse_texts(model_path: Path, texts: Sequence[str]) -> List[Dict[str, Any]]:
    """Rasa's parse result for each text, through the trained model's NLU graph."""
    from rasa.core.agent import Agent

    agent = Agent.load(str(model_path))

    async def parse_all() -> List[Dict[str, Any]]:
        return [await agent.parse_message(text) for text in texts]

    return asyncio.run(parse_all())


def read_rows(path: Path) -> List[Dict[str, str]]:
    """CSV rows as dictionaries."""
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def split_demands(value: str | None) -> Set[str]:
    """`a;b` → {"a", "b"}; empty → empty set."""
    return {v.strip() for v in (value or "").split(DEMAND_SEPARATOR) if v.strip()}


def score(
    rows: Sequence[Dict[str, str]],
    parses: Sequence[Dict[str, Any]],
    intent_column: str | None,
    sentiment_column: str | None,
    demands_column: str | None,
) -> Dict[str, Any]:
    """Reports per task for the columns present; rows with an empty gold cell are skipped."""
    results: Dict[str, Any] = {}
    if intent_column:
        pairs = [
            (row[intent_column], (parse.get("intent") or {}).get("name"))
            for row, parse in zip(rows, parses, strict=False)
            if row.get(intent_column)
        ]
        results["intent"] = _single_label(pairs)
    if sentiment_column:
        pairs = [
            (row[sentiment_column], (parse.get(SENTIMENT) or {}).get("label"))
            for row, parse in zip(rows, parses, strict=False)
            if row.get(sentiment_column)
        ]
        results["sentiment"] = _single_label(pairs)
    if demands_column:
        gold = [split_demands(row.get(demands_column)) for row in rows]
        predicted = [{d["aspect"] for d in parse.get(DEMANDS) or []} for parse in parses]
        results["demands"] = {"report": multilabel_report(gold, predicted), "n": len(rows)}
    return results


def _single_label(pairs: Sequence[Any]) -> Dict[str, Any]:
    gold = [g for g, _ in pairs]
    predicted = [str(p) for _, p in pairs]
    return {
        "report": per_class_report(gold, predicted),
        "confusions": top_confusions(gold, predicted),
        "n": len(pairs),
    }


def format_report(results: Dict[str, Any]) -> str:
    """Human-readable tables of `score`'s output."""
    lines: List[str] = []
    for task, result in results.items():
        report = result["report"]
        lines.append(f"\n== {task} (n={result['n']})")
        lines.append(f"{'class':<32}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>9}")
        summary_rows = ("macro", "micro", "accuracy", "exact_match")
        for name, row in report.items():
            if name in summary_rows:
                continue
            lines.append(
                f"{name:<32}{row['precision']:>10.3f}{row['recall']:>10.3f}"
                f"{row['f1']:>10.3f}{int(row['support']):>9d}"
            )
        for name in ("micro", "macro"):
            if name in report:
                row = report[name]
                lines.append(
                    f"{name + ' avg':<32}{row['precision']:>10.3f}{row['recall']:>10.3f}"
                    f"{row['f1']:>10.3f}"
                )
        for name in ("accuracy", "exact_match"):
            if name in report:
                lines.append(f"{name:<32}{report[name]['accuracy']:>10.3f}")
        if result.get("confusions"):
            lines.append("top confusions (gold -> predicted: count)")
            lines.extend(f"  {g} -> {p}: {c}" for g, p, c in result["confusions"])
    return "\n".join(lines)


def main(argv: List[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m nlu.evaluate", description=__doc__)
    parser.add_argument("--model", type=Path, default=Path("models"), help="archive or folder")
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV, help="labelled CSV file")
    parser.add_argument("--text-column", default="text")
    parser.add_argument("--intent-column", default="intent")
    parser.add_argument("--sentiment-column", default="sentiment")
    parser.add_argument("--demands-column", default="demands")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    rows = read_rows(args.csv)
    if not rows:
        parser.error(f"{args.csv} has no rows")
    columns = set(rows[0])
    if args.text_column not in columns:
        parser.error(f"{args.csv} has no text column {args.text_column!r}: {sorted(columns)}")
    present = {
        name: column if column in columns else None
        for name, column in (
            ("intent", args.intent_column),
            ("sentiment", args.sentiment_column),
            ("demands", args.demands_column),
        )
    }
    if not any(present.values()):
        parser.error(f"{args.csv} has none of the label columns {sorted(present)}")
    model = resolve_model(args.model)
    print(f"model {model}\ndata  {args.csv} ({len(rows)} rows)")
    parses = parse_texts(model, [row[args.text_column] for row in rows])
    results = score(rows, parses, present["intent"], present["sentiment"], present["demands"])
    print(format_report(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
