"""``_Run``: one test's modes and series, and what they accumulate for the ``TestResult``.

Each series loads its samples, generates its queries, paces them with the scenario's shaper,
flushes, drains with a deadline (``asyncgen._engine.drain``), and logs its results.
"""

from __future__ import annotations

import time

import attrs
import numpy as np

from asyncgen._config.effective import NS_PER_MS, EffectiveSettings
from asyncgen._config.enums import TestMode, TestScenario
from asyncgen._engine.clock import Clock
from asyncgen._engine.drain import Drain, pace_and_drain
from asyncgen._engine.gc import quiet_gc
from asyncgen._engine.memory import release_free_memory
from asyncgen._engine.protocols import QuerySampleLibrary, SystemUnderTest
from asyncgen._engine.series import Series
from asyncgen._engine.shapers import SCHEDULES, ShaperContext
from asyncgen._engine.tally import RunTally
from asyncgen._engine.watchdog import Watchdog
from asyncgen._find_peak import FindPeak
from asyncgen._metrics.health import RunHealth, series_health
from asyncgen._metrics.measurements import (
    max_completion_ns,
    performance_result,
    sample_latencies,
    sorted_issue_lags,
)
from asyncgen._metrics.verdict import PerformanceSummary, summarize
from asyncgen._output.provenance import power_timestamp
from asyncgen._output.summary_text import detail_result_entries, summary_lines
from asyncgen._output.writer import LogWriter
from asyncgen._plan.loadable import LoadableSet, loadable_sets
from asyncgen._plan.queries import generate_queries
from asyncgen._plan.sequence import SequenceGen

CONTENTION_KEYS = (
    "logger_swap_request_slots_retry_count",
    "logger_swap_request_slots_retry_retry_count",
    "logger_swap_request_slots_retry_reencounter_count",
    "logger_start_reading_entries_retry_count",
    "logger_tls_total_log_cas_fail_count",
    "logger_tls_total_swap_buffers_slot_retry_count",
)


@attrs.define
class _SeriesOutcome:
    series: Series
    missing: list[int]
    sorted_lags: np.ndarray  # its issue lags, sorted: shared by the health check and IssueLag


@attrs.define
class _RunState:
    """What the mode functions accumulate for the final ``TestResult``."""

    summary: PerformanceSummary | None = None
    latencies: np.ndarray = attrs.field(factory=lambda: np.zeros(0, dtype=np.int64))
    lags: list[np.ndarray] = attrs.field(factory=list)  # each series' lags, sorted
    missing: list[tuple[int, int]] = attrs.field(factory=list)
    late: list[Series] = attrs.field(factory=list)
    accuracy_entries: int = 0
    peak_qps: float | None = None
    invalid_reasons: list[str] = attrs.field(factory=list)
    health: RunHealth | None = None


class _Run:
    """One ``run_test`` call: holds the SUT, QSL, writer and the shared sequence ids."""

    def __init__(
        self,
        sut: SystemUnderTest,
        qsl: QuerySampleLibrary,
        eff: EffectiveSettings,
        writer: LogWriter,
        clock: Clock,
        *,
        watchdog: Watchdog | None = None,
    ) -> None:
        self.sut, self.qsl, self.eff, self.writer, self.clock = sut, qsl, eff, writer, clock
        self.seq = SequenceGen()
        self.state = _RunState()
        self.tally = RunTally()  # late completions and failures, across the run's series
        self.drain = Drain(writer, eff.requested.drain_timeout_ms, self.state.missing)
        self.watchdog = watchdog or Watchdog()
        if eff.scenario in (TestScenario.SingleStream, TestScenario.MultiStream):
            # a closed loop waits on each query: bound that wait like the drain
            self.watchdog.wait_limit_ns = eff.requested.drain_timeout_ms * NS_PER_MS
        self.current: Series | None = None  # the series being paced, for progress reports
        self.phase = "starting"

    # -- modes -----------------------------------------------------------------------------

    async def performance(self) -> None:
        self.writer.detail("generic_message", "Starting performance mode")
        eff = self.eff
        loaded = loadable_sets(eff, self.qsl.total_sample_count, eff.performance_sample_count)[0]
        await self._load(loaded)
        wall_start = time.time_ns()
        if eff.print_timestamps:
            print(
                f"Loadgen :: Perf mode start. system_clock Timestamp = {wall_start // 10**9}",
                flush=True,
            )
        outcome = await self.series(eff, loaded, accuracy=False)
        if eff.print_timestamps:
            _print_stop_timestamps(wall_start)
        self._report(eff, outcome)
        await self.qsl.unload_samples(loaded.indices)

    async def accuracy(self) -> None:
        self.writer.detail("generic_message", "Starting accuracy mode")
        eff = self.eff
        for loaded in loadable_sets(eff, self.qsl.total_sample_count, eff.accuracy_sample_count):
            await self._load(loaded)
            await self.series(eff, loaded, accuracy=True)
            await self.qsl.unload_samples(loaded.indices)

    async def find_peak(self) -> None:
        await FindPeak(self).run()

    # -- one series ------------------------------------------------------------------------

    async def _load(self, loaded: LoadableSet) -> None:
        self.writer.detail("loaded_qsl_set", list(loaded.indices))
        await self.qsl.load_samples(loaded.indices)

    async def series(
        self, eff: EffectiveSettings, loaded: LoadableSet, *, accuracy: bool
    ) -> _SeriesOutcome:
        writer = self.writer
        plan = generate_queries(eff, loaded, accuracy=accuracy, seq=self.seq)
        release_free_memory()  # the plan's temporaries, before the run's columns
        writer.details(
            [
                ("generated_query_count", plan.query_count),
                ("generated_samples_per_query", plan.samples_per_query),
                ("generated_query_duration", plan.duration_ns),
            ]
        )
        series = Series(
            plan,
            clock=self.clock,
            events=writer,
            log_all_responses=accuracy,
            log_mask=plan.accuracy_log_mask,
            use_tokens=eff.use_token_latencies,
            needs_first_token=eff.scenario is not TestScenario.Offline,
            server=eff.scenario is TestScenario.Server,
            schedule=SCHEDULES[eff.scenario],
            keep_completion_order=writer.trace_enabled,
            tally=self.tally,
        )
        writer.follow(series)
        self.current, self.phase = series, _phase(eff, accuracy)
        wall_start = time.time_ns()
        ctx = ShaperContext(
            series=series,
            sut=self.sut,
            settings=eff,
            accuracy=accuracy,
            clock=self.clock,
            events=writer,
        )
        watchdog = self.watchdog
        watchdog.series, watchdog.active = series, True
        try:
            with quiet_gc():  # the hot window: pacing, flush and drain (see asyncgen._engine.gc)
                missing = await pace_and_drain(ctx, self.drain)
        finally:
            watchdog.series, watchdog.active = None, False
            series.closed = True
        # the reference's logger counters; asyncgen has no contention
        writer.details((key, 0) for key in CONTENTION_KEYS)
        active_ns = max_completion_ns(series) - series.start_ns
        writer.details(
            [
                ("power_begin", power_timestamp(wall_start)),
                ("power_end", power_timestamp(wall_start + active_ns)),
            ]
        )
        lags = sorted_issue_lags(series)
        release_free_memory()  # before the statistics' arrays
        self.state.lags.append(lags)
        self.state.late.append(series)
        return _SeriesOutcome(series, missing, lags)

    def _report(self, eff: EffectiveSettings, outcome: _SeriesOutcome) -> None:
        """Summary and detail results of a performance series."""
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
        if outcome.missing:
            self.state.invalid_reasons.append(
                f"{len(outcome.missing)} samples never completed within the drain deadline"
            )
        # the generator's own health
        self.state.health = series_health(outcome.series, outcome.sorted_lags)
        for message in self.state.health.warnings if self.state.health else ():
            self.writer.warning(message)


def _phase(eff: EffectiveSettings, accuracy: bool) -> str:
    if accuracy:
        return "accuracy"
    if eff.mode is TestMode.FindPeakPerformance:
        return f"find-peak probe at {eff.target_qps:g} QPS"
    return "performance"


def _print_stop_timestamps(wall_start: int) -> None:
    """The reference's stdout lines at the end of a performance series (its typo included)."""
    wall_stop = time.time_ns()
    duration_ms = (wall_stop - wall_start) // NS_PER_MS
    print(f"Loadgen :: Perf mode stop. systme_clock Timestamp = {wall_stop // 10**9}", flush=True)
    print(f"Loadgen :: PerfClock Perf duration = {duration_ms}ms", flush=True)
    print(f"Loadgen :: system_clock Perf duration = {duration_ms}ms", flush=True)
    print("Loadgen :: PerfClock/system_clock ratio = 1.0000", flush=True)
