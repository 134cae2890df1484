"""``python -m asyncgen run`` end to end in a child process: exit statuses, plain progress on
a pipe, and Ctrl-C / SIGTERM stopping a run that still leaves complete, parseable files."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import read_detail

REPO = Path(__file__).resolve().parents[2]
TIMEOUT_S = 60


def _command(tmp_path: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "asyncgen", "run", "-s", "Server", "--qps", "500",
        "--duration-ms", "250", "--min-queries", "50",
        "--set", "server_target_latency_percentile=0.9", "--latency-ms", "10000",
        "--outdir", str(tmp_path), "--audit-config", "none", *extra,
    ]  # fmt: skip


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, timeout=TIMEOUT_S, check=False
    )


def test_valid_run_exits_0_and_logs_plain_progress(tmp_path: Path) -> None:
    done = _run(
        _command(tmp_path, "--sut", "tests.cli._suts:fast_sut", "--progress-interval", "0.05")
    )
    assert done.returncode == 0, done.stderr
    assert re.search(r"^\[\s*\d+\.\d s / 0\.\d s\] performance: issued \d+/\d+", done.stdout, re.M)
    assert "\x1b[" not in done.stdout  # a pipe gets no terminal control sequences
    assert re.search(r"^result\s+VALID\s*$", done.stdout, re.MULTILINE)
    assert json.loads((tmp_path / "mlperf_log_results.json").read_text())["valid"] is True


def test_invalid_run_exits_1(tmp_path: Path) -> None:
    done = _run(_command(tmp_path, "--sut", "tests.cli._suts:slow_sut", "--latency-ms", "1"))
    assert done.returncode == 1, done.stderr
    assert re.search(r"^result\s+INVALID\s*$", done.stdout, re.MULTILINE)


def test_error_exits_2(tmp_path: Path) -> None:
    done = _run(_command(tmp_path, "--sut", "tests.cli._suts:fast_sut", "--set", "qps=5"))
    assert done.returncode == 2
    assert done.stderr.startswith("asyncgen run: error: --set qps: no such setting")
    assert done.stdout == ""


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_stops_the_run_and_the_files_parse(
    tmp_path: Path, signum: signal.Signals, status: int
) -> None:
    command = _command(tmp_path, "--sut", "tests.cli._suts:fast_sut", "--progress-interval", "0.05")
    command[command.index("250")] = "60000"  # a minute: only the signal can end it in time
    with subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as child:
        assert child.stdout is not None
        for line in child.stdout:  # wait until queries are flowing
            if line.startswith("["):
                break
        child.send_signal(signum)
        out, err = child.communicate(timeout=TIMEOUT_S)
    assert child.returncode == status, err
    assert f"interrupted by {signum.name}" in err
    assert "result " not in out  # no verdict for a run that did not finish
    detail = read_detail(tmp_path / "mlperf_log_detail.txt")  # every line parses
    errors = [e["value"] for e in detail if e["metadata"]["is_error"]]
    assert any(str(e).startswith("Run interrupted") for e in errors)
    json.loads((tmp_path / "mlperf_log_trace.json").read_text())
    json.loads((tmp_path / "mlperf_log_accuracy.json").read_text())
    summary = (tmp_path / "mlperf_log_summary.txt").read_text()
    assert "ERROR encountered" in summary or "ERRORS encountered" in summary
