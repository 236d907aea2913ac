"""Benchmarks printed by ``make bench``; each module's ``run(args)`` prints its figures."""
