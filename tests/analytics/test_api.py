"""The analytics JSON API on the real web app: auth, measures, drill-down, CSV, masking,
400s for bad filters, and the background consumer of the SQL event broker."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import sessionmaker

from insight.web.app import create_app
from knowledge.handoff.agents import create_agent
from knowledge.settings import Settings
from tests.analytics.conftest import load_log

PASSWORD = "correct-horse-battery"


@pytest.fixture()
def accounts(factory: sessionmaker) -> None:
    with factory() as session, session.begin():
        create_agent(session, "alex", "Alex", PASSWORD, "agent", rounds=4)
        create_agent(session, "kim", "Kim", PASSWORD, "supervisor", rounds=4)


def make_settings(shop_url: str, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path,
        "database_url": shop_url,
        "host": "127.0.0.1",
        "rasa_port": 9,
        "rasa_token": "test-token",
        "console_secret": "test-secret",
        "analytics_ingest_interval_s": 0,
    }
    values.update(overrides)
    return Settings(**values)


async def login(client: Any, username: str) -> None:
    page = await client.get("/console/login")
    found = re.search(r'name="csrf_token" value="([^"]+)"', await page.text())
    assert found is not None
    csrf = found.group(1)
    response = await client.post(
        "/console/login",
        data={"username": username, "password": PASSWORD, "csrf_token": csrf},
        allow_redirects=False,
    )
    assert response.status == 303, await response.text()


@pytest.fixture()
async def supervisor(
    aiohttp_client: Any, folded: sessionmaker, accounts: None, shop_url: str, tmp_path: Path
) -> Any:
    client = await aiohttp_client(create_app(make_settings(shop_url, tmp_path)))
    await login(client, "kim")
    return client


async def test_only_supervisors_get_the_api(
    aiohttp_client: Any, folded: sessionmaker, accounts: None, shop_url: str, tmp_path: Path
) -> None:
    client = await aiohttp_client(create_app(make_settings(shop_url, tmp_path)))
    anonymous = await client.get("/dashboard/api/overview")
    assert anonymous.status == 401
    assert (await anonymous.json())["error"] == "sign in first"
    await login(client, "alex")
    for path in (
        "/dashboard/api/overview",
        "/dashboard/api/conversations/c1",
        "/dashboard/api/segments",
        "/dashboard/api/churn.csv",
    ):
        refused = await client.get(path)
        assert refused.status == 403, path
    await login(client, "kim")
    allowed = await client.get("/dashboard/api/overview")
    assert allowed.status == 200
    assert (await allowed.json())["summary"]["conversations"] == 9


async def test_every_measure_answers_with_rows_and_drill_ids(supervisor: Any) -> None:
    names = (await (await supervisor.get("/dashboard/api/measures")).json())["measures"]
    assert len(names) == 13
    for name in names:
        response = await supervisor.get(f"/dashboard/api/{name}?from=2026-11-16&to=2026-11-22")
        assert response.status == 200, name
        body = await response.json()
        assert body["measure"] == name
        assert body["filters"]["from"] == "2026-11-16"
        assert "conversation_ids" in body["summary"]
        assert all("conversation_ids" in row for row in body["rows"]), name
    body = await (await supervisor.get("/dashboard/api/containment?from=2026-11-16")).json()
    # c1 and c4 handed over, of c1..c5 and the Chinese c9, c10 after the week: 2 / 7.
    assert body["summary"]["escalation_rate"] == 0.2857
    missing = await supervisor.get("/dashboard/api/nonsense")
    assert missing.status == 404


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("from=2026-13-01", "from"),
        ("from=2026-11-20&to=2026-11-01", "from"),
        ("segment=two", "segment"),
        ("channel=%3Cscript%3E", "channel"),
        ("colour=red", "colour"),
        ("format=xml", "format"),
    ],
)
async def test_bad_filters_get_a_clear_400(supervisor: Any, query: str, param: str) -> None:
    response = await supervisor.get(f"/dashboard/api/overview?{query}")
    assert response.status == 400
    body = await response.json()
    assert body["param"] == param
    assert body["error"]


async def test_measure_parameter_errors(supervisor: Any) -> None:
    response = await supervisor.get("/dashboard/api/churn?min_risk=2")
    assert response.status == 400
    assert (await response.json())["param"] == "min_risk"
    response = await supervisor.get("/dashboard/api/conversations?limit=0")
    assert (await response.json())["param"] == "limit"


async def test_drill_down_list_and_transcript(supervisor: Any) -> None:
    listing = await (await supervisor.get("/dashboard/api/conversations?ids=c1,c4,c6")).json()
    assert listing["total"] == 3
    assert [r["conversation_id"] for r in listing["rows"]] == ["c4", "c1", "c6"]
    assert listing["rows"][0]["escalation_reason"] == "negative_streak"
    page = await (await supervisor.get("/dashboard/api/conversations?limit=2&offset=1")).json()
    assert (page["total"], len(page["rows"])) == (9, 2)
    detail = await (await supervisor.get("/dashboard/api/conversations/c1")).json()
    kinds = [line["kind"] for line in detail["transcript"]]
    assert kinds.count("user") == 4
    assert "agent" in kinds
    first = detail["transcript"][0]
    assert first["intent"] == "complaint"
    assert first["sentiment"] == {"label": "negative", "score": -0.88}
    assert first["demands"] == [
        {"aspect": "delivery", "product": "Trail Runner", "confidence": 0.9}
    ]
    agent = next(line for line in detail["transcript"] if line["kind"] == "agent")
    assert agent["agent"] == "Alex Agent"
    assert agent["text"] == "So sorry! I refunded the shipping to [card]."
    assert detail["transcript"][-2]["text"] == "4"
    missing = await supervisor.get("/dashboard/api/conversations/nobody")
    assert missing.status == 404


async def test_drill_by_measure_row(supervisor: Any) -> None:
    week = "from=2026-11-16&to=2026-11-22"
    intents = await (await supervisor.get(f"/dashboard/api/intents?{week}")).json()
    assert intents["rows"][0]["intent"] == "complaint"
    drilled = await (
        await supervisor.get(f"/dashboard/api/conversations?measure=intents&row=0&{week}")
    ).json()
    assert sorted(r["conversation_id"] for r in drilled["rows"]) == ["c1", "c4"]
    summary = await (
        await supervisor.get(f"/dashboard/api/conversations?measure=containment&{week}")
    ).json()
    assert summary["total"] == 5
    churn = await (
        await supervisor.get("/dashboard/api/conversations?measure=churn&row=0&min_risk=0.5")
    ).json()
    assert sorted(r["conversation_id"] for r in churn["rows"]) == ["c1", "c4"]
    for query, param in (
        ("measure=intents&row=99", "row"),
        ("row=0", "row"),
        ("measure=bogus", "measure"),
        ("measure=csat&ids=c1", "ids"),
    ):
        response = await supervisor.get(f"/dashboard/api/conversations?{query}")
        assert response.status == 400, query
        assert (await response.json())["param"] == param


async def test_personal_data_is_masked_in_json_and_csv(supervisor: Any) -> None:
    detail = await (await supervisor.get("/dashboard/api/conversations/c5")).json()
    text = detail["transcript"][0]["text"]
    assert "[phone]" in text and "[email]" in text
    assert "900123" not in text and "jane.doe" not in text
    export = await supervisor.get("/dashboard/api/conversations.csv")
    assert export.headers["Content-Type"].startswith("text/csv")
    body = await export.text()
    assert "jane.doe@example.com" not in body and "7700 900123" not in body
    rows = list(csv.DictReader(io.StringIO(body)))
    assert {r["conversation_id"] for r in rows} == {f"c{i}" for i in (1, 2, 3, 4, 5, 6, 7, 9, 10)}
    c5 = next(r for r in rows if r["conversation_id"] == "c5")
    assert "[email]" in c5["first_text"]


def test_csv_cells_never_start_a_formula() -> None:
    from insight.web.dashboard.api import csv_cell, to_csv

    assert csv_cell('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert csv_cell(["@SUM(A1)", "b"]) == "'@SUM(A1) b"
    assert csv_cell(-0.88) == -0.88
    assert csv_cell(None) == ""
    assert csv_cell([{"a": 1}]) == '[{"a":1}]'
    assert to_csv([{"a": 1}, {"b": "+1"}]) == "a,b\n1,\n,'+1\n"


async def test_csv_export_of_measures(supervisor: Any) -> None:
    response = await supervisor.get(
        "/dashboard/api/intents?from=2026-11-16&to=2026-11-22&format=csv"
    )
    rows = list(csv.DictReader(io.StringIO(await response.text())))
    complaint = next(r for r in rows if r["intent"] == "complaint")
    assert (complaint["count"], complaint["previous_count"]) == ("3", "1")
    assert complaint["conversation_ids"] == "c1 c4"
    churn = await (await supervisor.get("/dashboard/api/churn.csv")).text()
    assert churn.splitlines()[0].startswith("customer_id,name,segment,risk")
    for name in ("segments", "recommendations"):
        response = await supervisor.get(f"/dashboard/api/{name}.csv")
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/csv")


async def test_segments_recommendations_and_filter_options(supervisor: Any) -> None:
    segments = await (await supervisor.get("/dashboard/api/segments")).json()
    assert segments["summary"]["customers"] == 3
    assert sum(row["size"] for row in segments["rows"]) == 3
    assert all(row["description"] for row in segments["rows"])
    options = await (await supervisor.get("/dashboard/api/filters")).json()
    assert options["channels"] == ["rest", "socketio"]
    assert options["categories"] == ["Clothing", "Shoes"]
    assert [s["segment"] for s in options["segments"]] == [r["segment"] for r in segments["rows"]]
    segment = segments["rows"][0]["segment"]
    filtered = await (await supervisor.get(f"/dashboard/api/overview?segment={segment}")).json()
    customers = set(segments["rows"][0]["customer_ids"])
    listing = await (await supervisor.get(f"/dashboard/api/conversations?segment={segment}")).json()
    assert {r["customer_id"] for r in listing["rows"]} <= customers
    assert filtered["summary"]["conversations"] == listing["total"]
    recs = await (await supervisor.get("/dashboard/api/recommendations?from=2026-11-16")).json()
    churn = next(r for r in recs["rows"] if r["kind"] == "churn_risk")
    assert churn["text"].startswith("1 high-value customer at churn risk cites delivery")
    assert churn["conversation_ids"] == ["c1", "c4"]


async def test_background_consumer_reads_the_event_broker(
    aiohttp_client: Any, factory: sessionmaker, accounts: None, shop_url: str, tmp_path: Path
) -> None:
    settings = make_settings(shop_url, tmp_path, analytics_ingest_interval_s=0.05)
    from insight.analytics.rasa_broker import BufferedSQLEventBroker

    broker = BufferedSQLEventBroker(dialect="sqlite", db=settings.resolved_events_db)
    for item in load_log():
        broker.publish(item)
    client = await aiohttp_client(create_app(settings))
    await login(client, "kim")
    for _ in range(100):
        body = await (await client.get("/dashboard/api/overview")).json()
        if body["summary"]["conversations"] == 9:
            break
        await asyncio.sleep(0.1)
    assert body["summary"]["conversations"] == 9
    assert body["summary"]["messages"] == 18
    await broker.close()
