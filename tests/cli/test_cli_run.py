"""``asyncgen run`` in-process: short real runs, exit statuses, output modes, error messages."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import structlog

from asyncgen import RunError
from asyncgen.__main__ import main
from asyncgen._cli.progress_view import fmt_ms
from asyncgen._cli.run import EXIT_ERROR, _error
from tests.cli import _suts

PROGRESS_LINE = re.compile(
    r"^\[\s*\d+\.\d s / \d+\.\d s\] performance: issued \d+/\d+ queries, completed \d+ samples, "
    r"in flight \d+, [\d.]+/500 QPS, latency p50 \S+ ms p99 \S+ ms, issue lag p99 \S+ ms$",
    re.MULTILINE,
)


def _args(tmp_path: Path, *extra: str, sut: str = "tests.cli._suts:fast_sut") -> list[str]:
    """A short Server run that is VALID with a fast SUT even on a busy machine: judged at the
    90th percentile (early stopping needs few queries) against a 10 s bound, far above what
    a busy machine's stalls (half a second seen) add to a millisecond."""
    return [
        "run", "--scenario", "Server", "--qps", "500", "--duration-ms", "250",
        "--min-queries", "50", "--set", "server_target_latency_percentile=0.9",
        "--latency-ms", "10000",
        "--sut", sut, "--outdir", str(tmp_path), "--audit-config", "none", *extra,
    ]  # fmt: skip


def _rows(stdout: str) -> dict[str, str]:
    """The result table's rows (label, value), by label."""
    rows = {}
    for line in stdout.splitlines():
        match = re.match(r"^(\S+(?: \S+)*?)\s{3,}(\S.*?)\s*$", line)
        if match:
            rows.setdefault(match[1], match[2])
    return rows


def test_valid_run_exits_0_with_table_and_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(_args(tmp_path)) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        "asyncgen run: Server, PerformanceOnly, 500 QPS, p90 bound 10000 ms, min 0.25 s, "
        "min 50 queries\n  SUT fast, QSL asyncgen-indices (1024 samples), logs in "
    )
    rows = _rows(out)
    assert rows["result"] == "VALID"
    assert rows["test"] == "Server, PerformanceOnly"
    assert re.fullmatch(r"[\d,.]+ \(target 500 QPS\)", rows["completed samples/s"])
    assert re.fullmatch(r"p50 \S+ ms  p90 \S+ ms  p99 \S+ ms", rows["latency"])
    assert re.fullmatch(r"p50 \S+ ms  p99 \S+ ms  max \S+ ms", rows["issue lag"])
    assert rows["health"].startswith("not judged (too few queries): issued ")  # 125 queries
    # no warning, unless a busy machine stalled the loop (asyncgen says so)
    assert rows.get("warning", "The event loop stalled").startswith("The event loop stalled")
    assert re.fullmatch(r"0 errors, \d+ warnings", rows["errors"])
    assert rows["failures"] == "0"
    results = json.loads((tmp_path / "mlperf_log_results.json").read_text())
    assert results["valid"] is True
    for name in ("summary.txt", "detail.txt", "accuracy.json", "trace.json", "results.json"):
        assert f"  {tmp_path / ('mlperf_log_' + name)}\n" in out
    assert "Result is : VALID" in (tmp_path / "mlperf_log_summary.txt").read_text()


def test_invalid_run_exits_1_with_reasons(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Every answer takes 3 ms; the bound is 1 ms.
    args = _args(tmp_path, "--latency-ms", "1", sut="tests.cli._suts:slow_sut")
    assert main(args) == 1
    out = capsys.readouterr().out
    rows = _rows(out)
    assert rows["result"] == "INVALID"
    assert re.search(r"^reason\s+performance constraints not met\s*$", out, re.MULTILINE)
    assert re.search(r"^reason\s+Reduce target QPS to improve latency.\s*$", out, re.MULTILINE)
    assert json.loads((tmp_path / "mlperf_log_results.json").read_text())["valid"] is False


def test_loop_stalls_get_a_row(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_args(tmp_path, sut="tests.cli._suts:BlockingSUT")) in (0, 1)
    stalls = json.loads((tmp_path / "mlperf_log_results.json").read_text())["loop_stalls"]
    assert stalls["count"] >= 1 and stalls["max_ns"] > stalls["threshold_ns"]
    row = f"{stalls['count']} over 250 ms, longest {fmt_ms(stalls['max_ns'])}"
    rows = _rows(capsys.readouterr().out)
    assert rows["loop stalls"] == row
    assert rows["warning"].startswith("The event loop stalled")  # the text, under health


def test_plain_progress_lines_when_not_a_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(_args(tmp_path, "--progress-interval", "0.05")) == 0
    out = capsys.readouterr().out
    lines = PROGRESS_LINE.findall(out)
    assert len(lines) >= 2, out
    assert "\x1b[" not in out  # no terminal control sequences in a log


def test_progress_off_keeps_the_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_args(tmp_path, "--progress", "off", "--progress-interval", "0.05")) == 0
    out = capsys.readouterr().out
    assert not PROGRESS_LINE.search(out)
    assert _rows(out)["result"] == "VALID"


def test_quiet_prints_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_args(tmp_path, "-q", "--progress-interval", "0.05")) == 0
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", "")
    assert (tmp_path / "mlperf_log_summary.txt").is_file()


def test_failures_make_the_run_invalid_unless_allowed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _suts.flaky_sut.failed = 0
    assert main(_args(tmp_path, sut="tests.cli._suts:flaky_sut")) == 1
    rows = _rows(capsys.readouterr().out)
    failed = _suts.flaky_sut.failed
    assert failed > 0
    assert rows["failures"] == f"{failed} (other {failed})"  # an exception's repr: kind other
    _suts.flaky_sut.failed = 0
    assert main(_args(tmp_path, "--allow-failures", sut="tests.cli._suts:flaky_sut")) == 0
    out = capsys.readouterr().out
    assert _rows(out)["failures"] == f"{_suts.flaky_sut.failed} (other {_suts.flaky_sut.failed})"
    assert "samples failed" not in out


def test_offline_accuracy_run_with_a_python_qsl(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [
        "run", "-s", "offline", "-m", "accuracy", "--sut", "tests.cli._suts:async_factory",
        "--qsl", "tests.cli._suts:small_qsl", "-o", str(tmp_path), "--audit-config", "none",
        "--no-trace",
    ]  # fmt: skip
    assert main(args) == 0
    rows = _rows(capsys.readouterr().out)
    assert rows["test"] == "Offline, AccuracyOnly"
    assert rows["accuracy log"] == "32 responses"  # every sample of the QSL, once
    entries = json.loads((tmp_path / "mlperf_log_accuracy.json").read_text())
    assert sorted(e["qsl_idx"] for e in entries) == list(range(32))
    assert not (tmp_path / "mlperf_log_trace.json").exists()


def test_preset_config_and_set(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = [
        "run", "-s", "Server", "-c", "demo-server", "--set", "min_duration_ms=250",
        "--set", "server_target_qps=500", "--min-queries", "50", "--latency-ms", "8000",
        "--set", "server_target_latency_percentile=0.9",
        "--sut", "tests.cli._suts:fast_sut", "-o", str(tmp_path), "--audit-config", "none",
    ]  # fmt: skip
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "Server, PerformanceOnly, 500 QPS, p90 bound 8000 ms, min 0.25 s, min 50 queries" in out


def test_offline_headline_and_wrapped_reasons(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [
        "run", "-s", "Offline", "--qps", "0.5", "--duration-ms", "100000", "--min-queries", "1",
        "--sut", "tests.cli._suts:fast_sut", "-o", str(tmp_path), "--audit-config", "none",
    ]  # fmt: skip
    assert main(args) == 1  # the SUT answers 55 samples in far less than 100 s
    out = capsys.readouterr().out
    rows = _rows(out)
    assert rows["result"] == "INVALID"
    assert re.fullmatch(r"[\d,.]+", rows["samples/s"])
    assert rows["samples"] == "55 in 1 queries"
    assert "min duration not met" in out
    assert "Increase expected QPS so the loadgen pre-generates a larger" in out


def test_framework_log_only_with_verbose(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before, configured = structlog.get_config(), structlog.is_configured()
    assert main(_args(tmp_path, "-q")) == 0
    assert capsys.readouterr().err == ""
    assert main(_args(tmp_path, "-q", "-v")) == 0
    err = capsys.readouterr().err
    assert "run started" in err
    assert "run finished" in err
    # the CLI leaves the process's logging as it was, unconfigured included
    assert (structlog.get_config(), structlog.is_configured()) == (before, configured)


def test_list_settings(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--list-settings"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^server_target_qps\s+float\s+1\.0$", out, re.MULTILINE)
    assert re.search(r"^min_query_count\s+int\s+100$", out, re.MULTILINE)


@pytest.mark.parametrize(
    ("extra", "message"),
    [(["--set", "server_target_qsp=5"], "no such setting (did you mean server_target_qps"),
     (["--set", "min_query_count=lots"], "--set min_query_count=lots: expected an integer"),
     (["--set", "server_target_qps=-3"], "server_target_qps must be a positive finite number"),
     (["-c", "no-such-preset"], "no preset of that name"),
     (["--latency-ms", "1", "--set", "drain_timeout_ms=0"], "drain_timeout_ms must be positive")],
)  # fmt: skip
def test_settings_errors_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    assert main(_args(tmp_path, *extra)) == 2
    err = capsys.readouterr().err
    assert err.startswith("asyncgen run: error: ")
    assert message in err
    assert not (tmp_path / "mlperf_log_detail.txt").exists()  # nothing ran


@pytest.mark.parametrize(
    ("sut", "message"),
    [("tests.cli._suts:not_a_sut", "is neither a SystemUnderTest nor a factory"),
     ("no_such_module_xyz:sut", "cannot import no_such_module_xyz"),
     ("tests.cli._suts:RaisingSUT", "the run stopped: RuntimeError('the model fell over')")],
)  # fmt: skip
def test_sut_errors_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], sut: str, message: str
) -> None:
    assert main(_args(tmp_path, "-q", sut=sut)) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [(["run", "--sut", "m:o"], "the following arguments are required: -s/--scenario"),
     (["run", "-s", "Server"], "the following arguments are required: --sut"),
     (["run", "-s", "Sever", "--sut", "m:o"], "unknown scenario 'Sever'"),
     (["run", "-s", "Server", "-m", "quick", "--sut", "m:o"], "unknown mode 'quick'"),
     (["run", "-s", "Server", "--sut", "http://127.0.0.1:1/x"], "needs the samples to send"),
     (["run", "-s", "Server", "--sut", "m:o", "--dataset", "d.jsonl", "--qsl", "m:q"],
      "--dataset and --qsl are alternatives"),
     (["run", "-s", "Server", "--sut", "m:o", "-O", "a=1"], "applies to URL SUTs only"),
     (["run", "-s", "Server", "--sut", "m:o", "--samples", "0"], "--samples must be from 1 to"),
     (["run", "-s", "Server", "--sut", "m:o", "--adapter", "grpc"], "invalid choice: 'grpc'"),
     (["run", "-s", "Server", "--sut", "m:o", "--qps", "fast"], "expected a number, got 'fast'")],
)  # fmt: skip
def test_usage_errors_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: asyncgen run")
    assert message in err


def test_qps_shortcut_misuse_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["run", "-s", "SingleStream", "--qps", "10", "--sut", "tests.cli._suts:fast_sut"]
    assert main([*argv, "-o", str(tmp_path)]) == 2
    assert "--qps applies to Server and Offline, not SingleStream" in capsys.readouterr().err


def test_an_error_is_printed_with_its_notes(capsys: pytest.CaptureFixture[str]) -> None:
    error = RunError("the run stopped")
    error.__cause__ = RuntimeError("the SUT broke")
    error.add_note("also: cannot write mlperf_log_accuracy.json: Input/output error")
    assert _error(error) == EXIT_ERROR
    assert capsys.readouterr().err == (
        "asyncgen run: error: the run stopped (RuntimeError('the SUT broke'))\n"
        "  also: cannot write mlperf_log_accuracy.json: Input/output error\n"
    )


def test_mlperf_files_only_writes_what_the_submission_checker_accepts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(_args(tmp_path, "--mlperf-files-only", "--no-trace", "-q")) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "mlperf_log_accuracy.json",
        "mlperf_log_detail.txt",
        "mlperf_log_summary.txt",
    ]
    assert main(_args(tmp_path / "all", "--mlperf-files-only")) == 0
    out = capsys.readouterr().out
    assert "mlperf_log_trace.json" in out and "mlperf_log_results.json" not in out
