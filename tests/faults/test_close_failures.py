"""More than one log file failing: the first failure is the ``OutputError`` raised, every later
one is a note on it (and a framework-log error), and every file is closed whatever failed."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import pytest

import asyncgen
from asyncgen import OutputError, TestMode, TestScenario
from asyncgen._output import writer as _writer
from asyncgen._output.writer import LogWriter
from asyncgen.settings import LogOutputSettings, LogSettings
from tests.faults._support import FillsUp, ScriptedSUT, echo, fast_settings, log_to, summary_text
from tests.helpers import ListQSL

KINDS = ("summary", "detail", "accuracy", "trace")
ENOSPC = os.strerror(errno.ENOSPC)
EIO = os.strerror(errno.EIO)


class _FailsOnClose:
    """A text file whose close fails (EIO, as on a network disk); like ``io``, it is closed."""

    def __init__(self, inner: IO[str]) -> None:
        self.inner = inner

    def close(self) -> None:
        self.inner.close()
        raise OSError(errno.EIO, EIO)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


Wrap = Callable[[IO[str]], Any]


def _open_with(monkeypatch: pytest.MonkeyPatch, wraps: dict[str, Wrap]) -> list[IO[str]]:
    """Make ``_writer._open`` wrap the real file of each kind in ``wraps``; returns every file
    it opened (the real ones, to check they end up closed)."""
    real_open = _writer._open
    opened: list[IO[str]] = []

    def open_wrapped(path: Path) -> IO[str]:
        f = real_open(path)
        opened.append(f)
        kind = next((k for k in wraps if f"_{k}" in path.name), None)
        return f if kind is None else wraps[kind](f)

    monkeypatch.setattr(_writer, "_open", open_wrapped)
    return opened


def _open_dev_full(monkeypatch: pytest.MonkeyPatch, kinds: tuple[str, ...]) -> list[IO[str]]:
    """Open the files of ``kinds`` on /dev/full: real files whose every flush fails."""
    if not os.path.exists("/dev/full"):
        pytest.skip("needs /dev/full")
    real_open = _writer._open
    opened: list[IO[str]] = []

    def open_full(path: Path) -> IO[str]:
        full = any(f"_{kind}" in path.name for kind in kinds)
        f = real_open(Path("/dev/full") if full else path)
        opened.append(f)
        return f

    monkeypatch.setattr(_writer, "_open", open_full)
    return opened


def _writer_in(tmp_path: Path) -> LogWriter:
    log_settings = LogSettings(
        log_output=LogOutputSettings(outdir=str(tmp_path)), enable_trace=True
    )
    return LogWriter(log_settings, "t", 0)


def _also(writer: LogWriter, *kinds: str) -> list[str]:
    return [f"also failed: cannot write {writer.paths[kind]}: " for kind in kinds]


def _assert_notes(error: BaseException, expected_prefixes: list[str]) -> None:
    notes = getattr(error, "__notes__", [])
    assert len(notes) == len(expected_prefixes), notes
    for note, prefix in zip(notes, expected_prefixes, strict=True):
        assert note.startswith(prefix), (note, prefix)


class _RecordingLog:
    """Stands in for the framework logger: what the writer reported, whatever is configured."""

    def __init__(self) -> None:
        self.errors: list[tuple[str, dict[str, object]]] = []

    def error(self, event: str, **fields: object) -> None:
        self.errors.append((event, fields))


def test_a_second_file_failing_while_closing_is_a_note_on_the_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = _RecordingLog()
    monkeypatch.setattr(_writer, "_log", log)
    trace_header = len('{"traceEvents":[\n')
    opened = _open_with(
        monkeypatch,
        {
            "detail": lambda f: FillsUp(f, 10),
            "accuracy": _FailsOnClose,
            "trace": lambda f: FillsUp(f, trace_header),  # its footer will not fit
        },
    )
    writer = _writer_in(tmp_path)
    writer.detail("generic_message", "more than ten characters")
    with pytest.raises(OutputError) as info:
        writer._flush_to_disk()  # as the flush task does during the run
    first = info.value
    assert str(first) == f"cannot write {writer.paths['detail']}: {ENOSPC}"
    assert getattr(first, "__notes__", []) == []

    writer.close()  # raised once already: not again, but nothing after it is lost

    # the footers are written first (the trace's does not fit), then the files are closed
    _assert_notes(first, _also(writer, "trace", "accuracy"))
    assert first.__notes__[0].endswith(ENOSPC) and first.__notes__[1].endswith(EIO)
    # and logged, for handlers that print only the message of the error they catch
    assert log.errors == [
        ("log file not written", {"error": note.removeprefix("also failed: ")})
        for note in first.__notes__
    ]
    assert set(writer.failed_files) == {"detail", "accuracy", "trace"}
    assert all(f.closed for f in opened) and len(opened) == 4
    assert summary_text(tmp_path).endswith("No errors encountered during test.\n")
    assert writer.paths["accuracy"].read_text() == "[\n]\n"  # complete: only its close failed


def test_the_first_failure_while_closing_is_raised_with_the_later_ones_as_notes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened = _open_with(monkeypatch, {"summary": _FailsOnClose, "detail": lambda f: FillsUp(f, 0)})
    writer = _writer_in(tmp_path)
    writer.detail("generic_message", "lost")
    with pytest.raises(OutputError) as info:
        writer.close()  # writes first (detail fails), then closes (summary fails)
    assert str(info.value) == f"cannot write {writer.paths['detail']}: {ENOSPC}"
    _assert_notes(info.value, _also(writer, "summary"))
    assert all(f.closed for f in opened)
    writer.close()  # closed: nothing raised twice, nothing noted twice
    assert len(info.value.__notes__) == 1


@pytest.mark.parametrize("kind", KINDS)
def test_a_file_that_fails_to_close_does_not_keep_the_others_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    opened = _open_with(monkeypatch, {kind: _FailsOnClose})
    writer = _writer_in(tmp_path)
    with pytest.raises(OutputError) as info:
        writer.close()
    assert str(info.value) == f"cannot write {writer.paths[kind]}: {EIO}"
    assert isinstance(info.value.__cause__, OSError)
    assert getattr(info.value, "__notes__", []) == []
    assert len(opened) == 4 and all(f.closed for f in opened)
    assert list(writer.failed_files) == [kind]


def test_real_files_on_a_full_device_are_each_reported_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # /dev/full fails every flush with ENOSPC, and again when closing the buffered rest
    opened = _open_dev_full(monkeypatch, ("detail", "trace"))
    writer = _writer_in(tmp_path)
    writer.detail("generic_message", "lost")
    with pytest.raises(OutputError) as info:
        writer._flush_to_disk()
    assert str(info.value) == f"cannot write {writer.paths['detail']}: {ENOSPC}"
    _assert_notes(info.value, _also(writer, "trace"))  # the same flush, the next file
    writer.close()
    _assert_notes(info.value, _also(writer, "trace"))  # failing again to close: not new
    assert all(f.closed for f in opened)
    assert summary_text(tmp_path).endswith("No errors encountered during test.\n")


async def _complete(sample: asyncgen.QuerySample) -> None:
    sample.complete(await echo(sample))


def _run_server(outdir: Path) -> None:
    asyncgen.run(
        ScriptedSUT(_complete),
        ListQSL(),
        fast_settings(TestScenario.Server, TestMode.AccuracyOnly),
        log_settings=log_to(outdir),
        audit_config=None,
    )


def test_a_run_whose_disk_fills_up_reports_a_file_that_then_fails_to_close(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened = _open_with(
        monkeypatch, {"detail": lambda f: FillsUp(f, 1000), "accuracy": _FailsOnClose}
    )
    _assert_run_fails_naming(tmp_path, opened, "mlperf_log_accuracy.json: Input/output error")


def test_a_run_with_two_files_on_a_full_device_raises_one_error_naming_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened = _open_dev_full(monkeypatch, ("detail", "accuracy"))
    _assert_run_fails_naming(tmp_path, opened, "mlperf_log_accuracy.json: No space left on device")


def _assert_run_fails_naming(outdir: Path, opened: list[IO[str]], second: str) -> None:
    """A Server run raises the full detail log's OutputError with ``second`` as its one note,
    closes every file and still writes an INVALID summary."""
    with pytest.raises(OutputError) as info:
        _run_server(outdir)
    assert "mlperf_log_detail.txt: No space left on device" in str(info.value)
    notes = getattr(info.value, "__notes__", [])
    assert len(notes) == 1 and second in notes[0]
    assert all(f.closed for f in opened)
    assert "Result is : INVALID" in summary_text(outdir)


def test_a_file_failing_to_close_after_the_sut_raised_is_a_note_on_the_sut_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened = _open_with(monkeypatch, {"accuracy": _FailsOnClose})

    def fail_third_call(call: int) -> None:
        if call == 3:
            raise RuntimeError("the SUT broke")

    with pytest.raises(asyncgen.RunError) as info:
        asyncgen.run(
            ScriptedSUT(_complete, issue_hook=fail_third_call),
            ListQSL(),
            fast_settings(TestScenario.Server, TestMode.PerformanceOnly),
            log_settings=log_to(tmp_path),
            audit_config=None,
        )
    assert isinstance(info.value.__cause__, RuntimeError)  # why the run stopped comes first
    notes = getattr(info.value, "__notes__", [])
    assert len(notes) == 1 and "mlperf_log_accuracy.json: Input/output error" in notes[0]
    assert all(f.closed for f in opened)
