"""A series' plan under the workload options: the reference's without them, what each option
adds, and what the detail log records."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from asyncgen._config.effective import effective_settings
from asyncgen._plan.loadable import LoadableSet
from asyncgen._plan.queries import generate_queries
from asyncgen._plan.sequence import SequenceGen
from asyncgen._run.workload import generated_entries, load_trace, plan_series
from asyncgen.settings import TestScenario, TestSettings
from asyncgen.simulated import SimulatedQSL

LOADED = LoadableSet(indices=(3, 1, 2, 0), distribution_end=4)


class Chats(SimulatedQSL):
    def turn_count(self, index: int) -> int:
        return index + 1


def _eff(**fields: object):  # type: ignore[no-untyped-def]
    settings = TestSettings(
        scenario=TestScenario.Server, server_target_qps=100, min_duration_ms=500, **fields
    )  # type: ignore[arg-type]
    return effective_settings(settings, 4, 4)[0]


def _planned(eff, *, accuracy: bool = False):  # type: ignore[no-untyped-def]
    qsl = Chats(total_sample_count=4, performance_sample_count=4)
    return plan_series(
        eff, LOADED, accuracy=accuracy, seq=SequenceGen(), qsl=qsl, trace=load_trace(eff)
    )


def test_without_options_it_is_the_reference_plan() -> None:
    eff = _eff()
    planned = _planned(eff)
    reference = generate_queries(eff, LOADED, accuracy=False, seq=SequenceGen())
    assert planned.sessions is None and planned.entries == []
    assert np.array_equal(planned.plan.scheduled_offsets_ns, reference.scheduled_offsets_ns)
    assert np.array_equal(planned.plan.sample_indices, reference.sample_indices)
    assert [key for key, _ in generated_entries(planned)] == [
        "generated_query_count",
        "generated_samples_per_query",
        "generated_query_duration",
    ]


def test_multi_turn_reserves_a_slot_for_every_turn_of_every_session() -> None:
    planned = _planned(_eff(server_multi_turn=True, server_think_time_ms=2.5))
    spec = planned.sessions
    assert spec is not None and spec.starts is not None and spec.think_ns == 2_500_000
    turns = sum(i + 1 for i in spec.starts.sample_indices.tolist())
    assert planned.plan.query_count == turns > spec.starts.query_count
    assert planned.plan.first_sample_id == spec.starts.first_sample_id
    assert planned.entries == [("session_options", {"multi_turn": True, "think_time_ms": 2.5})]


def test_a_closed_loop_plans_nothing_up_front() -> None:
    planned = _planned(_eff(server_concurrency=3))
    assert planned.sessions is not None and planned.sessions.users == 3
    assert dict(generated_entries(planned))["generated_query_count"] == 0
    assert planned.sessions.next_sample is not None
    draws = [planned.sessions.next_sample() for _ in range(400)]
    assert set(draws) == {0, 1, 2, 3}  # seeded draws over the loaded samples
    accuracy = _planned(_eff(server_concurrency=3), accuracy=True)
    assert accuracy.sessions is not None and accuracy.sessions.next_sample is not None
    once = [accuracy.sessions.next_sample() for _ in range(5)]
    assert once == [0, 1, 2, 3, None]  # every sample once, then no more


def test_a_trace_replays_in_performance_and_its_accuracy_run_keeps_its_rate(
    tmp_path: Path,
) -> None:
    trace = tmp_path / "trace.jsonl"
    trace.write_text("".join(json.dumps({"timestamp": 4 * i}) + "\n" for i in range(200)))
    eff = _eff(server_arrival="trace", server_trace_path=str(trace))
    performance = _planned(eff)
    assert performance.plan.query_count == 200
    assert dict(performance.entries)["arrival_process"]["kind"] == "trace"
    accuracy = _planned(eff, accuracy=True)
    assert accuracy.plan.query_count == 4  # every loaded sample once
    entry = dict(accuracy.entries)["arrival_process"]
    assert (entry["kind"], entry["seed"]) == ("poisson", 0)
    assert entry["rate_qps"] == pytest.approx(250.0)  # the trace's: a record every 4 ms
