"""The log files, written by one background task in batches.

Producers (the runner, the series, completions) only append to in-memory lists; the writer
task wakes every ``FLUSH_INTERVAL_S``, formats the new per-sample records of the active series
(accuracy entries, trace events) and hands the text to a worker thread to write, so the event
loop never waits on the disk. ``close`` writes whatever is left and the footers synchronously,
so a cancelled or failed run still leaves complete files.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING

import anyio
import anyio.lowlevel
import anyio.to_thread

from asyncgen._errors import OutputError
from asyncgen._fmt import mllog_value
from asyncgen._summary_text import summary_footer
from asyncgen.settings import LogSettings

if TYPE_CHECKING:
    from asyncgen._series import Series

FLUSH_INTERVAL_S = 0.02
FORMAT_CHUNK = 1000  # records formatted per loop turn, so formatting never stalls issuing
TRACE_VERSION = "asyncgen trace v1"


def log_paths(log_settings: LogSettings, test_datetime: str) -> dict[str, Path]:
    """The four reference file names, plus ``results.json``."""
    out = log_settings.log_output
    stem = out.prefix + (test_datetime + "_" if out.prefix_with_datetime else "")
    folder = Path(out.outdir)
    return {
        "summary": folder / f"{stem}summary{out.suffix}.txt",
        "detail": folder / f"{stem}detail{out.suffix}.txt",
        "accuracy": folder / f"{stem}accuracy{out.suffix}.json",
        "trace": folder / f"{stem}trace{out.suffix}.json",
        "results": folder / f"{stem}results{out.suffix}.json",
    }


def _open(path: Path) -> IO[str]:
    try:
        return path.open("w", encoding="utf-8", buffering=1 << 20)
    except OSError as exc:
        raise OutputError(f"cannot open log file {path}: {exc.strerror or exc}") from exc


class LogWriter:
    """Owns the summary, detail, accuracy and trace files of one ``run_test``."""

    def __init__(self, log_settings: LogSettings, test_datetime: str, origin_ns: int) -> None:
        self.paths = log_paths(log_settings, test_datetime)
        folder = self.paths["summary"].parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"cannot create output folder {folder}: {exc.strerror}") from exc
        self._settings = log_settings.log_output
        self._trace_enabled = log_settings.enable_trace
        self._origin_ns = origin_ns
        self._pid = os.getpid()
        self._files: dict[str, IO[str]] = {}
        for kind in ("summary", "detail", "accuracy") + (("trace",) if self._trace_enabled else ()):
            self._files[kind] = _open(self.paths[kind])
        self._pending: dict[str, list[str]] = {kind: [] for kind in self._files}
        self._lock = threading.Lock()  # detail entries may come from completion threads
        self._accuracy_entries = 0
        self._trace_events = 0
        self.warnings = 0
        self.errors = 0
        self._series: Series | None = None
        self._cursor = 0
        self._closed = False
        self._pending["accuracy"].append("[")
        if self._trace_enabled:
            self._pending["trace"].append('{"traceEvents":[\n')

    @property
    def trace_enabled(self) -> bool:
        return self._trace_enabled

    @property
    def accuracy_entry_count(self) -> int:
        return self._accuracy_entries

    # -- producers -------------------------------------------------------------------------

    def detail(
        self, key: str, value: object, *, error: bool = False, warning: bool = False
    ) -> None:
        """Append one ``:::MLLOG`` line; errors and warnings are counted for the summary."""
        elapsed = time.perf_counter_ns() - self._origin_ns
        line = (
            f':::MLLOG {{"key": {json.dumps(key)}, "value": {mllog_value(value)}, '
            f'"time_ms": {elapsed // 1_000_000}.{elapsed % 1_000_000:06d}, '
            '"namespace": "mlperf::logging", "event_type": "POINT_IN_TIME", "metadata": '
            f'{{"is_error": {"true" if error else "false"}, '
            f'"is_warning": {"true" if warning else "false"}, "file": "asyncgen", '
            f'"line_no": 0, "pid": {self._pid}, "tid": {threading.get_native_id()}}}}}\n'
        )
        with self._lock:
            self.errors += error
            self.warnings += warning
            self._pending["detail"].append(line)
        if self._settings.copy_detail_to_stdout:
            sys.stdout.write(line)

    def error(self, key: str, message: str) -> None:
        self.detail(key, message, error=True)

    def warning(self, message: str) -> None:
        self.detail("warning_generic_message", message, warning=True)

    def summary(self, lines: list[str]) -> None:
        text = "".join(line + "\n" for line in lines)
        self._pending["summary"].append(text)
        if self._settings.copy_summary_to_stdout:
            sys.stdout.write(text)

    def trace_event(self, event: dict[str, object]) -> None:
        if self._trace_enabled:
            self._pending["trace"].append(json.dumps(event, separators=(",", ":")) + ",\n")
            self._trace_events += 1

    def follow(self, series: Series | None) -> None:
        """Format the per-sample records of ``series`` from now on (one series at a time)."""
        if self._series is not None:
            self._format_new_records(limit=None)
        self._series = series
        self._cursor = 0

    # -- the background task ---------------------------------------------------------------

    async def run(self) -> None:
        """Drain pending records every few milliseconds until cancelled."""
        while True:
            await anyio.sleep(FLUSH_INTERVAL_S)
            await self._flush_once()

    async def _flush_once(self) -> None:
        more = True
        while more:
            more = self._format_new_records(limit=FORMAT_CHUNK)
            await anyio.lowlevel.checkpoint()  # let issuing run between chunks
        chunks = self._take_pending()
        if chunks:
            await anyio.to_thread.run_sync(self._write, chunks)

    def close(self) -> None:
        """Write everything left, the footers, and close the files. Safe to call twice."""
        if self._closed:
            return
        self.follow(None)
        self._pending["summary"].append(self._footer())
        if self._settings.copy_summary_to_stdout:
            sys.stdout.write(self._footer())
        self._pending["accuracy"].append("\n]\n")
        if self._trace_enabled:
            self._pending["trace"].append(
                '{"name":"LastTrace"}\n],\n"displayTimeUnit":"ns",\n"otherData":{'
                f'"ts":{self._origin_ns / 1000:.3f},"version":"{TRACE_VERSION}"}}}}\n'
            )
        try:
            self._write(self._take_pending())
        finally:
            self._closed = True
            for f in self._files.values():
                f.close()

    # -- internals -------------------------------------------------------------------------

    def _footer(self) -> str:
        return summary_footer(self.warnings, self.errors)

    def _take_pending(self) -> dict[str, str]:
        with self._lock:
            chunks = {kind: "".join(parts) for kind, parts in self._pending.items() if parts}
            for parts in self._pending.values():
                parts.clear()
        return chunks

    def _write(self, chunks: dict[str, str]) -> None:
        for kind, text in chunks.items():
            f = self._files[kind]
            try:
                f.write(text)
                f.flush()
            except OSError as exc:
                raise OutputError(f"cannot write {self.paths[kind]}: {exc.strerror}") from exc

    def _format_new_records(self, limit: int | None) -> bool:
        """Format up to ``limit`` newly completed samples; True if more are waiting."""
        series = self._series
        if series is None:
            return False
        order = series.completion_order
        end = len(order) if limit is None else min(len(order), self._cursor + limit)
        if end <= self._cursor:
            return False
        batch = order[self._cursor : end]
        self._cursor = end
        accuracy = self._pending["accuracy"]
        for entry in series.accuracy_entries(batch):
            accuracy.append((",\n{ " if self._accuracy_entries else "\n{ ") + entry + " }")
            self._accuracy_entries += 1
        if self._trace_enabled:
            self._pending["trace"].extend(
                _trace_lines(series.trace_events(batch, self._origin_ns, self._pid))
            )
        return end < len(order)


def _trace_lines(events: Iterator[dict[str, object]]) -> Iterator[str]:
    dumps: Callable[[object], str] = json.JSONEncoder(separators=(",", ":")).encode
    for event in events:
        yield dumps(event) + ",\n"
