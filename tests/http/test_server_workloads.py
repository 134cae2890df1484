"""Server workload options against a real streaming server on 127.0.0.1: a concurrency limit
(counted by the server), closed-loop users, multi-turn sessions with their real history and
think time, trace replay, and the sent arrival times of each process (KS, seeded plans)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats

import asyncgen
from asyncgen._config.effective import effective_settings
from asyncgen._plan.arrivals import arrival_process
from asyncgen.datasets import ConversationQSL
from asyncgen.http import OpenAISUT, Payload
from asyncgen.report._trace import read_trace as read_run_trace
from tests.helpers import detail_values
from tests.http.conftest import Server
from tests.http.helpers import PayloadQSL, logs, server_settings

MS = 1_000_000
S = 1_000_000_000


def settings(**overrides: object) -> asyncgen.TestSettings:
    return server_settings(
        **{"min_duration_ms": 300, "min_query_count": 30, "server_target_latency_ns": 10 * S}
        | overrides
    )


async def run(sut: Any, qsl: Any, s: asyncgen.TestSettings, tmp_path: Path) -> asyncgen.TestResult:
    return await asyncgen.run_test(sut, qsl, s, log_settings=logs(tmp_path), audit_config=None)


def prompts(n: int) -> PayloadQSL:
    return PayloadQSL([Payload(json={"prompt": f"p{i}"}) for i in range(n)])


@pytest.mark.realtime
@pytest.mark.asyncio
async def test_max_concurrency_holds_the_server_to_n_and_waits_count_in_latency(
    server: Server, tmp_path: Path
) -> None:
    qsl = prompts(16)
    timing = {"tokens": 3, "ttft_ms": 15, "tpot_ms": 5}  # ~25 ms each: 4 slots serve ~160/s
    s = settings(server_target_qps=400, server_max_concurrency=4)
    async with OpenAISUT(server.url, qsl, extra_body=timing) as sut:
        result = await run(sut, qsl, s, tmp_path)
    assert result.failures == {}
    assert server.state.peak_in_flight == 4  # reached, never exceeded
    summary, wait = result.summary, result.queue_wait
    assert summary is not None and wait is not None
    assert len(server.state.requests) == summary.sample_count == wait.count
    assert wait.waited > wait.count // 2 and wait.max_ns > 100 * MS  # arrivals outran the slots
    # the wait is part of each latency (counted from the schedule): far above the service time
    latencies = result.latencies_ns
    assert latencies.min() >= 25 * MS
    assert latencies.mean() >= wait.mean_ns + 25 * MS * 0.9
    assert detail_values(tmp_path / "mlperf_log_detail.txt")["session_options"] == {
        "max_concurrency": 4
    }
    results = json.loads((tmp_path / "mlperf_log_results.json").read_text())
    assert results["queue_wait"]["waited"] == wait.waited


@pytest.mark.realtime
@pytest.mark.asyncio
async def test_concurrency_keeps_n_requests_in_flight(server: Server, tmp_path: Path) -> None:
    qsl = prompts(8)
    timing = {"tokens": 2, "ttft_ms": 30, "tpot_ms": 10}
    s = settings(server_concurrency=3, min_query_count=20)
    async with OpenAISUT(server.url, qsl, extra_body=timing) as sut:
        result = await run(sut, qsl, s, tmp_path)
    assert result.failures == {} and result.summary is not None
    state = server.state
    assert state.peak_in_flight == 3
    # each user sends its next request when its previous one ends: the server is rarely idle
    assert state.mean_in_flight() > 1.5
    assert len(state.requests) == result.summary.sample_count >= 20
    assert result.queue_wait is None
    detail = detail_values(tmp_path / "mlperf_log_detail.txt")
    assert detail["session_options"] == {"concurrency": 3}
    assert detail["generated_query_count"] == 0  # nothing is planned up front
    rates = result.summary.rates
    assert rates.completed_samples_per_second is not None
    assert rates.completed_samples_per_second < 3 / 0.040 * 1.1  # at most 3 per 40 ms


def conversations(path: Path, turns: Sequence[int]) -> ConversationQSL:
    """An OpenAI chat JSON Lines file of conversations with ``turns[i]`` user messages each, a
    system message, and the dataset's own (placeholder) answers in between."""
    lines = []
    for i, n in enumerate(turns):
        messages: list[dict[str, str]] = [{"role": "system", "content": f"sys {i}"}]
        for k in range(n):
            messages.append({"role": "user", "content": f"c{i} u{k}"})
            messages.append({"role": "assistant", "content": "dataset answer"})
        lines.append(json.dumps({"messages": messages}))
    path.write_text("\n".join(lines) + "\n")
    return ConversationQSL(path, multi_turn=True)


@pytest.mark.realtime
@pytest.mark.asyncio
async def test_multi_turn_sends_each_turn_with_the_real_history_after_the_think_time(
    server: Server, tmp_path: Path
) -> None:
    turns = [3, 1, 2, 4]
    qsl = conversations(tmp_path / "chats.jsonl", turns)
    timing = {"tokens": 3, "ttft_ms": 5, "tpot_ms": 2, "mode": "echo"}
    think_ms = 40
    s = settings(
        server_target_qps=50,
        performance_issue_unique=True,  # each conversation once
        server_multi_turn=True,
        server_think_time_ms=think_ms,
        use_token_latencies=True,
        ttft_latency=10 * S,
        tpot_latency=10 * S,
    )
    async with OpenAISUT(server.url, qsl, api="chat", extra_body=timing) as sut:
        result = await run(sut, qsl, s, tmp_path / "out")
    assert result.failures == {} and not result.missing_samples
    by_conversation: dict[str, list[dict[str, Any]]] = {}
    for seen in server.state.requests:
        system = seen["json"]["messages"][0]["content"]
        by_conversation.setdefault(system, []).append(seen)
    sent = 0
    for system, requests in by_conversation.items():
        i = int(system.split()[1])
        assert len(requests) == turns[i]  # every turn, once, in order
        for k, seen in enumerate(requests):
            history = [m for m in seen["json"]["messages"] if m["role"] != "system"]
            expected: list[dict[str, str]] = []
            for j in range(k):
                expected.append({"role": "user", "content": f"c{i} u{j}"})
                # the server's real answer to that turn, not the dataset's
                expected.append({"role": "assistant", "content": f"re: c{i} u{j} t1 t2"})
            expected.append({"role": "user", "content": f"c{i} u{k}"})
            assert history == expected
            if k:  # sent no sooner than the previous answer's end plus the think time
                # (the server stamps its end a moment after the client may have read it)
                assert seen["t_ns"] - requests[k - 1]["end_ns"] >= (think_ms - 10) * MS
        sent += len(requests)
    summary = result.summary
    assert summary is not None and summary.sample_count == sent
    # statistics by turn number: turn 1 is every conversation's first
    assert [t.count for t in result.turns] == [4, 3, 2, 1]
    assert all(t.first_token_ns is not None for t in result.turns)
    assert result.turns[0].first_token_ns[0.5] >= 5 * MS  # type: ignore[index]
    results = json.loads((tmp_path / "out" / "mlperf_log_results.json").read_text())
    assert [t["count"] for t in results["turns"]] == [4, 3, 2, 1]


def _write_trace(path: Path, stamps_ms: Sequence[float]) -> Path:
    path.write_text(
        "".join(json.dumps({"timestamp": t, "hash_ids": [1]}) + "\n" for t in stamps_ms)
    )
    return path


@pytest.mark.realtime
@pytest.mark.asyncio
async def test_trace_replay_sends_each_record_once_at_its_offset(
    server: Server, tmp_path: Path
) -> None:
    rng = np.random.default_rng(3)
    stamps = np.round(np.sort(rng.uniform(1000, 1600, 40)), 1)  # ms, from 1 s into the trace
    stamps[5] = stamps[6]  # two records at the same moment
    order = rng.permutation(40)  # the file need not be sorted
    trace = _write_trace(tmp_path / "trace.jsonl", stamps[order].tolist())
    qsl = prompts(40)  # record r is sample r
    s = settings(server_arrival="trace", server_trace_path=str(trace), server_trace_speed=2.0)
    async with OpenAISUT(server.url, qsl, extra_body={"tokens": 2}) as sut:
        result = await run(sut, qsl, s, tmp_path / "out")
    received = [seen["json"]["prompt"] for seen in server.state.requests]
    assert sorted(received) == sorted(f"p{r}" for r in range(40))  # each record once
    # in timestamp order (records at the same moment in file order)
    expected = [f"p{r}" for r in np.argsort(stamps[order], kind="stable")]
    assert received == expected
    # scheduled at the trace's offsets from its first record, halved; never sent early
    queries = read_run_trace(tmp_path / "out" / "mlperf_log_trace.json")
    assert queries is not None
    offsets = np.sort(stamps - stamps[0]) * MS / 2
    scheduled = np.sort(queries.scheduled_ns - queries.scheduled_ns.min())
    assert np.abs(scheduled - offsets).max() <= 1
    assert np.all(queries.issued_ns >= queries.scheduled_ns)
    # the trace is 0.3 s at double speed: shorter than min_duration, so the verdict says so
    assert not result.valid
    assert any("the trace ended after 40 queries" in reason for reason in result.reasons)
    entry = detail_values(tmp_path / "out" / "mlperf_log_detail.txt")["arrival_process"]
    assert entry == {"kind": "trace", "seed": 0, "path": str(trace), "speed": 2.0, "records": 40}


@pytest.mark.realtime
@pytest.mark.asyncio
@pytest.mark.parametrize(("arrival", "burstiness"), [("gamma", 0.5), ("poisson", 1.0)])
async def test_sent_arrivals_follow_the_process_asked_for(
    server: Server, tmp_path: Path, arrival: str, burstiness: float
) -> None:
    qsl = prompts(8)
    s = settings(
        server_target_qps=400,
        min_duration_ms=2000,
        min_query_count=600,
        server_arrival=arrival,
        server_burstiness=burstiness,
        schedule_rng_seed=21,
    )
    async with OpenAISUT(server.url, qsl, extra_body={"tokens": 2}) as sut:
        result = await run(sut, qsl, s, tmp_path)
    assert result.failures == {}
    queries = read_run_trace(tmp_path / "mlperf_log_trace.json")
    assert queries is not None
    eff, _ = effective_settings(s, 8, 8)
    process = arrival_process(eff)
    plan = np.diff(np.sort(queries.scheduled_ns)) / S
    sent = np.diff(np.sort(queries.issued_ns)) / S
    plan_ks = stats.kstest(plan, process.gap_cdf)
    assert plan_ks.pvalue > 0.01  # seeded: the plan's verdict is fixed
    # Sending moves each arrival by its issue lag, so each gap by the difference of two lags:
    # microseconds on a quiet machine, milliseconds when other processes take the CPU. The sent
    # gaps are compared with the process at the resolution those differences allow (at least
    # 1 ms), with margin for the few that move further.
    order = np.argsort(queries.scheduled_ns)
    moved = np.abs(np.diff((queries.issued_ns - queries.scheduled_ns)[order])) / S
    resolution = max(1e-3, float(np.percentile(moved, 99)))
    beyond = float(np.mean(moved > resolution))
    sent_d, plan_d = (_ks_at(g, process.gap_cdf, resolution) for g in (sent, plan))
    assert plan_d < 0.06
    assert sent_d < plan_d + 0.08 + beyond, (sent_d, plan_d, resolution, beyond)


def _ks_at(gaps: np.ndarray, cdf: Any, resolution: float) -> float:
    """The Kolmogorov-Smirnov distance of ``gaps`` from ``cdf`` on a grid of ``resolution``."""
    grid = np.arange(0.0, gaps.max() + resolution, resolution)
    empirical = np.searchsorted(np.sort(gaps), grid, side="right") / gaps.size
    return float(np.abs(empirical - cdf(grid)).max())
