"""A real ``rasa run`` with ``bot/endpoints.yml`` feeds the analytics through the event broker.

Trains a tiny keyword model (about 20 s, no BERT) so that it runs without the project's model,
starts the Rasa server on a free port, chats over the REST channel, and checks that the broker
database holds every tracker event and that ingest and backfill give the same conversation.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from insight.analytics import ingest
from insight.analytics.tables import AnalyticsConversation, AnalyticsMessage
from tests.analytics.test_ingest import snapshot
from tests.servers import free_port, is_up, stop_process

ROOT = Path(__file__).resolve().parents[2]
BOOT_TIMEOUT_S = 180

FILES = {
    "config.yml": """recipe: default.v1
language: en
assistant_id: analytics-test
pipeline:
  - name: WhitespaceTokenizer
  - name: KeywordIntentClassifier
policies:
  - name: RulePolicy
""",
    "domain.yml": """version: "3.1"
intents: [greet, thank]
responses:
  utter_hi:
    - text: "Hi there!"
  utter_welcome:
    - text: "You're welcome."
""",
    "data/nlu.yml": """version: "3.1"
nlu:
- intent: greet
  examples: |
    - hello
    - hi
- intent: thank
  examples: |
    - thanks
""",
    "data/rules.yml": """version: "3.1"
rules:
- rule: greet
  steps:
  - intent: greet
  - action: utter_hi
- rule: thank
  steps:
  - intent: thank
  - action: utter_welcome
""",
    "credentials.yml": "rest:\n",
}


def say(port: int, sender: str, text: str) -> list:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/webhooks/rest/webhook",
        data=json.dumps({"sender": sender, "message": text}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


@pytest.mark.slow
def test_rasa_server_streams_events_to_the_analytics(
    tmp_path: Path, fresh: sessionmaker, factory: sessionmaker
) -> None:
    bot = tmp_path / "bot"
    for name, text in FILES.items():
        (bot / name).parent.mkdir(parents=True, exist_ok=True)
        (bot / name).write_text(text)
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(ROOT),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "SHOP_TRACKER_DB": str(tmp_path / "tracker.db"),
        "SHOP_EVENTS_DB": str(tmp_path / "events.db"),
        "SHOP_ACTION_SERVER_URL": "http://127.0.0.1:9/webhook",
    }
    rasa = [sys.executable, "-m", "rasa"]
    subprocess.run(
        [*rasa, "train", "--config", str(bot / "config.yml"), "--domain", str(bot / "domain.yml"),
         "--data", str(bot / "data"), "--out", str(tmp_path / "models")],
        cwd=ROOT, env=env, check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    port = free_port()
    log = (tmp_path / "rasa.log").open("w")
    server = subprocess.Popen(
        [*rasa, "run", "--model", str(tmp_path / "models"), "--endpoints", "bot/endpoints.yml",
         "--credentials", str(bot / "credentials.yml"), "--interface", "127.0.0.1",
         "--port", str(port)],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + BOOT_TIMEOUT_S
        while not is_up(f"http://127.0.0.1:{port}/"):
            assert server.poll() is None, (tmp_path / "rasa.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "Rasa did not start"
            time.sleep(0.5)
        assert say(port, "shopper-a", "hello") == [
            {"recipient_id": "shopper-a", "text": "Hi there!"}
        ]
        say(port, "shopper-a", "thanks")
        say(port, "shopper-b", "hi")
    finally:
        stop_process(server)  # SIGTERM: Rasa closes the broker, which writes what is queued
        log.close()
    result = ingest.ingest_sql_broker(fresh, str(tmp_path / "events.db"))
    tracker = ingest.backfill(factory, str(tmp_path / "tracker.db"))
    assert result.events == tracker.events > 0
    assert snapshot(fresh) == snapshot(factory)
    with fresh() as session:
        conversations = {
            c.sender_id: c for c in session.execute(select(AnalyticsConversation)).scalars()
        }
        intents = [m.intent for m in session.execute(
            select(AnalyticsMessage).order_by(AnalyticsMessage.sent_at)).scalars()]  # fmt: skip
    assert set(conversations) == {"shopper-a", "shopper-b"}
    assert (conversations["shopper-a"].user_messages, conversations["shopper-a"].bot_messages) == (
        2,
        2,
    )
    assert conversations["shopper-a"].channel == "rest"
    assert intents == ["greet", "thank", "greet"]
