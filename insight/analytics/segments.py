"""Customer segments from the knowledge-graph profile (scikit-learn KMeans).

Features per customer: demands raised (HAS_DEMAND edges of their messages), negative and
positive messages, mean signed sentiment, orders, lifetime spend, and the history churn risk of
``knowledge.scoring.churn.customer_risk`` over ``knowledge.graph.queries.churn_inputs``. They are
standardised (z-scores), KMeans runs for k = 2..6 with a fixed ``random_state`` and the k with
the best silhouette wins. Segments are numbered 1..k by size (largest first) and described in
words by the features that set them apart: a segment's z-score of a feature is its members'
mean standardised value, i.e. how many population standard deviations it sits from the mean.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, delete, func, select
from sqlalchemy.orm import Session

from insight.analytics.tables import AnalyticsSegment, AnalyticsSegmentInfo
from knowledge.graph.queries import churn_inputs
from knowledge.models import Customer, GraphEdge, Message, Relation
from knowledge.scoring.churn import ChurnConfig, customer_risk
from knowledge.settings import Settings

logger = logging.getLogger(__name__)

FEATURES = ("demands", "complaints", "praises", "mean_sentiment", "orders", "spend", "churn_risk")
K_RANGE = range(2, 7)
RANDOM_STATE = 20240601
# A feature describes a segment when its |z| reaches this.
DESCRIBE_Z = 0.5
_WORDS = {
    "demands": ("many demands raised", "few demands raised"),
    "complaints": ("many complaints", "few complaints"),
    "praises": ("much praise", "little praise"),
    "mean_sentiment": ("positive sentiment", "negative sentiment"),
    "orders": ("many orders", "few orders"),
    "spend": ("high spend", "low spend"),
    "churn_risk": ("high churn risk", "low churn risk"),
}


@dataclass(frozen=True)
class Segmentation:
    """The outcome of :func:`segment_customers`."""

    k: int
    silhouette: float | None
    assignments: dict[int, int]
    features: dict[int, dict[str, float]]
    info: list[dict[str, Any]]


def customer_features(session: Session, settings: Settings, now: datetime) -> dict[int, dict]:
    """``customer id -> {feature: value}`` for every customer of the shop."""
    config = ChurnConfig.from_settings(settings)
    customers = session.execute(select(Customer.id).order_by(Customer.id)).scalars().all()
    sentiment = {
        cid: (negative or 0, positive or 0, mean)
        for cid, negative, positive, mean in session.execute(
            select(
                Message.customer_id,
                func.sum(case((Message.sentiment_label == "negative", 1), else_=0)),
                func.sum(case((Message.sentiment_label == "positive", 1), else_=0)),
                func.avg(Message.sentiment_score),
            )
            .where(Message.customer_id.is_not(None))
            .group_by(Message.customer_id)
        ).all()
    }
    demands = dict(
        session.execute(
            select(Message.customer_id, func.count(GraphEdge.id))
            .join(GraphEdge, GraphEdge.message_id == Message.id)
            .where(
                Message.customer_id.is_not(None),
                GraphEdge.relation == Relation.HAS_DEMAND.value,
            )
            .group_by(Message.customer_id)
        ).all()
    )
    table: dict[int, dict] = {}
    for cid in customers:
        inputs = churn_inputs(session, cid, now)
        negative, positive, mean = sentiment.get(cid, (0, 0, None))
        table[cid] = {
            "demands": float(demands.get(cid, 0)),
            "complaints": float(negative),
            "praises": float(positive),
            "mean_sentiment": float(mean or 0.0),
            "orders": float(inputs.orders),
            "spend": float(inputs.spend),
            "churn_risk": float(customer_risk(inputs, config).risk),
        }
    return table


def segment_customers(features: dict[int, dict[str, float]]) -> Segmentation:
    """Cluster the customers; deterministic for the same features."""
    import numpy as np
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    ids = sorted(features)
    if not ids:
        return Segmentation(0, None, {}, {}, [])
    raw = np.array([[features[c][f] for f in FEATURES] for c in ids], dtype=float)
    scaled = StandardScaler().fit_transform(raw)
    best: tuple[float, int, Any] | None = None
    distinct = len({tuple(row) for row in scaled.round(9)})
    # One thread: on a few hundred rows OpenMP's threads cost far more than they save
    # (0.3 s instead of 14-18 s for k = 2..6 on the shared 2-core machine).
    with threadpool_limits(limits=1):
        for k in K_RANGE:
            if k >= distinct:
                break
            model = KMeans(n_clusters=k, n_init=10, random_state=RANDOM_STATE)
            labels = model.fit_predict(scaled)
            score = float(silhouette_score(scaled, labels))
            if best is None or score > best[0] + 1e-9:
                best = (score, k, labels)
    if best is None:
        labels, k, silhouette = np.zeros(len(ids), dtype=int), 1, None
    else:
        silhouette, k, labels = best
    # Number segments 1..k by size, ties by their first (smallest) customer id.
    order = sorted(
        set(labels.tolist()),
        key=lambda c: (-int((labels == c).sum()), ids[int(np.flatnonzero(labels == c)[0])]),
    )
    number = {cluster: n for n, cluster in enumerate(order, start=1)}
    assignments = {cid: number[int(label)] for cid, label in zip(ids, labels.tolist(), strict=True)}
    info = []
    for cluster in order:
        members = labels == cluster
        z = scaled[members].mean(axis=0)
        means = raw[members].mean(axis=0)
        stats = {
            f: {"mean": round(float(means[i]), 4), "z": round(float(z[i]), 3)}
            for i, f in enumerate(FEATURES)
        }
        label, description = describe(stats, int(members.sum()), len(ids))
        info.append(
            {
                "segment": number[cluster],
                "label": label,
                "description": description,
                "size": int(members.sum()),
                "features": stats,
            }
        )
    return Segmentation(
        k=k,
        silhouette=None if silhouette is None else round(float(silhouette), 4),
        assignments=assignments,
        features={cid: features[cid] for cid in ids},
        info=info,
    )


def describe(stats: dict[str, dict[str, float]], size: int, total: int) -> tuple[str, str]:
    """A short label and a sentence naming the features that set a segment apart."""
    ranked = sorted(
        (f for f in FEATURES if abs(stats[f]["z"]) >= DESCRIBE_Z),
        key=lambda f: (-abs(stats[f]["z"]), f),
    )[:3]
    if not ranked:
        return "Typical customers", (
            f"{size} of {total} customers ({size / total:.0%}), close to the average on every "
            "feature."
        )
    words = [_WORDS[f][0 if stats[f]["z"] > 0 else 1] for f in ranked]
    label = ", ".join(words[:2])
    details = "; ".join(
        f"{_WORDS[f][0 if stats[f]['z'] > 0 else 1]} (mean {stats[f]['mean']:g}, "
        f"{stats[f]['z']:+.1f} sd)"
        for f in ranked
    )
    share = f"{size} of {total} customers ({size / total:.0%})"
    return label[:1].upper() + label[1:], f"{share}: {details}."


def save(session: Session, result: Segmentation, now: datetime) -> None:
    """Replace the stored segmentation with ``result``."""
    session.execute(delete(AnalyticsSegment))
    session.execute(delete(AnalyticsSegmentInfo))
    for cid, segment in result.assignments.items():
        session.add(
            AnalyticsSegment(
                customer_id=cid,
                segment=segment,
                features=result.features[cid],
                computed_at=now,
            )
        )
    for item in result.info:
        session.add(
            AnalyticsSegmentInfo(
                segment=item["segment"],
                label=item["label"][:200],
                description=item["description"],
                size=item["size"],
                features=item["features"],
                k=result.k,
                silhouette=result.silhouette,
                computed_at=now,
            )
        )


def refresh(session: Session, settings: Settings, now: datetime) -> Segmentation:
    """Recompute and store the segmentation (run inside a transaction)."""
    result = segment_customers(customer_features(session, settings, now))
    save(session, result, now)
    logger.info("Segmented %d customers into %d segments", len(result.assignments), result.k)
    return result


def stored(session: Session) -> tuple[list[AnalyticsSegmentInfo], dict[int, list[int]]]:
    """The stored segments and each segment's customer ids."""
    infos = list(
        session.execute(
            select(AnalyticsSegmentInfo).order_by(AnalyticsSegmentInfo.segment)
        ).scalars()
    )
    members: dict[int, list[int]] = {i.segment: [] for i in infos}
    for cid, segment in session.execute(
        select(AnalyticsSegment.customer_id, AnalyticsSegment.segment).order_by(
            AnalyticsSegment.customer_id
        )
    ).all():
        members.setdefault(segment, []).append(cid)
    return infos, members


def segment_labels(session: Session) -> list[dict[str, Any]]:
    """``[{"segment", "label"}]`` for the filter options."""
    return [
        {"segment": s, "label": label}
        for s, label in session.execute(
            select(AnalyticsSegmentInfo.segment, AnalyticsSegmentInfo.label).order_by(
                AnalyticsSegmentInfo.segment
            )
        ).all()
    ]
