"""Benchmark 4: issue lag (issued - scheduled) at 1k, 10k and 50k QPS.

asyncgen reports it in ``TestResult.issue_lag``; the reference records it as ``issue_delay``
in the ``Latency`` counter events of its trace, so both sides run with the trace enabled.
The primary figures use the null SUT (the generator's own pacing); the same rates with the
1 ms async SUT, and asyncgen's low-CPU (timer) and hrtimer pacing modes, are measured
alongside, with the CPU each run used.
"""

from __future__ import annotations

import statistics
from typing import Any

from benchmarks._harness import Figure, Options, Report, run_side

NAME = "issue_lag"
RATES = (1_000, 2_000, 10_000, 50_000)
POINTS = ("50", "99", "99.9")


def _duration_ms(qps: int, options: Options) -> int:
    # At least ~5000 queries at the lowest rate, so that p99.9 is not just the maximum.
    return int(options.pick(5000 if qps < 5000 else 3000, 1000))


def _measure(side: str, workload: str, qps: int, options: Options, **spec: Any) -> dict[str, float]:
    """The lag percentiles of one run, plus ``cpu``: CPU seconds per wall second of the test."""
    settings = {"server_target_qps": float(qps), "min_duration_ms": _duration_ms(qps, options)}
    outcome = run_side(side, workload, settings, trace=True, **spec)
    return {**outcome["issue_lag_ns"], "cpu": outcome["cpu_s"] / outcome["wall_s"]}


def run(options: Options) -> Report:
    variants = {
        # name: (side, workload, extra spec)
        "asyncgen": ("asyncgen", "server-null", {"precise": True}),
        "asyncgen-lowcpu": ("asyncgen", "server-null", {"precise": False}),
        "asyncgen-hrtimer": ("asyncgen", "server-null", {"mode": "hrtimer"}),
        "reference": ("reference", "server-null", {}),
        "asyncgen-sleep": ("asyncgen", "server-sleep", {"precise": True}),
        "reference-sleep": ("reference", "server-sleep", {}),
    }
    if options.quick:
        quick = ("asyncgen", "asyncgen-hrtimer", "reference")
        variants = {k: v for k, v in variants.items() if k in quick}
    runs: dict[str, dict[int, list[dict[str, float]]]] = {
        k: {q: [] for q in RATES} for k in variants
    }
    for repeat in range(options.repeats):
        names = list(variants) if repeat % 2 == 0 else list(reversed(variants))
        for qps in RATES:
            for name in names:
                side, workload, spec = variants[name]
                runs[name][qps].append(_measure(side, workload, qps, options, **spec))
        print(f"  [{NAME}] repeat {repeat + 1} done", flush=True)

    def series(name: str, qps: int, point: str) -> list[float]:
        return [float(r[point]) for r in runs[name][qps] if point in r]

    figures = []
    for qps in RATES:
        for point in POINTS:
            figures.append(
                Figure(
                    name=f"p{point} issue lag at {qps:,} QPS",
                    unit="ns",
                    asyncgen_runs=series("asyncgen", qps, point),
                    reference_runs=series("reference", qps, point),
                    target="<= 0.25" if point == "99" else None,
                )
            )
    comparisons: list[tuple[str, str, str]] = []
    if "asyncgen-lowcpu" in variants:
        comparisons.append(("low-CPU mode", "asyncgen-lowcpu", "reference"))
    if "asyncgen-hrtimer" in variants:
        comparisons.append(("hrtimer mode", "asyncgen-hrtimer", "reference"))
    if "asyncgen-sleep" in variants:
        comparisons.append(("1 ms async SUT", "asyncgen-sleep", "reference-sleep"))
    for label, ours, theirs in comparisons:
        for qps in RATES:
            figures.append(
                Figure(
                    name=f"p99 issue lag at {qps:,} QPS, {label}",
                    unit="ns",
                    asyncgen_runs=series(ours, qps, "99"),
                    reference_runs=series(theirs, qps, "99"),
                    target=None,
                )
            )
    medians = {
        name: {
            str(qps): {p: statistics.median(series(name, qps, p)) for p in (*POINTS, "cpu")}
            for qps in RATES
            if series(name, qps, "50")
        }
        for name in variants
    }
    return Report(
        benchmark=NAME,
        description="issue lag (issued - scheduled) percentiles, Server, null SUT, trace on",
        method=(
            f"{options.repeats} runs per side, rate and variant, alternating; each a fresh "
            "process running a PerformanceOnly Server test with the trace enabled (5000 ms at "
            "1k QPS, 3000 ms above); asyncgen's percentiles from TestResult.issue_lag, the "
            "reference's from the issue_delay of every Latency trace event, both by the same "
            "rule (value at floor(n*p) of the sorted lags); figures are medians over runs"
        ),
        figures=figures,
        extra={"medians_ns": medians, "cpu_note": "cpu = CPU seconds per wall second"},
    )
