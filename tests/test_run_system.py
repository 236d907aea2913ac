"""`make run`'s launcher starts every service, prints the URLs, and one Ctrl-C stops them all.

What happens when one service dies is tested in tests/faults/test_supervised_system.py.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.servers import free_port, free_port_block, shared_encoder_dir

ROOT = Path(__file__).resolve().parents[1]
STARTUP_S = 300


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("localhost", port)) == 0


@pytest.mark.slow
def test_launcher_starts_everything_and_ctrl_c_stops_it(tmp_path: Path) -> None:
    if not list((ROOT / "models").glob("*.tar.gz")):
        pytest.fail("no trained model in models/: run `make train` first (make test does)")
    ports = {
        "SHOP_RASA_PORT": free_port(),
        # The action gateway, then the action server on the next port.
        "SHOP_ACTION_PORT": free_port_block(2),
        "SHOP_INSIGHT_PORT": free_port(),
    }
    env = {
        **os.environ,
        **{k: str(v) for k, v in ports.items()},
        "SHOP_DATA_DIR": str(tmp_path),
        "SHOP_MULTILINGUAL_ENCODER_DIR": str(shared_encoder_dir()),
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("SHOP_TRACKER_DB", None)
    env.pop("SHOP_EVENTS_DB", None)
    env.pop("SHOP_ACTION_SERVER_URL", None)
    env.pop("SHOP_DATABASE_URL", None)
    subprocess.run(
        [sys.executable, "-m", "knowledge", "setup"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    launcher = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "run_system.py")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    output: list[str] = []
    try:
        deadline = time.monotonic() + STARTUP_S
        assert launcher.stdout is not None
        while time.monotonic() < deadline:
            line = launcher.stdout.readline()
            if not line:
                break
            output.append(line)
            if "Press Ctrl-C" in line:
                break
        text = "".join(output)
        assert "The system is up" in text, text[-3000:]
        assert f"http://localhost:{ports['SHOP_INSIGHT_PORT']}/" in text
        assert f"http://localhost:{ports['SHOP_RASA_PORT']}/webhooks/rest/webhook" in text

        request = urllib.request.Request(
            f"http://localhost:{ports['SHOP_RASA_PORT']}/webhooks/rest/webhook",
            data=json.dumps({"sender": "launcher-test", "message": "hello"}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            replies = json.loads(response.read())
        assert replies and all("text" in r or "buttons" in r for r in replies)

        os.killpg(launcher.pid, signal.SIGINT)
        assert launcher.wait(timeout=60) == 0
        time.sleep(1)
        listening = [*ports.values(), ports["SHOP_ACTION_PORT"] + 1]
        assert not any(_port_open(p) for p in listening), "a service still listens"
    finally:
        if launcher.poll() is None:
            os.killpg(launcher.pid, signal.SIGKILL)
