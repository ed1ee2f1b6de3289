"""`python -m bench` (`make bench`): every benchmark in turn; each prints its own figures.

    python -m bench                                   # all of them, on every allowed core
    python -m bench --one-core                        # all of them, as `taskset -c 0` would
    python -m bench --one-core bench.bench_bus --steps 1000   # one, with its own flags

`--one-core`: this process (and so every thread a benchmark starts) on the first allowed core,
the processes it starts (servo emulators, servers, the console's terminal) moved to the others
(`bench.pin`): the "1 core" column of BENCHMARKS.md.

Run them on a quiet machine: they compare configurations within one run, as ratios."""

import runpy
import sys

BENCHMARKS = [
    "bench.bench_bus",
    "bench.bench_cameras",
    "bench.bench_dataset",
    "bench.bench_depth",
    "bench.bench_logs",
    "bench.bench_policy",
    "bench.bench_remote_policy",
    "bench.bench_lekiwi",
    "bench.bench_session",
    "bench.bench_console",
]


def main(argv: list[str]) -> None:
    if argv[:1] == ["--one-core"]:
        from bench.pin import keep_children_on, pin_to_one_core

        argv = argv[1:]
        core, others = pin_to_one_core()
        keep_children_on(others)
        print(f"one core: benchmarks on core {core}, what they start on {sorted(others)}")
    runs = [(argv[0], argv[1:])] if argv else [(name, []) for name in BENCHMARKS]
    for name, flags in runs:
        print(f"\n=== {name} {' '.join(flags)}".rstrip(), flush=True)
        sys.argv = [name, *flags]
        runpy.run_module(name, run_name="__main__")


if __name__ == "__main__":
    main(sys.argv[1:])
