"""Highest valid Server QPS, found by a search on each side (benchmarks 1 and 2)."""

from __future__ import annotations

from typing import Any

from benchmarks._harness import Figure, Options, Report, Search, run_side, server_valid


def search_peak(
    side: str,
    workload: str,
    options: Options,
    start: float,
    growth: float,
    **spec: Any,
) -> tuple[float, list[tuple[float, bool]]]:
    """One search: the highest target QPS whose run is VALID at 99% of the scheduled rate."""
    duration_ms = options.pick(3000, 1000)

    def passes(qps: float) -> bool:
        settings = {"server_target_qps": qps, "min_duration_ms": duration_ms}
        return server_valid(run_side(side, workload, settings, **spec))

    search = Search(start=start, growth=growth, precision=options.pick(0.05, 0.2))
    peak = search.run(passes)
    return peak, search.probes


# variant name -> (side, extra spec for run_side)
VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "asyncgen": ("asyncgen", {"precise": True}),
    "reference": ("reference", {}),
    "asyncgen-lowcpu": ("asyncgen", {"precise": False}),
}


def peak_qps_report(
    name: str,
    description: str,
    workload: str,
    options: Options,
    start: float,
    target: str,
    *,
    low_cpu: bool = False,
) -> Report:
    """Search each variant ``options.repeats`` times, alternating the order of the sides.

    ``low_cpu`` adds asyncgen's low-CPU pacing mode as a third variant (asyncgen only).
    """
    names = ["asyncgen", "reference"] + (["asyncgen-lowcpu"] if low_cpu else [])
    found: dict[str, list[float]] = {n: [] for n in names}
    probes: dict[str, list[Any]] = {n: [] for n in names}
    for repeat in range(options.repeats):
        for variant in names if repeat % 2 == 0 else list(reversed(names)):
            side, spec = VARIANTS[variant]
            previous = found[variant]
            # The first search climbs by doubling from a fixed start; later ones start just
            # below the first result and climb in finer steps (same end precision).
            first = not previous
            begin = start if first else previous[0] * 0.8
            peak, tried = search_peak(
                side, workload, options, begin, 2.0 if first else 1.25, **spec
            )
            found[variant].append(peak)
            probes[variant].append(tried)
            print(f"  [{name}] repeat {repeat + 1} {variant}: {peak:,.0f} QPS", flush=True)
    figures = [
        Figure(
            name="highest valid QPS",
            unit="QPS",
            asyncgen_runs=found["asyncgen"],
            reference_runs=found["reference"],
            target=target,
        )
    ]
    if low_cpu:
        figures.append(
            Figure(
                name="highest valid QPS, low-CPU pacing",
                unit="QPS",
                asyncgen_runs=found["asyncgen-lowcpu"],
                reference_runs=found["reference"],
                target=None,
                note="asyncgen with MonotonicClock(precise=False): loop timers only",
            )
        )
    return Report(
        benchmark=name,
        description=description,
        method=(
            f"{options.repeats} searches per side, alternating sides; each probe is a fresh "
            f"process running a {options.pick(3000, 1000)} ms PerformanceOnly Server test; a "
            "probe passes when the summary says VALID and completed samples/s >= 99% of "
            "scheduled samples/s; doubling from the start value (later searches: x1.25 from "
            "0.8 x the first result), then geometric bisection to "
            f"{options.pick(5, 20)}%; the figure is the median of the searches' results"
        ),
        figures=figures,
        extra={"probes": probes},
    )
