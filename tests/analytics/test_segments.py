"""Customer segmentation: clusters, their order and their descriptions are deterministic."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import sessionmaker

from insight.analytics import segments
from knowledge.settings import Settings


def population() -> dict[int, dict[str, float]]:
    """Twelve ordinary customers and four big spenders who complain a lot."""
    base = {
        "demands": 1.0,
        "complaints": 0.0,
        "praises": 1.0,
        "mean_sentiment": 0.3,
        "orders": 2.0,
        "spend": 100.0,
        "churn_risk": 0.0,
    }
    table = {}
    for cid in range(1, 13):
        table[cid] = {**base, "spend": 90.0 + cid}
    for cid in range(13, 17):
        table[cid] = {
            **base,
            "demands": 6.0,
            "complaints": 5.0,
            "praises": 0.0,
            "mean_sentiment": -0.7,
            "orders": 9.0,
            "spend": 1500.0 + cid,
            "churn_risk": 0.4,
        }
    return table


def test_clusters_are_found_numbered_and_described() -> None:
    result = segments.segment_customers(population())
    assert result.k == 2
    assert result.silhouette is not None and result.silhouette > 0.5
    assert {cid for cid, s in result.assignments.items() if s == 2} == {13, 14, 15, 16}
    first, second = result.info
    assert (first["segment"], first["size"], second["size"]) == (1, 12, 4)
    assert second["features"]["spend"]["z"] > 1.5
    # Every feature sets the big spenders apart equally (|z| = 1.73): ties go by name.
    assert second["label"] == "High churn risk, many complaints"
    assert "much praise" not in second["description"]
    assert "4 of 16 customers (25%)" in second["description"]
    assert "sd)" in second["description"]
    assert segments.segment_customers(population()) == result


def test_identical_customers_make_one_typical_segment() -> None:
    same = {cid: dict.fromkeys(segments.FEATURES, 1.0) for cid in range(1, 5)}
    result = segments.segment_customers(same)
    assert (result.k, result.silhouette) == (1, None)
    assert result.info[0]["label"] == "Typical customers"
    assert segments.segment_customers({}).k == 0


def test_refresh_stores_the_segmentation(folded: sessionmaker) -> None:
    with folded() as session, session.begin():
        result = segments.refresh(session, Settings(), datetime(2026, 11, 23))
    with folded() as session:
        infos, members = segments.stored(session)
    assert sorted(c for ids in members.values() for c in ids) == [1, 2, 3]
    assert [i.segment for i in infos] == [item["segment"] for item in result.info]
    assert infos[0].k == result.k
