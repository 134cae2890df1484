"""``run_test``: one task tree that loads, paces, drains, measures and writes a whole test.

The flow follows the reference's ``StartTest``: open the logs, log the version and the run's
identity, apply audit.config, derive the effective settings, then run the mode's series —
each series loads its samples, generates its queries, paces them with the scenario's shaper,
flushes, drains with a deadline, and logs its results.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import anyio
import attrs
import numpy as np

from asyncgen import _plan
from asyncgen._clock import Clock, MonotonicClock
from asyncgen._config import apply_audit_config, validate_settings
from asyncgen._effective import NS_PER_MS, EffectiveSettings, effective_settings
from asyncgen._errors import OutputError, SettingsError
from asyncgen._find_peak import FindPeak
from asyncgen._gc import quiet_gc
from asyncgen._health import RunHealth, series_health
from asyncgen._log import get_logger
from asyncgen._memory import release_free_memory
from asyncgen._outcome import build_result
from asyncgen._progress import ProgressCallback, snapshot
from asyncgen._provenance import power_timestamp, test_datetime, version_entries
from asyncgen._results import (
    PerformanceSummary,
    detail_result_entries,
    summarize,
    summary_lines,
)
from asyncgen._series import Schedule, Series
from asyncgen._series_result import (
    max_completion_ns,
    performance_result,
    sample_latencies,
    sorted_issue_lags,
)
from asyncgen._settings_log import effective_entries, requested_entries
from asyncgen._stopped import (
    StoppedRun,
    stop_error,
    write_stopped_results,
    write_stopped_summary,
    write_text,
)
from asyncgen._version import __version__
from asyncgen._watchdog import QueryWaitExpired, Watchdog
from asyncgen._writer import LogWriter
from asyncgen.result import TestResult
from asyncgen.scenarios import SHAPERS, ShaperContext
from asyncgen.settings import LogSettings, TestMode, TestScenario, TestSettings
from asyncgen.sut import QuerySampleLibrary, SystemUnderTest

_log = get_logger("asyncgen")

CONTENTION_KEYS = (
    "logger_swap_request_slots_retry_count",
    "logger_swap_request_slots_retry_retry_count",
    "logger_swap_request_slots_retry_reencounter_count",
    "logger_start_reading_entries_retry_count",
    "logger_tls_total_log_cas_fail_count",
    "logger_tls_total_swap_buffers_slot_retry_count",
)


# When each scenario's queries are scheduled (what the reference stamps as their start).
SCHEDULES = {
    TestScenario.SingleStream: Schedule.ISSUE,
    TestScenario.MultiStream: Schedule.ISSUE,
    TestScenario.Server: Schedule.PLAN,
    TestScenario.Offline: Schedule.START,
}


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
        self.seq = _plan.SequenceGen()
        self.state = _RunState()
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
        loaded = _plan.loadable_sets(
            eff, self.qsl.total_sample_count, eff.performance_sample_count
        )[0]
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
        for loaded in _plan.loadable_sets(
            eff, self.qsl.total_sample_count, eff.accuracy_sample_count
        ):
            await self._load(loaded)
            await self.series(eff, loaded, accuracy=True)
            await self.qsl.unload_samples(loaded.indices)

    async def find_peak(self) -> None:
        await FindPeak(self).run()

    # -- one series ------------------------------------------------------------------------

    async def _load(self, loaded: _plan.LoadableSet) -> None:
        self.writer.detail("loaded_qsl_set", list(loaded.indices))
        await self.qsl.load_samples(loaded.indices)

    async def series(
        self, eff: EffectiveSettings, loaded: _plan.LoadableSet, *, accuracy: bool
    ) -> _SeriesOutcome:
        writer = self.writer
        plan = _plan.generate_queries(eff, loaded, accuracy=accuracy, seq=self.seq)
        release_free_memory()  # the plan's temporaries, before the run's columns
        writer.detail("generated_query_count", plan.query_count)
        writer.detail("generated_samples_per_query", plan.samples_per_query)
        writer.detail("generated_query_duration", plan.duration_ns)
        series = Series(
            plan,
            clock=self.clock,
            writer=writer,
            log_all_responses=accuracy,
            log_mask=plan.accuracy_log_mask,
            use_tokens=eff.use_token_latencies,
            needs_first_token=eff.scenario is not TestScenario.Offline,
            server=eff.scenario is TestScenario.Server,
            schedule=SCHEDULES[eff.scenario],
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
            writer=writer,
        )
        watchdog = self.watchdog
        watchdog.series, watchdog.active = series, True
        try:
            with quiet_gc():  # the hot window: pacing, flush and drain (see asyncgen._gc)
                missing = await self._pace(ctx, accuracy=accuracy)
        finally:
            watchdog.series, watchdog.active = None, False
            series.closed = True
        for key in CONTENTION_KEYS:  # the reference's logger counters; asyncgen has no contention
            writer.detail(key, 0)
        active_ns = max_completion_ns(series) - series.start_ns
        writer.detail("power_begin", power_timestamp(wall_start))
        writer.detail("power_end", power_timestamp(wall_start + active_ns))
        lags = sorted_issue_lags(series)
        release_free_memory()  # before the statistics' arrays
        self.state.lags.append(lags)
        self.state.late.append(series)
        return _SeriesOutcome(series, missing, lags)

    async def _pace(self, ctx: ShaperContext, *, accuracy: bool) -> list[int]:
        """Shaper, flush and drain. If the SUT raises, issuing stops, what is in flight is
        drained within the deadline, and the error goes on; a closed loop whose query never
        completed stops issuing and the run ends INVALID with the sample named."""
        series, writer = ctx.series, self.writer
        expired = False
        try:
            outcome = await SHAPERS[self.eff.scenario](ctx)
        except QueryWaitExpired as exc:
            writer.error(
                "error_runtime", f"Closed loop stopped: {exc}; no further queries were issued"
            )
            expired = True
        except Exception as exc:
            # the samples of the call that raised may never have reached the SUT
            await self._drain_after_failure(series, exc, skip=_last_call_samples(series))
            raise
        try:
            await self.sut.flush_queries()
        except Exception as exc:
            await self._drain_after_failure(series, exc, skip=range(0))
            raise
        if expired:  # its wait already lasted the drain deadline
            return await self._drain(series, timeout_s=0.0)
        if outcome.ran_out and not accuracy:
            writer.error(
                "error_runtime",
                "Ending early: Ran out of generated queries to issue before the minimum "
                "query count and test duration were reached. Please update the relevant "
                "expected latency or target qps in the TestSettings so they are more "
                "accurate.",
            )
        return await self._drain(series)

    async def _drain_after_failure(self, series: Series, exc: Exception, *, skip: range) -> None:
        """Stop issuing; wait (polling: a failure path) until every sample in flight but those
        in ``skip`` has completed or the drain deadline passed, and name the missing ones."""
        self.writer.error(
            "error_runtime",
            f"Stopped issuing: the SUT raised {exc!r}; draining the samples in flight",
        )
        deadline = time.perf_counter_ns() + self.eff.requested.drain_timeout_ms * NS_PER_MS
        while time.perf_counter_ns() < deadline:
            if all(s in skip for s in series.missing_samples()):
                break
            await anyio.sleep(0.005)
        self._name_missing(series, series.missing_samples())

    async def _drain(self, series: Series, timeout_s: float | None = None) -> list[int]:
        """Wait for outstanding samples until the drain deadline; name the ones that never came."""
        if timeout_s is None:
            timeout_s = self.eff.requested.drain_timeout_ms / 1000
        with anyio.move_on_after(timeout_s):
            await series.wait_all()
            return []
        missing = series.missing_samples()
        self._name_missing(series, missing)
        return missing

    def _name_missing(self, series: Series, missing: list[int], why: str | None = None) -> None:
        """Log the samples that never completed (by seq_id:qsl_idx) and keep them for the result."""
        if not missing:
            return
        if why is None:
            why = f"Drain deadline of {self.eff.requested.drain_timeout_ms} ms passed"
        plan = series.plan
        listed = [(plan.first_sample_id + s, int(plan.sample_indices[s])) for s in missing]
        shown = ", ".join(f"{seq}:{idx}" for seq, idx in listed[:50])
        more = f" (and {len(listed) - 50} more)" if len(listed) > 50 else ""
        self.writer.error(
            "error_runtime",
            f"{why} with {len(listed)} samples never completed (seq_id:qsl_idx) {shown}{more}",
        )
        self.state.missing.extend(listed)

    def _report(self, eff: EffectiveSettings, outcome: _SeriesOutcome) -> None:
        """Summary and detail results of a performance series."""
        pr = performance_result(outcome.series)
        # The statistics read the latencies sorted: sorting this copy in place and putting
        # the sample order back afterwards saves a second full-size array at the run's peak.
        pr.sample_latencies.sort()
        summary = summarize(eff, pr, self.sut.name)
        sample_latencies(outcome.series, out=pr.sample_latencies)
        self.writer.summary(summary_lines(summary))
        for key, value in detail_result_entries(summary):
            self.writer.detail(key, value)
        self.writer.detail("num_errors", self.writer.errors)
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


def _last_call_samples(series: Series) -> range:
    """The samples of the last ``issue_query`` call: the trailing queries stamped at the
    same issue time (one call stamps all its queries with one reading of the clock)."""
    n = series.queries_issued
    if n == 0:
        return range(0)
    last, first = series.issued_at(n - 1), n - 1
    while first > 0 and series.issued_at(first - 1) == last:
        first -= 1
    return range(first * series.spq, n * series.spq)


def _print_stop_timestamps(wall_start: int) -> None:
    wall_stop = time.time_ns()
    duration_ms = (wall_stop - wall_start) // NS_PER_MS
    print(f"Loadgen :: Perf mode stop. systme_clock Timestamp = {wall_stop // 10**9}", flush=True)
    print(f"Loadgen :: PerfClock Perf duration = {duration_ms}ms", flush=True)
    print(f"Loadgen :: system_clock Perf duration = {duration_ms}ms", flush=True)
    print("Loadgen :: PerfClock/system_clock ratio = 1.0000", flush=True)


def _apply_overrides(
    settings: TestSettings, writer: LogWriter, audit_config: str | os.PathLike[str] | None
) -> TestSettings:
    """audit.config from the working directory, then the test05 seed swap (reference order)."""
    if audit_config is not None and Path(audit_config).is_file():
        writer.warning(
            "Found Audit Config file (audit.config). "
            "Overriding TestSettings from audit.config file."
        )
        settings = apply_audit_config(settings, audit_config)
        _log.info("audit config applied", path=str(audit_config))
    if settings.test05:
        writer.warning("Test05 flag detected Overriding random seeds")
        settings = attrs.evolve(
            settings,
            mode=TestMode.PerformanceOnly,
            qsl_rng_seed=settings.test05_qsl_rng_seed,
            sample_index_rng_seed=settings.test05_sample_index_rng_seed,
            schedule_rng_seed=settings.test05_schedule_rng_seed,
        )
    return settings


async def run_test(
    sut: SystemUnderTest,
    qsl: QuerySampleLibrary,
    settings: TestSettings,
    *,
    log_settings: LogSettings | None = None,
    audit_config: str | os.PathLike[str] | None = "audit.config",
    clock: Clock | None = None,
    progress: ProgressCallback | None = None,
    progress_interval_s: float = 0.5,
    fail_on_sample_errors: bool = True,
    _early_errors: Sequence[tuple[str, str]] = (),
) -> TestResult:
    """Run one test on the running event loop and return its result.

    Writes the reference's log files (plus ``results.json``) to ``log_settings``' folder. An
    ``audit.config`` in the working directory overrides ``settings`` as in the reference; pass
    ``audit_config=None`` to ignore it. Raises ``SettingsError``/``ConfigError`` before anything
    runs for settings that cannot run, ``OutputError`` when the logs cannot be written, and
    ``RunError`` (with the original as its cause) when the SUT or QSL raised. ``progress``, if
    given, receives a ``Progress`` snapshot every ``progress_interval_s`` while queries are paced.
    Samples the SUT failed (``QuerySample.fail``) are counted per kind in ``TestResult.failures``
    and, unless ``fail_on_sample_errors`` is False, make the run INVALID.
    """
    validate_settings(settings)
    log_settings = log_settings or LogSettings()
    clock = clock or MonotonicClock()
    datetime_label = test_datetime()
    writer = LogWriter(log_settings, datetime_label, time.perf_counter_ns())
    for key, message in _early_errors:  # asyncgen.compat: errors the reference logged pre-test
        writer.error(key, message)
    _log.info(
        "run started",
        scenario=settings.scenario.name,
        mode=settings.mode.name,
        outdir=log_settings.log_output.outdir,
    )
    run: _Run | None = None
    watchdog = Watchdog()
    stopped: BaseException | None = None
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(writer.run)
            tg.start_soon(watchdog.run)
            if progress is not None:
                tg.start_soon(_report_progress, lambda: run, progress, progress_interval_s, clock)
            run = await _start(
                sut,
                qsl,
                settings,
                writer=writer,
                clock=clock,
                label=datetime_label,
                audit_config=audit_config,
                watchdog=watchdog,
            )
            await _dispatch(run)
            _report_stalls(run)
            tg.cancel_scope.cancel()
    except BaseException as caught:  # failed, cancelled or interrupted: the files say why
        stopped = stop_error(caught, writer)
        _name_in_flight(run)
        try:
            _report_stalls(run)
        except Exception as error:  # the stall warning must not replace why the run stopped
            _log.error("loop stalls not reported", error=repr(error))
        stopped_run = attrs.evolve(_stopped_run(run, settings), loop_stalls=watchdog.stalls())
        write_stopped_summary(writer, stopped_run, stopped)
    finally:
        _close(writer, stopped)
    if stopped is not None:
        write_stopped_results(writer, stopped_run, stopped)
        raise stopped
    assert run is not None
    result = build_result(run, writer, fail_on_sample_errors=fail_on_sample_errors)
    write_text(writer.paths["results"], result.to_json() + "\n")
    _log.info("run finished", result="VALID" if result.valid else "INVALID", errors=result.errors)
    return result


def _close(writer: LogWriter, stopped: BaseException | None) -> None:
    """Close the log files. If the run has already stopped for another reason, a file that
    fails to close is a note on that reason rather than the error that replaces it."""
    try:
        writer.close()
    except OutputError as error:
        if stopped is None:
            raise
        stopped.add_note(f"also: {error}")


def _phase(eff: EffectiveSettings, accuracy: bool) -> str:
    if accuracy:
        return "accuracy"
    if eff.mode is TestMode.FindPeakPerformance:
        return f"find-peak probe at {eff.target_qps:g} QPS"
    return "performance"


async def _report_progress(
    current_run: Callable[[], _Run | None],
    callback: ProgressCallback,
    interval_s: float,
    clock: Clock,
) -> None:
    """Hand a snapshot of the active series to ``callback`` every ``interval_s``."""
    while True:
        await anyio.sleep(interval_s)
        run = current_run()
        if run is None or run.current is None:
            continue
        eff, series = run.eff, run.current
        expected_s = series.plan.duration_ns / 1e9 if eff.scenario is TestScenario.Server else None
        callback(
            snapshot(
                series,
                phase=run.phase,
                now_ns=clock.now_ns(),
                target_qps=eff.target_qps,
                expected_s=expected_s,
            )
        )


def _name_in_flight(run: _Run | None) -> None:
    """Name the samples of the current series that never completed (the run was stopped)."""
    series = None if run is None else run.current
    if run is None or series is None:
        return
    series.closed = True  # later completions are counted as late, not recorded
    known = {seq for seq, _ in run.state.missing}
    first = series.plan.first_sample_id
    in_flight = [s for s in series.missing_samples() if first + s not in known]
    run._name_missing(series, in_flight, why="The run stopped")


def _stopped_run(run: _Run | None, settings: TestSettings) -> StoppedRun:
    """What the files of a run that did not finish report about it."""
    if run is None:
        return StoppedRun(settings.scenario, settings.mode, "unknown", [])
    return StoppedRun(run.eff.scenario, run.eff.mode, _sut_name(run), run.state.missing)


def _sut_name(run: _Run) -> str:
    try:
        return run.sut.name
    except Exception:  # a SUT whose name raises must not hide why the run stopped
        return "unknown"


def _report_stalls(run: _Run | None) -> None:
    """A warning in the detail log if the event loop stalled while queries were paced (a run
    that stopped before it started has no series, so no stalls)."""
    if run is None:
        return
    stalls = run.watchdog.stalls()
    if stalls.count:
        run.writer.warning(stalls.warning())


async def _start(
    sut: SystemUnderTest,
    qsl: QuerySampleLibrary,
    settings: TestSettings,
    *,
    writer: LogWriter,
    clock: Clock,
    label: str,
    audit_config: str | os.PathLike[str] | None,
    watchdog: Watchdog | None = None,
) -> _Run:
    before = time.perf_counter_ns()
    sut_name = sut.name
    name_ns = time.perf_counter_ns() - before
    for key, value in version_entries(__version__):
        writer.detail(key, value)
    writer.detail("test_datetime", label)
    writer.detail("sut_name", sut_name)
    writer.detail("get_sut_name_duration_ns", name_ns)
    writer.detail("qsl_name", qsl.name)
    writer.detail("qsl_reported_total_count", qsl.total_sample_count)
    writer.detail("qsl_reported_performance_count", qsl.performance_sample_count)
    settings = _apply_overrides(settings, writer, audit_config)
    validate_settings(settings)  # again: audit.config values must be runnable too
    eff, problems = effective_settings(
        settings, qsl.performance_sample_count, qsl.total_sample_count
    )
    for message in problems:
        writer.error("error_invalid_test_settings", message)
    _check_against_qsl(eff)
    for key, value in requested_entries(settings):
        writer.detail(key, value)
    for key, value in effective_entries(eff):
        writer.detail(key, value)
    return _Run(sut, qsl, eff, writer, clock, watchdog=watchdog)


def _check_against_qsl(eff: EffectiveSettings) -> None:
    if eff.performance_sample_count <= 0:
        raise SettingsError("performance_sample_count is 0: the QSL reports no performance samples")
    if (
        eff.performance_issue_same
        and eff.performance_issue_same_index >= eff.performance_sample_count
    ):
        raise SettingsError(
            f"performance_issue_same_index {eff.performance_issue_same_index} is outside the "
            f"loaded set of {eff.performance_sample_count} samples"
        )


async def _dispatch(run: _Run) -> None:
    match run.eff.mode:
        case TestMode.SubmissionRun:
            await run.accuracy()
            await run.performance()
        case TestMode.AccuracyOnly:
            await run.accuracy()
        case TestMode.PerformanceOnly:
            await run.performance()
        case TestMode.FindPeakPerformance:
            await run.find_peak()


def run(
    sut: SystemUnderTest,
    qsl: QuerySampleLibrary,
    settings: TestSettings,
    *,
    log_settings: LogSettings | None = None,
    audit_config: str | os.PathLike[str] | None = "audit.config",
    use_uvloop: bool = True,
    **options: Any,
) -> TestResult:
    """Run a test from synchronous code on a fresh event loop (uvloop when available).

    ``options`` are ``run_test``'s other keywords (``clock``, ``progress``, ...).
    """
    loop_factory = _uvloop_factory() if use_uvloop else None
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(
            run_test(
                sut, qsl, settings, log_settings=log_settings, audit_config=audit_config, **options
            )
        )


def _uvloop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop  # noqa: PLC0415 - optional: uvloop does not build everywhere
    except ImportError:  # pragma: no cover
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory
