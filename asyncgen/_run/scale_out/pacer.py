"""The driver of a scaled-out run: each series of the run, dealt to the shards, run from one
common start, and merged back into the driver's own series.

The run itself is an ordinary ``run_test`` on the driver: the same settings, plan, writer,
modes and result. Only pacing differs: ``ShardedPacer.pace`` is the session's ``Pacer``. For
each series it deals the plan (``split``), ships each shard its slice, measures the shards'
clocks, picks a start a little ahead, and starts every shard at it. While they run it polls
their progress, which doubles as a heartbeat: a shard whose actor stops answering (a lost or
frozen node) or whose event loop stops turning (a SUT blocking it) counts as lost, as does
one whose worker died. On the first failure the others are stopped, and whatever comes back
within a grace period is merged; every wait is bounded. The merged series then feeds the
same statistics and files as a single-process run. The driver's QSL and SUT are stand-ins
(``ShardedQSL``, ``ShardedSUT``): loading a set loads it on every shard.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import numpy as np

from asyncgen._config.effective import NS_PER_MS, EffectiveSettings
from asyncgen._config.enums import TestScenario
from asyncgen._engine.progress import Progress, WorkerProgress
from asyncgen._engine.records import restore_records
from asyncgen._engine.sample import QuerySample
from asyncgen._engine.series import Series
from asyncgen._errors import ConfigError, RunError, WorkerError
from asyncgen._metrics.health import RunHealth
from asyncgen._metrics.issue_lag import IssueLag
from asyncgen._metrics.workers import WorkerHealth
from asyncgen._run.scale_out.backend import Shards
from asyncgen._run.scale_out.clocks import ClockOffset, boot_id, measure_offset
from asyncgen._run.scale_out.merge import merge_records
from asyncgen._run.scale_out.shard import ShardOutcome, ShardWork
from asyncgen._run.scale_out.split import ShardSlice, cut, deal, server_cutoff
from asyncgen._run.session import RunEnded, RunSession, SeriesOutcome

Runs = Mapping[int, "asyncio.Future[ShardOutcome]"]  # each shard's run call


@attrs.frozen(kw_only=True)
class ScaleOutOptions:
    """How long the driver waits for its shards, and how it tells a lost one."""

    start_margin_s: float = 0.2  # from picking the common start to the start
    call_timeout_s: float = 120.0  # making the SUT/QSL, loading, shipping a slice
    poll_s: float = 0.5  # progress polls, which are also the heartbeat
    silent_after_s: float = 5.0  # a shard that has not answered a poll this long is lost
    stalled_after_s: float = 5.0  # a shard whose loop has not turned this long is lost
    stop_grace_s: float = 5.0  # after a stop, how long the others' records are waited for
    # Ray actor options per shard (e.g. {"resources": {"gpu_host": 1}} to place shard k):
    # merged over the defaults (one CPU, spread over the nodes)
    actor_options: tuple[dict[str, Any], ...] = ()


@attrs.define
class _Worker:
    """What the driver knows of one shard, over the run."""

    shard: int
    info: dict[str, Any]
    clock: ClockOffset | None = None
    planned: int = 0
    issued: int = 0
    lost: int = 0
    issue_lag: IssueLag = attrs.field(
        factory=lambda: IssueLag.from_sorted(np.zeros(0, dtype=np.int64))
    )
    health: RunHealth | None = None
    slack_ns: int = 0
    errors: int = 0
    error: str | None = None
    cpu_s: float = 0.0

    def report(self) -> WorkerHealth:
        clock = self.clock
        return WorkerHealth(
            shard=self.shard,
            host=str(self.info.get("host", "")),
            pid=int(self.info.get("pid", 0)),
            node=str(self.info.get("node_id", "")),
            queries_planned=self.planned,
            queries_issued=self.issued,
            queries_lost=self.lost,
            issue_lag=self.issue_lag,
            health=self.health,
            clock_offset_ns=clock.offset_ns if clock else 0,
            clock_uncertainty_ns=clock.uncertainty_ns if clock else 0,
            clock_offset_applied_ns=clock.applied_ns if clock else 0,
            start_slack_ns=self.slack_ns,
            errors=self.errors,
            error=self.error,
            cpu_s=self.cpu_s,
        )


class ShardedPacer:
    """Runs each series of a ``RunSession`` on the shards and merges it back."""

    def __init__(
        self, shards: Shards, infos: Sequence[dict[str, Any]], options: ScaleOutOptions
    ) -> None:
        self.shards = shards
        self.options = options
        self.workers = [_Worker(k, dict(info)) for k, info in enumerate(infos)]
        self._boot_id = boot_id()
        self._snapshots: dict[int, Progress] = {}
        self._start_ns = 0

    # -- calls to every live shard ---------------------------------------------------------

    @property
    def live(self) -> list[int]:
        return [w.shard for w in self.workers if w.error is None]

    async def everyone(self, method: str, args: Sequence[tuple[Any, ...]] | None = None) -> None:
        """Call ``method`` on every live shard at once (``args[k]`` for shard ``k``); a shard
        that fails is lost and the run ends (``RunEnded``)."""
        live = self.live
        calls = [
            self.shards.ask(
                k, method, *(args[k] if args else ()), timeout_s=self.options.call_timeout_s
            )
            for k in live
        ]
        answers = await asyncio.gather(*calls, return_exceptions=True)
        failed = [
            (k, a) for k, a in zip(live, answers, strict=True) if isinstance(a, BaseException)
        ]
        for k, failure in failed:
            if not isinstance(failure, WorkerError):
                raise failure
            self._lose(k, f"{method}: {failure.why}")
        if failed:
            raise RunEnded("; ".join(f"shard {k}: {self.workers[k].error}" for k, _ in failed))

    def _lose(self, k: int, why: str) -> None:
        if self.workers[k].error is None:
            self.workers[k].error = why
        self.shards.kill(k)

    # -- one series ------------------------------------------------------------------------

    async def pace(
        self, session: RunSession, series: Series, eff: EffectiveSettings, accuracy: bool
    ) -> SeriesOutcome:
        plan = series.plan
        count, cut_message = plan.query_count, ""
        if eff.scenario is TestScenario.Server:
            count, cut_message = server_cutoff(eff, plan, accuracy)
        slices = deal(cut(plan, count), eff.scenario, self.shards.count)
        works = [
            (
                ShardWork(
                    slice=s,
                    plan=s.plan(plan),
                    eff=_shard_settings(eff, len(slices)),
                    accuracy=accuracy,
                ),
            )
            for s in slices
        ]
        await self.everyone("prepare", works)
        await self._measure_clocks()
        self._snapshots.clear()
        start = self._start_ns = time.perf_counter_ns() + int(self.options.start_margin_s * 1e9)
        deadline = start + plan.duration_ns + _grace_ns(eff, self.options)
        runs = {
            k: asyncio.ensure_future(self._run(k, start + self._applied(k)))
            for k in range(len(slices))
        }
        stopped = False
        try:
            await self._wait(runs, deadline)
        except asyncio.CancelledError:  # Ctrl-C: stop every shard, keep what comes back
            stopped = True
            salvage = asyncio.ensure_future(self._stop_and_wait(runs))
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(salvage)
            raise
        finally:
            outcomes = {k: f.result() for k, f in runs.items() if _answered(f)}
            self._merge(session, series, slices, outcomes, start)
            self._account(session, slices, runs, outcomes)
            why = "The run stopped" if stopped or len(outcomes) < len(runs) else None
            session.drain.name_missing(series, series.missing_samples(), why=why)
        if cut_message:
            session.writer.error("error_runtime", cut_message)
        raised = [(k, o.error) for k, o in sorted(outcomes.items()) if o.error]
        if raised:
            k, error = raised[0]
            raise RunError(f"shard {k}: the SUT raised {error}")
        if len(outcomes) < len(runs):
            session.ended = True
        return SeriesOutcome(
            series,
            series.missing_samples(),
            _recorded_lags(series),
            tuple((k, o.health) for k, o in sorted(outcomes.items())),
        )

    def _applied(self, k: int) -> int:
        clock = self.workers[k].clock
        return 0 if clock is None else clock.applied_ns

    async def _measure_clocks(self) -> None:
        """Each live shard's clock offset, one shard at a time (no round trip queues behind
        another's); a shard that does not answer is lost."""
        for k in self.live:
            same = bool(self._boot_id) and self.workers[k].info.get("boot_id") == self._boot_id

            async def ask(k: int = k) -> int:
                answer: int = await self.shards.ask(
                    k, "clock_ns", timeout_s=self.options.silent_after_s
                )
                return answer

            try:
                self.workers[k].clock = await measure_offset(ask, same_clock=same)
            except WorkerError as failure:
                self._lose(k, f"clock: {failure.why}")
                raise RunEnded(f"shard {k}: {self.workers[k].error}") from None

    async def _run(self, k: int, start_at_ns: int) -> ShardOutcome:
        outcome: ShardOutcome = await self.shards.ask(k, "run", start_at_ns, timeout_s=None)
        return outcome

    async def _wait(self, runs: Runs, deadline_ns: int) -> None:
        """Until every shard has answered or is lost; stops the rest on the first failure."""
        options = self.options
        pending = dict(runs)
        seen = dict.fromkeys(runs, time.perf_counter_ns())
        stopping = False
        while pending:
            await asyncio.wait(
                pending.values(), timeout=options.poll_s, return_when=asyncio.FIRST_COMPLETED
            )
            for k in [k for k, f in pending.items() if f.done()]:
                future = pending.pop(k)
                failure = future.exception()
                if isinstance(failure, WorkerError):
                    self._lose(k, failure.why)
                elif failure is not None:
                    raise failure
            failed = any(not _answered(f) or f.result().error for f in runs.values() if f.done())
            if failed and not stopping:
                stopping = True
                for k in pending:
                    self.shards.tell(k, "stop")
                deadline_ns = min(
                    deadline_ns, time.perf_counter_ns() + int(options.stop_grace_s * 1e9)
                )
            await self._heartbeat(pending, seen)
            if pending and time.perf_counter_ns() > deadline_ns:
                for k in list(pending):
                    self._lose(k, "did not finish in time (hung or unreachable)")
                    pending.pop(k).cancel()

    async def _heartbeat(
        self, pending: dict[int, asyncio.Future[ShardOutcome]], seen: dict[int, int]
    ) -> None:
        """Poll the running shards' progress; a silent or stalled shard is lost."""
        options = self.options
        shards = sorted(pending)
        answers = await asyncio.gather(
            *(self.shards.ask(k, "progress", timeout_s=options.poll_s) for k in shards),
            return_exceptions=True,
        )
        now = time.perf_counter_ns()
        for k, answer in zip(shards, answers, strict=True):
            why = ""
            if isinstance(answer, BaseException):
                if now - seen[k] > options.silent_after_s * 1e9:
                    why = f"no answer for {options.silent_after_s:g} s (node lost or frozen?)"
            else:
                seen[k] = now
                snapshot, silent_ns = answer
                if snapshot is not None:
                    self._snapshots[k] = snapshot
                if silent_ns > options.stalled_after_s * 1e9:
                    why = f"its event loop has not turned for {silent_ns / 1e9:.1f} s"
            if why and k in pending:
                self._lose(k, why)
                pending.pop(k).cancel()

    async def _stop_and_wait(self, runs: Runs) -> None:
        pending = [f for f in runs.values() if not f.done()]
        for k, future in runs.items():
            if not future.done():
                self.shards.tell(k, "stop")
        if pending:
            await asyncio.wait(pending, timeout=self.options.stop_grace_s)
        for k, future in runs.items():
            if not future.done():
                self._lose(k, "no answer after the run was interrupted")
                future.cancel()

    # -- merging ---------------------------------------------------------------------------

    def _merge(
        self,
        session: RunSession,
        series: Series,
        slices: list[ShardSlice],
        outcomes: dict[int, ShardOutcome],
        start_ns: int,
    ) -> None:
        parts = [(slices[k], o.records, self._applied(k)) for k, o in sorted(outcomes.items())]
        merged = merge_records(
            series.plan, start_ns, parts, use_tokens=session.eff.use_token_latencies
        )
        restore_records(series, merged, session.tally)
        _forward_events(session, outcomes)

    def _account(
        self,
        session: RunSession,
        slices: list[ShardSlice],
        runs: Runs,
        outcomes: dict[int, ShardOutcome],
    ) -> None:
        for k, slice_ in enumerate(slices):
            worker = self.workers[k]
            worker.planned += len(slice_.queries)
            outcome = outcomes.get(k)
            if outcome is None:
                worker.lost += len(slice_.queries)
                if worker.error is None:
                    worker.error = "no answer"
                continue
            worker.issued += outcome.issue_lag.count
            worker.issue_lag, worker.health = outcome.run_issue_lag, outcome.health
            worker.slack_ns = outcome.slack_ns
            worker.cpu_s += outcome.cpu_s
            worker.errors += sum(kind == "error" for kind, _, _ in outcome.events)
            session.tally.late_completions += outcome.late_completions
        session.state.workers = reports = [w.report() for w in self.workers]
        for report in reports:
            session.writer.detail("asyncgen_worker", report.detail_entry())

    # -- progress --------------------------------------------------------------------------

    def progress(self, session: RunSession, series: Series, now_ns: int) -> Progress:
        """The shards' last snapshots, added up; each shard's own figures in ``workers``."""
        snaps = [self._snapshots[k] for k in sorted(self._snapshots)]
        elapsed_s = max(now_ns - self._start_ns, 0) / 1e9 if self._start_ns else 0.0
        completed = sum(s.samples_completed for s in snaps)
        eff = session.eff
        server = eff.scenario is TestScenario.Server
        return Progress(
            phase=session.phase,
            elapsed_s=elapsed_s,
            expected_s=series.plan.duration_ns / 1e9 if server else None,
            queries_issued=sum(s.queries_issued for s in snaps),
            queries_planned=series.plan.query_count,
            samples_issued=sum(s.samples_issued for s in snaps),
            samples_completed=completed,
            target_qps=eff.target_qps,
            achieved_qps=completed / elapsed_s if elapsed_s > 0 else 0.0,
            recent_p50_latency_ns=_largest(s.recent_p50_latency_ns for s in snaps),
            recent_p99_latency_ns=_largest(s.recent_p99_latency_ns for s in snaps),
            recent_p99_issue_lag_ns=_largest(s.recent_p99_issue_lag_ns for s in snaps),
            workers=tuple(
                WorkerProgress(
                    shard=k,
                    queries_issued=s.queries_issued,
                    queries_planned=s.queries_planned,
                    recent_p99_issue_lag_ns=s.recent_p99_issue_lag_ns,
                )
                for k, s in sorted(self._snapshots.items())
            ),
        )


def _largest(values: Any) -> int | None:
    known = [v for v in values if v is not None]
    return max(known) if known else None


def _answered(future: asyncio.Future[ShardOutcome]) -> bool:
    return future.done() and not future.cancelled() and future.exception() is None


def _shard_settings(eff: EffectiveSettings, shards: int) -> EffectiveSettings:
    """The settings a shard paces with: the query-count and duration limits were applied to
    the whole plan before it was dealt; the outstanding-query limit is shared out."""
    limit = eff.max_async_queries
    return attrs.evolve(
        eff,
        max_query_count=0,
        max_duration_ms=0,
        max_async_queries=-(-limit // shards) if limit else 0,
    )


def _grace_ns(eff: EffectiveSettings, options: ScaleOutOptions) -> int:
    """After the plan's last arrival: the drain deadline, plus time to answer."""
    drain_ms = eff.requested.drain_timeout_ms
    return int((drain_ms * NS_PER_MS) + (options.stop_grace_s + options.start_margin_s) * 1e9)


def _forward_events(session: RunSession, outcomes: dict[int, ShardOutcome]) -> None:
    """The shards' detail-log entries: errors and warnings once per shard, named by it;
    plain messages (the same on every shard) once."""
    writer, said = session.writer, set()
    for k, outcome in sorted(outcomes.items()):
        for kind, key, value in outcome.events:
            if kind == "error":
                writer.error(key, f"shard {k}: {value}")
            elif kind == "warning":
                writer.warning(f"shard {k}: {value}")
            elif (key, repr(value)) not in said:
                said.add((key, repr(value)))
                writer.detail(key, value)


def _recorded_lags(series: Series) -> np.ndarray:
    """The sorted issue lags of the queries some shard issued."""
    lags = series.issue_lags(0, series.queries_issued)
    if series.unrecorded is not None:
        lags = lags[~series.unrecorded[:: series.spq][: lags.size]]
    lags.sort()
    return lags


class ShardedQSL:
    """The driver's stand-in for the shards' QSLs: their name and sizes; loading a set
    loads it on every shard."""

    def __init__(self, pacer: ShardedPacer, info: dict[str, Any]) -> None:
        self._pacer = pacer
        self.name = str(info["qsl_name"])
        self.total_sample_count = int(info["total_sample_count"])
        self.performance_sample_count = int(info["performance_sample_count"])

    async def load_samples(self, indices: Sequence[int]) -> None:
        await self._pacer.everyone("load", [(list(indices),)] * self._pacer.shards.count)

    async def unload_samples(self, indices: Sequence[int]) -> None:
        await self._pacer.everyone("unload", [(list(indices),)] * self._pacer.shards.count)


class ShardedSUT:
    """The driver's stand-in for the shards' SUTs: only their name (the shards issue)."""

    def __init__(self, info: dict[str, Any]) -> None:
        self.name = str(info["sut_name"])

    async def issue_query(self, samples: Sequence[QuerySample]) -> None:  # pragma: no cover
        raise AssertionError("a scaled-out run issues on its shards")

    async def flush_queries(self) -> None:  # pragma: no cover
        pass


def check_infos(infos: Sequence[dict[str, Any]]) -> None:
    """Every shard's QSL must have the same sizes, or the plan would not fit them all."""
    first = infos[0]
    for info in infos[1:]:
        for key in ("total_sample_count", "performance_sample_count"):
            if info[key] != first[key]:
                raise ConfigError(
                    f"the workers' QSLs differ: shard {info['shard']} has {key} {info[key]}, "
                    f"shard {first['shard']} has {first[key]}"
                )
