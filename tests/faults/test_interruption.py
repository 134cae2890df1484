"""Cancelling the task that runs ``run_test``, and SIGINT/SIGTERM to the CLI: the run stops
within a second, the files are complete and parse, and the summary and results.json say the
run was interrupted and is INVALID; the CLI exits non-zero."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import asyncgen
from asyncgen import TestMode, TestScenario
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
