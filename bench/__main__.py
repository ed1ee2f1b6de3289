"""`python -m bench` (`make bench`): every benchmark in turn; each prints its own figures.

Run them on a quiet machine: they compare configurations within one run, as ratios."""

import runpy
import sys

BENCHMARKS = [
    "bench.bench_bus",
    "bench.bench_cameras",
    "bench.bench_dataset",
    "bench.bench_logs",
    "bench.bench_policy",
    "bench.bench_remote_policy",
    "bench.bench_lekiwi",
    "bench.bench_session",
    "bench.bench_console",
]

if __name__ == "__main__":
    for name in BENCHMARKS:
        print(f"\n=== {name}", flush=True)
        sys.argv = [name]
        runpy.run_module(name, run_name="__main__")
