"""The per-request export: rows made from the series' columns as samples finish, exact times."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from asyncgen._engine.clock import FakeClock
from asyncgen._engine.series import Series
from asyncgen._errors import ConfigError
from asyncgen._metrics.goodput import ServiceLevelObjectives
from asyncgen._output import request_export
from asyncgen._output.request_export import COLUMNS, ExportSettings, check_format
from asyncgen._output.writer import LogWriter
from tests.helpers import log_to, make_plan

MS = 1_000_000


def _exported(tmp_path: Path, fmt: str = "jsonl") -> tuple[Series, LogWriter, FakeClock]:
    clock = FakeClock(1_000)
    export = ExportSettings(
        fmt=check_format(fmt),
        slos=ServiceLevelObjectives(ttft_ms=10, e2e_ms=50),
        input_tokens=lambda index: index * 2 if index % 2 else None,
    )
    writer = LogWriter(log_to(tmp_path, trace=False), "t", 0, export=export)
    series = Series(
        make_plan([0, 5 * MS, 10 * MS, 15 * MS], indices=[7, 8, 9, 10], first_sample_id=40),
        clock=clock,
        events=writer,
        keep_completion_order=writer.exports_requests,
        log_all_responses=False,
        log_mask=np.zeros(4, dtype=bool),
        use_tokens=True,
        needs_first_token=True,
    )
    series.start_ns = 1_000
    writer.follow(series, export=True)
    return series, writer, clock


def _run_four_requests(series: Series, clock: FakeClock) -> None:
    """Sample 0 meets both SLOs, 1 misses TTFT, 2 fails, 3 never completes."""
    a, b, c, _never = (series.start_query(q, 7 + q) for q in range(4))
    clock.advance(8 * MS)
    a[0].first_token(b"x")
    clock.advance(20 * MS)
    a[0].complete(b"", 5)  # t = 28 ms: TTFT 8 ms, E2E 28 ms
    b[0].first_token(b"x")  # scheduled at 5 ms: TTFT 23 ms
    clock.advance(2 * MS)
    b[0].complete(b"", 3)
    c[0].fail("timeout: no answer")


@pytest.mark.asyncio
async def test_rows_are_written_as_samples_finish(tmp_path: Path) -> None:
    series, writer, clock = _exported(tmp_path)
    _run_four_requests(series, clock)
    await writer._flush_once()  # the run goes on: three rows so far
    path = writer.paths["requests"]
    assert path == tmp_path / "requests.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(rows) == 3
    series.closed = True
    writer.close()
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert [list(row) for row in rows] == [list(COLUMNS)] * 4
    first, second, failed, missing = rows
    assert first == {
        "series": 0,
        "seq_id": 40,
        "sample_index": 7,
        "turn": None,
        "scheduled_ns": 0,
        "queue_wait_ns": None,
        "issued_ns": 0,
        "first_token_ns": 8 * MS,
        "completed_ns": 28 * MS,
        "input_tokens": 14,
        "output_tokens": 5,
        "slo_met": True,
        "failure": None,
    }
    assert second["scheduled_ns"] == 5 * MS and second["first_token_ns"] == 28 * MS
    assert second["input_tokens"] is None and second["slo_met"] is False
    assert (failed["failure"], failed["slo_met"], failed["output_tokens"]) == (
        "timeout",
        False,
        None,
    )
    assert failed["completed_ns"] == 30 * MS
    assert missing["seq_id"] == 43 and missing["failure"] == "never_completed"
    assert missing["completed_ns"] is None and missing["first_token_ns"] is None


@pytest.mark.asyncio
async def test_parquet_has_the_same_rows(tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    series, writer, clock = _exported(tmp_path, "parquet")
    _run_four_requests(series, clock)
    await writer._flush_once()
    series.closed = True
    writer.close()
    table = pq.read_table(writer.paths["requests"])
    assert table.column_names == list(COLUMNS)
    assert table.column("failure").to_pylist() == [None, None, "timeout", "never_completed"]
    assert table.column("completed_ns").to_pylist() == [28 * MS, 30 * MS, 30 * MS, None]


def test_formats_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="choose jsonl or parquet"):
        check_format("csv")

    def no_pyarrow() -> None:
        raise ConfigError("a Parquet export needs pyarrow: pip install 'asyncgen[parquet]'")

    monkeypatch.setattr(request_export, "_pyarrow", no_pyarrow)
    with pytest.raises(ConfigError, match=r"asyncgen\[parquet\]"):
        check_format("parquet")


@pytest.mark.asyncio
async def test_accuracy_series_are_not_exported(tmp_path: Path) -> None:
    series, writer, _ = _exported(tmp_path)
    writer.follow(series, export=False)
    series.start_query(0, 7)[0].complete(b"", 2)
    series.closed = True
    writer.close()
    assert writer.paths["requests"].read_text() == ""
