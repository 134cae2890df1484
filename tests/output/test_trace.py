"""Trace events of a series: exact times, slices, ids, Token pairs, Server counters, extra args."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from asyncgen._engine.clock import FakeClock
from asyncgen._engine.series import Schedule, Series
from asyncgen._output.trace import trace_text
from tests.helpers import make_plan, open_writer


def _series(
    tmp_path: Path,
    offsets_ns: Sequence[int],
    clock: FakeClock,
    *,
    schedule: Schedule,
    tokens: bool = False,
    server: bool = False,
    samples_per_query: int = 1,
    first_sample_id: int = 0,
    indices: Sequence[int] | None = None,
) -> Series:
    writer = open_writer(tmp_path, trace=True)
    n = len(offsets_ns) * samples_per_query
    plan = make_plan(
        offsets_ns,
        samples_per_query=samples_per_query,
        first_sample_id=first_sample_id,
        indices=indices,
    )
    return Series(
        plan,
        clock=clock,
        events=writer,
        keep_completion_order=writer.trace_enabled,
        log_all_responses=False,
        log_mask=np.zeros(n, dtype=bool),
        use_tokens=tokens,
        needs_first_token=True,
        server=server,
        schedule=schedule,
    )


@pytest.mark.asyncio
async def test_trace_text_gives_exact_nanoseconds_in_completion_order(tmp_path: Path) -> None:
    clock = FakeClock(100)
    series = _series(tmp_path, [0, 1], clock, schedule=Schedule.ISSUE)
    series.mark_issued(0, 1, 100)  # scheduled when issued, at 100
    a, b = series.samples_for(0, 1)
    clock.advance(1_234_567)
    b.complete(b"")
    a.complete(b"")
    text = trace_text(series, 0, 2, origin_ns=0, pid=9)
    assert text.splitlines() == [
        '{"name":"Sample","cat":"default","ph":"b","pid":9,"id":1,"ts":0.100,"args":'
        '{"sample_seq":1,"query_seq":1,"sample_idx":1,"issue_start_ns":0,'
        '"complete_ns":1234567}},',
        '{"name":"Sample","cat":"default","ph":"e","pid":9,"id":1,"ts":1234.667},',
        '{"name":"Sample","cat":"default","ph":"b","pid":9,"id":0,"ts":0.100,"args":'
        '{"sample_seq":0,"query_seq":0,"sample_idx":0,"issue_start_ns":0,'
        '"complete_ns":1234567}},',
        '{"name":"Sample","cat":"default","ph":"e","pid":9,"id":0,"ts":1234.667},',
    ]
    assert trace_text(series, 2, 2, origin_ns=0, pid=9) == ""


@pytest.mark.asyncio
async def test_a_slice_of_multi_sample_queries_carries_global_ids_and_qsl_indices(
    tmp_path: Path,
) -> None:
    clock = FakeClock(100)
    series = _series(
        tmp_path,
        [0, 0],
        clock,
        schedule=Schedule.START,
        samples_per_query=2,
        first_sample_id=10,
        indices=[5, 6, 7, 8],
    )
    series.start_ns = 100
    clock.advance(20)
    series.mark_issued(0, 1, clock.now_ns())  # both queries 20 ns after the start
    samples = series.samples_for(0, 1)
    for s in (3, 0, 2, 1):
        clock.advance(10)
        samples[s].complete(b"")
    assert list(series.completion_order) == [3, 0, 2, 1]
    # the middle of the completion order: samples 0 (query 0) and 2 (query 1)
    assert trace_text(series, 1, 3, origin_ns=0, pid=2).splitlines() == [
        '{"name":"Sample","cat":"default","ph":"b","pid":2,"id":10,"ts":0.100,"args":'
        '{"sample_seq":10,"query_seq":0,"sample_idx":5,"issue_start_ns":20,"complete_ns":40}},',
        '{"name":"Sample","cat":"default","ph":"e","pid":2,"id":10,"ts":0.140},',
        '{"name":"Sample","cat":"default","ph":"b","pid":2,"id":12,"ts":0.100,"args":'
        '{"sample_seq":12,"query_seq":1,"sample_idx":7,"issue_start_ns":20,"complete_ns":50}},',
        '{"name":"Sample","cat":"default","ph":"e","pid":2,"id":12,"ts":0.150},',
    ]


@pytest.mark.asyncio
async def test_token_pairs_follow_the_samples_and_skip_those_without_a_first_token(
    tmp_path: Path,
) -> None:
    clock = FakeClock(100)
    series = _series(tmp_path, [0, 0, 0], clock, schedule=Schedule.ISSUE, tokens=True)
    series.mark_issued(0, 2, 100)
    a, b, c = series.samples_for(0, 2)
    clock.advance(10)
    a.first_token(b"")
    clock.advance(20)
    a.complete(b"", 5)
    clock.advance(10)
    b.fail(ValueError("x"))  # failed before its first token
    clock.advance(60)
    c.complete(b"", 3)  # no first token: counted as arriving with the completion
    assert trace_text(series, 0, 3, origin_ns=100, pid=1).splitlines() == [
        '{"name":"Sample","cat":"default","ph":"b","pid":1,"id":0,"ts":0.000,"args":'
        '{"sample_seq":0,"query_seq":0,"sample_idx":0,"issue_start_ns":0,"complete_ns":30,'
        '"n_tokens":5}},',
        '{"name":"Sample","cat":"default","ph":"e","pid":1,"id":0,"ts":0.030},',
        '{"name":"Sample","cat":"default","ph":"b","pid":1,"id":1,"ts":0.000,"args":'
        '{"sample_seq":1,"query_seq":1,"sample_idx":1,"issue_start_ns":0,"complete_ns":40,'
        '"n_tokens":0,"failed":true}},',
        '{"name":"Sample","cat":"default","ph":"e","pid":1,"id":1,"ts":0.040},',
        '{"name":"Sample","cat":"default","ph":"b","pid":1,"id":2,"ts":0.000,"args":'
        '{"sample_seq":2,"query_seq":2,"sample_idx":2,"issue_start_ns":0,"complete_ns":100,'
        '"n_tokens":3}},',
        '{"name":"Sample","cat":"default","ph":"e","pid":1,"id":2,"ts":0.100},',
        '{"name":"Token","cat":"default","ph":"b","pid":1,"id":0,"ts":0.000,"args":'
        '{"sample_seq":0,"query_seq":0,"sample_idx":0,"issue_start_ns":0,"complete_ns":10}},',
        '{"name":"Token","cat":"default","ph":"e","pid":1,"id":0,"ts":0.010},',
        '{"name":"Token","cat":"default","ph":"b","pid":1,"id":2,"ts":0.000,"args":'
        '{"sample_seq":2,"query_seq":2,"sample_idx":2,"issue_start_ns":0,"complete_ns":100}},',
        '{"name":"Token","cat":"default","ph":"e","pid":1,"id":2,"ts":0.100},',
    ]


@pytest.mark.asyncio
async def test_server_adds_latency_counters_and_counts_first_tokens_instead_of_pairs(
    tmp_path: Path,
) -> None:
    clock = FakeClock(1007)
    series = _series(tmp_path, [0, 50], clock, schedule=Schedule.PLAN, tokens=True, server=True)
    series.start_ns = 1000
    (s0,) = series.start_query(0, 0)  # scheduled at 1000, issued at 1007
    clock.advance(53)
    (s1,) = series.start_query(1, 1)  # scheduled at 1050, issued at 1060
    clock.advance(40)
    s1.first_token(b"")  # 1100
    clock.advance(100)
    s1.complete(b"", 2)  # 1200
    clock.advance(100)
    s0.first_token(b"")  # 1300
    clock.advance(200)
    s0.complete(b"", 4)  # 1500
    assert trace_text(series, 0, 2, origin_ns=0, pid=3).splitlines() == [
        '{"name":"Sample","cat":"default","ph":"b","pid":3,"id":1,"ts":1.050,"args":'
        '{"sample_seq":1,"query_seq":1,"sample_idx":1,"issue_start_ns":10,"complete_ns":150,'
        '"n_tokens":2}},',
        '{"name":"Sample","cat":"default","ph":"e","pid":3,"id":1,"ts":1.200},',
        '{"name":"Sample","cat":"default","ph":"b","pid":3,"id":0,"ts":1.000,"args":'
        '{"sample_seq":0,"query_seq":0,"sample_idx":0,"issue_start_ns":7,"complete_ns":500,'
        '"n_tokens":4}},',
        '{"name":"Sample","cat":"default","ph":"e","pid":3,"id":0,"ts":1.500},',
        '{"name":"Latency","ph":"C","pid":3,"ts":1.050,"args":'
        '{"issue_delay":10,"issue_to_done":140}},',
        '{"name":"Latency","ph":"C","pid":3,"ts":1.000,"args":'
        '{"issue_delay":7,"issue_to_done":493}},',
        '{"name":"Token_Latency","ph":"C","pid":3,"ts":1.050,"args":'
        '{"issue_delay":10,"issue_to_done":40}},',
        '{"name":"Token_Latency","ph":"C","pid":3,"ts":1.000,"args":'
        '{"issue_delay":7,"issue_to_done":293}},',
    ]
