"""Benchmark: what ``--export-requests`` costs (issue 14's per-request export).

    python -m benchmarks request_export [--quick] [--repeats N]

A Server run of a null SUT (completing inside ``issue_query``) at 20,000 requests/s for 5 s
(``--quick``: 5,000/s for 1 s) with ``MonotonicClock("timer")``, once without the export (the
baseline), once with ``export_requests="jsonl"`` and once with ``"parquet"``, alternating the
order, each run a fresh process (``benchmarks._sides``). Per run: the process CPU of the test
call per completed request, and the issue lag p99. The figures are each export's median CPU
per request against the baseline's, side by side in the same invocation; there is no target
(the issue names none), the difference is what the export costs.

The rows are made in batches by the background writer at its flushes, so the export should
add CPU while the run goes but leave the issue lag as it is.
"""

from __future__ import annotations

import statistics
from typing import Any

from benchmarks._harness import Figure, Options, Report, run_side

NAME = "request_export"
BASELINE = "none"
EXPORTS = ("jsonl", "parquet")
WORKLOAD = "server-null"
FIGURES = (  # (measure, figure name, note)
    (
        "cpu_us_per_request",
        "CPU per request",
        "process CPU of the test call over completed requests; null SUT, timer pacing",
    ),
    ("issue_lag_p99_us", "issue lag p99", ""),
)


def run(options: Options) -> Report:
    qps = options.pick(20_000.0, 5_000.0)
    duration_ms = options.pick(5_000, 1_000)
    settings = {"server_target_qps": qps, "min_duration_ms": duration_ms}
    names = (BASELINE, *EXPORTS)
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for repeat in range(options.repeats):
        for name in names if repeat % 2 == 0 else names[::-1]:
            export = None if name == BASELINE else name
            outcome = run_side("asyncgen", WORKLOAD, settings, mode="timer", export=export)
            runs[name].append(_measures(outcome))
        print(f"  [{NAME}] repeat {repeat + 1} done", flush=True)
    medians = {name: _medians(runs[name]) for name in names}
    for name in names:
        m = medians[name]
        print(
            f"  {name:8} {m['cpu_us_per_request']:6.2f} us CPU/request, issue lag p99 "
            f"{m['issue_lag_p99_us']:8.1f} us, {m['requests']:,.0f} requests",
            flush=True,
        )
    figures = [
        Figure(
            name=f"{label}, {export} export",
            unit="us",
            asyncgen_runs=[r[key] for r in runs[export]],
            reference_runs=[r[key] for r in runs[BASELINE]],
            target=None,
            labels=(export, "no export"),
            note=note,
        )
        for key, label, note in FIGURES
        for export in EXPORTS
    ]
    return Report(
        benchmark=NAME,
        description="CPU per request and issue lag with and without --export-requests",
        method=(
            f"{options.repeats} runs per variant, alternating, each a fresh process; Server, "
            f"null SUT completing inside issue_query, {qps:,.0f} requests/s for "
            f"{duration_ms / 1000:g} s, MonotonicClock('timer'); CPU is the process's user + "
            "system time of the test call over completed requests; figures are medians"
        ),
        figures=figures,
        extra={"medians": medians, "runs": runs},
    )


def _measures(outcome: dict[str, Any]) -> dict[str, float]:
    requests = float(outcome["samples"])
    return {
        "requests": requests,
        "cpu_us_per_request": outcome["cpu_s"] * 1e6 / requests,
        "issue_lag_p99_us": outcome["issue_lag_ns"]["99"] / 1000,
        "wall_s": outcome["wall_s"],
    }


def _medians(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(r[key] for r in runs) for key in runs[0]}
