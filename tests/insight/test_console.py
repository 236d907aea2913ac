"""Agent console: sign-in, CSRF, live queue over the websocket, claim / reply / resolve.

Real requests against the real app factory and a real (seeded SQLite) database; the Rasa HTTP
API is a small recording aiohttp server standing in for ``rasa run --enable-api``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, List

import pytest
from aiohttp import web
from sqlalchemy import select

from insight.web.app import create_app
from knowledge.handoff import escalations
from knowledge.handoff.agents import create_agent
from knowledge.models import AgentMessage, AgentUser
from knowledge.settings import Settings

PASSWORD = "correct horse battery"


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class FakeRasa:
    """Records what the console posts to the Rasa HTTP API."""

    def __init__(self) -> None:
        self.calls: List[Dict[str, Any]] = []
        self.down = False

    def app(self) -> web.Application:
        async def events(request: web.Request) -> web.Response:
            if self.down:
                return web.json_response({"error": "down"}, status=500)
            self.calls.append(
                {
                    "kind": "events",
                    "sender": request.match_info["sender"],
                    "query": dict(request.query),
                    "body": await request.json(),
                }
            )
            return web.json_response({})

        async def execute(request: web.Request) -> web.Response:
            if self.down:
                return web.json_response({"error": "down"}, status=500)
            self.calls.append(
                {
                    "kind": "execute",
                    "sender": request.match_info["sender"],
                    "query": dict(request.query),
                    "body": await request.json(),
                }
            )
            return web.json_response({})

        app = web.Application()
        app.router.add_post("/conversations/{sender}/tracker/events", events)
        app.router.add_post("/conversations/{sender}/execute", execute)
        return app


@pytest.fixture()
async def rasa(aiohttp_server: Any) -> FakeRasa:
    fake = FakeRasa()
    fake.server = await aiohttp_server(fake.app())  # type: ignore[attr-defined]
    return fake


@pytest.fixture()
def agents_in_db(session_factory: Any) -> None:
    with session_factory() as session, session.begin():
        create_agent(session, "alex", "Alex", PASSWORD, "agent", rounds=4)
        create_agent(session, "sam", "Sam", PASSWORD, "agent", rounds=4)
        create_agent(session, "kim", "Kim", PASSWORD, "supervisor", rounds=4)


RASA_TOKEN = "console-test-rasa-token"


@pytest.fixture()
def settings(database_url: str, tmp_path: Path, rasa: FakeRasa, agents_in_db: None) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url=database_url,
        host="127.0.0.1",
        rasa_port=rasa.server.port,  # type: ignore[attr-defined]
        console_secret="test-secret",
        console_poll_s=0.05,
        handoff_claim_timeout_s=3600,
        rasa_token=RASA_TOKEN,
    )


def open_one(session_factory: Any, sender: str = "shopper-1", **overrides: Any) -> int:
    values: Dict[str, Any] = {
        "sender_id": sender,
        "reason": 'High churn risk, churn risk 0.70 (turn 1: "dispute")',
        "trigger": "churn_risk",
        "priority": 3,
        "churn_risk": 0.7,
        "churn_reasons": [{"signal": "dispute", "weight": 0.5, "detail": 'turn 1: "dispute"'}],
        "customer_id": 1,
        "now": utcnow(),
    }
    values.update(overrides)
    with session_factory() as session, session.begin():
        return escalations.open_escalation(session, **values).id


async def login(client: Any, username: str, password: str = PASSWORD) -> str:
    """Sign in; the CSRF token of the new session."""
    page = await client.get("/console/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', await page.text()).group(1)
    response = await client.post(
        "/console/login",
        data={"username": username, "password": password, "csrf_token": csrf},
        allow_redirects=False,
    )
    assert response.status == 303, await response.text()
    console = await client.get("/console")
    return re.search(r'name="csrf-token" content="([^"]+)"', await console.text()).group(1)


async def new_client(aiohttp_client: Any, settings: Settings) -> Any:
    return await aiohttp_client(create_app(settings))


async def test_sign_in_and_out(aiohttp_client: Any, settings: Settings) -> None:
    client = await new_client(aiohttp_client, settings)
    response = await client.get("/console", allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/console/login"
    assert (await client.get("/console/api/queue")).status == 401

    page = await client.get("/console/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', await page.text()).group(1)
    wrong = await client.post(
        "/console/login", data={"username": "alex", "password": "nope", "csrf_token": csrf}
    )
    assert wrong.status == 401 and "Wrong name or password" in await wrong.text()
    no_csrf = await client.post("/console/login", data={"username": "alex", "password": PASSWORD})
    assert no_csrf.status == 403

    token = await login(client, "alex")
    body = await (await client.get("/console")).text()
    assert "Alex (agent)" in body
    assert 'href="/dashboard"' not in body  # the dashboard link is for supervisors only
    assert (await client.get("/console/api/queue")).status == 200
    out = await client.post("/console/logout", data={"csrf_token": token}, allow_redirects=False)
    assert out.status == 303
    assert (await client.get("/console/api/queue")).status == 401


async def test_supervisors_get_a_link_to_the_dashboard(
    aiohttp_client: Any, settings: Settings
) -> None:
    client = await new_client(aiohttp_client, settings)
    await login(client, "kim")
    body = await (await client.get("/console")).text()
    assert 'id="dashboard-link" href="/dashboard"' in body


def session_cookie(secret: str, agent_id: int, at: float) -> str:
    """A console session cookie for ``agent_id`` as aiohttp-session writes it at time ``at``."""
    from cryptography.fernet import Fernet

    from insight.web.console import auth

    data = {"created": int(at), "session": {auth.AGENT: agent_id, auth.CSRF: "x"}}
    fernet = Fernet(base64.urlsafe_b64encode(auth.session_key(secret)))
    return fernet.encrypt_at_time(json.dumps(data).encode(), int(at)).decode()


def agent_id(session_factory: Any, username: str) -> int:
    with session_factory() as session:
        return session.execute(
            select(AgentUser.id).where(AgentUser.username == username)
        ).scalar_one()


async def test_forged_cookie_is_rejected(
    aiohttp_client: Any, settings: Settings, session_factory: Any
) -> None:
    from insight.web.console import auth

    client = await new_client(aiohttp_client, settings)
    alex = agent_id(session_factory, "alex")
    forged = session_cookie("another-key", alex, time.time())
    response = await client.get("/console/api/queue", cookies={auth.COOKIE: forged})
    assert response.status == 401
    # The same cookie under the app's own key is a valid session (so the 401 is the key's doing).
    genuine = session_cookie("test-secret", alex, time.time())
    response = await client.get("/console/api/queue", cookies={auth.COOKIE: genuine})
    assert response.status == 200


async def test_a_session_expires_after_console_session_s(
    aiohttp_client: Any, settings: Settings, session_factory: Any
) -> None:
    from insight.web.console import auth

    client = await new_client(aiohttp_client, settings)
    alex = agent_id(session_factory, "alex")
    lifetime = settings.console_session_s
    for age, status in ((lifetime - 60, 200), (lifetime + 60, 401)):
        cookie = session_cookie("test-secret", alex, time.time() - age)
        response = await client.get("/console/api/queue", cookies={auth.COOKIE: cookie})
        assert response.status == status, age


async def test_the_key_is_generated_once_in_the_data_dir(
    aiohttp_client: Any, settings: Settings, session_factory: Any
) -> None:
    """Without SHOP_CONSOLE_SECRET a sign-in survives a restart (same data dir)."""
    from insight.web.console import auth
    from knowledge.secret_files import CONSOLE_SECRET_FILE

    unset = settings.copy(update={"console_secret": None})
    first = await new_client(aiohttp_client, unset)
    await login(first, "alex")
    cookie = first.session.cookie_jar.filter_cookies(first.make_url("/"))[auth.COOKIE].value
    assert (unset.data_dir / CONSOLE_SECRET_FILE).stat().st_mode & 0o777 == 0o600
    second = await new_client(aiohttp_client, unset)
    response = await second.get("/console/api/queue", cookies={auth.COOKIE: cookie})
    assert response.status == 200


async def test_websocket_pushes_new_escalations_sorted(
    aiohttp_client: Any, settings: Settings, session_factory: Any
) -> None:
    client = await new_client(aiohttp_client, settings)
    await login(client, "alex")
    ws = await client.ws_connect("/console/ws")
    first = json.loads((await ws.receive(timeout=5)).data)
    assert first == {"type": "queue", "items": []}
    # Opened by another process (the action server) straight in the database.
    open_one(session_factory, "low", priority=1, churn_risk=0.1)
    open_one(session_factory, "urgent", priority=4, churn_risk=0.9)
    deadline = asyncio.get_running_loop().time() + 5
    items: list = []
    while len(items) < 2 and asyncio.get_running_loop().time() < deadline:
        items = json.loads((await ws.receive(timeout=5)).data)["items"]
    assert [i["sender_id"] for i in items] == ["urgent", "low"]
    assert {"reason", "waiting_s", "churn_risk", "priority", "status"} <= set(items[0])
    await ws.close()


async def test_claim_reply_resolve_and_conflicts(
    aiohttp_client: Any, settings: Settings, session_factory: Any, rasa: FakeRasa
) -> None:
    escalation_id = open_one(session_factory)
    alex = await new_client(aiohttp_client, settings)
    alex_csrf = await login(alex, "alex")
    sam = await new_client(aiohttp_client, settings)
    sam_csrf = await login(sam, "sam")
    base = f"/console/api/escalations/{escalation_id}"

    assert (await alex.post(f"{base}/claim")).status == 403  # no CSRF token
    claimed = await alex.post(f"{base}/claim", headers={"X-CSRF-Token": alex_csrf})
    assert claimed.status == 200
    assert (await claimed.json())["escalation"]["claimed_by"] == "alex"
    second = await sam.post(f"{base}/claim", headers={"X-CSRF-Token": sam_csrf})
    assert second.status == 409
    assert (await second.json())["claimed_by"] == "alex"

    joined = rasa.calls[-1]
    assert joined["sender"] == "shopper-1"
    assert joined["query"] == {
        "output_channel": "latest",
        "execute_side_effects": "true",
        "token": RASA_TOKEN,  # the Rasa HTTP API needs it (rasa run --auth-token)
    }
    assert joined["body"][0]["data"]["custom"]["data"]["custom"]["type"] == "agent_joined"

    not_mine = await sam.post(
        f"{base}/reply", json={"text": "hi"}, headers={"X-CSRF-Token": sam_csrf}
    )
    assert not_mine.status == 409
    text = "<b>Hello</b>, I'm Alex & I'll sort out your refund."
    reply = await alex.post(
        f"{base}/reply", json={"text": text}, headers={"X-CSRF-Token": alex_csrf}
    )
    assert reply.status == 200 and (await reply.json())["delivered"] is True
    event = rasa.calls[-1]["body"][0]
    assert event["event"] == "bot" and event["text"] is None
    assert event["data"]["custom"]["data"] == {
        "text": text,
        "custom": {"type": "agent_message", "agent": "Alex", "text": text},
    }
    detail = await (await alex.get(base)).json()
    assert [e["kind"] for e in detail["transcript"]][-1] == "agent"
    assert detail["transcript"][-1]["text"] == text
    assert detail["customer"]["id"] == 1 and "recent_orders" in detail["customer"]
    assert detail["handoff"]["reasons"][0]["signal"] == "dispute"

    assert (
        await alex.post(f"{base}/reply", json={}, headers={"X-CSRF-Token": alex_csrf})
    ).status == 400
    resolved = await alex.post(f"{base}/resolve", headers={"X-CSRF-Token": alex_csrf})
    assert resolved.status == 200
    left, execute = rasa.calls[-2:]
    assert [e["event"] for e in left["body"]] == ["bot", "resume"]
    assert left["body"][0]["data"]["custom"]["data"]["custom"]["type"] == "agent_left"
    assert execute["kind"] == "execute" and execute["body"] == {"name": "utter_ask_handoff_rating"}
    again = await alex.post(f"{base}/claim", headers={"X-CSRF-Token": alex_csrf})
    assert again.status == 409 and (await again.json())["status"] == "resolved"
    assert (await alex.get("/console/api/escalations/999999")).status == 404


async def test_reply_when_rasa_is_down_is_kept_undelivered(
    aiohttp_client: Any, settings: Settings, session_factory: Any, rasa: FakeRasa
) -> None:
    escalation_id = open_one(session_factory)
    client = await new_client(aiohttp_client, settings)
    csrf = await login(client, "alex")
    base = f"/console/api/escalations/{escalation_id}"
    await client.post(f"{base}/claim", headers={"X-CSRF-Token": csrf})
    rasa.down = True
    reply = await client.post(f"{base}/reply", json={"text": "hi"}, headers={"X-CSRF-Token": csrf})
    assert reply.status == 502 and (await reply.json())["delivered"] is False
    with session_factory() as session:
        stored = session.query(AgentMessage).one()
        assert stored.text == "hi" and stored.delivered is False


async def test_unclaimed_escalation_offers_contact_once(
    aiohttp_client: Any, settings: Settings, session_factory: Any, rasa: FakeRasa
) -> None:
    open_one(session_factory, "waiting", now=utcnow() - timedelta(seconds=10))
    settings = settings.copy(update={"handoff_claim_timeout_s": 1.0})
    await new_client(aiohttp_client, settings)
    for _ in range(100):
        if rasa.calls:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)
    offers = [c for c in rasa.calls if c["kind"] == "execute"]
    assert offers == [
        {
            "kind": "execute",
            "sender": "waiting",
            "query": {"output_channel": "latest", "token": RASA_TOKEN},
            "body": {"name": "utter_handoff_timeout"},
        }
    ]


async def test_console_page_escapes_and_serves_its_script(
    aiohttp_client: Any, settings: Settings, session_factory: Any
) -> None:
    with session_factory() as session, session.begin():
        create_agent(session, "evil", "<script>alert(1)</script>", PASSWORD, rounds=4)
    client = await new_client(aiohttp_client, settings)
    await login(client, "evil")
    body = await (await client.get("/console")).text()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    script = await client.get("/console/static/console.js")
    assert script.status == 200
    assert "innerHTML" not in await script.text()


async def test_queue_and_detail_show_the_conversations_language(
    aiohttp_client: Any, settings: Settings, session_factory: Any
) -> None:
    from insight.analytics.events import normalise
    from insight.analytics.fold import fold
    from knowledge.graph.record import TurnInput, record_turn

    chinese = "亲，我买的鞋子尺码不对，想换一双大一码的，可以吗？" * 3
    with session_factory() as session, session.begin():
        for turn, text in enumerate([chinese, "1003"], start=1):
            record_turn(session, TurnInput(sender_id="zh-shopper", text=text, rasa_timestamp=turn))
        record_turn(session, TurnInput(sender_id="en-shopper", text="where is my parcel please"))
        record_turn(session, TurnInput(sender_id="slot-shopper", text="hello there"))
    # The analytics (the language slot) outrank the texts: this English-looking one is Chinese.
    fold(
        session_factory,
        [
            normalise({"sender_id": "slot-shopper", **event})
            for event in (
                {"event": "user", "timestamp": 10.0, "text": "hello there", "parse_data": {}},
                {"event": "slot", "timestamp": 11.0, "name": "language", "value": "zh"},
            )
        ],
        "test",
    )
    ids = {
        sender: open_one(session_factory, sender, priority=priority)
        for sender, priority in (("zh-shopper", 4), ("en-shopper", 3), ("slot-shopper", 2))
    }
    client = await new_client(aiohttp_client, settings)
    await login(client, "alex")
    queue = await (await client.get("/console/api/queue")).json()
    assert [(i["sender_id"], i["language"]) for i in queue["items"]] == [
        ("zh-shopper", "zh"),
        ("en-shopper", "en"),
        ("slot-shopper", "zh"),
    ]
    ws = await client.ws_connect("/console/ws")
    pushed = json.loads((await ws.receive(timeout=5)).data)
    assert [i["language"] for i in pushed["items"]] == ["zh", "en", "zh"]
    await ws.close()
    detail = await (await client.get(f"/console/api/escalations/{ids['zh-shopper']}")).json()
    assert detail["escalation"]["language"] == "zh"
    # The whole Chinese text arrives, not cut anywhere (no byte-based truncation).
    assert [e["text"] for e in detail["transcript"] if e["kind"] == "user"] == [chinese, "1003"]
    english = await (await client.get(f"/console/api/escalations/{ids['en-shopper']}")).json()
    assert english["escalation"]["language"] == "en"


async def test_a_form_body_that_is_not_utf8_is_400(aiohttp_client: Any, settings: Settings) -> None:
    """Found by the fuzz run of tests/security/test_insight_http.py (was a 500)."""
    client = await new_client(aiohttp_client, settings)
    for path in ("/console/login", "/console/logout"):
        response = await client.post(
            path, data=b"\x80", headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
        assert response.status == 400, path
