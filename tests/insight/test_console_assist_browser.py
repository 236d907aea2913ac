"""Agent assist in headless Chromium: claim, read the summary, send an edited suggestion.

The real insight app (shop page + widget, agent console) on a real seeded database with the FAQ
index of tests/insight/test_console_assist.py. The shopper's side is the widget on the shop page
against the socket.io stand-in for Rasa's channel (tests/insight/widget_support.py); the console's
calls to Rasa's HTTP API go to a small bridge that, like Rasa, turns the agent's ``bot`` event into
a ``bot_uttered`` message in the shopper's socket.io session. The shopper's turn is recorded in the
knowledge graph and handed over as the action server would. Screenshot:
docs/screenshots/console-assist.png.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Dict, List

import pytest
from aiohttp import web
from sqlalchemy import select

from insight.web.app import create_app
from insight.web.console.assist import AnswerSource
from insight.web.console.assist_views import ANSWERS
from knowledge.graph.record import TurnInput, record_turn
from knowledge.handoff.agents import create_agent
from knowledge.models import Order, OrderStatus
from knowledge.settings import Settings
from knowledge.shop.status import status_sentence
from tests.insight.test_console import open_one
from tests.insight.test_console_assist import fake_answers
from tests.insight.widget_support import DESKTOP, SCREENSHOTS, FakeRasa, launch_chromium

pytestmark = pytest.mark.browser

playwright_api = pytest.importorskip("playwright.async_api")

PASSWORD = "correct horse battery"
XSS = "<img src=x onerror=alert(1)>"
EDIT = " Anything else I can do for you?"


async def bot_reply(message: str) -> List[Dict[str, Any]]:
    """The stand-in bot hands every message over."""
    return [{"text": "Let me get a person for you."}]


def rasa_http_bridge(widget_rasa: FakeRasa, calls: List[Dict[str, Any]]) -> web.Application:
    """Rasa's HTTP API as the console uses it, delivering ``bot`` events to the widget."""

    async def events(request: web.Request) -> web.Response:
        body = await request.json()
        calls.append(body)
        for event in body:
            data = (event.get("data") or {}).get("custom", {}).get("data")
            if event.get("event") == "bot" and data:
                await widget_rasa.push(request.match_info["sender"], data)
        return web.json_response({})

    async def execute(request: web.Request) -> web.Response:
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/conversations/{sender}/tracker/events", events)
    app.router.add_post("/conversations/{sender}/execute", execute)
    return app


async def test_claim_see_assist_and_send_an_edited_suggestion_to_the_widget(
    aiohttp_server: Any, database_url: str, tmp_path: Path, session_factory: Any
) -> None:
    with session_factory() as session, session.begin():
        create_agent(session, "alex", "Alex", PASSWORD, rounds=4)
        # The shop page signs its visitor in as customer 1; one of their orders is on its way.
        order = (
            session.execute(select(Order).where(Order.customer_id == 1).order_by(Order.id.desc()))
            .scalars()
            .first()
        )
        order.status = OrderStatus.SHIPPED
        order.carrier, order.tracking_number = "DHL", "JD0123456789"
        order_id = order.id
    widget_rasa = FakeRasa(bot_reply)
    await widget_rasa.start()
    calls: List[Dict[str, Any]] = []
    bridge = await aiohttp_server(rasa_http_bridge(widget_rasa, calls))
    settings = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        host="127.0.0.1",
        rasa_port=bridge.port,
        widget_socket_url=widget_rasa.url,
        console_secret="assist-browser-test",
        console_poll_s=0.1,
        handoff_claim_timeout_s=3600,
    )
    app = create_app(settings)
    app[ANSWERS] = AnswerSource.of(fake_answers())
    server = await aiohttp_server(app, host="localhost")
    base = str(server.make_url("")).rstrip("/")

    async with playwright_api.async_playwright() as playwright:
        browser = await launch_chromium(playwright)
        try:
            # The shopper asks about the order in the widget.
            shop = await (await browser.new_context(viewport=DESKTOP)).new_page()
            await shop.goto(f"{base}/")
            await shop.get_by_role("button", name="Open chat").click()
            await playwright_api.expect(shop.locator(".status")).to_have_text("Online")
            question = f"where is my order {order_id}? {XSS}"
            await shop.get_by_label("Your message").fill(question)
            await shop.get_by_label("Your message").press("Enter")
            received = await widget_rasa.wait_for_message(1)
            sender = received.session_id
            # What the action server records for that turn, and the hand-over it opens.
            with session_factory() as session, session.begin():
                record_turn(
                    session,
                    TurnInput(
                        sender_id=sender,
                        text=question,
                        customer_id=1,
                        intent="track_order",
                        sentiment_label="negative",
                        sentiment_score=-0.7,
                        order_refs=(str(order_id),),
                    ),
                )
            open_one(session_factory, sender, customer_id=1, reason="Shopper asked for a person")

            console = await (
                await browser.new_context(viewport={"width": 1400, "height": 1000})
            ).new_page()
            alerts: list = []
            console.on("dialog", lambda dialog: alerts.append(dialog.message))
            await console.goto(f"{base}/console")
            await console.fill("input[name=username]", "alex")
            await console.fill("input[name=password]", PASSWORD)
            await console.click("button[type=submit]")
            await console.wait_for_url(f"{base}/console")
            row = console.locator("#queue tbody tr")
            await row.first.wait_for(timeout=10_000)
            await row.first.click()
            await console.wait_for_selector("#detail:not([hidden])")
            started = time.perf_counter()
            await console.click("#claim")
            use = console.locator("#suggestions li.order_status button.use")
            await playwright_api.expect(use).to_be_enabled(timeout=10_000)
            shown_s = time.perf_counter() - started
            summary = console.locator("#assist-summary li")
            await playwright_api.expect(summary).to_have_count(3)
            assert (await summary.nth(0).inner_text()).startswith("Wants: track order")
            assert f"orders: #{order_id}" in await summary.nth(0).inner_text()
            assert (await summary.nth(1).inner_text()).startswith("Feels: negative now")
            assert await console.locator("#suggestions li.faq").count() == 3
            assert await console.locator("#assist img, #transcript img").count() == 0
            with session_factory() as session:
                sentence = status_sentence(session.get(Order, order_id), "en")
            first = console.locator("#suggestions li.order_status .text")
            assert await first.inner_text() == sentence

            # One click puts it in the reply box; the agent edits it and sends it.
            await use.click()
            assert await console.input_value("#reply") == sentence
            await console.locator("#reply").press("End")
            await console.locator("#reply").type(EDIT)
            await console.screenshot(path=str(SCREENSHOTS / "console-assist.png"), full_page=True)
            await console.click("#reply-form button[type=submit]")

            # The edited reply reaches the shopper's widget, as text.
            agent = shop.locator(".msg--agent .bubble").last
            await playwright_api.expect(agent).to_have_text(sentence + EDIT, timeout=10_000)
            assert await shop.locator(".msg img").count() == 0
            assert alerts == []
        finally:
            await browser.close()
            await widget_rasa.stop()
    sent = [c[0]["data"]["custom"]["data"]["custom"] for c in calls if c[0]["event"] == "bot"]
    assert [s["type"] for s in sent] == ["agent_joined", "agent_message"]
    assert sent[-1]["text"] == sentence + EDIT
    # Claim to summary and suggestions on screen (a loaded page on a shared 2-core box).
    assert shown_s < 3.0, shown_s
