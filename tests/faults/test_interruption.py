"""Cancelling the task that runs ``run_test``, and SIGINT/SIGTERM to the CLI: the run stops
within a second, the files are complete and parse, and the summary and results.json say the
run was interrupted and is INVALID; the CLI exits non-zero."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import asyncgen
from asyncgen import TestMode, TestScenario
from asyncgen._output.verify import verify
from asyncgen.sut import QuerySample
from tests.faults._support import (
    ScriptedSUT,
    assert_consistent,
    detail_errors,
    fast_settings,
    final_verdict,
    log_to,
    results_json,
    summary_text,
)
from tests.helpers import ListQSL

REPO = Path(__file__).resolve().parents[2]


class _Answers:
    """Answers the first samples at once and holds every later one: in flight at the stop."""

    def __init__(self) -> None:
        self.seen = 0

    async def answer(self, sample: QuerySample) -> None:
        self.seen += 1
        if self.seen > 3:
            await asyncio.Event().wait()
        sample.complete(b"\x03")


# A prompt stop takes a fraction of a second; without one the run would go on for a minute.
# The bound tells the two apart with room for a busy machine's stalls.
STOPS_WITHIN_S = 10.0


@pytest.mark.parametrize("scenario", [TestScenario.Server, TestScenario.SingleStream])
@pytest.mark.parametrize("mode", [TestMode.PerformanceOnly, TestMode.AccuracyOnly])
@pytest.mark.asyncio
async def test_cancelling_run_test_stops_within_a_second(
    tmp_path: Path, scenario: TestScenario, mode: TestMode
) -> None:
    sut = ScriptedSUT(_Answers().answer)
    # a minute of load and a minute of drain: only the cancellation can end it in time
    settings = fast_settings(
        scenario,
        mode,
        min_duration_ms=60_000,
        min_query_count=10**6,
        drain_timeout_ms=60_000,
    )
    task = asyncio.ensure_future(
        asyncgen.run_test(
            sut, ListQSL(), settings, log_settings=log_to(tmp_path), audit_config=None
        )
    )
    while sut.calls < 4:  # noqa: ASYNC110 - queries are flowing, the last one is held
        await asyncio.sleep(0.001)
    cancelled_at = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.monotonic() - cancelled_at < STOPS_WITHIN_S
    sut.cancel_all()
    assert final_verdict(tmp_path) == "INVALID"
    assert "Run interrupted : the run was interrupted (CancelledError)" in summary_text(tmp_path)
    results = results_json(tmp_path)
    assert results["interrupted"] is True and results["valid"] is False
    assert any(e.startswith("Run interrupted") for e in detail_errors(tmp_path))
    assert results["missing_samples"]  # the held samples, named
    assert_consistent(tmp_path)


# A synchronous SUT in a closed loop never makes the loop wait for it: the shaper's own
# yields are what let the signal handler (and the progress lines) run.
RUNS = {
    "Server": ["-s", "Server", "--qps", "500", "--sut", "tests.cli._suts:fast_sut"],
    "SingleStream": ["-s", "SingleStream", "--sut", "tests.cli._suts:synchronous_sut"],
}


@pytest.mark.parametrize("run", list(RUNS))
@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_to_the_cli_stops_the_run_within_a_second(
    tmp_path: Path, signum: signal.Signals, status: int, run: str
) -> None:
    command = [
        sys.executable, "-m", "asyncgen", "run", *RUNS[run],
        "--duration-ms", "60000", "--min-queries", "50", "--progress-interval", "0.05",
        "--outdir", str(tmp_path), "--audit-config", "none",
    ]  # fmt: skip
    with subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as child:
        assert child.stdout is not None
        for line in child.stdout:  # wait until queries are flowing
            if line.startswith("["):
                break
        sent_at = time.monotonic()
        child.send_signal(signum)
        child.communicate(timeout=30)
        stopped_in = time.monotonic() - sent_at
    assert child.returncode == status
    assert stopped_in < STOPS_WITHIN_S, stopped_in
    assert final_verdict(tmp_path) == "INVALID"
    assert results_json(tmp_path)["interrupted"] is True
    assert_consistent(tmp_path)
    verified = subprocess.run(
        [sys.executable, "-m", "asyncgen", "verify", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert verified.returncode == 0, verified.stdout


# A SUT that blocks the loop for BLOCK_S in every call: the scenario is always behind.
BLOCKING = {
    "Server": ["-s", "Server", "--qps", "100", "--sut", "tests.cli._suts:LoopBlockingSUT"],
    "Server-coalesced": [
        "-s", "Server", "--qps", "100", "--set", "server_coalesce_queries=true",
        "--sut", "tests.cli._suts:LoopBlockingSUT",
    ],
    "SingleStream": ["-s", "SingleStream", "--sut", "tests.cli._suts:LoopBlockingSUT"],
}  # fmt: skip
BLOCK_S = 0.5


def _start_blocking(tmp_path: Path, run: str, block_s: float) -> subprocess.Popen[str]:
    command = [
        sys.executable, "-m", "asyncgen", "run", *BLOCKING[run], "--duration-ms", "600000",
        "--progress", "plain", "--progress-interval", "0.05", "--outdir", str(tmp_path),
        "--audit-config", "none",
    ]  # fmt: skip
    child = subprocess.Popen(
        command,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "ASYNCGEN_TEST_BLOCK_S": str(block_s)},
    )
    assert child.stdout is not None
    for line in child.stdout:  # queries are flowing (and blocking)
        if line.startswith("["):
            break
    return child


@pytest.mark.parametrize("run", list(BLOCKING))
def test_ctrl_c_stops_a_loop_blocking_sut_at_the_next_loop_turn(tmp_path: Path, run: str) -> None:
    """The signal is seen during the SUT's block and the run stops when that call returns,
    not a batch of blocking calls later (the shapers yielded every 16 or 64 queries: 32
    blocks, 16 s here, before the first Ctrl-C took effect)."""
    with _start_blocking(tmp_path, run, BLOCK_S) as child:
        sent_at = time.monotonic()
        child.send_signal(signal.SIGINT)
        child.communicate(timeout=60)
        stopped_in = time.monotonic() - sent_at
    assert child.returncode == 130
    assert stopped_in < 6 * BLOCK_S, stopped_in  # the call under way, then the stop
    assert results_json(tmp_path)["interrupted"] is True
    assert_consistent(tmp_path)


def test_a_second_ctrl_c_exits_at_once_leaving_the_files_incomplete(tmp_path: Path) -> None:
    """A SUT blocked for 30 s: the first Ctrl-C waits for the call under way, the second
    ends the process now. The files are left as after SIGKILL, and verify says so."""
    with _start_blocking(tmp_path, "Server", 30.0) as child:
        assert child.stderr is not None
        child.send_signal(signal.SIGINT)
        for line in child.stderr:  # the first was seen, inside the SUT's blocking call
            if "once more to stop at once" in line:
                break
        sent_at = time.monotonic()
        child.send_signal(signal.SIGINT)
        _, stderr = child.communicate(timeout=60)
        stopped_in = time.monotonic() - sent_at
    assert child.returncode == 130
    assert stopped_in < 10, stopped_in  # well inside the 30 s call
    assert "interrupted again by SIGINT: stopped at once" in stderr
    assert "Traceback" not in stderr
    assert not (tmp_path / "mlperf_log_results.json").exists()
    problems = verify(tmp_path)
    assert any("cut short" in p for p in problems), problems
