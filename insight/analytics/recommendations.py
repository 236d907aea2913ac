"""Short, data-backed recommendations computed from the measures, each with its evidence.

Every rule reads the same selected conversations as the dashboard (same filters) and yields at
most a few sentences with numbers in them and the conversation ids they come from:

* complaint trends: complaints (negative messages with a demand) per aspect and product
  category, this period against the previous period of equal length;
* high-value customers at churn risk, grouped by what they complain about;
* FAQ content gaps, escalation causes, low-confidence NLU messages, poor CSAT, conversations that
  end worse than they began, and intents that surge.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from datetime import timedelta
from typing import Any, Iterator

from sqlalchemy.orm import Session

from insight.analytics import dataset, measures, service_measures
from insight.analytics.at_risk import churn
from insight.analytics.filters import Filters
from insight.analytics.measure_base import REASON_LABELS, Context, ids_of

logger = logging.getLogger(__name__)

Recommendation = dict[str, Any]
SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}
# Complaint trend: at least this many complaints now and this relative rise.
MIN_COMPLAINTS = 3
MIN_RISE = 0.25
MIN_RISK = 0.3


def _words(name: str) -> str:
    return name.replace("_", " ")


def _complaints(data: dataset.Dataset) -> dict[tuple[str, str], list[Any]]:
    """``(aspect, category) -> negative messages`` (category "all products" when none named)."""
    grouped: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for m in data.all_messages():
        if m.sentiment_label != "negative":
            continue
        for d in m.demands or []:
            categories = [d["category"]] if d.get("category") else (m.categories or [])
            for category in categories or ["all products"]:
                grouped[(d["aspect"], category)].append(m)
    return grouped


def complaint_trends(session: Session, filters: Filters, ctx: Context) -> Iterator[Recommendation]:
    """Aspect/category complaints that rose against the previous period."""
    data = dataset.load(session, filters)
    since, until = measures.period(filters, data)
    if since is None or until is None:
        return
    days = (until - since).days + 1
    prev_until = since - timedelta(days=1)
    previous = dataset.load(
        session, filters.with_dates(prev_until - timedelta(days=days - 1), prev_until)
    )
    now, before = _complaints(data), _complaints(previous)
    span = "week" if days == 7 else f"{days} days" if days != 1 else "day"
    for (aspect, category), items in sorted(now.items(), key=lambda kv: -len(kv[1])):
        count, prev = len(items), len(before.get((aspect, category), []))
        if count < MIN_COMPLAINTS or (prev and (count - prev) / prev < MIN_RISE):
            continue
        where = "" if category == "all products" else f" about {category}"
        if prev:
            rise = round((count - prev) / prev * 100)
            text = (
                f"{_words(aspect).capitalize()} complaints{where} up {rise}% on the previous "
                f"{span} ({prev} -> {count})."
            )
        else:
            rise = None
            text = f"{count} {_words(aspect)} complaints{where}, none in the previous {span}."
        yield {
            "id": f"complaints:{aspect}:{category}",
            "kind": "complaint_trend",
            "severity": "high" if rise is None or rise >= 50 else "medium",
            "text": text,
            "conversation_ids": ids_of(items),
        }


def churn_risk(session: Session, filters: Filters, ctx: Context) -> Iterator[Recommendation]:
    """High-value customers at churn risk, grouped by their main complaint."""
    ctx = Context(ctx.settings, ctx.now, {"min_risk": str(MIN_RISK)})
    rows = [
        r
        for r in churn(session, filters, ctx)["rows"]
        if r["spend"] >= ctx.settings.handoff_high_value_spend
    ]
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        grouped[row["complaints"][0] if row["complaints"] else ""].append(row)
    for aspect, items in sorted(grouped.items(), key=lambda kv: -len(kv[1])):
        value = sum(r["value_at_risk"] for r in items)
        many = len(items) > 1
        who = f"{len(items)} high-value customer{'s' if many else ''} at churn risk"
        cite = f" {'cite' if many else 'cites'} {_words(aspect)}" if aspect else ""
        yield {
            "id": f"churn:{aspect or 'other'}",
            "kind": "churn_risk",
            "severity": "high",
            "text": f"{who}{cite}; {ctx.settings.currency_symbol}{value:,.0f} of spend at risk. "
            "Reach out before they leave.",
            "conversation_ids": [i for r in items for i in r["conversation_ids"]],
        }


def faq_gaps(session: Session, filters: Filters, ctx: Context) -> Iterator[Recommendation]:
    """Questions that found no FAQ answer."""
    result = service_measures.faq(session, filters, ctx)
    gaps = result["rows"]
    if len(gaps) < 2:
        return
    top = Counter(r["intent"] or "not understood" for r in gaps).most_common(1)[0]
    rate = result["summary"]["answer_rate"]
    yield {
        "id": "faq:gaps",
        "kind": "content_gap",
        "severity": "medium",
        "text": f"{len(gaps)} questions found no good FAQ answer (answer rate {rate:.0%}); "
        f"most were {_words(top[0])} ({top[1]}). Add answer templates for them.",
        "conversation_ids": list(dict.fromkeys(r["conversation_id"] for r in gaps)),
    }


def escalations(session: Session, filters: Filters, ctx: Context) -> Iterator[Recommendation]:
    """The main cause of hand-overs when they are frequent."""
    result = measures.containment(session, filters, ctx)
    summary = result["summary"]
    if not result["rows"] or (summary["escalation_rate"] or 0) < 0.2:
        return
    top = result["rows"][0]
    yield {
        "id": f"escalation:{top['reason']}",
        "kind": "escalation",
        "severity": "medium",
        "text": f"{summary['escalation_rate']:.0%} of conversations went to a person; the most "
        f"common cause: {REASON_LABELS.get(top['reason'], top['reason']).lower()} "
        f"({top['conversations']}).",
        "conversation_ids": top["conversation_ids"],
    }


def nlu_review(session: Session, filters: Filters, ctx: Context) -> Iterator[Recommendation]:
    """Many low-confidence messages: review them and extend the training data."""
    result = service_measures.low_confidence(session, filters, ctx)
    summary = result["summary"]
    if summary["low_confidence"] < 3 or (summary["rate"] or 0) < 0.1:
        return
    yield {
        "id": "nlu:low_confidence",
        "kind": "nlu_review",
        "severity": "low",
        "text": f"{summary['low_confidence']} messages ({summary['rate']:.0%}) fell below the "
        f"NLU confidence threshold {summary['threshold']:.2f}; review them and add them to the "
        "training data.",
        "conversation_ids": summary["conversation_ids"],
    }


def poor_csat(session: Session, filters: Filters, ctx: Context) -> Iterator[Recommendation]:
    """Low ratings after hand-backs."""
    summary = service_measures.csat(session, filters, ctx)["summary"]
    if summary["ratings"] < 3 or summary["mean"] is None or summary["mean"] >= 3.5:
        return
    low = summary["distribution"]["1"] + summary["distribution"]["2"]
    yield {
        "id": "csat:low",
        "kind": "csat",
        "severity": "medium",
        "text": f"Customers rate hand-overs {summary['mean']:.1f}/5 on average "
        f"({summary['ratings']} ratings, {low} of them 1-2 stars).",
        "conversation_ids": summary["conversation_ids"],
    }


def worsening(session: Session, filters: Filters, ctx: Context) -> Iterator[Recommendation]:
    """More conversations end worse than they began than better."""
    result = measures.sentiment_shift(session, filters, ctx)
    summary = result["summary"]
    if summary["worsened"] < 3 or summary["worsened"] <= summary["improved"]:
        return
    yield {
        "id": "sentiment:worsening",
        "kind": "sentiment",
        "severity": "medium",
        "text": f"{summary['worsened']} conversations ended more negative than they began "
        f"(only {summary['improved']} improved); read them for failing flows.",
        "conversation_ids": [
            r["conversation_id"] for r in result["rows"] if r["delta"] <= -measures.SHIFT_EPSILON
        ],
    }


def intent_surges(session: Session, filters: Filters, ctx: Context) -> Iterator[Recommendation]:
    """Intents at least 50% up on the previous period (with 5+ messages)."""
    for row in measures.intents(session, filters, ctx)["rows"]:
        if row["count"] >= 5 and row["change_pct"] is not None and row["change_pct"] >= 50:
            yield {
                "id": f"intent:{row['intent']}",
                "kind": "intent_trend",
                "severity": "low",
                "text": f"'{_words(row['intent'])}' requests up {row['change_pct']:.0f}% on the "
                f"previous period ({row['previous_count']} -> {row['count']}).",
                "conversation_ids": row["conversation_ids"],
            }


RULES = (
    complaint_trends,
    churn_risk,
    faq_gaps,
    escalations,
    poor_csat,
    worsening,
    nlu_review,
    intent_surges,
)


def recommend(session: Session, filters: Filters, ctx: Context) -> list[Recommendation]:
    """All recommendations, most severe and best evidenced first."""
    found = [item for rule in RULES for item in rule(session, filters, ctx)]
    found.sort(key=lambda r: (SEVERITY_ORDER[r["severity"]], -len(r["conversation_ids"]), r["id"]))
    return found
