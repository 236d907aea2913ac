"""Each measure against values computed by hand from the fixed event log (see
``build_event_log.py`` for the conversations; the arithmetic is in the comments)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy.orm import sessionmaker

from insight.analytics import measures, service_measures
from insight.analytics.filters import Filters
from knowledge.settings import Settings
from tests.analytics.conftest import NOW

WEEK = Filters(since=date(2026, 11, 16), until=date(2026, 11, 22))


def run(factory: sessionmaker, name: str, filters: Filters = WEEK, **params: str) -> Any:
    ctx = measures.Context(Settings(), NOW, params)
    with factory() as session:
        return measures.registry()[name](session, filters, ctx)


def by(rows: list[dict[str, Any]], key: str) -> dict[Any, dict[str, Any]]:
    return {row[key]: row for row in rows}


def test_overview(folded: sessionmaker) -> None:
    result = run(folded, "overview")
    # c1..c5 this week (c8 has no user message); user messages 4 + 2 + 3 + 2 + 1.
    assert result["summary"] == {
        "conversations": 5,
        "messages": 12,
        # c1: sorry, connecting, rating question, thanks; c2: 2; c3: 3; c4: 2; c5: 1.
        "bot_messages": 12,
        "agent_messages": 1,
        "customers": 3,
        "first_day": "2026-11-16",
        "last_day": "2026-11-20",
        "conversation_ids": ["c1", "c2", "c3", "c4", "c5"],
    }
    assert [(r["day"], r["conversations"], r["messages"]) for r in result["rows"]] == [
        ("2026-11-16", 1, 4),
        ("2026-11-17", 1, 2),
        ("2026-11-18", 1, 3),
        ("2026-11-19", 1, 2),
        ("2026-11-20", 1, 1),
    ]
    everything = run(folded, "overview", Filters())["summary"]
    # c6, c7 the week before (1 message each), c9 (3) and c10 (1) after the week.
    assert (everything["conversations"], everything["messages"]) == (9, 18)


def test_containment_and_escalation_by_reason(folded: sessionmaker) -> None:
    result = run(folded, "containment")
    summary = result["summary"]
    assert (summary["contained"], summary["escalated"]) == (3, 2)
    assert (summary["containment_rate"], summary["escalation_rate"]) == (0.6, 0.4)
    assert [
        (r["reason"], r["conversations"], r["rate"], r["conversation_ids"]) for r in result["rows"]
    ] == [
        ("negative_streak", 1, 0.2, ["c4"]),
        ("request", 1, 0.2, ["c1"]),
    ]


def test_sentiment_per_day(folded: sessionmaker) -> None:
    result = run(folded, "sentiment")
    # Signed score = P(pos) - P(neg): c1 -0.88 -0.94 +0.75 -0.10; c2 0.00 +0.88;
    # c3 -0.20 0.00 0.00; c4 -0.89 -0.87; c5 +0.65. Sum -1.60 over 12.
    assert result["summary"]["messages"] == 12
    assert result["summary"]["mean"] == pytest.approx(-1.6 / 12, abs=1e-4)
    assert (
        result["summary"]["negative"],
        result["summary"]["neutral"],
        result["summary"]["positive"],
    ) == (4, 5, 3)
    days = by(result["rows"], "day")
    assert days["2026-11-16"]["mean"] == pytest.approx(-1.17 / 4, abs=1e-4)
    assert days["2026-11-17"]["mean"] == pytest.approx(0.44, abs=1e-4)
    assert days["2026-11-18"]["mean"] == pytest.approx(-0.2 / 3, abs=1e-4)
    assert days["2026-11-19"]["mean"] == pytest.approx(-0.88, abs=1e-4)
    assert days["2026-11-19"]["negative"] == 2
    assert days["2026-11-20"]["conversation_ids"] == ["c5"]


def test_opening_vs_closing_sentiment(folded: sessionmaker) -> None:
    result = run(folded, "sentiment-shift")
    # Openings -0.88, 0.00, -0.20, -0.89, 0.65; closings -0.10, 0.88, 0.00, -0.87, 0.65.
    assert result["summary"]["opening_mean"] == pytest.approx(-1.32 / 5, abs=1e-4)
    assert result["summary"]["closing_mean"] == pytest.approx(0.56 / 5, abs=1e-4)
    # c1 +0.78, c2 +0.88, c3 +0.20 improved; c4 +0.02 and c5 0 unchanged.
    assert (
        result["summary"]["improved"],
        result["summary"]["worsened"],
        result["summary"]["unchanged"],
    ) == (3, 0, 2)
    assert by(result["rows"], "conversation_id")["c1"]["delta"] == pytest.approx(0.78)


def test_intent_distribution_against_previous_week(folded: sessionmaker) -> None:
    result = run(folded, "intents")
    summary = result["summary"]
    assert (summary["previous_from"], summary["previous_to"]) == ("2026-11-09", "2026-11-15")
    assert (summary["messages"], summary["previous_messages"]) == (12, 2)
    rows = by(result["rows"], "intent")
    # complaint: c1, c4 twice this week; c7 once the week before.
    assert rows["complaint"]["count"] == 3
    assert rows["complaint"]["share"] == 0.25
    assert (
        rows["complaint"]["previous_count"],
        rows["complaint"]["change"],
        rows["complaint"]["change_pct"],
    ) == (1, 2, 200.0)
    assert rows["complaint"]["conversation_ids"] == ["c1", "c4"]
    assert result["rows"][0]["intent"] == "complaint"
    assert (rows["track_order"]["count"], rows["track_order"]["change_pct"]) == (0, -100.0)
    assert rows["product_question"]["count"] == 2
    assert rows["thank_you"]["previous_count"] == 0
    assert rows["thank_you"]["change_pct"] is None


def test_demands_by_aspect_and_product(folded: sessionmaker) -> None:
    aspects = run(folded, "demands")
    assert aspects["summary"]["mentions"] == 7
    assert [r["aspect"] for r in aspects["rows"]] == [
        "delivery",
        "customer_service",
        "payment",
        "price",
        "quality",
        "returns_refunds",
    ]
    delivery = aspects["rows"][0]
    assert (delivery["mentions"], delivery["negative"]) == (2, 2)
    assert delivery["mean_sentiment"] == pytest.approx(-0.875)
    assert delivery["conversation_ids"] == ["c1", "c4"]
    products = run(folded, "demand-products")
    rows = {(r["product"], r["aspect"]): r for r in products["rows"]}
    assert set(rows) == {
        ("Trail Runner", "delivery"),
        ("Trail Runner", "returns_refunds"),
        ("Trail Runner", "quality"),
        ("Denim Jacket", "price"),
    }
    assert rows[("Denim Jacket", "price")]["category"] == "Clothing"
    assert rows[("Trail Runner", "quality")]["mean_sentiment"] == pytest.approx(-0.89)
    assert products["summary"]["products"] == 2


def test_churn_risk_sorted_by_value(folded: sessionmaker) -> None:
    result = run(folded, "churn")
    # Customer 1, conversation c4: negative turns 0.12 * 0.92 and 0.12 * 0.90, the complaint
    # intent 0.2 and a streak of two confident negative turns 0.25 (no history: no graph
    # messages, orders delivered on time): 1 - 0.8896 * 0.8 * 0.892 * 0.75 = 0.52389
    # (c1: 1 - 0.892 * 0.8 * 0.886 = 0.36775 is lower). Spend 800 -> 419.11 at risk.
    # Customers 2 and 3 have no negative turn: risk 0, under min_risk 0.3.
    assert result["summary"]["at_risk"] == 1
    row = result["rows"][0]
    assert row["customer_id"] == 1
    assert row["risk"] == pytest.approx(0.524, abs=1e-3)
    assert row["value_at_risk"] == pytest.approx(0.52388608 * 800, abs=0.01)
    assert row["reasons"][0]["signal"] == "negative_streak"
    assert row["complaints"][0] == "delivery"
    assert row["conversation_ids"] == ["c1", "c4"]
    lower = run(folded, "churn", min_risk="0.0")
    # Customers 2 and 3 at risk 0 (value 0) follow, ties broken by customer id.
    assert [r["customer_id"] for r in lower["rows"]] == [1, 2, 3]
    assert lower["rows"][1]["value_at_risk"] == 0.0


def test_faq_answer_rate_and_content_gaps(folded: sessionmaker) -> None:
    result = run(folded, "faq")
    # c2 answered, c3 "gift cards" not answered, c3 payment answered after the choice
    # (the button press settles it), c5 answered.
    assert result["summary"] | {"conversation_ids": None} == {
        "questions": 4,
        "answered": 3,
        "choice": 0,
        "unanswered": 1,
        "answer_rate": 0.75,
        "conversation_ids": None,
    }
    assert [r["text"] for r in result["rows"]] == ["do you sell gift cards for weddings"]


def test_low_confidence_messages(folded: sessionmaker) -> None:
    result = run(folded, "low-confidence")
    # The rating "4" (inform 0.60 < 0.70) and the nlu_fallback question.
    assert (result["summary"]["low_confidence"], result["summary"]["messages"]) == (2, 12)
    assert result["summary"]["rate"] == pytest.approx(2 / 12, abs=1e-4)
    rows = by(result["rows"], "conversation_id")
    assert rows["c3"]["intent"] == "nlu_fallback"
    assert (rows["c3"]["best_guess"], rows["c3"]["best_guess_confidence"]) == (
        "product_question",
        0.45,
    )
    assert rows["c1"]["text"] == "4"


def test_csat(folded: sessionmaker) -> None:
    result = run(folded, "csat")
    assert result["summary"]["ratings"] == 1
    assert result["summary"]["mean"] == 4.0
    assert result["summary"]["distribution"] == {"1": 0, "2": 0, "3": 0, "4": 1, "5": 0}
    assert by(result["rows"], "rating")[4]["conversation_ids"] == ["c1"]


def test_agent_first_response_and_resolution(folded: sessionmaker) -> None:
    result = run(folded, "agents")
    # c1: agent reply 90 s after the pause, hand-back (resume) 300.1 s after; c4 unanswered.
    assert result["summary"]["escalations"] == 2
    assert result["summary"]["first_response"] == {
        "count": 1,
        "mean_s": 90.0,
        "median_s": 90.0,
        "p90_s": 90.0,
    }
    assert result["summary"]["resolution"]["mean_s"] == pytest.approx(300.1, abs=0.01)
    rows = by(result["rows"], "conversation_id")
    assert rows["c1"]["agent"] == "Alex Agent"
    assert rows["c1"]["csat"] == 4
    assert rows["c4"]["first_response_s"] is None


def test_filters_select_conversations(folded: sessionmaker) -> None:
    def ids(filters: Filters) -> list[str]:
        return run(folded, "overview", filters)["summary"]["conversation_ids"]

    assert ids(Filters(channel="socketio")) == ["c3", "c9"]
    assert ids(Filters(intent="complaint")) == ["c7", "c1", "c4"]
    assert ids(Filters(category="shoes")) == ["c1", "c2", "c4"]
    assert ids(Filters(category="Clothing")) == ["c5"]
    assert ids(WEEK.with_dates(date(2026, 11, 17), date(2026, 11, 18))) == ["c2", "c3"]
    assert ids(Filters(since=date(2026, 11, 21))) == ["c9", "c10"]
    # c9 by its language slot, c10 by its text; every other conversation is in English.
    assert ids(Filters(language="zh")) == ["c9", "c10"]
    assert ids(Filters(language="en")) == ["c6", "c7", "c1", "c2", "c3", "c4", "c5"]
    assert ids(Filters(language="zh", channel="socketio")) == ["c9"]
    assert ids(Filters(since=WEEK.since, until=WEEK.until, language="zh")) == []


def test_conversations_by_language(folded: sessionmaker) -> None:
    result = run(folded, "languages", Filters())
    assert result["summary"] == {
        "conversations": 9,
        "languages": 2,
        "conversation_ids": ["c6", "c7", "c1", "c2", "c3", "c4", "c5", "c9", "c10"],
    }
    en, zh = result["rows"]
    # English: c1..c7, 14 user messages, c1 and c4 handed over; sentiment: the week's -1.60
    # plus c6 0.00 and c7 0.05 - 0.85 = -0.80, so -2.40 over 14.
    assert (en["language"], en["label"], en["conversations"], en["messages"]) == (
        "en",
        "English",
        7,
        14,
    )
    assert (en["share"], en["escalated"], en["escalation_rate"]) == (0.7778, 2, 0.2857)
    assert en["mean_sentiment"] == pytest.approx(-2.4 / 14, abs=1e-4)
    # Chinese: c9 (3 messages: -0.50, 0.00, +0.88) and c10 (1 message: 0.00), no hand-over.
    assert (zh["language"], zh["label"], zh["conversations"], zh["messages"]) == (
        "zh",
        "中文",
        2,
        4,
    )
    assert (zh["share"], zh["escalated"], zh["escalation_rate"]) == (0.2222, 0, 0.0)
    assert zh["mean_sentiment"] == pytest.approx(0.38 / 4, abs=1e-4)
    assert zh["conversation_ids"] == ["c9", "c10"]
    # The test week has no Chinese conversation: its row is still there, empty.
    week = run(folded, "languages")
    assert [(r["language"], r["conversations"]) for r in week["rows"]] == [("en", 5), ("zh", 0)]
    assert week["rows"][1]["share"] == 0.0
    assert week["rows"][1]["mean_sentiment"] is None
    assert week["summary"]["languages"] == 1
    only_zh = run(folded, "languages", Filters(language="zh"))
    assert [r["conversations"] for r in only_zh["rows"]] == [0, 2]


def test_durations_percentiles() -> None:
    assert service_measures.durations([10.0, 20.0, 30.0, 40.0]) == {
        "count": 4,
        "mean_s": 25.0,
        "median_s": 25.0,
        "p90_s": 40.0,
    }
    assert service_measures.durations([])["mean_s"] is None
