"""The action gateway spreads calls, fails over to a live backend and answers politely."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Dict, List

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from scale.action_gateway import GatewayConfig, action_name, backend_index, create_app, sender_id

UNAVAILABLE = "Sorry, our systems are unreachable."
TOO_SLOW = "Sorry, that takes too long."


def _call(action: str, sender: str = "s1") -> Dict[str, Any]:
    return {"next_action": action, "sender_id": sender, "tracker": {}, "domain": {}, "version": "3"}


async def _backend(name: str, delay_s: float = 0.0) -> TestServer:
    """An HTTP server answering action calls with its name (stands in for an action server)."""

    async def webhook(request: web.Request) -> web.Response:
        body = await request.json()
        await asyncio.sleep(delay_s)
        return web.json_response(
            {"events": [], "responses": [{"text": f"{name} ran {body['next_action']}"}]}
        )

    async def health(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_post("/webhook", webhook)
    app.router.add_get("/health", health)
    server = TestServer(app)
    await server.start_server()
    return server


async def _gateway(backends: List[str], timeout_s: float = 5.0) -> TestClient:
    config = GatewayConfig(
        backends=backends,
        timeout_s=timeout_s,
        unavailable_text=UNAVAILABLE,
        timeout_text=TOO_SLOW,
        silent_actions=frozenset({"action_record_turn"}),
    )
    client = TestClient(TestServer(create_app(config)))
    await client.start_server()
    return client


async def _texts(client: TestClient, action: str, sender: str = "s1") -> List[str]:
    response = await client.post("/webhook", json=_call(action, sender))
    assert response.status == 200
    return [r["text"] for r in (await response.json())["responses"]]


def test_action_name_is_read_from_the_head_or_the_whole_body() -> None:
    assert action_name(json.dumps(_call("action_track")).encode()) == "action_track"
    late = json.dumps({"domain": {"x": "y" * 1000}, "next_action": "action_late"}).encode()
    assert action_name(late) == "action_late"
    assert action_name(b"not json") == ""
    assert sender_id(json.dumps(_call("a", 'he said "hi"')).encode()) == 'he said \\"hi\\"'
    assert sender_id(json.dumps({"x": "y" * 3000, "sender_id": "late"}).encode()) == "late"


async def test_a_conversation_sticks_to_one_backend_and_conversations_spread() -> None:
    a, b = await _backend("a"), await _backend("b")
    client = await _gateway([str(a.make_url("")), str(b.make_url(""))])
    try:
        for sender in ("s1", "s2", "s3"):
            seen = {(await _texts(client, "action_x", sender))[0] for _ in range(3)}
            assert seen == {f"{'ab'[backend_index(sender, 2)]} ran action_x"}
        assert {backend_index(f"shopper-{n}", 2) for n in range(20)} == {0, 1}
    finally:
        await client.close()
        await a.close()
        await b.close()


async def test_a_dead_backend_is_skipped_and_all_dead_is_answered_politely() -> None:
    alive = await _backend("alive")
    dead = await _backend("dead")
    dead_url = str(dead.make_url(""))
    await dead.close()
    client = await _gateway([dead_url, str(alive.make_url(""))])
    try:
        senders = [f"s{n}" for n in range(6)]
        assert {backend_index(sender, 2) for sender in senders} == {0, 1}  # both hash slots
        for sender in senders:
            assert await _texts(client, "action_x", sender) == ["alive ran action_x"]
        health = await (await client.get("/health")).json()
        assert health["backends_up"] == [str(alive.make_url("")).rstrip("/")]
        await alive.close()
        assert await _texts(client, "action_x") == [UNAVAILABLE]
        assert await _texts(client, "action_record_turn") == []  # silent on failure
        assert (await client.get("/health")).status == 503
    finally:
        await client.close()


async def test_a_slow_action_is_answered_after_the_timeout() -> None:
    slow = await _backend("slow", delay_s=3.0)
    client = await _gateway([str(slow.make_url(""))], timeout_s=0.5)
    try:
        loop = asyncio.get_running_loop()
        started = loop.time()
        assert await _texts(client, "action_x") == [TOO_SLOW]
        assert loop.time() - started < 2.0
    finally:
        await client.close()
        await slow.close()


async def _recording_backend(port: int, received: List[str]) -> TestServer:
    """A backend on ``port`` that notes ``sender:text`` of every call it gets."""

    async def webhook(request: web.Request) -> web.Response:
        body = await request.json()
        received.append(f"{body['sender_id']}:{body['tracker']['latest_message']['text']}")
        return web.json_response({"events": [], "responses": []})

    app = web.Application()
    app.router.add_post("/webhook", webhook)
    server = TestServer(app, port=port)
    await server.start_server()
    return server


async def test_bookkeeping_calls_with_no_backend_are_sent_again_in_order() -> None:
    from scale.action_gateway import REPLAY_S

    received: List[str] = []
    down = await _recording_backend(0, received)
    port = down.port
    assert port is not None
    url = str(down.make_url(""))
    await down.close()
    client = await _gateway([url])

    async def turn(sender: str, text: str, action: str = "action_record_turn") -> int:
        call = {**_call(action, sender), "tracker": {"latest_message": {"text": text}}}
        response = await client.post("/webhook", json=call)
        assert response.status == 200
        return len((await response.json())["responses"])

    try:
        assert await turn("s1", "first") == 0  # silent, and kept
        assert await turn("s2", "other") == 0
        assert await turn("s1", "answer me", "action_x") == 1  # the polite text, not kept
        assert await turn("s1", "second") == 0
        back = await _recording_backend(port, received)
        try:
            # The conversation's next call sends its kept ones first, in order.
            await turn("s1", "third")
            assert received[:3] == ["s1:first", "s1:second", "s1:third"]
            # A quiet conversation's kept call goes out on the next periodic replay.
            loop = asyncio.get_running_loop()
            deadline = loop.time() + REPLAY_S * 3
            while "s2:other" not in received:
                assert loop.time() < deadline, received
                await asyncio.sleep(0.1)
            assert received.count("s1:first") == 1 and "s1:answer me" not in received
        finally:
            await back.close()
    finally:
        await client.close()
