"""The NLU inbox API on the real web app and a real SQLite shop: what enters the inbox, grouping,
confirm / correct / bulk with who and when, roles, CSRF, masking, hostile text."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, List

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from insight.analytics.events import normalise
from insight.analytics.fold import fold
from insight.web.app import create_app
from knowledge.models import NluCorrection
from tests.analytics.inbox_events import HOSTILE, inbox_log
from tests.analytics.test_api import PASSWORD, make_settings
from tests.analytics.test_api import accounts as accounts  # a fixture

MESSAGES = "/dashboard/api/inbox/messages"
CORRECTIONS = "/dashboard/api/inbox/corrections"


@pytest.fixture()
def inbox_db(folded: sessionmaker) -> sessionmaker:
    """The analytics fixture log plus the guess conversations g1-g3."""
    fold(folded, [normalise(e) for e in inbox_log()], "fixture")
    return folded


async def sign_in(client: Any, username: str) -> str:
    """Sign in; the session's CSRF token."""
    page = await client.get("/console/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', await page.text()).group(1)
    response = await client.post(
        "/console/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token},
        allow_redirects=False,
    )
    assert response.status == 303
    page = await client.get("/dashboard/inbox")
    if page.status != 200:
        return ""
    return re.search(r'name="csrf-token" content="([^"]+)"', await page.text()).group(1)


@pytest.fixture()
async def app_client(
    aiohttp_client: Any, inbox_db: sessionmaker, accounts: None, shop_url: str, tmp_path: Path
) -> Any:
    return await aiohttp_client(create_app(make_settings(shop_url, tmp_path)))


def items(body: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
    """Inbox items by text."""
    return {i["text"]: i for g in body["groups"] for i in g["items"]}


async def test_roles_anonymous_401_agent_403_supervisor_200(app_client: Any) -> None:
    assert (await app_client.get(MESSAGES)).status == 401
    assert (await app_client.post(CORRECTIONS, json={"items": []})).status == 401
    page = await app_client.get("/dashboard/inbox", allow_redirects=False)
    assert page.status == 303
    await sign_in(app_client, "alex")
    assert (await app_client.get(MESSAGES)).status == 403
    assert (await app_client.get("/dashboard/inbox")).status == 403
    refused = await app_client.post(CORRECTIONS, json={"items": [{"key": "x", "intent": "greet"}]})
    assert refused.status == 403
    await sign_in(app_client, "kim")
    assert (await app_client.get(MESSAGES)).status == 200


async def test_the_inbox_lists_why_and_groups_by_likely_intent(app_client: Any) -> None:
    await sign_in(app_client, "kim")
    body = await (await app_client.get(MESSAGES)).json()
    found = items(body)
    # c3's fallback, c1's low-confidence "4" and its hand-over message, c4's hand-over message.
    assert found["do you sell gift cards for weddings"]["reasons"] == ["fallback"]
    assert found["do you sell gift cards for weddings"]["likely_intent"] == "product_question"
    assert "low_confidence" in found["4"]["reasons"]
    assert "handed_over" in found["this is ridiculous, I want a person"]["reasons"]
    assert "handed_over" in found["and the delivery was late too"]["reasons"]
    # Guesses: typed another intent (g1) and "something else" (g2) are rejected; g3 followed.
    masked = HOSTILE.replace("eve@example.com", "[email]")
    assert found[masked]["reasons"] == ["fallback", "guess_rejected"]
    assert found[masked]["followed"] == "get_refund"
    assert found["the thing with the box"]["reasons"] == ["fallback", "guess_rejected"]
    assert found["the thing with the box"]["followed"] is None
    assert found["where's my stuff"]["reasons"] == ["fallback"]
    assert found["where's my stuff"]["followed"] == "track_order"
    # Payload messages and confident ones stay out.
    assert not [t for t in found if t.startswith("/")]
    assert "where is my order 1003" not in found
    assert "eve@example.com" not in await (await app_client.get(MESSAGES)).text()
    groups = {g["intent"]: g for g in body["groups"]}
    assert groups["track_order"]["count"] == 2
    assert [g["count"] for g in body["groups"]] == sorted(
        (g["count"] for g in body["groups"]), reverse=True
    )
    assert body["summary"]["open"] == len(found)
    assert "get_refund" in body["options"]["intents"]
    assert (await app_client.get(MESSAGES + "?status=nope")).status == 400


async def post(client: Any, csrf: str, payload: Dict[str, Any]) -> Any:
    return await client.post(CORRECTIONS, json=payload, headers={"X-CSRF-Token": csrf})


async def test_confirm_correct_and_bulk_store_who_and_when(
    app_client: Any, inbox_db: sessionmaker
) -> None:
    csrf = await sign_in(app_client, "kim")
    found = items(await (await app_client.get(MESSAGES)).json())
    gift = found["do you sell gift cards for weddings"]["key"]
    box = found["the thing with the box"]["key"]
    stuff = found["where's my stuff"]["key"]
    one = await post(
        app_client,
        csrf,
        {"items": [{"key": gift, "intent": "product_question", "sentiment": "neutral"}]},
    )
    assert one.status == 200, await one.text()
    assert (await one.json())["saved"][0]["verdict"] == "confirmed"
    bulk = await post(
        app_client,
        csrf,
        {
            "items": [
                {"key": box, "intent": "complaint", "demands": ["packaging"]},
                {"key": stuff, "intent": "track_order", "sentiment": "negative"},
            ]
        },
    )
    assert bulk.status == 200
    # Correcting again replaces the verdict.
    again = await post(app_client, csrf, {"items": [{"key": box, "intent": "review"}]})
    assert (await again.json())["saved"][0]["verdict"] == "corrected"
    with inbox_db() as session:
        rows = {r.text: r for r in session.execute(select(NluCorrection)).scalars()}
    assert set(rows) == {
        "do you sell gift cards for weddings",
        "the thing with the box",
        "where's my stuff",
    }
    assert rows["the thing with the box"].intent == "review"
    assert rows["the thing with the box"].predicted_intent == "complaint"
    assert rows["where's my stuff"].sentiment == "negative"
    assert all(r.agent_name == "Kim" and r.corrected_at is not None for r in rows.values())
    done = await (await app_client.get(MESSAGES + "?status=done")).json()
    assert {i["text"] for g in done["groups"] for i in g["items"]} == set(rows)
    still_open = items(await (await app_client.get(MESSAGES)).json())
    assert not set(rows) & set(still_open)


@pytest.mark.parametrize(
    ("item", "param"),
    [
        ({"key": "nope", "intent": "greet"}, "key"),
        ({"intent": "greet"}, "key"),
        ({"key": "K", "intent": "make_coffee"}, "intent"),
        ({"key": "K", "intent": "greet", "sentiment": "furious"}, "sentiment"),
        ({"key": "K", "intent": "greet", "demands": ["teleport"]}, "demands"),
    ],
)
async def test_bad_verdicts_are_400_and_store_nothing(
    app_client: Any, inbox_db: sessionmaker, item: Dict[str, Any], param: str
) -> None:
    csrf = await sign_in(app_client, "kim")
    key = items(await (await app_client.get(MESSAGES)).json())["4"]["key"]
    good = {"key": key, "intent": "affirm"}
    bad = {k: (key if v == "K" else v) for k, v in item.items()}
    response = await post(app_client, csrf, {"items": [good, bad]})
    assert response.status == 400
    assert (await response.json())["param"] == param
    with inbox_db() as session:
        assert session.execute(select(NluCorrection)).first() is None


async def test_corrections_need_the_csrf_token(app_client: Any, inbox_db: sessionmaker) -> None:
    csrf = await sign_in(app_client, "kim")
    key = items(await (await app_client.get(MESSAGES)).json())["4"]["key"]
    payload = {"items": [{"key": key, "intent": "affirm"}]}
    assert (await app_client.post(CORRECTIONS, json=payload)).status == 403
    assert (await post(app_client, "forged" + csrf, payload)).status == 403
    with inbox_db() as session:
        assert session.execute(select(NluCorrection)).first() is None
    assert (await post(app_client, csrf, payload)).status == 200


async def test_the_page_renders_text_only_and_masks(app_client: Any) -> None:
    await sign_in(app_client, "kim")
    page = await app_client.get("/dashboard/inbox")
    html = await page.text()
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert HOSTILE not in html
    script = await (await app_client.get("/dashboard/static/inbox.js")).text()
    assert "innerHTML" not in script and "insertAdjacentHTML" not in script
    body: List[Any] = (await (await app_client.get(MESSAGES)).json())["groups"]
    texts = [i["text"] for g in body for i in g["items"]]
    assert HOSTILE.replace("eve@example.com", "[email]") in texts
