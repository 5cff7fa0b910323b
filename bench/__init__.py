"""Benchmarks (`make bench`). Each module here named `bench_*.py` has `run() -> dict`.

Results of all modules are merged into `bench/results/latest.json`. Benchmarks compare variants
within the same run (ratios), because the machine is shared and noisy; they are never tests.
"""
