"""The Ray actor that hosts one shard: a ``ShardCore`` on an event loop of its own.

The loop runs in a thread the actor starts (uvloop, through ``asyncio.Runner``, as
``asyncgen.run`` runs one), for the shard's whole life, so the SUT and QSL live on one loop
across every series. Ray calls the actor's methods on two other threads, one per concurrency
group: ``work`` (open, load, prepare, run, unload, close: one at a time, each handed to the
loop and waited for) and ``control`` (the clock, progress, stop), which answers while a
series runs. The actor is never restarted and its calls are never retried: a retried ``run``
would issue its queries twice.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

import ray
import uvloop
from ray import cloudpickle

from asyncgen._engine.clock import MonotonicClock, PacingMode
from asyncgen._engine.progress import Progress
from asyncgen._run.scale_out.shard import ShardCore, ShardOutcome, ShardWork

_T = TypeVar("_T")
CLOSE_TIMEOUT_S = 10.0


class _LoopThread:
    """An event loop running in its own thread until ``close``."""

    def __init__(self) -> None:
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._serve, name="asyncgen-shard", daemon=True)
        self._thread.start()
        self._ready.wait()

    def _serve(self) -> None:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(self._until_closed())

    async def _until_closed(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._closed = asyncio.Event()
        self._ready.set()
        await self._closed.wait()

    def call(self, coro: Coroutine[Any, Any, _T]) -> _T:
        """Run ``coro`` on the loop and wait for its result (from another thread)."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def close(self) -> None:
        assert self._loop is not None and self._closed is not None
        self._loop.call_soon_threadsafe(self._closed.set)
        self._thread.join(CLOSE_TIMEOUT_S)


@ray.remote(  # type: ignore[call-overload]
    concurrency_groups={"work": 1, "control": 1}, max_restarts=0, max_task_retries=0
)
class ShardActor:
    """One shard of a scaled-out run (see the module docstring)."""

    def __init__(self, shard: int) -> None:
        # Nothing of the user's here: a factory that fails in the constructor would surface
        # as an opaque actor death; in ``open`` it is an error naming its cause.
        self.shard = shard
        self._loop: _LoopThread | None = None
        self._core: ShardCore | None = None
        self._clock: MonotonicClock | None = None

    @ray.method(concurrency_group="work")
    def open(self, factories: bytes, pacing: PacingMode) -> dict[str, Any]:
        """Make the SUT and QSL from the pickled ``(sut, qsl)`` factories; who we are."""
        sut, qsl = cloudpickle.loads(factories)
        self._clock = MonotonicClock(pacing)
        self._loop = _LoopThread()
        self._core = ShardCore(self.shard, sut, qsl, self._clock)
        info = self._loop.call(self._core.open())
        info["node_id"] = ray.get_runtime_context().get_node_id()
        return info

    @ray.method(concurrency_group="work")
    def load(self, indices: list[int]) -> None:
        self._on_loop().call(self._shard().load(indices))

    @ray.method(concurrency_group="work")
    def unload(self, indices: list[int]) -> None:
        self._on_loop().call(self._shard().unload(indices))

    @ray.method(concurrency_group="work")
    def prepare(self, work: ShardWork) -> None:
        self._shard().prepare(work)

    @ray.method(concurrency_group="work")
    def run(self, start_at_ns: int) -> ShardOutcome:
        return self._on_loop().call(self._shard().run(start_at_ns))

    @ray.method(concurrency_group="work")
    def close(self) -> None:
        if self._loop is not None and self._core is not None:
            self._loop.call(self._core.close())
            self._loop.close()
        if self._clock is not None:
            self._clock.close()

    @ray.method(concurrency_group="control")
    def clock_ns(self) -> int:
        return time.perf_counter_ns()

    @ray.method(concurrency_group="control")
    def progress(self) -> tuple[Progress | None, int]:
        return (None, 0) if self._core is None else self._core.progress()

    @ray.method(concurrency_group="control")
    def stop(self) -> None:
        if self._core is not None:
            self._core.stop()

    def _shard(self) -> ShardCore:
        assert self._core is not None, "open() first"
        return self._core

    def _on_loop(self) -> _LoopThread:
        assert self._loop is not None, "open() first"
        return self._loop
