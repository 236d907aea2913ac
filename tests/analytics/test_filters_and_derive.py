"""Filter parsing, and the bot names the event deriver relies on."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from insight.analytics import derive
from insight.analytics.filters import FilterError, Filters, parse_filters


def test_parse_filters() -> None:
    filters = parse_filters(
        {
            "from": "2026-11-16",
            "to": "2026-11-22",
            "channel": "rest",
            "intent": "complaint",
            "category": "Home & Garden",
            "segment": "2",
            "language": "ZH",
        }
    )
    assert filters == Filters(
        date(2026, 11, 16), date(2026, 11, 22), "rest", "complaint", "Home & Garden", 2, "zh"
    )
    assert filters.as_dict()["language"] == "zh"
    assert filters.start == datetime(2026, 11, 16)
    assert filters.end == datetime(2026, 11, 23)
    assert filters.as_dict()["to"] == "2026-11-22"
    assert parse_filters({"from": " ", "limit": "5"}, extra=("limit",)) == Filters()


@pytest.mark.parametrize(
    ("query", "param", "message"),
    [
        ({"from": "16/11/2026"}, "from", "YYYY-MM-DD"),
        ({"to": "2026-02-30"}, "to", "YYYY-MM-DD"),
        ({"from": "2026-11-22", "to": "2026-11-16"}, "from", "after"),
        ({"segment": "-1"}, "segment", "negative"),
        ({"segment": "1.5"}, "segment", "integer"),
        ({"intent": "x" * 101}, "intent", "at most"),
        ({"channel": "a;drop"}, "channel", "letters"),
        ({"language": "fr"}, "language", "one of en, zh"),
        ({"language": "zh-CN"}, "language", "one of en, zh"),
        ({"since": "2026-11-16"}, "since", "unknown parameter"),
    ],
)
def test_bad_filters(query: dict[str, str], param: str, message: str) -> None:
    with pytest.raises(FilterError, match=message) as error:
        parse_filters(query)
    assert error.value.param == param


def test_mirrored_bot_names_still_match_the_bot() -> None:
    """derive.py mirrors names from actions/ and the console so insight never imports actions."""
    from actions import answer_question, escalation, fallback, human
    from insight.web.console import rasa_client

    assert derive.ESCALATE_ACTION == escalation.ESCALATE_ACTION
    assert derive.HANDOFF_SLOT == escalation.EVENT_SLOT
    assert derive.ESCALATE_PREFIX == escalation.ESCALATE_PREFIX
    assert derive.RATING_QUESTION == escalation.RATING_QUESTION == rasa_client.RATING_RESPONSE
    assert derive.RATING.pattern == escalation.RATING.pattern
    assert derive.FAILED_LOOKUP.pattern == escalation.FAILED_LOOKUP.pattern
    assert human.ActionRequestHuman().name() == derive.REQUEST_HUMAN_ACTION
    assert derive.FAQ_SLOT == answer_question.FAQ_ANSWER_SLOT
    assert set(derive.FAQ_ACTIONS) == {
        answer_question.ActionAnswerQuestion().name(),
        fallback.ActionHandleFallback().name(),
    }
    assert derive.FALLBACK_INTENT == fallback.FALLBACK_INTENT
    assert derive.AGENT_MESSAGE == rasa_client.AGENT_MESSAGE
    assert set(derive.AGENT_KINDS) == {
        rasa_client.AGENT_MESSAGE,
        rasa_client.AGENT_JOINED,
        rasa_client.AGENT_LEFT,
    }
    event = rasa_client.agent_event(rasa_client.AGENT_MESSAGE, "Kim", "hello")
    assert event["metadata"]["handoff"] == derive.AGENT_MESSAGE
