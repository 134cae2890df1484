"""Short real-time runs on uvloop: every scenario and mode end to end, files included."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from pathlib import Path

import attrs
import pytest

import asyncgen
from asyncgen import TestMode, TestScenario
from asyncgen.sut import QuerySample
from asyncgen.testing import FakeClock
from tests.helpers import (
    ListQSL,
    RecordingSUT,
    detail_values,
    log_to,
    read_detail,
    short_settings,
)


async def _echo(sample: QuerySample) -> bytes:
    await asyncio.sleep(0)
    return sample.index.to_bytes(4, "little")


def _check_files(result: asyncgen.TestResult) -> None:
    read_detail(result.files["detail"])  # every line parses
    json.loads(result.files["accuracy"].read_text())
    if "trace" in result.files:
        json.loads(result.files["trace"].read_text())
    assert json.loads(result.files["results"].read_text())["valid"] == result.valid


@pytest.mark.parametrize("scenario", list(TestScenario))
def test_performance_run_is_valid_and_writes_every_file(
    tmp_path: Path, scenario: TestScenario
) -> None:
    settings = short_settings(scenario, TestMode.PerformanceOnly)
    result = asyncgen.run(
        asyncgen.FunctionSUT(_echo),
        ListQSL(),
        settings,
        log_settings=log_to(tmp_path),
        audit_config=None,
    )
    _check_files(result)
    detail = detail_values(result.files["detail"])
    assert detail["result_validity"] == ("VALID" if result.valid else "INVALID")
    assert detail["num_errors"] == result.errors
    summary = result.files["summary"].read_text()
    assert summary.startswith(
        "================================================\nMLPerf Results Summary"
    )
    assert f"Scenario : {scenario.name}" in summary
    assert result.latencies_ns.size > 0
    assert (
        result.issue_lag.count == detail["result_query_count"]
        or scenario is not TestScenario.Server
    )


@pytest.mark.parametrize("scenario", list(TestScenario))
def test_accuracy_run_logs_every_sample_once(tmp_path: Path, scenario: TestScenario) -> None:
    qsl = ListQSL(total=40, performance=16)
    settings = short_settings(scenario, TestMode.AccuracyOnly, multi_stream_samples_per_query=3)
    result = asyncgen.run(
        asyncgen.FunctionSUT(_echo),
        qsl,
        settings,
        log_settings=log_to(tmp_path),
        audit_config=None,
    )
    _check_files(result)
    entries = json.loads(result.files["accuracy"].read_text())
    indices = sorted({e["qsl_idx"] for e in entries})
    assert indices == list(range(40))
    if scenario is not TestScenario.MultiStream:  # MultiStream pads windows with duplicates
        assert len(entries) == 40
    for entry in entries:
        assert bytes.fromhex(entry["data"]) == entry["qsl_idx"].to_bytes(4, "little")
    assert [len(s) for s in qsl.loaded] == [len(s) for s in qsl.unloaded]
    assert result.files["summary"].read_text().startswith("\nNo warnings encountered")


def test_submission_run_does_accuracy_then_performance(tmp_path: Path) -> None:
    qsl = ListQSL(total=20, performance=8)
    settings = short_settings(TestScenario.Server, TestMode.SubmissionRun)
    result = asyncgen.run(
        asyncgen.FunctionSUT(_echo), qsl, settings, log_settings=log_to(tmp_path), audit_config=None
    )
    messages = [
        e["value"] for e in read_detail(result.files["detail"]) if e["key"] == "generic_message"
    ]
    assert messages[:2] == ["Starting accuracy mode", "Starting performance mode"]
    assert len(json.loads(result.files["accuracy"].read_text())) == 20
    assert "Mode     : SubmissionRun" in result.files["summary"].read_text()


def test_a_sample_that_never_completes_ends_the_run_invalid(tmp_path: Path) -> None:
    async def drop_index_3(sample: QuerySample) -> bytes:
        if sample.index == 3:
            await asyncio.Event().wait()
        return b""

    settings = short_settings(TestScenario.Offline, TestMode.PerformanceOnly, drain_timeout_ms=200)
    result = asyncgen.run(
        asyncgen.FunctionSUT(drop_index_3),
        ListQSL(),
        settings,
        log_settings=log_to(tmp_path),
        audit_config=None,
    )
    assert not result.valid
    assert result.missing_samples and all(idx == 3 for _, idx in result.missing_samples)
    detail = detail_values(result.files["detail"])
    assert "samples never completed" in detail["error_runtime"]
    _check_files(result)


def test_a_sut_that_raises_stops_the_run_with_complete_files(tmp_path: Path) -> None:
    class Broken(RecordingSUT):
        async def issue_query(self, samples: Sequence[QuerySample]) -> None:
            raise ValueError("model exploded")

    settings = short_settings(TestScenario.Server, TestMode.PerformanceOnly)
    with pytest.raises(asyncgen.RunError) as info:
        asyncgen.run(
            Broken(), ListQSL(), settings, log_settings=log_to(tmp_path), audit_config=None
        )
    assert isinstance(info.value.__cause__, ValueError)
    detail = read_detail(tmp_path / "mlperf_log_detail.txt")
    assert any("model exploded" in str(e["value"]) for e in detail)
    json.loads((tmp_path / "mlperf_log_accuracy.json").read_text())
    json.loads((tmp_path / "mlperf_log_trace.json").read_text())


def test_audit_config_in_the_working_directory_overrides_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("audit.config").write_text("*.Server.min_query_count = 77\n")
    settings = short_settings(TestScenario.Server, TestMode.PerformanceOnly)
    result = asyncgen.run(
        asyncgen.FunctionSUT(_echo), ListQSL(), settings, log_settings=log_to(tmp_path / "out")
    )
    detail = detail_values(result.files["detail"])
    assert detail["requested_min_query_count"] == 77
    assert detail["warning_generic_message"].startswith("Found Audit Config file")
    # one warning for the audit.config (a busy machine may add asyncgen's timing reports)
    audit = [w for w in result.warning_messages if w.startswith("Found Audit Config file")]
    assert len(audit) == 1 and result.warnings == len(result.warning_messages)


def test_find_peak_performance_reports_the_lower_bound(tmp_path: Path) -> None:
    settings = short_settings(
        TestScenario.Server,
        TestMode.FindPeakPerformance,
        server_target_qps=200,
        min_duration_ms=50,
        server_target_latency_ns=30_000_000,
        server_find_peak_qps_decimals_of_precision=0,
    )

    # A fake clock and a SUT that takes 1 ms of it per query: the search, and so every message
    # and the peak, are the same on any machine (real time made the 200 QPS probe fail when a
    # busy machine held the run back for longer than the 30 ms bound).
    clock = FakeClock(10**12)

    class OneMillisecondPerQuery:
        name = "one-ms"

        async def issue_query(self, samples: Sequence[QuerySample]) -> None:
            clock.advance(1_000_000)
            for sample in samples:
                sample.complete(b"")

        async def flush_queries(self) -> None:
            pass

    result = asyncgen.run(
        OneMillisecondPerQuery(),
        ListQSL(),
        settings,
        log_settings=log_to(tmp_path, trace=False),
        audit_config=None,
        clock=clock,
    )
    messages = [
        e["value"]
        for e in read_detail(result.files["detail"])
        if e["key"] == "generic_message" and not e["value"].startswith("arrival fidelity")
    ]
    assert messages[0] == "Starting FindPeakPerformance mode"
    assert any(
        m.startswith("FindBoundaries: Checking fields [200.000000, 400.000000)") for m in messages
    )
    assert "FindPeakPerformance: Found boundaries: [1600.000000, 3200.000000)" in messages
    assert result.peak_qps is not None and 1600 <= result.peak_qps < 3200
    assert messages[-1] == f"FindPeakPerformance: Found peak performance field: {result.peak_qps:f}"


def test_progress_snapshots_arrive_while_queries_are_paced(tmp_path: Path) -> None:
    seen: list[asyncgen.Progress] = []
    settings = short_settings(TestScenario.Server, TestMode.PerformanceOnly, min_duration_ms=300)
    asyncgen.run(
        asyncgen.FunctionSUT(_echo),
        ListQSL(),
        settings,
        log_settings=log_to(tmp_path, trace=False),
        audit_config=None,
        progress=seen.append,
        progress_interval_s=0.05,
    )
    assert len(seen) >= 3
    assert all(p.phase == "performance" for p in seen)
    issued = [p.samples_issued for p in seen]
    assert issued == sorted(issued) and issued[-1] > issued[0]
    assert seen[-1].expected_s is not None and seen[-1].expected_s >= 0.3
    assert all(p.in_flight >= 0 for p in seen)


async def _tokens(sample: QuerySample) -> tuple[bytes, int]:
    await asyncio.sleep(0)
    sample.first_token(b"\x01")
    await asyncio.sleep(0)
    return b"\x01\x02", 4


@pytest.mark.parametrize("scenario", [TestScenario.Server, TestScenario.SingleStream])
def test_trace_carries_first_tokens_counters_and_series_markers(
    tmp_path: Path, scenario: TestScenario
) -> None:
    settings = short_settings(scenario, TestMode.PerformanceOnly, use_token_latencies=True)
    result = asyncgen.run(
        asyncgen.FunctionSUT(_tokens),
        ListQSL(),
        settings,
        log_settings=log_to(tmp_path),
        audit_config=None,
    )
    trace = json.loads(result.files["trace"].read_text())
    events = trace["traceEvents"]
    names = [e.get("name") for e in events]
    samples = [e for e in events if e.get("name") == "Sample" and e["ph"] == "b"]
    assert samples and all(e["args"]["n_tokens"] == 4 for e in samples)
    assert names.count("Series") == 1
    if scenario is TestScenario.Server:
        latency = [e for e in events if e.get("name") == "Latency"]
        tokens = [e for e in events if e.get("name") == "Token_Latency"]
        assert len(latency) == len(tokens) == len(samples)
        lag = {e["ts"]: e["args"]["issue_delay"] for e in latency}
        assert all(lag[s["ts"]] == s["args"]["issue_start_ns"] for s in samples)
    else:
        token_begins = [e for e in events if e.get("name") == "Token" and e["ph"] == "b"]
        assert len(token_begins) == len(samples)
        ends = {e["id"]: e["args"]["complete_ns"] for e in token_begins}
        assert all(0 <= ends[s["id"]] <= s["args"]["complete_ns"] for s in samples)
    # The footer's origin is wall-clock epoch time in microseconds, as the reference writes it.
    assert abs(trace["otherData"]["ts"] / 1e6 - time.time()) < 60


REFERENCE_FILES = [
    "mlperf_log_accuracy.json",
    "mlperf_log_detail.txt",
    "mlperf_log_summary.txt",
    "mlperf_log_trace.json",
]


def test_without_results_json_only_the_reference_files_are_written(tmp_path: Path) -> None:
    log = attrs.evolve(log_to(tmp_path), write_results_json=False)
    result = asyncgen.run(
        asyncgen.FunctionSUT(_echo),
        ListQSL(),
        short_settings(TestScenario.Offline),
        log_settings=log,
        audit_config=None,
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == REFERENCE_FILES
    assert sorted(result.files) == ["accuracy", "detail", "summary", "trace"]
    assert result.to_dict()["files"] == {k: str(v) for k, v in result.files.items()}


def test_a_stopped_run_writes_no_results_json_when_asked_not_to(tmp_path: Path) -> None:
    class Raising(RecordingSUT):
        async def issue_query(self, samples: Sequence[QuerySample]) -> None:
            raise RuntimeError("the model fell over")

    log = attrs.evolve(log_to(tmp_path, trace=False), write_results_json=False)
    with pytest.raises(asyncgen.RunError):
        asyncgen.run(
            Raising(), ListQSL(), short_settings(TestScenario.Server), log_settings=log,
            audit_config=None,
        )  # fmt: skip
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        name for name in REFERENCE_FILES if name != "mlperf_log_trace.json"
    ]
