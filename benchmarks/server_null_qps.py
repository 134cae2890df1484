"""Benchmark 2: Server, a null SUT that completes inside issue_query."""

from __future__ import annotations

from benchmarks._harness import Options, Report
from benchmarks._qps import peak_qps_report

NAME = "server_null_qps"


def run(options: Options) -> Report:
    return peak_qps_report(
        NAME,
        "Server, null SUT completing inside issue_query: highest valid QPS",
        "server-null",
        options,
        start=40_000,
        target=">= 0.5",
    )
