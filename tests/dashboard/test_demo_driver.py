"""The demo driver against the real insight app (console sign-in, queue, claim, reply, resolve).

The Rasa server is a small stand-in on one port for both the REST channel and the HTTP API the
console calls: it answers every message, hands over (a real escalation in the real database, as
the action server would) when a shopper asks for a person, stays silent while paused, and resumes
when the console appends ``resume``. The real bot is driven by ``make demo`` (see the README).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import select

from insight.demo.catch_up import wait_for_dashboard
from insight.demo.clients import ConsoleAgent
from insight.demo.corpus import load_corpus
from insight.demo.driver import DemoDriver
from insight.demo.scripts import HUMAN_REQUESTS, build_shoppers
from insight.demo.shop_data import load_shop_data
from insight.web.app import create_app
from knowledge.handoff import escalations
from knowledge.models import Escalation, EscalationStatus
from knowledge.settings import Settings
from knowledge.shop.identity_token import sign_customer_id, verify_customer_token
from tests.dashboard.analytics_data import HOSTILE_SENDER, fold_known_data
from tests.dashboard.support import AGENT, PASSWORD, SUPERVISOR, create_accounts

RATING_THANKS = "Thank you for your rating!"


@dataclass
class StandInRasa:
    """REST channel + the HTTP API calls of the console, recording everything in order."""

    factory: Any
    handoff_text: str
    fail_sender: str | None = None
    # This sender's first message gets 429 (the channel's rate limit), as a flood would.
    slow_sender: str | None = None
    log: list[tuple[str, str, Any]] = field(default_factory=list)
    paused: set[str] = field(default_factory=set)
    in_flight: int = 0
    max_in_flight: int = 0

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/webhooks/rest/webhook", self.webhook)
        app.router.add_post("/conversations/{sender}/tracker/events", self.events)
        app.router.add_post("/conversations/{sender}/execute", self.execute)
        return app

    async def webhook(self, request: web.Request) -> web.Response:
        body = await request.json()
        sender, text = body["sender"], body["message"]
        if sender == self.fail_sender:
            return web.json_response({"error": "boom"}, status=500)
        if sender == self.slow_sender:
            self.slow_sender = None
            return web.json_response([{"recipient_id": sender, "text": "too fast"}], status=429)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0.01)  # let other shoppers in
            self.log.append((sender, text, body.get("metadata")))
            if sender in self.paused:
                return web.json_response([])
            if text in HUMAN_REQUESTS:
                with self.factory() as session, session.begin():
                    escalations.open_escalation(
                        session,
                        sender_id=sender,
                        reason="Asked for a person",
                        trigger="request",
                        priority=2,
                        churn_risk=0.1,
                        now=datetime.now(timezone.utc).replace(tzinfo=None),
                    )
                self.paused.add(sender)
                return web.json_response([{"recipient_id": sender, "text": self.handoff_text}])
            if text.isdigit():
                return web.json_response([{"recipient_id": sender, "text": RATING_THANKS}])
            return web.json_response([{"recipient_id": sender, "text": "Happy to help."}])
        finally:
            self.in_flight -= 1

    async def events(self, request: web.Request) -> web.Response:
        sender = request.match_info["sender"]
        for event in await request.json():
            self.log.append((sender, f"<{event['event']}>", None))
            if event["event"] == "resume":
                self.paused.discard(sender)
        return web.json_response({})

    async def execute(self, request: web.Request) -> web.Response:
        self.log.append((request.match_info["sender"], "<execute>", None))
        return web.json_response({})


@pytest.fixture()
def settings(database_url: str, tmp_path: Path, session_factory: Any) -> Settings:
    create_accounts(session_factory)
    return Settings(
        data_dir=tmp_path,
        database_url=database_url,
        host="127.0.0.1",
        console_secret="demo-driver-test",
        identity_secret="demo-driver-identity",
        console_poll_s=0.05,
        handoff_claim_timeout_s=3600,
    )


async def _run(
    aiohttp_server: Any, settings: Settings, factory: Any, count: int, fail_index: int | None
) -> tuple[Any, StandInRasa, list[Any]]:
    corpus = load_corpus()
    with factory() as session:
        shop = load_shop_data(session)
    shoppers = build_shoppers(count, 11, "t", corpus, shop)
    fail_sender = shoppers[fail_index].sender_id if fail_index is not None else None
    rasa = StandInRasa(factory, sorted(corpus.handoff_texts)[0], fail_sender, shoppers[1].sender_id)
    rasa_server = await aiohttp_server(rasa.app())
    settings = settings.copy(update={"rasa_port": rasa_server.port})
    insight = await aiohttp_server(create_app(settings))
    agent = ConsoleAgent(str(insight.make_url("")).rstrip("/"), AGENT, PASSWORD)
    assert await agent.sign_in()
    try:
        driver = DemoDriver(
            f"http://127.0.0.1:{rasa_server.port}",
            corpus.handoff_texts,
            [agent],
            concurrency=3,
            seed=5,
            sign_customer=lambda customer_id: sign_customer_id(customer_id, settings),
            progress=lambda _line: None,
            agent_delay_s=(0.0, 0.02),
        )
        stats = await driver.run(shoppers)
    finally:
        await agent.close()
    return stats, rasa, shoppers


async def test_every_conversation_is_played_and_hand_overs_are_answered(
    aiohttp_server: Any, settings: Settings, session_factory: Any
) -> None:
    stats, rasa, shoppers = await _run(aiohttp_server, settings, session_factory, 60, None)
    assert (stats.finished, stats.failed) == (60, 0)
    assert 1 < rasa.max_in_flight <= 3
    handed_over = [s for s in shoppers if any(t in HUMAN_REQUESTS for t in s.turns)]
    answered = [s for s in handed_over if s.agent_answers]
    assert handed_over and answered, "the seed must produce hand-overs the agent answers"
    assert stats.handovers == len(handed_over)
    assert stats.agent_handled == stats.ratings == len(answered)
    assert stats.left_in_queue == len(handed_over) - len(answered)

    for shopper in shoppers:
        said = [(text, meta) for sender, text, meta in rasa.log if sender == shopper.sender_id]
        expected = list(shopper.turns)
        if shopper in handed_over:
            expected = expected[
                : next(i for i, t in enumerate(expected) if t in HUMAN_REQUESTS) + 1
            ]
            expected += [shopper.wait_message] if shopper.wait_message else []
            if shopper.agent_answers:
                # The console's calls come before the rating: joined, reply, left + resume.
                expected += ["<bot>", "<bot>", "<bot>", "<resume>", "<execute>"]
                expected += [str(shopper.rating)] + ([shopper.closing] if shopper.closing else [])
        assert [text for text, _ in said] == expected, shopper.sender_id
        for text, meta in said:
            if text.startswith("<"):
                continue
            if shopper.customer_id is None:
                assert meta is None
            else:
                verified = verify_customer_token(meta["customer_id"], settings)
                assert verified.customer_id == shopper.customer_id

    with session_factory() as session:
        statuses = dict(
            session.execute(select(Escalation.id, Escalation.status)).all()  # type: ignore[arg-type]
        )
    resolved = [s for s in statuses.values() if s == EscalationStatus.RESOLVED]
    still_open = [s for s in statuses.values() if s == EscalationStatus.OPEN]
    assert len(resolved) == len(answered)
    assert len(still_open) == len(handed_over) - len(answered)


async def test_a_failing_conversation_is_reported_and_the_others_go_on(
    aiohttp_server: Any, settings: Settings, session_factory: Any
) -> None:
    stats, rasa, shoppers = await _run(aiohttp_server, settings, session_factory, 12, 4)
    assert (stats.finished, stats.failed) == (11, 1)
    assert stats.errors and shoppers[4].sender_id in stats.errors[0]
    assert "500" in stats.errors[0]
    assert "1 failed" in stats.summary()
    assert not [entry for entry in rasa.log if entry[0] == shoppers[4].sender_id]


async def test_the_catch_up_reads_the_dashboard_api_as_the_supervisor(
    aiohttp_server: Any, settings: Settings, session_factory: Any
) -> None:
    fold_known_data(session_factory)
    insight = await aiohttp_server(create_app(settings))
    url = str(insight.make_url("")).rstrip("/")
    known = ["c1", "c2", "c3", "c4", "c5", "c6", "c7", HOSTILE_SENDER]
    line = await wait_for_dashboard(url, SUPERVISOR, PASSWORD, known)
    # (10 in all: the Chinese c9 and c10 of the event log are not in this run's list.)
    assert line.startswith("The dashboard counts 8 of this run's 8 conversations (10 in all)")
    # Conversations the analytics never saw: it gives up after the timeout and says so.
    line = await wait_for_dashboard(url, SUPERVISOR, PASSWORD, ["c1", "nope"], timeout_s=0)
    assert line.startswith("The dashboard counts 1 of this run's 2 conversations")
    # An agent may not read the dashboard's API: a clear line, no crash.
    line = await wait_for_dashboard(url, AGENT, PASSWORD, known)
    assert "403" in line
