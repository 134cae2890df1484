"""One measured run of one side, in a fresh process: ``python -m benchmarks._sides SPEC``.

SPEC is a JSON object::

    {"side": "asyncgen" | "reference",
     "workload": "server-sleep" | "server-null" | "single-stream-null" | "offline-null"
                 | "single-stream-task" | "compat-thread-per-query" | "compat-worker-queue",
     "settings": {"server_target_qps": 1000.0, "min_duration_ms": 2000, ...},
     "trace": false,          # enable_trace in the log settings
     "precise": true,         # asyncgen only: the pacing mode of MonotonicClock
     "mode": "hrtimer",       # asyncgen only, optional: the mode by name (wins over precise)
     "export": "jsonl",       # asyncgen only, optional: run_test's export_requests
     "outdir": "/tmp/..."}

The run prints one JSON object on its last stdout line: the summary fields (parsed from
``mlperf_log_summary.txt`` the same way for both sides), the issue lag percentiles when known
(asyncgen: ``TestResult.issue_lag``; reference: the ``issue_delay`` of the trace's ``Latency``
events, summarised by the same function), the wall time of the test call and the process's
peak resident memory.

The ``compat-*`` workloads run one LoadGen harness (``_workloads.CompatHarness``) unchanged on
both sides: the asyncgen side imports it ``asyncgen.compat`` as ``lg``, the reference side
``mlperf_loadgen``.
"""

from __future__ import annotations

import json
import re
import resource
import sys
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks._workloads import BenchQSL, CompatHarness, NullSUT, SleepSUT, null_one

SCENARIOS = {
    "server-sleep": "Server",
    "server-null": "Server",
    "single-stream-null": "SingleStream",
    "single-stream-task": "SingleStream",
    "offline-null": "Offline",
    "compat-thread-per-query": "SingleStream",
    "compat-worker-queue": "SingleStream",
}
COMPAT = "compat-"


def parse_summary(text: str) -> dict[str, str]:
    """``key : value`` lines of a summary file (both sides write the same layout)."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() and key.strip() not in fields:
            fields[key.strip()] = value.strip()
    return fields


LAG_POINTS = {"50": 0.50, "90": 0.90, "99": 0.99, "99.9": 0.999}


def lag_percentiles(lags: list[int]) -> dict[str, int]:
    """p50/p90/p99/p99.9 by asyncgen's ``IssueLag`` rule: the value at floor(n * p), sorted."""
    ordered = sorted(lags)
    n = len(ordered)
    if n == 0:
        return {}
    return {key: ordered[min(n - 1, int(n * p))] for key, p in LAG_POINTS.items()}


def trace_issue_delays(path: Path) -> list[int]:
    """The ``issue_delay`` of every ``Latency`` counter event of a reference trace."""
    pattern = re.compile(r'"name":"Latency".*"issue_delay":(\d+)')
    delays = []
    with path.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            match = pattern.search(line)
            if match:
                delays.append(int(match.group(1)))
    return delays


def _peak_rss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def _cpu_s() -> float:
    """CPU time of the whole process (every thread), user plus system."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# -- asyncgen ------------------------------------------------------------------------------


def run_asyncgen(spec: dict[str, Any]) -> dict[str, Any]:
    import asyncgen  # noqa: PLC0415 - each side imports only its own library

    if spec["workload"].startswith(COMPAT):
        import asyncgen.compat as lg  # noqa: PLC0415

        return run_harness(lg, spec)

    def complete(samples: Any) -> None:
        for sample in samples:
            sample.complete()

    workload = spec["workload"]
    sut: Any = NullSUT(complete)
    if workload == "server-sleep":
        sut = SleepSUT(complete)
    elif workload == "single-stream-task":  # a task per sample: asyncgen.FunctionSUT
        sut = asyncgen.FunctionSUT(null_one)
    settings = asyncgen.TestSettings(
        scenario=asyncgen.TestScenario[SCENARIOS[workload]],
        mode=asyncgen.TestMode.PerformanceOnly,
        **spec["settings"],
    )
    log = asyncgen.LogSettings(
        log_output=asyncgen.LogOutputSettings(outdir=spec["outdir"]),
        enable_trace=spec["trace"],
    )
    if "mode" in spec:  # a pacing mode by name; "precise" is the older true/false switch
        clock = asyncgen.MonotonicClock(spec["mode"])
    else:
        clock = asyncgen.MonotonicClock(precise=spec.get("precise", True))
    started, cpu = time.perf_counter(), _cpu_s()
    result = asyncgen.run(
        sut,
        BenchQSL(),
        settings,
        log_settings=log,
        audit_config=None,
        clock=clock,
        export_requests=spec.get("export"),
    )
    wall_s, cpu_s = time.perf_counter() - started, _cpu_s() - cpu
    rss = _peak_rss_kib()
    lag = {f"{p * 100:g}": v for p, v in result.issue_lag.percentiles_ns.items()}
    outcome = _outcome(spec, wall_s, cpu_s, rss, lag)
    if result.summary is not None:
        outcome["samples"] = result.summary.sample_count
    return outcome


# -- the reference -------------------------------------------------------------------------


def run_reference(spec: dict[str, Any]) -> dict[str, Any]:
    import mlperf_loadgen as lg  # noqa: PLC0415

    if spec["workload"].startswith(COMPAT):
        return run_harness(lg, spec)

    def complete(samples: Any) -> None:
        lg.QuerySamplesComplete([lg.QuerySampleResponse(s.id, 0, 0) for s in samples])

    workload = spec["workload"]
    if workload == "server-null":
        issue = NullSUT(complete).accept  # completes inside IssueQuery, on the issue thread
    else:
        sut = SleepSUT(complete) if workload == "server-sleep" else NullSUT(complete)
        loop = _loop_thread()

        def issue(samples: Any) -> None:
            loop.call_soon_threadsafe(sut.accept, samples)

    wall_s, cpu_s, rss = start_test(lg, spec, issue, lambda: None)
    lag: dict[str, int] = {}
    if spec["trace"] and spec.get("lags", True):
        lag = lag_percentiles(trace_issue_delays(Path(spec["outdir"]) / "mlperf_log_trace.json"))
    return _outcome(spec, wall_s, cpu_s, rss, lag)


# -- a LoadGen harness, on either module -----------------------------------------------------


def run_harness(lg: Any, spec: dict[str, Any]) -> dict[str, Any]:
    """The ``compat-*`` workloads: the same harness code on ``lg``, whichever module it is."""
    harness = CompatHarness(lg, spec["workload"].removeprefix(COMPAT))
    try:
        wall_s, cpu_s, rss = start_test(lg, spec, harness.issue_query, harness.flush_queries)
    finally:
        harness.close()
    return _outcome(spec, wall_s, cpu_s, rss, {})


def start_test(lg: Any, spec: dict[str, Any], issue: Any, flush: Any) -> tuple[float, float, int]:
    """One LoadGen-API test on ``lg`` (``mlperf_loadgen`` or ``asyncgen.compat``) with the
    given callbacks: its wall and CPU seconds, and the process's peak RSS after it."""
    settings = lg.TestSettings()
    settings.scenario = getattr(lg.TestScenario, SCENARIOS[spec["workload"]])
    settings.mode = lg.TestMode.PerformanceOnly
    for name, value in spec["settings"].items():
        setattr(settings, name, value)
    log = lg.LogSettings()
    log.log_output.outdir = spec["outdir"]
    log.enable_trace = spec["trace"]
    qsl_spec = BenchQSL()
    sut = lg.ConstructSUT(issue, flush)
    qsl = lg.ConstructQSL(
        qsl_spec.total_sample_count,
        qsl_spec.performance_sample_count,
        lambda _indices: None,
        lambda _indices: None,
    )
    started, cpu = time.perf_counter(), _cpu_s()
    no_audit = str(Path(spec["outdir"]) / "no-audit.config")  # never read: it does not exist
    lg.StartTestWithLogSettings(sut, qsl, settings, log, no_audit)
    wall_s, cpu_s = time.perf_counter() - started, _cpu_s() - cpu
    rss = _peak_rss_kib()
    lg.DestroyQSL(qsl)
    lg.DestroySUT(sut)
    return wall_s, cpu_s, rss


def _loop_thread() -> Any:
    """An event loop (uvloop, as asyncgen uses) running forever in a daemon thread."""
    import uvloop  # noqa: PLC0415

    loop = uvloop.new_event_loop()
    threading.Thread(target=loop.run_forever, name="sut-loop", daemon=True).start()
    return loop


# -- common --------------------------------------------------------------------------------


def _outcome(
    spec: dict[str, Any], wall_s: float, cpu_s: float, rss_kib: int, lag: dict[str, int]
) -> dict[str, Any]:
    summary = parse_summary((Path(spec["outdir"]) / "mlperf_log_summary.txt").read_text())
    return {
        "summary": summary,
        "issue_lag_ns": lag,
        "wall_s": wall_s,
        "cpu_s": cpu_s,  # CPU time of the test call, all threads
        "peak_rss_kib": rss_kib,
    }


def main(argv: list[str]) -> int:
    spec = json.loads(argv[1])
    runner = run_asyncgen if spec["side"] == "asyncgen" else run_reference
    outcome = runner(spec)
    sys.stdout.write("\n" + json.dumps(outcome) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
