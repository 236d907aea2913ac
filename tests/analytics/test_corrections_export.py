"""Inbox corrections -> Rasa NLU YAML: dedup, contradictions refused, evaluation texts kept out,
masked, Chinese and English, loadable by Rasa's reader; migration 0006 on SQLite; the CLI."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta
from pathlib import Path
from typing import Iterator

import pytest
from alembic import command
from sqlalchemy import inspect
from sqlalchemy.orm import sessionmaker

from insight.analytics import corrections as corrections_cli
from insight.analytics.corrections import Verdict, all_corrections, record
from insight.analytics.training_export import (
    EVAL_FILES,
    SHOPPER_DATA,
    TRAINING_DIR,
    export_corrections,
    held_out_texts,
    normalise,
    yaml_examples,
)
from knowledge.db import make_engine, make_session_factory
from knowledge.migrate import alembic_config, upgrade

T0 = datetime(2026, 12, 4, 12, 0, 0)
EXISTING = """version: "3.1"
nlu:
- intent: greet
  examples: |
    - hello there
- intent: track_order
  examples: |
    - where is my parcel
    - 我的快递到哪了
"""


@pytest.fixture()
def db(tmp_path: Path) -> Iterator[sessionmaker]:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    upgrade(url)
    engine = make_engine(url)
    yield make_session_factory(engine)
    engine.dispose()


def first_eval_text() -> str:
    with (SHOPPER_DATA / EVAL_FILES[0]).open(encoding="utf-8", newline="") as handle:
        return next(csv.DictReader(handle))["text"]


def store(factory: sessionmaker, rows: list[tuple[str, str, str]]) -> None:
    with factory() as session, session.begin():
        for i, (text, language, intent) in enumerate(rows):
            verdict = Verdict(f"m{i}", text, language, "nlu_fallback", intent)
            record(session, verdict, None, "Kim", T0 + timedelta(minutes=i))


def test_migration_0006_creates_and_drops_the_table(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    engine = make_engine(url)
    try:
        columns = {c["name"] for c in inspect(engine).get_columns("nlu_corrections")}
        assert {"message_key", "text", "intent", "sentiment", "demands", "verdict",
                "agent_user_id", "agent_name", "corrected_at"} <= columns  # fmt: skip
        command.downgrade(alembic_config(url), "0005")
        assert "nlu_corrections" not in inspect(engine).get_table_names()
        upgrade(url)
        assert "nlu_corrections" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_export_dedups_refuses_contradictions_and_keeps_evaluation_out(
    db: sessionmaker, tmp_path: Path
) -> None:
    training = tmp_path / "data" / "nlu"
    training.mkdir(parents=True)
    (training / "base.yml").write_text(EXISTING, encoding="utf-8")
    eval_text = first_eval_text()
    store(
        db,
        [
            ("Where is my PARCEL?", "en", "track_order"),  # duplicate
            ("Hello there!!", "en", "goodbye"),  # contradiction
            (eval_text, "en", "complaint"),  # frozen evaluation text
            ("我的包裹怎么还没到", "zh", "track_order"),
            ("please write to bob@example.com about it", "en", "contact_customer_service"),
            ("/track_order", "en", "track_order"),  # a payload
            ("my [order](product) broke", "en", "complaint"),  # looks like an annotation
            ("that parcel thing", "en", "complaint"),
            ("That parcel thing.", "en", "track_order"),  # same text later: newest wins
        ],
    )
    out = training / "corrections.yml"
    with db() as session:
        report = export_corrections(
            all_corrections(session), out, training_dir=training, held_out=held_out_texts()
        )
    assert report.duplicate == [("Where is my PARCEL?", "track_order")]
    assert report.contradiction == [("Hello there!!", "goodbye", "greet")]
    assert report.held_out == [eval_text]
    assert sorted(report.unsafe) == ["/track_order", "my [order](product) broke"]
    assert report.written == {
        "contact_customer_service": ["please write to [email] about it"],
        "track_order": ["That parcel thing.", "我的包裹怎么还没到"],
    }
    assert any("REFUSED" in line for line in report.lines())
    text = out.read_text(encoding="utf-8")
    assert "bob@example.com" not in text

    from rasa.shared.nlu.training_data.loading import load_data

    loaded = load_data(str(out))
    examples = {(m.get("text"), m.get("intent")) for m in loaded.intent_examples}
    assert examples == {
        ("please write to [email] about it", "contact_customer_service"),
        ("That parcel thing.", "track_order"),
        ("我的包裹怎么还没到", "track_order"),
    }
    # Exporting again reads the other files only (its own output is not "existing").
    with db() as session:
        again = export_corrections(
            all_corrections(session), out, training_dir=training, held_out=held_out_texts()
        )
    assert again.written == report.written
    assert {normalise(t) for t, _ in yaml_examples(out)}.isdisjoint(held_out_texts())


def test_every_shopper_eval_and_dev_text_is_held_out() -> None:
    held = held_out_texts()
    for name in ("eval_en.csv", "eval_zh.csv", "dev_en.csv", "dev_zh.csv"):
        with (SHOPPER_DATA / name).open(encoding="utf-8", newline="") as handle:
            assert all(normalise(r["text"]) in held for r in csv.DictReader(handle)), name


def test_the_command_writes_the_file_and_fails_on_a_contradiction(
    db: sessionmaker, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trained_text, trained_intent = next(yaml_examples(sorted(TRAINING_DIR.glob("**/*.yml"))[0]))
    other = "greet" if trained_intent != "greet" else "goodbye"
    store(db, [("a brand new way to say my box was crushed", "en", "complaint")])
    url = str(db.kw["bind"].url)
    out = tmp_path / "out" / "corrections.yml"
    assert corrections_cli.main(["export", "--database-url", url, "--out", str(out)]) == 0
    assert "a brand new way to say my box was crushed" in out.read_text(encoding="utf-8")
    store(db, [("a brand new way to say my box was crushed", "en", "complaint"),
               (trained_text, "en", other)])  # fmt: skip
    code = corrections_cli.main(["export", "--database-url", url, "--out", str(out)])
    assert code == corrections_cli.CONTRADICTION_EXIT
    assert "REFUSED" in capsys.readouterr().out
    assert "a brand new way to say my box was crushed" in out.read_text(encoding="utf-8")


def test_the_command_says_how_to_fix_an_unmigrated_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0005")
    out = tmp_path / "corrections.yml"
    assert corrections_cli.main(["export", "--database-url", url, "--out", str(out)]) == 2
    assert "make db" in capsys.readouterr().out
    assert not out.exists()
