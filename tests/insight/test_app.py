"""The insight web app serves its pages and reports database health, against a real database."""

from __future__ import annotations

from pathlib import Path

from insight.web.app import create_app
from knowledge.settings import Settings


async def test_health_reports_counts(aiohttp_client, database_url: str, tmp_path: Path) -> None:
    client = await aiohttp_client(
        create_app(Settings(data_dir=tmp_path, database_url=database_url))
    )
    response = await client.get("/healthz")
    assert response.status == 200
    body = await response.json()
    assert body["status"] == "ok"
    assert body["customers"] == 60
    assert body["orders"] > 60


async def test_health_is_503_when_database_is_not_migrated(aiohttp_client, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'empty.db'}")
    client = await aiohttp_client(create_app(settings))
    response = await client.get("/healthz")
    assert response.status == 503
    assert (await response.json())["status"] == "database unavailable"


async def test_shop_page_is_html(aiohttp_client, database_url: str, tmp_path: Path) -> None:
    client = await aiohttp_client(
        create_app(Settings(data_dir=tmp_path, database_url=database_url))
    )
    response = await client.get("/")
    assert response.status == 200
    assert response.content_type == "text/html"
    assert '<script src="/widget/widget.js"' in await response.text()
