"""Benchmark 3: SingleStream with an async null SUT: the generator's own per-query latency."""

from __future__ import annotations

from benchmarks._harness import Figure, Options, Report, number, run_side

NAME = "single_stream_overhead"
KEY = "50.00 percentile latency (ns)"


def run(options: Options) -> Report:
    settings = {
        "min_duration_ms": options.pick(2000, 500),
        "min_query_count": 1,
        # Enough generated queries for the whole duration at a few microseconds each.
        "single_stream_expected_latency_ns": 5000,
    }
    runs: dict[str, list[float]] = {"asyncgen": [], "reference": [], "asyncgen-task": []}
    for repeat in range(options.repeats):
        order = ("asyncgen", "reference") if repeat % 2 == 0 else ("reference", "asyncgen")
        for side in order:
            outcome = run_side(side, "single-stream-null", settings)
            runs[side].append(number(outcome["summary"], KEY))
        outcome = run_side("asyncgen", "single-stream-task", settings)
        runs["asyncgen-task"].append(number(outcome["summary"], KEY))
    figure = Figure(
        name="median per-query latency",
        unit="ns",
        asyncgen_runs=runs["asyncgen"],
        reference_runs=runs["reference"],
        target="<= 0.2",
    )
    with_task = Figure(
        name="median per-query latency, FunctionSUT",
        unit="ns",
        asyncgen_runs=runs["asyncgen-task"],
        reference_runs=runs["reference"],
        target=None,
        note="asyncgen.FunctionSUT: the SUT spawns one task per sample (the reference does too)",
    )
    return Report(
        benchmark=NAME,
        description=(
            "SingleStream, async null SUT (a coroutine that completes its samples at once): "
            "median latency from issue to completion"
        ),
        method=(
            f"{options.repeats} runs per side, alternating; each a fresh process running a "
            f"{settings['min_duration_ms']} ms PerformanceOnly SingleStream test; the figure "
            "is the median over runs of the summary's 50.00 percentile latency. asyncgen "
            "awaits the SUT's issue_query on its own loop; the reference's issue callback "
            "hands it to a uvloop loop thread with call_soon_threadsafe"
        ),
        figures=[figure, with_task],
    )
