"""The utterances simulated shoppers say, read from files the model was never trained on.

* ``nlu/data/chat_heldout.csv``: 114 chat messages we wrote and labelled (sentiment, demands),
  kept out of training (evaluation only);
* ``benchmarks/data/faq_paraphrases.csv``, rows of the ``test`` split: paraphrased FAQ questions
  used only to score retrieval;
* ``benchmarks/data/churn_conversations.yml``: hand-written scripted conversations, of which the
  ``churn: true`` ones give the churn-risk shoppers their lines;
* ``bot/domain/*.yml``: the texts of the bot's hand-over responses, to recognise a hand-over.

Some of those lines are also NLU training examples of an intent ("goodbye", "can I pay by bank
transfer"): :func:`load_corpus` drops every text that appears in the bot's NLU training data
(``bot/data/nlu/``) or the sentiment/demand training rows (``nlu/data/chat_messages.csv``), so
the demo only ever sends messages the model has not seen. Everything is read from the repository
(never from ``../shared``); a missing or malformed file raises :class:`CorpusError` naming it.
"""

from __future__ import annotations

import csv
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from knowledge.settings import PROJECT_ROOT

logger = logging.getLogger(__name__)

CHAT_HELDOUT = Path("nlu/data/chat_heldout.csv")
FAQ_PARAPHRASES = Path("benchmarks/data/faq_paraphrases.csv")
CHURN_CONVERSATIONS = Path("benchmarks/data/churn_conversations.yml")
DOMAIN_DIR = Path("bot/domain")
NLU_TRAINING_DIR = Path("bot/data/nlu")
CHAT_TRAINING = Path("nlu/data/chat_messages.csv")
# Rasa's entity markup in training examples: "[1234](order_id)" -> "1234".
ENTITY_MARKUP = re.compile(r"\[([^\]]+)\]\([^)]*\)")
# Responses with which the bot tells the shopper that a person takes over.
HANDOFF_RESPONSES = (
    "utter_human_handoff",
    "utter_handoff_started",
    "utter_handoff_no_agent",
    "utter_handoff_unavailable",
)
SENTIMENTS = ("negative", "neutral", "positive")


class CorpusError(RuntimeError):
    """A source file is missing or not in the expected format."""


@dataclass(frozen=True)
class Utterance:
    """One held-out chat message with its labels."""

    text: str
    sentiment: str
    demands: tuple[str, ...]


@dataclass(frozen=True)
class Corpus:
    """Everything the shopper scripts draw from."""

    chat: tuple[Utterance, ...]
    faq_questions: tuple[str, ...]
    churn_scripts: tuple[tuple[str, ...], ...]
    handoff_texts: frozenset[str]
    by_sentiment: dict[str, tuple[Utterance, ...]] = field(init=False, compare=False)

    def __post_init__(self) -> None:
        grouped = {s: tuple(u for u in self.chat if u.sentiment == s) for s in SENTIMENTS}
        object.__setattr__(self, "by_sentiment", grouped)

    def with_demand(self, sentiment: str) -> tuple[Utterance, ...]:
        """Messages of ``sentiment`` that state at least one demand."""
        return tuple(u for u in self.by_sentiment[sentiment] if u.demands)

    def small_talk(self, sentiment: str) -> tuple[Utterance, ...]:
        """Messages of ``sentiment`` without any demand (greetings, thanks, sighs)."""
        return tuple(u for u in self.by_sentiment[sentiment] if not u.demands)


def load_corpus(root: Path = PROJECT_ROOT) -> Corpus:
    """Read the held-out utterances, FAQ paraphrases, churn scripts and hand-over texts."""
    seen = training_texts(root)

    def unseen(text: str) -> bool:
        return _key(text) not in seen

    scripts = (tuple(filter(unseen, script)) for script in _churn(root / CHURN_CONVERSATIONS))
    corpus = Corpus(
        chat=tuple(u for u in _chat(root / CHAT_HELDOUT) if unseen(u.text)),
        faq_questions=tuple(filter(unseen, _faq(root / FAQ_PARAPHRASES))),
        churn_scripts=tuple(script for script in scripts if script),
        handoff_texts=_handoff_texts(root / DOMAIN_DIR),
    )
    for sentiment in SENTIMENTS:
        if not corpus.with_demand(sentiment) or not corpus.small_talk(sentiment):
            raise CorpusError(f"{CHAT_HELDOUT}: needs {sentiment} rows with and without demands")
    logger.info(
        "demo corpus: %d chat messages, %d FAQ questions, %d churn scripts",
        len(corpus.chat),
        len(corpus.faq_questions),
        len(corpus.churn_scripts),
    )
    return corpus


def _key(text: str) -> str:
    return " ".join(text.lower().split())


def training_texts(root: Path = PROJECT_ROOT) -> frozenset[str]:
    """Every text the model trains on (NLU examples, chat rows), lower-cased, spaces collapsed."""
    texts: set[str] = set()
    for path in sorted((root / NLU_TRAINING_DIR).rglob("*.yml")):
        data = _load_yaml(path) or {}
        for block in data.get("nlu", []) if isinstance(data, dict) else []:
            for line in str(block.get("examples", "")).splitlines():
                example = ENTITY_MARKUP.sub(r"\1", line.strip().removeprefix("- "))
                texts.add(_key(example))
    texts.update(_key(row["text"]) for row in _read_csv(root / CHAT_TRAINING, {"text"}))
    return frozenset(texts)


def _read_csv(path: Path, columns: set[str]) -> list[dict[str, str]]:
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = columns - set(reader.fieldnames or ())
            if missing:
                raise CorpusError(f"{path}: missing columns {sorted(missing)}")
            return list(reader)
    except OSError as error:
        raise CorpusError(f"cannot read {path}: {error}") from error


def _chat(path: Path) -> tuple[Utterance, ...]:
    rows = _read_csv(path, {"text", "sentiment", "demands"})
    utterances = []
    for number, row in enumerate(rows, start=2):
        sentiment = row["sentiment"].strip()
        if sentiment not in SENTIMENTS:
            raise CorpusError(f"{path}:{number}: unknown sentiment {sentiment!r}")
        demands = tuple(d.strip() for d in row["demands"].split(";") if d.strip())
        utterances.append(Utterance(row["text"].strip(), sentiment, demands))
    return tuple(utterances)


def _faq(path: Path) -> tuple[str, ...]:
    rows = _read_csv(path, {"query", "split"})
    questions = tuple(r["query"].strip() for r in rows if r["split"].strip() == "test")
    if not questions:
        raise CorpusError(f"{path}: no rows of the test split")
    return questions


def _load_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise CorpusError(f"cannot read {path}: {error}") from error


def _churn(path: Path) -> tuple[tuple[str, ...], ...]:
    data = _load_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get("conversations"), list):
        raise CorpusError(f"{path}: expected a 'conversations' list")
    scripts = []
    for conversation in data["conversations"]:
        if not conversation.get("churn"):
            continue
        # Each turn is "intent | sentiment confidence | text": the shopper only says the text.
        texts = tuple(str(turn).split("|", 2)[-1].strip() for turn in conversation["turns"])
        scripts.append(tuple(t for t in texts if t))
    if not scripts:
        raise CorpusError(f"{path}: no churn conversations")
    return tuple(scripts)


def _handoff_texts(domain_dir: Path) -> frozenset[str]:
    texts: set[str] = set()
    for path in sorted(domain_dir.glob("*.yml")):
        responses = (_load_yaml(path) or {}).get("responses") or {}
        for name in HANDOFF_RESPONSES:
            texts.update(str(v["text"]).strip() for v in responses.get(name, []) if "text" in v)
    if not texts:
        raise CorpusError(f"{domain_dir}: none of the hand-over responses {HANDOFF_RESPONSES}")
    return frozenset(texts)
