"""The NLU inbox in headless Chromium: a supervisor corrects three messages (one by one and in
bulk), and the three are in the exported training file; hostile text stays text; screenshot.

Real insight app on a seeded SQLite shop with the analytics' fixed event log and the inbox's
guess conversations folded in (tests/analytics/inbox_events.py). The export goes to a temp file.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from insight.analytics.corrections import all_corrections
from insight.analytics.events import normalise
from insight.analytics.fold import fold
from insight.analytics.training_export import export_corrections
from insight.web.app import create_app
from knowledge.settings import Settings
from tests.analytics.inbox_events import HOSTILE, inbox_log
from tests.dashboard.analytics_data import fold_known_data
from tests.dashboard.support import AGENT, SUPERVISOR, create_accounts
from tests.insight.test_dashboard_browser import sign_in
from tests.insight.widget_support import DESKTOP, SCREENSHOTS, launch_chromium

pytestmark = pytest.mark.browser

playwright_api = pytest.importorskip("playwright.async_api")

MASKED = HOSTILE.replace("eve@example.com", "[email]")


async def test_a_supervisor_corrects_three_messages_and_finds_them_in_the_export(
    aiohttp_server: Any, database_url: str, tmp_path: Path, session_factory: Any
) -> None:
    create_accounts(session_factory)
    fold_known_data(session_factory)
    fold(session_factory, [normalise(e) for e in inbox_log()], "fixture")
    settings = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        host="127.0.0.1",
        console_secret="inbox-browser",
        analytics_ingest_interval_s=0,
    )
    server = await aiohttp_server(create_app(settings))
    base = str(server.make_url("")).rstrip("/")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    async with playwright_api.async_playwright() as playwright:
        browser = await launch_chromium(playwright)
        try:
            agent_page = await browser.new_page()
            await sign_in(agent_page, base, AGENT)
            refused = await agent_page.goto(f"{base}/dashboard/inbox")
            assert refused is not None and refused.status == 403

            page = await browser.new_page(viewport=DESKTOP)
            await sign_in(page, base, SUPERVISOR)
            await page.goto(f"{base}/dashboard/inbox")
            await page.wait_for_selector("section.group tr.inbox-item")
            # Hostile text is shown as text, masked, and never runs.
            hostile = page.locator("tr.inbox-item", has_text="mail me at [email]")
            assert await hostile.locator("td.text").inner_text() == MASKED
            assert await page.locator("section.group img").count() == 0
            assert await page.evaluate("window.__xss") is None
            assert "eve@example.com" not in await page.content()

            # One by one: the hostile message is a refund request.
            await hostile.locator('select[name="intent"]').select_option("get_refund")
            await hostile.locator("button.save").click()
            await page.wait_for_selector("tr.inbox-item.saved >> text=get_refund")

            # In bulk: two more are complaints.
            for text in ("the thing with the box", "do you sell gift cards for weddings"):
                row = page.locator("tr.inbox-item", has_text=text)
                await row.locator('input[name="pick"]').check()
            await page.select_option("#bulk-intent", "complaint")
            await page.click("#bulk-correct")
            expect = playwright_api.expect
            await expect(page.locator("tr.inbox-item.saved")).to_have_count(3)
            assert "Saved 2 verdict(s)." in await page.inner_text("#status")
            gift = page.locator("tr.inbox-item", has_text="gift cards")
            assert await gift.locator('select[name="intent"]').input_value() == "complaint"
            # An intent the domain does not offer ("inform") is not silently replaced.
            four = page.locator("tr.inbox-item").filter(
                has=page.locator("td.text", has_text=re.compile(r"^4$"))
            )
            assert await four.locator('select[name="intent"]').input_value() == ""
            await page.screenshot(path=str(SCREENSHOTS / "dashboard-nlu-inbox.png"), full_page=True)

            # Reviewed messages leave the "to review" list.
            await page.select_option('#inbox-filters select[name="status"]', "done")
            await expect(page.locator("tr.inbox-item")).to_have_count(3)
        finally:
            await browser.close()

    out = tmp_path / "nlu" / "corrections.yml"
    with session_factory() as session:
        stored = all_corrections(session)
        assert {(c.text, c.intent, c.agent_name) for c in stored} == {
            (HOSTILE, "get_refund", "Kim Supervisor"),
            ("the thing with the box", "complaint", "Kim Supervisor"),
            ("do you sell gift cards for weddings", "complaint", "Kim Supervisor"),
        }
        report = export_corrections(stored, out)
    text = out.read_text(encoding="utf-8")
    assert report.written == {
        "complaint": ["do you sell gift cards for weddings", "the thing with the box"],
        "get_refund": [MASKED],
    }
    for line in ("- intent: get_refund", f"    - {MASKED}", "    - the thing with the box"):
        assert line in text
