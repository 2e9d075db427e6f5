"""Benchmarks: `python -m bench` prints figures (cold import, package size, AWS calls per route).

Benchmarks are not tests: they report, never assert timings. `bench.aws_calls` is also used by tests.
"""
