"""``run_test``: one task tree that loads, paces, drains, measures and writes a whole test.

The flow follows the reference's ``StartTest``: open the logs, log the version and the run's
identity, apply audit.config, derive the effective settings (``asyncgen._run.start``), then run
the mode's series on a ``RunSession`` (``asyncgen._run.modes``) — each series loads its
samples, generates its queries, paces them with the scenario's shaper, flushes, drains with a
deadline (``asyncgen._engine.drain``), and logs its results. A run that fails, is cancelled or
is interrupted still writes complete files saying why.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from typing import Any

import anyio
import attrs

from asyncgen._config.settings import LogSettings, TestSettings
from asyncgen._config.validate import validate_settings
from asyncgen._engine.clock import Clock, MonotonicClock
from asyncgen._engine.progress import ProgressCallback
from asyncgen._engine.protocols import QuerySampleLibrary, SystemUnderTest, check_protocols
from asyncgen._engine.watchdog import Watchdog
from asyncgen._errors import OutputError, RunError, SettingsError
from asyncgen._log import get_logger
from asyncgen._metrics.goodput import ServiceLevelObjectives
from asyncgen._metrics.tokens import InputTokenSource
from asyncgen._output.provenance import test_datetime
from asyncgen._output.request_export import ExportFormat, ExportSettings, check_format
from asyncgen._output.writer import LogWriter
from asyncgen._run.advice import Entry
from asyncgen._run.modes import run_mode
from asyncgen._run.result import TestResult, build_result
from asyncgen._run.scale_out.driver import StartShards, plan_scale_out
from asyncgen._run.scale_out.pacer import ScaleOutOptions
from asyncgen._run.session import RunEnded, RunSession
from asyncgen._run.start import start_run
from asyncgen._run.stopped import (
    StoppedRun,
    stop_error,
    write_stopped_results,
    write_stopped_summary,
    write_text,
)

_log = get_logger("asyncgen")


async def run_test(
    sut: SystemUnderTest | Any,
    qsl: QuerySampleLibrary | Any,
    settings: TestSettings,
    *,
    log_settings: LogSettings | None = None,
    audit_config: str | os.PathLike[str] | None = "audit.config",
    clock: Clock | None = None,
    progress: ProgressCallback | None = None,
    progress_interval_s: float = 0.5,
    fail_on_sample_errors: bool = True,
    workers: int = 1,
    ray_address: str | None = None,
    slos: ServiceLevelObjectives | None = None,
    export_requests: ExportFormat | None = None,
    _early_errors: Sequence[tuple[str, str]] = (),
    _scale_out_options: ScaleOutOptions | None = None,
    _start_shards: StartShards | None = None,
    _entry: Entry = "api",  # who started the run: the warnings' advice is worded for it
) -> TestResult:
    """Run one test on the running event loop and return its result.

    Writes the reference's log files (plus ``results.json``) to ``log_settings``' folder. An
    ``audit.config`` in the working directory overrides ``settings`` as in the reference; pass
    ``audit_config=None`` to ignore it. Raises ``SettingsError``/``ConfigError`` before anything
    runs for settings that cannot run, ``ProtocolError`` for a SUT or QSL whose methods are
    not coroutine functions, ``OutputError`` when the logs cannot be written (or another run
    is writing to the folder), and
    ``RunError`` (with the original as its cause) when the SUT or QSL raised. ``progress``, if
    given, receives a ``Progress`` snapshot every ``progress_interval_s`` while queries are paced.
    Samples the SUT failed (``QuerySample.fail``) are counted per kind in ``TestResult.failures``
    and, unless ``fail_on_sample_errors`` is False, make the run INVALID.

    ``workers=N`` (N > 1; Server and Offline) runs the test on N worker processes on Ray (the
    ``ray`` extra): a local cluster, or the one at ``ray_address``. Then ``sut`` and ``qsl``
    are zero-argument factories (a class or a module-level function) or ``"module:object"``
    strings, and every worker makes its own. The plan is the one a single process makes,
    dealt to the workers and merged back; ``TestResult.workers`` has each worker's figures.

    ``slos`` judges every request of the performance series against latency objectives:
    ``TestResult.goodput`` (and ``goodput`` in results.json) says how the run did; the verdict
    is unchanged. ``export_requests`` (``"jsonl"`` or ``"parquet"``) writes one row per
    request to ``requests.jsonl`` (``.parquet``) in the log folder as the run goes.
    """
    validate_settings(settings)
    scale = plan_scale_out(
        sut,
        qsl,
        settings,
        workers=workers,
        ray_address=ray_address,
        clock=clock,
        options=_scale_out_options,
        start=_start_shards,
    )
    if scale is None:  # scaled out, sut and qsl are factories, checked as such
        check_protocols(sut, qsl)
    _check_slos(slos, settings)
    export = None
    if export_requests is not None:
        export = ExportSettings(
            fmt=check_format(export_requests),
            slos=slos,
            input_tokens=qsl.input_tokens if isinstance(qsl, InputTokenSource) else None,
        )
    log_settings = log_settings or LogSettings()
    if clock is None:  # scaled out: the workers' mode, which the warnings' advice names
        clock = MonotonicClock() if scale is None else MonotonicClock(scale.pacing)
    datetime_label = test_datetime()
    writer = LogWriter(log_settings, datetime_label, time.perf_counter_ns(), export=export)
    for key, message in _early_errors:  # asyncgen.compat: errors the reference logged pre-test
        writer.error(key, message)
    _log.info(
        "run started",
        scenario=settings.scenario.name,
        mode=settings.mode.name,
        outdir=log_settings.log_output.outdir,
    )
    session: RunSession | None = None
    watchdog = Watchdog()
    stopped: BaseException | None = None
    try:
        async with AsyncExitStack() as shards, anyio.create_task_group() as tg:
            tg.start_soon(writer.run)
            tg.start_soon(watchdog.run)
            if progress is not None:
                tg.start_soon(_report_progress, lambda: session, progress, progress_interval_s)
            pacer = None
            if scale is not None:
                sut, qsl, pacer = await shards.enter_async_context(scale.open())
            session = await start_run(
                sut,
                qsl,
                settings,
                writer=writer,
                clock=clock,
                label=datetime_label,
                audit_config=audit_config,
                watchdog=watchdog,
                pacer=pacer,
                entry=_entry,
                slos=slos,
            )
            try:
                await run_mode(session)
            except RunEnded as ended:  # a shard was lost: what ran is the result, INVALID
                _report_ended(session, ended)
            _report_stalls(session)
            writer.finish()  # the last trace: a file that fails now still stops the run
            tg.cancel_scope.cancel()
    except BaseException as caught:  # failed, cancelled or interrupted: the files say why
        stopped = stop_error(caught, writer)
        if session is not None:
            session.name_in_flight()
        try:
            _report_stalls(session)
        except Exception as error:  # the stall warning must not replace why the run stopped
            _log.error("loop stalls not reported", error=repr(error))
        stopped_run = attrs.evolve(_stopped_run(session, settings), loop_stalls=watchdog.stalls())
        write_stopped_summary(writer, stopped_run, stopped)
    finally:
        close_error = _close(writer, stopped)
    if stopped is None and close_error is not None:  # only the footers failed
        stopped = close_error
        stopped_run = attrs.evolve(_stopped_run(session, settings), loop_stalls=watchdog.stalls())
    if stopped is not None:
        write_stopped_results(writer, stopped_run, stopped)
        raise stopped
    assert session is not None
    result = build_result(session, writer, fail_on_sample_errors=fail_on_sample_errors)
    if "results" in writer.paths:  # unless LogSettings.write_results_json is False
        write_text(writer.paths["results"], result.to_json() + "\n")
    _log.info("run finished", result="VALID" if result.valid else "INVALID", errors=result.errors)
    return result


def _check_slos(slos: ServiceLevelObjectives | None, settings: TestSettings) -> None:
    if slos is not None and not isinstance(slos, ServiceLevelObjectives):
        raise SettingsError(f"slos must be a ServiceLevelObjectives, got {slos!r}")
    if slos is not None and slos.needs_tokens and not settings.use_token_latencies:
        raise SettingsError(
            "the ttft_ms and tpot_ms objectives need token latencies: set "
            "use_token_latencies=True (asyncgen run --adapter openai turns it on for its "
            "generation APIs; embeddings have no tokens to time: judge them by e2e_ms)"
        )


def _close(writer: LogWriter, stopped: BaseException | None) -> OutputError | None:
    """Close the log files; the error to raise if one fails and the run had not stopped for
    another reason (a note on that reason otherwise)."""
    try:
        writer.close()
    except OutputError as error:
        if stopped is None:
            return error
        stopped.add_note(f"also: {error}")
    return None


async def _report_progress(
    current_session: Callable[[], RunSession | None],
    callback: ProgressCallback,
    interval_s: float,
) -> None:
    """Hand a snapshot of the active series to ``callback`` every ``interval_s``."""
    while True:
        await anyio.sleep(interval_s)
        session = current_session()
        snapshot = None if session is None else session.progress(session.clock.now_ns())
        if snapshot is not None:
            callback(snapshot)


def _report_ended(session: RunSession, ended: RunEnded) -> None:
    """A run that could not go on: the summary says so if no series was reported."""
    session.writer.error("error_runtime", f"Run ended early: {ended}")
    if session.state.summary is None:
        stopped = StoppedRun(
            session.eff.scenario, session.eff.mode, _sut_name(session), session.state.missing
        )
        write_stopped_summary(session.writer, stopped, ended)


def _stopped_run(session: RunSession | None, settings: TestSettings) -> StoppedRun:
    """What the files of a run that did not finish report about it."""
    if session is None:
        return StoppedRun(settings.scenario, settings.mode, "unknown", [])
    return StoppedRun(
        session.eff.scenario, session.eff.mode, _sut_name(session), session.state.missing
    )


def _sut_name(session: RunSession) -> str:
    try:
        return session.sut.name
    except Exception:  # a SUT whose name raises must not hide why the run stopped
        return "unknown"


def _report_stalls(session: RunSession | None) -> None:
    """A warning in the detail log if the event loop stalled while queries were paced (a run
    that stopped before it started has no series, so no stalls)."""
    if session is None:
        return
    stalls = session.watchdog.stalls()
    if stalls.count:
        session.writer.warning(stalls.warning(session.advice.stall))


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

    ``options`` are ``run_test``'s other keywords (``clock``, ``progress``, ...). Inside a
    running event loop, ``await run_test(...)`` instead (this raises ``RunError`` there).
    """
    if _running_loop() is not None:
        raise RunError(
            "asyncgen.run() cannot start an event loop inside a running one; "
            "in async code use 'await asyncgen.run_test(sut, qsl, settings, ...)'"
        )
    loop_factory = uvloop_factory() if use_uvloop else None
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(
            run_test(
                sut, qsl, settings, log_settings=log_settings, audit_config=audit_config, **options
            )
        )


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def uvloop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """A new-event-loop function for ``asyncio.Runner``: uvloop's, or None where it is missing."""
    try:
        import uvloop  # noqa: PLC0415 - optional: uvloop does not build everywhere
    except ImportError:  # pragma: no cover
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory
