"""A series' plan under asyncgen's Server workload options (docs/workloads.md).

Arrival processes (``asyncgen._plan.arrivals``) change only the planned offsets of a
performance series; accuracy series keep the reference's schedule, since they exist to issue
every sample once (a trace replay's at the trace's mean rate). A concurrency limit,
closed-loop users and multi-turn sessions make queries depend on completions: their series is
a ``SessionSeries`` paced by ``asyncgen._engine.shapers.sessions`` from a ``SessionSpec``. With
none of the options set, this module returns the reference's plan and nothing else, and the run
is the reference's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from asyncgen._config.effective import NS_PER_MS, EffectiveSettings
from asyncgen._engine.protocols import QuerySampleLibrary
from asyncgen._engine.series import Series
from asyncgen._engine.sessions import FIRST_SLOTS, SessionSeries, SessionSpec
from asyncgen._errors import SettingsError
from asyncgen._metrics.verdict import PerformanceSummary
from asyncgen._plan.arrivals import ArrivalProcess, arrival_process
from asyncgen._plan.loadable import LoadableSet
from asyncgen._plan.queries import QueryPlan, generate_queries
from asyncgen._plan.sequence import SequenceGen
from asyncgen._plan.sessions import SessionSamples, blank, joined, query_slots
from asyncgen._plan.trace import Trace, read_trace

Entries = list[tuple[str, Any]]


@attrs.frozen(kw_only=True)
class SeriesPlan:
    """What one series issues, and how."""

    plan: QueryPlan  # one entry per query, in issue order
    sessions: SessionSpec | None = None  # None: the plan alone paces the series
    entries: Entries = attrs.field(factory=list)  # for the detail log: what was asked for


def load_trace(eff: EffectiveSettings) -> Trace | None:
    """The trace file the settings replay, read once per run (None without one)."""
    path = eff.requested.server_trace_path
    return read_trace(path) if eff.requested.server_arrival == "trace" and path else None


def plan_series(
    eff: EffectiveSettings,
    loaded: LoadableSet,
    *,
    accuracy: bool,
    seq: SequenceGen,
    qsl: QuerySampleLibrary,
    trace: Trace | None,
) -> SeriesPlan:
    """The plan of one series, and the session spec that paces it when queries depend on
    completions."""
    s = eff.requested
    entries: Entries = []
    turns = _turn_counts(qsl) if s.server_multi_turn else None
    options = _session_entry(eff)
    if options:
        entries.append(("session_options", options))
    if s.server_concurrency:
        return _closed_loop(eff, loaded, accuracy=accuracy, seq=seq, turns=turns, entries=entries)
    arrivals: ArrivalProcess | None = arrival_process(eff, trace)
    if accuracy and arrivals is not None:  # every sample once: see _accuracy_arrivals
        arrivals = _accuracy_arrivals(arrivals)
    if arrivals is not None and arrivals.is_reference and arrivals.rate_qps == eff.target_qps:
        arrivals = None  # the reference's own schedule
    if arrivals is not None:
        entries.insert(0, ("arrival_process", arrivals.to_dict()))
    plan = generate_queries(eff, loaded, accuracy=accuracy, seq=seq, arrivals=arrivals)
    if not options:
        return SeriesPlan(plan=plan, entries=entries)
    per_query = plan
    if turns is not None:
        total = sum(max(1, turns(i)) for i in plan.sample_indices.tolist())
        extra = query_slots(
            total - plan.query_count, seq=seq, eff=eff, index_dtype=plan.sample_indices.dtype
        )
        per_query = joined(blank(plan), extra)
    spec = SessionSpec(
        max_in_flight=s.server_max_concurrency,
        starts=plan,
        turns=turns,
        think_ns=round(s.server_think_time_ms * NS_PER_MS),
    )
    return SeriesPlan(plan=per_query, sessions=spec, entries=entries)


def _closed_loop(
    eff: EffectiveSettings,
    loaded: LoadableSet,
    *,
    accuracy: bool,
    seq: SequenceGen,
    turns: Callable[[int], int] | None,
    entries: Entries,
) -> SeriesPlan:
    """N users, each starting a session when its previous one ends: no schedule up front."""
    samples = SessionSamples(eff, loaded, accuracy=accuracy)
    dtype = samples.index_dtype

    def more_slots(count: int) -> QueryPlan:
        return query_slots(count, seq=seq, eff=eff, index_dtype=dtype)

    first = loaded.distribution_end if accuracy and turns is None else FIRST_SLOTS
    spec = SessionSpec(
        users=eff.requested.server_concurrency,
        next_sample=samples.next,
        turns=turns,
        think_ns=round(eff.requested.server_think_time_ms * NS_PER_MS),
        more_slots=more_slots,
    )
    return SeriesPlan(plan=more_slots(first), sessions=spec, entries=entries)


def _accuracy_arrivals(asked: ArrivalProcess) -> ArrivalProcess | None:
    """An accuracy series' arrivals: the reference's Poisson at the target rate, or, when a
    trace is replayed (the target rate is not the trace's), at the trace's mean rate."""
    if asked.kind != "trace" or asked.mean_gap_s <= 0:
        return None
    return ArrivalProcess(kind="poisson", rate_qps=1.0 / asked.mean_gap_s, seed=asked.seed)


def make_series(planned: SeriesPlan, **series: Any) -> Series:
    """The series for ``planned``: a ``SessionSeries`` when sessions pace it."""
    spec = planned.sessions
    if spec is None:
        return Series(planned.plan, **series)
    return SessionSeries(
        planned.plan,
        queue_waits=spec.max_in_flight > 0,
        turns=spec.multi_turn,
        keep_answers=spec.multi_turn,
        **series,
    )


def generated_entries(planned: SeriesPlan) -> Entries:
    """The reference's ``generated_*`` keys; a closed loop generates nothing up front."""
    plan = planned.plan
    closed = planned.sessions is not None and planned.sessions.users > 0
    return [
        ("generated_query_count", 0 if closed else plan.query_count),
        ("generated_samples_per_query", plan.samples_per_query),
        ("generated_query_duration", 0 if closed else plan.duration_ns),
    ]


def trace_reasons(eff: EffectiveSettings, summary: PerformanceSummary) -> list[str]:
    """Why a trace replay is INVALID when the trace ended before the run's minimums."""
    if eff.requested.server_arrival != "trace":
        return []
    short = []
    if not summary.min_duration_met:
        short.append(f"min_duration_ms {eff.min_duration_ms}")
    if not summary.min_queries_met:
        short.append(f"min_query_count {eff.min_query_count}")
    if not short:
        return []
    span_s = summary.result.final_query_scheduled_s
    return [
        f"the trace ended after {summary.result.queries_issued} queries over {span_s:.3f} s "
        f"(at speed {eff.requested.server_trace_speed:g}), short of {' and '.join(short)}: "
        "replay a longer trace, or lower the minimums"
    ]


def _session_entry(eff: EffectiveSettings) -> dict[str, Any]:
    s = eff.requested
    entry: dict[str, Any] = {}
    if s.server_max_concurrency:
        entry["max_concurrency"] = s.server_max_concurrency
    if s.server_concurrency:
        entry["concurrency"] = s.server_concurrency
    if s.server_multi_turn:
        entry.update(multi_turn=True, think_time_ms=s.server_think_time_ms)
    return entry


def _turn_counts(qsl: QuerySampleLibrary) -> Callable[[int], int]:
    turn_count = getattr(qsl, "turn_count", None)
    if not callable(turn_count):
        raise SettingsError(
            f"server_multi_turn needs a QSL of conversations (one with turn_count(index)); "
            f"{qsl.name} is not one"
        )
    counts: Callable[[int], int] = turn_count
    return counts
