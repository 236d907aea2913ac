"""The demo shop page shows seeded products and the signed-in customer, and embeds the widget."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from insight.web.app import create_app
from knowledge.models import Customer, Product
from knowledge.settings import Settings
from knowledge.shop.identity_token import verify_customer_token

WIDGET_TAG = re.compile(r'<script src="/widget/widget\.js" defer([^>]*)></script>')


def _widget_attributes(html: str) -> Dict[str, str]:
    match = WIDGET_TAG.search(html)
    assert match, html
    return dict(re.findall(r'data-([a-z-]+)="([^"]*)"', match.group(1)))


@pytest.fixture()
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, database_url=database_url, rasa_port=5123)


@pytest.fixture()
async def client(aiohttp_client, settings: Settings):
    return await aiohttp_client(create_app(settings))


async def test_signed_in_demo_customer_sees_products_and_their_orders(
    client, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    with session_factory() as session:
        customer = session.get(Customer, 1)
        products = session.execute(
            select(Product).where(Product.in_stock > 0).order_by(Product.id).limit(6)
        ).scalars()
        names = [p.name for p in products]
        latest_order = max(customer.orders, key=lambda o: o.placed_at)
    response = await client.get("/")
    assert response.status == 200
    html = await response.text()
    assert f"Signed in as <strong>{customer.name}</strong>" in html
    assert all(name in html for name in names) and len(names) == 6
    assert f"Order <strong>{latest_order.id}</strong>" in html
    attributes = _widget_attributes(html)
    token = attributes.pop("customer-token")
    assert attributes == {
        "socket-url": "http://localhost:5123",
        "title": "Northwind Store help",
        "lang": "en",
        "customer-id": "1",
    }
    # The page signs the customer id for the bot (knowledge/shop/identity_token.py).
    assert verify_customer_token(token, settings).customer_id == 1


async def test_query_parameter_signs_in_another_customer(
    client, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    with session_factory() as session:
        name = session.get(Customer, 7).name
    html = await (await client.get("/?customer=7")).text()
    assert name in html
    assert _widget_attributes(html)["customer-id"] == "7"
    assert (
        verify_customer_token(_widget_attributes(html)["customer-token"], settings).customer_id == 7
    )


async def test_guest_page_passes_no_customer_to_the_widget(client) -> None:
    response = await client.get("/?customer=guest")
    assert response.status == 200
    html = await response.text()
    assert "Browsing as a guest" in html
    assert "customer-id" not in _widget_attributes(html)
    assert "customer-token" not in _widget_attributes(html)


@pytest.mark.parametrize(("query", "status"), [("abc", 400), ("-1", 400), ("99999", 404)])
async def test_bad_or_unknown_customer_is_an_http_error(client, query: str, status: int) -> None:
    assert (await client.get(f"/?customer={query}")).status == status


async def test_database_text_is_escaped(client, session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session, session.begin():
        session.get(Customer, 1).name = "<script>alert(1)</script>"
    html = await (await client.get("/")).text()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


async def test_page_allows_only_own_scripts_and_the_rasa_socket(client) -> None:
    response = await client.get("/")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "connect-src 'self' http://localhost:5123 ws://localhost:5123" in policy
    assert "<script>" not in await response.text()  # no inline scripts: the policy forbids them


async def test_public_socket_url_setting_reaches_the_widget(
    aiohttp_client, database_url: str, tmp_path: Path
) -> None:
    settings = Settings(
        data_dir=tmp_path, database_url=database_url, widget_socket_url="https://chat.example"
    )
    client = await aiohttp_client(create_app(settings))
    response = await client.get("/")
    assert _widget_attributes(await response.text())["socket-url"] == "https://chat.example"
    assert "wss://chat.example" in response.headers["Content-Security-Policy"]


@pytest.mark.parametrize(
    ("path", "content_type", "marker"),
    [
        ("/widget/widget.js", "application/javascript", "user_uttered"),
        ("/widget/messages.js", "application/javascript", "normaliseBotMessage"),
        ("/widget/view.js", "application/javascript", "textContent"),
        ("/widget/strings.js", "application/javascript", "agentJoined"),
        ("/widget/widget.css", "text/css", ".launcher"),
        ("/static/shop.css", "text/css", ".products"),
        ("/vendor/socket.io.min.js", "application/javascript", "engine.io"),
    ],
)
async def test_widget_files_are_served_by_the_app(
    client, path: str, content_type: str, marker: str
) -> None:
    response = await client.get(path)
    assert response.status == 200, f"{path}: {response.status} (run `npm ci`, make test does)"
    assert response.content_type in {content_type, "text/javascript"}
    assert marker in await response.text()


async def test_only_socket_io_files_are_served_from_node_modules(client) -> None:
    assert (await client.get("/vendor/package.json")).status == 404
    assert (await client.get("/vendor/..%2Fpackage.json")).status == 404
    assert (await client.get("/widget/../app.py")).status in {403, 404}


async def test_lang_zh_shows_the_page_and_the_widget_in_chinese(
    client, session_factory: sessionmaker[Session]
) -> None:
    with session_factory() as session:
        name = session.get(Customer, 7).name
    html = await (await client.get("/?customer=7&lang=zh")).text()
    assert '<html lang="zh-CN">' in html
    assert f"当前登录： <strong>{name}</strong>" in html
    assert "<h1>今日推荐</h1>" in html and "您最近的订单" in html
    attributes = _widget_attributes(html)
    assert (attributes["lang"], attributes["title"]) == ("zh", "Northwind Store 在线客服")
    assert attributes["customer-id"] == "7"
    # The switch links the same customer's page in every language; Chinese is the current one.
    assert '<a href="/?customer=7&amp;lang=en" lang="en" hreflang="en">English</a>' in html
    assert '<span lang="zh-CN" aria-current="true">中文</span>' in html
    english = await (await client.get("/?customer=7&lang=en")).text()
    assert '<html lang="en">' in english and "<h1>Today&#39;s picks</h1>" in english
    assert '<a href="/?customer=7&amp;lang=zh" lang="zh-CN" hreflang="zh-CN">中文</a>' in english


@pytest.mark.parametrize(
    ("query", "lang", "html_lang"),
    [
        ("", "en", "en"),
        ("?lang=zh-CN", "zh", "zh-CN"),
        ("?lang=ZH", "zh", "zh-CN"),
        ("?lang=fr", "en", "en"),
        ("?customer=guest&lang=zh", "zh", "zh-CN"),
    ],
)
async def test_lang_parameter_falls_back_to_english(
    client, query: str, lang: str, html_lang: str
) -> None:
    response = await client.get(f"/{query}")
    assert response.status == 200
    html = await response.text()
    assert f'<html lang="{html_lang}">' in html
    assert _widget_attributes(html)["lang"] == lang


def test_every_page_language_has_every_english_label() -> None:
    from insight.web.shop.text import HTML_LANG, LANGUAGE_NAMES, PAGE_TEXT
    from knowledge.language import SUPPORTED_LANGUAGES

    assert set(PAGE_TEXT) == set(HTML_LANG) == set(LANGUAGE_NAMES) == set(SUPPORTED_LANGUAGES)
    for language, text in PAGE_TEXT.items():
        assert set(text) == set(PAGE_TEXT["en"]), language
        assert all(value for value in text.values()), language
