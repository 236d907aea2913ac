"""The trained bot model in ``models/`` and parsing many message sets with one loaded agent."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Dict, List, Mapping, Sequence

logger = logging.getLogger(__name__)


def latest_model() -> Path | None:
    """``BENCH_MODEL`` (a model file) if set, else the newest ``*.tar.gz`` in the settings' models
    folder (``make train``), or None."""
    from knowledge.settings import get_settings

    given = os.environ.get("BENCH_MODEL")
    if given:
        return Path(given)
    models = sorted(Path(get_settings().models_dir).glob("*.tar.gz"))
    return models[-1] if models else None


def parse_groups(
    model: Path, groups: Mapping[str, Sequence[str]]
) -> Dict[str, List[Dict[str, Any]]]:
    """Parse results of every group's texts, loading the agent once (``Agent.parse_message``)."""
    from benchmarks.bench_nlu import parse_all

    texts = [text for group in groups.values() for text in group]
    parses, _ = parse_all(model, texts)
    out: Dict[str, List[Dict[str, Any]]] = {}
    start = 0
    for name, group in groups.items():
        out[name] = parses[start : start + len(group)]
        start += len(group)
    return out
