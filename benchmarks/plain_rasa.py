"""A plain ``rasa init`` bot: the reference the load benchmark compares this bot with.

Built once per Rasa version with the same interpreter (``python -m rasa init --no-prompt``,
which also trains it) and cached under ``var/bench/plain-rasa-<version>/``, so reruns of
``make bench-load`` start at once. ``start_plain_rasa`` serves it on a free loopback port with
Rasa's defaults (in-memory tracker store, no action server, no broker), as a new user gets it.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
CACHE_DIR = ROOT / "var" / "bench"
STARTUP_S = 300.0
INIT_TIMEOUT_S = 1800.0


def rasa_version() -> str:
    """The installed Rasa version (the cache key)."""
    from importlib.metadata import version

    return version("rasa")


def plain_bot_dir(cache_dir: Path = CACHE_DIR) -> Path:
    """The cached plain bot project of the installed Rasa version, built when missing."""
    project = cache_dir / f"plain-rasa-{rasa_version()}"
    if any((project / "models").glob("*.tar.gz")):
        return project
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="plain-rasa-", dir=cache_dir) as tmp:
        build = Path(tmp) / "bot"
        build.mkdir()  # `rasa init --init-dir` wants an existing folder
        logger.info("Building a plain `rasa init` bot in %s (once per Rasa version)", build)
        subprocess.run(
            [sys.executable, "-m", "rasa", "init", "--no-prompt", "--init-dir", str(build)],
            cwd=tmp,
            env=_clean_env(),
            check=True,
            timeout=INIT_TIMEOUT_S,
            stdout=subprocess.DEVNULL,
        )
        if not any((build / "models").glob("*.tar.gz")):
            raise RuntimeError(f"`rasa init` trained no model in {build / 'models'}")
        shutil.rmtree(project, ignore_errors=True)
        build.rename(project)
    return project


@dataclass
class PlainRasa:
    """A running plain Rasa server."""

    process: subprocess.Popen
    url: str
    log: Path


def start_plain_rasa(project: Path, port: int, log: Path) -> PlainRasa:
    """Serve the plain bot's model (REST channel, in-memory trackers) on ``port``."""
    model = sorted((project / "models").glob("*.tar.gz"))[-1]
    command = [
        sys.executable,
        "-m",
        "rasa",
        "run",
        "--model",
        str(model),
        "--credentials",
        str(project / "credentials.yml"),
        "--interface",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    with open(log, "wb") as out:
        process = subprocess.Popen(
            command, cwd=project, env=_clean_env(), stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP_S
    while True:
        if process.poll() is not None or time.monotonic() > deadline:
            stop_plain_rasa(process)
            raise RuntimeError("plain Rasa did not start:\n" + log.read_text()[-3000:])
        try:
            with urllib.request.urlopen(f"{url}/", timeout=2):
                break
        except (urllib.error.URLError, OSError):
            time.sleep(1)
    return PlainRasa(process, url, log)


def stop_plain_rasa(process: subprocess.Popen) -> None:
    """Stop the plain Rasa server (terminate, then kill)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _clean_env() -> dict[str, str]:
    """This environment without the shop's settings (the plain bot uses Rasa's defaults)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOP_")}
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env
