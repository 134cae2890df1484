"""Benchmark: a LoadGen harness that completes on another thread, on both libraries.

The same harness code (``_workloads.CompatHarness``) runs on ``mlperf_loadgen`` and, after
``import asyncgen.compat as lg``, on asyncgen: SingleStream, an issue callback that hands each
query to another thread, which calls ``QuerySamplesComplete`` at once. The figure is the
summary's "QPS w/ loadgen overhead": queries over the whole run, so it counts both the time
from an issue to its completion and the library's own time from a completion to the next
issue.
"""

from __future__ import annotations

from benchmarks._harness import Figure, Options, Report, alternating_runs, number
from benchmarks._workloads import HARNESS_SHAPES

NAME = "compat_overhead"
KEY = "QPS w/ loadgen overhead"
NOTES = {
    "thread-per-query": "a thread started per query, as the reference's Python demos do",
    "worker-queue": "one long-lived worker thread serving a queue.Queue",
}


def run(options: Options) -> Report:
    settings = {
        "min_duration_ms": options.pick(3000, 1000),
        "min_query_count": 1,
        # Enough generated queries for the whole duration at a few microseconds each.
        "single_stream_expected_latency_ns": 5000,
    }
    figures = []
    for shape in HARNESS_SHAPES:
        runs = alternating_runs(
            options.repeats,
            lambda outcome: number(outcome["summary"], KEY),
            f"compat-{shape}",
            settings,
        )
        figures.append(
            Figure(
                name=f"QPS w/ loadgen overhead, {shape}",
                unit="QPS",
                asyncgen_runs=runs["asyncgen"],
                reference_runs=runs["reference"],
                target=">= 1.0" if shape == "thread-per-query" else None,
                note=NOTES[shape],
            )
        )
    return Report(
        benchmark=NAME,
        description=(
            "asyncgen.compat vs mlperf_loadgen, one LoadGen harness completing on another "
            "thread: SingleStream QPS with loadgen overhead"
        ),
        method=(
            f"{options.repeats} runs per side and harness shape, alternating; each a fresh "
            f"process running a {settings['min_duration_ms']} ms PerformanceOnly SingleStream "
            "test with the trace off; the figure is the median over runs of the summary's "
            "'QPS w/ loadgen overhead'"
        ),
        figures=figures,
    )
