"""``python -m benchmarks.shoppers_diff BEFORE.json AFTER.json``: what a retrain changed.

Reads two ``python -m benchmarks shoppers --json`` reports and prints, per language and public
set, each figure before, after and the change (``make retrain`` runs it).
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any, Dict, List

logger = logging.getLogger(__name__)


def diff_lines(before: Dict[str, Any], after: Dict[str, Any]) -> List[str]:
    """One line per figure present in both reports: before -> after (change)."""
    lines = [f"model {before.get('model')} -> {after.get('model')} (split {after.get('split')})"]
    for group, figures in after.get("figures", {}).items():
        old = before.get("figures", {}).get(group, {})
        for name, value in figures.items():
            if name in old and isinstance(value, (int, float)):
                change = value - old[name]
                lines.append(
                    f"  {group:14} {name:22} {old[name]:8.3f} -> {value:8.3f} ({change:+.3f})"
                )
    return lines


def main(argv: List[str] | None = None) -> int:
    """Print the difference of two shopper benchmark reports."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print(__doc__)
        return 2
    before, after = (json.loads(Path(p).read_text(encoding="utf-8")) for p in args)
    print("\n".join(diff_lines(before, after)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
