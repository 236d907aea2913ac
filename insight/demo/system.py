"""Is the system up? If not, start it the way ``make run`` does (``scripts/run_system.py``)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
import urllib.parse

from knowledge.secret_files import rasa_api_token
from knowledge.settings import PROJECT_ROOT, Settings
from scale.processes import is_up, start_process, stop_process

logger = logging.getLogger(__name__)

RUN_SYSTEM = PROJECT_ROOT / "scripts" / "run_system.py"
STARTUP_TIMEOUT_S = 360.0
STOP_TIMEOUT_S = 30.0


class SystemStartError(RuntimeError):
    """The system is half up, or could not be started."""


def health_urls(settings: Settings) -> dict[str, str]:
    """The URL that tells each service is up (as ``scripts/run_system.py`` checks them)."""
    # Rasa's HTTP API (and so /status) wants the token run_system.py passes to `rasa run`.
    token = urllib.parse.quote(rasa_api_token(settings), safe="")
    return {
        "rasa server": f"{settings.rasa_url}/status?token={token}",
        "action server": f"http://{settings.host}:{settings.action_port}/health",
        "insight web app": f"{settings.insight_url}/healthz",
    }


def services_up(settings: Settings) -> dict[str, bool]:
    """Each service's name and whether it answers its health check."""
    return {name: is_up(url) for name, url in health_urls(settings).items()}


class StartedSystem:
    """The system started by the demo: ``scripts/run_system.py`` in its own process group."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.process: subprocess.Popen | None = None

    def start(self, timeout_s: float = STARTUP_TIMEOUT_S) -> None:
        """Start every service and wait until all answer; raise when one fails."""
        logger.info("starting the system (%s); this takes a minute or two", RUN_SYSTEM.name)
        self.process = start_process(
            [sys.executable, str(RUN_SYSTEM)], os.environ, cwd=PROJECT_ROOT
        )
        deadline = time.monotonic() + timeout_s
        while not all(services_up(self.settings).values()):
            if self.process.poll() is not None:
                raise SystemStartError(f"{RUN_SYSTEM.name} exited with {self.process.returncode}")
            if time.monotonic() > deadline:
                self.stop()
                raise SystemStartError(f"the system was not up after {timeout_s:.0f} s")
            time.sleep(2)

    def wait(self) -> int:
        """Block until the system stops (Ctrl-C stops it); its exit code."""
        assert self.process is not None
        return self.process.wait()

    def stop(self) -> None:
        """Stop every service (``run_system.py`` stops its children on SIGTERM)."""
        if self.process is None or self.process.poll() is not None:
            return
        stop_process(self.process, timeout_s=STOP_TIMEOUT_S)
