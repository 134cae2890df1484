"""The split and the merge without Ray: shards that run in the test's own process on fake
clocks, so a merged run can be compared with a single-process run exactly."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest

import asyncgen
from asyncgen._config.effective import effective_settings
from asyncgen._config.enums import TestScenario
from asyncgen._output.verify import verify
from asyncgen._plan.loadable import loadable_sets
from asyncgen._plan.queries import generate_queries
from asyncgen._plan.sequence import SequenceGen
from asyncgen._run.scale_out.clocks import boot_id
from asyncgen._run.scale_out.shard import ShardCore
from asyncgen._run.scale_out.split import cut, deal, server_cutoff
from asyncgen.testing import FakeClock
from tests.run.scale_out import _suts


class LocalShards:
    """``Shards`` whose cores run on the driver's loop, each on its own fake clock."""

    def __init__(self, cores: list[ShardCore]) -> None:
        self.count = len(cores)
        self.cores = cores

    async def ask(self, shard: int, method: str, *args: Any, timeout_s: float | None) -> Any:
        core = self.cores[shard]
        if method == "clock_ns":
            return time.perf_counter_ns()
        if method in ("progress", "prepare"):
            return getattr(core, method)(*args)
        return await getattr(core, method)(*args)

    def tell(self, shard: int, method: str, *args: Any) -> None:
        getattr(self.cores[shard], method)(*args)

    def kill(self, shard: int) -> None:
        pass

    async def close(self) -> None:
        for core in self.cores:
            await core.close()


async def start_local(
    *, workers: int, factories: tuple[object, object], **_: Any
) -> tuple[LocalShards, list[dict[str, Any]]]:
    cores = [ShardCore(k, *factories, FakeClock()) for k in range(workers)]
    infos = [await core.open() for core in cores]
    assert all(info["boot_id"] == boot_id() for info in infos)
    return LocalShards(cores), infos


def _settings(scenario: TestScenario, **fields: Any) -> asyncgen.TestSettings:
    return asyncgen.TestSettings(
        scenario=scenario,
        mode=fields.pop("mode", asyncgen.TestMode.PerformanceOnly),
        server_target_qps=2000,
        offline_expected_qps=2000,
        min_duration_ms=500,
        min_query_count=100,
        accuracy_log_probability=0.1,  # some responses go to the accuracy log
        accuracy_log_rng_seed=5,
        **fields,
    )


def _run(
    folder: Path,
    settings: asyncgen.TestSettings,
    workers: int,
    sut: type = _suts.NullSUT,
    start: Any = start_local,
    **options: Any,
) -> asyncgen.TestResult:
    log = asyncgen.LogSettings(
        log_output=asyncgen.LogOutputSettings(outdir=str(folder)), enable_trace=True
    )
    if workers == 1:
        return asyncgen.run(
            sut(), _suts.qsl(), settings, log_settings=log, audit_config=None, clock=FakeClock(),
            **options,
        )  # fmt: skip
    return asyncgen.run(
        sut, _suts.qsl, settings, log_settings=log, audit_config=None,
        workers=workers, _start_shards=start, **options,
    )  # fmt: skip


def _summary(folder: Path) -> str:
    """The summary, but for the warnings footer: a fake-clock run is one busy burst, which
    the stall watchdog (real time) may call a stall in the single-process run."""
    text = (folder / "mlperf_log_summary.txt").read_text()
    return "".join(line for line in text.splitlines(True) if "warning" not in line)


def _samples(folder: Path) -> list[tuple[int, int, int, int]]:
    """(seq, QSL index, issue lag, latency) of every traced sample, in seq order."""
    events = json.loads((folder / "mlperf_log_trace.json").read_text())["traceEvents"]
    rows = [
        (a["sample_seq"], a["sample_idx"], a["issue_start_ns"], a["complete_ns"])
        for e in events
        if e.get("name") == "Sample" and e.get("ph") == "b"
        for a in [e["args"]]
    ]
    return sorted(rows)


@pytest.mark.parametrize("workers", [2, 3])
@pytest.mark.parametrize("scenario", [TestScenario.Server, TestScenario.Offline])
def test_a_merged_run_equals_the_single_process_run(
    tmp_path: Path, scenario: TestScenario, workers: int
) -> None:
    settings = _settings(scenario)
    one = _run(tmp_path / "one", settings, 1)
    merged = _run(tmp_path / "merged", settings, workers)
    assert _summary(tmp_path / "one") == _summary(tmp_path / "merged")
    assert _samples(tmp_path / "one") == _samples(tmp_path / "merged")
    accuracy = "mlperf_log_accuracy.json"
    entries = [json.loads((tmp_path / d / accuracy).read_text()) for d in ("one", "merged")]
    assert sorted(entries[0], key=str) == sorted(entries[1], key=str) != []
    assert merged.valid == one.valid and len(merged.workers) == workers
    assert (
        sum(w.queries_planned for w in merged.workers)
        == (one.summary.query_count if scenario is TestScenario.Server else workers)
        if one.summary
        else False
    )
    assert not any(w.fell_behind for w in merged.workers)


def test_token_latencies_merge_as_one_process_measures_them(tmp_path: Path) -> None:
    settings = _settings(TestScenario.Server, use_token_latencies=True)
    _run(tmp_path / "one", settings, 1, _suts.TokenSUT)
    _run(tmp_path / "merged", settings, 2, _suts.TokenSUT)
    text = _summary(tmp_path / "merged")
    assert text == _summary(tmp_path / "one")
    assert "TTFT" in text
    accuracy = "mlperf_log_accuracy.json"
    entries = [json.loads((tmp_path / d / accuracy).read_text()) for d in ("one", "merged")]
    assert sorted(entries[0], key=str) == sorted(entries[1], key=str) != []
    assert all(e["token_data"] == "74" for e in entries[1])  # b"t", the first token's bytes


async def start_local_real_time(
    *, workers: int, factories: tuple[object, object], **_: Any
) -> tuple[LocalShards, list[dict[str, Any]]]:
    cores = [ShardCore(k, *factories, asyncgen.MonotonicClock("timer")) for k in range(workers)]
    return LocalShards(cores), [await core.open() for core in cores]


def test_find_peak_performance_runs_its_probes_on_the_shards(tmp_path: Path) -> None:
    """A SUT slower than the latency bound: the base probe fails, as in one process."""
    settings = attrs.evolve(
        _settings(TestScenario.Server, mode=asyncgen.TestMode.FindPeakPerformance),
        min_duration_ms=200,
        server_target_qps=200,
        server_target_latency_ns=100_000,
    )
    log = asyncgen.LogSettings(log_output=asyncgen.LogOutputSettings(outdir=str(tmp_path)))
    result = asyncgen.run(
        _suts.SleepSUT, _suts.qsl, settings, log_settings=log, audit_config=None,
        workers=2, _start_shards=start_local_real_time,
    )  # fmt: skip
    detail = (tmp_path / "mlperf_log_detail.txt").read_text()
    assert "Initial lower bound does not satisfy performance constraints" in detail
    assert not result.valid and result.summary is not None and result.peak_qps is None
    assert [w.queries_issued > 0 for w in result.workers] == [True, True]


def test_accuracy_mode_merges_every_sample_once(tmp_path: Path) -> None:
    settings = _settings(TestScenario.Server, mode=asyncgen.TestMode.SubmissionRun)
    result = _run(tmp_path, settings, 2)
    entries = json.loads((tmp_path / "mlperf_log_accuracy.json").read_text())
    accuracy = [e for e in entries if e["seq_id"] < _suts.TOTAL]  # the accuracy pass first
    assert sorted(e["qsl_idx"] for e in accuracy) == list(range(_suts.TOTAL))
    assert all(int(e["data"], 16) == e["qsl_idx"] for e in entries)
    assert result.valid


@pytest.mark.parametrize(("seed", "qps"), [(s, q) for s in (1, 2, 3, 99) for q in (50.0, 3333.0)])
@pytest.mark.parametrize("shards", [2, 3, 8])
def test_dealing_covers_the_plan_exactly_once(seed: int, qps: float, shards: int) -> None:
    settings = _settings(TestScenario.Server, schedule_rng_seed=seed, sample_index_rng_seed=seed)
    settings = attrs.evolve(settings, server_target_qps=qps)
    eff, _ = effective_settings(settings, _suts.PERFORMANCE, _suts.TOTAL)
    loaded = loadable_sets(eff, _suts.TOTAL, _suts.PERFORMANCE)[0]
    plan = generate_queries(eff, loaded, accuracy=False, seq=SequenceGen())
    slices = deal(plan, TestScenario.Server, shards)
    pairs = sorted(
        pair
        for s in slices
        for pair in zip(
            s.plan(plan).scheduled_offsets_ns.tolist(),
            s.plan(plan).sample_indices.tolist(),
            strict=True,
        )
    )
    expected = zip(plan.scheduled_offsets_ns.tolist(), plan.sample_indices.tolist(), strict=True)
    assert pairs == sorted(expected)
    seqs = np.concatenate([np.asarray(s.queries) for s in slices])
    assert np.array_equal(np.sort(seqs), np.arange(plan.query_count))


def test_offline_deals_contiguous_blocks_and_empty_shards_get_nothing() -> None:
    settings = _settings(TestScenario.Offline)
    eff, _ = effective_settings(settings, 3, 3)
    loaded = loadable_sets(eff, 3, 3)[0]
    plan = attrs.evolve(
        generate_queries(eff, loaded, accuracy=True, seq=SequenceGen()), samples_per_query=3
    )
    slices = deal(plan, TestScenario.Offline, 5)
    assert [len(s.samples) for s in slices] == [0, 1, 0, 1, 1]
    assert [len(s.queries) for s in slices] == [0, 1, 0, 1, 1]


def test_the_limits_cut_the_plan_where_one_process_stops() -> None:
    settings = _settings(TestScenario.Server, max_query_count=120)
    eff, _ = effective_settings(settings, _suts.PERFORMANCE, _suts.TOTAL)
    loaded = loadable_sets(eff, _suts.TOTAL, _suts.PERFORMANCE)[0]
    plan = generate_queries(eff, loaded, accuracy=False, seq=SequenceGen())
    assert server_cutoff(eff, plan, accuracy=False)[0] == 120
    assert server_cutoff(eff, plan, accuracy=True)[0] == plan.query_count
    assert cut(plan, 120).query_count == 120
    eff = attrs.evolve(eff, max_query_count=0, max_duration_ms=100)
    count, message = server_cutoff(eff, plan, accuracy=False)
    assert int(plan.scheduled_offsets_ns[count - 2]) <= 100_000_000
    assert int(plan.scheduled_offsets_ns[count - 1]) > 100_000_000
    assert "Max test duration reached" in message


@pytest.mark.parametrize(
    "fields",
    [
        {"server_arrival": "gamma", "server_burstiness": 0.5, "server_ramp_up_ms": 200},
        {"server_arrival": "constant"},
        {"server_arrival": "trace"},
    ],
    ids=["gamma-ramp-up", "constant", "trace"],
)
def test_arrival_processes_split_exactly_and_fidelity_is_judged_on_the_whole_plan(
    tmp_path: Path, fields: dict[str, Any]
) -> None:
    if fields["server_arrival"] == "trace":
        trace = tmp_path / "trace.jsonl"
        stamps = np.cumsum(np.random.default_rng(3).exponential(0.4, 1500))  # ms: ~2500/s
        trace.write_text("".join(json.dumps({"timestamp": float(t)}) + "\n" for t in stamps))
        fields = {**fields, "server_trace_path": str(trace)}
    settings = _settings(TestScenario.Server, **fields)
    one = _run(tmp_path / "one", settings, 1)
    merged = _run(tmp_path / "merged", settings, 3)
    assert _summary(tmp_path / "one") == _summary(tmp_path / "merged")
    assert _samples(tmp_path / "one") == _samples(tmp_path / "merged")
    assert one.health is not None and merged.health is not None
    fidelity = merged.health.fidelity
    assert fidelity is not None and fidelity == one.health.fidelity
    # over the global plan's gaps, not a shard's (a shard's are every third arrival's)
    assert one.summary is not None and fidelity.gaps == one.summary.query_count - 1
    assert fidelity.process.startswith(fields["server_arrival"])
    detail = (tmp_path / "merged" / "mlperf_log_detail.txt").read_text()
    assert detail.count("arrival fidelity (") == 1


def test_shards_pace_with_the_arrival_check_as_one_process_does(tmp_path: Path) -> None:
    _suts.CheckingSUT.made.clear()
    merged = _run(tmp_path, _settings(TestScenario.Server), 2, _suts.CheckingSUT)
    shards = _suts.CheckingSUT.made
    assert len(shards) == 2 and merged.valid
    for sut in shards:  # each shard's Server shaper handed its SUT the check, then took it back
        assert len(sut.checks) == 2 and callable(sut.checks[0]) and sut.checks[1] is None


SKEW_NS = (-3_000_000_000, 7_000_000_000)  # shard 0's clock is 3 s behind, shard 1's 7 s ahead


class SkewedShards(LocalShards):
    """Shards on other hosts: shard ``k``'s clock reads the driver's plus ``SKEW_NS[k]``."""

    async def ask(self, shard: int, method: str, *args: Any, timeout_s: float | None) -> Any:
        if method == "clock_ns":
            return time.perf_counter_ns() + SKEW_NS[shard]
        return await super().ask(shard, method, *args, timeout_s=timeout_s)


async def start_skewed(
    *, workers: int, factories: tuple[object, object], **_: Any
) -> tuple[LocalShards, list[dict[str, Any]]]:
    shards, infos = await start_local(workers=workers, factories=factories)
    return SkewedShards(shards.cores), [
        {**info, "boot_id": f"another host {k}"} for k, info in enumerate(infos)
    ]


def test_workers_on_other_clocks_are_started_and_merged_on_the_drivers(tmp_path: Path) -> None:
    settings = _settings(TestScenario.Server)
    _run(tmp_path / "one", settings, 1)
    merged = _run(tmp_path / "merged", settings, 2, start=start_skewed)
    # each shard started at the common start on its own clock, and its times came back on
    # the driver's: the same issue lags and latencies as one process
    assert _summary(tmp_path / "one") == _summary(tmp_path / "merged")
    assert _samples(tmp_path / "one") == _samples(tmp_path / "merged")
    for worker, skew in zip(merged.workers, SKEW_NS, strict=True):
        assert worker.clock_offset_applied_ns == worker.clock_offset_ns  # another host: applied
        assert abs(worker.clock_offset_ns - skew) <= worker.clock_uncertainty_ns


def test_goodput_and_the_request_export_come_from_the_merged_run(tmp_path: Path) -> None:
    settings = _settings(TestScenario.Server, use_token_latencies=True)
    slos = asyncgen.ServiceLevelObjectives(ttft_ms=1.0, e2e_ms=5.0, percentile=0.9)
    options = {"slos": slos, "export_requests": "jsonl"}
    one = _run(tmp_path / "one", settings, 1, _suts.TokenSUT, **options)
    merged = _run(tmp_path / "merged", settings, 3, _suts.TokenSUT, **options)
    assert merged.goodput is not None and merged.goodput == one.goodput
    assert one.summary is not None and merged.goodput.requests == one.summary.sample_count
    rows = [
        sorted((tmp_path / d / "requests.jsonl").read_text().splitlines())
        for d in ("one", "merged")
    ]
    assert rows[0] == rows[1] and len(rows[1]) == one.summary.sample_count


def test_a_shard_whose_sut_call_never_returns_ends_the_run_invalid(tmp_path: Path) -> None:
    settings = _settings(TestScenario.Server, drain_timeout_ms=300)
    result = _run(tmp_path, settings, 2, sut=_suts.StuckSUT)
    assert not result.valid
    # each shard's 21st call hangs: the driver's bound (the plan, the drain deadline and a
    # grace period) declares both lost, named, and writes what they had
    for shard in (0, 1):
        lost = f"shard {shard} lost"
        assert any(r.startswith(lost) and "hung" in r for r in result.reasons), result.reasons
    assert verify(tmp_path) == []


def test_a_worker_sut_whose_issue_query_is_not_a_coroutine_function_is_refused(
    tmp_path: Path,
) -> None:
    settings = _settings(TestScenario.Server)
    with pytest.raises(asyncgen.ProtocolError, match="issue_query must be a coroutine function"):
        _run(tmp_path, settings, 2, sut=_suts.SyncSUT)
    with pytest.raises(asyncgen.ProtocolError, match="issue_query must be a coroutine function"):
        _run(tmp_path / "one", settings, 1, sut=_suts.SyncSUT)  # the same check, one process
