"""How fast the HTTP adapters are, against a local token server sharing this machine.

    python -m benchmarks.http_adapters [--quick] [--rate 2000] [--duration 20]

Starts ``benchmarks._token_server`` (TTFT 20 ms, 5 ms per token, 16 tokens) in its own process
on 127.0.0.1, then runs each client in a fresh process of its own, one after the other:

1. Client capacity, closed loop, ``GET /fast`` with 64 requests in flight: aiohttp, httpx (when
   it is installed) and asyncgen's own pool (``HttpSUT``) — requests per second and client CPU
   per request. This is how the adapters' HTTP client was chosen.
2. Streaming at a Poisson ``--rate``: a bare aiohttp client sending the same requests (reads
   the stream, stamps the first chunk) against ``asyncgen.run_test`` with ``OpenAISUT`` in the
   Server scenario with token latencies. Reported: achieved rate, TTFT p50 against the
   server's true TTFT p50 (its own clock, request read to first token written), client CPU
   per request and its ratio to bare aiohttp. asyncgen runs three times, once per pacing mode
   of its clock: precise (polls through the last milliseconds before each arrival, so at this
   rate it fills a core whatever the SUT costs), loop timers only (``-timer``, as the bare
   client waits) and a kernel high-resolution timer (``-hrtimer``).
3. The same for the generic ``HttpSUT`` on the non-streaming ``/generate`` endpoint, latency
   p50 against the server's true response time.

On a machine with two or more CPUs the server is pinned to the last CPU and each client to the
first, so they share the machine without stealing each other's core. Results go to
``benchmarks/results/http_adapters.json`` and a table on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Coroutine
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

RESULTS = Path(__file__).parent / "results" / "http_adapters.json"
TARGETS = {"achieved_fraction": 0.99, "ttft_p50_error_ms": 1.0, "cpu_ratio": 1.3}
PROMPT = {"prompt": "Tell me a story", "max_tokens": 16}
CAPACITY_IN_FLIGHT = 64


# -- the server ------------------------------------------------------------------------------


class TokenServer:
    """The token server in a child process; stops when the benchmark does."""

    def __init__(self, cpu: int | None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks._token_server", "--port", "0"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.port = int(self.proc.stdout.readline().split()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        if cpu is not None:
            os.sched_setaffinity(self.proc.pid, {cpu})

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=30) as response:
            return json.loads(response.read())

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def server_truth(server: TokenServer) -> dict[str, float]:
    stats = server.get("/stats")
    first, total = np.array(stats["first_ns"]), np.array(stats["total_ns"])
    return {
        "requests": int(first.size),
        "ttft_p50_ms": float(np.median(first) / 1e6) if first.size else 0.0,
        "total_p50_ms": float(np.median(total) / 1e6) if total.size else 0.0,
    }


# -- clients (each runs in its own process) ---------------------------------------------------


def reset(url: str) -> None:
    """Clear the server's timing record."""
    with urllib.request.urlopen(url + "/reset", timeout=30) as response:
        response.read()


def poisson_offsets(rate: float, duration_s: float, seed: int = 7) -> list[float]:
    rng, t, offsets = random.Random(seed), 0.0, []
    while True:
        t += rng.expovariate(rate)
        if t >= duration_s:
            return offsets
        offsets.append(t)


async def bare_aiohttp(url: str, rate: float, duration_s: float, stream: bool) -> dict[str, Any]:
    """The baseline: aiohttp sending the same requests on a Poisson schedule, nothing more."""
    import aiohttp  # noqa: PLC0415 - clients import only what they measure

    path = "/v1/completions" if stream else "/generate"
    body = json.dumps({**PROMPT, "stream": stream, "stream_options": {"include_usage": True}})
    headers = {"Content-Type": "application/json"}
    offsets = poisson_offsets(rate, duration_s)
    ttft: list[int] = []
    errors = 0
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(scheduled: int) -> None:
            nonlocal errors
            try:
                async with session.post(url + path, data=body, headers=headers) as response:
                    first = 0
                    async for _ in response.content.iter_any():
                        first = first or time.perf_counter_ns()
                    ttft.append(first - scheduled)
            except aiohttp.ClientError:
                errors += 1

        await asyncio.gather(*(one(time.perf_counter_ns()) for _ in range(50)))  # warm up
        ttft.clear()
        await asyncio.to_thread(reset, url)
        cpu0, wait0, start = time.process_time(), runqueue_wait_ns(), time.perf_counter_ns()
        tasks: set[asyncio.Task[None]] = set()
        sent = np.empty(len(offsets), dtype=np.int64)  # when each request was handed to aiohttp
        for k, offset in enumerate(offsets):
            due = start + int(offset * 1e9)
            wait = (due - time.perf_counter_ns()) / 1e9
            if wait > 0:
                await asyncio.sleep(wait)
            sent[k] = time.perf_counter_ns()
            task = asyncio.ensure_future(one(due))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        issued_s = (time.perf_counter_ns() - start) / 1e9
        await asyncio.gather(*tasks)
        cpu, waited = time.process_time() - cpu0, runqueue_wait_ns() - wait0
    done = np.array(ttft)
    return {
        "requests": len(offsets),
        "completed": int(done.size),
        "failed": errors,
        "issue_rate": len(offsets) / issued_s,
        "latency_p50_ms": float(np.median(done) / 1e6),  # first chunk (whole body if not streamed)
        "cpu_us_per_request": cpu / len(offsets) * 1e6,
        "sent_ks": sent_ks(sent - start, rate),
        "runqueue_wait_ms": waited / 1e6,
    }


def runqueue_wait_ns() -> int:
    """How long this thread has waited for a CPU while runnable (Linux schedstat; else 0): the
    time other processes took from a measured client."""
    try:
        return int(Path("/proc/thread-self/schedstat").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def sent_ks(sent_ns: np.ndarray, rate: float) -> float:
    """KS D of the gaps between send times against the exponential at ``rate`` (asyncgen's
    own computation, imported once the measured part is over)."""
    from asyncgen._metrics.fidelity import ProcessGaps, gap_probabilities, ks_uniform  # noqa: PLC0415
    from asyncgen._plan.arrivals import ArrivalProcess  # noqa: PLC0415

    return ks_uniform(gap_probabilities(ProcessGaps(ArrivalProcess(rate_qps=rate)), sent_ns))


class TimerClock:
    """Waits on loop timers alone, like the bare client's ``asyncio.sleep``, but never returns
    before the deadline (a timer that fires early is followed by another of at least a tick).

    asyncgen's default clock polls through the last milliseconds before each arrival to issue
    on time; at 2000 arrivals a second that is always, so the process uses a whole core
    whatever its SUT costs. Runs with timers only measure the CPU that the work itself takes.
    asyncgen's own ``MonotonicClock(precise=False)`` is used where it exists.
    """

    def now_ns(self) -> int:
        return time.perf_counter_ns()

    async def sleep_until(self, deadline_ns: int) -> None:
        while (remaining_ns := deadline_ns - time.perf_counter_ns()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(max(remaining_ns, 1_000_000) / 1e9)


def paced_clock(mode: str) -> Any:
    """asyncgen's clock in ``mode`` ("precise", "timer" or "hrtimer")."""
    from asyncgen import MonotonicClock  # noqa: PLC0415

    try:
        return MonotonicClock(mode)  # type: ignore[arg-type]
    except TypeError:  # an asyncgen whose clock knows only precise=True/False
        return MonotonicClock(precise=True) if mode == "precise" else TimerClock()


async def asyncgen_adapter(
    url: str,
    rate: float,
    duration_s: float,
    stream: bool,
    mode: str = "precise",
    **workload: Any,
) -> dict[str, Any]:
    """``asyncgen.run_test`` in the Server scenario through ``OpenAISUT`` or ``HttpSUT``;
    ``workload`` sets asyncgen's arrival options (``server_arrival``, ...)."""
    import asyncgen  # noqa: PLC0415
    from asyncgen.http import HttpSUT, OpenAISUT, Payload  # noqa: PLC0415

    class Prompts:
        name = "prompts"
        total_sample_count = performance_sample_count = 1024

        def __init__(self) -> None:
            self.payloads = [Payload(json={**PROMPT, "n": i}) for i in range(1024)]
            self.generic = [Payload(path="/generate", json=p.json) for p in self.payloads]

        def payload(self, index: int) -> Payload:
            return self.payloads[index] if stream else self.generic[index]

        async def load_samples(self, indices: object) -> None:
            """In memory."""

        async def unload_samples(self, indices: object) -> None:
            """In memory."""

    qsl = Prompts()
    sut = OpenAISUT(url, qsl, include_usage=True) if stream else HttpSUT(url, qsl)
    settings = asyncgen.TestSettings(
        scenario=asyncgen.TestScenario.Server,
        mode=asyncgen.TestMode.PerformanceOnly,
        server_target_qps=rate,
        min_duration_ms=int(duration_s * 1000),
        min_query_count=1,
        use_token_latencies=stream,
        server_target_latency_ns=10**9,
        ttft_latency=10**9,
        tpot_latency=10**9,
        **workload,
    )
    with tempfile.TemporaryDirectory() as outdir:
        log = asyncgen.LogSettings(log_output=asyncgen.LogOutputSettings(outdir=outdir))
        async with sut:  # warm the pool up with the same requests, untimed
            warm = asyncgen.TestSettings(
                scenario=asyncgen.TestScenario.Offline, mode=asyncgen.TestMode.PerformanceOnly,
                min_query_count=200, min_duration_ms=0, offline_expected_qps=200,
            )  # fmt: skip
            await asyncgen.run_test(sut, qsl, warm, log_settings=log, audit_config=None)
            await asyncio.to_thread(reset, url)
            cpu0, wait0 = time.process_time(), runqueue_wait_ns()
            result = await asyncgen.run_test(
                sut,
                qsl,
                settings,
                log_settings=log,
                audit_config=None,
                clock=paced_clock(mode),
            )
            cpu, waited = time.process_time() - cpu0, runqueue_wait_ns() - wait0
    summary = result.summary
    assert summary is not None
    issued = summary.result.queries_issued
    first = summary.first_token_latency
    lags = result.issue_lag.percentiles_ns
    return {
        "requests": int(issued),
        "completed": int(summary.sample_count),
        "failed": sum(result.failures.values()),
        "completed_samples_per_second": summary.rates.completed_samples_per_second,
        "scheduled_samples_per_second": summary.rates.scheduled_samples_per_second,
        "latency_p50_ms": summary.sample_latency.percentiles_ns[0.5] / 1e6,
        "ttft_p50_ms": first.percentiles_ns[0.5] / 1e6 if first else None,
        "tpot_p50_ms": (
            summary.time_per_output_token.percentiles_ns[0.5] / 1e6
            if summary.time_per_output_token
            else None
        ),
        "issue_lag_p50_us": lags[0.5] / 1e3,
        "issue_lag_p99_us": lags[0.99] / 1e3,
        "cpu_us_per_request": cpu / issued * 1e6,
        "runqueue_wait_ms": waited / 1e6,
        **_fidelity(result),
    }


def _fidelity(result: Any) -> dict[str, float]:
    """The sent and planned KS D from the run's health (asyncgens that report it)."""
    found = getattr(result.health, "fidelity", None)
    if found is None:
        return {}
    return {"sent_ks": found.ks_statistic, "planned_ks": found.planned_ks_statistic}


async def trace_replay(url: str, rate: float, duration_s: float) -> dict[str, Any]:
    """``openai-hrtimer`` replaying a trace of the bare client's own Poisson arrival times
    (``poisson_offsets``, in milliseconds to the microsecond), written for the run."""
    with tempfile.TemporaryDirectory() as folder:
        trace = Path(folder) / "trace.jsonl"
        lines = (
            f'{{"timestamp": {offset * 1e3:.3f}}}\n' for offset in poisson_offsets(rate, duration_s)
        )
        trace.write_text("".join(lines))
        return await asyncgen_adapter(
            url,
            rate,
            duration_s,
            True,
            mode="hrtimer",
            server_arrival="trace",
            server_trace_path=str(trace),
        )


async def capacity(url: str, client: str, requests: int) -> dict[str, Any]:
    """Closed loop: ``CAPACITY_IN_FLIGHT`` requests always in flight to ``GET /fast``."""
    remaining = requests
    if client == "asyncgen":
        return await _capacity_asyncgen(url, requests)
    if client == "aiohttp":
        import aiohttp  # noqa: PLC0415

        session: Any = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))

        async def get() -> None:
            async with session.get(url + "/fast") as response:
                await response.read()

    else:
        import httpx  # noqa: PLC0415

        limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
        session = httpx.AsyncClient(limits=limits)

        async def get() -> None:
            response = await session.get(url + "/fast")
            await response.aread()

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await get()

    async with session:
        await asyncio.gather(*(get() for _ in range(CAPACITY_IN_FLIGHT)))  # warm up
        cpu0, wall0 = time.process_time(), time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CAPACITY_IN_FLIGHT)))
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return {"requests_per_s": requests / wall, "cpu_us_per_request": cpu / requests * 1e6}


async def _capacity_asyncgen(url: str, requests: int) -> dict[str, Any]:
    from asyncgen.http import HttpSUT, Payload  # noqa: PLC0415

    class Source:
        fast = Payload(method="GET", path="/fast")

        def payload(self, index: int) -> Payload:
            return self.fast

    remaining = requests
    done = asyncio.get_running_loop().create_future()
    issuing: set[asyncio.Future[None]] = set()

    class Sample:  # the closed loop: each answer issues the next request
        index = 0

        def complete(self, data: bytes = b"", n_tokens: int | None = None) -> None:
            nonlocal remaining
            remaining -= 1
            if remaining >= CAPACITY_IN_FLIGHT:
                future = asyncio.ensure_future(sut.issue_query([self]))  # type: ignore[list-item]
                issuing.add(future)
                future.add_done_callback(issuing.discard)
            elif remaining == 0:
                done.set_result(None)

        def fail(self, reason: str) -> None:
            raise RuntimeError(reason)

    async with HttpSUT(url, Source()) as sut:
        warm = asyncio.get_running_loop().create_future()
        count = CAPACITY_IN_FLIGHT

        class Warm(Sample):
            def complete(self, data: bytes = b"", n_tokens: int | None = None) -> None:
                nonlocal count
                count -= 1
                if count == 0:
                    warm.set_result(None)

        await sut.issue_query([Warm() for _ in range(CAPACITY_IN_FLIGHT)])  # type: ignore[misc]
        await warm
        cpu0, wall0 = time.process_time(), time.perf_counter()
        await sut.issue_query([Sample() for _ in range(CAPACITY_IN_FLIGHT)])  # type: ignore[misc]
        await done
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return {"requests_per_s": requests / wall, "cpu_us_per_request": cpu / requests * 1e6}


CLIENTS: dict[str, Callable[..., Coroutine[Any, Any, dict[str, Any]]]] = {
    "bare-stream": lambda url, rate, d: bare_aiohttp(url, rate, d, stream=True),
    "bare-generate": lambda url, rate, d: bare_aiohttp(url, rate, d, stream=False),
    "openai": lambda url, rate, d: asyncgen_adapter(url, rate, d, stream=True),
    "http": lambda url, rate, d: asyncgen_adapter(url, rate, d, stream=False),
    "openai-timer": lambda url, rate, d: asyncgen_adapter(url, rate, d, True, mode="timer"),
    "http-timer": lambda url, rate, d: asyncgen_adapter(url, rate, d, False, mode="timer"),
    "openai-hrtimer": lambda url, rate, d: asyncgen_adapter(url, rate, d, True, mode="hrtimer"),
    "http-hrtimer": lambda url, rate, d: asyncgen_adapter(url, rate, d, False, mode="hrtimer"),
    # asyncgen's other arrival processes (benchmarks/arrival_processes.py), on the hrtimer clock
    "openai-gamma": lambda url, rate, d: asyncgen_adapter(
        url, rate, d, True, mode="hrtimer", server_arrival="gamma", server_burstiness=0.5
    ),
    "openai-trace": trace_replay,
}


def client_main(args: argparse.Namespace) -> None:
    """Run one client in this process and print its result as one JSON line."""
    import uvloop  # noqa: PLC0415

    if args.client.startswith("capacity-"):
        client = args.client.removeprefix("capacity-")
        requests = args.requests if client != "httpx" else args.requests // 10  # it is slow
        coro = capacity(args.url, client, requests)
    else:
        coro = CLIENTS[args.client](args.url, args.rate, args.duration)
    print(json.dumps(uvloop.run(coro)), flush=True)


# -- the driver ------------------------------------------------------------------------------


def busy_cpu_seconds() -> float:
    """CPU time the whole machine has spent busy, from /proc/stat (0.0 where there is none)."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return 0.0
    ticks = [int(f) for f in fields]
    idle = ticks[3] + ticks[4]  # idle, iowait
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def measured(name: str, server: TokenServer, args: argparse.Namespace, cpu: int | None) -> Any:
    """One paced client run, with the server's truth and the CPU other processes took."""
    server.get("/reset")
    server0, busy0, children0 = server.cpu_seconds(), busy_cpu_seconds(), _children_cpu()
    result = run_client(name, server, args, cpu)
    server_cpu = server.cpu_seconds() - server0
    ours = server_cpu + _children_cpu() - children0
    result["server_cpu_s"] = server_cpu
    # Anything else that ran meanwhile competed for the two cores: report it, so a disturbed
    # measurement can be told from a real one (0.1-0.3 s is this driver and the kernel).
    result["other_processes_cpu_s"] = max(busy_cpu_seconds() - busy0 - ours, 0.0)
    result["server_truth"] = server_truth(server)
    return result


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_client(name: str, server: TokenServer, args: argparse.Namespace, cpu: int | None) -> Any:
    command = [
        sys.executable, "-m", "benchmarks.http_adapters", "--client", name, "--url", server.url,
        "--rate", str(args.rate), "--duration", str(args.duration),
        "--requests", str(args.requests),
    ]  # fmt: skip
    preexec = (lambda: os.sched_setaffinity(0, {cpu})) if cpu is not None else None
    out = subprocess.run(
        command, capture_output=True, text=True, preexec_fn=preexec, check=False, timeout=600
    )
    if out.returncode != 0:
        return {"error": (out.stderr or out.stdout).strip().splitlines()[-1:]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def has_httpx() -> bool:
    try:
        import httpx  # noqa: F401, PLC0415
    except ImportError:
        return False
    return True


def compare(name: str, ours: dict[str, Any], bare: dict[str, Any]) -> dict[str, Any]:
    """One asyncgen run against the three target figures."""
    truth = ours["server_truth"]
    streamed = ours.get("ttft_p50_ms") is not None
    reported = ours["ttft_p50_ms"] if streamed else ours["latency_p50_ms"]
    true = truth["ttft_p50_ms"] if streamed else truth["total_p50_ms"]
    # What the SUT carried of the load it was offered: the plan's own Poisson rate differs
    # from the target by chance (about 0.5% for 40,000 arrivals), which is not the SUT's doing.
    achieved = ours["completed_samples_per_second"] / ours["scheduled_samples_per_second"]
    ratio = ours["cpu_us_per_request"] / bare["cpu_us_per_request"]
    error_ms = reported - true
    return {
        "run": name,
        "achieved_fraction": achieved,
        "completed_per_s_vs_target": ours["completed_samples_per_second"] / ours["target"],
        "reported_p50_ms": reported,
        "server_true_p50_ms": true,
        "p50_error_ms": error_ms,
        "cpu_ratio_to_bare_aiohttp": ratio,
        "meets": {
            "rate": achieved >= TARGETS["achieved_fraction"] and not ours["failed"],
            "p50": abs(error_ms) <= TARGETS["ttft_p50_error_ms"],
            "cpu": ratio <= TARGETS["cpu_ratio"],
        },
    }


def environment(pinned: bool) -> dict[str, Any]:
    versions = {}
    for package in ("aiohttp", "httpx", "uvloop", "numpy"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "pinned": pinned,
        "load_average_at_start": os.getloadavg(),
        "versions": versions,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 s runs, fewer requests")
    parser.add_argument("--rate", type=float, default=2000.0, help="Poisson target, requests/s")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per paced run")
    parser.add_argument("--requests", type=int, default=40_000, help="per capacity run")
    parser.add_argument(
        "--runs",
        help="comma-separated paced runs only, e.g. openai,openai-hrtimer (no capacity runs; "
        "the bare client each needs is added)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--client", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.client:
        client_main(args)
        return
    if args.quick:
        args.duration, args.requests = 3.0, 10_000
    cpus = sorted(os.sched_getaffinity(0))
    pinned = len(cpus) >= 2
    client_cpu, server_cpu = (cpus[0], cpus[-1]) if pinned else (None, None)
    report: dict[str, Any] = {
        "environment": environment(pinned),
        "server": {"ttft_ms": 20, "tpot_ms": 5, "tokens": 16},
        "rate": args.rate,
        "duration_s": args.duration,
        "targets": TARGETS,
    }
    server = TokenServer(server_cpu)
    try:
        clients = ["asyncgen", "aiohttp"] + (["httpx"] if has_httpx() else [])
        if args.runs:
            clients = []
        report["capacity"] = {
            c: run_client(f"capacity-{c}", server, args, client_cpu) for c in clients
        }
        runs: dict[str, Any] = {}
        streamed = ("openai", "openai-timer", "openai-hrtimer", "openai-gamma", "openai-trace")
        generic = ("http", "http-timer", "http-hrtimer")
        if args.runs:
            wanted = set(args.runs.split(","))
            streamed = tuple(n for n in streamed if n in wanted)
            generic = tuple(n for n in generic if n in wanted)
        else:  # the other arrival processes are benchmarks/arrival_processes.py's
            streamed = streamed[:3]
        order = ("bare-stream",) * bool(streamed) + streamed
        order += ("bare-generate",) * bool(generic) + generic
        for name in order:
            runs[name] = measured(name, server, args, client_cpu)
        report["runs"] = runs
        pairs = [(n, "bare-stream") for n in streamed]
        pairs += [(n, "bare-generate") for n in generic]
        report["verdicts"] = [
            compare(n, {**runs[n], "target": args.rate}, runs[b])
            for n, b in pairs
            if "error" not in runs[n] and "error" not in runs[b]
        ]
    finally:
        server.close()
    report["environment"]["load_average_at_end"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print_report(report)
    print(f"\nwritten to {args.out}")


def print_report(report: dict[str, Any]) -> None:
    print(f"client capacity, closed loop, {CAPACITY_IN_FLIGHT} in flight, GET /fast:")
    for client, figures in report["capacity"].items():
        if "error" in figures:
            print(f"  {client:10} error: {figures['error']}")
            continue
        print(
            f"  {client:10} {figures['requests_per_s']:9.0f} req/s "
            f"{figures['cpu_us_per_request']:7.1f} us CPU/request"
        )
    print(f"\nPoisson {report['rate']:.0f} req/s for {report['duration_s']:g} s:")
    for name, run in report["runs"].items():
        if "error" in run:
            print(f"  {name:14} error: {run['error']}")
            continue
        truth = run["server_truth"]
        rate = run.get("completed_samples_per_second", run.get("issue_rate", 0.0))
        p50 = run.get("ttft_p50_ms") or run["latency_p50_ms"]
        print(
            f"  {name:14} {rate:7.0f} req/s  p50 {p50:7.2f} ms "
            f"(server {truth['ttft_p50_ms']:.2f} / {truth['total_p50_ms']:.2f} ms)  "
            f"{run['cpu_us_per_request']:6.1f} us CPU/req  failed {run['failed']}  "
            f"others {run['other_processes_cpu_s']:.1f} s CPU"
        )
    print("\nagainst the targets (rate >= 99% of the offered load, p50 within 1 ms, CPU <= x1.3):")
    if report["duration_s"] < 10:
        print("  (short runs: the last responses' 95 ms alone cost ~3% of a 3 s run's rate)")
    for verdict in report["verdicts"]:
        meets = ", ".join(f"{k} {'ok' if v else 'MISSED'}" for k, v in verdict["meets"].items())
        print(
            f"  {verdict['run']:13} achieved {verdict['achieved_fraction']:.1%}, "
            f"p50 error {verdict['p50_error_ms']:+.2f} ms, "
            f"CPU x{verdict['cpu_ratio_to_bare_aiohttp']:.2f} of bare aiohttp -> {meets}"
        )


if __name__ == "__main__":
    main()
