"""Start a list of services as process groups, wait for their health URLs, stop them cleanly.

Used by the load benchmark and the scale/fault tests (``make run`` has its own loop in
scripts/run_system.py).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Sequence

from scale.profile import ROOT, ServiceSpec

logger = logging.getLogger(__name__)

STOP_TIMEOUT_S = 20.0


def is_up(url: str) -> bool:
    """True when ``url`` answers with a 2xx status."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return 200 <= response.status < 300
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


@dataclass
class Running:
    """The started processes by service name, their log folder and environment."""

    log_dir: Path
    env: Dict[str, str]
    specs: Dict[str, ServiceSpec] = field(default_factory=dict)
    processes: Dict[str, subprocess.Popen] = field(default_factory=dict)

    def start(self, spec: ServiceSpec) -> None:
        """Start (or restart) one service; its output goes to ``<log_dir>/<name>.log``."""
        self.specs[spec.name] = spec
        log = open(self.log_dir / f"{spec.name.replace(' ', '_')}.log", "ab")  # noqa: SIM115
        try:
            self.processes[spec.name] = subprocess.Popen(
                spec.command,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            log.close()  # the child keeps its own descriptor

    def wait_up(self, names: Sequence[str] | None = None, timeout_s: float = 600.0) -> None:
        """Block until the services answer their health URLs; raise if one exits or times out."""
        pending = set(names if names is not None else self.specs)
        deadline = time.monotonic() + timeout_s
        while pending:
            for name in sorted(pending):
                process = self.processes[name]
                if process.poll() is not None:
                    raise RuntimeError(
                        f"{name} exited ({process.returncode}):\n{self.log_tail(name)}"
                    )
                if is_up(self.specs[name].health_url):
                    pending.discard(name)
            if pending and time.monotonic() > deadline:
                raise RuntimeError(f"not up in {timeout_s:.0f}s: {sorted(pending)}")
            time.sleep(0.5)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to a service's process group and reap it."""
        process = self.processes[name]
        if process.poll() is None:
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def stop(self) -> None:
        """Terminate every service (SIGTERM, then SIGKILL after a grace period)."""
        for name in list(self.processes):
            self.kill(name, signal.SIGTERM)

    def log_tail(self, name: str, chars: int = 4000) -> str:
        """The end of a service's log."""
        path = self.log_dir / f"{name.replace(' ', '_')}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""


def start_all(specs: List[ServiceSpec], env: Dict[str, str], log_dir: Path) -> Running:
    """Start every service and wait until all are up (stopping them all on failure)."""
    log_dir.mkdir(parents=True, exist_ok=True)
    running = Running(log_dir, env)
    try:
        for spec in specs:
            running.start(spec)
        running.wait_up()
    except BaseException:
        running.stop()
        raise
    return running
