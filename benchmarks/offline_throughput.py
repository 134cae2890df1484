"""Benchmark 5: Offline with a null SUT: samples per second."""

from __future__ import annotations

from benchmarks._harness import Figure, Options, Report, alternating_runs, number

NAME = "offline_throughput"


def run(options: Options) -> Report:
    samples = options.pick(1_000_000, 200_000)
    settings = {"min_duration_ms": 0, "min_query_count": samples, "offline_expected_qps": 1.0}
    runs = alternating_runs(
        options.repeats,
        lambda outcome: number(outcome["summary"], "Samples per second"),
        "offline-null",
        settings,
    )
    return Report(
        benchmark=NAME,
        description=f"Offline, null SUT, one query of {samples:,} samples: samples per second",
        method=(
            f"{options.repeats} runs per side, alternating; each a fresh process; the figure "
            "is the median of the summary's 'Samples per second' (samples / time from the "
            "start of issuing to the last completion)"
        ),
        figures=[
            Figure(
                name="samples per second",
                unit="samples/s",
                asyncgen_runs=runs["asyncgen"],
                reference_runs=runs["reference"],
                target=">= 1.0",
            )
        ],
    )
