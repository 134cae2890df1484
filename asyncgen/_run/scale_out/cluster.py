"""Shards as Ray actors: start a local cluster or join one, place one actor per worker, and
call them from the driver's event loop.

Only this module and ``actor`` import Ray, and only a run with ``workers > 1`` imports them.
Every call is bounded or watched (``ShardedPacer``): Ray reports a dead worker within
milliseconds, but a frozen or partitioned node only after its health checks give up (15 s or
more by default), which is why the driver keeps its own heartbeat.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
from collections.abc import Sequence
from typing import Any

import ray
from ray import cloudpickle
from ray.exceptions import RayError, RayTaskError

from asyncgen._engine.clock import PacingMode
from asyncgen._errors import ConfigError, RunError, WorkerError
from asyncgen._log import get_logger
from asyncgen._run.scale_out.actor import ShardActor

_log = get_logger("asyncgen")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")  # Ray colours the remote traceback
CLOSE_TIMEOUT_S = 5.0
PLACEMENT: dict[str, Any] = {"num_cpus": 1, "scheduling_strategy": "SPREAD"}  # a CPU each


class RayShards:
    """One actor per worker on a Ray cluster; ``close`` ends them (and a cluster it started)."""

    def __init__(self, actors: Sequence[Any], owned: bool) -> None:
        self.count = len(actors)
        self._actors = list(actors)
        self._owned = owned  # we started the cluster: we stop it

    @classmethod
    async def start(
        cls,
        *,
        workers: int,
        address: str | None,
        factories: object,
        pacing: PacingMode,
        timeout_s: float,
        actor_options: Sequence[dict[str, Any]] = (),
    ) -> tuple[RayShards, list[dict[str, Any]]]:
        """Connect, place the actors, have each make its SUT and QSL; raises ``RunError``
        naming the shards that could not."""
        owned = await _connect(address, workers)
        try:
            _check_resources(workers)
            actors = [
                ShardActor.options(  # type: ignore[attr-defined]
                    **(PLACEMENT | (actor_options[k] if k < len(actor_options) else {}))
                ).remote(k)
                for k in range(workers)
            ]
        except BaseException:
            if owned:
                await asyncio.to_thread(ray.shutdown)
            raise
        shards = cls(actors, owned)
        try:
            blob = cloudpickle.dumps(factories)  # type: ignore[no-untyped-call]
            opened = await asyncio.gather(
                *(shards.ask(k, "open", blob, pacing, timeout_s=timeout_s) for k in range(workers)),
                return_exceptions=True,
            )
            failed = [str(o) for o in opened if isinstance(o, BaseException)]
            for answer in opened:
                if isinstance(answer, BaseException) and not isinstance(answer, WorkerError):
                    raise answer
            if failed:
                raise RunError("the workers could not start: " + "; ".join(failed))
        except BaseException:
            await shards.close()
            raise
        return shards, [o for o in opened if isinstance(o, dict)]

    async def ask(self, shard: int, method: str, *args: Any, timeout_s: float | None) -> Any:
        ref = getattr(self._actors[shard], method).remote(*args)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(ref.future()), timeout_s)
        except TimeoutError:
            why = f"no answer to {method} within {timeout_s:g} s"
            raise WorkerError(shard, why, lost=True) from None
        except RayTaskError as exc:  # the method raised on the worker
            raise WorkerError(shard, describe(exc), lost=False) from None
        except RayError as exc:  # the worker died, or its node was lost
            raise WorkerError(shard, describe(exc), lost=True) from None

    def tell(self, shard: int, method: str, *args: Any) -> None:
        with contextlib.suppress(RayError):
            getattr(self._actors[shard], method).remote(*args)

    def kill(self, shard: int) -> None:
        with contextlib.suppress(RayError):
            ray.kill(self._actors[shard], no_restart=True)

    async def close(self) -> None:
        """Let each shard close its SUT and QSL (bounded), end the actors, and stop the
        cluster if this run started it."""
        await asyncio.gather(
            *(self.ask(k, "close", timeout_s=CLOSE_TIMEOUT_S) for k in range(self.count)),
            return_exceptions=True,
        )
        for k in range(self.count):
            self.kill(k)
        if self._owned:
            await asyncio.to_thread(ray.shutdown)


def describe(error: BaseException) -> str:
    """One line for an error from a Ray call: the worker's own exception if it raised."""
    if isinstance(error, RayTaskError) and error.cause is not None:
        error = error.cause
    text = _ANSI.sub("", str(error)).strip()
    first = text.splitlines()[0] if text else ""
    return f"{type(error).__name__}: {first[:300]}" if first else type(error).__name__


async def _connect(address: str | None, workers: int) -> bool:
    """Join the cluster at ``address``, or start a local one; True if this run started it.
    A Ray connection the program already made (``ray.init``) is used as it is."""
    if ray.is_initialized():
        return False
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    options: dict[str, Any] = {
        "address": address or "local",  # "local": never join someone's cluster by accident
        "include_dashboard": False,
        "logging_level": logging.ERROR,
        "log_to_driver": False,
    }
    if not address:
        options["num_cpus"] = max(workers, os.cpu_count() or 1)
    _log.info("starting ray" if not address else "joining ray", address=address or "local")
    # Off the loop thread: the loop keeps running, and Ray installs no SIGTERM handler of its
    # own over the program's. A Ctrl-C waits for the start to finish, then stops it cleanly
    # (one inside ray.init can leave its agent processes behind).
    starting = asyncio.ensure_future(asyncio.to_thread(ray.init, **options))
    try:
        await asyncio.shield(starting)
    except asyncio.CancelledError:
        with contextlib.suppress(BaseException):
            await starting
        await asyncio.to_thread(ray.shutdown)
        raise
    return True


def _check_resources(workers: int) -> None:
    """Each worker takes one CPU: an actor that cannot be placed would wait forever."""
    cpus = int(ray.cluster_resources().get("CPU", 0))  # type: ignore[no-untyped-call]
    if cpus < workers:
        raise ConfigError(
            f"workers={workers}: the Ray cluster has {cpus} CPUs and each worker takes one; "
            "add nodes or use fewer workers"
        )
