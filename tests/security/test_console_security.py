"""Agent console hardening: CSRF on every state change, cookie flags, stored XSS stays inert.

Through the running insight app of tests/security/conftest.py (real cookies, real database);
the XSS case sends hostile text as a shopper through the real Rasa REST channel, asks for a
person so the real bot escalates, and opens the conversation in headless Chromium.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any, Tuple

import aiohttp
import pytest
from sqlalchemy import select

from insight.web.app import create_app
from insight.web.console.auth import COOKIE
from knowledge.db import make_engine, make_session_factory
from knowledge.models import Conversation, Escalation
from knowledge.settings import Settings
from tests.security.conftest import LiveSystem, replies_text

pytestmark = pytest.mark.slow

AGENT, PASSWORD = "agent", "agent-demo-pass"
SUPERVISOR, SUPERVISOR_PASSWORD = "supervisor", "supervisor-demo-pass"
XSS_TEXT = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script> help'


def _jar() -> aiohttp.CookieJar:
    return aiohttp.CookieJar(unsafe=True)  # 127.0.0.1 is an IP address


async def _login_form(http: aiohttp.ClientSession, base: str) -> Tuple[str, Any]:
    async with http.get(f"{base}/console/login") as page:
        match = re.search(r'name="csrf_token" value="([^"]+)"', await page.text())
        assert match, "no CSRF field on the sign-in form"
        return match.group(1), page.headers.getall("Set-Cookie")


async def _login(http: aiohttp.ClientSession, base: str, user: str, password: str) -> str:
    csrf, _ = await _login_form(http, base)
    async with http.post(
        f"{base}/console/login",
        data={"username": user, "password": password, "csrf_token": csrf},
    ) as response:
        body = await response.text()
        assert response.status == 200, body
    match = re.search(r'name="csrf-token" content="([^"]+)"', body)
    assert match
    return match.group(1)


def _cookie_attributes(set_cookie: str) -> dict:
    parsed = SimpleCookie()
    parsed.load(set_cookie)
    morsel = parsed[COOKIE]
    return {key: morsel[key] for key in ("httponly", "samesite", "secure")}


async def test_console_cookie_is_httponly_samesite_strict_and_not_secure_on_http(
    live: LiveSystem,
) -> None:
    async with aiohttp.ClientSession(cookie_jar=_jar()) as http:
        _, cookies = await _login_form(http, live.insight_url)
    [session_cookie] = [c for c in cookies if c.startswith(COOKIE + "=")]
    assert _cookie_attributes(session_cookie) == {
        "httponly": True,
        "samesite": "Strict",
        "secure": "",
    }


async def test_cookie_is_secure_behind_an_https_proxy(
    aiohttp_client: Any, database_url: str, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path, database_url=database_url, behind_https=True)
    client = await aiohttp_client(create_app(settings))
    response = await client.get("/console/login")
    [session_cookie] = [
        c for c in response.headers.getall("Set-Cookie") if c.startswith(COOKIE + "=")
    ]
    attributes = _cookie_attributes(session_cookie)
    assert attributes["secure"] is True and attributes["httponly"] is True
    assert attributes["samesite"] == "Strict"


async def test_sign_in_without_or_with_a_wrong_csrf_token_is_403(live: LiveSystem) -> None:
    base = live.insight_url
    async with aiohttp.ClientSession(cookie_jar=_jar()) as http:
        await _login_form(http, base)
        for data in (
            {"username": AGENT, "password": PASSWORD},
            {"username": AGENT, "password": PASSWORD, "csrf_token": "forged"},
        ):
            async with http.post(f"{base}/console/login", data=data) as response:
                assert response.status == 403
    # No cookie at all (a cross-site form post: SameSite=Strict keeps the cookie home).
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{base}/console/login", data={"username": AGENT, "password": PASSWORD}
        ) as response,
    ):
        assert response.status == 403


async def test_state_changes_without_the_csrf_token_are_403(live: LiveSystem) -> None:
    base = live.insight_url
    async with (
        aiohttp.ClientSession(cookie_jar=_jar()) as http,
        aiohttp.ClientSession(cookie_jar=_jar()) as other,
    ):
        csrf = await _login(http, base, AGENT, PASSWORD)
        other_csrf = await _login(other, base, "agent2", "agent2-demo-pass")
        for action in ("claim", "reply", "resolve"):
            url = f"{base}/console/api/escalations/999999/{action}"
            for headers in ({}, {"X-CSRF-Token": "forged"}, {"X-CSRF-Token": other_csrf}):
                async with http.post(url, json={"text": "hi"}, headers=headers) as response:
                    assert response.status == 403, (action, headers, await response.text())
            # With its own token the request gets past the CSRF check (404: no such escalation).
            async with http.post(
                url, json={"text": "hi"}, headers={"X-CSRF-Token": csrf}
            ) as response:
                assert response.status == 404
        async with http.post(f"{base}/console/logout") as response:
            assert response.status == 403
        # Still signed in: the forged logout did nothing.
        async with http.get(f"{base}/console/api/queue") as response:
            assert response.status == 200


async def test_a_tampered_session_cookie_is_signed_out(live: LiveSystem) -> None:
    base = live.insight_url
    async with aiohttp.ClientSession(cookie_jar=_jar()) as http:
        await _login(http, base, AGENT, PASSWORD)
        value = next(c for c in http.cookie_jar if c.key == COOKIE).value
        middle = len(value) // 2  # a character of the encrypted session, far from the padding
        forged = value[:middle] + ("A" if value[middle] != "A" else "B") + value[middle + 1 :]
    async with (
        aiohttp.ClientSession(cookies={COOKIE: forged}) as http,
        http.get(f"{base}/console/api/queue") as response,
    ):
        assert response.status == 401


def _escalation_for(live: LiveSystem, sender: str, timeout: float = 30) -> int:
    engine = make_engine(live.database_url)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with make_session_factory(engine)() as session:
                found = session.execute(
                    select(Escalation.id)
                    .join(Conversation, Conversation.id == Escalation.conversation_id)
                    .where(Conversation.sender_id == sender)
                ).scalar()
            if found:
                return int(found)
            time.sleep(0.5)
    finally:
        engine.dispose()
    pytest.fail(f"the bot never escalated {sender}:\n{live.log('actions')[-3000:]}")


@pytest.mark.browser
async def test_hostile_shopper_text_renders_inert_in_the_console(live: LiveSystem) -> None:
    from tests.insight.widget_support import launch_chromium

    playwright_api = pytest.importorskip("playwright.async_api")
    sender = f"sec-xss-{uuid.uuid4().hex[:8]}"
    claim = {"customer_id": live.sign(3)}
    status, replies = await asyncio.to_thread(live.say, sender, XSS_TEXT, claim)
    assert status == 200, replies
    status, replies = await asyncio.to_thread(
        live.say, sender, "I want to talk to a human agent please", claim
    )
    assert status == 200, replies_text(replies)
    escalation_id = await asyncio.to_thread(_escalation_for, live, sender)

    base = live.insight_url
    async with playwright_api.async_playwright() as playwright:
        browser = await launch_chromium(playwright)
        try:
            page = await browser.new_page()
            dialogs: list = []
            page.on("dialog", lambda dialog: dialogs.append(dialog.message))
            await page.goto(f"{base}/console/login")
            await page.fill("input[name=username]", AGENT)
            await page.fill("input[name=password]", PASSWORD)
            await page.click("button[type=submit]")
            await page.wait_for_url(f"{base}/console")
            await page.goto(f"{base}/console/escalations/{escalation_id}")
            line = page.locator("#transcript li", has_text="help").first
            await line.wait_for(timeout=15_000)
            assert XSS_TEXT in await page.locator("#transcript").inner_text()
            assert await page.locator("#transcript img, #transcript script").count() == 0
            assert await page.evaluate("window.__xss") is None
            assert dialogs == []
        finally:
            await browser.close()


def _supervisor_get(live: LiveSystem, cookie: str, path: str) -> Tuple[int, str, str]:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(live.insight_url + path, headers={"Cookie": cookie})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return (
                response.status,
                response.headers.get("Content-Type", ""),
                response.read().decode(),
            )
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read().decode()


@pytest.mark.browser
async def test_hostile_shopper_text_stays_data_in_the_dashboard(live: LiveSystem) -> None:
    from tests.insight.widget_support import launch_chromium

    playwright_api = pytest.importorskip("playwright.async_api")
    sender = f"sec-dash-{uuid.uuid4().hex[:8]}"
    status, _ = await asyncio.to_thread(live.say, sender, XSS_TEXT)
    assert status == 200
    base = live.insight_url
    async with aiohttp.ClientSession(cookie_jar=_jar()) as http:
        await _login(http, base, SUPERVISOR, SUPERVISOR_PASSWORD)
        cookie = "; ".join(f"{c.key}={c.value}" for c in http.cookie_jar)
    # The analytics fold the event broker's events in the background: wait for the conversation.
    deadline = time.monotonic() + 60
    while True:
        status, content_type, body = await asyncio.to_thread(
            _supervisor_get, live, cookie, f"/dashboard/api/conversations/{sender}"
        )
        if status == 200 or time.monotonic() > deadline:
            break
        await asyncio.sleep(1)
    assert status == 200, body
    assert content_type.startswith("application/json")  # data, never markup
    user_lines = [line["text"] for line in json.loads(body)["transcript"] if line["kind"] == "user"]
    assert XSS_TEXT in user_lines, body[:500]  # verbatim, as JSON data

    async with playwright_api.async_playwright() as playwright:
        browser = await launch_chromium(playwright)
        try:
            page = await browser.new_page()
            dialogs: list = []
            page.on("dialog", lambda dialog: dialogs.append(dialog.message))
            await page.goto(f"{base}/console/login")
            await page.fill("input[name=username]", SUPERVISOR)
            await page.fill("input[name=password]", SUPERVISOR_PASSWORD)
            await page.click("button[type=submit]")
            await page.wait_for_url(f"{base}/console")
            await page.goto(f"{base}/dashboard")
            await page.wait_for_selector("body[data-state=ready]", timeout=30_000)
            assert await page.locator('img[src="x"], script:not([src])').count() == 0
            assert await page.evaluate("window.__xss") is None
            assert dialogs == []
        finally:
            await browser.close()
