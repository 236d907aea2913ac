"""The one place that starts, watches and stops the system's processes.

``make run`` (scripts/run_system.py, through supervisord: scale/supervision.py), the demo's
"start the system if it is down" (insight/demo/system.py), the load benchmark and the scale and
fault tests all start processes here: each in a process group of its own, output to a log file,
health checked over HTTP, stopped with SIGTERM and, after a grace period, SIGKILL.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Mapping, Sequence

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
STOP_TIMEOUT_S = 20.0
POLL_S = 0.5


@dataclass(frozen=True)
class ServiceSpec:
    """One process of the system: its name, command line and health URL."""

    name: str
    command: List[str]
    health_url: str

    @property
    def slug(self) -> str:
        """The name as a file and program name (``action server`` -> ``action_server``)."""
        return self.name.replace(" ", "_")


def is_up(url: str, timeout_s: float = 2.0) -> bool:
    """True when ``url`` answers with a 2xx status."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return 200 <= response.status < 300
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


def start_process(
    command: Sequence[str],
    env: Mapping[str, str],
    log_path: Path | None = None,
    *,
    cwd: Path = ROOT,
    new_session: bool = True,
) -> subprocess.Popen:
    """Start ``command`` (by default in a session and process group of its own).

    Its output is appended to ``log_path`` (inherited when None).
    """
    if log_path is None:
        return subprocess.Popen(
            list(command), cwd=cwd, env=dict(env), start_new_session=new_session
        )
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:  # the child keeps its own descriptor
        return subprocess.Popen(
            list(command),
            cwd=cwd,
            env=dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=new_session,
        )


def stop_process(
    process: subprocess.Popen, sig: int = signal.SIGTERM, timeout_s: float = STOP_TIMEOUT_S
) -> None:
    """Send ``sig`` to the process group of ``process``; SIGKILL it after ``timeout_s``; reap."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        logger.warning(
            "pid %d outlived signal %d by %.0fs: killing it", process.pid, sig, timeout_s
        )
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def wait_until_up(
    health: Mapping[str, str],
    timeout_s: float,
    failed: Callable[[str], str | None] = lambda _name: None,
) -> None:
    """Block until every named health URL answers; raise when ``failed(name)`` says why not.

    ``failed`` returns a reason (the service exited, ...) or None while there is hope.
    """
    pending = dict(health)
    deadline = time.monotonic() + timeout_s
    while pending:
        for name in sorted(pending):
            reason = failed(name)
            if reason is not None:
                raise RuntimeError(f"{name} {reason}")
            if is_up(pending[name]):
                logger.info("%s is up", name)
                del pending[name]
        if pending and time.monotonic() > deadline:
            raise RuntimeError(f"not up in {timeout_s:.0f}s: {', '.join(sorted(pending))}")
        if pending:
            time.sleep(POLL_S)


def log_tail(path: Path, chars: int = 4000) -> str:
    """The end of a log file ('' when there is none)."""
    return path.read_text(errors="replace")[-chars:] if path.exists() else ""


@dataclass
class Running:
    """Started processes by service name, their log folder and environment (tests, benchmark)."""

    log_dir: Path
    env: Dict[str, str]
    specs: Dict[str, ServiceSpec] = field(default_factory=dict)
    processes: Dict[str, subprocess.Popen] = field(default_factory=dict)

    def log_path(self, name: str) -> Path:
        """Where service ``name`` writes its output."""
        return self.log_dir / f"{name.replace(' ', '_')}.log"

    def start(self, spec: ServiceSpec) -> None:
        """Start (or restart) one service; its output goes to ``<log_dir>/<name>.log``."""
        self.specs[spec.name] = spec
        self.processes[spec.name] = start_process(spec.command, self.env, self.log_path(spec.name))

    def wait_up(self, names: Sequence[str] | None = None, timeout_s: float = 600.0) -> None:
        """Block until the services answer their health URLs; raise if one exits or times out."""
        wanted = names if names is not None else list(self.specs)

        def failed(name: str) -> str | None:
            code = self.processes[name].poll()
            return None if code is None else f"exited ({code}):\n{self.log_tail(name)}"

        wait_until_up({n: self.specs[n].health_url for n in wanted}, timeout_s, failed)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to a service's process group and reap it."""
        stop_process(self.processes[name], sig)

    def stop(self) -> None:
        """Terminate every service (SIGTERM, then SIGKILL after a grace period)."""
        for name in list(self.processes):
            self.kill(name, signal.SIGTERM)

    def log_tail(self, name: str, chars: int = 4000) -> str:
        """The end of a service's log."""
        return log_tail(self.log_path(name), chars)


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
