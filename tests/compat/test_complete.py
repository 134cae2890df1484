"""QuerySamplesComplete and FirstTokenComplete against one series: batches, reads, failures."""

from __future__ import annotations

import ctypes
from pathlib import Path

import numpy as np
import pytest

import asyncgen.compat as lg
from asyncgen._engine.clock import FakeClock
from asyncgen._engine.series import Series
from tests.helpers import make_plan, open_writer

_BYTES = ctypes.create_string_buffer(b"abcd", 4)
_ADDRESS = ctypes.addressof(_BYTES)


def _series(
    tmp_path: Path, n: int = 4, *, tokens: bool = False, log_all: bool = True
) -> tuple[Series, FakeClock]:
    """A series of ``n`` issued one-sample queries on the running loop's thread."""
    clock = FakeClock(100)
    writer = open_writer(tmp_path)
    series = Series(
        make_plan([0] * n),
        clock=clock,
        events=writer,
        keep_completion_order=writer.trace_enabled,
        log_all_responses=log_all,
        log_mask=np.zeros(n, dtype=bool),
        use_tokens=tokens,
        needs_first_token=False,
    )
    writer.follow(series)
    series.mark_issued(0, n - 1, 100)
    return series, clock


def _ids(series: Series) -> list[int]:
    return [sample.id for sample in series.samples_for(0, series.plan.query_count - 1)]


@pytest.mark.asyncio
async def test_one_timestamp_covers_a_whole_batch(tmp_path: Path) -> None:
    series, clock = _series(tmp_path)
    calls: list[int] = []

    def response_cb(response: lg.QuerySampleResponse) -> None:
        calls.append(response.id)
        clock.advance(10)  # time passing inside the batch does not move its stamp

    clock.advance(5)
    ids = _ids(series)
    lg.QuerySamplesComplete([lg.QuerySampleResponse(i, _ADDRESS, 4) for i in ids], response_cb)
    assert list(series.completed_ns) == [105] * 4
    assert calls == ids


@pytest.mark.asyncio
async def test_unlogged_samples_skip_the_callback(tmp_path: Path) -> None:
    series, _ = _series(tmp_path, log_all=False)
    calls: list[int] = []
    responses = [lg.QuerySampleResponse(i, 0, 8) for i in _ids(series)]  # never read
    lg.QuerySamplesComplete(responses, lambda r: calls.append(r.id))
    assert series.samples_completed == 4 and calls == [] and not series.failures


@pytest.mark.asyncio
async def test_a_failed_read_fails_its_sample_and_the_first_error_is_raised_last(
    tmp_path: Path,
) -> None:
    series, _ = _series(tmp_path)
    ids = _ids(series)
    sizes = [4, 8, 4, 16]  # samples 1 and 3 have a null address: their reads fail
    addresses = [_ADDRESS, 0, _ADDRESS, 0]
    responses = [lg.QuerySampleResponse(*r) for r in zip(ids, addresses, sizes, strict=True)]
    with pytest.raises(ValueError, match=rf"response {ids[1]}: data is a null address with size 8"):
        lg.QuerySamplesComplete(responses)
    assert series.samples_completed == 4  # the batch went on after the failures
    assert sorted(series.failures) == [1, 3]
    assert series.failures[3] == (
        f"reading its response failed: ValueError('response {ids[3]}: "
        "data is a null address with size 16')"
    )
    assert list(series.logged) == [0, 2]


@pytest.mark.asyncio
async def test_a_raising_callback_fails_the_sample_without_a_read(tmp_path: Path) -> None:
    series, _ = _series(tmp_path, n=2)

    def response_cb(response: lg.QuerySampleResponse) -> None:
        raise OSError(f"copy {response.id} failed")

    ids = _ids(series)
    with pytest.raises(OSError, match=f"copy {ids[0]} failed"):
        lg.QuerySamplesComplete([lg.QuerySampleResponse(i, 0, 8) for i in ids], response_cb)
    assert sorted(series.failures) == [0, 1]
    assert "OSError" in series.failures[0]


@pytest.mark.asyncio
async def test_a_failed_first_token_read_still_counts_the_token(tmp_path: Path) -> None:
    series, clock = _series(tmp_path, tokens=True)
    clock.advance(3)
    ids = _ids(series)
    addresses = [0, _ADDRESS, 0, _ADDRESS]
    responses = [lg.QuerySampleResponse(i, a, 4) for i, a in zip(ids, addresses, strict=True)]
    with pytest.raises(ValueError, match=rf"response {ids[0]}: data is a null address"):
        lg.FirstTokenComplete(responses)
    assert list(series.first_token_ns) == [103] * 4
    assert series.samples_completed == 0 and not series.failures


@pytest.mark.asyncio
async def test_first_tokens_of_a_series_without_tokens_are_never_read(tmp_path: Path) -> None:
    series, _ = _series(tmp_path, tokens=False)
    lg.FirstTokenComplete([lg.QuerySampleResponse(i, 0, 8) for i in _ids(series)])  # no raise
    assert series.samples_completed == 0 and not series.failures
