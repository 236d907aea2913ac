"""The whole system as `make run` starts it, once for the hostile-input tests (this package).

Real processes on free ports and a temp seeded shop database: the rasa_sdk action server, ``rasa
run --enable-api --auth-token`` with the latest trained model in models/ and the project's
credentials (guarded REST channel, socket.io channel), and the insight web app. The identity
secret and the Rasa API token are left unset, so the processes share the ones generated in the
temp data dir, exactly as on the embedded default. Rate limits are tightened so a flood is quick
to provoke; every test uses its own sender ids.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest

from knowledge.secret_files import rasa_api_token
from knowledge.settings import Settings
from knowledge.shop.identity_token import sign_customer_id
from tests.bot.test_conversations import latest_model
from tests.servers import is_up, service_env, set_up_shop, stop_process

ROOT = Path(__file__).resolve().parents[2]
STARTUP_S = 420
RATE_LIMIT_BURST = 4
RATE_LIMIT_PER_S = 0.5
MAX_MESSAGE_CHARS = 5000


class LiveSystem:
    """The running services, their settings and small HTTP helpers."""

    def __init__(self, root: Path, env: Dict[str, str]) -> None:
        self.root = root
        self.env = env
        self.settings = Settings(
            data_dir=root,
            database_url=env["SHOP_DATABASE_URL"],
            host="127.0.0.1",
            identity_secret=None,  # the services generate and share the data dir's secrets
            rasa_token=None,
        )
        self.rasa_url = f"http://127.0.0.1:{env['SHOP_RASA_PORT']}"
        self.insight_url = f"http://127.0.0.1:{env['SHOP_INSIGHT_PORT']}"
        self.database_url = env["SHOP_DATABASE_URL"]
        self.processes: Dict[str, subprocess.Popen] = {}

    @property
    def token(self) -> str:
        """The Rasa API token the services share (generated in the data dir)."""
        return rasa_api_token(self.settings)

    def sign(self, customer_id: int, **kwargs: Any) -> str:
        """A customer-id claim as the shop page signs it."""
        return sign_customer_id(customer_id, self.settings, **kwargs)

    def post(
        self, path: str, body: bytes, headers: Dict[str, str] | None = None
    ) -> Tuple[int, Dict[str, str], bytes]:
        """POST raw bytes to the Rasa server; status, headers and body (errors included)."""
        request = urllib.request.Request(
            self.rasa_url + path,
            data=body,
            headers=headers or {"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def say(
        self, sender: str, text: str, metadata: Dict[str, Any] | None = None
    ) -> Tuple[int, List[Dict[str, Any]]]:
        """One REST message; the status and the bot's replies."""
        body: Dict[str, Any] = {"sender": sender, "message": text}
        if metadata is not None:
            body["metadata"] = metadata
        status, _, raw = self.post("/webhooks/rest/webhook", json.dumps(body).encode())
        return status, json.loads(raw)

    def tracker(self, sender: str) -> Dict[str, Any]:
        """The conversation's tracker from the Rasa HTTP API (with the token)."""
        url = f"{self.rasa_url}/conversations/{sender}/tracker?token={self.token}"
        with urllib.request.urlopen(url, timeout=30) as response:
            return json.loads(response.read())

    def start(self, name: str, command: List[str], health: str) -> None:
        """Start one service and wait for its health URL."""
        log = open(self.root / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        self.processes[name] = subprocess.Popen(
            command,
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + STARTUP_S
        while not is_up(health):
            if self.processes[name].poll() is not None or time.monotonic() > deadline:
                tail = (self.root / f"{name}.log").read_text(errors="replace")[-4000:]
                pytest.fail(f"{name} did not start:\n{tail}")
            time.sleep(1)

    def log(self, name: str) -> str:
        """What a service has written so far."""
        return (self.root / f"{name}.log").read_text(errors="replace")


def replies_text(replies: List[Dict[str, Any]]) -> str:
    """The bot's replies joined into one string."""
    return "\n".join(str(r.get("text") or "") for r in replies)


@pytest.fixture(scope="package")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSystem]:
    """Seed a temp shop and start the action server, the Rasa server and the insight app."""
    model = latest_model(Settings().models_dir)
    root = tmp_path_factory.mktemp("security-live")
    env = service_env(
        root,
        SHOP_CONSOLE_SECRET="security-tests",
        SHOP_RATE_LIMIT_BURST=str(RATE_LIMIT_BURST),
        SHOP_RATE_LIMIT_PER_S=str(RATE_LIMIT_PER_S),
        SHOP_MAX_MESSAGE_CHARS=str(MAX_MESSAGE_CHARS),
        SHOP_HANDOFF_CLAIM_TIMEOUT_S="3600",
    )
    # The servers generate their own secrets in the temp data dir, as `make run` does.
    for key in ("SHOP_IDENTITY_SECRET", "SHOP_RASA_TOKEN"):
        env.pop(key, None)
    set_up_shop(env)
    system = LiveSystem(root, env)
    python = sys.executable
    try:
        system.start(
            "actions",
            [python, "-m", "rasa_sdk", "--actions", "actions", "--port", env["SHOP_ACTION_PORT"]],
            f"http://127.0.0.1:{env['SHOP_ACTION_PORT']}/health",
        )
        system.start(
            "rasa",
            [
                python,
                "-m",
                "rasa",
                "run",
                "--enable-api",
                f"--auth-token={system.token}",
                "--model",
                str(model),
                "--endpoints",
                "bot/endpoints.yml",
                "--credentials",
                "bot/credentials.yml",
                "--interface",
                "127.0.0.1",
                "--port",
                env["SHOP_RASA_PORT"],
            ],
            f"{system.rasa_url}/status?token={system.token}",
        )
        system.start("insight", [python, "-m", "insight"], f"{system.insight_url}/healthz")
        yield system
    finally:
        for process in system.processes.values():
            stop_process(process)
