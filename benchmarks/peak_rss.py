"""Benchmark 6: peak resident memory of a one-million-sample Server run."""

from __future__ import annotations

import subprocess
import sys

from benchmarks._harness import ROOT, Figure, Options, Report, alternating_runs

NAME = "peak_rss"


def _baseline_kib(module: str) -> int:
    """Peak RSS of a process that only imports ``module``: the interpreter's share."""
    code = f"import resource, {module}; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return int(out.stdout.strip())


def run(options: Options) -> Report:
    samples = options.pick(1_000_000, 100_000)
    qps = 200_000.0
    settings = {"server_target_qps": qps, "min_duration_ms": 0, "min_query_count": samples}
    figures = []
    for trace in (False, True):
        runs = alternating_runs(
            options.repeats,
            lambda outcome: outcome["peak_rss_kib"] / 1024,
            "server-null",
            settings,
            trace=trace,
            lags=False,
        )
        figures.append(
            Figure(
                name=f"peak RSS, trace {'on' if trace else 'off'}",
                unit="MiB",
                asyncgen_runs=runs["asyncgen"],
                reference_runs=runs["reference"],
                target="<= 0.25",
                note="enable_trace=True is both libraries' default" if trace else "",
            )
        )
    return Report(
        benchmark=NAME,
        description=f"peak resident memory of a {samples:,}-sample Server run (null SUT)",
        method=(
            f"{options.repeats} runs per side and trace setting, alternating; each a fresh "
            f"process running {samples:,} queries at {qps:,.0f} QPS (min_duration 0, "
            "min_query_count = samples); ru_maxrss of that process, read right after the "
            "test returns; the figure is the median"
        ),
        figures=figures,
        extra={
            "import_only_mib": {
                "asyncgen": round(_baseline_kib("asyncgen, uvloop") / 1024, 1),
                "reference": round(_baseline_kib("mlperf_loadgen") / 1024, 1),
            }
        },
    )
