"""The supervisor dashboard in headless Chromium against the real app and known analytics data.

Real insight app (``create_app``: console sign-in, analytics API, dashboard page) on a seeded
SQLite database into which the analytics' fixed Rasa event log and one hostile conversation were
folded by the analytics' own fold (tests/dashboard/analytics_data.py). The test reads every
chart's data out of Chart.js and compares it with the JSON the API returns, applies a filter,
drills down from a chart and from a table to a transcript, checks masking and that hostile text
stays text, checks that an agent is refused, and saves the screenshots the README links.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from insight.web.app import create_app
from knowledge.settings import Settings
from tests.dashboard.analytics_data import (
    CARD,
    EMAIL,
    HOSTILE_SENDER,
    PHONE,
    STREET,
    XSS,
    fold_known_data,
)
from tests.dashboard.support import AGENT, PASSWORD, SUPERVISOR, create_accounts
from tests.insight.widget_support import DESKTOP, SCREENSHOTS, launch_chromium

pytestmark = pytest.mark.browser

playwright_api = pytest.importorskip("playwright.async_api")

READY = "body[data-state=ready]"
CHART_DATA = """(selector) => {
  const chart = Chart.getChart(document.querySelector(selector));
  return chart ? {type: chart.config.type, labels: chart.data.labels,
                  data: chart.data.datasets.map((d) => d.data)} : null;
}"""
CHART_POINT = """([selector, dataset, index]) => {
  const chart = Chart.getChart(document.querySelector(selector));
  const element = chart.getDatasetMeta(dataset).data[index];
  const box = chart.canvas.getBoundingClientRect();
  const {x, y} = element.tooltipPosition();
  return {x: box.left + x, y: box.top + (chart.config.type === "bar" ? (y + element.base) / 2 : y)};
}"""
API = "async (path) => { const r = await fetch('/dashboard/api/' + path); return r.json(); }"


async def sign_in(page: Any, base: str, username: str) -> None:
    await page.goto(f"{base}/console/login")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base}/console")


async def chart(page: Any, measure: str) -> dict[str, Any]:
    data = await page.evaluate(CHART_DATA, f"#m-{measure} canvas")
    assert data is not None, f"no chart drawn for {measure}"
    return data


async def check_charts_match_api(page: Any, query: str = "") -> dict[str, Any]:
    """Every chart holds exactly the API's numbers; the API answers by measure."""
    api = {m: await page.evaluate(API, m + query) for m in MEASURES_WITH_CHARTS}
    api["segments"] = await page.evaluate(API, "segments")

    overview = await chart(page, "overview")
    rows = api["overview"]["rows"]
    assert overview["labels"] == [r["day"] for r in rows]
    assert overview["data"] == [[r["conversations"] for r in rows], [r["messages"] for r in rows]]

    languages = await chart(page, "languages")
    rows = api["languages"]["rows"]
    assert languages["labels"] == [r["label"] for r in rows]
    assert languages["data"] == [[r["conversations"] for r in rows]]

    containment = await chart(page, "containment")
    s, rows = api["containment"]["summary"], api["containment"]["rows"]
    assert containment["data"] == [[s["contained"], *[r["conversations"] for r in rows]]]

    sentiment = await chart(page, "sentiment")
    rows = api["sentiment"]["rows"]
    assert sentiment["labels"] == [r["day"] for r in rows]
    assert sentiment["data"] == [
        [r[key] for r in rows] for key in ("mean", "negative", "neutral", "positive")
    ]

    shift = await chart(page, "sentiment-shift")
    s = api["sentiment-shift"]["summary"]
    assert shift["data"] == [[s["improved"], s["unchanged"], s["worsened"]]]

    intents = await chart(page, "intents")
    rows = api["intents"]["rows"][:15]
    assert intents["labels"] == [r["intent"] for r in rows]
    assert intents["data"] == [[r["count"] for r in rows], [r["previous_count"] for r in rows]]

    demands = await chart(page, "demands")
    rows = api["demands"]["rows"]
    assert demands["labels"] == [r["aspect"] for r in rows]
    assert demands["data"] == [[r[k] for r in rows] for k in ("negative", "neutral", "positive")]

    products = await chart(page, "demand-products")
    rows = sorted(api["demand-products"]["rows"], key=lambda r: -r["mentions"])[:12]
    assert sorted(products["data"][0], reverse=True) == [r["mentions"] for r in rows]

    faq = await chart(page, "faq")
    s = api["faq"]["summary"]
    assert faq["data"] == [[s["answered"], s["choice"], s["unanswered"]]]

    csat = await chart(page, "csat")
    distribution = api["csat"]["summary"]["distribution"]
    assert csat["data"] == [[distribution[str(n)] for n in range(1, 6)]]

    agents = await chart(page, "agents")
    fr, res = (api["agents"]["summary"][k] for k in ("first_response", "resolution"))
    assert agents["data"] == [[fr[k], res[k]] for k in ("median_s", "mean_s", "p90_s")]

    segments = await chart(page, "segments")
    assert segments["data"] == [[r["size"] for r in api["segments"]["rows"]]]

    conversations = api["overview"]["summary"]["conversations"]
    kpi = await page.inner_text("[data-kpi=conversations] dd")
    assert kpi == str(conversations)
    return api


MEASURES_WITH_CHARTS = (
    "overview",
    "languages",
    "containment",
    "sentiment",
    "sentiment-shift",
    "intents",
    "demands",
    "demand-products",
    "faq",
    "csat",
    "agents",
    "churn",
    "low-confidence",
)


async def test_dashboard_shows_the_api_numbers_drills_down_and_masks(
    aiohttp_server: Any, database_url: str, tmp_path: Path, session_factory: Any
) -> None:
    create_accounts(session_factory)
    # c1-c7 and the Chinese c9, c10 of the log + the hostile one.
    assert fold_known_data(session_factory) == 10
    settings = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        host="127.0.0.1",
        console_secret="dashboard-browser",
        handoff_claim_timeout_s=3600,
        analytics_ingest_interval_s=0,
    )
    server = await aiohttp_server(create_app(settings))
    base = str(server.make_url("")).rstrip("/")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    async with playwright_api.async_playwright() as playwright:
        browser = await launch_chromium(playwright)
        try:
            # An agent is refused the page (and the API).
            agent_page = await browser.new_page()
            await sign_in(agent_page, base, AGENT)
            refused = await agent_page.goto(f"{base}/dashboard")
            assert refused is not None and refused.status == 403
            assert "Supervisors only" in await agent_page.inner_text("h1")
            assert (await agent_page.evaluate(API, "overview")) == {"error": "supervisors only"}
            await agent_page.close()

            page = await browser.new_page(viewport=DESKTOP)
            dialogs: list[str] = []
            page.on("dialog", lambda dialog: dialogs.append(dialog.message))
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            await page.goto(f"{base}/dashboard")
            assert page.url.endswith("/console/login"), "anonymous visitors must sign in"
            await sign_in(page, base, SUPERVISOR)
            await page.goto(f"{base}/dashboard")
            await page.wait_for_selector(READY, timeout=20_000)

            api = await check_charts_match_api(page)
            total = api["overview"]["summary"]["conversations"]
            assert total == 10  # the event log's 9 conversations + the hostile one
            recommendations = (await page.evaluate(API, "recommendations"))["rows"]
            assert recommendations, "the event log must give at least one recommendation"
            shown = await page.locator("#m-recommendations li").count()
            assert shown == min(6, len(recommendations))
            assert await page.locator("#m-churn tbody tr").count() == len(api["churn"]["rows"])
            await page.screenshot(path=str(SCREENSHOTS / "dashboard-overview.png"), full_page=True)

            # Every table has its CSV export, and the export is CSV of the same rows.
            links = page.locator("main a.csv")
            assert await links.count() == 15
            href = await page.get_attribute("#m-intents a.csv", "href")
            csv_text = await page.evaluate("async (u) => (await fetch(u)).text()", href)
            assert csv_text.splitlines()[0].startswith("intent,count")
            assert len(csv_text.strip().splitlines()) == len(api["intents"]["rows"]) + 1

            # A filter: only socket.io conversations; the charts follow the API again.
            await page.select_option("select[name=channel]", "socketio")
            await page.click("#filters button[type=submit]")
            await page.wait_for_url("**/dashboard?channel=socketio")
            await page.wait_for_selector(READY)
            filtered = await check_charts_match_api(page, "?channel=socketio")
            assert 0 < filtered["overview"]["summary"]["conversations"] < total

            # The language filter (kept in the URL like the others): the Chinese conversations.
            await page.goto(f"{base}/dashboard")
            await page.wait_for_selector(READY)
            await page.select_option("select[name=language]", "zh")
            await page.click("#filters button[type=submit]")
            await page.wait_for_url("**/dashboard?language=zh")
            await page.wait_for_selector(READY)
            chinese = await check_charts_match_api(page, "?language=zh")
            assert chinese["overview"]["summary"]["conversation_ids"] == ["c9", "c10"]
            assert (await chart(page, "languages"))["data"] == [[0, 2]]
            assert await page.locator("select[name=language]").input_value() == "zh"
            await page.locator("#m-languages tbody tr", has_text="中文").click()
            await page.locator("#drill-list tbody tr", has_text="快递").click()
            await page.wait_for_selector("#transcript-view:not([hidden]) #transcript li.user")
            language = page.locator("#transcript-facts dt:text-is('Language') + dd")
            assert await language.inner_text() == "中文"
            shopper = await page.locator("#transcript li.user .text").first.inner_text()
            assert shopper == "亲，我的快递到哪了？一直没收到"
            await page.click("#drill-close")
            await page.goto(f"{base}/dashboard?channel=socketio")
            await page.wait_for_selector(READY)

            # Drill down from a chart element: the conversations of the first day's bar.
            day = filtered["overview"]["rows"][0]
            await page.locator("#m-overview canvas").scroll_into_view_if_needed()
            point = await page.evaluate(CHART_POINT, ["#m-overview canvas", 0, 0])
            await page.mouse.click(point["x"], point["y"])
            await page.wait_for_selector("#drill:not([hidden]) #drill-list tbody tr")
            rows = page.locator("#drill-list tbody tr")
            assert await rows.count() == len(day["conversation_ids"])
            assert day["day"] in await page.inner_text("#drill-title")
            # Its CSV export names the measure's row and holds those conversations.
            href = await page.get_attribute("#drill-csv", "href")
            assert "measure=overview" in href and "row=0" in href and "channel=socketio" in href
            csv_text = await page.evaluate("async (u) => (await fetch(u)).text()", href)
            assert len(csv_text.strip().splitlines()) == len(day["conversation_ids"]) + 1

            # ... and from a table row to the hostile conversation's transcript.
            await page.click("#drill-close")
            await page.locator("#m-intents tbody tr", has_text="payment_issue").click()
            await page.locator("#drill-list tbody tr", has_text="[card]").click()
            await page.wait_for_selector("#transcript-view:not([hidden]) #transcript li.user")
            assert HOSTILE_SENDER in await page.inner_text("#transcript-title")
            facts = await page.inner_text("#transcript-facts")
            assert "Channel" in facts and "socketio" in facts and "guest" in facts
            user_line = page.locator("#transcript li.user").first
            text = await user_line.locator(".text").inner_text()
            assert XSS in text  # markup shown as text ...
            assert await page.locator("#transcript img").count() == 0  # ... never as HTML
            assert await page.evaluate("window.__xss") is None
            for secret in (CARD, EMAIL, PHONE, STREET):
                assert secret not in text
            assert "[card]" in text and "[email]" in text and "[phone]" in text
            meta = await user_line.locator(".meta").inner_text()
            assert "payment_issue" in meta and "negative" in meta and "payment" in meta
            bot_text = await page.locator("#transcript li.bot .text").first.inner_text()
            assert CARD not in bot_text and "[card]" in bot_text
            await page.screenshot(path=str(SCREENSHOTS / "dashboard-masking.png"))

            # Nothing anywhere on the page shows the personal data.
            body = await page.inner_text("body")
            for secret in (CARD, EMAIL, PHONE, STREET, "jane.doe@example.com", "7700 900123"):
                assert secret not in body
            assert dialogs == [] and errors == []

            # A handed-over conversation: agent lines and hand-over notes in the transcript.
            await page.goto(f"{base}/dashboard")
            await page.wait_for_selector(READY)
            await page.locator("#m-agents tbody tr", has_text="request").click()
            await page.locator("#drill-list tbody tr").first.click()
            await page.wait_for_selector("#transcript-view:not([hidden]) #transcript li.agent")
            assert "c1" in await page.inner_text("#transcript-title")
            transcript = (await page.evaluate(API, "conversations/c1"))["transcript"]
            for kind in ("user", "bot", "agent", "event"):
                expected = sum(1 for entry in transcript if entry["kind"] == kind)
                assert await page.locator(f"#transcript li.{kind}").count() == expected, kind
            assert await page.locator("#transcript li.agent").count() >= 1
            await page.screenshot(path=str(SCREENSHOTS / "dashboard-transcript.png"))

            # A bad filter (from after to) gets the API's message once, and no stale numbers.
            await page.goto(f"{base}/dashboard?from=2026-11-20&to=2026-11-01")
            await page.wait_for_selector("body[data-state=error]")
            message = await page.inner_text("#error")
            assert message == "'from' (2026-11-20) is after 'to' (2026-11-01)"
            assert await page.evaluate(CHART_DATA, "#m-overview canvas") is None
        finally:
            await browser.close()
