"""Benchmark 7: scale-out on Ray (``workers=2``) against one process (``workers=1``).

Three things: the highest valid Server QPS with the null SUT and with the 1 ms async SUT,
one worker against two, on a local Ray cluster (target: two workers at least 1.7 times one
on this 2-core machine); the driver's merge of a 10-million-query run (records per second and
peak memory); and the workers' clock offsets as the driver measured them.

Both sides pace with ``timer`` (loop timers only). The precise and hrtimer modes poll the loop
for the last stretch before each arrival (5 ms, 100 µs), and at tens of thousands of QPS per
worker the arrivals are closer than that, so they poll all the time: each worker keeps a core
busy whatever its load, and two of them starve the driver, Ray and each other on a 2-core
host. A capacity figure wants the CPU spent on the queries, which ``timer`` pacing shows. The
ratio is printed in the harness's "asyncgen / reference" columns: here "asyncgen" is two
workers and "reference" is one.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from typing import Any

from benchmarks._harness import ROOT, Figure, Options, Report, Search, run_side, server_valid

NAME = "scale_out"
PACING = "timer"
WORKLOADS = {  # workload -> (label, first probe)
    "server-null": ("null SUT", 20_000.0),
    "server-sleep": ("1 ms async SUT", 8_000.0),
}


SETTLE_S = 10.0  # a fresh Ray cluster's daemons are busy for a few seconds after its start


def _search(
    workload: str, workers: int, options: Options, start: float, growth: float
) -> tuple[float, list[tuple[float, bool]], list[dict[str, Any]]]:
    """Highest valid QPS with ``workers``; also every worker entry the probes reported.

    One worker: a fresh process per probe (as server_null_qps). More: one process with one
    settled local Ray cluster for the whole search (``benchmarks._scale_search``)."""
    duration_ms = options.pick(3000, 1000)
    precision = options.pick(0.05, 0.2)
    if workers > 1:
        spec = {
            "workload": workload, "workers": workers, "start": start, "growth": growth,
            "precision": precision, "duration_ms": duration_ms, "settle_s": SETTLE_S,
        }  # fmt: skip
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks._scale_search", json.dumps(spec)],
            cwd=ROOT, capture_output=True, text=True, check=True,
        )  # fmt: skip
        found = json.loads(out.stdout.strip().splitlines()[-1])
        probes = [(q, ok) for q, ok in found["probes"]]
        return float(found["peak"]), probes, list(found["workers"])

    entries: list[dict[str, Any]] = []

    def passes(qps: float) -> bool:
        settings = {"server_target_qps": qps, "min_duration_ms": duration_ms}
        outcome = run_side("asyncgen", workload, settings, mode=PACING)
        # the whole test call's CPU: the plan, statistics and files too, unlike a worker's
        entries.append({"cpu_s": outcome["cpu_s"], "queries_issued": outcome["queries"]})
        return server_valid(outcome)

    search = Search(start=start, growth=growth, precision=precision)
    return search.run(passes), search.probes, entries


def _merge(queries: int, shards: int, trace: bool) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks._merge_side", str(queries), str(shards),
         "trace" if trace else "no-trace"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _cpu_per_query_us(entries: list[dict[str, Any]]) -> float | None:
    """Median CPU microseconds per issued query over the probes (a worker's, or one
    process's): what a core can offer, whatever else the machine is doing."""
    costs = [e["cpu_s"] / e["queries_issued"] * 1e6 for e in entries if e.get("queries_issued")]
    return statistics.median(costs) if costs else None


def _clock_summary(entries: list[dict[str, Any]]) -> dict[str, Any]:
    entries = [e for e in entries if "clock_offset_ns" in e]
    if not entries:
        return {}
    offsets = [e["clock_offset_ns"] / 1e3 for e in entries]
    bounds = [e["clock_uncertainty_ns"] / 1e3 for e in entries]
    return {
        "measurements": len(entries),
        "offset_us_median": statistics.median(offsets),
        "offset_us_min": min(offsets),
        "offset_us_max": max(offsets),
        "uncertainty_us_median": statistics.median(bounds),
        "uncertainty_us_max": max(bounds),
        "applied_ns_max": max(abs(e["clock_offset_applied_ns"]) for e in entries),
        "start_slack_ms_min": min(e["start_slack_ns"] for e in entries) / 1e6,
    }


def run(options: Options) -> Report:
    figures, probes, clocks = [], {}, []
    cpu: dict[str, float | None] = {}
    for workload, (label, start) in WORKLOADS.items():
        found: dict[int, list[float]] = {1: [], 2: []}
        spent: dict[int, list[dict[str, Any]]] = {1: [], 2: []}
        for repeat in range(options.repeats):
            for workers in (1, 2) if repeat % 2 == 0 else (2, 1):
                first = not found[workers]
                begin = start if first else found[workers][0] * 0.8
                peak, tried, entries = _search(
                    workload, workers, options, begin, 2.0 if first else 1.25
                )
                found[workers].append(peak)
                probes[f"{workload} workers={workers} #{repeat + 1}"] = tried
                clocks += entries
                spent[workers] += entries
                print(f"  [{NAME}] {label}, {workers} worker(s): {peak:,.0f} QPS", flush=True)
        cpu[f"{workload}, one process (whole test)"] = _cpu_per_query_us(spent[1])
        cpu[f"{workload}, per worker (its series)"] = _cpu_per_query_us(spent[2])
        figures.append(
            Figure(
                name=f"highest valid QPS, {label}",
                unit="QPS",
                asyncgen_runs=found[2],
                reference_runs=found[1],
                target=">= 1.7",
                note="columns: 'asyncgen' = workers=2 on a local Ray cluster, "
                "'reference' = workers=1 (one process); both timer pacing",
            )
        )
    queries = options.pick(10_000_000, 1_000_000)
    merges = {
        f"{'trace' if trace else 'no trace'}": _merge(queries, 2, trace) for trace in (False, True)
    }
    for name, m in merges.items():
        print(
            f"  [{NAME}] merge of {queries:,} queries from 2 shards ({name}): "
            f"{m['records_per_s'] / 1e6:.1f} M records/s, {m['total_s']:.2f} s, "
            f"peak +{m['peak_growth_mib']:.0f} MiB",
            flush=True,
        )
    return Report(
        benchmark=NAME,
        description="scale-out on Ray: 1 vs 2 workers, the driver's merge, clock offsets",
        method=(
            f"{options.repeats} searches per side, alternating; workers=1: each probe a fresh "
            "process; workers=2: each search one process with one local Ray cluster, left to "
            f"settle {SETTLE_S:g} s after its start, each probe a fresh run (fresh actors); a "
            f"probe is a {options.pick(3000, 1000)} ms PerformanceOnly Server test with "
            f"{PACING} pacing; "
            "a probe passes when VALID and completed >= 99% of scheduled samples/s (as "
            "server_null_qps); doubling from the start, then geometric bisection; medians. "
            f"Merge: a fresh process merges 2 shards' records of {queries:,} queries into the "
            "driver's series (merge_records + restore_records), peak = growth of VmHWM."
        ),
        figures=figures,
        extra={
            "cpu_us_per_query": cpu,
            "merge": merges,
            "clock_offsets": _clock_summary(clocks),
            "probes": probes,
        },
    )
