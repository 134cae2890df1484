"""An Offline run against a local streaming server, with ``asyncgen run``'s default options.

    python -m benchmarks.offline_http [--qps 20000] [--duration-ms 5000] [--uncapped]

Offline issues every sample at once: 110,000 requests for ``--qps 20000 --duration-ms 5000``.
This starts ``benchmarks._token_server`` (TTFT 20 ms, 5 ms per token, 16 tokens, streamed) in
its own process on 127.0.0.1 and runs, in another,

    asyncgen run --scenario Offline --qps Q --duration-ms D --sut URL --adapter openai \\
        --dataset prompts.jsonl --no-trace

plus only where the logs go, plain progress lines and no ``audit.config``: no adapter option
and no run setting, so the adapter's default connection cap decides how many connections
open (the banner says how many), and the default deadlines (``timeout_s``,
``drain_timeout_ms``) hold. The target (issue 15): VALID, at least 100,000 samples, no
connect failures. It reports the verdict, failures per kind, samples per second, latencies,
the connections the server accepted (and the most open at once) and the CPU both sides used.
``--uncapped`` adds the same run with ``-O max_connections=0`` (one connection per request
in flight, the old default) for comparison. On two or more CPUs the server is pinned to the
last and the client to the first. Results go to ``benchmarks/results/offline_http.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.http_adapters import TokenServer, busy_cpu_seconds, environment

RESULTS = Path(__file__).resolve().parent / "results" / "offline_http.json"
PROMPTS = 1024
TARGET = "default options: VALID, at least 100,000 samples, no connect failures"


def target_met(run: dict[str, Any]) -> bool:
    """Whether the default run met ``TARGET`` (issue 15)."""
    return (
        run.get("result") == "VALID"
        and (run.get("samples") or 0) >= 100_000
        and not (run.get("failures") or {}).get("connect")
    )


def write_prompts(folder: Path) -> Path:
    path = folder / "prompts.jsonl"
    path.write_text("".join(json.dumps({"prompt": f"prompt {i}"}) + "\n" for i in range(PROMPTS)))
    return path


def run_cli(
    server: TokenServer, prompts: Path, args: argparse.Namespace, extra: list[str], cpu: int | None
) -> dict[str, Any]:
    """One ``asyncgen run`` in a fresh process; what it printed and wrote, and what it cost."""
    with tempfile.TemporaryDirectory(prefix="offline-http-") as outdir:
        command = [
            sys.executable, "-m", "asyncgen", "run", "--scenario", "Offline",
            "--qps", str(args.qps), "--duration-ms", str(args.duration_ms),
            "--sut", server.url, "--adapter", "openai", "--dataset", str(prompts),
            "--outdir", outdir, "--no-trace", "--progress", "plain", "--progress-interval", "5",
            "--audit-config", "none", *extra,
        ]  # fmt: skip
        preexec = (lambda: os.sched_setaffinity(0, {cpu})) if cpu is not None else None
        server_cpu0, busy0 = server.cpu_seconds(), busy_cpu_seconds()
        started = time.perf_counter()
        done = subprocess.run(
            command, capture_output=True, text=True, preexec_fn=preexec, check=False, timeout=900
        )
        wall_s = time.perf_counter() - started
        server_cpu = server.cpu_seconds() - server_cpu0
        results_path = Path(outdir) / "mlperf_log_results.json"
        results = json.loads(results_path.read_text()) if results_path.exists() else None
        reasons = failure_reasons(Path(outdir) / "mlperf_log_detail.txt")
    banner = [line.strip() for line in done.stdout.splitlines() if "connections:" in line]
    outcome: dict[str, Any] = {
        "command": " ".join(command[3:]).replace(outdir, "OUT"),
        "exit_status": done.returncode,
        "connections_banner": banner[0] if banner else None,
        "wall_s": round(wall_s, 2),
        "server_cpu_s": round(server_cpu, 2),
        "machine_busy_cpu_s": round(busy_cpu_seconds() - busy0, 2),
        "failure_examples": reasons,
    }
    if results is None:
        outcome["error"] = (done.stderr or done.stdout).strip().splitlines()[-3:]
        return outcome
    summary = results["summary"] or {}
    latency = summary.get("sample_latency", {}).get("percentiles_ns", {})
    outcome.update(
        result=results["result"],
        reasons=results["reasons"],
        failures=results["failures"],
        samples=summary.get("sample_count"),
        samples_per_second=summary.get("rates", {}).get("samples_per_second"),
        latency_p50_s=_seconds(latency.get("50.00")),
        latency_p99_s=_seconds(latency.get("99.00")),
    )
    return outcome


def failure_reasons(detail: Path, limit: int = 5) -> dict[str, int]:
    """The first ``limit`` distinct reasons samples failed for (sample ids removed), counted."""
    counts: dict[str, int] = {}
    if not detail.exists():
        return counts
    for line in detail.read_text(errors="replace").splitlines():
        if "Sample failed" not in line:
            continue
        reason = json.loads(line.removeprefix(":::MLLOG "))["value"].split(" reason: ", 1)[-1]
        if reason in counts or len(counts) < limit:
            counts[reason] = counts.get(reason, 0) + 1
    return counts


def _seconds(ns: int | None) -> float | None:
    return None if ns is None else round(ns / 1e9, 3)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qps", type=float, default=20_000.0, help="offline_expected_qps")
    parser.add_argument("--duration-ms", type=int, default=5000, help="min_duration_ms")
    parser.add_argument("--uncapped", action="store_true", help="also run max_connections=0")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    cpus = sorted(os.sched_getaffinity(0))
    pinned = len(cpus) >= 2
    client_cpu, server_cpu = (cpus[0], cpus[-1]) if pinned else (None, None)
    report: dict[str, Any] = {
        "environment": environment(pinned),
        "open_file_limit": _open_file_limit(),
        "server": {"ttft_ms": 20, "tpot_ms": 5, "tokens": 16, "stream": True},
        "runs": {},
    }
    variants: dict[str, list[str]] = {"default": []} | (
        {"uncapped": ["-O", "max_connections=0"]} if args.uncapped else {}
    )
    with tempfile.TemporaryDirectory(prefix="offline-http-data-") as data:
        prompts = write_prompts(Path(data))
        for name, extra in variants.items():
            server = TokenServer(server_cpu)  # a fresh server: no connections left over
            try:
                report["runs"][name] = run_cli(server, prompts, args, extra, client_cpu)
                stats = server.get("/stats")  # this request's own connection counts too
                report["runs"][name].update(
                    server_requests=len(stats["total_ns"]),
                    server_connections=stats["connections"],
                    server_peak_open_connections=stats["peak_open"],
                )
            finally:
                server.close()
    report["environment"]["load_average_at_end"] = os.getloadavg()
    report["target"] = TARGET
    report["target_met"] = target_met(report["runs"]["default"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    for name, run in report["runs"].items():
        print(f"{name}: {json.dumps(run, indent=2)}")
    print(f"\ntarget ({TARGET}): {'met' if report['target_met'] else 'NOT MET'}")
    print(f"written to {args.out}")


def _open_file_limit() -> list[int]:
    return list(resource.getrlimit(resource.RLIMIT_NOFILE))


if __name__ == "__main__":
    main()
