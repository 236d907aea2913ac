"""Supervisors' verdicts on shopper messages (the NLU inbox) and ``python -m ... export``.

``python -m insight.analytics.corrections export [--out PATH]`` writes every stored correction as
Rasa NLU YAML (``insight.analytics.training_export``; default ``bot/data/nlu/corrections.yml``,
which ``make train`` reads). Exit status 3 when a correction contradicts an existing training
example: it is refused, the rest is written, and a person must decide.
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import List, Sequence

from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from knowledge.intents import INTENTS
from knowledge.models import NluCorrection

logger = logging.getLogger(__name__)

SENTIMENTS = ("positive", "neutral", "negative")
CONFIRMED = "confirmed"
CORRECTED = "corrected"
CONTRADICTION_EXIT = 3


class CorrectionError(ValueError):
    """A verdict names an unknown intent, sentiment or demand."""

    def __init__(self, message: str, param: str) -> None:
        super().__init__(message)
        self.param = param


@dataclass(frozen=True)
class Verdict:
    """What a supervisor says one message meant."""

    message_key: str
    text: str
    language: str
    predicted_intent: str | None
    intent: str
    sentiment: str | None = None
    demands: tuple[str, ...] = ()


def check(verdict: Verdict, demand_aspects: Sequence[str] | None = None) -> None:
    """Raise :class:`CorrectionError` for an unknown intent, sentiment or demand."""
    if verdict.intent not in INTENTS:
        raise CorrectionError(f"unknown intent {verdict.intent!r}", "intent")
    if verdict.sentiment is not None and verdict.sentiment not in SENTIMENTS:
        raise CorrectionError(f"sentiment must be one of {SENTIMENTS}", "sentiment")
    if demand_aspects is not None:
        unknown = [d for d in verdict.demands if d not in demand_aspects]
        if unknown:
            raise CorrectionError(f"unknown demand {unknown[0]!r}", "demands")


def record(
    session: Session, verdict: Verdict, agent_id: int | None, agent_name: str, now: datetime
) -> NluCorrection:
    """Store (or replace) the verdict on one message, with who and when."""
    row = session.execute(
        select(NluCorrection).where(NluCorrection.message_key == verdict.message_key)
    ).scalar_one_or_none()
    if row is None:
        row = NluCorrection(message_key=verdict.message_key)
        session.add(row)
    row.text = verdict.text
    row.language = verdict.language
    row.predicted_intent = verdict.predicted_intent
    row.intent = verdict.intent
    row.sentiment = verdict.sentiment
    row.demands = list(verdict.demands)
    row.verdict = CONFIRMED if verdict.intent == verdict.predicted_intent else CORRECTED
    row.agent_user_id = agent_id
    row.agent_name = agent_name
    row.corrected_at = now
    session.flush()
    return row


def all_corrections(session: Session) -> List[NluCorrection]:
    """Every stored verdict, oldest first."""
    return list(
        session.execute(
            select(NluCorrection).order_by(NluCorrection.corrected_at, NluCorrection.id)
        ).scalars()
    )


def main(argv: list[str] | None = None) -> int:
    """``export``: write the corrections as Rasa NLU YAML and print what was left out."""
    from insight.analytics.training_export import DEFAULT_OUT, export_corrections
    from knowledge.db import make_engine, make_session_factory
    from knowledge.settings import get_settings

    parser = argparse.ArgumentParser(prog="python -m insight.analytics.corrections")
    parser.add_argument("command", choices=["export"])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="Rasa NLU YAML to write")
    parser.add_argument("--database-url", help="shop database (default: SHOP_DATABASE_URL)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    engine = make_engine(args.database_url or get_settings().resolved_database_url)
    try:
        with make_session_factory(engine)() as session:
            try:
                corrections = all_corrections(session)
            except OperationalError as error:
                print(f"cannot read the corrections ({error.orig}): migrate with `make db`")
                return 2
            if not corrections and not args.out.exists():
                print("no corrections stored; nothing to export")
                return 0
            report = export_corrections(corrections, args.out)
    finally:
        engine.dispose()
    print("\n".join(report.lines()))
    return CONTRADICTION_EXIT if report.contradiction else 0


if __name__ == "__main__":
    sys.exit(main())
