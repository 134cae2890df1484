"""``FunctionSUT``: the friendliest way for an asyncio app to be a SUT.

Give it a coroutine function taking a ``QuerySample``; every sample gets its own task, and the
function's return value completes the sample: response bytes (or ``None``), or a
``(data, n_tokens)`` pair in token mode. An exception fails the sample (recorded, counted,
excluded from latencies) without stopping the run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from asyncgen.sut import QuerySample, ResponseData

Result = ResponseData | tuple[ResponseData, int]
SampleFunction = Callable[[QuerySample], Awaitable[Result]]


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
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def name(self) -> str:
        return self._name

    async def issue_query(self, samples: Sequence[QuerySample]) -> None:
        for sample in samples:
            task = asyncio.ensure_future(self._answer(sample))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def flush_queries(self) -> None:
        """Nothing to flush: every sample is already running."""

    async def _answer(self, sample: QuerySample) -> None:
        try:
            if self._limit is None:
                result = await self._fn(sample)
            else:
                async with self._limit:
                    result = await self._fn(sample)
        except Exception as exc:
            sample.fail(exc)
            return
        if isinstance(result, tuple):
            data, n_tokens = result
            sample.complete(data, n_tokens)
        else:
            sample.complete(result)
