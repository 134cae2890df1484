"""How ``run_test(..., workers=N)`` gets its shards: the checks made before anything starts,
and the shards (Ray actors, unless a test supplies others) with the driver's stand-ins."""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import attrs

from asyncgen._config.settings import TestSettings
from asyncgen._engine.clock import Clock, MonotonicClock, PacingMode, kernel_timers_available
from asyncgen._engine.protocols import QuerySampleLibrary, SystemUnderTest
from asyncgen._errors import ConfigError, SettingsError
from asyncgen._run.scale_out.backend import Shards
from asyncgen._run.scale_out.factories import check_factory
from asyncgen._run.scale_out.pacer import (
    ScaleOutOptions,
    ShardedPacer,
    ShardedQSL,
    ShardedSUT,
    check_infos,
)
from asyncgen._run.scale_out.split import check_splittable

StartShards = Callable[..., Awaitable[tuple[Shards, list[dict[str, Any]]]]]
"""``start(workers=, address=, factories=, pacing=, timeout_s=, actor_options=)``: the shards
and their infos."""


@attrs.frozen(kw_only=True)
class ScaleOut:
    """A run's plan to scale out: how many workers, where, and what they make."""

    workers: int
    address: str | None
    factories: tuple[object, object]  # (sut, qsl)
    pacing: PacingMode
    options: ScaleOutOptions = attrs.field(factory=ScaleOutOptions)
    start: StartShards | None = None  # None: Ray actors

    @contextlib.asynccontextmanager
    async def open(
        self,
    ) -> AsyncIterator[tuple[SystemUnderTest, QuerySampleLibrary, ShardedPacer]]:
        """The shards, started and with their SUT and QSL made; closed on the way out."""
        start = self.start or _ray_start()
        shards, infos = await start(
            workers=self.workers,
            address=self.address,
            factories=self.factories,
            pacing=self.pacing,
            timeout_s=self.options.call_timeout_s,
            actor_options=self.options.actor_options,
        )
        try:
            check_infos(infos)
            pacer = ShardedPacer(shards, infos, self.options)
            yield ShardedSUT(infos[0]), ShardedQSL(pacer, infos[0]), pacer
        finally:
            await shards.close()


def _ray_start() -> StartShards:
    try:
        # Deferred: Ray is an optional extra, and a run with one worker never imports it.
        from asyncgen._run.scale_out.cluster import RayShards  # noqa: PLC0415
    except ImportError as exc:
        raise ConfigError(
            f"workers > 1 runs on Ray, which is not installed ({exc}): pip install 'asyncgen[ray]'"
        ) from exc
    return RayShards.start


def plan_scale_out(
    sut: object,
    qsl: object,
    settings: TestSettings,
    *,
    workers: int,
    ray_address: str | None,
    clock: Clock | None,
    options: ScaleOutOptions | None = None,
    start: StartShards | None = None,
) -> ScaleOut | None:
    """None for a single-process run; else the checked plan, or a clear error."""
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise SettingsError(f"workers must be a whole number of at least 1; got {workers!r}")
    if workers == 1:
        if ray_address is not None:
            raise SettingsError("ray_address needs workers > 1 (one worker runs in this process)")
        return None
    check_splittable(settings, workers)
    check_factory(sut, SystemUnderTest, "sut")
    check_factory(qsl, QuerySampleLibrary, "qsl")
    if start is None and importlib.util.find_spec("ray") is None:
        raise ConfigError(f"workers={workers} runs on Ray: pip install 'asyncgen[ray]'")
    return ScaleOut(
        workers=workers,
        address=ray_address,
        factories=(sut, qsl),
        pacing=_pacing(clock),
        options=options or ScaleOutOptions(),
        start=start,
    )


def _pacing(clock: Clock | None) -> PacingMode:
    """The workers' pacing: the clock's mode; by default hrtimer, as precise pacing (a busy
    core per worker) would starve the driver and Ray on a host with few cores."""
    if clock is None:
        return "hrtimer" if kernel_timers_available() else "precise"
    if not isinstance(clock, MonotonicClock):
        raise SettingsError(
            f"with workers > 1 the clock must be a MonotonicClock (each worker makes its own "
            f"in the same pacing mode); got {type(clock).__name__}"
        )
    return clock.mode
