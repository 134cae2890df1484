"""SUTs and QSLs the CLI tests name as ``tests.cli._suts:object``."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Sequence

import asyncgen
from asyncgen.sut import QuerySample

SLOW_S = 0.003


async def _echo(sample: QuerySample) -> bytes:
    await asyncio.sleep(0)
    return sample.index.to_bytes(4, "little")


async def _slow(sample: QuerySample) -> bytes:
    await asyncio.sleep(SLOW_S)
    return b"late"


def fast_sut() -> asyncgen.FunctionSUT:
    """A zero-argument factory."""
    return asyncgen.FunctionSUT(_echo, name="fast")


async def async_factory() -> asyncgen.FunctionSUT:
    """An async factory: made on the run's event loop."""
    return asyncgen.FunctionSUT(_echo, name="made-on-the-loop")


slow_sut = asyncgen.FunctionSUT(_slow, name="slow")  # an instance


class RaisingSUT:
    """Raises on the first query: the run cannot finish."""

    name = "raising"

    async def issue_query(self, samples: Sequence[QuerySample]) -> None:
        raise RuntimeError("the model fell over")

    async def flush_queries(self) -> None:
        pass


def needs_arguments(model_path: str) -> asyncgen.FunctionSUT:
    """Not a zero-argument factory."""
    raise AssertionError("never called")


def broken_factory() -> asyncgen.FunctionSUT:
    raise RuntimeError("no model file")


small_qsl = asyncgen.SimulatedQSL(name="small", total_sample_count=32, performance_sample_count=8)
not_a_sut = 42


class FlakySUT(asyncgen.FunctionSUT):
    """Fails every sample whose QSL index is a multiple of 4, and counts them."""

    def __init__(self) -> None:
        super().__init__(self._answer_or_fail, name="flaky")
        self.failed = 0

    async def _answer_or_fail(self, sample: QuerySample) -> bytes:
        await asyncio.sleep(0)
        if sample.index % 4 == 0:
            self.failed += 1
            raise ConnectionResetError("injected")
        return b"ok"


flaky_sut = FlakySUT()


class BlockingSUT:
    """Blocks the event loop for ``BLOCK_S`` once, on its tenth query: a loop stall."""

    name = "blocking"
    BLOCK_S = 0.4

    def __init__(self) -> None:
        self.calls = 0

    async def issue_query(self, samples: Sequence[QuerySample]) -> None:
        self.calls += 1
        if self.calls == 10:
            for _ in range(10):  # loop turns, so the watchdog is surely ticking before the block
                await asyncio.sleep(0)
            time.sleep(self.BLOCK_S)  # noqa: ASYNC251 - the fault being injected
        for sample in samples:
            sample.complete(b"")

    async def flush_queries(self) -> None:
        pass


class SynchronousSUT:
    """Answers inside ``issue_query`` after blocking for a millisecond, as a SUT that calls a
    synchronous model would: waiting for its answers never suspends the closed loop."""

    name = "synchronous"
    block_s = 0.001

    async def issue_query(self, samples: Sequence[QuerySample]) -> None:
        time.sleep(self.block_s)  # noqa: ASYNC251 - the synchronous model
        for sample in samples:
            sample.complete(b"")

    async def flush_queries(self) -> None:
        pass


synchronous_sut = SynchronousSUT()


class LoopBlockingSUT(SynchronousSUT):
    """Blocks the event loop in every call, as a SUT running a slow synchronous model on the
    loop thread would; ``ASYNCGEN_TEST_BLOCK_S`` sets how long (default 0.5 s)."""

    name = "loop-blocking"

    def __init__(self) -> None:
        self.block_s = float(os.environ.get("ASYNCGEN_TEST_BLOCK_S", "0.5"))


class _Answers:
    """Answers every sample at once: what the misbehaving SUTs below do when they work."""

    name = "answers"

    async def issue_query(self, samples: Sequence[QuerySample]) -> None:
        for sample in samples:
            sample.complete(b"")

    async def flush_queries(self) -> None:
        pass


class SutKilledError(BaseException):
    """A SUT's own BaseException subclass."""


class RaisesBaseException(_Answers):
    """Raises ``ASYNCGEN_TEST_RAISE`` (CancelledError, GeneratorExit or its own) on a call."""

    async def issue_query(self, samples: Sequence[QuerySample]) -> None:
        kind = os.environ.get("ASYNCGEN_TEST_RAISE", "own")
        errors = {"CancelledError": asyncio.CancelledError, "GeneratorExit": GeneratorExit}
        raise errors.get(kind, SutKilledError)("raised by the SUT")


class NameRaises(_Answers):
    @property  # type: ignore[override]
    def name(self) -> str:
        raise RuntimeError("no name today")


class EnterRaises(_Answers):
    async def __aenter__(self) -> EnterRaises:
        raise RuntimeError("cannot enter")

    async def __aexit__(self, *_: object) -> None:
        pass


class ExitRaises(_Answers):
    async def __aenter__(self) -> ExitRaises:
        return self

    async def __aexit__(self, *_: object) -> None:
        raise RuntimeError("cannot exit")


class CloseHangs(_Answers):
    async def aclose(self) -> None:
        await asyncio.Event().wait()


class SyncIssueQuery(_Answers):
    def issue_query(self, samples: Sequence[QuerySample]) -> None:  # type: ignore[override]
        for sample in samples:
            sample.complete(b"")
