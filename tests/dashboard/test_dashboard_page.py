"""The dashboard page over real HTTP: who may see it, what it loads, how it is protected.

Real app factory, real seeded SQLite database, real console sign-in (cookie + CSRF).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from insight.web.app import create_app
from insight.web.dashboard.views import CHART_JS_DIST
from knowledge.settings import Settings
from tests.dashboard.support import AGENT, SUPERVISOR, create_accounts, sign_in

STATIC = Path(__file__).resolve().parents[2] / "insight" / "web" / "dashboard" / "static"
SCRIPTS = sorted(path.name for path in STATIC.glob("*.js"))
# Every measure of the analytics API the page must show, with the section that shows it.
MEASURES = (
    "recommendations",
    "overview",
    "languages",
    "containment",
    "sentiment",
    "sentiment-shift",
    "intents",
    "demands",
    "demand-products",
    "churn",
    "faq",
    "low-confidence",
    "csat",
    "agents",
    "segments",
)


@pytest.fixture()
def settings(database_url: str, tmp_path: Path, session_factory: Any) -> Settings:
    create_accounts(session_factory)
    return Settings(
        data_dir=tmp_path,
        database_url=database_url,
        host="127.0.0.1",
        console_secret="dashboard-test",
        handoff_claim_timeout_s=3600,
    )


async def test_anonymous_visitors_are_sent_to_the_sign_in_page(
    aiohttp_client: Any, settings: Settings
) -> None:
    client = await aiohttp_client(create_app(settings))
    response = await client.get("/dashboard", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == "/console/login"


async def test_an_agent_is_refused(aiohttp_client: Any, settings: Settings) -> None:
    client = await aiohttp_client(create_app(settings))
    await sign_in(client, AGENT)
    response = await client.get("/dashboard")
    assert response.status == 403
    text = await response.text()
    assert "Supervisors only" in text
    assert "<canvas" not in text


async def test_a_supervisor_gets_the_page_with_every_measure(
    aiohttp_client: Any, settings: Settings
) -> None:
    client = await aiohttp_client(create_app(settings))
    await sign_in(client, SUPERVISOR)
    response = await client.get("/dashboard")
    assert response.status == 200
    html = await response.text()
    sections = set(re.findall(r'data-measure="([^"]+)"', html))
    assert sections == set(MEASURES)
    for name in ("from", "to", "channel", "intent", "category", "segment", "language"):
        assert f'name="{name}"' in html
    # The language filter offers every language the shop serves, named in that language.
    assert '<option value="en" lang="en">English</option>' in html
    assert '<option value="zh" lang="zh-CN">中文</option>' in html
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe" not in policy
    assert response.headers["Cache-Control"] == "no-store"
    # The page script knows every section the template has (and nothing else).
    sections_js = (STATIC / "sections.js").read_text()
    assert set(re.findall(r'measure: "([^"]+)"', sections_js)) == set(MEASURES)


async def test_page_scripts_never_write_html(aiohttp_client: Any, settings: Settings) -> None:
    assert len(SCRIPTS) >= 7
    client = await aiohttp_client(create_app(settings))
    for name in SCRIPTS:
        response = await client.get(f"/dashboard/static/{name}")
        assert response.status == 200, name
        source = await response.text()
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            assert sink not in source, f"{name} uses {sink}"


async def test_chart_js_is_served_from_node_modules(
    aiohttp_client: Any, settings: Settings
) -> None:
    if not (CHART_JS_DIST / "chart.umd.min.js").is_file():
        pytest.fail("chart.js is not installed: run `npm ci` (make test does)")
    client = await aiohttp_client(create_app(settings))
    response = await client.get("/dashboard/vendor/chart.umd.min.js")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("application/javascript")
    body = await response.read()
    assert body == (CHART_JS_DIST / "chart.umd.min.js").read_bytes()
    assert (await client.get("/dashboard/vendor/package.json")).status == 404
    assert (await client.get("/dashboard/vendor/..%2Fpackage.json")).status == 404


async def test_the_language_filter_and_conversations_by_language(
    aiohttp_client: Any, settings: Settings, session_factory: Any
) -> None:
    from tests.dashboard.analytics_data import fold_known_data

    # The event log's c1-c7 (English), c9 and c10 (Chinese) and the hostile one (English).
    assert fold_known_data(session_factory) == 10
    client = await aiohttp_client(create_app(settings))
    await sign_in(client, SUPERVISOR)
    chinese = await (await client.get("/dashboard/api/overview?language=zh")).json()
    assert chinese["summary"]["conversation_ids"] == ["c9", "c10"]
    both = await (await client.get("/dashboard/api/overview?language=zh&channel=socketio")).json()
    assert both["summary"]["conversation_ids"] == ["c9"]
    by_language = await (await client.get("/dashboard/api/languages")).json()
    assert [(r["language"], r["label"], r["conversations"]) for r in by_language["rows"]] == [
        ("en", "English", 8),
        ("zh", "中文", 2),
    ]
    assert by_language["rows"][1]["conversation_ids"] == ["c9", "c10"]
    drilled = await (
        await client.get("/dashboard/api/conversations?measure=languages&row=1&language=zh")
    ).json()
    assert [(r["conversation_id"], r["language"]) for r in drilled["rows"]] == [
        ("c10", "zh"),
        ("c9", "zh"),
    ]
    refused = await client.get("/dashboard/api/languages?language=de")
    assert refused.status == 400
    assert (await refused.json())["param"] == "language"
    # The page keeps the language filter in the URL like the others and draws the figure.
    api_js = (STATIC / "api.js").read_text()
    assert '"segment", "language"]' in api_js
    assert 'id: "m-languages", measure: "languages"' in (STATIC / "sections.js").read_text()
