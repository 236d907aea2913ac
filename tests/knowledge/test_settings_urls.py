"""Service URLs derived from the settings."""

from __future__ import annotations

from pathlib import Path

from knowledge.settings import Settings


def test_rasa_calls_the_action_server_on_the_loopback_address(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, host="localhost", action_port=5055)
    # Rasa opens a session per action call: an address spares resolving the name each time.
    assert settings.action_server_url == "http://127.0.0.1:5055/webhook"
    assert settings.rasa_url.startswith("http://localhost:")


def test_another_host_is_kept(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, host="10.0.0.7", action_port=6055)
    assert settings.action_server_url == "http://10.0.0.7:6055/webhook"
