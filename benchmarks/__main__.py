"""``python -m benchmarks [name ...]``: run the benchmarks (all by default), print figures."""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys
import time

import benchmarks

logger = logging.getLogger(__name__)


def available() -> list[str]:
    """Names of the benchmark modules (``bench_*.py`` in this package)."""
    return sorted(
        m.name for m in pkgutil.iter_modules(benchmarks.__path__) if m.name.startswith("bench_")
    )


def main(argv: list[str] | None = None) -> int:
    """Run the chosen benchmarks in order; a benchmark's module decides its own figures."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("names", nargs="*", help=f"subset of {available()}")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--device", default="auto", help="torch device for model benchmarks")
    parser.add_argument("--split", choices=("eval", "dev"), default="eval", help="shoppers: split")
    parser.add_argument("--json", default=None, help="shoppers: write the figures to this path")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    names = args.names or available()
    for name in names:
        module_name = name if name.startswith("bench_") else f"bench_{name}"
        module = importlib.import_module(f"benchmarks.{module_name}")
        print(f"\n=== {module_name} ===", flush=True)
        start = time.perf_counter()
        module.run(args)
        print(f"--- {module_name} took {time.perf_counter() - start:.1f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
