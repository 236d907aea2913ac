"""The agent console in headless Chromium: sign in, an escalation appears live, claim, reply.

Real insight app on a real seeded database; the Rasa HTTP API is the recording stand-in of
tests/insight/test_console.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from insight.web.app import create_app
from knowledge.graph.record import TurnInput, record_turn
from knowledge.settings import Settings
from tests.insight.test_console import FakeRasa, open_one
from tests.insight.widget_support import launch_chromium

pytestmark = pytest.mark.browser

playwright_api = pytest.importorskip("playwright.async_api")

PASSWORD = "correct horse battery"
XSS = "<img src=x onerror=alert(1)>"
CHINESE = "亲，我上周买的鞋子到现在还没发货，能帮我查一下吗？"


async def test_console_live_queue_claim_and_reply(
    aiohttp_server: Any, database_url: str, tmp_path: Path, session_factory: Any
) -> None:
    from knowledge.handoff.agents import create_agent

    with session_factory() as session, session.begin():
        create_agent(session, "alex", "Alex", PASSWORD, rounds=4)
    rasa = FakeRasa()
    rasa_server = await aiohttp_server(rasa.app())
    settings = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        host="127.0.0.1",
        rasa_port=rasa_server.port,
        console_secret="browser-test",
        console_poll_s=0.1,
        handoff_claim_timeout_s=3600,
    )
    server = await aiohttp_server(create_app(settings))
    base = str(server.make_url("")).rstrip("/")

    async with playwright_api.async_playwright() as playwright:
        browser = await launch_chromium(playwright)
        try:
            page = await browser.new_page()
            alerts: list = []
            page.on("dialog", lambda dialog: alerts.append(dialog.message))
            await page.goto(f"{base}/console")
            assert page.url.endswith("/console/login")
            await page.fill("input[name=username]", "alex")
            await page.fill("input[name=password]", PASSWORD)
            await page.click("button[type=submit]")
            await page.wait_for_url(f"{base}/console")
            await page.wait_for_selector("#live.ok", timeout=10_000)
            assert await page.locator("#queue tbody tr").count() == 0

            # An escalation opened elsewhere (the action server) appears without a reload,
            # with the language of the shopper's messages as a badge.
            with session_factory() as session, session.begin():
                record_turn(session, TurnInput(sender_id="browser-shopper", text=CHINESE))
            open_one(session_factory, "browser-shopper", reason=f"Churn {XSS}")
            row = page.locator("#queue tbody tr")
            await row.first.wait_for(timeout=10_000)
            assert XSS in await row.first.inner_text()
            assert await row.first.locator(".lang").inner_text() == "中文"
            await row.first.click()
            await page.wait_for_selector("#detail:not([hidden])")
            assert await page.locator("#detail-title .lang").inner_text() == "中文"
            shopper = page.locator("#transcript li.user .text").first
            assert await shopper.inner_text() == CHINESE
            assert await shopper.get_attribute("lang") == "zh-CN"
            await page.click("#claim")
            await page.wait_for_function(
                "document.querySelector('#detail-title').textContent.includes('claimed by alex')"
            )
            await page.fill("#reply", f"Hello {XSS}")
            await page.click("#reply-form button[type=submit]")
            agent_line = page.locator("#transcript li.agent .text")
            await agent_line.last.wait_for(timeout=10_000)
            assert await agent_line.last.inner_text() == f"Hello {XSS}"
            assert await page.locator("#transcript img").count() == 0
            assert alerts == []
        finally:
            await browser.close()

    sent = [c for c in rasa.calls if c["kind"] == "events"]
    kinds = [c["body"][0]["data"]["custom"]["data"]["custom"]["type"] for c in sent]
    assert kinds == ["agent_joined", "agent_message"]
    assert sent[-1]["body"][0]["data"]["custom"]["data"]["text"] == f"Hello {XSS}"
