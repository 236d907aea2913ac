"""Where the benchmarks find the shared public datasets, and how they read CSV files."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Dict, List

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path | None:
    """``SHOP_SHARED_DATA`` or ``<repo>/../shared/data``, or None when that folder is absent."""
    configured = os.environ.get("SHOP_SHARED_DATA")
    path = Path(configured) if configured else REPO.parent / "shared" / "data"
    return path if path.is_dir() else None


def read_csv(path: Path) -> List[Dict[str, str]]:
    """Rows of a UTF-8 CSV with a header, as dictionaries."""
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))
