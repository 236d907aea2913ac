"""Fixtures of the action tests: providers pointed at the test database, a fixed clock,
the bot's real domain, and helpers to build trackers and run actions."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest
import yaml
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import deps
from knowledge.shop.identity_token import sign_customer_id
from tests.conftest import SEED_NOW

logger = logging.getLogger(__name__)

DOMAIN_DIR = Path(__file__).resolve().parents[2] / "bot" / "domain"
# Key the action tests sign customer ids with (the shop page's role).
IDENTITY_SECRET = "action-tests-identity-key"


def signed(customer_id: int) -> str:
    """The metadata ``customer_id`` the shop page would send for ``customer_id``."""
    return sign_customer_id(customer_id, deps.settings())


@pytest.fixture(autouse=True)
def shop_providers(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point the action providers at the test's database and freeze the clock."""
    monkeypatch.setenv("SHOP_DATABASE_URL", database_url)
    monkeypatch.setenv("SHOP_IDENTITY_SECRET", IDENTITY_SECRET)
    monkeypatch.setattr(deps, "now", lambda: SEED_NOW)
    deps.clear_caches()
    yield database_url
    deps.clear_caches()


@pytest.fixture(scope="session")
def domain() -> Dict[str, Any]:
    """The bot's domain (all files of bot/domain merged) as the action server receives it."""
    merged: Dict[str, Any] = {"slots": {}, "forms": {}, "responses": {}, "intents": []}
    for path in sorted(DOMAIN_DIR.glob("*.yml")):
        part = yaml.safe_load(path.read_text()) or {}
        for key in ("slots", "forms", "responses"):
            merged[key].update(part.get(key) or {})
        merged["intents"] += part.get("intents") or []
        if "session_config" in part:
            merged["session_config"] = part["session_config"]
    return merged


def make_tracker(
    slots: Dict[str, Any] | None = None,
    *,
    text: str = "",
    intent: str = "track_order",
    metadata: Dict[str, Any] | None = None,
    active_loop: str | None = None,
    events: List[Dict[str, Any]] | None = None,
) -> Tracker:
    """A rasa_sdk tracker as the action server builds it from Rasa's request."""
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.99},
        "entities": [],
        "metadata": metadata or {},
    }
    user_event = {"event": "user", "text": text, "parse_data": latest, "metadata": metadata or {}}
    return Tracker(
        sender_id="test-conversation",
        slots=dict(slots or {}),
        latest_message=latest,
        events=list(events if events is not None else [user_event]),
        paused=False,
        followup_action=None,
        active_loop={"name": active_loop} if active_loop else {},
        latest_action_name="action_listen",
    )


async def run_action(
    action: Action, tracker: Tracker, domain: Dict[str, Any]
) -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
    """Run ``action``; return its events and the messages it sent."""
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker, domain)
    return events, dispatcher.messages


def responses(messages: List[Dict[str, Any]]) -> List[str]:
    """Names of the responses in ``messages``."""
    return [m.get("response") for m in messages]


def slot_events(events: List[Dict[str, Any]]) -> Dict[str, Any]:
    """The slots set by ``events`` (last value wins)."""
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


@pytest.fixture()
def broken_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point the providers at an empty, unmigrated database: every query fails."""
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    monkeypatch.setenv("SHOP_DATABASE_URL", url)
    deps.clear_caches()
    return url
