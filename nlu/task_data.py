"""Training examples for the multi-task model: intents from Rasa, sentiment/demands from CSVs.

How the sentiment and demand heads get labels during `rasa train`:

* CSV files named by the component's `task_data` config key (paths relative to the `nlu`
  package, or absolute; an entry ``{path: ..., max_examples: N}`` samples that file down to N
  rows, a plain path to `max_task_examples_per_file`). Columns: `text` (required),
  `sentiment` (negative/neutral/positive) and `demands` (aspects from
  `nlu.output_keys.DEMAND_ASPECTS`, separated by `;`) and `handoff` (1 = the message should
  go to a person, 0 = not). A file without a `sentiment` column does not
  label sentiment; a file with a `demands` column labels demands on every row (an empty cell
  means "no demand"). An empty `sentiment` or `handoff` cell leaves that row unlabelled for it.
* Optional `metadata:` on NLU examples (example level overrides intent level)::

      - intent: complaint
        examples: |
          - text: my parcel is two weeks late and nobody answers
            metadata:
              sentiment: negative
              demands: [delivery, customer_service]

Rows without a label for a task are masked out of that task's loss.

Intent examples whose intent-level metadata says `source: bitext` (the generated Bitext files)
are the ones sampled down by `max_examples_per_intent`; hand-written examples are always kept.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import random
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Collection, Dict, Iterable, List, Mapping, Sequence, Tuple

from knowledge.language import DEFAULT_LANGUAGE, detect_language
from nlu.output_keys import DEMAND_ASPECTS, SENTIMENT_LABELS

logger = logging.getLogger(__name__)

NLU_PACKAGE_DIR = Path(__file__).resolve().parent
DEMAND_SEPARATOR = ";"
#: Intent-level metadata `source` of the generated (sampled) Bitext examples.
SAMPLED_SOURCE = "bitext"


class TrainingDataError(ValueError):
    """The training data cannot train the model; the message says what to fix."""


@dataclass(frozen=True)
class Example:
    """One training text with whichever labels it has (None = not labelled for that task)."""

    text: str
    intent: int | None = None
    sentiment: int | None = None
    demands: Tuple[int, ...] | None = None
    group: str = ""
    handoff: int | None = None


@dataclass(frozen=True)
class LabelledText:
    """A text labelled for sentiment and/or demands, before label names become indices."""

    text: str
    sentiment: str | None
    demands: Tuple[str, ...] | None
    origin: str
    handoff: int | None = None


def resolve_data_path(path: str) -> Path:
    """An absolute path as is; a relative one relative to the `nlu` package directory."""
    candidate = Path(path)
    return candidate if candidate.is_absolute() else NLU_PACKAGE_DIR / candidate


def task_file(entry: str | Mapping[str, Any], default_limit: int) -> Tuple[str, int]:
    """``(path, most rows to use)`` of one `task_data` entry: a path, which uses
    `default_limit` (`max_task_examples_per_file`), or ``{path: ..., max_examples: N}``."""
    if isinstance(entry, str):
        return entry, default_limit
    return str(entry["path"]), int(entry["max_examples"])


def fingerprint_files(paths: Iterable[str]) -> str:
    """A hash of the task data files' contents, so Rasa retrains when they change."""
    digest = hashlib.sha256()
    for path in paths:
        resolved = resolve_data_path(path)
        digest.update(str(path).encode())
        digest.update(resolved.read_bytes() if resolved.is_file() else b"<missing>")
    return digest.hexdigest()


def parse_sentiment(value: Any, origin: str) -> str | None:
    """A sentiment label, None for empty; raises on anything not in SENTIMENT_LABELS."""
    if value is None or str(value).strip() == "":
        return None
    label = str(value).strip().lower()
    if label not in SENTIMENT_LABELS:
        raise TrainingDataError(
            f"{origin}: sentiment {value!r} is not one of {list(SENTIMENT_LABELS)}."
        )
    return label


def parse_demands(value: Any, origin: str) -> Tuple[str, ...]:
    """Aspect names from a `;`-separated string or a list; raises on unknown aspects."""
    if value is None:
        return ()
    items = value if isinstance(value, (list, tuple)) else str(value).split(DEMAND_SEPARATOR)
    aspects = tuple(dict.fromkeys(str(i).strip().lower() for i in items if str(i).strip()))
    unknown = [a for a in aspects if a not in DEMAND_ASPECTS]
    if unknown:
        raise TrainingDataError(
            f"{origin}: unknown demand aspect(s) {unknown}; allowed: {list(DEMAND_ASPECTS)}."
        )
    return aspects


def parse_handoff(value: Any, origin: str) -> int | None:
    """1 or 0 from a `handoff` cell, None for empty; raises on anything else."""
    if value is None or str(value).strip() == "":
        return None
    label = str(value).strip().lower()
    if label in ("1", "true", "yes"):
        return 1
    if label in ("0", "false", "no"):
        return 0
    raise TrainingDataError(f"{origin}: handoff {value!r} is not 1 or 0.")


def read_task_csv(path: Path) -> List[LabelledText]:
    """Rows of a sentiment/demand CSV (see module docstring for the columns)."""
    if not path.is_file():
        raise TrainingDataError(
            f"task data file {path} does not exist; fix the `task_data` list in config.yml."
        )
    rows: List[LabelledText] = []
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        columns = set(reader.fieldnames or ())
        if "text" not in columns or not columns & {"sentiment", "demands", "handoff"}:
            raise TrainingDataError(
                f"{path}: needs a `text` column and a `sentiment`, `demands` or `handoff` "
                f"column, found {sorted(columns)}."
            )
        for line, row in enumerate(reader, start=2):
            origin = f"{path.name}:{line}"
            text = (row.get("text") or "").strip()
            if not text:
                raise TrainingDataError(f"{origin}: empty text.")
            sentiment = parse_sentiment(row.get("sentiment"), origin)
            demands = parse_demands(row["demands"], origin) if "demands" in columns else None
            handoff = parse_handoff(row.get("handoff"), origin)
            rows.append(LabelledText(text, sentiment, demands, origin=path.name, handoff=handoff))
    logger.debug("read %d task rows from %s", len(rows), path)
    return rows


def labels_from_metadata(
    metadata: Dict[str, Any] | None, origin: str
) -> Tuple[str | None, Tuple[str, ...] | None]:
    """(sentiment, demands) from a Rasa message's metadata; example level beats intent level."""
    metadata = metadata or {}
    merged: Dict[str, Any] = {**(metadata.get("intent") or {}), **(metadata.get("example") or {})}
    sentiment = parse_sentiment(merged.get("sentiment"), origin)
    demands = parse_demands(merged["demands"], origin) if "demands" in merged else None
    return sentiment, demands


def cap_per_intent(
    pairs: Sequence[Tuple[str, str]],
    max_per_intent: int,
    seed: int,
    always_keep: Collection[Tuple[str, str]] = (),
) -> List[Tuple[str, str]]:
    """At most `max_per_intent` (text, intent) pairs per intent and language, sampled
    deterministically: 25 Chinese examples of an intent are not drowned by its 1,000 English
    ones (texts without a clear language count as the default language).

    Pairs in `always_keep` (the hand-written shopper examples) are all kept and count towards
    the cap; the others are sampled to fill what is left of it."""
    if max_per_intent <= 0:
        return list(pairs)
    by_intent: Dict[Tuple[str, str], List[Tuple[str, str]]] = defaultdict(list)
    for pair in pairs:
        by_intent[(pair[1], detect_language(pair[0]) or DEFAULT_LANGUAGE)].append(pair)
    keep = set(always_keep)
    rng = random.Random(seed)
    kept: List[Tuple[str, str]] = []
    for key in sorted(by_intent):
        group = by_intent[key]
        fixed = [pair for pair in group if pair in keep]
        rest = [pair for pair in group if pair not in keep]
        room = max(0, max_per_intent - len(fixed))
        kept.extend(fixed)
        kept.extend(rest if len(rest) <= room else rng.sample(rest, room))
    return kept


def sample_rows(rows: Sequence[LabelledText], limit: int, seed: int) -> List[LabelledText]:
    """At most `limit` rows (0 = all), sampled deterministically, in their file order."""
    if limit <= 0 or len(rows) <= limit:
        return list(rows)
    keep = set(random.Random(seed).sample(range(len(rows)), limit))
    return [row for index, row in enumerate(rows) if index in keep]


def intent_labels_of(intents: Iterable[str]) -> List[str]:
    """Sorted distinct intent names; raises unless there are at least two."""
    labels = sorted(set(intents))
    if len(labels) < 2:
        raise TrainingDataError(
            f"IntentSentimentClassifier needs examples of at least 2 intents, got {labels}. "
            "Add intents to the NLU data (bot/data/nlu)."
        )
    return labels


def to_examples(
    intent_rows: Sequence[Tuple[str, str, str | None, Tuple[str, ...] | None]],
    task_rows: Sequence[LabelledText],
    intent_labels: Sequence[str],
) -> List[Example]:
    """Label names to indices: intent rows are (text, intent, sentiment, demands)."""
    intent_index = {name: i for i, name in enumerate(intent_labels)}
    sentiment_index = {name: i for i, name in enumerate(SENTIMENT_LABELS)}
    aspect_index = {name: i for i, name in enumerate(DEMAND_ASPECTS)}

    def demands(names: Tuple[str, ...] | None) -> Tuple[int, ...] | None:
        return None if names is None else tuple(aspect_index[a] for a in names)

    examples = [
        Example(
            text,
            intent_index[intent],
            None if sentiment is None else sentiment_index[sentiment],
            demands(demand_names),
            group=f"intent:{intent}",
        )
        for text, intent, sentiment, demand_names in intent_rows
    ]
    examples += [
        Example(
            row.text,
            None,
            None if row.sentiment is None else sentiment_index[row.sentiment],
            demands(row.demands),
            group=f"task:{row.origin}:{row.sentiment}:{row.handoff}",
            handoff=row.handoff,
        )
        for row in task_rows
    ]
    return examples


def split_validation(
    examples: Sequence[Example], fraction: float, seed: int
) -> Tuple[List[Example], List[Example]]:
    """(train, validation), stratified by group (intent, or task file and sentiment).

    Each group with at least 4 examples gives max(1, round(fraction * size)) to validation;
    smaller groups stay entirely in training.
    """
    if fraction <= 0:
        return list(examples), []
    groups: Dict[str, List[Example]] = defaultdict(list)
    for example in examples:
        groups[example.group].append(example)
    rng = random.Random(seed)
    train: List[Example] = []
    validation: List[Example] = []
    for name in sorted(groups):
        group = list(groups[name])
        rng.shuffle(group)
        n_val = max(1, round(fraction * len(group))) if len(group) >= 4 else 0
        validation.extend(group[:n_val])
        train.extend(group[n_val:])
    return train, validation
