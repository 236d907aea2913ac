"""Shopper journeys end to end: the real Rasa and action servers over REST on a seeded shop.

One server set for the whole module (started once by :func:`tests.bot.journeys.serve_bot` with
the newest model in models/); every journey of ``tests/bot/journeys.yml`` is one test that plays
the conversation and checks each reply and the database afterwards (``tests/bot/journeys.py``).
"""

from __future__ import annotations

import logging
from typing import Any, Dict, Iterator

import pytest

from knowledge.settings import Settings
from tests.bot.journeys import Bot, choose_orders, load_journeys, run_journey, serve_bot
from tests.bot.test_conversations import latest_model

logger = logging.getLogger(__name__)

pytestmark = pytest.mark.slow
JOURNEYS = load_journeys()


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bot]:
    """The servers on a temp seeded shop, for all journeys of this module."""
    model = latest_model(Settings().models_dir)
    with serve_bot(tmp_path_factory.mktemp("journeys"), model) as running:
        yield running


@pytest.fixture(scope="module")
def facts(bot: Bot) -> Dict[str, Dict[str, Any]]:
    """The seeded orders each journey is about (chosen once, distinct per journey)."""
    return choose_orders(bot.database_url, JOURNEYS)


def test_there_are_enough_journeys_in_both_languages_and_for_both_shoppers() -> None:
    assert len(JOURNEYS) >= 30
    kinds = {(j.get("language", "en"), j.get("shopper")) for j in JOURNEYS}
    assert kinds == {("en", "signed_in"), ("en", "guest"), ("zh", "signed_in"), ("zh", "guest")}


@pytest.mark.parametrize("journey", JOURNEYS, ids=[j["id"] for j in JOURNEYS])
def test_journey(bot: Bot, facts: Dict[str, Dict[str, Any]], journey: Dict[str, Any]) -> None:
    result = run_journey(bot, journey, facts[journey["id"]], run_id="test")
    assert result.passed, result.report()
