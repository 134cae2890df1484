"""Soak: a long Server run against a SUT that injects every fault kind at a low rate.

    python -m benchmarks.soak [--minutes 10] [--qps 500] [--rate 0.002] [--keep DIR]

The SUT answers each sample after a short random service time, except that with probability
``rate`` per kind it: never answers, answers twice, answers an unknown id, sends a first token
after the answer, fails the sample, or answers from a worker thread. At the end the soak
checks that nothing was lost: every injected mistake is one error in the detail log, every
never-answered sample is listed missing, every answered sample is one trace record, and the
files pass ``asyncgen verify``. Memory (RSS) is sampled every second: it must stay flat once
the run is under way (the per-sample columns are allocated up front).

Not a unit test: it takes minutes. Exit status 0 when nothing was lost, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import asyncgen
from asyncgen._output.verify import verify
from asyncgen.sut import QuerySample, QuerySampleResponse, query_samples_complete

KINDS = ("never", "twice", "unknown_id", "token_after", "fail", "thread")
# the detail-log error each injected kind must produce (None: reported another way)
ERROR_TEXT = {
    "twice": "Attempted to complete a sample twice.",
    "unknown_id": "Completion for an unknown response id",
    "token_after": "Attempted to record token latency after sample was completed",
    "fail": "Sample failed.",
}


class FaultySUT:
    """Answers after ~1 ms; with probability ``rate`` per kind, gets it wrong that way."""

    name = "faulty-soak"

    def __init__(self, rate: float, seed: int = 6) -> None:
        self.rate = rate
        self.random = random.Random(seed)
        self.injected: Counter[str] = Counter()
        self.pool = ThreadPoolExecutor(2)
        self.answered = 0

    def _kind(self) -> str | None:
        draw = self.random.random()
        for n, kind in enumerate(KINDS):
            if draw < self.rate * (n + 1):
                return kind
        return None

    async def issue_query(self, samples: Sequence[QuerySample]) -> None:
        loop = asyncio.get_running_loop()
        for sample in samples:
            kind = self._kind()
            if kind is not None:
                self.injected[kind] += 1
            if kind == "never":
                continue
            delay = self.random.uniform(0.0005, 0.002)
            loop.call_later(delay, self._answer, sample, kind)

    def _answer(self, sample: QuerySample, kind: str | None) -> None:
        self.answered += 1
        if kind == "fail":
            sample.fail("soak: injected failure")
            return
        if kind == "thread":
            self.pool.submit(sample.complete, b"\x01")
            return
        sample.complete(b"\x01")
        if kind == "twice":
            sample.complete(b"\x02")
        elif kind == "token_after":
            sample.first_token(b"\x03")
        elif kind == "unknown_id":
            query_samples_complete([QuerySampleResponse((0xFFFFF << 40) + 1, b"")])

    async def flush_queries(self) -> None:
        pass


class RssSampler:
    """Resident memory every ``interval_s`` (Linux /proc), in MiB, with the time it was read."""

    def __init__(self, interval_s: float = 1.0) -> None:
        self.interval_s = interval_s
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._start = time.monotonic()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.samples.append((time.monotonic() - self._start, _rss_mib()))

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append((time.monotonic() - self._start, _rss_mib()))


def _rss_mib() -> float:
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except OSError:  # not Linux: the peak is all we have
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return pages * resource.getpagesize() / 2**20


def _detail_errors(path: Path) -> list[str]:
    errors = []
    for line in path.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line.removeprefix(":::MLLOG "))
        if entry["metadata"]["is_error"]:
            errors.append(str(entry["value"]))
    return errors


def soak(
    minutes: float, qps: float, rate: float, outdir: Path, *, precise: bool = True
) -> dict[str, Any]:
    """Run the soak; return its report (``lost`` lists every discrepancy found)."""
    settings = asyncgen.TestSettings(
        scenario=asyncgen.TestScenario.Server,
        mode=asyncgen.TestMode.PerformanceOnly,
        server_target_qps=qps,
        server_target_latency_ns=50_000_000,
        min_duration_ms=int(minutes * 60_000),
        min_query_count=1,
        drain_timeout_ms=2_000,
        accuracy_log_probability=0.01,
    )
    log = asyncgen.LogSettings(
        log_output=asyncgen.LogOutputSettings(outdir=str(outdir)), enable_trace=True
    )
    qsl = asyncgen.SimulatedQSL(total_sample_count=1024, performance_sample_count=1024)
    sut = FaultySUT(rate)
    started = time.monotonic()
    with RssSampler() as rss:
        result = asyncgen.run(
            sut,
            qsl,
            settings,
            log_settings=log,
            audit_config=None,
            clock=asyncgen.MonotonicClock(precise=precise),
        )
    sut.pool.shutdown(wait=True)
    elapsed = time.monotonic() - started
    errors = _detail_errors(result.files["detail"])
    reported = {kind: sum(text in e for e in errors) for kind, text in ERROR_TEXT.items()}
    reported["never"] = len(result.missing_samples)
    issued = result.issue_lag.count  # Server: one sample per query, every query issued
    trace = json.loads(result.files["trace"].read_text())
    traced = sum(1 for e in trace["traceEvents"] if e.get("name") == "Sample" and e["ph"] == "b")
    expected_traced = issued - len(result.missing_samples)
    lost = [
        f"{kind}: injected {sut.injected[kind]}, reported {reported[kind]}"
        for kind in reported
        if reported[kind] != sut.injected[kind]
    ]
    if result.failures.get("soak", 0) != sut.injected["fail"]:
        lost.append(f"failures counted {result.failures}, injected {sut.injected['fail']}")
    if traced != expected_traced:
        lost.append(f"trace records {traced}, expected {expected_traced}")
    lost += verify(outdir)
    memory = [mib for _, mib in rss.samples]
    # flat while queries are paced: from a quarter of the way in to the end of pacing (the
    # trace is formatted after the series ends, which is a one-off cost, reported as "final")
    pacing_s = minutes * 60
    settled = [mib for t, mib in rss.samples if pacing_s * 0.25 <= t <= pacing_s] or memory
    return {
        "minutes": minutes,
        "elapsed_s": round(elapsed, 1),
        "target_qps": qps,
        "queries": issued,
        "injected": dict(sut.injected),
        "reported": reported,
        "thread_completions": sut.injected["thread"],
        "records": {"trace_samples": traced, "expected": expected_traced},
        "accuracy_entries": result.accuracy_entries,
        "errors_in_detail": len(errors),
        "loop_stalls": None if result.loop_stalls is None else result.loop_stalls.to_dict(),
        "memory_mib": {
            "peak": round(max(memory), 1),
            "final": round(memory[-1], 1),
            "pacing_after_first_quarter": round(settled[0], 1),
            "pacing_growth_after_first_quarter": round(max(settled) - settled[0], 1),
        },
        "lost": lost,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak", description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--qps", type=float, default=500.0)
    parser.add_argument("--rate", type=float, default=0.002, help="probability per fault kind")
    parser.add_argument("--keep", type=Path, help="write the logs here and keep them")
    parser.add_argument("--json", type=Path, help="also write the report as JSON here")
    parser.add_argument(
        "--low-cpu",
        action="store_true",
        help="timers-only pacing (MonotonicClock(precise=False)): the soak checks that nothing is "
        "lost and memory stays flat, which does not need precise pacing's whole core",
    )
    args = parser.parse_args(argv)
    outdir = args.keep or Path(tempfile.mkdtemp(prefix="asyncgen-soak-"))
    try:
        report = soak(args.minutes, args.qps, args.rate, outdir, precise=not args.low_cpu)
    finally:
        if args.keep is None:
            shutil.rmtree(outdir, ignore_errors=True)
    text = json.dumps(report, indent=2)
    print(text)
    if args.json is not None:
        args.json.write_text(text + "\n", encoding="utf-8")
    return 1 if report["lost"] else 0


if __name__ == "__main__":
    sys.exit(main())
