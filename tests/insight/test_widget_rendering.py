"""The chat widget in headless Chromium against a stand-in Rasa socket.io channel.

The shop page comes from the real insight app on a real seeded database; the socket.io server
follows Rasa's channel protocol and replies with scripted payloads, so every rendering path
(buttons, images, product cards, ratings, agent take-over), the message queue across a server
restart, and keyboard use are checked exactly and in seconds.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, AsyncIterator, Dict, List, Set

import pytest
from aiohttp.test_utils import TestServer

from insight.web.app import create_app
from knowledge.settings import Settings
from knowledge.shop.identity_token import verify_customer_token
from tests.insight.widget_support import PHONE, FakeRasa, launch_chromium

pytestmark = pytest.mark.browser

playwright_api = pytest.importorskip("playwright.async_api")

XSS = "<img src=x onerror=alert(1)>"
RATING = [{"title": str(n), "payload": f'/rate{{"rating": "{n}"}}'} for n in range(1, 6)]


async def scripted_reply(message: str) -> List[Dict[str, Any]]:
    """What the stand-in bot answers to each test message."""
    if message == "/buttons":
        return [
            {
                "text": "What can I do for you?",
                "quick_replies": [
                    {"content_type": "text", "title": "Track my order", "payload": "/track_order"},
                    {"content_type": "text", "title": "Talk to a person", "payload": "/human"},
                ],
            }
        ]
    if message == "/track_order":
        return [{"text": "Order 1001 is shipped."}]
    if message == "/media":
        return [
            {"attachment": {"type": "image", "payload": {"src": "http://localhost/x.png"}}},
            {
                "attachment": {
                    "type": "template",
                    "payload": {
                        "template_type": "generic",
                        "elements": {
                            "title": "Trail shoes",
                            "subtitle": "Waterproof",
                            "image_url": "javascript:alert(1)",
                            "buttons": [{"title": "Buy", "payload": "/buy_shoes"}],
                        },
                    },
                }
            },
        ]
    if message == "/rate_me":
        return [{"text": "How did I do?", "quick_replies": RATING}]
    if message.startswith("/rate{"):
        return [{"text": "Thanks for rating!"}]
    if message == "/slow":
        await asyncio.sleep(1.5)
        return [{"text": "Sorry for the wait."}]
    return [{"text": f"You said: {message}"}]


@pytest.fixture()
async def fake_rasa() -> AsyncIterator[FakeRasa]:
    rasa = FakeRasa(scripted_reply)
    await rasa.start()
    yield rasa
    await rasa.stop()


@pytest.fixture()
async def shop_url(fake_rasa: FakeRasa, database_url: str, tmp_path: Path) -> AsyncIterator[str]:
    settings = Settings(
        data_dir=tmp_path, database_url=database_url, widget_socket_url=fake_rasa.url
    )
    server = TestServer(create_app(settings), host="localhost")
    await server.start_server()
    yield str(server.make_url("/"))
    await server.close()


@pytest.fixture()
async def browser() -> AsyncIterator[Any]:
    async with playwright_api.async_playwright() as playwright:
        browser = await launch_chromium(playwright)
        yield browser
        await browser.close()


class Widget:
    """The widget on one page, as a shopper uses it."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.dialogs: List[str] = []
        self.errors: List[str] = []
        self._dismissing: Set[asyncio.Task[None]] = set()
        page.on("dialog", lambda dialog: self._dialog(dialog))
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        task = asyncio.ensure_future(dialog.dismiss())
        self._dismissing.add(task)
        task.add_done_callback(self._dismissing.discard)

    async def open(self, url: str) -> None:
        await self.page.goto(url)
        await self.page.get_by_role("button", name="Open chat").click()
        await self.online()

    async def online(self) -> None:
        await playwright_api.expect(self.page.locator(".status")).to_have_text("Online")

    async def say(self, text: str) -> None:
        await self.page.get_by_label("Your message").fill(text)
        await self.page.get_by_label("Your message").press("Enter")

    async def expect_bot(self, text: str) -> None:
        await playwright_api.expect(self.page.locator(".msg--bot .bubble").last).to_have_text(text)

    async def session_id(self) -> str:
        state = await self.page.evaluate(
            "() => Object.keys(localStorage).filter(k => k.startsWith('shopchat:'))"
            ".map(k => JSON.parse(localStorage.getItem(k)))[0]"
        )
        return state["sessionId"]


async def test_bot_messages_buttons_media_and_rating_render_and_send_payloads(
    browser: Any, shop_url: str, fake_rasa: FakeRasa, tmp_path: Path
) -> None:
    widget = Widget(await browser.new_page())
    await widget.open(shop_url)
    expect = playwright_api.expect

    await widget.say("/buttons")
    await widget.expect_bot("What can I do for you?")
    await widget.page.get_by_role("button", name="Track my order").click()
    assert (await fake_rasa.wait_for_message(2)).message == "/track_order"
    await widget.expect_bot("Order 1001 is shipped.")
    await expect(widget.page.locator(".msg--user .bubble").last).to_have_text("Track my order")
    await expect(widget.page.get_by_role("button", name="Talk to a person")).to_be_disabled()
    # The signed-in demo customer (1), signed by the page, and the language travel in customData.
    metadata = fake_rasa.received[0].metadata
    assert set(metadata) == {"customer_id", "language"} and metadata["language"] == "en"
    assert (
        verify_customer_token(metadata["customer_id"], Settings(data_dir=tmp_path)).customer_id == 1
    )

    await widget.say("/media")
    await expect(widget.page.locator(".msg--bot img.image")).to_have_attribute(
        "src", "http://localhost/x.png"
    )
    card = widget.page.locator(".card")
    await expect(card.locator(".card-title")).to_have_text("Trail shoes")
    await expect(card.locator("img")).to_have_count(0)  # javascript: URLs never reach src
    await card.get_by_role("button", name="Buy").click()
    assert (await fake_rasa.wait_for_message(4)).message == "/buy_shoes"

    await widget.say("/rate_me")
    stars = widget.page.get_by_role("group", name="Rate this conversation from 1 to 5 stars")
    await expect(stars.get_by_role("button")).to_have_count(5)
    await stars.get_by_role("button", name="4 of 5 stars").click()
    assert (await fake_rasa.wait_for_message(6)).message == '/rate{"rating": "4"}'
    await widget.expect_bot("Thanks for rating!")

    session_id = await widget.session_id()
    await fake_rasa.push(
        session_id,
        {"custom": {"type": "rating", "text": "Rate us?", "payload": '/rate{"rating": "{n}"}'}},
    )
    await widget.expect_bot("Rate us?")
    await stars.last.get_by_role("button", name="2 of 5 stars").click()
    assert (await fake_rasa.wait_for_message(7)).message == '/rate{"rating": "2"}'
    assert widget.errors == []


async def test_message_text_is_never_html(browser: Any, shop_url: str) -> None:
    widget = Widget(await browser.new_page())
    await widget.open(shop_url)
    await widget.say(XSS)
    await widget.expect_bot(f"You said: {XSS}")
    await playwright_api.expect(widget.page.locator(".msg--user .bubble")).to_have_text(XSS)
    assert await widget.page.locator("#shopchat .log img").count() == 0
    await widget.page.wait_for_timeout(300)
    assert widget.dialogs == []


async def test_typing_indicator_shows_while_waiting(browser: Any, shop_url: str) -> None:
    widget = Widget(await browser.new_page())
    await widget.open(shop_url)
    await widget.say("/slow")
    typing = widget.page.locator(".typing")
    await playwright_api.expect(typing).to_be_visible()
    await widget.expect_bot("Sorry for the wait.")
    await playwright_api.expect(typing).to_be_hidden()


async def test_agent_take_over_is_clear_and_agent_messages_are_marked(
    browser: Any, shop_url: str, fake_rasa: FakeRasa
) -> None:
    widget = Widget(await browser.new_page())
    await widget.open(shop_url)
    await widget.say("I want a person")
    await widget.expect_bot("You said: I want a person")
    session_id = await widget.session_id()
    expect = playwright_api.expect

    offer = {
        "text": "Nobody is free.",
        "quick_replies": [{"title": "Call me back", "payload": "x"}],
    }
    await fake_rasa.push(session_id, offer)
    await expect(widget.page.get_by_role("button", name="Call me back")).to_be_enabled()
    # As Rasa's socket.io channel delivers a custom response: its "data" is the event body.
    await fake_rasa.push(session_id, {"custom": {"type": "agent_joined", "agent": "Alex"}})
    await expect(widget.page.get_by_role("button", name="Call me back")).to_be_disabled()
    await expect(widget.page.locator(".agent-banner")).to_have_text("You are talking to Alex")
    await expect(widget.page.locator(".notice").last).to_have_text("You are now talking to Alex.")
    await fake_rasa.push(
        session_id, {"custom": {"type": "agent_message", "agent": "Alex", "text": XSS}}
    )
    agent = widget.page.locator(".msg--agent").last
    await expect(agent.locator(".speaker")).to_have_text("Alex (agent): ")
    await expect(agent.locator(".bubble")).to_have_text(XSS)

    await widget.page.reload()  # the take-over survives a reload
    await widget.online()
    await expect(widget.page.locator(".agent-banner")).to_have_text("You are talking to Alex")
    await fake_rasa.push(session_id, {"custom": {"type": "agent_left", "agent": "Alex"}})
    await expect(widget.page.locator(".agent-banner")).to_be_hidden()
    assert widget.dialogs == [] and widget.errors == []


async def test_history_survives_reload_and_another_customer_starts_afresh(
    browser: Any, shop_url: str, fake_rasa: FakeRasa, tmp_path: Path
) -> None:
    page = await browser.new_page()
    widget = Widget(page)
    await widget.open(shop_url)
    await widget.say("hello there")
    await widget.expect_bot("You said: hello there")
    first_session = await widget.session_id()

    await page.reload()
    await widget.online()  # the panel stays open across the reload
    await playwright_api.expect(page.locator(".msg--user .bubble")).to_have_text("hello there")
    await widget.expect_bot("You said: hello there")
    assert fake_rasa.confirmed[-1] == first_session  # the same Rasa conversation resumed

    await page.goto(shop_url + "?customer=2")
    await page.get_by_role("button", name="Open chat").click()
    await widget.online()
    await playwright_api.expect(page.locator(".msg--user")).to_have_count(0)
    await widget.say("hi")
    claim = (await fake_rasa.wait_for_message(2)).metadata["customer_id"]
    assert verify_customer_token(claim, Settings(data_dir=tmp_path)).customer_id == 2
    assert fake_rasa.received[1].session_id != first_session


async def test_message_typed_while_server_is_down_is_sent_after_reconnect(
    browser: Any, shop_url: str, fake_rasa: FakeRasa
) -> None:
    widget = Widget(await browser.new_page())
    await widget.open(shop_url)
    await widget.say("first")
    await widget.expect_bot("You said: first")
    session_id = await widget.session_id()

    await fake_rasa.stop()
    await playwright_api.expect(widget.page.locator(".status")).to_contain_text("Reconnecting")
    await widget.page.get_by_label("Your message").fill("typed while offline")
    await widget.page.get_by_label("Your message").press("Enter")
    pending = widget.page.locator(".msg.is-pending")
    await playwright_api.expect(pending).to_have_count(1)
    await widget.page.get_by_label("Your message").fill("a draft I keep typing")

    await fake_rasa.start()
    await widget.online()
    received = await fake_rasa.wait_for_message(2)
    assert (received.message, received.session_id) == ("typed while offline", session_id)
    await widget.expect_bot("You said: typed while offline")
    await playwright_api.expect(pending).to_have_count(0)
    assert await widget.page.get_by_label("Your message").input_value() == "a draft I keep typing"


async def test_keyboard_only_use_and_phone_viewport(browser: Any, shop_url: str) -> None:
    page = await browser.new_page(viewport=PHONE)
    widget = Widget(page)
    await page.goto(shop_url)
    launcher = page.get_by_role("button", name="Open chat")
    await launcher.focus()
    await page.keyboard.press("Enter")
    message = page.get_by_label("Your message")
    await playwright_api.expect(message).to_be_focused()
    await widget.online()
    await page.keyboard.type("by keyboard")
    await page.keyboard.press("Enter")
    await widget.expect_bot("You said: by keyboard")

    panel = await page.get_by_role("dialog").bounding_box()
    assert panel == {"x": 0, "y": 0, "width": PHONE["width"], "height": PHONE["height"]}
    width = await page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], "the page scrolls sideways on a phone"

    await page.keyboard.press("Escape")
    await playwright_api.expect(page.get_by_role("dialog")).to_be_hidden()
    await playwright_api.expect(launcher).to_be_focused()
    assert await page.locator(".log").get_attribute("aria-live") == "polite"
    assert await page.evaluate("() => window.ShopChat.config.lang") == "en"


async def test_lang_zh_page_shows_the_widget_in_chinese_and_sends_the_language(
    browser: Any, shop_url: str, fake_rasa: FakeRasa
) -> None:
    from insight.web.shop.text import page_text

    page = await browser.new_page()
    widget = Widget(page)
    await page.goto(f"{shop_url}?lang=zh")
    expect = playwright_api.expect
    assert await page.evaluate("() => document.documentElement.lang") == "zh-CN"
    await expect(page.locator("h1")).to_have_text(page_text("zh")["picks"])
    launcher = page.get_by_role("button", name="打开客服聊天")
    await launcher.click()
    await expect(page.locator(".status")).to_have_text("在线")
    assert await page.evaluate("() => window.ShopChat.config.lang") == "zh"
    await expect(page.get_by_role("dialog")).to_have_accessible_name("Northwind Store 在线客服")
    # The widget's own words are the zh ones of strings.js, from the welcome line to the button.
    await expect(page.locator(".msg--bot .bubble").first).to_have_text(
        "亲，您好！订单、物流、退换货等问题都可以问我哦～"
    )
    message = page.get_by_label("您的消息")
    assert await message.get_attribute("placeholder") == "请输入您的问题…"
    await expect(page.get_by_role("button", name="发送")).to_be_visible()
    await message.fill("我的快递到哪了")
    await message.press("Enter")
    await widget.expect_bot("You said: 我的快递到哪了")
    received = await fake_rasa.wait_for_message(1)
    assert received.message == "我的快递到哪了"
    assert received.metadata["language"] == "zh"
    await expect(page.locator(".msg--user .visually-hidden").last).to_have_text("我: ")
    assert widget.errors == [] and widget.dialogs == []
