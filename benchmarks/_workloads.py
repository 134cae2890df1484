"""The systems under test both sides run, written once.

Each SUT is one asyncio object; what differs between the sides is only how it is driven and
how it reports a completion:

* asyncgen awaits ``issue_query`` on its own loop and the SUT calls ``sample.complete()``;
* the reference (``mlperf_loadgen``) calls a plain callback on its issue thread; the harness
  hands the query to an event loop in another thread with ``call_soon_threadsafe`` (what
  asyncio harnesses do today) and the SUT completes with ``QuerySamplesComplete``.

A completion function ``complete(samples)`` is injected, so the SUT code is the same object on
both sides. ``CompatHarness`` is the other way round: a LoadGen harness, run unchanged on
``mlperf_loadgen`` and on ``asyncgen.compat``.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable, Sequence
from typing import Any

SERVICE_S = 0.001  # the "1 ms" async SUT: one asyncio.sleep per query

Complete = Callable[[Sequence[Any]], None]


class NullSUT:
    """Completes every sample inside ``issue_query``: no service time at all."""

    name = "NullSUT"

    def __init__(self, complete: Complete) -> None:
        self._complete = complete

    def accept(self, samples: Sequence[Any]) -> None:
        self._complete(samples)

    async def issue_query(self, samples: Sequence[Any]) -> None:
        self._complete(samples)

    async def flush_queries(self) -> None:
        pass


class SleepSUT:
    """An async server with a fixed service time: one task and one ``asyncio.sleep`` per query.

    ``accept`` starts serving a query and returns at once; ``issue_query`` is the same thing as
    a coroutine (what asyncgen awaits).
    """

    name = "SleepSUT"

    def __init__(self, complete: Complete, service_s: float = SERVICE_S) -> None:
        self._complete = complete
        self._service_s = service_s
        self._tasks: set[asyncio.Task[None]] = set()

    def accept(self, samples: Sequence[Any]) -> None:
        task = asyncio.get_running_loop().create_task(self._serve(samples))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def issue_query(self, samples: Sequence[Any]) -> None:
        self.accept(samples)

    async def _serve(self, samples: Sequence[Any]) -> None:
        await asyncio.sleep(self._service_s)
        self._complete(samples)

    async def flush_queries(self) -> None:
        pass


async def sleep_one(sample: Any) -> None:
    """The same service as a per-sample coroutine, for ``asyncgen.FunctionSUT``."""
    await asyncio.sleep(SERVICE_S)


async def null_one(sample: Any) -> None:
    """No service at all, as a per-sample coroutine (``FunctionSUT``: a task per sample)."""


class BenchQSL:
    """Every sample fits in memory; loading costs nothing."""

    name = "BenchQSL"
    total_sample_count = 1024
    performance_sample_count = 1024

    async def load_samples(self, indices: Sequence[int]) -> None:
        pass

    async def unload_samples(self, indices: Sequence[int]) -> None:
        pass


# -- LoadGen harnesses: the same callbacks on mlperf_loadgen and asyncgen.compat -----------

HARNESS_SHAPES = ("thread-per-query", "worker-queue")


class CompatHarness:
    """A LoadGen harness whose issue callback hands each query to another thread, which
    completes it with ``QuerySamplesComplete`` (null responses), written once for both
    modules: ``lg`` is ``mlperf_loadgen`` or ``asyncgen.compat``.

    ``thread-per-query`` starts a thread per query, as the reference's own Python demos do;
    ``worker-queue`` puts each query on a ``queue.Queue`` that one long-lived worker thread
    serves, as harnesses with a model loaded once do.
    """

    def __init__(self, lg: Any, shape: str) -> None:
        if shape not in HARNESS_SHAPES:
            raise ValueError(f"shape must be one of {HARNESS_SHAPES}, not {shape!r}")
        self.lg = lg
        self.shape = shape
        self._inbox: queue.Queue[Any] = queue.Queue()
        self._worker: threading.Thread | None = None
        if shape == "worker-queue":
            self._worker = threading.Thread(target=self._serve, name="harness-worker")
            self._worker.start()

    def issue_query(self, query_samples: Any) -> None:
        if self._worker is None:
            threading.Thread(target=self._process, args=[query_samples]).start()
        else:
            self._inbox.put(query_samples)

    def flush_queries(self) -> None:
        pass

    def close(self) -> None:
        if self._worker is not None:
            self._inbox.put(None)
            self._worker.join()

    def _serve(self) -> None:
        while (query_samples := self._inbox.get()) is not None:
            self._process(query_samples)

    def _process(self, query_samples: Any) -> None:
        lg = self.lg
        lg.QuerySamplesComplete([lg.QuerySampleResponse(s.id, 0, 0) for s in query_samples])
