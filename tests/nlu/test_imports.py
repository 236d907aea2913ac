"""Importing the nlu package and its light modules must not pull in torch, transformers or rasa."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_light_modules_do_not_import_heavy_packages() -> None:
    code = (
        "import sys, nlu, nlu.output_keys, nlu.postprocess, nlu.task_data, nlu.metrics, "
        "nlu.device, nlu.evaluate\n"
        "heavy = [m for m in ('torch', 'transformers', 'tensorflow', 'rasa') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
