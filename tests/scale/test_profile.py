"""The scale profile's environment fills every variable its endpoints and credentials read."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from knowledge.settings import Settings
from scale.profile import CREDENTIALS, ENDPOINTS, action_backend_ports, scale_environment

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))


def _settings(**values: object) -> Settings:
    return Settings(
        tracker_database_url="postgresql://bob:s%40cret@db.example:6543/trk",
        events_amqp_url="amqp://rab:pw@mq.example:5673/shop",
        redis_url="redis://cache.example:6380/3",
        redis_prefix="shopA",
        action_port=7000,
        action_workers=3,
        rasa_workers=4,
        **values,  # type: ignore[arg-type]
    )


def test_every_variable_of_the_scale_files_is_set() -> None:
    env = scale_environment(_settings(), {})
    for path in (ENDPOINTS, CREDENTIALS):
        for name in re.findall(r"\$\{(\w+)\}", path.read_text()):
            assert name in env, f"{path.name} reads {name}, which the profile does not set"


def test_values_come_from_the_settings() -> None:
    env = scale_environment(_settings(), {"KEEP": "1"})
    assert env["KEEP"] == "1"
    assert (env["SHOP_TRACKER_PG_HOST"], env["SHOP_TRACKER_PG_PORT"]) == ("db.example", "6543")
    assert (env["SHOP_TRACKER_PG_USER"], env["SHOP_TRACKER_PG_PASSWORD"]) == ("bob", "s@cret")
    assert env["SHOP_TRACKER_PG_DB"] == "trk"
    assert (env["SHOP_PIKA_PORT"], env["SHOP_PIKA_USER"], env["SHOP_PIKA_PASSWORD"]) == (
        "5673",
        "rab",
        "pw",
    )
    assert (env["SHOP_REDIS_HOST"], env["SHOP_REDIS_PORT"], env["SHOP_REDIS_DB"]) == (
        "cache.example",
        "6380",
        "3",
    )
    assert env["SANIC_WORKERS"] == "4"
    assert env["SHOP_ACTION_SERVER_URL"] == "http://127.0.0.1:7000/webhook"
    assert action_backend_ports(_settings()) == [7001, 7002, 7003]


def test_the_launcher_picks_the_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    from run_system import selected_profile

    monkeypatch.delenv("PROFILE", raising=False)
    assert selected_profile([]) == "embedded"
    assert selected_profile(["--profile", "scale"]) == "scale"
    monkeypatch.setenv("PROFILE", "scale")
    assert selected_profile([]) == "scale"
    with pytest.raises(SystemExit):
        selected_profile(["--profile", "huge"])
