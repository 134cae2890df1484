"""Hostile input to ``asyncgen run``, as a careless user would give it: exit status 2 with one
line naming the input, never a traceback and never exit status 1 (which means INVALID); what
can only fail later is refused before anything runs."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from asyncgen.__main__ import main
from tests.faults._support import assert_consistent

FAST = "tests.cli._suts:fast_sut"


def _argv(tmp_path: Path, *extra: str, sut: str = FAST) -> list[str]:
    return [
        "run", "-s", "Server", "--qps", "500", "--duration-ms", "200", "--min-queries", "50",
        "--set", "server_target_latency_percentile=0.9", "--set", "drain_timeout_ms=300",
        "--sut", sut, "-o", str(tmp_path / "out"), "--audit-config", "none",
        "--progress", "off", *extra,
    ]  # fmt: skip


def _error_line(capsys: pytest.CaptureFixture[str], prefix: str = "asyncgen run: error: ") -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(prefix), err
    return lines[0]


def _usage_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: asyncgen run") and "Traceback" not in err
    return err.strip().splitlines()[-1]


@pytest.fixture
def refused_url() -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/predict"


# -- refused up front: usage errors ----------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--latency-ms", "nan"], "argument --latency-ms: expected a finite number, got 'nan'"),
        (["--qps", "inf"], "argument --qps: expected a finite number, got 'inf'"),
        (["--progress-interval", "nan"], "expected a finite number, got 'nan'"),
        (["--samples", "100000000000000"], "--samples must be from 1 to "),
        (["--performance-sample-count", "100000000000000"], "must be from 1 to "),
        (["-o", ""], "argument -o/--outdir: must name a folder"),
    ],
)
def test_numbers_and_folders_that_cannot_work_are_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    assert message in _usage_error([*_argv(tmp_path), *extra], capsys)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://127.0.0.1:99999/x", "is not a number from 0 to 65535"),
        ("ftp://127.0.0.1/x", "asyncgen drives http:// and https:// servers, not ftp://"),
        ("grpc://127.0.0.1:9000", "not grpc://"),
    ],
)
def test_urls_that_cannot_be_served_are_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], url: str, message: str
) -> None:
    argv = _argv(tmp_path, "--dataset", str(tmp_path / "any.jsonl"), sut=url)
    line = _usage_error(argv, capsys)
    assert message in line and url in line


# -- refused before anything runs: errors naming the input ------------------------------------


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--qps", "1e308"], "the performance run would plan about 2e+307 samples"),
        (["--duration-ms", "1000000000000"], "would plan about 5e+11 samples"),
        (["--min-queries", "100000000000000"], "would plan about 1e+14 samples"),
    ],
)
def test_settings_too_large_for_memory_are_refused_up_front(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    assert main([*_argv(tmp_path), *extra]) == 2
    line = _error_line(capsys)
    assert message in line and "this machine's memory holds at most about" in line
    assert not (tmp_path / "out").exists()


def test_a_config_that_is_a_device_is_read_with_a_bound(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if not os.path.exists("/dev/urandom"):
        pytest.skip("needs /dev/urandom")
    assert main([*_argv(tmp_path), "--config", "/dev/urandom"]) == 2
    assert "/dev/urandom: longer than 1024 KiB: not a config file" in _error_line(capsys)


@pytest.mark.parametrize("line", [1, 2])  # the first line is also read to tell the format
def test_a_jsonl_line_nested_too_deeply(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], line: int
) -> None:
    dataset = tmp_path / "deep.jsonl"
    deep = "[" * 100_000 + "]" * 100_000 + "\n"
    dataset.write_text(deep if line == 1 else '{"prompt": "ok"}\n' + deep)
    assert main([*_argv(tmp_path), "--dataset", str(dataset)]) == 2
    assert f"{dataset}:{line}: JSON nested too deeply" in _error_line(capsys)


def test_nan_in_a_dataset_is_refused_with_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = tmp_path / "nan.jsonl"
    dataset.write_text('{"prompt": "a"}\n{"prompt": "b", "temperature": NaN}\n')
    assert main([*_argv(tmp_path), "--dataset", str(dataset)]) == 2
    assert f"{dataset}:2: not valid JSON: NaN is not a JSON number" in _error_line(capsys)


def _special_dataset(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / f"{kind}.jsonl"
    if kind == "loop":
        os.symlink(tmp_path / "other.jsonl", path)
        os.symlink(path, tmp_path / "other.jsonl")
    elif kind == "fifo":
        os.mkfifo(path)
    else:
        if not os.path.exists("/dev/zero"):
            pytest.skip("needs /dev/zero")
        os.symlink("/dev/zero", path)
    return path


@pytest.mark.parametrize(
    ("kind", "message"),
    [("loop", "is a symlink loop"), ("fifo", "is a FIFO (named pipe), not a file"),
     ("zero", "is a character device, not a file")],
)  # fmt: skip
def test_a_dataset_that_is_no_file_is_named_for_what_it_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str, message: str
) -> None:
    path = _special_dataset(tmp_path, kind)
    assert main([*_argv(tmp_path), "--dataset", str(path)]) == 2
    assert f"--dataset {path}: {message}" in _error_line(capsys)


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("timeout_s=nan", "timeout_s must be a finite number of seconds, more than 0; got 'nan'"),
        ("timeout_s=NaN", "got 'NaN'"),
        ("keepalive_s=-1", "keepalive_s must be a finite number of seconds, at least 0"),
        ('headers={"X-Team": "日本"}', "is not a valid header value: printable ASCII only"),
        ("max_connections=1.5", "max_connections must be an integer of at least 0; got 1.5"),
        ("x=" + "[" * 100_000, "the JSON value is nested too deeply"),
    ],
)
def test_adapter_options_that_cannot_work_are_refused_before_any_request(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], refused_url: str, option: str, message: str
) -> None:
    dataset = tmp_path / "p.jsonl"
    dataset.write_text('{"prompt": "a"}\n')
    argv = _argv(tmp_path, "--dataset", str(dataset), "-O", option, sut=refused_url)
    assert main(argv) == 2  # refused before the server is even tried (it is down)
    assert message in _error_line(capsys)


# -- misbehaving SUT objects -------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["CancelledError", "GeneratorExit", "own"])
def test_a_sut_raising_a_base_exception_is_an_error_not_an_interrupt(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    monkeypatch.setenv("ASYNCGEN_TEST_RAISE", kind)
    assert main(_argv(tmp_path, sut="tests.cli._suts:RaisesBaseException")) == 2
    expected = {"own": "SutKilledError"}.get(kind, kind)
    assert f"the run stopped: {expected}('raised by the SUT')" in _error_line(capsys)
    assert_consistent(tmp_path / "out")


@pytest.mark.parametrize(
    ("sut", "message"),
    [
        ("NameRaises", "--sut tests.cli._suts:NameRaises: reading its name raised RuntimeError("),
        ("EnterRaises", "entering it (__aenter__) raised RuntimeError('cannot enter')"),
        ("SyncIssueQuery", "issue_query must be a coroutine function"),
    ],
)
def test_a_sut_object_that_cannot_run_is_an_error_before_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], sut: str, message: str
) -> None:
    assert main(_argv(tmp_path, sut=f"tests.cli._suts:{sut}")) == 2
    assert message in _error_line(capsys)
    assert not (tmp_path / "out" / "mlperf_log_detail.txt").exists()


def test_an_exit_that_raises_is_an_error_after_the_result_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(_argv(tmp_path, sut="tests.cli._suts:ExitRaises")) == 2
    captured = capsys.readouterr()
    assert "result" in captured.out and "VALID" in captured.out  # the run itself finished
    assert captured.err.strip() == (
        "asyncgen run: error: --sut tests.cli._suts:ExitRaises: "
        "closing it raised RuntimeError('cannot exit')"
    )
    assert_consistent(tmp_path / "out")


def test_a_close_that_never_returns_is_bounded_with_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The drain deadline (300 ms here) bounds the close too; then the table and the verdict."""
    assert main(_argv(tmp_path, sut="tests.cli._suts:CloseHangs")) == 0
    captured = capsys.readouterr()
    assert captured.err.strip() == (
        "asyncgen run: warning: --sut tests.cli._suts:CloseHangs: closing it did not finish "
        "within 0.3 s (the drain deadline); left behind"
    )
    assert "VALID" in captured.out and "INVALID" not in captured.out  # the table came
    assert_consistent(tmp_path / "out")


class _UnforeseenError(Exception):
    pass


@pytest.mark.parametrize("verbose", [False, True])
def test_an_unexpected_error_is_one_line_and_exit_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    verbose: bool,
) -> None:
    """Exit status 1 means INVALID: an error nothing below foresaw is still exit 2, one line
    (its traceback only with -v)."""

    def breaks(*_: object) -> int:
        raise _UnforeseenError("nobody saw this coming")

    monkeypatch.setattr(sys.modules["asyncgen._cli.run"], "run_command", breaks)
    argv = _argv(tmp_path, *(["-v"] if verbose else []))
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert ("Traceback" in err) is verbose
    assert err.strip().splitlines()[-1] == (
        "asyncgen: error: _UnforeseenError('nobody saw this coming') "
        "(unexpected: please report it; -v shows the traceback)"
    )
