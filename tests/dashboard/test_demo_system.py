"""``python -m insight.demo`` before any traffic: is the system up, and what if only half is."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Iterator

import pytest

from insight.demo.__main__ import main
from insight.demo.system import health_urls, services_up
from insight.web.app import create_app
from knowledge.secret_files import rasa_api_token
from knowledge.settings import Settings, get_settings
from tests.servers import free_port


@pytest.fixture()
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url=database_url,
        host="127.0.0.1",
        rasa_port=free_port(),
        action_port=free_port(),
        insight_port=free_port(),
        console_secret="demo-system-test",
        analytics_ingest_interval_s=0,
    )


@pytest.fixture()
def environment(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("data_dir", "database_url", "host", "rasa_port", "action_port", "insight_port"):
        monkeypatch.setenv(f"SHOP_{name.upper()}", str(getattr(settings, name)))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_rasa_status_is_asked_with_the_api_token(settings: Settings) -> None:
    urls = health_urls(settings)
    assert urls["rasa server"].endswith(f"/status?token={rasa_api_token(settings)}")
    assert urls["insight web app"] == f"{settings.insight_url}/healthz"


async def test_a_half_running_system_is_reported_not_started(
    aiohttp_server: Any, settings: Settings, environment: None, capsys: Any
) -> None:
    assert services_up(settings) == dict.fromkeys(health_urls(settings), False)
    await aiohttp_server(create_app(settings), port=settings.insight_port)
    up = await asyncio.to_thread(services_up, settings)  # blocking urllib, off the app's loop
    assert up["insight web app"] and not up["rasa server"] and not up["action server"]
    # Starting a second system beside half of one would clash on the ports: say what is down.
    assert await _run_main([]) == 2
    assert "Not running: rasa server, action server" in capsys.readouterr().err


async def test_no_start_refuses_a_stopped_system(environment: None, capsys: Any) -> None:
    assert await _run_main(["--no-start"]) == 2
    assert "Start the system with `make run`" in capsys.readouterr().err


async def _run_main(argv: list[str]) -> int:
    """``main`` blocks (urllib, subprocess): run it off the event loop that serves the app."""
    return await asyncio.to_thread(main, argv)
