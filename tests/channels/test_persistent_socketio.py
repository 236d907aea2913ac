"""The socket.io channel joins the socket to its session's room, so bot replies reach it."""

from __future__ import annotations

from unittest.mock import AsyncMock

import pytest

from channels.persistent_socketio import PersistentSocketIOInput


async def _noop(_message: object) -> None:
    return None


@pytest.mark.parametrize("persistence", [True, False])
async def test_session_request_awaits_enter_room_and_confirms(persistence: bool) -> None:
    channel = PersistentSocketIOInput.from_credentials(
        {"session_persistence": persistence, "metadata_key": "customData"}
    )
    channel.blueprint(_noop)
    sio = channel.sio
    assert sio is not None
    sio.enter_room = AsyncMock()  # type: ignore[method-assign]
    sio.emit = AsyncMock()  # type: ignore[method-assign]

    await sio.handlers["/"]["session_request"]("sid-1", {"session_id": "abc"})

    if persistence:
        sio.enter_room.assert_awaited_once_with("sid-1", "abc", namespace=None)
    else:
        sio.enter_room.assert_not_awaited()
    sio.emit.assert_awaited_once_with("session_confirm", "abc", room="sid-1")


async def test_a_new_session_gets_an_id() -> None:
    channel = PersistentSocketIOInput.from_credentials({"session_persistence": True})
    channel.blueprint(_noop)
    sio = channel.sio
    assert sio is not None
    sio.enter_room = AsyncMock()  # type: ignore[method-assign]
    sio.emit = AsyncMock()  # type: ignore[method-assign]

    await sio.handlers["/"]["session_request"]("sid-2", None)

    session_id = sio.emit.await_args.args[1]
    assert isinstance(session_id, str) and len(session_id) == 32
    sio.enter_room.assert_awaited_once_with("sid-2", session_id, namespace=None)


def test_credentials_name_this_channel() -> None:
    from pathlib import Path

    import yaml

    credentials = yaml.safe_load(
        (Path(__file__).resolve().parents[2] / "bot" / "credentials.yml").read_text()
    )
    assert "channels.persistent_socketio.PersistentSocketIOInput" in credentials
    assert "socketio" not in credentials  # Rasa's own would drop replies with persistence on
