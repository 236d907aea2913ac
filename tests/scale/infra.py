"""Real infrastructure for the scale and fault tests, each piece owned by the test that made it.

* :class:`PrivatePostgres` - a PostgreSQL cluster of its own (``initdb`` + ``pg_ctl`` under a
  temp dir, on a free port) that a test may stop and restart without touching the shared server;
* :class:`PrivateRedis` - a ``redis-server`` of its own on a free port, no persistence;
* :class:`TcpProxy` - a TCP forwarder (to the shared RabbitMQ) that a test can take down and
  bring back, so "RabbitMQ is down" never stops the shared broker;
* :func:`scale_settings_env` / :func:`start_scale_stack` - the scale profile's processes
  (scale/profile.py) on the given databases, queues and ports.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import logging
import os
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Dict, List, Set

from scale.processes import Running, start_all
from scale.profile import ServiceSpec, prepare, scale_environment, scale_services
from tests.servers import free_port_block, shared_encoder_dir

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
API_TOKEN = "scale-test-token"
IDENTITY_SECRET = "scale-test-identity-secret"


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError(f"PostgreSQL's {name} not found under /usr/lib/postgresql/*/bin")
    return found[-1]


class PrivatePostgres:
    """A throw-away PostgreSQL cluster (trust auth) on a free port."""

    def __init__(self) -> None:
        self.port = free_port_block(1)
        self.dir = Path(tempfile.mkdtemp(prefix="scale-pg-"))
        self.data = self.dir / "data"
        self._as_postgres = os.geteuid() == 0  # initdb refuses to run as root
        if self._as_postgres:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run([_pg_bin("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres"])

    def _run(self, command: List[str]) -> None:
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        """Start (or restart after :meth:`stop`) the server and wait until it accepts."""
        self._run(
            [
                _pg_bin("pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.dir / "server.log"),
                "-o",
                f"-p {self.port} -k {self.dir} -c listen_addresses=localhost",
                "-w",
                "start",
            ]
        )

    def stop(self) -> None:
        """Stop the server (fast shutdown: open connections are cut)."""
        self._run([_pg_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"])

    def url(self, database: str) -> str:
        """SQLAlchemy URL of ``database`` on this server."""
        return f"postgresql://postgres@localhost:{self.port}/{database}"

    def destroy(self) -> None:
        """Stop the server if it runs and delete its files."""
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class PrivateRedis:
    """A ``redis-server`` without persistence on a free port."""

    def __init__(self) -> None:
        self.port = free_port_block(1)
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        """Start the server and wait until it answers PING."""
        import redis

        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                if redis.Redis(port=self.port, socket_timeout=1).ping():
                    return
            except redis.exceptions.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def stop(self) -> None:
        """Kill the server (everything in it is gone)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=20)


class TcpProxy:
    """Forward ``listen_port`` to ``target_port`` on localhost; ``down()`` cuts everything."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port_block(1)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._server: asyncio.base_events.Server | None = None
        self._writers: Set[asyncio.StreamWriter] = set()
        self._tasks: Set[asyncio.Task] = set()

    def _call(self, coroutine: object) -> object:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=20)  # type: ignore[arg-type]

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        try:
            up_reader, up_writer = await asyncio.open_connection("localhost", self.target_port)
        except OSError:
            writer.close()
            return
        self._writers.update({writer, up_writer})
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        self._writers.difference_update({writer, up_writer})

    async def _up(self) -> None:
        self._server = await asyncio.start_server(self._handle, "localhost", self.port)

    async def _down(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        for task in list(self._tasks):
            task.cancel()

    def up(self) -> None:
        """Accept and forward connections."""
        self._call(self._up())

    def down(self) -> None:
        """Refuse new connections and cut the open ones."""
        self._call(self._down())

    def close(self) -> None:
        """Take the proxy down for good."""
        self.down()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)


def latest_model() -> Path:
    """The newest trained model in models/ (make test trains one first)."""
    models = sorted((ROOT / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        raise RuntimeError("no trained model in models/: run `make train` first (make test does)")
    return models[-1]


def scale_settings_env(data_dir: Path, overrides: Dict[str, str]) -> Dict[str, str]:
    """The environment (SHOP_ settings) of a test's scale profile; ``overrides`` win."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("SHOP_") and k not in ("SANIC_WORKERS", "PROFILE")
    }
    tag = uuid.uuid4().hex[:8]
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "SHOP_DATA_DIR": str(data_dir),
            "SHOP_MULTILINGUAL_ENCODER_DIR": str(shared_encoder_dir()),
            "SHOP_SEED_CUSTOMERS": "40",
            "SHOP_SEED_PRODUCTS": "20",
            "SHOP_IDENTITY_SECRET": IDENTITY_SECRET,
            "SHOP_RASA_TOKEN": API_TOKEN,
            "SHOP_RASA_PORT": str(free_port_block(1)),
            "SHOP_ACTION_PORT": str(free_port_block(4)),
            "SHOP_RASA_WORKERS": "1",
            "SHOP_ACTION_WORKERS": "2",
            "SHOP_REDIS_PREFIX": f"scaletest{tag}",
            "SHOP_EVENTS_QUEUE": f"scale-test-{tag}",
            "SHOP_EVENTS_EXCHANGE": f"scale-test-{tag}",
            # Generous for a loaded 2-core CI machine; the slow-action test sets its own.
            "SHOP_ACTION_TIMEOUT_S": "30",
            **overrides,
        }
    )
    return env


def start_scale_stack(
    env_settings: Dict[str, str],
    log_dir: Path,
    extra_rasa_ports: List[int] = (),  # type: ignore[assignment]
) -> Running:
    """Prepare the shop database and start the profile (plus Rasa servers on extra ports)."""
    from knowledge.settings import Settings

    saved = dict(os.environ)
    try:
        os.environ.clear()
        os.environ.update(env_settings)
        settings = Settings()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    env = scale_environment(settings, env_settings)
    prepare(settings, env)
    specs = scale_services(settings, latest_model(), rasa_token=API_TOKEN, with_insight=False)
    rasa = next(s for s in specs if s.name == "rasa server")
    for n, port in enumerate(extra_rasa_ports, start=2):
        command = list(rasa.command)
        command[command.index("--port") + 1] = str(port)
        specs.append(
            ServiceSpec(
                f"rasa server {n}",
                command,
                rasa.health_url.replace(f":{settings.rasa_port}/", f":{port}/"),
            )
        )
    return start_all(specs, env, log_dir)
