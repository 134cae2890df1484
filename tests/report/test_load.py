"""Loading runs: asyncgen's folders and TestResults, the reference's folders, and gaps."""

from __future__ import annotations

import json
from pathlib import Path

import attrs
import pytest

import asyncgen
from asyncgen.report import TokenFigure, figures, load_run
from asyncgen.report._tokens import mean_tokens_per_sample
from tests.report.conftest import reference_folder


def test_reference_server_run() -> None:
    run = load_run(reference_folder("Server", "performance"))
    assert (run.scenario, run.mode, run.valid) == ("Server", "PerformanceOnly", True)
    assert run.headline is not None
    assert (run.headline.name, run.headline.value) == ("Completed samples per second", 593.03)
    assert run.headline.higher_is_better
    assert run.target_qps == 600 and run.target_latency_ns == 100_000_000
    assert run.query_count == 595 and run.expected_samples == 595
    assert run.sample_latency is not None and run.sample_latency.percentiles_ns[0.99] == 3_412_358
    # The captured trace was cut after ~120 samples: said so, statistics untouched.
    assert run.samples is not None and 100 < run.samples.count < 595
    assert not run.trace_complete
    assert any("covers 122 of the 595 samples" in note for note in run.notes)


def test_reference_multistream_headline_is_a_query_percentile() -> None:
    run = load_run(reference_folder("MultiStream", "performance"))
    assert run.headline is not None and run.headline.percentile == 0.99
    assert not run.headline.higher_is_better
    assert run.query_latency is not None
    assert run.headline.value == run.query_latency.percentiles_ns[0.99] == 2_623_321
    assert run.samples_per_query == 8 and run.expected_samples == 662 * 8


@pytest.mark.parametrize(
    "parts",
    [("Offline", "token_latencies_acc_sampling"), ("Server", "token_latencies_acc_sampling")],
)
def test_reference_token_runs_give_their_three_tokens_per_sample(parts: tuple[str, str]) -> None:
    # The capture harness answered every sample with n_tokens=3.
    run = load_run(reference_folder(*parts))
    assert run.token_mode
    assert mean_tokens_per_sample(run) == pytest.approx(3.0, rel=0.01)
    tokens = figures(run)["tokens"]
    assert isinstance(tokens, TokenFigure) and tokens.tokens_estimated


def test_reference_server_first_tokens_come_from_the_counters() -> None:
    run = load_run(reference_folder("Server", "token_latencies_acc_sampling"))
    tokens = figures(run)["tokens"]
    assert isinstance(tokens, TokenFigure) and tokens.ttft_per_sample
    assert tokens.ttft_ms is not None and tokens.ttft_ms.count == run.samples.count  # type: ignore[union-attr]
    reported = run.first_token_latency
    assert reported is not None
    # The traced part lies within the whole run's reported range.
    assert reported.min_ns / 1e6 <= tokens.ttft_ms.cdf_x[0]
    assert tokens.ttft_ms.cdf_x[-1] <= reported.max_ns / 1e6
    assert not tokens.tpot_per_sample  # no per-sample token counts in any trace
    assert tokens.ttft_target_ms == 50.0  # server_ttft_latency in that run


def test_reference_runs_without_a_trace_say_so() -> None:
    run = load_run(reference_folder("Server", "coalesce_queries"))
    assert run.samples is None and run.valid is True
    assert any("No trace was written" in note for note in run.notes)
    assert set(figures(run)) == {"latency_distribution"}


def test_an_empty_summary_and_no_results_still_load() -> None:
    run = load_run(reference_folder("misc", "issue_query_threads_mismatch_hang"))
    assert run.scenario == "Server" and run.headline is None and run.valid is None
    assert figures(run) == {}


def test_engine_results_json_adds_verdict_reasons_and_lag(
    server_run: asyncgen.TestResult,
) -> None:
    run = load_run(server_run.files["summary"].parent, label="mine")
    assert run.label == "mine" and run.valid == server_run.valid
    assert run.issue_lag == server_run.issue_lag
    assert run.trace_complete and run.notes == ()
    assert run.headline is not None and run.headline.name == "Completed samples per second"
    summary = server_run.summary
    assert summary is not None
    assert run.headline.value == pytest.approx(summary.rates.completed_samples_per_second, abs=0.01)


def test_a_test_result_loads_without_its_detail_log(
    server_run: asyncgen.TestResult, tmp_path: Path
) -> None:
    # Only results.json survives: statistics come from it and the TestResult.
    (tmp_path / "mlperf_log_results.json").write_text(server_run.to_json(), encoding="utf-8")
    result = attrs_evolve_files(server_run, tmp_path)
    run = load_run(result)
    assert run.scenario == "Server" and run.target_qps == 1000
    assert run.sample_latency is not None
    summary = server_run.summary
    assert summary is not None
    assert run.sample_latency.percentiles_ns[0.99] == summary.sample_latency.percentiles_ns[0.99]
    assert run.headline is not None and run.headline.name == "Completed samples per second"
    assert run.samples is None and run.latencies_ns.size == summary.sample_count


def attrs_evolve_files(result: asyncgen.TestResult, folder: Path) -> asyncgen.TestResult:
    files = {kind: folder / path.name for kind, path in result.files.items()}
    return attrs.evolve(result, files=files)


def test_the_performance_series_is_the_last_one(tmp_path: Path) -> None:
    # An accuracy series (queries 0-2) traced before the performance series (queries 3-6).
    events = [
        {
            "name": "Sample",
            "cat": "default",
            "ph": "b",
            "pid": 1,
            "id": q,
            "ts": 1000.0 * q,
            "args": {
                "sample_seq": q,
                "query_seq": q,
                "sample_idx": 0,
                "issue_start_ns": 0,
                "complete_ns": 10 if q < 3 else 1000,
            },
        }
        for q in range(7)
    ]
    lines = ['{"traceEvents":['] + [json.dumps(e, separators=(",", ":")) + "," for e in events]
    (tmp_path / "mlperf_log_trace.json").write_text("\n".join(lines), encoding="utf-8")
    (tmp_path / "mlperf_log_detail.txt").write_text(
        ':::MLLOG {"key": "effective_scenario", "value": "SingleStream"}\n'
        ':::MLLOG {"key": "result_query_count", "value": 4}\n',
        encoding="utf-8",
    )
    run = load_run(tmp_path)
    assert run.samples is not None
    assert run.samples.query_seq.tolist() == [3, 4, 5, 6]
    assert run.trace_complete and set(run.samples.latency_ns.tolist()) == {1000}


def test_not_a_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not a run output folder"):
        load_run(tmp_path / "nope")
