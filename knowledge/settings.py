"""Every run-time setting of the project, in one typed place.

Values come from environment variables prefixed with ``SHOP_`` (for example
``SHOP_DATABASE_URL``); the defaults run the whole system embedded on one machine.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

from pydantic import BaseSettings, Field, validator

logger = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[1]


class Settings(BaseSettings):
    """Typed settings of the shop, the bot's actions and the insight web app."""

    # Folder for the embedded default's files (SQLite databases, FAISS index).
    data_dir: Path = Field(default=PROJECT_ROOT / "var")
    # SQLAlchemy URL of the shop database / customer knowledge graph.
    database_url: str | None = None
    # Seed of the deterministic demo data.
    seed: int = 20240601
    # How many demo customers the seed creates.
    seed_customers: int = 300
    # How many demo products the seed creates.
    seed_products: int = 60

    # Host every local service binds to and is reached at.
    host: str = "localhost"
    # Port of the Rasa server (REST and socket.io channels, HTTP API).
    rasa_port: int = 5005
    # Port of the action server.
    action_port: int = 5055
    # Port of the insight web app (shop page, agent console, dashboard).
    insight_port: int = 8080
    # SQLite file (or SQLAlchemy URL) of Rasa's tracker store on the embedded default.
    tracker_db: str | None = None

    # Returns are accepted this many days after delivery.
    return_window_days: int = 30

    class Config:
        env_prefix = "SHOP_"

    @validator("data_dir")
    def _absolute_data_dir(cls, value: Path) -> Path:  # noqa: N805 - pydantic validator
        return value.expanduser().resolve()

    @property
    def rasa_url(self) -> str:
        """Base URL of the Rasa server."""
        return f"http://{self.host}:{self.rasa_port}"

    @property
    def action_server_url(self) -> str:
        """Webhook URL of the action server."""
        return f"http://{self.host}:{self.action_port}/webhook"

    @property
    def insight_url(self) -> str:
        """Base URL of the insight web app."""
        return f"http://{self.host}:{self.insight_port}"

    @property
    def resolved_tracker_db(self) -> str:
        """Path of the SQLite tracker store file."""
        return self.tracker_db or str(self.data_dir / "tracker.db")

    @property
    def resolved_database_url(self) -> str:
        """The shop database URL: the configured one, else a SQLite file in ``data_dir``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'shop.db'}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings read once from the environment and cached for the process."""
    settings = Settings()
    logger.debug("Loaded settings: %s", settings)
    return settings
