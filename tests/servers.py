"""Helpers for tests that start real servers as subprocesses: free ports, health, clean stop."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import urllib.error
import urllib.request

logger = logging.getLogger(__name__)

STOP_TIMEOUT_S = 20


def free_port() -> int:
    """A TCP port on localhost that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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
