"""``RunSession``: one ``run_test`` call's SUT, QSL, writer and series, and what they yield.

The modes (``asyncgen._run.modes``, ``asyncgen._run.find_peak``) drive a session: each series
loads its samples, generates its queries, paces them with the scenario's shaper, flushes,
drains with a deadline (``asyncgen._engine.drain``), and logs its results. What the series
yield for the ``TestResult`` accumulates in ``RunState`` and ``RunTally``.
"""

from __future__ import annotations

import time
from typing import Protocol

import attrs
import numpy as np

from asyncgen._config.effective import NS_PER_MS, EffectiveSettings
from asyncgen._config.enums import TestMode, TestScenario
from asyncgen._engine.clock import Clock
from asyncgen._engine.drain import Drain, Drained, pace_and_drain
from asyncgen._engine.gc import quiet_gc
from asyncgen._engine.memory import release_free_memory
from asyncgen._engine.progress import Progress, snapshot
from asyncgen._engine.protocols import QuerySampleLibrary, SystemUnderTest
from asyncgen._engine.series import Series
from asyncgen._engine.sessions import SessionSeries, SessionSpec
from asyncgen._engine.shapers import SCHEDULES, ShaperContext
from asyncgen._engine.tally import RunTally
from asyncgen._engine.watchdog import Watchdog
from asyncgen._metrics.fidelity import gap_model
from asyncgen._metrics.goodput import Goodput, ServiceLevelObjectives, evaluate
from asyncgen._metrics.health import RunHealth, series_health
from asyncgen._metrics.measurements import (
    max_completion_ns,
    performance_result,
    request_times,
    sample_latencies,
    sorted_issue_lags,
)
from asyncgen._metrics.sessions import QueueWait, TurnStats, queue_wait, turn_stats
from asyncgen._metrics.tokens import InputTokenSource, TokenCounts, token_counts
from asyncgen._metrics.verdict import PerformanceSummary, summarize
from asyncgen._metrics.workers import WorkerHealth, flag_shards
from asyncgen._output.provenance import power_timestamp
from asyncgen._output.summary_text import detail_result_entries, summary_lines
from asyncgen._output.writer import LogWriter
from asyncgen._plan.loadable import LoadableSet, loadable_sets
from asyncgen._plan.sequence import SequenceGen
from asyncgen._run.advice import Entry, RunAdvice
from asyncgen._run.workload import (
    generated_entries,
    load_trace,
    make_series,
    plan_series,
    trace_reasons,
)

CONTENTION_KEYS = (
    "logger_swap_request_slots_retry_count",
    "logger_swap_request_slots_retry_retry_count",
    "logger_swap_request_slots_retry_reencounter_count",
    "logger_start_reading_entries_retry_count",
    "logger_tls_total_log_cas_fail_count",
    "logger_tls_total_swap_buffers_slot_retry_count",
)


@attrs.define
class SeriesOutcome:
    """One finished series: what never completed, and its issue lags, sorted."""

    series: Series
    missing: list[int]
    sorted_lags: np.ndarray  # shared by the health check and IssueLag
    # scale-out: each shard's own health in this series, (shard, health)
    shard_health: tuple[tuple[int, RunHealth | None], ...] = ()


class RunEnded(Exception):  # noqa: N818 - an event, not a program error
    """The run cannot go on to another series (a scale-out shard was lost): the modes stop
    and the run reports what it has, INVALID."""


class Pacer(Protocol):
    """Runs a series somewhere other than on this loop (asyncgen._run.scale_out): fills
    ``series`` with what was issued and recorded, and closes it."""

    async def pace(
        self, session: RunSession, series: Series, eff: EffectiveSettings, accuracy: bool
    ) -> SeriesOutcome:
        """Pace ``series`` to its end; the missing samples are named in the detail log."""
        ...

    def progress(self, session: RunSession, series: Series, now_ns: int) -> Progress:
        """Where the running series stands."""
        ...


@attrs.define
class RunState:
    """What the modes accumulate for the final ``TestResult``."""

    summary: PerformanceSummary | None = None
    latencies: np.ndarray = attrs.field(factory=lambda: np.zeros(0, dtype=np.int64))
    lags: list[np.ndarray] = attrs.field(factory=list)  # each series' lags, sorted
    missing: list[tuple[int, int]] = attrs.field(factory=list)
    peak_qps: float | None = None
    invalid_reasons: list[str] = attrs.field(factory=list)
    health: RunHealth | None = None
    goodput: Goodput | None = None  # with SLOs: how the reported series did against them
    queue_wait: QueueWait | None = None  # waits for a slot, under server_max_concurrency
    turns: tuple[TurnStats, ...] = ()  # by turn number, in multi-turn runs
    tokens: TokenCounts | None = None
    workers: list[WorkerHealth] = attrs.field(factory=list)  # scale-out: one per shard


class RunSession:
    """One ``run_test`` call: holds the SUT, QSL, writer and the shared sequence ids, and runs
    its series one at a time."""

    def __init__(
        self,
        sut: SystemUnderTest,
        qsl: QuerySampleLibrary,
        eff: EffectiveSettings,
        writer: LogWriter,
        clock: Clock,
        *,
        watchdog: Watchdog | None = None,
        pacer: Pacer | None = None,
        entry: Entry = "api",
        slos: ServiceLevelObjectives | None = None,
    ) -> None:
        self.sut, self.qsl, self.eff, self.writer, self.clock = sut, qsl, eff, writer, clock
        self.pacer = pacer
        self.advice = RunAdvice.for_run(clock, entry)  # the warnings' remedies
        self.slos = slos
        self.ended = False  # no further series may run (see RunEnded)
        self.seq = SequenceGen()
        self.state = RunState()
        self.tally = RunTally()  # late completions and failures, across the run's series
        self.drain = Drain(writer, eff.requested.drain_timeout_ms, self.state.missing)
        self.watchdog = watchdog or Watchdog()
        s = eff.requested
        deadline_ns = s.drain_timeout_ms * NS_PER_MS
        self.watchdog.call_limit_ns = deadline_ns  # a SUT call that never returns
        dependent = s.server_concurrency or s.server_multi_turn or s.server_max_concurrency
        if eff.scenario in (TestScenario.SingleStream, TestScenario.MultiStream) or dependent:
            # a closed loop waits on each query (and the session shaper on completions):
            # bound that wait like the drain
            self.watchdog.wait_limit_ns = deadline_ns
        self.trace = load_trace(eff)  # a trace to replay (server_arrival "trace"), read once
        self.current: Series | None = None  # the series being paced, for progress reports
        self.phase = "starting"
        self.halted: str | None = None  # why no further series may run (a SUT call hung)

    # -- samples -----------------------------------------------------------------------------

    def loadable_sets(self, eff: EffectiveSettings, *, accuracy: bool) -> list[LoadableSet]:
        """The sets an accuracy pass loads in turn; a performance pass uses the first."""
        count = eff.accuracy_sample_count if accuracy else eff.performance_sample_count
        return loadable_sets(eff, self.qsl.total_sample_count, count)

    async def load(self, loaded: LoadableSet) -> None:
        """Log the set and have the QSL load it."""
        self.writer.detail("loaded_qsl_set", list(loaded.indices))
        await self.qsl.load_samples(loaded.indices)

    async def unload(self, loaded: LoadableSet) -> None:
        """Have the QSL unload the set."""
        await self.qsl.unload_samples(loaded.indices)

    # -- one series --------------------------------------------------------------------------

    async def run_series(
        self, eff: EffectiveSettings, loaded: LoadableSet, *, accuracy: bool
    ) -> SeriesOutcome:
        """Generate, pace, flush and drain one series of the loaded set; log its timing."""
        if self.ended:
            raise RunEnded("a worker was lost, so no further series can run")
        writer = self.writer
        planned = plan_series(  # the reference's plan unless workload options say otherwise
            eff, loaded, accuracy=accuracy, seq=self.seq, qsl=self.qsl, trace=self.trace
        )
        plan = planned.plan
        release_free_memory()  # the plan's temporaries, before the run's columns
        writer.details([*planned.entries, *generated_entries(planned)])
        series = make_series(
            planned,
            clock=self.clock,
            events=writer,
            log_all_responses=accuracy,
            log_mask=plan.accuracy_log_mask,
            use_tokens=eff.use_token_latencies,
            needs_first_token=eff.scenario is not TestScenario.Offline,
            server=eff.scenario is TestScenario.Server,
            schedule=SCHEDULES[eff.scenario],
            keep_completion_order=writer.trace_enabled or writer.exports_requests,
            tally=self.tally,
        )
        writer.follow(series, export=not accuracy)
        self.current, self.phase = series, _phase(eff, accuracy)
        wall_start = time.time_ns()
        if self.pacer is None:
            drained = await self._pace(series, eff, accuracy, planned.sessions)
            if drained.stopped is not None:  # the SUT is stuck: the run ends after this series
                self.halted = drained.stopped
                self.state.invalid_reasons.append(drained.stopped)
            outcome = SeriesOutcome(series, drained.missing, np.zeros(0))
        else:  # scaled out: planned.sessions is None (check_splittable refuses the options)
            outcome = await self.pacer.pace(self, series, eff, accuracy)
        # the reference's logger counters; asyncgen has no contention
        writer.details((key, 0) for key in CONTENTION_KEYS)
        active_ns = max_completion_ns(series) - series.start_ns
        writer.details(
            [
                ("power_begin", power_timestamp(wall_start)),
                ("power_end", power_timestamp(wall_start + active_ns)),
            ]
        )
        if self.pacer is None:
            outcome.sorted_lags = sorted_issue_lags(series)
        release_free_memory()  # before the statistics' arrays
        self.state.lags.append(outcome.sorted_lags)
        return outcome

    async def _pace(
        self,
        series: Series,
        eff: EffectiveSettings,
        accuracy: bool,
        sessions: SessionSpec | None = None,
    ) -> Drained:
        """The hot window: the shaper, flush and drain, watched by the watchdog."""
        ctx = ShaperContext(
            series=series,
            sut=self.sut,
            settings=eff,
            accuracy=accuracy,
            clock=self.clock,
            events=self.writer,
            sessions=sessions,
        )
        watchdog = self.watchdog
        watchdog.series, watchdog.active = series, True
        try:
            with quiet_gc():  # see asyncgen._engine.gc
                return await pace_and_drain(ctx, self.drain, watchdog)
        finally:
            watchdog.series, watchdog.active = None, False
            series.closed = True

    def report(self, eff: EffectiveSettings, outcome: SeriesOutcome) -> None:
        """Summarise a performance series: the summary file, the detail log's results, and
        the figures the ``TestResult`` reports."""
        pr = performance_result(outcome.series)
        # The statistics read the latencies sorted: sorting this copy in place and putting
        # the sample order back afterwards saves a second full-size array at the run's peak.
        pr.sample_latencies.sort()
        summary = summarize(eff, pr, self.sut.name)
        sample_latencies(outcome.series, out=pr.sample_latencies)
        self.writer.summary(summary_lines(summary))
        self.writer.details([*detail_result_entries(summary), ("num_errors", self.writer.errors)])
        self.state.summary = summary
        self.state.latencies = pr.sample_latencies
        self.state.invalid_reasons.extend(trace_reasons(eff, summary))  # a trace that ended short
        self.state.tokens = self._token_counts(outcome.series, pr.tokens_per_sample)
        if outcome.missing:
            self.state.invalid_reasons.append(
                f"{len(outcome.missing)} samples never completed within the drain deadline"
            )
        if isinstance(outcome.series, SessionSeries):  # asyncgen's workload options
            self.state.queue_wait = queue_wait(outcome.series)
            self.state.turns = turn_stats(outcome.series)
        # the generator's own health, and how closely its arrivals followed the process (on
        # the whole plan: scaled out, the merged series), and, scaled out, each shard's
        health = series_health(
            outcome.series,
            outcome.sorted_lags,
            gap_model(eff, self.trace),
            coalesced=eff.requested.server_coalesce_queries,
            bursts_remedy=self.advice.bursts,
        )
        health = self.state.health = flag_shards(health, outcome.shard_health)
        if health is not None and health.fidelity is not None:
            self.writer.detail("generic_message", health.fidelity.text)
        if self.slos is not None:
            series = outcome.series
            self.state.goodput = evaluate(self.slos, request_times(series), series.start_ns)
        for message in health.warnings if health else ():
            self.writer.warning(message)

    def progress(self, now_ns: int) -> Progress | None:
        """A snapshot of the series being paced, if one is."""
        series, eff = self.current, self.eff
        if series is None:
            return None
        if self.pacer is not None:
            return self.pacer.progress(self, series, now_ns)
        expected_s = series.plan.duration_ns / 1e9 if eff.scenario is TestScenario.Server else None
        progress = snapshot(
            series,
            phase=self.phase,
            now_ns=now_ns,
            target_qps=eff.target_qps,
            expected_s=expected_s,
        )
        if eff.requested.server_concurrency:  # a closed loop: no plan, rate or end to show
            progress = attrs.evolve(progress, queries_planned=0, target_qps=0.0, expected_s=None)
        return progress

    def _token_counts(self, series: Series, output: np.ndarray) -> TokenCounts | None:
        """Input counts from a QSL that knows them, output counts in token mode."""
        qsl = self.qsl
        counts = qsl.input_tokens if isinstance(qsl, InputTokenSource) else None
        if self.eff.requested.server_multi_turn:  # a sample's count is its first turn's only
            counts = None
        return token_counts(
            series.plan.sample_indices[: series.samples_issued],
            counts,
            output if series.use_tokens else None,
        )

    def name_in_flight(self) -> None:
        """Name the samples of the current series that never completed (the run stopped)."""
        series = self.current
        if series is None:
            return
        series.closed = True  # later completions are counted as late, not recorded
        known = {seq for seq, _ in self.state.missing}
        first = series.plan.first_sample_id
        in_flight = [s for s in series.missing_samples() if first + s not in known]
        self.drain.name_missing(series, in_flight, why="The run stopped")


def _phase(eff: EffectiveSettings, accuracy: bool) -> str:
    if accuracy:
        return "accuracy"
    if eff.mode is TestMode.FindPeakPerformance:
        return f"find-peak probe at {eff.target_qps:g} QPS"
    return "performance"
