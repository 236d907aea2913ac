"""The bot's training data validates cleanly and its conversation tests pass on the trained model.

``rasa test core --stories bot/tests`` replays every test story (bot/tests/*.yml) through the
trained dialogue policies and fails on the first wrong action. It checks dialogue, not NLU: the
intents written in the stories are used as given (NLU accuracy is tested with the NLU data).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from knowledge.settings import Settings
from tests.servers import shared_encoder_dir

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 900
# Rasa's CLI imports matplotlib & co in the subprocess; nothing here warns in-process.
pytestmark = pytest.mark.slow


def _rasa(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    """Run the Rasa CLI from the repo root with the project on the path."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SHOP_DATA_DIR": str(tmp_path),
        "SHOP_MULTILINGUAL_ENCODER_DIR": str(shared_encoder_dir()),
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
    return subprocess.run(
        [sys.executable, "-m", "rasa", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )


def latest_model(models_dir: Path) -> Path:
    """The newest model in ``models_dir``; fail clearly when there is none."""
    models = sorted(models_dir.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        pytest.fail(f"no trained model in {models_dir}: run `make train` first (make test does)")
    return models[-1]


def test_training_data_validates_without_warnings(tmp_path: Path) -> None:
    result = _rasa(
        [
            "data",
            "validate",
            "--domain",
            "bot/domain",
            "--data",
            "bot/data",
            "--config",
            "config.yml",
            "--fail-on-warnings",
        ],
        tmp_path,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]


def test_conversation_stories_pass_on_the_trained_model(tmp_path: Path) -> None:
    model = latest_model(Settings().models_dir)
    stories = os.environ.get("SHOP_CONVERSATION_TESTS", "bot/tests")
    out = tmp_path / "results"
    result = _rasa(
        [
            "test",
            "core",
            "--stories",
            stories,
            "--model",
            str(model),
            "--fail-on-prediction-errors",
            "--no-plot",
            "--out",
            str(out),
        ],
        tmp_path,
    )
    failed = out / "failed_test_stories.yml"
    details = failed.read_text() if failed.exists() else ""
    assert result.returncode == 0, details + result.stdout[-3000:] + result.stderr[-3000:]
    assert "None of the test stories failed" in details
