"""Start the whole system (Rasa server, action server, insight web app) and stop it on Ctrl-C.

Run by ``make run``; prints the URLs once every service answers its health check.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from knowledge.handoff.agents import DEMO_ACCOUNTS  # noqa: E402
from knowledge.secret_files import identity_secret, rasa_api_token  # noqa: E402
from knowledge.settings import Settings, get_settings  # noqa: E402

logger = logging.getLogger("run_system")

STARTUP_TIMEOUT_S = 300.0
STOP_TIMEOUT_S = 15.0


@dataclass
class Service:
    """One process of the system and the URL that tells it is up."""

    name: str
    command: List[str]
    health_url: str
    process: subprocess.Popen | None = None


def service_environment(settings: Settings) -> Dict[str, str]:
    """Environment shared by every service: project on the path, URLs for endpoints.yml."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.setdefault("SHOP_ACTION_SERVER_URL", settings.action_server_url)
    env.setdefault("SHOP_TRACKER_DB", settings.resolved_tracker_db)
    env.setdefault("SHOP_EVENTS_DB", settings.resolved_events_db)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


def build_services(settings: Settings, model_dir: Path) -> List[Service]:
    """The processes of the embedded default profile."""
    python = sys.executable
    rasa = [python, "-m", "rasa"]
    return [
        Service(
            "action server",
            [*rasa, "run", "actions", "--actions", "actions", "--port", str(settings.action_port)],
            f"http://{settings.host}:{settings.action_port}/health",
        ),
        Service(
            "rasa server",
            [
                *rasa,
                "run",
                "--enable-api",
                # The HTTP API needs this token (the console sends it; the channels do not).
                "--auth-token",
                rasa_api_token(settings),
                "--cors",
                "*",
                "--model",
                str(model_dir),
                "--endpoints",
                str(ROOT / "bot" / "endpoints.yml"),
                "--credentials",
                str(ROOT / "bot" / "credentials.yml"),
                "--interface",
                settings.host,
                "--port",
                str(settings.rasa_port),
            ],
            f"{settings.rasa_url}/status?token={rasa_api_token(settings)}",
        ),
        Service("insight web app", [python, "-m", "insight"], f"{settings.insight_url}/healthz"),
    ]


def selected_profile(argv: List[str]) -> str:
    """``embedded`` (default) or ``scale``: ``--profile NAME`` or the PROFILE variable."""
    profile = os.environ.get("PROFILE") or "embedded"
    if "--profile" in argv and argv.index("--profile") + 1 < len(argv):
        profile = argv[argv.index("--profile") + 1]
    if profile not in ("embedded", "scale"):
        raise SystemExit(f"unknown profile {profile!r}: use embedded or scale")
    return profile


def prepare_scale_profile(
    settings: Settings, model_dir: Path, env: Dict[str, str]
) -> tuple[Dict[str, str], List[Service]]:
    """The scale-out profile (scale/profile.py): its environment and processes, databases ready."""
    from scale.profile import prepare, scale_environment, scale_services

    env = scale_environment(settings, env)
    prepare(settings, env)
    specs = scale_services(settings, model_dir, rasa_token=rasa_api_token(settings))
    return env, [Service(spec.name, spec.command, spec.health_url) for spec in specs]


def is_up(url: str) -> bool:
    """True when ``url`` answers with a 2xx status."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return 200 <= response.status < 300
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


def wait_until_up(services: List[Service], deadline: float) -> None:
    """Block until every service's health URL answers; raise if one dies or time runs out."""
    pending = list(services)
    while pending:
        for service in list(pending):
            assert service.process is not None
            if service.process.poll() is not None:
                raise RuntimeError(f"{service.name} exited with code {service.process.returncode}")
            if is_up(service.health_url):
                logger.info("%s is up", service.name)
                pending.remove(service)
        if time.monotonic() > deadline:
            raise RuntimeError("not up in time: " + ", ".join(s.name for s in pending))
        time.sleep(1)


def stop_all(services: List[Service]) -> None:
    """Terminate every started process group, then kill what is left after a grace period."""
    for service in services:
        if service.process and service.process.poll() is None:
            os.killpg(service.process.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    for service in services:
        if not service.process:
            continue
        try:
            service.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(service.process.pid, signal.SIGKILL)
            service.process.wait()
    logger.info("all services stopped")


def main() -> int:
    """Start the services, print their URLs and wait for Ctrl-C."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    settings = get_settings()
    model_dir = ROOT / "models"
    env = service_environment(settings)
    identity_secret(settings)  # generated once before the services that share it start
    if selected_profile(sys.argv[1:]) == "scale":
        env, services = prepare_scale_profile(settings, model_dir, env)
    else:
        services = build_services(settings, model_dir)
    logs = settings.data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    # Ctrl-C must stop everything even when SIGINT was inherited as ignored (a background job).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        for service in services:
            log_path = logs / (service.name.replace(" ", "_") + ".log")
            log_file = open(log_path, "ab")  # noqa: SIM115 - closed with the process
            service.process = subprocess.Popen(
                service.command,
                cwd=ROOT,
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            logger.info("started %s (pid %d), log: %s", service.name, service.process.pid, log_path)
        wait_until_up(services, time.monotonic() + STARTUP_TIMEOUT_S)
        print(
            "\nThe system is up:\n"
            f"  Shop page and chat widget : {settings.insight_url}/\n"
            f"  Rasa REST channel         : {settings.rasa_url}/webhooks/rest/webhook\n"
            f"  Rasa socket.io channel    : {settings.rasa_url}/socket.io\n"
            f"  Rasa HTTP API             : {settings.rasa_url}/model/parse"
            f"  (token in {settings.data_dir / 'rasa-api.token'} or SHOP_RASA_TOKEN)\n"
            f"  Action server             : {settings.action_server_url}\n"
            f"  Logs                      : {logs}\n"
            f"  Agent console             : {settings.insight_url}/console\n"
            f"  Supervisor dashboard      : {settings.insight_url}/dashboard\n"
            + "".join(
                f"    demo {role.value:<10} : {user} / {password}\n"
                for user, _name, password, role in DEMO_ACCOUNTS
            )
            + "Press Ctrl-C to stop everything.\n",
            flush=True,
        )
        while all(s.process and s.process.poll() is None for s in services):
            time.sleep(1)
        dead = [s.name for s in services if s.process and s.process.poll() is not None]
        logger.error("stopped because %s exited; see its log", ", ".join(dead))
        return 1
    except KeyboardInterrupt:
        logger.info("Ctrl-C: stopping")
        return 0
    except RuntimeError as error:
        logger.error("%s; see the logs in %s", error, logs)
        return 1
    finally:
        stop_all(services)


if __name__ == "__main__":
    sys.exit(main())
