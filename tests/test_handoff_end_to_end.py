"""End to end: shopper on socket.io -> automatic hand-over -> agent console -> reply -> resolve.

Real processes: the rasa_sdk action server (the project's actions), ``rasa run --enable-api``
with a tiny model trained from the project's ``bot/domain/handoff.yml`` and
``HandoffPolicy`` (keyword NLU standing in for BERT, see tests/handoff_fixtures.py), and the
insight web app (``python -m insight``) on a temp seeded database. The shopper is a
python-socketio client on Rasa's socket.io channel; agents use the console's HTTP and websocket
API with real cookies and CSRF tokens.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List

import aiohttp
import pytest

from knowledge.secret_files import rasa_api_token
from knowledge.settings import Settings
from knowledge.shop.identity_token import sign_customer_id
from tests.handoff_fixtures import train_tiny_bot
from tests.servers import is_up, service_env, set_up_shop, stop_process

ROOT = Path(__file__).resolve().parents[1]
STARTUP_S = 300
pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::DeprecationWarning:matplotlib.*"),
]


class System:
    """The running processes and their URLs."""

    def __init__(self, root: Path, env: Dict[str, str], model: Path) -> None:
        self.root = root
        self.env = env
        self.model = model
        self.rasa_port = int(env["SHOP_RASA_PORT"])
        self.action_port = int(env["SHOP_ACTION_PORT"])
        self.insight_port = int(env["SHOP_INSIGHT_PORT"])
        self.processes: Dict[str, subprocess.Popen] = {}
        # The HTTP API is token-protected as on `make run`; the console finds the same token.
        self.rasa_token = rasa_api_token(Settings(data_dir=root))

    def sign(self, customer_id: int) -> str:
        """The customer-id claim the shop page would send (signed with the shared secret)."""
        return sign_customer_id(customer_id, Settings(data_dir=self.root))

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    @property
    def insight_url(self) -> str:
        return f"http://127.0.0.1:{self.insight_port}"

    def start(self, name: str) -> None:
        commands = {
            "actions": [
                sys.executable,
                "-m",
                "rasa_sdk",
                "--actions",
                "actions",
                "--port",
                str(self.action_port),
            ],
            "rasa": [
                sys.executable,
                "-m",
                "rasa",
                "run",
                "--enable-api",
                f"--auth-token={self.rasa_token}",
                "--model",
                str(self.model),
                "--endpoints",
                "bot/endpoints.yml",
                "--credentials",
                "bot/credentials.yml",
                "--interface",
                "127.0.0.1",
                "--port",
                str(self.rasa_port),
            ],
            "insight": [sys.executable, "-m", "insight"],
        }
        health = {
            "actions": f"http://127.0.0.1:{self.action_port}/health",
            "rasa": f"{self.rasa_url}/status?token={self.rasa_token}",
            "insight": f"{self.insight_url}/healthz",
        }
        log = open(self.root / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        self.processes[name] = subprocess.Popen(
            commands[name],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + STARTUP_S
        while not is_up(health[name]):
            if self.processes[name].poll() is not None or time.monotonic() > deadline:
                tail = (self.root / f"{name}.log").read_text()[-3000:]
                pytest.fail(f"{name} did not start:\n{tail}")
            time.sleep(1)

    def stop(self, name: str) -> None:
        stop_process(self.processes.pop(name))


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    root = tmp_path_factory.mktemp("handoff-e2e")
    model = train_tiny_bot(root / "bot")
    env = service_env(
        root,
        SHOP_CONSOLE_SECRET="e2e-secret",
        SHOP_CONSOLE_POLL_S="0.2",
        SHOP_HANDOFF_CLAIM_TIMEOUT_S="3600",
    )
    set_up_shop(env)
    system = System(root, env, model)
    try:
        for name in ("actions", "rasa", "insight"):
            system.start(name)
        yield system
    finally:
        for name in list(system.processes):
            system.stop(name)


class Shopper:
    """A socket.io client on Rasa's channel, as the shop's widget connects."""

    def __init__(self, url: str, session_id: str, customer_id: str | None) -> None:
        import socketio

        self.url = url
        self.session_id = session_id
        self.customer_id = customer_id
        self.sio = socketio.AsyncClient()
        self.received: asyncio.Queue[Dict[str, Any]] = asyncio.Queue()
        self.sio.on("bot_uttered", self._on_bot)

    async def _on_bot(self, data: Dict[str, Any]) -> None:
        await self.received.put(data)

    async def connect(self) -> None:
        # Long polling: python-engineio's websocket transport needs a newer aiohttp than Rasa's.
        await self.sio.connect(self.url, transports=["polling"], socketio_path="/socket.io")
        await self.sio.emit("session_request", {"session_id": self.session_id})
        await asyncio.sleep(0.3)

    async def say(self, text: str) -> None:
        data: Dict[str, Any] = {"message": text, "session_id": self.session_id}
        if self.customer_id is not None:
            data["customData"] = {"customer_id": self.customer_id}
        await self.sio.emit("user_uttered", data)

    async def next(self, timeout: float = 15.0) -> Dict[str, Any]:
        return await asyncio.wait_for(self.received.get(), timeout)

    async def silence(self, seconds: float) -> List[Dict[str, Any]]:
        await asyncio.sleep(seconds)
        out = []
        while not self.received.empty():
            out.append(self.received.get_nowait())
        return out

    async def close(self) -> None:
        await self.sio.disconnect()


class Console:
    """An agent signed in to the console (cookie jar, CSRF token)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.csrf = ""

    async def login(self, username: str, password: str) -> None:
        async with self.http.get(f"{self.url}/console/login") as page:
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', await page.text()).group(1)
        async with self.http.post(
            f"{self.url}/console/login",
            data={"username": username, "password": password, "csrf_token": csrf},
        ) as response:
            body = await response.text()
            assert response.status == 200, body
        self.csrf = re.search(r'name="csrf-token" content="([^"]+)"', body).group(1)

    async def post(self, path: str, body: Any = None) -> tuple[int, Any]:
        async with self.http.post(
            f"{self.url}{path}", json=body, headers={"X-CSRF-Token": self.csrf}
        ) as response:
            return response.status, await response.json(content_type=None)

    async def get(self, path: str) -> Any:
        async with self.http.get(f"{self.url}{path}") as response:
            assert response.status == 200
            return await response.json()

    async def close(self) -> None:
        await self.http.close()


async def _wait_for_item(ws: Any, sender: str, timeout: float = 15.0) -> Dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = await ws.receive(timeout=deadline - time.monotonic())
        for item in json.loads(message.data)["items"]:
            if item["sender_id"] == sender:
                return item
    raise AssertionError(f"{sender} never appeared in the queue")


async def test_churn_handoff_reply_resolve(system: System) -> None:
    alex, sam = Console(system.insight_url), Console(system.insight_url)
    shopper = Shopper(system.rasa_url, "shopper-churn", customer_id=system.sign(1))
    try:
        await alex.login("agent", "agent-demo-pass")
        await sam.login("agent2", "agent2-demo-pass")
        ws = await alex.http.ws_connect(f"{system.insight_url}/console/ws")
        await ws.receive(timeout=10)  # the current queue
        await shopper.connect()

        await shopper.say("hello")
        assert (await shopper.next())["text"] == "Hello! How can I help?"

        await shopper.say(
            "this is the third time I ask, where is my refund, I'll dispute the charge"
        )
        handoff = await shopper.next()
        assert "passing this conversation to a person" in handoff["text"]
        item = await _wait_for_item(ws, "shopper-churn")
        assert item["trigger"] == "churn_risk" and item["churn_risk"] >= 0.6
        assert "churn risk" in item["reason"] and "dispute" in item["reason"]
        assert item["status"] == "open"

        # Paused: the bot does not answer, the message is recorded for the agent.
        await shopper.say("hello? anyone?")
        assert await shopper.silence(2.0) == []

        status, body = await alex.post(f"/console/api/escalations/{item['id']}/claim")
        assert status == 200, body
        status, body = await sam.post(f"/console/api/escalations/{item['id']}/claim")
        assert status == 409 and body["claimed_by"] == "agent"
        joined = await shopper.next()
        assert joined["custom"] == {
            "type": "agent_joined",
            "agent": "Alex Agent",
            "text": "Alex Agent from our team has joined the chat.",
        }

        sent = time.monotonic()
        status, body = await alex.post(
            f"/console/api/escalations/{item['id']}/reply",
            {"text": "Hi, Alex here <b>now</b>. Your refund was sent today."},
        )
        assert status == 200 and body["delivered"] is True
        reply = await shopper.next(timeout=5)
        assert time.monotonic() - sent < 1.0
        assert reply["text"] == "Hi, Alex here <b>now</b>. Your refund was sent today."
        assert reply["custom"]["type"] == "agent_message"
        assert reply["custom"]["agent"] == "Alex Agent"

        detail = await alex.get(f"/console/api/escalations/{item['id']}")
        texts = [(e["kind"], e["text"]) for e in detail["transcript"]]
        assert ("user", "hello? anyone?") in texts
        assert texts[-1][0] == "agent"
        refund_turn = next(e for e in detail["transcript"] if "dispute" in e["text"])
        assert refund_turn["intent"] == "get_refund" and refund_turn["sentiment"] == "negative"
        assert detail["customer"]["id"] == 1

        status, _ = await alex.post(f"/console/api/escalations/{item['id']}/resolve")
        assert status == 200
        left = await shopper.next()
        assert left["custom"]["type"] == "agent_left"
        rating = await shopper.next()
        assert "rate" in rating["text"] and len(rating["quick_replies"]) == 5
        await shopper.say("5")
        assert (await shopper.next())["text"].startswith("Thank you for your rating")
        await shopper.say("hello")
        assert (await shopper.next())["text"] == "Hello! How can I help?"
        await ws.close()
    finally:
        await shopper.close()
        await alex.close()
        await sam.close()


async def test_negative_streak_request_and_restart_keeps_queue(system: System) -> None:
    agent = Console(system.insight_url)
    upset = Shopper(system.rasa_url, "shopper-upset", customer_id=None)
    asking = Shopper(system.rasa_url, "shopper-asks", customer_id=system.sign(2))
    try:
        await agent.login("agent", "agent-demo-pass")
        await upset.connect()
        await asking.connect()
        for _ in range(2):
            await upset.say("this parcel service is terrible")
            assert (await upset.next())["text"] == "Your order is on its way."
        await upset.say("the parcel is still terrible, useless")
        assert "person" in (await upset.next())["text"]

        await asking.say("can I talk to a human")
        assert "team" in (await asking.next())["text"]

        queue = (await agent.get("/console/api/queue"))["items"]
        by_sender = {i["sender_id"]: i for i in queue}
        assert by_sender["shopper-upset"]["trigger"] == "negative_streak"
        assert by_sender["shopper-asks"]["trigger"] == "request"

        # The web app restarts: the queue comes back from the database.
        await agent.close()
        system.stop("insight")
        system.start("insight")
        agent = Console(system.insight_url)
        await agent.login("agent", "agent-demo-pass")
        after = {i["sender_id"] for i in (await agent.get("/console/api/queue"))["items"]}
        assert {"shopper-upset", "shopper-asks"} <= after
    finally:
        await upset.close()
        await asking.close()
        await agent.close()
