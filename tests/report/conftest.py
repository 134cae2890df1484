"""Runs shared by the report tests: small real runs of the engine, made once per session."""

from __future__ import annotations

import asyncio
from pathlib import Path

import matplotlib
import pytest

import asyncgen

matplotlib.use("Agg")

REFERENCE_LOGS = Path(__file__).resolve().parents[3] / "shared" / "reference" / "loadgen-logs"


def reference_folder(*parts: str) -> Path:
    folder = REFERENCE_LOGS.joinpath(*parts)
    if not folder.is_dir():
        pytest.skip(f"reference logs not found: {folder}")
    return folder


def _log(outdir: Path, *, trace: bool) -> asyncgen.LogSettings:
    return asyncgen.LogSettings(
        log_output=asyncgen.LogOutputSettings(outdir=str(outdir)), enable_trace=trace
    )


def _simulated_sut() -> asyncgen.SimulatedSUT:
    return asyncgen.SimulatedSUT(
        asyncgen.ServiceTime(distribution="lognormal", mean_ms=1.0), concurrency=8
    )


def _qsl() -> asyncgen.SimulatedQSL:
    return asyncgen.SimulatedQSL(total_sample_count=256, performance_sample_count=64)


@pytest.fixture(scope="session")
def server_run(tmp_path_factory: pytest.TempPathFactory) -> asyncgen.TestResult:
    """A Server run at 1000 QPS for 0.4 s, with a trace."""
    settings = asyncgen.TestSettings(
        scenario=asyncgen.TestScenario.Server,
        mode=asyncgen.TestMode.PerformanceOnly,
        server_target_qps=1000,
        server_target_latency_ns=20_000_000,
        min_duration_ms=400,
        min_query_count=100,
    )
    outdir = tmp_path_factory.mktemp("server")
    return asyncgen.run(_simulated_sut(), _qsl(), settings, log_settings=_log(outdir, trace=True))


@pytest.fixture(scope="session")
def server_run_b(tmp_path_factory: pytest.TempPathFactory) -> asyncgen.TestResult:
    """The same load against a SUT that takes 20 ms per sample: far slower, whatever the
    machine's load does to the fast one."""
    settings = asyncgen.TestSettings(
        scenario=asyncgen.TestScenario.Server,
        mode=asyncgen.TestMode.PerformanceOnly,
        server_target_qps=1000,
        server_target_latency_ns=20_000_000,
        min_duration_ms=400,
        min_query_count=100,
    )
    sut = asyncgen.SimulatedSUT(
        asyncgen.ServiceTime(distribution="constant", mean_ms=20.0), concurrency=64
    )
    outdir = tmp_path_factory.mktemp("server_slow")
    return asyncgen.run(sut, _qsl(), settings, log_settings=_log(outdir, trace=True))


@pytest.fixture(scope="session")
def single_stream_untraced(tmp_path_factory: pytest.TempPathFactory) -> asyncgen.TestResult:
    """A SingleStream run without a trace: the report must fall back to statistics."""
    settings = asyncgen.TestSettings(
        scenario=asyncgen.TestScenario.SingleStream,
        mode=asyncgen.TestMode.PerformanceOnly,
        min_duration_ms=150,
        min_query_count=100,
    )
    outdir = tmp_path_factory.mktemp("single_stream")
    return asyncgen.run(_simulated_sut(), _qsl(), settings, log_settings=_log(outdir, trace=False))


@pytest.fixture(scope="session")
def token_run(tmp_path_factory: pytest.TempPathFactory) -> asyncgen.TestResult:
    """A Server token-mode run: first token after ~1 ms, five tokens per sample."""

    async def answer(sample: asyncgen.QuerySample) -> tuple[bytes, int]:
        await asyncio.sleep(0.001)
        sample.first_token(b"t")
        await asyncio.sleep(0.001)
        return b"done", 5

    settings = asyncgen.TestSettings(
        scenario=asyncgen.TestScenario.Server,
        mode=asyncgen.TestMode.PerformanceOnly,
        server_target_qps=500,
        min_duration_ms=300,
        min_query_count=100,
        use_token_latencies=True,
    )
    outdir = tmp_path_factory.mktemp("tokens")
    sut = asyncgen.FunctionSUT(answer, name="TokenSUT")
    return asyncgen.run(sut, _qsl(), settings, log_settings=_log(outdir, trace=True))
