"""``FunctionSUT``: the friendliest way for an asyncio app to be a SUT.

Give it a coroutine function taking a ``QuerySample``; every sample gets its own task, and the
function's return value completes the sample: response bytes (or ``None``), or a
``(data, n_tokens)`` pair in token mode. An exception fails the sample (recorded, counted,
excluded from latencies) without stopping the run.

A task per sample is the one cost this SUT cannot avoid, so nothing else is added to it: tasks
are made with ``loop.create_task`` (not ``ensure_future``, whose checks cost as much as the
task), and kept alive in a plain list that is pruned of finished tasks once it has doubled,
instead of a set with a done-callback per task.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from asyncgen._engine.sample import QuerySample
from asyncgen._engine.sink import ResponseData

Result = ResponseData | tuple[ResponseData, int]
SampleFunction = Callable[[QuerySample], Awaitable[Result]]

PRUNE_AT_LEAST = 1024  # tasks held before the first pruning pass


class FunctionSUT:
    """A SUT made of one coroutine per sample; ``max_concurrency`` bounds samples in flight."""

    def __init__(
        self, fn: SampleFunction, *, name: str = "FunctionSUT", max_concurrency: int | None = None
    ) -> None:
        if max_concurrency is not None and max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self._fn = fn
        self._name = name
        self._limit = asyncio.Semaphore(max_concurrency) if max_concurrency else None
        # The loop holds only weak references to tasks; this list keeps them alive.
        self._tasks: list[asyncio.Task[None]] = []
        self._prune_at = PRUNE_AT_LEAST

    @property
    def name(self) -> str:
        """The name given to the constructor."""
        return self._name

    async def issue_query(self, samples: Sequence[QuerySample]) -> None:
        """Start one task per sample and return: the tasks complete the samples."""
        create_task = asyncio.get_running_loop().create_task
        answer = self._answer if self._limit is None else self._answer_limited
        tasks = self._tasks
        for sample in samples:
            tasks.append(create_task(answer(sample)))
        if len(tasks) >= self._prune_at:
            self._prune()

    async def flush_queries(self) -> None:
        """Nothing to flush: every sample is already running."""

    def _prune(self) -> None:
        """Drop finished tasks; amortised O(1) per task, since the threshold doubles."""
        self._tasks = [task for task in self._tasks if not task.done()]
        self._prune_at = max(PRUNE_AT_LEAST, 2 * len(self._tasks))

    async def _answer(self, sample: QuerySample) -> None:
        try:
            result = await self._fn(sample)
        except Exception as exc:
            sample.fail(exc)
            return
        if isinstance(result, tuple):
            data, n_tokens = result
            sample.complete(data, n_tokens)
        else:
            sample.complete(result)

    async def _answer_limited(self, sample: QuerySample) -> None:
        assert self._limit is not None
        async with self._limit:
            await self._answer(sample)
