"""A synthetic Server run folder of any size: trace, detail log and summary, consistent with
each other (the statistics are computed from the traced samples by the reference's rules).

Used by the tests for runs larger than a real test run should be, and by hand to time the
report on a million samples:

    python tests/report/synthetic.py OUTDIR 1000000 && python -m asyncgen.report OUTDIR
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

PERCENTILES = (0.5, 0.9, 0.95, 0.97, 0.99, 0.999)


def write_synthetic_run(
    folder: Path,
    n: int,
    *,
    qps: float = 2000.0,
    seed: int = 1,
    median_latency_ms: float = 1.0,
    target_latency_ms: float = 15.0,
) -> dict[str, np.ndarray]:
    """Write ``folder``'s three files; returns the per-sample arrays (ns, relative)."""
    rng = np.random.default_rng(seed)
    scheduled = np.cumsum(rng.exponential(1e9 / qps, n)).astype(np.int64) + 1_000_000
    lag = rng.exponential(20_000, n).astype(np.int64)
    latency = rng.lognormal(np.log(median_latency_ms * 1e6), 0.5, n).astype(np.int64) + lag
    folder.mkdir(parents=True, exist_ok=True)
    _write_trace(folder / "mlperf_log_trace.json", scheduled, lag, latency)
    done_s = float((scheduled[-1] + latency.max() - scheduled[0]) / 1e9)
    rates = {
        "completed": (n - 1) / done_s,
        "scheduled": (n - 1) / float((scheduled[-1] - scheduled[0]) / 1e9),
    }
    ordered = np.sort(latency)
    stats = {p: int(ordered[min(int(n * p), n - 1)]) for p in PERCENTILES}
    _write_detail(
        folder / "mlperf_log_detail.txt", n, qps, target_latency_ms, ordered, stats, rates
    )
    _write_summary(folder / "mlperf_log_summary.txt", rates["completed"])
    return {"scheduled": scheduled, "lag": lag, "latency": latency}


def _write_trace(path: Path, scheduled: np.ndarray, lag: np.ndarray, latency: np.ndarray) -> None:
    with path.open("w", encoding="utf-8") as f:
        f.write('{"traceEvents":[\n')
        chunk: list[str] = []
        for i, (s, g, t) in enumerate(
            zip(scheduled.tolist(), lag.tolist(), latency.tolist(), strict=True)
        ):
            chunk.append(
                f'{{"name":"Sample","cat":"default","ph":"b","pid":1,"id":{i},'
                f'"ts":{s / 1000:.3f},"args":{{"sample_seq":{i},"query_seq":{i},'
                f'"sample_idx":{i % 256},"issue_start_ns":{g},"complete_ns":{t}}}}},\n'
                f'{{"name":"Sample","cat":"default","ph":"e","pid":1,"id":{i},'
                f'"ts":{(s + t) / 1000:.3f}}},\n'
            )
            if len(chunk) == 10_000:
                f.write("".join(chunk))
                chunk.clear()
        f.write("".join(chunk))
        f.write('{"name":"LastTrace"}\n],\n"displayTimeUnit":"ns",\n"otherData":{}}\n')


def _write_detail(
    path: Path,
    n: int,
    qps: float,
    target_latency_ms: float,
    ordered: np.ndarray,
    stats: dict[float, int],
    rates: dict[str, float],
) -> None:
    values: dict[str, object] = {
        "effective_scenario": "Server",
        "effective_test_mode": "PerformanceOnly",
        "effective_samples_per_query": 1,
        "effective_target_qps": qps,
        "effective_target_latency_ns": int(target_latency_ms * 1e6),
        "effective_target_latency_percentile": 0.99,
        "result_validity": "VALID",
        "result_query_count": n,
        "result_scheduled_samples_per_sec": round(rates["scheduled"], 3),
        "result_completed_samples_per_sec": round(rates["completed"], 3),
        "result_min_latency_ns": int(ordered[0]),
        "result_max_latency_ns": int(ordered[-1]),
        "result_mean_latency_ns": int(ordered.sum() // n),
    }
    values |= {f"result_{p * 100:.2f}_percentile_latency_ns": v for p, v in stats.items()}
    lines = [
        ":::MLLOG " + json.dumps({"key": key, "value": value, "metadata": {"is_error": False}})
        for key, value in values.items()
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _write_summary(path: Path, completed_per_s: float) -> None:
    path.write_text(
        "================================================\n"
        "MLPerf Results Summary\n"
        "================================================\n"
        "SUT name : synthetic\n"
        "Scenario : Server\n"
        "Mode     : PerformanceOnly\n"
        f"Completed samples per second    : {completed_per_s:.2f}\n"
        "Result is : VALID\n",
        encoding="utf-8",
    )


if __name__ == "__main__":
    write_synthetic_run(Path(sys.argv[1]), int(sys.argv[2]))
