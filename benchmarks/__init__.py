"""Benchmarks printed by ``make bench``; each module has a ``run(args) -> None`` that prints its figures."""
