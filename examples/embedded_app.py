"""Embed a load test in an asyncio application: ``await asyncgen.run_test(...)`` on its loop.

The application here serves the digits model (``examples.digits_server``) and, on the same
event loop, load-tests its own endpoint through ``HttpSUT`` while a heartbeat task keeps
running: the load generator is one more coroutine, not a thread or a process. Progress arrives
through a callback; the result comes back as an object, no log parsing needed.

    python -m examples.embedded_app
"""

from __future__ import annotations

import asyncio
import itertools
import sys
import time
from pathlib import Path

import asyncgen
from asyncgen.http import HttpSUT
from examples.digits_model import DigitsQSL, load_split, train
from examples.digits_server import start


async def heartbeat(beats: list[float]) -> None:
    """The application's own work: it keeps its pace while the test runs."""
    while True:
        beats.append(time.monotonic())
        await asyncio.sleep(0.1)


def show(progress: asyncgen.Progress) -> None:
    print(
        f"  {progress.elapsed_s:4.1f} s: {progress.samples_completed} answered, "
        f"{progress.achieved_qps:.0f} QPS, in flight {progress.in_flight}"
    )


async def main(
    outdir: Path = Path("out/embedded"), duration_ms: int = 3_000
) -> asyncgen.TestResult:
    split = load_split()
    runner, url = await start(train(split))  # the service, on this loop
    beats: list[float] = []
    beating = asyncio.create_task(heartbeat(beats))
    settings = asyncgen.TestSettings(
        scenario=asyncgen.TestScenario.Server,
        mode=asyncgen.TestMode.PerformanceOnly,
        server_target_qps=100,
        server_target_latency_ns=50_000_000,
        server_target_latency_percentile=0.9,  # a short run: p99 would need ~500 queries
        min_duration_ms=duration_ms,
        min_query_count=100,
    )
    log = asyncgen.LogSettings(log_output=asyncgen.LogOutputSettings(outdir=str(outdir)))
    try:
        qsl = DigitsQSL(split)
        async with HttpSUT(f"{url}/predict", qsl) as sut:
            result = await asyncgen.run_test(
                sut, qsl, settings, log_settings=log, audit_config=None, progress=show,
                progress_interval_s=1.0,
            )  # fmt: skip
    finally:
        beating.cancel()
        await runner.cleanup()
    assert result.summary is not None
    p99_ms = result.summary.sample_latency.percentiles_ns[0.99] / 1e6
    gaps = [b - a for a, b in itertools.pairwise(beats)]
    print(f"{'VALID' if result.valid else 'INVALID'}: p99 latency {p99_ms:.1f} ms")
    print(f"heartbeat kept beating: {len(beats)} beats, longest gap {max(gaps) * 1000:.0f} ms")
    return result


if __name__ == "__main__":
    sys.exit(0 if asyncio.run(main()).valid else 1)
