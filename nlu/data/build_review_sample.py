"""Rebuild `sentiment_reviews.csv` from the shared datasets (developer tool, not run by the bot).

``python -m nlu.data.build_review_sample [--shared DIR]``: a deterministic, stratified sample of
the CC0 Women's E-Commerce Clothing Reviews (3 classes from star ratings) and of the CC BY 4.0
UCI Sentiment Labelled Sentences (amazon part, 2 classes). See SOURCES.md.
"""

from __future__ import annotations

import argparse
import csv
import logging
import os
import random
from pathlib import Path
from typing import Dict, List

logger = logging.getLogger(__name__)

SEED = 20240601
CLOTHING_PER_CLASS = 300
# Only reviews up to this many characters: closer to chat messages and cheaper to train on.
MAX_REVIEW_CHARS = 250
UCI_AMAZON_PER_CLASS = 200
OUTPUT = Path(__file__).resolve().parent / "sentiment_reviews.csv"
COLUMNS = ["text", "sentiment", "source", "source_id"]


def default_shared_dir() -> Path:
    """$SHOP_SHARED_DATA, else <repo>/../shared/data."""
    configured = os.environ.get("SHOP_SHARED_DATA")
    return (
        Path(configured) if configured else Path(__file__).resolve().parents[3] / "shared" / "data"
    )


def _read(path: Path) -> List[Dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _stratified(
    rows: List[Dict[str, str]], key: str, per_class: int, seed: int
) -> List[Dict[str, str]]:
    rng = random.Random(seed)
    chosen: List[Dict[str, str]] = []
    for label in sorted({r[key] for r in rows}):
        group = [r for r in rows if r[key] == label]
        chosen.extend(rng.sample(group, min(per_class, len(group))))
    return chosen


def build(shared: Path) -> List[Dict[str, str]]:
    """The sample rows, in a fixed order."""
    clothing = [
        r
        for r in _read(shared / "womens_clothing_reviews" / "reviews.csv")
        if 0 < len(r["review_text"].strip()) <= MAX_REVIEW_CHARS
    ]
    uci = [
        r
        for r in _read(shared / "uci_sentiment_sentences" / "sentences.csv")
        if r["source"] == "amazon"
    ]
    rows = [
        {
            "text": " ".join(r["review_text"].split()),
            "sentiment": r["sentiment"],
            "source": "womens_clothing_reviews",
            "source_id": r["review_id"],
        }
        for r in _stratified(clothing, "sentiment", CLOTHING_PER_CLASS, SEED)
    ]
    for index, r in enumerate(uci):
        r["_id"] = str(index)
    rows += [
        {
            "text": " ".join(r["text"].split()),
            "sentiment": "positive" if r["label"] == "1" else "negative",
            "source": "uci_sentiment_sentences/amazon",
            "source_id": r["_id"],
        }
        for r in _stratified(uci, "label", UCI_AMAZON_PER_CLASS, SEED)
    ]
    return rows


def main() -> None:
    """Write the sample next to this script."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shared", type=Path, default=default_shared_dir())
    args = parser.parse_args()
    rows = build(args.shared)
    with OUTPUT.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {len(rows)} rows to {OUTPUT}")


if __name__ == "__main__":
    main()
