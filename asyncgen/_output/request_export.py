"""``requests.jsonl`` (or ``requests.parquet``): one row per request of the performance series.

The run's writer drives it (``asyncgen._output.writer``): at each flush it hands over the
samples that finished since the last one — the series' ``completion_order`` column, read from a
cursor — and, once the series has ended, the samples that never completed. Rows are made from
the series' columns in batches (``request_times``), so nothing per request is kept for the
export: the text or the Arrow batch is written and dropped.

Columns (times in ns from the series start, null where there is none):

``series`` (0 for the first performance series; FindPeakPerformance probes count up),
``seq_id``, ``sample_index`` (the QSL index), ``turn`` (multi-turn: the conversation's turn,
from 0; else null), ``scheduled_ns``, ``queue_wait_ns`` (under a concurrency limit: the wait
for a slot, part of the latency; else null), ``issued_ns``, ``first_token_ns``,
``completed_ns`` (when it completed or failed), ``input_tokens`` (from the QSL's
``input_tokens(index)`` when it has one; null for a multi-turn run's later turns, which also
send the history), ``output_tokens`` (token mode; null for a request that failed or never
completed), ``slo_met`` (met every SLO; null without SLOs) and ``failure`` (null, the
failure's kind, or ``never_completed``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, Literal

import attrs
import numpy as np
import numpy.typing as npt

from asyncgen._engine.series import UNSET, Series
from asyncgen._engine.sessions import SessionSeries
from asyncgen._engine.tally import failure_kind
from asyncgen._errors import ConfigError
from asyncgen._metrics.goodput import ServiceLevelObjectives, met_all, request_latencies
from asyncgen._metrics.measurements import IntArray, RequestTimes, request_times

ExportFormat = Literal["jsonl", "parquet"]
EXPORT_FORMATS: tuple[ExportFormat, ...] = ("jsonl", "parquet")
NEVER_COMPLETED = "never_completed"
InputTokens = Callable[[int], int | None]
COLUMNS = (
    "series",
    "seq_id",
    "sample_index",
    "turn",
    "scheduled_ns",
    "queue_wait_ns",
    "issued_ns",
    "first_token_ns",
    "completed_ns",
    "input_tokens",
    "output_tokens",
    "slo_met",
    "failure",
)


def check_format(fmt: str) -> ExportFormat:
    """``fmt`` if it names an export format; Parquet only where pyarrow is installed."""
    if fmt == "jsonl":
        return "jsonl"
    if fmt == "parquet":
        _pyarrow()
        return "parquet"
    raise ConfigError(f"--export-requests {fmt!r}: choose jsonl or parquet")


def _pyarrow() -> Any:
    """pyarrow and pyarrow.parquet, or a ``ConfigError`` saying how to install them."""
    try:
        # Deferred: pyarrow is the optional `parquet` extra, and heavy; only a Parquet
        # export needs it.
        import pyarrow  # noqa: PLC0415
        import pyarrow.parquet  # noqa: PLC0415
    except ImportError:
        raise ConfigError(
            "a Parquet export needs pyarrow: pip install 'asyncgen[parquet]' "
            "(or use --export-requests jsonl)"
        ) from None
    return pyarrow


@attrs.frozen(kw_only=True)
class ExportSettings:
    """What a run's request export writes: the format, the SLOs each row is judged against,
    and where input token counts come from (a QSL's ``input_tokens(index)``)."""

    fmt: ExportFormat = "jsonl"
    slos: ServiceLevelObjectives | None = None
    input_tokens: InputTokens | None = None


class RequestExport:
    """The rows of one run's performance series, written as they finish."""

    def __init__(self, path: Path, settings: ExportSettings) -> None:
        self.path = path
        fmt = self.fmt = settings.fmt
        self._slos = settings.slos
        self._input_tokens = settings.input_tokens
        self._pending: list[dict[str, list[Any]]] = []  # column batches not yet written
        self._file: IO[str] | None = None
        self._parquet: Any = None  # a pyarrow.parquet.ParquetWriter once the first batch is in
        self._pa: Any = _pyarrow() if fmt == "parquet" else None
        self._series_number = -1
        self._cursor = 0
        self._missing_done = False
        self.rows = 0
        if fmt == "jsonl":
            self._file = path.open("w", encoding="utf-8")

    def follow(self, series: Series) -> None:
        """Export ``series``' requests from now on (a new performance series)."""
        self._series_number += 1
        self._cursor = 0
        self._missing_done = False

    def collect(self, series: Series, limit: int, *, ended: bool) -> bool:
        """Make rows of up to ``limit`` newly finished samples; True if more are waiting.
        Once the series has ended (``ended``), its samples that never completed follow."""
        order = series.completion_order
        start, end = self._cursor, min(len(order), self._cursor + limit)
        if end > start:
            self._cursor = end
            samples = np.frombuffer(order, dtype=np.int32 if order.typecode == "i" else np.int64)
            self._add(series, samples[start:end].astype(np.int64))
            return end < len(order)
        if ended and not self._missing_done:
            self._missing_done = True
            missing = np.asarray(series.missing_samples(), dtype=np.int64)
            if missing.size:
                self._add(series, missing)
        return False

    def _add(self, series: Series, samples: IntArray) -> None:
        times = request_times(series, samples)
        self._pending.append(self._columns(series, times))
        self.rows += int(samples.size)

    def _columns(self, series: Series, times: RequestTimes) -> dict[str, list[Any]]:
        start = series.start_ns
        n = int(times.samples.size)
        finished = times.completed_ns != UNSET
        answered = finished & ~times.failed
        slo_met: list[Any] = [None] * n
        if self._slos is not None:
            slo_met = met_all(self._slos, request_latencies(times)).tolist()
        failures = series.failures
        failure: list[Any] = [
            failure_kind(failures[s]) if s in failures else None if done else NEVER_COMPLETED
            for s, done in zip(times.samples.tolist(), finished.tolist(), strict=True)
        ]
        indices = series.plan.sample_indices[times.samples].tolist()
        queries = times.samples // series.spq
        turns = _session_column(series, "turn", queries)
        inputs: list[Any] = [None] * n
        if self._input_tokens is not None:
            inputs = [self._input_tokens(i) for i in indices]
            if turns is not None:  # a later turn sends the history too: not the QSL's count
                inputs = [v if t == 0 else None for v, t in zip(inputs, turns, strict=True)]
        return {
            "series": [self._series_number] * n,
            "seq_id": (times.samples + series.plan.first_sample_id).tolist(),
            "sample_index": indices,
            "turn": turns or [None] * n,
            "scheduled_ns": (times.scheduled_ns - start).tolist(),
            "queue_wait_ns": _session_column(series, "queue_wait_ns", queries) or [None] * n,
            "issued_ns": (times.issued_ns - start).tolist(),
            "first_token_ns": _relative(times.first_token_ns, start, n),
            "completed_ns": _relative(times.completed_ns, start, n),
            "input_tokens": inputs,
            "output_tokens": _where(answered, times.output_tokens, n),
            "slo_met": slo_met,
            "failure": failure,
        }

    def write(self) -> None:
        """Write the pending rows (the writer's flush thread; raises ``OSError``)."""
        batches, self._pending = self._pending, []
        for columns in batches:
            if self._file is not None:
                self._file.write(_jsonl(columns))
            else:
                self._write_parquet(columns)
        if self._file is not None:
            self._file.flush()

    def _write_parquet(self, columns: dict[str, list[Any]]) -> None:
        pa = self._pa
        table = pa.table(
            {name: pa.array(columns[name], type=_arrow_type(pa, name)) for name in COLUMNS}
        )
        if self._parquet is None:
            self._parquet = pa.parquet.ParquetWriter(str(self.path), table.schema)
        self._parquet.write_table(table)

    def close(self) -> None:
        """Close the file. A Parquet export with no rows still gets its schema."""
        if self._file is not None:
            self._file.close()
            return
        if self._parquet is None:
            self._write_parquet({name: [] for name in COLUMNS})
        self._parquet.close()


def _session_column(series: Series, name: str, queries: IntArray) -> list[Any] | None:
    """A ``SessionSeries``' per-query column (``turn``, ``queue_wait_ns``) at ``queries``;
    None when the series keeps no such column (not multi-turn, no concurrency limit)."""
    column = getattr(series, name, None) if isinstance(series, SessionSeries) else None
    if column is None:
        return None
    values = np.frombuffer(column, dtype=np.int32 if column.typecode == "i" else np.int64)
    return values[queries].tolist()  # type: ignore[no-any-return]


def _where(mask: npt.NDArray[np.bool_], column: IntArray | None, n: int) -> list[Any]:
    """``column``'s values where ``mask`` holds, else None (all None without a column)."""
    if column is None:
        return [None] * n
    return [v if ok else None for v, ok in zip(column.tolist(), mask.tolist(), strict=True)]


def _relative(column: IntArray | None, start: int, n: int) -> list[Any]:
    if column is None:
        return [None] * n
    return [None if t == UNSET else t - start for t in column.tolist()]


_ROW = "{" + ", ".join(f'"{name}": %s' for name in COLUMNS) + "}\n"


def _jsonl(columns: dict[str, list[Any]]) -> str:
    """JSON Lines, formatted column by column (a template per row, no dict per row)."""
    tokens = [_json_tokens(name, columns[name]) for name in COLUMNS]
    return "".join(map(_ROW.__mod__, zip(*tokens, strict=True)))


def _json_tokens(name: str, values: list[Any]) -> list[str]:
    if name == "failure":
        return ["null" if v is None else json.dumps(v) for v in values]
    if name == "slo_met":
        return ["null" if v is None else "true" if v else "false" for v in values]
    return ["null" if v is None else str(v) for v in values]


def _arrow_type(pa: Any, name: str) -> Any:
    if name == "slo_met":
        return pa.bool_()
    if name == "failure":
        return pa.string()
    return pa.int64()
