"""Loadable sets, query plans and accuracy-log sampling, side by side with mlperf_loadgen.

Every case runs the real library once (all cases in one subprocess, through
``_reference_plan_run.py``) with a SUT that completes each sample inside IssueQuery, then
checks our plan against what it loaded, issued, traced and logged:

* the LoadSamplesToRam sets, in order;
* ``generated_query_count`` / ``_samples_per_query`` / ``_duration`` of every series;
* the QSL indices of every IssueQuery call (SingleStream and MultiStream performance runs stop
  early, so there only the issued prefix is compared);
* the sample sequence ids, query ids and indices of the trace, and for Server the scheduled
  offsets in integer ns;
* the seq_ids written to the accuracy log.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from asyncgen._config.effective import EffectiveSettings, effective_settings
from asyncgen._plan.loadable import LoadableSet, loadable_sets
from asyncgen._plan.queries import QueryPlan, generate_queries
from asyncgen._plan.sequence import SequenceGen
from asyncgen.settings import TestMode, TestScenario, TestSettings

pytestmark = pytest.mark.conformance

RUNNER = Path(__file__).with_name("_reference_plan_run.py")

SEEDS = {
    "zero": {},
    "conf": {  # mlperf.conf 6.0 values: 64-bit, used mod 2**32
        "qsl_rng_seed": 2085463073848966840,
        "sample_index_rng_seed": 2747215439041700203,
        "schedule_rng_seed": 16159082839903944936,
    },
    "small": {"qsl_rng_seed": 7, "sample_index_rng_seed": 11, "schedule_rng_seed": 13},
}

# Short runs. A synchronous Python SUT takes well over 2 us per query, so SingleStream and
# MultiStream end naturally after min_duration, long before their generated queries run out.
SCENARIO_BASE: dict[str, dict[str, Any]] = {
    "SingleStream": {"single_stream_expected_latency_ns": 2_000, "min_duration_ms": 40},
    "MultiStream": {
        "multi_stream_samples_per_query": 4,
        "multi_stream_expected_latency_ns": 5_000,
        "min_duration_ms": 40,
    },
    "Server": {"server_target_qps": 5000, "min_duration_ms": 100},
    "Offline": {"offline_expected_qps": 5000, "min_duration_ms": 100},
}


def _case(
    scenario: str, mode: str = "PerformanceOnly", total: int = 64, perf: int = 16, **settings: Any
) -> dict[str, Any]:
    merged = {"scenario": scenario, "mode": mode, "min_query_count": 100}
    merged.update(SCENARIO_BASE[scenario])
    merged.update(settings)
    if mode != "PerformanceOnly" and scenario == "MultiStream":
        merged.setdefault("multi_stream_samples_per_query", 3)
    return {"total_count": total, "performance_count": perf, "settings": merged}


def _cases() -> dict[str, dict[str, Any]]:
    cases = {}
    for seed_name, seeds in SEEDS.items():
        for scenario in SCENARIO_BASE:
            cases[f"{scenario}-perf-{seed_name}"] = _case(scenario, **seeds)
            if seed_name != "small":
                cases[f"{scenario}-acc-{seed_name}"] = _case(
                    scenario, "AccuracyOnly", total=40, **seeds
                )
    conf = SEEDS["conf"]
    cases.update(
        {
            "SingleStream-equal-issue": _case(  # min_query_count becomes 2016
                "SingleStream",
                sample_concatenate_permutation=True,
                min_duration_ms=20,
                single_stream_expected_latency_ns=20_000,
                **conf,
            ),
            "MultiStream-equal-issue": _case(
                "MultiStream", sample_concatenate_permutation=True, min_query_count=10
            ),
            "Server-equal-issue": _case(
                "Server", sample_concatenate_permutation=True, min_query_count=10, **conf
            ),
            "Offline-equal-issue": _case("Offline", sample_concatenate_permutation=True, **conf),
            "Offline-acc-equal-issue": _case(  # accuracy blocks are shuffled too
                "Offline", "AccuracyOnly", total=40, sample_concatenate_permutation=True
            ),
            "Server-acc-equal-issue": _case(
                "Server", "AccuracyOnly", total=40, sample_concatenate_permutation=True
            ),
            "SingleStream-unique": _case("SingleStream", performance_issue_unique=True, **conf),
            "MultiStream-unique": _case("MultiStream", performance_issue_unique=True),
            "Offline-unique": _case("Offline", performance_issue_unique=True, **conf),
            "Server-same": _case(
                "Server", performance_issue_same=True, performance_issue_same_index=3
            ),
            "MultiStream-same": _case(
                "MultiStream", performance_issue_same=True, performance_issue_same_index=5
            ),
            "Offline-same": _case(
                "Offline", performance_issue_same=True, performance_issue_same_index=3
            ),
            "Server-sampling-target": _case(
                "Server", accuracy_log_sampling_target=30, accuracy_log_rng_seed=99, **conf
            ),
            "SingleStream-sampling-probability": _case(
                "SingleStream", accuracy_log_probability=0.2, accuracy_log_rng_seed=12345
            ),
            "Offline-sampling-target": _case(
                "Offline", accuracy_log_sampling_target=40, accuracy_log_rng_seed=2**40 + 3
            ),
            "SingleStream-submission-sampling": _case(
                "SingleStream",
                "SubmissionRun",
                total=20,
                perf=8,
                accuracy_log_sampling_target=50,
                **conf,
            ),
            "Server-acc-overrides": _case(
                "Server",
                "AccuracyOnly",
                total=50,
                perf=16,
                performance_sample_count_override=12,
                accuracy_sample_count_override=30,
            ),
            # 66000 loaded samples: both std::shuffle paths (one draw per swap beyond 65535).
            "Server-large-set": _case(
                "Server", total=70_000, perf=66_000, min_duration_ms=50, **conf
            ),
        }
    )
    return cases


CASES = _cases()


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    root = tmp_path_factory.mktemp("reference_plans")
    runs = []
    for name, case in CASES.items():
        outdir = root / name
        outdir.mkdir()
        runs.append({**case, "outdir": str(outdir), "enable_trace": True})
    spec, result = root / "spec.json", root / "result.json"
    spec.write_text(json.dumps({"runs": runs}))
    proc = subprocess.run(
        [sys.executable, str(RUNNER), str(spec), str(result)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    outputs = json.loads(result.read_text())["runs"]
    return dict(zip(CASES, outputs, strict=True))


def _effective(case: dict[str, Any]) -> EffectiveSettings:
    raw = dict(case["settings"])
    raw["scenario"] = TestScenario[raw["scenario"]]
    raw["mode"] = TestMode[raw["mode"]]
    settings = TestSettings(**raw)
    return effective_settings(settings, case["performance_count"], case["total_count"])[0]


def _our_series(eff: EffectiveSettings, total: int) -> list[tuple[LoadableSet, QueryPlan, bool]]:
    """(loaded set, plan, is-accuracy) for every series, in the reference's order."""
    seq = SequenceGen()
    series = []
    if eff.mode in (TestMode.AccuracyOnly, TestMode.SubmissionRun):
        for loaded in loadable_sets(eff, total, eff.accuracy_sample_count):
            series.append((loaded, generate_queries(eff, loaded, accuracy=True, seq=seq), True))
    if eff.mode in (TestMode.PerformanceOnly, TestMode.SubmissionRun):
        loaded = loadable_sets(eff, total, eff.performance_sample_count)[0]
        series.append((loaded, generate_queries(eff, loaded, accuracy=False, seq=seq), False))
    return series


def _issues_everything(eff: EffectiveSettings, accuracy: bool) -> bool:
    """SingleStream and MultiStream performance runs stop once min duration and count are met."""
    return accuracy or eff.scenario in (TestScenario.Server, TestScenario.Offline)


@pytest.mark.parametrize("name", list(CASES))
def test_plan_matches_reference(name: str, reference: dict[str, dict[str, Any]]) -> None:
    case, ref = CASES[name], reference[name]
    eff = _effective(case)
    ours = _our_series(eff, case["total_count"])
    assert len(ref["series"]) == len(ours) == len(ref["generated"])
    trace = {s[0]: s for s in ref["trace_samples"]}  # sample_seq -> [seq, query, idx, ts_ns]
    expected_logged: list[list[int]] = []
    for (loaded, plan, accuracy), got, generated in zip(
        ours, ref["series"], ref["generated"], strict=True
    ):
        assert got["loaded"] == list(loaded.indices)
        assert generated == {
            "query_count": plan.query_count,
            "samples_per_query": plan.samples_per_query,
            "duration": plan.duration_ns,
        }
        calls = got["issued"]
        assert calls, "the reference issued nothing"
        assert {len(c) for c in calls} == {plan.samples_per_query}
        issued = [i for call in calls for i in call]
        if _issues_everything(eff, accuracy):
            assert len(calls) == plan.query_count
        assert issued == plan.sample_indices[: len(issued)].tolist()
        _check_trace(trace, plan, issued, server=eff.scenario is TestScenario.Server)
        expected_logged += _expected_accuracy_log(eff, plan, issued, accuracy)
    assert sorted(ref["accuracy_log"]) == sorted(expected_logged)


def _check_trace(
    trace: dict[int, list[int]], plan: QueryPlan, issued: list[int], *, server: bool
) -> None:
    spq = plan.samples_per_query
    first = trace[plan.first_sample_id]
    for k, index in enumerate(issued):
        seq, query, idx, ts_ns = trace[plan.first_sample_id + k]
        assert (seq, query, idx) == (
            plan.first_sample_id + k,
            plan.first_query_id + k // spq,
            index,
        )
        if server:  # Server samples are traced at their scheduled time: exact offsets
            assert ts_ns - first[3] == plan.scheduled_offsets_ns[k // spq]


def _expected_accuracy_log(
    eff: EffectiveSettings, plan: QueryPlan, issued: list[int], accuracy: bool
) -> list[list[int]]:
    n = len(issued)
    chosen = np.arange(n) if accuracy else np.flatnonzero(plan.accuracy_log_mask[:n])
    return [[plan.first_sample_id + int(k), issued[int(k)]] for k in chosen]


def test_sampling_cases_log_some_but_not_all(reference: dict[str, dict[str, Any]]) -> None:
    """Guards the sampling comparisons above against a vacuous pass (nothing logged)."""
    for name in (
        "Server-sampling-target",
        "SingleStream-sampling-probability",
        "Offline-sampling-target",
    ):
        logged = len(reference[name]["accuracy_log"])
        issued = sum(len(c) for c in reference[name]["series"][0]["issued"])
        assert 0 < logged < issued, name


def test_early_stopping_runs_issue_a_strict_prefix(reference: dict[str, dict[str, Any]]) -> None:
    """At least one SingleStream and one MultiStream case ended before the plan's end."""
    for name in ("SingleStream-perf-zero", "MultiStream-perf-zero"):
        ref = reference[name]
        assert len(ref["series"][0]["issued"]) < ref["generated"][0]["query_count"], name
