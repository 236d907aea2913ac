"""The processes and environment of the scale-out profile (``make run PROFILE=scale``).

* shop database / knowledge graph on PostgreSQL (``SHOP_DATABASE_URL``, else
  ``SHOP_SCALE_DATABASE_URL``), created if missing, migrated and seeded;
* Rasa with ``SHOP_RASA_WORKERS`` Sanic workers on one port (``SANIC_WORKERS``), its tracker
  store on PostgreSQL, lock store in Redis, events to RabbitMQ (bot/endpoints-scale.yml),
  socket.io shared through Redis (bot/credentials-scale.yml);
* ``SHOP_ACTION_WORKERS`` action-server processes on the ports after ``SHOP_ACTION_PORT`` and
  the action gateway on ``SHOP_ACTION_PORT`` in front of them (scale/action_gateway.py);
* the insight web app, reading the same PostgreSQL database and consuming the events queue.

Everything is derived from :class:`knowledge.settings.Settings`, so tests and the load
benchmark start the same profile on their own databases, queues and ports.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Sequence
from urllib.parse import unquote, urlsplit

from knowledge.settings import Settings
from scale.processes import ServiceSpec

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
ENDPOINTS = ROOT / "bot" / "endpoints-scale.yml"
CREDENTIALS = ROOT / "bot" / "credentials-scale.yml"


def shop_database_url(settings: Settings) -> str:
    """The shop database of the scale profile."""
    return settings.database_url or settings.scale_database_url


def amqp_url(settings: Settings) -> str:
    """The RabbitMQ URL of the scale profile's event broker."""
    return settings.events_amqp_url or settings.scale_amqp_url


def action_backend_ports(settings: Settings) -> List[int]:
    """Ports of the action-server processes (the gateway listens on ``action_port``)."""
    return [settings.action_port + 1 + i for i in range(max(1, settings.action_workers))]


def scale_environment(settings: Settings, base: Dict[str, str]) -> Dict[str, str]:
    """``base`` plus every variable bot/endpoints-scale.yml and credentials-scale.yml read."""
    tracker = urlsplit(settings.tracker_database_url)
    broker = urlsplit(amqp_url(settings))
    redis = urlsplit(settings.redis_url)
    redis_db = redis.path.strip("/") or "0"
    env = dict(base)
    env.update(
        {
            "SHOP_DATABASE_URL": shop_database_url(settings),
            "SHOP_ACTION_SERVER_URL": settings.action_server_url,
            "SHOP_TRACKER_PG_HOST": tracker.hostname or "localhost",
            "SHOP_TRACKER_PG_PORT": str(tracker.port or 5432),
            "SHOP_TRACKER_PG_USER": unquote(tracker.username or "postgres"),
            "SHOP_TRACKER_PG_PASSWORD": unquote(tracker.password or ""),
            "SHOP_TRACKER_PG_DB": tracker.path.strip("/") or "shop_tracker",
            "SHOP_TRACKER_PG_LOGIN_DB": "postgres",
            "SHOP_REDIS_HOST": redis.hostname or "localhost",
            "SHOP_REDIS_PORT": str(redis.port or 6379),
            "SHOP_REDIS_DB": redis_db,
            "SHOP_REDIS_PREFIX": settings.redis_prefix,
            "SHOP_SOCKETIO_REDIS_URL": settings.redis_url,
            "SHOP_SOCKETIO_CHANNEL": f"{settings.redis_prefix}-socketio",
            "SHOP_PIKA_URL": amqp_url(settings),
            "SHOP_PIKA_PORT": str(broker.port or 5672),
            "SHOP_PIKA_USER": unquote(broker.username or "guest"),
            "SHOP_PIKA_PASSWORD": unquote(broker.password or "guest"),
            "SHOP_EVENTS_AMQP_URL": amqp_url(settings),
            "SHOP_EVENTS_QUEUE": settings.events_queue,
            "SHOP_EVENTS_EXCHANGE": settings.events_exchange,
            # Rasa's Sanic workers (the lock store in Redis makes more than one allowed).
            "SANIC_WORKERS": str(max(1, settings.rasa_workers)),
        }
    )
    return env


def ensure_postgres_database(url: str) -> None:
    """Create the PostgreSQL database of ``url`` when it does not exist yet."""
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    target = make_url(url)
    if not target.drivername.startswith("postgresql") or not target.database:
        return
    engine = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            exists = connection.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :name"),
                {"name": target.database},
            ).first()
            if not exists:
                # Identifiers cannot be bound parameters; quote it with the dialect's preparer.
                name = engine.dialect.identifier_preparer.quote(target.database)
                connection.execute(sa.text(f"CREATE DATABASE {name}"))
                logger.info("created database %s", target.database)
    finally:
        engine.dispose()


def prepare(settings: Settings, env: Dict[str, str]) -> None:
    """Create, migrate and seed the shop database of the profile (idempotent)."""
    url = env["SHOP_DATABASE_URL"]
    ensure_postgres_database(url)
    subprocess.run(
        [sys.executable, "-m", "knowledge", "setup"], cwd=ROOT, env=env, check=True, timeout=600
    )


def scale_services(
    settings: Settings,
    model: Path,
    *,
    rasa_token: str | None = None,
    python: str = sys.executable,
    with_insight: bool = True,
) -> List[ServiceSpec]:
    """The processes of the profile (start them with :func:`scale_environment`'s variables)."""
    services: List[ServiceSpec] = []
    for port in action_backend_ports(settings):
        services.append(
            ServiceSpec(
                f"action server {port}",
                [python, "-m", "rasa_sdk", "--actions", "actions", "--port", str(port)],
                f"http://{settings.host}:{port}/health",
            )
        )
    backends: Sequence[str] = [
        f"http://{settings.host}:{p}" for p in action_backend_ports(settings)
    ]
    services.append(
        ServiceSpec(
            "action gateway",
            [
                python,
                "-m",
                "scale.action_gateway",
                "--port",
                str(settings.action_port),
                *[arg for b in backends for arg in ("--backend", b)],
            ],
            f"http://{settings.host}:{settings.action_port}/health",
        )
    )
    token_args = [f"--auth-token={rasa_token}"] if rasa_token else []
    token_query = f"?token={rasa_token}" if rasa_token else ""
    services.append(
        ServiceSpec(
            "rasa server",
            [
                python,
                "-m",
                "rasa",
                "run",
                "--enable-api",
                *token_args,
                "--cors",
                "*",
                "--model",
                str(model),
                "--endpoints",
                str(ENDPOINTS),
                "--credentials",
                str(CREDENTIALS),
                "--interface",
                settings.host,
                "--port",
                str(settings.rasa_port),
            ],
            f"{settings.rasa_url}/status{token_query}",
        )
    )
    if with_insight:
        services.append(
            ServiceSpec(
                "insight web app", [python, "-m", "insight"], f"{settings.insight_url}/healthz"
            )
        )
    return services
