"""One shard of a scaled-out run: its SUT and QSL, and its slices of the plan, paced on the
worker's own event loop by the same engine a single process uses.

``ShardCore`` knows nothing of Ray: the actor (``asyncgen._run.scale_out.actor``) calls it on
the loop it owns, and tests call it directly. For each series the driver hands it a
``ShardWork`` (the shard's queries, their global scheduled offsets and samples) and later the
common start on this worker's clock; the shard runs an ordinary ``Series`` through the
scenario's shaper, flush and drain, and answers with a ``ShardOutcome``: the series' records
as numpy columns, what it logged, and its own health. ``progress`` and ``stop`` may be called
from another thread while a series runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from contextlib import AsyncExitStack
from typing import Any

import attrs
import numpy as np

from asyncgen._config.effective import EffectiveSettings
from asyncgen._config.enums import TestScenario
from asyncgen._engine.clock import Clock
from asyncgen._engine.drain import Drain, Drained, pace_and_drain
from asyncgen._engine.gc import quiet_gc
from asyncgen._engine.progress import Progress, snapshot
from asyncgen._engine.protocols import QuerySampleLibrary, SystemUnderTest, check_protocols
from asyncgen._engine.records import SeriesRecords, export_records
from asyncgen._engine.series import Series
from asyncgen._engine.shapers import SCHEDULES, ShaperContext
from asyncgen._engine.tally import RunTally
from asyncgen._metrics.health import RunHealth, series_health
from asyncgen._metrics.issue_lag import IssueLag
from asyncgen._metrics.measurements import sorted_issue_lags
from asyncgen._plan.queries import QueryPlan
from asyncgen._run.scale_out.clocks import boot_id
from asyncgen._run.scale_out.factories import make_qsl, make_sut
from asyncgen._run.scale_out.split import ShardSlice

HEARTBEAT_S = 0.1  # how often the shard's loop stamps itself alive

Entry = tuple[str, str, object]  # (kind: "detail" | "error" | "warning", key, value)


class ShardEvents:
    """The shard's ``EventLog``: entries kept for the driver's detail log."""

    def __init__(self) -> None:
        self.entries: list[Entry] = []

    def detail(self, key: str, value: object) -> None:
        self.entries.append(("detail", key, value))

    def error(self, key: str, message: str) -> None:
        self.entries.append(("error", key, message))

    def warning(self, message: str) -> None:
        self.entries.append(("warning", "warning_generic_message", message))

    def take(self) -> list[Entry]:
        entries, self.entries = self.entries, []
        return entries


class _Unlogged:
    """An ``EventLog`` that keeps nothing: the driver names the shards' missing samples."""

    def detail(self, key: str, value: object) -> None:
        pass

    def error(self, key: str, message: str) -> None:
        pass

    def warning(self, message: str) -> None:
        pass


class ShardSeries(Series):
    """A series of the shard's queries: its logs name samples by their global sequence ids."""

    def __init__(self, plan: QueryPlan, samples: range, **kwargs: Any) -> None:
        super().__init__(plan, **kwargs)
        self._samples = samples

    def seq_id(self, s: int) -> int:
        return self.plan.first_sample_id + self._samples[s]


@attrs.frozen(kw_only=True)
class ShardWork:
    """One series' work for one shard."""

    slice: ShardSlice
    plan: QueryPlan  # the shard's queries, with their global offsets and samples
    eff: EffectiveSettings  # with the limits the driver applied to the whole plan cleared
    accuracy: bool


@attrs.frozen(kw_only=True)
class ShardOutcome:
    """What a shard answers at the end of a series."""

    shard: int
    records: SeriesRecords  # on the shard's clock
    events: list[Entry]
    issue_lag: IssueLag  # of this series
    run_issue_lag: IssueLag  # of every series this shard ran so far
    health: RunHealth | None  # of this series
    late_completions: int  # since the previous outcome
    stopped: bool  # the driver stopped it before it finished
    error: str | None  # the SUT raised: repr of the exception
    slack_ns: int  # how long before the start the shard was ready (negative: late)
    cpu_s: float  # CPU time of the worker's process while it ran the series


class ShardCore:
    """A worker's SUT, QSL and series, on the event loop it runs on."""

    def __init__(self, shard: int, sut: object, qsl: object, clock: Clock) -> None:
        self.shard = shard
        self._specs = (sut, qsl)
        self.clock = clock
        self.sut: SystemUnderTest | None = None
        self.qsl: QuerySampleLibrary | None = None
        self._stack = AsyncExitStack()
        self._tally = RunTally()
        self._late_seen = 0
        self._lags: list[np.ndarray] = []
        self._work: ShardWork | None = None
        self._series: Series | None = None
        self._pacing: asyncio.Future[Drained] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_requested = False
        self._beat_ns = 0  # the loop's last heartbeat (0: no series running)
        self._cpu_start = 0.0

    async def open(self) -> dict[str, Any]:
        """Make the QSL and SUT (entering them if they are async context managers)."""
        self._loop = asyncio.get_running_loop()
        qsl = self.qsl = await self._enter(await make_qsl(self._specs[1]))
        self.sut = await self._enter(await make_sut(self._specs[0], qsl))
        check_protocols(self.sut, qsl)  # as run_test checks one process's, before any issue
        return {
            "shard": self.shard,
            "sut_name": self.sut.name,
            "qsl_name": qsl.name,
            "total_sample_count": qsl.total_sample_count,
            "performance_sample_count": qsl.performance_sample_count,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "boot_id": boot_id(),
        }

    async def _enter(self, obj: Any) -> Any:
        if hasattr(obj, "__aenter__") and hasattr(obj, "__aexit__"):
            await self._stack.enter_async_context(obj)
        elif callable(getattr(obj, "aclose", None)):
            self._stack.push_async_callback(obj.aclose)
        return obj

    async def close(self) -> None:
        """Close what ``open`` entered."""
        await self._stack.aclose()

    async def load(self, indices: list[int]) -> None:
        assert self.qsl is not None
        await self.qsl.load_samples(indices)

    async def unload(self, indices: list[int]) -> None:
        assert self.qsl is not None
        await self.qsl.unload_samples(indices)

    def prepare(self, work: ShardWork) -> None:
        """Take the next series' work (before its start is known)."""
        self._work = work
        self._stop_requested = False

    async def run(self, start_at_ns: int) -> ShardOutcome:
        """Run the prepared work from ``start_at_ns`` (this worker's clock) to its drain."""
        work, sut = self._work, self.sut
        assert work is not None and sut is not None, "open() and prepare() first"
        slack_ns = start_at_ns - self.clock.now_ns()
        series = self._series = self._new_series(work)
        self._cpu_start = time.process_time()
        if not work.plan.query_count:  # more workers than queries (or samples): nothing to do
            series.closed = True
            return self._outcome(series, stopped=False, error=None, slack_ns=slack_ns)
        ctx = ShaperContext(
            series=series,
            sut=sut,
            settings=work.eff,
            accuracy=work.accuracy,
            clock=self.clock,
            events=series.events,
            start_at_ns=start_at_ns,
        )
        drain = Drain(_Unlogged(), work.eff.requested.drain_timeout_ms, [])
        beat = asyncio.ensure_future(self._heartbeat())
        stopped, error = False, None
        try:
            with quiet_gc():
                self._pacing = asyncio.ensure_future(pace_and_drain(ctx, drain))
                if self._stop_requested:
                    self._pacing.cancel()
                await self._pacing  # a SUT call that never returns: the driver's bound
        except asyncio.CancelledError:
            if not self._stop_requested or _being_cancelled():
                raise
            stopped = True
        except Exception as exc:  # the SUT raised: the driver ends the run with it
            error = repr(exc)
        finally:
            beat.cancel()
            self._beat_ns = 0
            series.closed = True
            self._pacing = None
        return self._outcome(series, stopped=stopped, error=error, slack_ns=slack_ns)

    def _new_series(self, work: ShardWork) -> Series:
        eff = work.eff
        return ShardSeries(
            work.plan,
            work.slice.samples,
            clock=self.clock,
            events=ShardEvents(),
            log_all_responses=work.accuracy,
            log_mask=work.plan.accuracy_log_mask,
            use_tokens=eff.use_token_latencies,
            needs_first_token=eff.scenario is not TestScenario.Offline,
            server=eff.scenario is TestScenario.Server,
            schedule=SCHEDULES[eff.scenario],
            tally=self._tally,
        )

    def _outcome(
        self, series: Series, *, stopped: bool, error: str | None, slack_ns: int
    ) -> ShardOutcome:
        lags = sorted_issue_lags(series)
        self._lags.append(lags)
        every = lags if len(self._lags) == 1 else np.sort(np.concatenate(self._lags))
        late = self._tally.late_completions - self._late_seen
        self._late_seen = self._tally.late_completions
        events = series.events
        assert isinstance(events, ShardEvents)
        return ShardOutcome(
            shard=self.shard,
            records=export_records(series),
            events=events.take(),
            issue_lag=IssueLag.from_sorted(lags),
            run_issue_lag=IssueLag.from_sorted(every),
            health=series_health(series, lags),
            late_completions=late,
            stopped=stopped,
            error=error,
            slack_ns=slack_ns,
            cpu_s=time.process_time() - self._cpu_start,
        )

    async def _heartbeat(self) -> None:
        while True:
            self._beat_ns = time.perf_counter_ns()
            await asyncio.sleep(HEARTBEAT_S)

    # -- from any thread -------------------------------------------------------------------

    def stop(self) -> None:
        """Stop issuing the current series and answer with what it has (idempotent)."""
        self._stop_requested = True
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed in between: all over
                loop.call_soon_threadsafe(self._cancel_pacing)

    def _cancel_pacing(self) -> None:
        if self._pacing is not None:
            self._pacing.cancel()

    def progress(self) -> tuple[Progress | None, int]:
        """A snapshot of the running series (None between series), and how long ago its
        event loop last turned (0 between series)."""
        series, beat = self._series, self._beat_ns
        if series is None or series.closed or not series.start_ns:
            return None, 0
        now = self.clock.now_ns()
        work = self._work
        assert work is not None
        return (
            snapshot(series, phase="", now_ns=now, target_qps=work.eff.target_qps, expected_s=None),
            time.perf_counter_ns() - beat if beat else 0,
        )


def _being_cancelled() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
