"""supervisord keeps services running: a killed one comes back, the others are not touched."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from typing import Iterator, List

import pytest

from scale.processes import ServiceSpec, is_up, wait_until_up
from scale.supervision import START_RETRIES, Supervisor, SupervisorFiles, supervisor_config
from tests.servers import free_port

RESTART_WITHIN_S = 30.0


def _web_server(name: str) -> ServiceSpec:
    port = free_port()
    return ServiceSpec(
        name,
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        f"http://127.0.0.1:{port}/",
    )


@pytest.fixture()
def supervised(tmp_path: Path) -> Iterator[Supervisor]:
    """Two small web servers under a real supervisord."""
    specs = [_web_server("first web"), _web_server("second web")]
    supervisor = Supervisor(specs, SupervisorFiles(tmp_path / "run", tmp_path / "logs"))
    supervisor.start({**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        wait_until_up({s.name: s.health_url for s in specs}, 60, lambda _n: None)
        yield supervisor
    finally:
        supervisor.stop()


def _back_within(spec: ServiceSpec, seconds: float) -> float:
    start = time.monotonic()
    while not is_up(spec.health_url):
        assert time.monotonic() - start < seconds, f"{spec.name} not back in {seconds:.0f}s"
        time.sleep(0.2)
    return time.monotonic() - start


def test_config_names_each_service_once_and_escapes_percent(tmp_path: Path) -> None:
    specs = [ServiceSpec("rasa server", ["rasa", "run", "--cors", "*", "50%"], "http://x/")]
    text = supervisor_config(specs, SupervisorFiles(tmp_path / "run", tmp_path / "logs"))
    assert text.count("[program:") == 1 and "[program:rasa_server]" in text
    assert "command=rasa run --cors '*' 50%%" in text
    assert "autorestart=true" in text and f"startretries={START_RETRIES}" in text
    assert "stopasgroup=true" in text and "killasgroup=true" in text


def test_a_killed_service_is_back_and_the_other_keeps_running(supervised: Supervisor) -> None:
    first, second = supervised.specs
    other_pid = supervised.pid(second.name)
    victim = supervised.pid(first.name)
    assert victim and other_pid
    os.killpg(victim, signal.SIGKILL)
    _back_within(first, RESTART_WITHIN_S)
    assert supervised.pid(first.name) not in (None, victim)
    assert supervised.pid(second.name) == other_pid and is_up(second.health_url)
    deadline = time.monotonic() + 15  # RUNNING once it has stayed up START_S seconds
    while supervised.states().get(first.name) != "RUNNING":
        assert time.monotonic() < deadline, supervised.states()
        time.sleep(0.5)
    assert supervised.states() == {first.name: "RUNNING", second.name: "RUNNING"}
    log = supervised.files.log.read_text()
    assert "first_web (terminated by SIGKILL; not expected)" in log, log


def test_stopping_supervisord_stops_every_service(supervised: Supervisor) -> None:
    pids: List[int] = [p for p in (supervised.pid(s.name) for s in supervised.specs) if p]
    assert len(pids) == 2
    supervised.stop()
    assert supervised.exited() is not None
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert not any(is_up(s.health_url) for s in supervised.specs)
