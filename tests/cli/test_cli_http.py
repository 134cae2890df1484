"""``asyncgen run`` against a real HTTP server: the digits model server in a child process."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from asyncgen.__main__ import main
from examples.digits_accuracy import top1
from examples.digits_model import load_split, write_dataset

REPO = Path(__file__).resolve().parents[2]


def _serve(*command: str) -> Iterator[str]:
    """Run an example server in a child process; yields the URL it prints once listening."""
    with subprocess.Popen(
        [sys.executable, "-m", *command, "--port", "0"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    ) as server:
        assert server.stdout is not None
        line = server.stdout.readline()
        assert "listening on " in line, f"the server did not start: {line!r}"
        try:
            yield line.rsplit("listening on ", 1)[1].strip()
        finally:
            server.terminate()
            server.wait(timeout=30)


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    """The digits model server's base URL."""
    yield from _serve("examples.digits_server")


@pytest.fixture(scope="module")
def token_server_url() -> Iterator[str]:
    """A streaming OpenAI-style server: first token after 10 ms, then 8 more 2 ms apart."""
    yield from _serve("examples.token_server", "--ttft-ms", "10", "--tpot-ms", "2", "--tokens", "9")


def _args(
    tmp_path: Path, sut: str, *extra: str, qsl: str = "examples.digits_model:DigitsQSL"
) -> list[str]:
    """A short Server run that a fast server passes even on a busy machine (p90, 10 s)."""
    samples = ["--dataset", qsl] if qsl.endswith(".jsonl") else ["--qsl", qsl]
    return [
        "run", "-s", "Server", "--qps", "200", "--duration-ms", "300", "--min-queries", "20",
        "--set", "server_target_latency_percentile=0.9", "--latency-ms", "10000",
        "--sut", sut, *samples,
        "-o", str(tmp_path / "logs"), "--audit-config", "none", *extra,
    ]  # fmt: skip


def test_performance_run_against_the_server(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], server_url: str
) -> None:
    assert main(_args(tmp_path, f"{server_url}/predict")) == 0
    out = capsys.readouterr().out
    assert f"SUT HttpSUT({server_url}/predict), QSL DigitsQSL (360 samples)" in out
    assert re.search(r"^failures\s+0", out, re.MULTILINE)


def test_accuracy_run_against_the_server(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], server_url: str
) -> None:
    assert main(_args(tmp_path, f"{server_url}/predict", "-m", "accuracy")) == 0
    entries = json.loads((tmp_path / "logs" / "mlperf_log_accuracy.json").read_text())
    accuracy = top1(entries, load_split().test_y.tolist())
    assert accuracy.total == 360
    assert accuracy.top1 > 0.97


def test_http_errors_are_failures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], server_url: str
) -> None:
    # No such path: every request answers 404, every sample fails.
    main(_args(tmp_path, f"{server_url}/no-such-path", "--progress", "off"))
    out = capsys.readouterr().out
    failures = re.search(r"^failures\s+(\d+) \(http_status (\d+)\)\s*$", out, re.MULTILINE)
    assert failures is not None, out
    assert int(failures[1]) == int(failures[2]) > 0  # all of one kind
    assert "HTTP 404" in (tmp_path / "logs" / "mlperf_log_detail.txt").read_text()
    results = json.loads((tmp_path / "logs" / "mlperf_log_results.json").read_text())
    assert results["errors"] >= int(failures[1])


def test_adapter_options_reach_the_sut(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], server_url: str
) -> None:
    args = _args(tmp_path, f"{server_url}/predict", "-O", "name=digits-over-http", "-q")
    assert main(args) == 0
    assert "digits-over-http" in (tmp_path / "logs" / "mlperf_log_detail.txt").read_text()
    assert main(_args(tmp_path, f"{server_url}/predict", "-O", "no_such_option=1")) == 2
    err = capsys.readouterr().err
    assert "HttpSUT has no option 'no_such_option'; its options: headers, timeout_s" in err


def test_unreachable_server_exits_2_before_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as sock:  # bound, not listening: connections are refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        assert main(_args(tmp_path, f"http://127.0.0.1:{port}/predict")) == 2
    assert f"cannot reach 127.0.0.1:{port}" in capsys.readouterr().err
    assert not (tmp_path / "logs" / "mlperf_log_detail.txt").exists()


def test_json_lines_dataset(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], server_url: str
) -> None:
    samples, _ = write_dataset(load_split(), tmp_path)
    assert main(_args(tmp_path, f"{server_url}/predict", qsl=str(samples))) == 0
    out = capsys.readouterr().out
    assert "QSL JsonLinesQSL(digits_test.jsonl) (360 samples)" in out
    # The endpoint's path can come from the dataset instead of the URL.
    args = _args(tmp_path, server_url, "-D", "request_path=/predict", "-q", qsl=str(samples))
    assert main(args) == 0


def test_performance_sample_count_of_a_dataset(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], server_url: str
) -> None:
    samples, _ = write_dataset(load_split(), tmp_path)
    args = _args(
        tmp_path, f"{server_url}/predict", "--performance-sample-count", "50", qsl=str(samples)
    )
    assert main(args) == 0
    detail = (tmp_path / "logs" / "mlperf_log_detail.txt").read_text()
    assert '"key": "qsl_reported_performance_count", "value": 50' in detail


def test_bad_dataset_exits_2_naming_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], server_url: str
) -> None:
    data = tmp_path / "bad.jsonl"
    data.write_text('{"pixels": []}\nnot json\n')
    assert main(_args(tmp_path, f"{server_url}/predict", qsl=str(data))) == 2
    err = capsys.readouterr().err
    assert f"{data}:2: not valid JSON" in err
    assert main(_args(tmp_path, server_url, "-D", "colour=blue", qsl=str(data))) == 2
    assert "--dataset-option for JsonLinesQSL" in capsys.readouterr().err


def test_openai_adapter_reports_token_latencies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], token_server_url: str
) -> None:
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(json.dumps(f"prompt {i}") + "\n" for i in range(16)))
    args = _args(
        tmp_path, token_server_url, "--adapter", "openai", "-O", "model=stand-in", qsl=str(prompts)
    )
    args[args.index("200")] = "50"  # 50 QPS
    status = main(args)
    out = capsys.readouterr().out
    assert status in (0, 1), out  # 15 queries may be too few for early stopping: not the point
    assert not re.search(r"^reason\s+performance constraints not met", out, re.MULTILINE)
    ttft = re.search(r"^TTFT\s+p50 ([\d.]+) ms\s+p99 ([\d.]+) ms", out, re.MULTILINE)
    assert ttft is not None, out
    assert float(ttft[1]) >= 10.0  # the server waits 10 ms before the first token
    assert re.search(r"^TPOT\s+p50 [\d.]+ ms", out, re.MULTILINE)
    assert re.search(r"^tokens/s\s+[\d,.]+", out, re.MULTILINE)
    summary = json.loads((tmp_path / "logs" / "mlperf_log_results.json").read_text())["summary"]
    assert summary["token_count"] == 9 * summary["sample_count"]  # from the usage chunk
