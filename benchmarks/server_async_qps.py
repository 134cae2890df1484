"""Benchmark 1: Server, an async SUT with 1 ms service time (asyncio.sleep per query)."""

from __future__ import annotations

from benchmarks._harness import Options, Report
from benchmarks._qps import peak_qps_report

NAME = "server_async_qps"


def run(options: Options) -> Report:
    return peak_qps_report(
        NAME,
        "Server, async SUT with 1 ms service (one task + asyncio.sleep per query): "
        "highest valid QPS",
        "server-sleep",
        options,
        start=10_000,
        target=">= 2.0",
        low_cpu=True,
    )
