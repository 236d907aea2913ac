"""Keep the system's services running under supervisord (the ``supervisor`` package).

``make run`` starts supervisord in the foreground with one ``[program:...]`` per service. A
service that dies is started again and the event is logged in ``<logs>/supervisord.log``; the
other services keep running. A service that keeps dying before it has run ``START_S`` seconds is
retried with a growing pause (supervisord's back-off: 1 s, 2 s, 3 s, ...) and given up after
``START_RETRIES`` tries. Stopping supervisord (SIGTERM or Ctrl-C) stops every service's process
group: SIGTERM, then SIGKILL after ``STOP_WAIT_S``.

The services inherit supervisord's environment, so the configuration holds no settings or
secrets, only commands and file names.
"""

from __future__ import annotations

import logging
import shlex
import subprocess
import sys
import xmlrpc.client
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Mapping, Sequence

from scale.processes import ROOT, ServiceSpec, start_process

logger = logging.getLogger(__name__)

#: Seconds a service must stay up to count as started (a shorter life is a failed start).
START_S = 5
#: Failed starts in a row before supervisord gives a service up (pauses add up to ~10 min).
START_RETRIES = 35
#: Seconds a stopping service gets after SIGTERM before SIGKILL.
STOP_WAIT_S = 15
#: Supervisord's own stop: every service's grace period, plus a margin.
SUPERVISORD_STOP_S = STOP_WAIT_S + 15


def _escape(value: str) -> str:
    """``value`` safe inside supervisord's config (``%`` starts an interpolation there)."""
    return value.replace("%", "%%")


@dataclass(frozen=True)
class SupervisorFiles:
    """Where supervisord's config, socket and logs live (inside the data dir)."""

    run_dir: Path
    log_dir: Path

    @property
    def config(self) -> Path:
        """supervisord.conf."""
        return self.run_dir / "supervisord.conf"

    @property
    def socket(self) -> Path:
        """The UNIX socket supervisorctl talks to."""
        return self.run_dir / "supervisor.sock"

    @property
    def log(self) -> Path:
        """supervisord's own log: every start, exit and restart."""
        return self.log_dir / "supervisord.log"

    def service_log(self, spec: ServiceSpec) -> Path:
        """A service's output."""
        return self.log_dir / f"{spec.slug}.log"


def supervisor_config(specs: Sequence[ServiceSpec], files: SupervisorFiles) -> str:
    """The text of supervisord.conf for ``specs`` (run in the foreground, from the repo root)."""
    lines = [
        "[supervisord]",
        "nodaemon=true",
        f"logfile={_escape(str(files.log))}",
        "logfile_maxbytes=10MB",
        "logfile_backups=2",
        f"pidfile={_escape(str(files.run_dir / 'supervisord.pid'))}",
        f"childlogdir={_escape(str(files.log_dir))}",
        f"directory={_escape(str(ROOT))}",
        "",
        "[unix_http_server]",
        f"file={_escape(str(files.socket))}",
        "chmod=0700",
        "",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
        "",
        "[supervisorctl]",
        f"serverurl=unix://{_escape(str(files.socket))}",
    ]
    for spec in specs:
        lines += [
            "",
            f"[program:{spec.slug}]",
            f"command={_escape(shlex.join(spec.command))}",
            f"directory={_escape(str(ROOT))}",
            "autostart=true",
            "autorestart=true",
            f"startsecs={START_S}",
            f"startretries={START_RETRIES}",
            "stopsignal=TERM",
            f"stopwaitsecs={STOP_WAIT_S}",
            "stopasgroup=true",
            "killasgroup=true",
            "redirect_stderr=true",
            f"stdout_logfile={_escape(str(files.service_log(spec)))}",
            "stdout_logfile_maxbytes=20MB",
            "stdout_logfile_backups=2",
        ]
    return "\n".join(lines) + "\n"


class Supervisor:
    """supervisord running ``specs``, started and stopped by this process."""

    def __init__(self, specs: Sequence[ServiceSpec], files: SupervisorFiles) -> None:
        self.specs = list(specs)
        self.files = files
        self.process: subprocess.Popen | None = None

    def start(self, env: Mapping[str, str]) -> None:
        """Write the config and start supervisord (in this process group: killing it kills both)."""
        self.files.run_dir.mkdir(parents=True, exist_ok=True)
        self.files.log_dir.mkdir(parents=True, exist_ok=True)
        self.files.config.write_text(supervisor_config(self.specs, self.files))
        command = [sys.executable, "-m", "supervisor.supervisord", "-c", str(self.files.config)]
        self.process = start_process(
            command, env, self.files.log_dir / "supervisord.out", new_session=False
        )
        logger.info("supervisord (pid %d) runs %s", self.process.pid, ", ".join(self.names()))

    def names(self) -> list[str]:
        """The services' names."""
        return [spec.name for spec in self.specs]

    def exited(self) -> int | None:
        """supervisord's exit code, None while it runs."""
        return None if self.process is None else self.process.poll()

    def _rpc(self) -> Any:
        """supervisord's XML-RPC interface over its UNIX socket (what supervisorctl uses)."""
        from supervisor.xmlrpc import SupervisorTransport

        transport = SupervisorTransport(None, None, f"unix://{self.files.socket}")
        return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport).supervisor

    def states(self) -> Dict[str, str]:
        """Each service's supervisord state (RUNNING, STARTING, BACKOFF, EXITED, FATAL, ...)."""
        names = {spec.slug: spec.name for spec in self.specs}
        return {
            names[info["name"]]: str(info["statename"])
            for info in self._rpc().getAllProcessInfo()
            if info["name"] in names
        }

    def pid(self, name: str) -> int | None:
        """The process id of a running service, else None."""
        spec = next(s for s in self.specs if s.name == name)
        pid = int(self._rpc().getProcessInfo(spec.slug)["pid"])
        return pid or None

    def stop(self) -> None:
        """Stop supervisord and with it every service."""
        if self.process is None:
            return
        # supervisord shares our process group: signal it alone, not the group.
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(timeout=SUPERVISORD_STOP_S)
        except subprocess.TimeoutExpired:
            logger.error("supervisord did not stop in %ss: killing it", SUPERVISORD_STOP_S)
            self.process.kill()
            self.process.wait()
        logger.info("supervisord stopped (%s)", self.process.returncode)
