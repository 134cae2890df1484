"""Benchmark: asyncgen's other arrival processes cost what its Poisson does.

Against the streaming token server of ``benchmarks.http_adapters`` (TTFT 20 ms, 5 ms per
token, 16 tokens, in its own process on its own CPU), at 2000 requests/s, each run a fresh
client process on the other CPU, on the hrtimer clock (what ``asyncgen run`` uses for a URL
SUT): ``OpenAISUT`` with the reference's Poisson arrivals (the baseline), with gamma arrivals
of burstiness 0.5 (the same mean rate, twice the Poisson's variance of gaps), and replaying a
trace of Poisson arrival times (``openai-trace``: the bare client's own schedule, written as a
JSON Lines trace). A bare aiohttp client sending the Poisson schedule runs too, for the CPU
ratio http_adapters reports. Runs alternate their order from repeat to repeat.

Reported per process, as medians, against the Poisson run of the same repeats: client CPU per
request (the target: at most 1.1 times Poisson's) and the error of the reported TTFT p50
against the server's own (the bound of docs/http.md is 1 ms); and, for information, the share
of the offered load carried and the issue lag.
"""

from __future__ import annotations

import os
from typing import Any

from benchmarks._harness import Figure, Options, Report
from benchmarks.http_adapters import TokenServer, compare, measured

NAME = "arrival_processes"
RATE = 2000.0
PROCESSES = {"openai-gamma": "gamma B=0.5", "openai-trace": "trace replay"}
BASELINE = "openai-hrtimer"
CPU_TARGET = "<= 1.1"


class _Args:
    """What ``http_adapters.measured`` reads of its command line."""

    def __init__(self, duration_s: float) -> None:
        self.rate, self.duration, self.requests = RATE, duration_s, 0


def run(options: Options) -> Report:
    duration = options.pick(20.0, 3.0)
    args = _Args(duration)
    cpus = sorted(os.sched_getaffinity(0))
    client_cpu, server_cpu = (cpus[0], cpus[-1]) if len(cpus) >= 2 else (None, None)
    names = ["bare-stream", BASELINE, *PROCESSES]
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    server = TokenServer(server_cpu)
    try:
        for repeat in range(options.repeats):
            for name in names if repeat % 2 == 0 else list(reversed(names)):
                result = measured(name, server, args, client_cpu)
                if "error" in result:
                    raise RuntimeError(f"{name}: {result['error']}")
                runs[name].append(result)
                print(f"  [{NAME}] repeat {repeat + 1} {name}: {_line(result)}", flush=True)
    finally:
        server.close()
    verdicts = {
        name: [
            compare(name, {**ours, "target": RATE}, bare)
            for ours, bare in zip(runs[name], runs["bare-stream"], strict=True)
        ]
        for name in [BASELINE, *PROCESSES]
    }
    figures: list[Figure] = []
    for name, label in PROCESSES.items():
        figures += _figures(name, label, runs, verdicts)
    return Report(
        benchmark=NAME,
        description=f"gamma (B=0.5) and trace replay against Poisson, {RATE:g} req/s streamed",
        method=(
            f"{options.repeats} repeats of {duration:g} s runs at {RATE:g} req/s against the "
            "token server of benchmarks.http_adapters (server and client pinned to different "
            "CPUs), each client a fresh process on the hrtimer clock, run order alternating; "
            "medians. Baseline: OpenAISUT with the reference's Poisson arrivals in the same "
            "repeats. TTFT error = reported TTFT p50 - the server's own TTFT p50."
        ),
        figures=figures,
        extra={"runs": runs, "verdicts": verdicts},
    )


# (name, unit, where each run's value is, its key, target, note)
FIGURES = (
    ("CPU per request", "us", "runs", "cpu_us_per_request", CPU_TARGET, ""),
    (
        "TTFT p50 error",
        "ms",
        "verdicts",
        "p50_error_ms",
        None,
        "reported minus the server's own TTFT p50; docs/http.md's bound is 1 ms",
    ),
    (
        "load carried",
        "fraction",
        "verdicts",
        "achieved_fraction",
        None,
        "completed over scheduled samples per second",
    ),
    ("issue lag p99", "us", "runs", "issue_lag_p99_us", None, ""),
)


def _figures(
    name: str,
    label: str,
    runs: dict[str, list[dict[str, Any]]],
    verdicts: dict[str, list[dict[str, Any]]],
) -> list[Figure]:
    """Each of ``FIGURES`` for process ``name`` against the Poisson baseline."""
    sources = {"runs": runs, "verdicts": verdicts}
    return [
        Figure(
            name=f"{title}, {label}",
            unit=unit,
            asyncgen_runs=[r[key] for r in sources[where][name]],
            reference_runs=[r[key] for r in sources[where][BASELINE]],
            target=target,
            note=note,
            labels=(label, "poisson"),
        )
        for title, unit, where, key, target, note in FIGURES
    ]


def _line(result: dict[str, Any]) -> str:
    truth = result["server_truth"]
    p50 = result.get("ttft_p50_ms") or result["latency_p50_ms"]
    return (
        f"TTFT p50 {p50:.2f} ms (server {truth['ttft_p50_ms']:.2f}), "
        f"{result['cpu_us_per_request']:.0f} us CPU/request, "
        f"others {result['other_processes_cpu_s']:.1f} s CPU"
    )
