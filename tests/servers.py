"""Helpers for tests that start real servers as subprocesses: free ports, health, clean stop."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Dict, List

logger = logging.getLogger(__name__)

STOP_TIMEOUT_S = 20
ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A TCP port on localhost that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_port_block(size: int) -> int:
    """A port whose next ``size - 1`` ports are free too."""
    for _ in range(100):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = int(probe.getsockname()[1])
        if base + size > 65535:
            continue
        sockets: List[socket.socket] = []
        try:
            for port in range(base, base + size):
                sock = socket.socket()
                sockets.append(sock)
                sock.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise RuntimeError("no block of free ports")


def is_up(url: str) -> bool:
    """True when ``url`` answers with a 2xx status."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return 200 <= response.status < 300
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


def stop_process(process: subprocess.Popen) -> None:
    """Terminate a process started with ``start_new_session=True`` and its children."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def shared_encoder_dir() -> Path:
    """The multilingual encoder directory of this checkout's own settings."""
    from knowledge.encoder.convert import default_output_dir

    return default_output_dir()


def service_env(data_dir: Path, host: str = "127.0.0.1", **overrides: str) -> Dict[str, str]:
    """Environment for the project's servers on their own data dir, SQLite files and free ports.

    ``overrides`` are further ``SHOP_...`` settings; the action server URL follows the port.
    """
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "SHOP_HOST": host,
        "SHOP_DATA_DIR": str(data_dir),
        "SHOP_DATABASE_URL": f"sqlite:///{data_dir / 'shop.db'}",
        "SHOP_TRACKER_DB": str(data_dir / "tracker.db"),
        "SHOP_EVENTS_DB": str(data_dir / "events.db"),
        "SHOP_RASA_PORT": str(free_port()),
        "SHOP_ACTION_PORT": str(free_port()),
        "SHOP_INSIGHT_PORT": str(free_port()),
        # The converted multilingual encoder of the developer's data dir (made by `make train`),
        # not a fresh ~0.5 GB conversion in every temporary data dir.
        "SHOP_MULTILINGUAL_ENCODER_DIR": str(shared_encoder_dir()),
        **overrides,
    }
    env["SHOP_ACTION_SERVER_URL"] = f"http://{host}:{env['SHOP_ACTION_PORT']}/webhook"
    return env


def set_up_shop(env: Dict[str, str]) -> None:
    """Migrate and seed the shop database named by ``env`` (``python -m knowledge setup``)."""
    subprocess.run(
        [sys.executable, "-m", "knowledge", "setup"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
