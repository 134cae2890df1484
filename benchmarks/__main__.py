"""Run the benchmarks: ``python -m benchmarks [NAME ...] [--quick] [--repeats N]``.

Each benchmark measures asyncgen and the reference (``mlperf_loadgen`` 6.0.17) on the same
workload in the same invocation, prints both figures and their ratio, and writes
``benchmarks/results/<name>.json`` (``<name>-quick.json`` for ``--quick``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from types import ModuleType

from benchmarks import (
    arrival_fidelity,
    arrival_processes,
    compat_overhead,
    issue_lag,
    offline_throughput,
    peak_rss,
    request_export,
    server_async_qps,
    server_null_qps,
    single_stream_overhead,
)
from benchmarks._harness import (
    NOISY_P99_US,
    Options,
    Report,
    format_report,
    sleep_lateness_us,
    write_report,
)

MODULES: tuple[ModuleType, ...] = (
    server_async_qps,
    server_null_qps,
    single_stream_overhead,
    compat_overhead,
    issue_lag,
    offline_throughput,
    peak_rss,
    arrival_processes,
    arrival_fidelity,
    request_export,
)
BENCHMARKS: dict[str, Callable[[Options], Report]] = {m.NAME: m.run for m in MODULES}


def parse_args(argv: list[str]) -> tuple[list[str], Options]:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"default: all of {', '.join(BENCHMARKS)}"
    )
    parser.add_argument("--quick", action="store_true", help="a fast smoke run, not a result")
    parser.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="runs (or searches) per side (default: 3, quick: 1)",
    )
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; choose from {', '.join(BENCHMARKS)}")
    repeats = args.repeats or (1 if args.quick else 3)
    return list(args.names) or list(BENCHMARKS), Options(quick=args.quick, repeats=repeats)


def main(argv: list[str]) -> int:
    names, options = parse_args(argv)
    load = os.getloadavg()[0]
    cpus = len(os.sched_getaffinity(0))
    print(
        f"benchmarks: {', '.join(names)} ({'quick' if options.quick else 'full'}, "
        f"{options.repeats} repeats); load average {load:.2f} on {cpus} CPUs",
        flush=True,
    )
    if load > cpus / 2:
        print("warning: the machine is busy; figures will be noisy", flush=True)
    for name in names:
        noise = sleep_lateness_us()
        print(
            f"  [{name}] a 0.5 ms sleep wakes late by {noise['50']:.0f} us (p50), "
            f"{noise['99']:.0f} us (p99), {noise['99.9']:.0f} us (p99.9)",
            flush=True,
        )
        if noise["99"] > NOISY_P99_US:
            print(
                "  warning: the machine's scheduling is noisy; latency tails follow it", flush=True
            )
        started = time.time()
        report = BENCHMARKS[name](options)
        path = write_report(report, options, started, noise)
        print(format_report(report), flush=True)
        print(f"  -> {path} ({time.time() - started:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
