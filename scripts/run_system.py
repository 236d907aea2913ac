"""Start the whole system under supervisord, print the URLs, and stop it all on Ctrl-C.

Run by ``make run``. The embedded default runs four services: the action server (rasa_sdk, on
the port after ``SHOP_ACTION_PORT``), the action gateway in front of it (on ``SHOP_ACTION_PORT``,
scale/action_gateway.py: while the action server is down it answers Rasa with the polite "try
again in a minute" message instead of an error), the Rasa server and the insight web app.
supervisord (scale/supervision.py) starts a service that dies again, with back-off, and logs it
in ``<data dir>/logs/supervisord.log``; the others keep serving. This launcher also logs when a
service stops answering its health check and when it is back.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import Dict, List

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from knowledge.db import use_wal_journal  # noqa: E402
from knowledge.handoff.agents import DEMO_ACCOUNTS  # noqa: E402
from knowledge.secret_files import identity_secret, rasa_api_token  # noqa: E402
from knowledge.settings import Settings, get_settings  # noqa: E402
from scale.processes import ServiceSpec, is_up, wait_until_up  # noqa: E402
from scale.supervision import Supervisor, SupervisorFiles  # noqa: E402

logger = logging.getLogger("run_system")

STARTUP_TIMEOUT_S = 300.0
WATCH_S = 2.0


def service_environment(settings: Settings) -> Dict[str, str]:
    """Environment shared by every service: project on the path, URLs for endpoints.yml."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.setdefault("SHOP_ACTION_SERVER_URL", settings.action_server_url)
    env.setdefault("SHOP_TRACKER_DB", settings.resolved_tracker_db)
    env.setdefault("SHOP_EVENTS_DB", settings.resolved_events_db)
    # One torch / OpenMP thread per server: the Rasa server (NLU), the action server (FAQ
    # encoder) and the web app share the cores, and two spinning threads per process made an
    # e5-small forward 338-445 ms instead of 37 ms under load (docs/performance.md).
    env.setdefault("SHOP_TORCH_THREADS", "1")
    # ... except a forward that is the Rasa server's only message in flight: it may use both
    # cores (single-shopper p50 2.63x -> 2.21x plain Rasa's, throughput kept; performance.md).
    env.setdefault("SHOP_TORCH_THREADS_IDLE", "2")
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("PYTHONUNBUFFERED", "1")
    # The gateway answers for an action that runs longer than this; Rasa itself waits minutes,
    # and the first FAQ answer after a (re)start loads the encoder, so be as patient here.
    env.setdefault("SHOP_ACTION_TIMEOUT_S", "60")
    return env


def action_backend_port(settings: Settings) -> int:
    """The action server's own port (the gateway listens on ``action_port``)."""
    return settings.action_port + 1


def build_services(settings: Settings, model_dir: Path) -> List[ServiceSpec]:
    """The processes of the embedded default profile."""
    python = sys.executable
    backend = f"http://{settings.host}:{action_backend_port(settings)}"
    return [
        ServiceSpec(
            "action server",
            [
                python,
                "-m",
                "rasa_sdk",
                "--actions",
                "actions",
                "--port",
                str(action_backend_port(settings)),
            ],
            f"{backend}/health",
        ),
        ServiceSpec(
            "action gateway",
            [
                python,
                "-m",
                "scale.action_gateway",
                "--port",
                str(settings.action_port),
                "--backend",
                backend,
            ],
            # Its /health is 503 while the action server is down; /webhook still answers.
            f"http://{settings.host}:{settings.action_port}/health",
        ),
        ServiceSpec(
            "rasa server",
            [
                python,
                "-m",
                "rasa",
                "run",
                "--enable-api",
                # The HTTP API needs this token (the console sends it; the channels do not).
                # One argument: a token may start with "-" (argparse would read an option).
                f"--auth-token={rasa_api_token(settings)}",
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
        ServiceSpec(
            "insight web app", [python, "-m", "insight"], f"{settings.insight_url}/healthz"
        ),
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
) -> tuple[Dict[str, str], List[ServiceSpec]]:
    """The scale-out profile (scale/profile.py): its environment and processes, databases ready."""
    from scale.profile import prepare, scale_environment, scale_services

    env = scale_environment(settings, env)
    prepare(settings, env)
    return env, scale_services(settings, model_dir, rasa_token=rasa_api_token(settings))


def banner(settings: Settings, logs: Path) -> str:
    """The URLs of the running system."""
    return (
        "\nThe system is up:\n"
        f"  Shop page and chat widget : {settings.insight_url}/\n"
        f"  Rasa REST channel         : {settings.rasa_url}/webhooks/rest/webhook\n"
        f"  Rasa socket.io channel    : {settings.rasa_url}/socket.io\n"
        f"  Rasa HTTP API             : {settings.rasa_url}/model/parse"
        f"  (token in {settings.data_dir / 'rasa-api.token'} or SHOP_RASA_TOKEN)\n"
        f"  Action server             : {settings.action_server_url}\n"
        f"  Logs                      : {logs} (restarts: supervisord.log)\n"
        f"  Agent console             : {settings.insight_url}/console\n"
        f"  Supervisor dashboard      : {settings.insight_url}/dashboard\n"
        + "".join(
            f"    demo {role.value:<10} : {user} / {password}\n"
            for user, _name, password, role in DEMO_ACCOUNTS
        )
        + "A service that crashes is started again. Press Ctrl-C to stop everything.\n"
    )


def watch(supervisor: Supervisor, services: List[ServiceSpec]) -> int:
    """Log each service going down and coming back, until supervisord exits; its exit code."""
    down_since: Dict[str, float] = {}
    while supervisor.exited() is None:
        for spec in services:
            up = is_up(spec.health_url)
            if not up and spec.name not in down_since:
                down_since[spec.name] = time.monotonic()
                logger.warning("%s is not answering; supervisord restarts it if it died", spec.name)
            elif up and spec.name in down_since:
                took = time.monotonic() - down_since.pop(spec.name)
                logger.info("%s is back after %.0f s", spec.name, took)
        time.sleep(WATCH_S)
    return supervisor.exited() or 1


def main() -> int:
    """Start the services under supervisord, print their URLs and wait for Ctrl-C."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    settings = get_settings()
    model_dir = settings.models_dir
    env = service_environment(settings)
    identity_secret(settings)  # generated once before the services that share it start
    if selected_profile(sys.argv[1:]) == "scale":
        env, services = prepare_scale_profile(settings, model_dir, env)
    else:
        # Rasa's SQLite tracker store commits on its event loop: WAL makes each commit cheaper.
        use_wal_journal(env["SHOP_TRACKER_DB"])
        services = build_services(settings, model_dir)
    logs = settings.data_dir / "logs"
    supervisor = Supervisor(services, SupervisorFiles(settings.data_dir / "run", logs))
    # Ctrl-C must stop everything even when SIGINT was inherited as ignored (a background job).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        supervisor.start(env)

        def failed(_name: str) -> str | None:
            code = supervisor.exited()
            return None if code is None else f"not started: supervisord exited ({code})"

        wait_until_up({s.name: s.health_url for s in services}, STARTUP_TIMEOUT_S, failed)
        print(banner(settings, logs), flush=True)
        code = watch(supervisor, services)
        logger.error("supervisord exited (%s); see %s", code, logs / "supervisord.log")
        return 1
    except KeyboardInterrupt:
        logger.info("Ctrl-C: stopping")
        return 0
    except RuntimeError as error:
        logger.error("%s; see the logs in %s", error, logs)
        return 1
    finally:
        supervisor.stop()


if __name__ == "__main__":
    sys.exit(main())
