"""End to end in headless Chromium: the shop page's widget against the real servers.

Real processes on a temp seeded database: the action server, ``rasa run --enable-api`` with the
latest model in models/ and bot/credentials.yml, and the insight web app (shop page, widget,
agent console). The shopper asks about an order and reads its true status from the database,
reloads and sees the history, sends HTML that must stay text, gets a human agent (who answers
through the console's API), rates the chat, and keeps chatting across a Rasa restart.
Screenshots of the desktop and phone viewports go to docs/screenshots/.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
from sqlalchemy import select

from knowledge.db import make_engine, make_session_factory
from knowledge.language import detect_language
from knowledge.models import Order, OrderStatus
from knowledge.secret_files import rasa_api_token
from knowledge.settings import Settings
from tests.bot.test_conversations import latest_model
from tests.insight.widget_support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DESKTOP,
    PHONE,
    SCREENSHOTS,
)
from tests.servers import free_port, is_up, shared_encoder_dir

pytestmark = [pytest.mark.browser, pytest.mark.slow]

sync_api = pytest.importorskip("playwright.sync_api")

ROOT = Path(__file__).resolve().parents[2]
STARTUP_S = 420
REPLY_MS = 60_000
XSS = "<img src=x onerror=alert(1)>"


class System:
    """The three servers, each startable and stoppable on its own (to restart Rasa)."""

    def __init__(self, data_dir: Path, model: Path) -> None:
        self.data_dir = data_dir
        ports = {name: free_port() for name in ("rasa", "actions", "insight")}
        self.database_url = f"sqlite:///{data_dir / 'shop.db'}"
        self.env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "SHOP_DATA_DIR": str(data_dir),
            "SHOP_MULTILINGUAL_ENCODER_DIR": str(shared_encoder_dir()),
            "SHOP_DATABASE_URL": self.database_url,
            "SHOP_TRACKER_DB": str(data_dir / "tracker.db"),
            "SHOP_EVENTS_DB": str(data_dir / "events.db"),
            "SHOP_RASA_PORT": str(ports["rasa"]),
            "SHOP_ACTION_PORT": str(ports["actions"]),
            "SHOP_INSIGHT_PORT": str(ports["insight"]),
            "SHOP_ACTION_SERVER_URL": f"http://localhost:{ports['actions']}/webhook",
        }
        self.rasa_url = f"http://localhost:{ports['rasa']}"
        self.insight_url = f"http://localhost:{ports['insight']}"
        python = sys.executable
        # The Rasa HTTP API is token-protected as on `make run`; the console sends the token.
        token = rasa_api_token(Settings(data_dir=data_dir))
        self.commands = {
            "actions": [python, "-m", "rasa_sdk", "--actions", "actions",
                        "--port", str(ports["actions"])],
            "rasa": [python, "-m", "rasa", "run", "--enable-api", f"--auth-token={token}",
                     "--cors", "*",
                     "--model", str(model), "--endpoints", "bot/endpoints.yml",
                     "--credentials", "bot/credentials.yml", "--interface", "localhost",
                     "--port", str(ports["rasa"])],
            "insight": [python, "-m", "insight"],
        }  # fmt: skip
        self.health = {
            "actions": f"http://localhost:{ports['actions']}/health",
            "rasa": f"{self.rasa_url}/status?token={token}",
            "insight": f"{self.insight_url}/healthz",
        }
        self.processes: Dict[str, subprocess.Popen] = {}

    def start(self, *names: str) -> None:
        """Start ``names`` and wait until each answers its health check."""
        for name in names:
            with open(self.data_dir / f"{name}.log", "ab") as log:
                self.processes[name] = subprocess.Popen(
                    self.commands[name], cwd=ROOT, env=self.env, stdout=log,
                    stderr=subprocess.STDOUT, start_new_session=True,
                )  # fmt: skip
        deadline = time.monotonic() + STARTUP_S
        pending = set(names)
        while pending:
            for name in list(pending):
                if self.processes[name].poll() is not None:
                    log = (self.data_dir / f"{name}.log").read_text()[-4000:]
                    pytest.fail(f"{name} exited:\n{log}")
                if is_up(self.health[name]):
                    pending.discard(name)
            if time.monotonic() > deadline:
                pytest.fail(f"not up in {STARTUP_S}s: {sorted(pending)}")
            time.sleep(1)

    def stop(self, name: str) -> None:
        """Stop one server (SIGTERM, then SIGKILL after 20 s)."""
        process = self.processes.pop(name)
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def shipped_order(self) -> Order:
        """The first shipped order in the seed (status, tracking number and carrier set)."""
        engine = make_engine(self.database_url)
        try:
            with make_session_factory(engine)() as session:
                order = (
                    session.execute(
                        select(Order).where(Order.status == OrderStatus.SHIPPED).order_by(Order.id)
                    )
                    .scalars()
                    .first()
                )
                session.expunge(order)
                return order
        finally:
            engine.dispose()


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    """Seed a temp shop, start the action server, Rasa and the web app; stop them afterwards."""
    model = latest_model(Settings().models_dir)
    system = System(tmp_path_factory.mktemp("widget-e2e"), model)
    subprocess.run(
        [sys.executable, "-m", "knowledge", "setup"], cwd=ROOT, env=system.env, check=True,
        capture_output=True, timeout=300,
    )  # fmt: skip
    try:
        system.start("actions", "rasa", "insight")
        yield system
    finally:
        for name in list(system.processes):
            system.stop(name)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless system Chromium (Playwright gives it a fresh temporary profile)."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} not found: run `make chromium` (make test does)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


# The widget's labels the tests use, per page language (insight/web/widget/strings.js).
LABELS = {
    "en": {"open": "Open chat", "input": "Your message", "online": "Online"},
    "zh": {"open": "打开客服聊天", "input": "您的消息", "online": "在线"},
}


class Shopper:
    """A shopper's tab with the widget open; records dialogs and script errors."""

    def __init__(
        self, browser: Any, url: str, viewport: Dict[str, int], language: str = "en"
    ) -> None:
        self.labels = LABELS[language]
        self.context = browser.new_context(viewport=viewport)
        self.page = self.context.new_page()
        self.dialogs: List[str] = []
        self.errors: List[str] = []
        self.page.on("dialog", self._dialog)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.goto(url)
        self.page.get_by_role("button", name=self.labels["open"]).click()
        self.online()

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def online(self) -> None:
        sync_api.expect(self.page.locator(".status")).to_have_text(
            self.labels["online"], timeout=REPLY_MS
        )

    def say(self, text: str) -> None:
        box = self.page.get_by_label(self.labels["input"])
        box.fill(text)
        box.press("Enter")

    def bot_texts(self) -> List[str]:
        return self.page.locator(".msg--bot .bubble").all_inner_texts()

    def wait_for_bot(self, count: int) -> str:
        """Wait until there are ``count`` bot bubbles and the typing dots are gone."""
        sync_api.expect(self.page.locator(".msg--bot .bubble")).to_have_count(
            count, timeout=REPLY_MS
        )
        sync_api.expect(self.page.locator(".typing")).to_be_hidden(timeout=REPLY_MS)
        return "\n".join(self.bot_texts())

    def session_id(self) -> str:
        return str(
            self.page.evaluate(
                "() => Object.keys(localStorage).filter(k => k.startsWith('shopchat:'))"
                ".map(k => JSON.parse(localStorage.getItem(k)).sessionId)[0]"
            )
        )

    def close(self) -> None:
        self.context.close()


def _bot_count(shopper: Shopper) -> int:
    return shopper.page.locator(".msg--bot .bubble").count()


def test_order_status_history_and_html_as_text_on_desktop(system: System, browser: Any) -> None:
    order = system.shipped_order()
    shopper = Shopper(browser, f"{system.insight_url}/?customer={order.customer_id}", DESKTOP)
    try:
        before = _bot_count(shopper)  # the local welcome line
        shopper.say(f"where is my order {order.id}?")
        reply = shopper.wait_for_bot(before + 1)
        assert "shipped" in reply and order.tracking_number in reply, reply

        shopper.say(XSS)
        sync_api.expect(shopper.page.locator(".msg--user .bubble").last).to_have_text(XSS)
        shopper.wait_for_bot(before + 2)
        assert shopper.page.locator("#shopchat .log img").count() == 0
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shopper.page.screenshot(path=str(SCREENSHOTS / "widget-desktop.png"))

        history = shopper.page.locator(".log").inner_text()
        shopper.page.reload()
        shopper.online()
        assert shopper.page.locator(".log").inner_text() == history
        shopper.page.goto(f"{system.insight_url}/?customer={order.customer_id}")  # navigation
        shopper.online()
        assert shopper.page.locator(".log").inner_text() == history
        assert shopper.dialogs == [] and shopper.errors == []
    finally:
        shopper.close()


def test_chinese_shopper_chats_in_chinese(system: System, browser: Any) -> None:
    order = system.shipped_order()
    url = f"{system.insight_url}/?customer={order.customer_id}&lang=zh"
    shopper = Shopper(browser, url, DESKTOP, language="zh")
    try:
        assert shopper.page.locator("html").get_attribute("lang") == "zh-CN"
        before = _bot_count(shopper)
        shopper.say(f"我的订单{order.id}到哪了？")
        reply = shopper.wait_for_bot(before + 1).splitlines()[-1]
        assert detect_language(reply) == "zh", reply
        assert order.tracking_number in reply and "发出" in reply, reply
        shopper.say("怎么退货")
        reply = shopper.wait_for_bot(before + 2)
        assert detect_language(reply.splitlines()[-1]) == "zh", reply
        assert "退货" in reply, reply
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shopper.page.screenshot(path=str(SCREENSHOTS / "widget-chinese.png"))
        assert shopper.dialogs == [] and shopper.errors == []
    finally:
        shopper.close()


def test_phone_viewport_chat(system: System, browser: Any) -> None:
    order = system.shipped_order()
    shopper = Shopper(browser, f"{system.insight_url}/?customer={order.customer_id}", PHONE)
    try:
        before = _bot_count(shopper)
        shopper.say(f"where is my order {order.id}?")
        assert order.tracking_number in shopper.wait_for_bot(before + 1)
        box = shopper.page.get_by_role("dialog").bounding_box()
        assert box is not None and box["width"] == PHONE["width"]
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shopper.page.screenshot(path=str(SCREENSHOTS / "widget-phone.png"))
    finally:
        shopper.close()


class Agent:
    """An agent signed in to the console's JSON API (cookie session, CSRF header)."""

    def __init__(self, browser: Any, url: str) -> None:
        self.context = browser.new_context(base_url=url)
        self.request = self.context.request
        login = self.request.get("/console/login").text()
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', login)
        assert csrf, login
        page = self.request.post(
            "/console/login",
            form={"username": "agent", "password": "agent-demo-pass", "csrf_token": csrf[1]},
        )
        assert page.ok, page.text()
        token = re.search(r'name="csrf-token" content="([^"]+)"', page.text())
        assert token, page.text()
        self.csrf = token[1]

    def escalation_for(self, sender_id: str, timeout_s: float = 30.0) -> int:
        """The queue item id of the shopper's conversation, waiting for it to appear."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            items = self.request.get("/console/api/queue").json()["items"]
            for item in items:
                if item["sender_id"] == sender_id:
                    return int(item["id"])
            time.sleep(0.5)
        raise AssertionError(f"{sender_id} never reached the console queue")

    def post(self, path: str, body: Any = None) -> Any:
        response = self.request.post(path, data=body, headers={"X-CSRF-Token": self.csrf})
        assert response.ok, (path, response.status, response.text())
        return response.json()

    def close(self) -> None:
        self.context.close()


def _hand_over(shopper: Shopper, agent: Agent) -> int:
    """The shopper asks for a person and the agent claims the chat; the escalation id."""
    before = _bot_count(shopper)
    shopper.say("I want to talk to a human")
    shopper.wait_for_bot(before + 1)
    escalation = agent.escalation_for(shopper.session_id())
    agent.post(f"/console/api/escalations/{escalation}/claim")
    sync_api.expect(shopper.page.locator(".agent-banner")).to_have_text(
        "You are talking to Alex Agent", timeout=REPLY_MS
    )
    return escalation


def _rate_five_stars(shopper: Shopper, agent: Agent, escalation: int) -> str:
    """The agent resolves, the shopper clicks the fifth star; what the bot says next."""
    agent.post(f"/console/api/escalations/{escalation}/resolve")
    sync_api.expect(shopper.page.locator(".agent-banner")).to_be_hidden(timeout=REPLY_MS)
    stars = shopper.page.get_by_role("group", name="Rate this conversation from 1 to 5 stars")
    sync_api.expect(stars.get_by_role("button")).to_have_count(5, timeout=REPLY_MS)
    count = _bot_count(shopper)
    stars.get_by_role("button", name="5 of 5 stars").click()
    sync_api.expect(shopper.page.locator(".msg--user .bubble").last).to_have_text(
        "Rated 5 of 5 ★★★★★"
    )
    return shopper.wait_for_bot(count + 1).splitlines()[-1]


def test_human_agent_takes_over_replies_and_a_star_rating_follows(
    system: System, browser: Any
) -> None:
    shopper = Shopper(browser, f"{system.insight_url}/?customer=1", DESKTOP)
    agent = Agent(browser, system.insight_url)
    try:
        escalation = _hand_over(shopper, agent)
        body = agent.post(
            f"/console/api/escalations/{escalation}/reply",
            {"text": "Hi, Alex here. <b>Bold</b> claims need a look."},
        )
        assert body["delivered"] is True
        message = shopper.page.locator(".msg--agent").last
        sync_api.expect(message.locator(".bubble")).to_have_text(
            "Hi, Alex here. <b>Bold</b> claims need a look.", timeout=REPLY_MS
        )
        sync_api.expect(message.locator(".speaker")).to_have_text("Alex Agent (agent): ")
        assert message.locator("b").count() == 0
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shopper.page.screenshot(path=str(SCREENSHOTS / "widget-agent.png"))

        _rate_five_stars(shopper, agent, escalation)  # the bot answers the rating payload "5"
        assert shopper.dialogs == [] and shopper.errors == []
    finally:
        agent.close()
        shopper.close()


def test_bot_thanks_for_the_star_rating(system: System, browser: Any) -> None:
    shopper = Shopper(browser, f"{system.insight_url}/?customer=1", DESKTOP)
    agent = Agent(browser, system.insight_url)
    try:
        escalation = _hand_over(shopper, agent)
        assert "thank" in _rate_five_stars(shopper, agent, escalation).lower()
    finally:
        agent.close()
        shopper.close()


def test_message_typed_while_rasa_restarts_is_sent_when_it_is_back(
    system: System, browser: Any
) -> None:
    order = system.shipped_order()
    shopper = Shopper(browser, f"{system.insight_url}/?customer={order.customer_id}", DESKTOP)
    try:
        system.stop("rasa")
        status = shopper.page.locator(".status")
        sync_api.expect(status).to_contain_text("Reconnecting", timeout=REPLY_MS)
        before = _bot_count(shopper)
        shopper.say(f"where is my order {order.id}?")
        sync_api.expect(shopper.page.locator(".msg.is-pending")).to_have_count(1)
        shopper.page.get_by_label("Your message").fill("still typing")

        system.start("rasa")
        shopper.online()
        assert order.tracking_number in shopper.wait_for_bot(before + 1)
        sync_api.expect(shopper.page.locator(".msg.is-pending")).to_have_count(0)
        assert shopper.page.get_by_label("Your message").input_value() == "still typing"
    finally:
        shopper.close()
