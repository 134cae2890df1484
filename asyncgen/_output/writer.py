"""The log files, written by one background task in batches.

Producers (the runner, the series, completions) only append to in-memory lists and columns;
the writer task wakes every ``FLUSH_INTERVAL_S``, formats what is new and hands the text to a
worker thread to write, so the event loop never waits on the disk. ``close`` writes whatever is
left and the footers synchronously, so a cancelled or failed run still leaves complete files.

Per-sample records are formatted off the hot window: accuracy entries as they come (only the
sampled responses exist in performance mode), trace events only once their series has ended
(``Series.closed``), in chunks that yield to the loop, from the series' timestamp columns. While
queries are being paced the writer therefore costs nothing per sample.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import IO

import anyio
import anyio.lowlevel
import anyio.to_thread

from asyncgen._config.settings import LogSettings
from asyncgen._engine.series import Series
from asyncgen._errors import OutputError
from asyncgen._log import get_logger
from asyncgen._output.accuracy import accuracy_entries
from asyncgen._output.fmt import mllog_value
from asyncgen._output.lock import FolderLock
from asyncgen._output.request_export import ExportSettings, RequestExport
from asyncgen._output.summary_text import summary_footer
from asyncgen._output.trace import trace_text

FLUSH_INTERVAL_S = 0.02
FORMAT_CHUNK = 1000  # records formatted per loop turn, so formatting never stalls the loop
WRITE_CHUNKS = 8  # formatted chunks handed to the disk at once: a few MB of text at most
TRACE_VERSION = "asyncgen trace v1"
WRITE_BUFFER_BYTES = 64 << 10  # each flush is one big write: 1 MiB was no faster, only resident

_log = get_logger("asyncgen")


def log_paths(log_settings: LogSettings, test_datetime: str) -> dict[str, Path]:
    """The four reference file names, plus ``results.json`` unless it is not written."""
    out = log_settings.log_output
    stem = out.prefix + (test_datetime + "_" if out.prefix_with_datetime else "")
    folder = Path(out.outdir)
    paths = {
        "summary": folder / f"{stem}summary{out.suffix}.txt",
        "detail": folder / f"{stem}detail{out.suffix}.txt",
        "accuracy": folder / f"{stem}accuracy{out.suffix}.json",
        "trace": folder / f"{stem}trace{out.suffix}.json",
    }
    if log_settings.write_results_json:
        paths["results"] = folder / f"{stem}results{out.suffix}.json"
    return paths


def _open(path: Path) -> IO[str]:
    try:
        return path.open("w", encoding="utf-8", buffering=WRITE_BUFFER_BYTES)
    except OSError as exc:
        raise OutputError(f"cannot open log file {path}: {exc.strerror or exc}") from exc


class LogWriter:
    """Owns the summary, detail, accuracy and trace files of one ``run_test``.

    Text waits in ``_pending`` (one list per file) until a flush takes it. Every append and
    every take holds ``_lock``; a take and the write of what it took hold ``_write_lock``, so
    text reaches each file in the order it was appended, whichever thread flushes.
    """

    def __init__(
        self,
        log_settings: LogSettings,
        test_datetime: str,
        origin_ns: int,
        *,
        export: ExportSettings | None = None,
    ) -> None:
        self.paths = log_paths(log_settings, test_datetime)
        folder = self.paths["summary"].parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"cannot create output folder {folder}: {exc.strerror}") from exc
        self._settings = log_settings.log_output
        self._trace_enabled = log_settings.enable_trace
        self._origin_ns = origin_ns
        # The trace footer gives the origin as wall-clock epoch time, as the reference does.
        self._wall_origin_ns = time.time_ns() - (time.perf_counter_ns() - origin_ns)
        self._pid = os.getpid()
        self._folder_lock = FolderLock(folder)  # before any file is opened (and truncated)
        self._files: dict[str, IO[str]] = {}
        self._export: RequestExport | None = None
        try:
            for kind in ("summary", "detail", "accuracy", "trace")[: 3 + self._trace_enabled]:
                self._files[kind] = _open(self.paths[kind])
            if export is not None:
                self.paths["requests"] = path = folder / f"requests.{export.fmt}"
                try:
                    self._export = RequestExport(path, export)
                except OSError as exc:
                    raise OutputError(f"cannot open {path}: {exc.strerror or exc}") from exc
        except OutputError:
            for f in self._files.values():
                f.close()
            self._folder_lock.release()
            raise
        self._pending: dict[str, list[str]] = {kind: [] for kind in self._files}
        self._lock = threading.Lock()  # detail entries may come from completion threads
        self._write_lock = threading.Lock()
        self._accuracy_entries = 0
        self._trace_events = 0
        self.warnings = 0
        self.warning_messages: list[str] = []  # every warning's text, for the console
        self.errors = 0
        self._series: Series | None = None
        self._accuracy_cursor = 0  # position in the followed series' ``logged`` column
        self._trace_cursor = 0  # position in its ``completion_order``, once it has ended
        self._trace_marked = False  # the current series's start marker is written
        self._closed = False
        self._failed: dict[str, OutputError] = {}  # files that could not be written, by kind
        self._first_error: OutputError | None = None  # the one raised; later ones are its notes
        self._exporting = False  # the followed series is a performance series
        self._append("accuracy", "[")
        if self._trace_enabled:
            self._append("trace", '{"traceEvents":[\n')

    @property
    def trace_enabled(self) -> bool:
        return self._trace_enabled

    @property
    def exports_requests(self) -> bool:
        """Whether the run writes ``requests.jsonl`` (or ``.parquet``)."""
        return self._export is not None

    @property
    def accuracy_entry_count(self) -> int:
        return self._accuracy_entries

    # -- producers -------------------------------------------------------------------------

    def detail(
        self, key: str, value: object, *, error: bool = False, warning: bool = False
    ) -> None:
        """Append one ``:::MLLOG`` line; errors and warnings are counted for the summary.

        After ``close`` (a completion long after the run ended) the entry cannot reach the
        file any more: it goes to the framework log instead, never silently nowhere.
        """
        self._append_details([(key, value)], error=error, warning=warning)

    def details(self, entries: Iterable[tuple[str, object]]) -> None:
        """Append the entries of one logging call: like the reference's, they share one
        ``time_ms`` (its version, identity, settings, power and result blocks)."""
        self._append_details(list(entries), error=False, warning=False)

    def _append_details(
        self, entries: list[tuple[str, object]], *, error: bool, warning: bool
    ) -> None:
        if self._closed:
            for key, value in entries:
                _log.warning("log entry after the run ended", key=key, value=str(value))
            return
        elapsed = time.perf_counter_ns() - self._origin_ns
        lines = "".join(
            self._detail_line(key, value, elapsed, error, warning) for key, value in entries
        )
        with self._lock:
            self.errors += error * len(entries)
            self.warnings += warning * len(entries)
            self._pending["detail"].append(lines)
        if self._settings.copy_detail_to_stdout:
            sys.stdout.write(lines)

    def _detail_line(
        self, key: str, value: object, elapsed: int, error: bool, warning: bool
    ) -> str:
        return (
            f':::MLLOG {{"key": {json.dumps(key)}, "value": {mllog_value(value)}, '
            f'"time_ms": {elapsed // 1_000_000}.{elapsed % 1_000_000:06d}, '
            '"namespace": "mlperf::logging", "event_type": "POINT_IN_TIME", "metadata": '
            f'{{"is_error": {"true" if error else "false"}, '
            f'"is_warning": {"true" if warning else "false"}, "file": "asyncgen", '
            f'"line_no": 0, "pid": {self._pid}, "tid": {threading.get_native_id()}}}}}\n'
        )

    def error(self, key: str, message: str) -> None:
        self.detail(key, message, error=True)

    def warning(self, message: str) -> None:
        self.detail("warning_generic_message", message, warning=True)
        if not self._closed:
            self.warning_messages.append(message)

    def summary(self, lines: list[str]) -> None:
        text = "".join(line + "\n" for line in lines)
        self._append("summary", text)
        if self._settings.copy_summary_to_stdout:
            sys.stdout.write(text)

    def follow(self, series: Series | None, *, export: bool = False) -> None:
        """Format the per-sample records of ``series`` from now on (one series at a time);
        with ``export`` (a performance series), its rows of the request export too.

        What is left of the previous series is formatted and written first, synchronously,
        so that its records never compete with the next series' pacing.
        """
        self._finish_series(raise_errors=True)
        self._series = series
        self._accuracy_cursor = self._trace_cursor = 0
        self._trace_marked = False
        self._exporting = export and series is not None and self._export is not None
        if self._exporting and self._export is not None and series is not None:
            self._export.follow(series)

    def finish(self) -> None:
        """Format and write every record left (the last series' trace) and whatever waits,
        before the run calls itself finished: a file that fails here raises its
        ``OutputError``, so the run stops with the INVALID block naming it (``close`` only
        adds the footers)."""
        self.follow(None)
        self._flush_to_disk()

    # -- the background task ---------------------------------------------------------------

    async def run(self) -> None:
        """Drain pending records every few milliseconds until cancelled."""
        while True:
            await anyio.sleep(FLUSH_INTERVAL_S)
            await self._flush_once()

    async def _flush_once(self) -> None:
        more, chunks = True, 0
        while more:
            more = self._format_new_records(limit=FORMAT_CHUNK, ended=False)
            chunks += 1
            if chunks % WRITE_CHUNKS == 0:
                await anyio.to_thread.run_sync(self._flush_to_disk)
            await anyio.lowlevel.checkpoint()  # let the loop run between chunks
        if any(self._pending.values()):
            await anyio.to_thread.run_sync(self._flush_to_disk)

    def close(self) -> None:
        """Write everything left and the footers, then close every file. Safe to call twice.

        Every file is written and closed whatever fails. The writer's first failure is the
        ``OutputError`` raised, here if it happened here (one the flush task raised before is
        not raised twice); each later failure is added to it as a note and logged.
        """
        if self._closed:
            return
        raised_before = self._first_error is not None
        try:
            self._finish_series(raise_errors=False)
            self._series = None
            self._append_footers()
            self._flush_to_disk(raise_errors=False)
        finally:
            self._closed = True
            self._close_files()
            self._folder_lock.release()
        if self._first_error is not None and not raised_before:
            raise self._first_error

    @property
    def failed_files(self) -> dict[str, Path]:
        """The files a write failed on (their text ends early; the error named them)."""
        return {kind: self.paths[kind] for kind in self._failed}

    # -- internals -------------------------------------------------------------------------

    def _footer(self) -> str:
        return summary_footer(self.warnings, self.errors)

    def _append_footers(self) -> None:
        self._append("summary", self._footer())
        if self._settings.copy_summary_to_stdout:
            sys.stdout.write(self._footer())
        self._append("accuracy", "\n]\n")
        if self._trace_enabled:
            self._append(
                "trace",
                '{"name":"LastTrace"}\n],\n"displayTimeUnit":"ns",\n"otherData":{'
                f'"ts":{self._wall_origin_ns / 1000:.3f},"version":"{TRACE_VERSION}"}}}}\n',
            )

    def _finish_series(self, *, raise_errors: bool) -> None:
        """Format and write what is left of the followed series, synchronously."""
        if self._series is None:
            return
        chunks = 0
        while self._format_new_records(limit=FORMAT_CHUNK, ended=True):
            chunks += 1
            if chunks % WRITE_CHUNKS == 0:
                self._flush_to_disk(raise_errors=raise_errors)

    def _close_files(self) -> None:
        """Close every file, even after one fails: a failure is recorded, no handle leaks."""
        with self._write_lock:
            for kind, f in self._files.items():
                try:
                    f.close()
                except OSError as exc:  # its last buffered bytes did not fit
                    self._record_failure(kind, exc)
            if self._export is not None:
                try:
                    self._export.close()
                except OSError as exc:
                    self._record_failure("requests", exc)

    def _record_failure(self, kind: str, exc: OSError) -> None:
        """The first failure becomes the error to raise; each later one, a note on it."""
        if kind in self._failed:  # the same file again: it is named already
            return
        self._failed[kind] = error = _write_error(self.paths[kind], exc)
        if self._first_error is None:
            self._first_error = error
            return
        self._first_error.add_note(f"also failed: {error}")
        # the first error may be on its way up already, and not every handler prints notes
        _log.error("log file not written", error=str(error))

    def _append(self, kind: str, text: str) -> None:
        with self._lock:
            self._pending[kind].append(text)

    def _flush_to_disk(self, *, raise_errors: bool = True) -> None:
        """Take everything pending and write it (any thread; flushes never interleave).

        If a file fails, the other files are still written and the writer's first error (with
        every later failure as a note) is raised, unless ``raise_errors`` is False.
        """
        failed_now = False
        with self._write_lock:
            with self._lock:
                chunks = {kind: "".join(parts) for kind, parts in self._pending.items() if parts}
                for parts in self._pending.values():
                    parts.clear()
            for kind, text in chunks.items():
                if kind in self._failed:  # never write after a gap: the file ends where it broke
                    continue
                f = self._files[kind]
                try:
                    f.write(text)
                    f.flush()
                except OSError as exc:
                    self._record_failure(kind, exc)
                    failed_now = True
            if self._export is not None and "requests" not in self._failed:
                try:
                    self._export.write()
                except OSError as exc:
                    self._record_failure("requests", exc)
                    failed_now = True
        if failed_now and raise_errors and self._first_error is not None:
            raise self._first_error

    def _format_new_records(self, limit: int, *, ended: bool) -> bool:
        """Format up to ``limit`` new records of each kind; True if more are waiting.

        Trace events wait until the series has ended (or ``ended`` says it has): while it
        runs, only the sampled accuracy-log responses are formatted.
        """
        series = self._series
        if series is None:
            return False
        more = self._format_accuracy(series, limit)
        if self._exporting and self._export is not None:
            more = self._export.collect(series, limit, ended=ended or series.closed) or more
        if self._trace_enabled and (ended or series.closed):
            more = self._format_trace(series, limit) or more
        return more

    def _series_marker(self, series: Series) -> str:
        """An instant event where a series starts: lets readers split a trace into series."""
        plan = series.plan
        event = {
            "name": "Series", "ph": "i", "s": "p", "pid": self._pid,
            "ts": round((series.start_ns - self._origin_ns) / 1000, 3),
            "args": {
                "first_sample_seq": plan.first_sample_id, "first_query_seq": plan.first_query_id,
                "queries_issued": series.queries_issued, "samples_per_query": series.spq,
            },
        }  # fmt: skip
        self._trace_events += 1
        return json.dumps(event, separators=(",", ":")) + ",\n"

    def _format_accuracy(self, series: Series, limit: int) -> bool:
        logged = series.logged
        start = self._accuracy_cursor
        end = min(len(logged), start + limit)
        if end <= start:
            return False
        self._accuracy_cursor = end
        entries = []
        for entry in accuracy_entries(series, logged[start:end]):
            entries.append((",\n{ " if self._accuracy_entries else "\n{ ") + entry + " }")
            self._accuracy_entries += 1
        self._append("accuracy", "".join(entries))
        return end < len(logged)

    def _format_trace(self, series: Series, limit: int) -> bool:
        order = series.completion_order
        start = self._trace_cursor
        end = min(len(order), start + limit)
        if not self._trace_marked and series.queries_issued:
            self._trace_marked = True
            self._append("trace", self._series_marker(series))
        if end <= start:
            return False
        self._trace_cursor = end
        self._append("trace", trace_text(series, start, end, self._origin_ns, self._pid))
        self._trace_events += 2 * (end - start)
        return end < len(order)


def _write_error(path: Path, exc: OSError) -> OutputError:
    error = OutputError(f"cannot write {path}: {exc.strerror or exc}")
    error.__cause__ = exc
    return error
