"""Reading per-sample timestamps from traces: asyncgen's, the reference's quirks, truncation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

import asyncgen
from asyncgen.report import TraceSamples, parse_trace, read_trace
from asyncgen.report._trace import UNKNOWN
from tests.report.conftest import reference_folder

ASYNCGEN_TRACE = """{"traceEvents":[
{"name":"Sample","cat":"default","ph":"b","pid":7,"id":1,"ts":2000.5,"args":{"sample_seq":1,"query_seq":1,"sample_idx":9,"issue_start_ns":250,"complete_ns":3000}},
{"name":"Sample","cat":"default","ph":"e","pid":7,"id":1,"ts":2003.5},
{"name":"Sample","cat":"default","ph":"b","pid":7,"id":0,"ts":1000.001,"args":{"sample_seq":0,"query_seq":0,"sample_idx":4,"issue_start_ns":0,"complete_ns":1500}},
{"name":"Sample","cat":"default","ph":"e","pid":7,"id":0,"ts":1001.501},
{"name":"LastTrace"}
],
"displayTimeUnit":"ns",
"otherData":{"ts":1.000,"version":"asyncgen trace v1"}}
"""

# The reference's layout: a space after "ph": in counters and end events, doubled quotes in
# LogDetail args (not JSON), Server Token_Latency counters, and a file cut mid-line.
REFERENCE_TRACE = "\n".join(
    (
        '{"traceEvents":[',
        '{"name":"LogDetail","ph":"X","pid":1,"tid":1,"ts":1.0,"dur":1.0,'
        '"args":{"key":""num_errors""}},',
        '{"name":"Token_Latency","ph": "C","pid":1,"ts":10.000,'
        '"args":{ "issue_delay":100,"issue_to_done":400}},',
        '{"name":"Latency","ph": "C","pid":1,"ts":10.000,'
        '"args":{ "issue_delay":100,"issue_to_done":900}},',
        '{"name":"Sample","cat":"default","ph":"b","pid":1,"id":0,"ts":10.000,'
        '"args":{"sample_seq":0,"query_seq":0,"sample_idx":3,"issue_start_ns":100,'
        '"complete_ns":1000}},',
        '{"name":"Sample","cat":"default","ph":"e", "pid":1,"id":0,"ts":11.000},',
        '{"name":"Token_Latency","ph": "C","pid":1,"ts":20.000,'
        '"args":{ "issue_delay":50,"issue_to_done":150}},',
        '{"name":"Sample","cat":"default","ph":"b","pid":1,"id":1,"ts":20.000,'
        '"args":{"sample_seq":1,"query_seq":1,"sample_idx":5,"issue_start_ns":50,'
        '"complete_ns":700}},',
        '{"name":"Sample","cat":"default","ph":"b","pid":1,"id":2,"ts":30.000,'
        '"args":{"sample_seq":2,"query_se',
    )
)


def test_asyncgen_trace_gives_exact_nanoseconds_in_sample_order() -> None:
    samples = parse_trace(ASYNCGEN_TRACE)
    assert samples is not None
    assert samples.sample_seq.tolist() == [0, 1]
    assert samples.scheduled_ns.tolist() == [1_000_001, 2_000_500]
    assert samples.issued_ns.tolist() == [1_000_001, 2_000_750]
    assert samples.completed_ns.tolist() == [1_001_501, 2_003_500]
    assert samples.latency_ns.tolist() == [1500, 3000]
    assert samples.sample_idx.tolist() == [4, 9]
    assert samples.first_token_ns.size == 0


def test_reference_quirks_and_truncation_are_tolerated() -> None:
    samples = parse_trace(REFERENCE_TRACE)
    assert samples is not None
    assert samples.count == 2  # the cut-off third event is dropped, not an error
    assert samples.latency_ns.tolist() == [1000, 700]
    # Server first tokens: issue delay + issue-to-token, matched by scheduled time.
    assert (samples.first_token_ns - samples.scheduled_ns).tolist() == [500, 200]


def test_token_async_events_match_samples_by_sequence() -> None:
    text = "\n".join(
        json.dumps(event, separators=(",", ":")) + ","
        for event in (
            _begin("Token", seq=0, ts=5.0, complete=300),
            _begin("Sample", seq=0, ts=5.0, complete=900),
            _begin("Sample", seq=1, ts=5.0, complete=950),  # no token event traced
        )
    )
    samples = parse_trace(text)
    assert samples is not None
    assert samples.count == 2  # Token events are not samples
    assert samples.first_token_ns.tolist() == [5_300, UNKNOWN]


def test_other_key_order_falls_back_to_json_lines() -> None:
    event = {
        "ph": "b",
        "name": "Sample",
        "id": 3,
        "ts": 4.5,
        "args": {
            "complete_ns": 80,
            "issue_start_ns": 5,
            "sample_idx": 1,
            "query_seq": 3,
            "sample_seq": 3,
            "n_tokens": 7,
        },
    }
    samples = parse_trace('{"traceEvents":[\n' + json.dumps(event) + ",\nbroken {line\n")
    assert samples is not None
    assert samples.scheduled_ns.tolist() == [4500]
    assert samples.completed_ns.tolist() == [4580]
    assert samples.n_tokens.tolist() == [7]


def test_empty_or_missing_traces_give_none(tmp_path: Path) -> None:
    assert parse_trace("") is None
    assert parse_trace('{"traceEvents":[\n{"name":"LastTrace"}\n]}') is None
    assert read_trace(tmp_path / "mlperf_log_trace.json") is None
    (tmp_path / "empty.json").write_text("", encoding="utf-8")  # enable_trace=False in LoadGen
    assert read_trace(tmp_path / "empty.json") is None


def test_engine_trace_matches_the_in_memory_latencies(server_run: asyncgen.TestResult) -> None:
    samples = read_trace(server_run.files["trace"])
    assert isinstance(samples, TraceSamples)
    assert samples.count == server_run.summary.sample_count  # type: ignore[union-attr]
    assert np.array_equal(samples.latency_ns, server_run.latencies_ns)
    lags = samples.issued_ns - samples.scheduled_ns
    assert int(lags.max()) == server_run.issue_lag.max_ns


def test_reads_the_reference_single_stream_tokens() -> None:
    folder = reference_folder("SingleStream", "token_latencies")
    samples = read_trace(folder / "mlperf_log_trace.json")
    assert samples is not None and samples.count > 100
    ttft = samples.first_token_ns - samples.scheduled_ns
    assert np.all(samples.first_token_ns != UNKNOWN)
    assert np.all((ttft > 0) & (ttft <= samples.latency_ns))
    # The first sample, read off the file by eye: Token complete_ns 1124696.
    assert int(ttft[0]) == 1_124_696


def _begin(name: str, *, seq: int, ts: float, complete: int) -> dict[str, object]:
    return {
        "name": name,
        "cat": "default",
        "ph": "b",
        "pid": 1,
        "id": seq,
        "ts": ts,
        "args": {
            "sample_seq": seq,
            "query_seq": 0,
            "sample_idx": seq,
            "issue_start_ns": 0,
            "complete_ns": complete,
        },
    }
