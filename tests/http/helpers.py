"""A sample that records what an HTTP SUT reports, a list payload source, ``answer``, and raw
TCP servers on loopback for the edges a real HTTP server will not produce."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import asyncgen
from asyncgen.http import Payload


def server_settings(**overrides: object) -> asyncgen.TestSettings:
    """A short Server performance run at 100 QPS (200 ms, 20 queries) unless overridden."""
    values: dict[str, object] = {
        "scenario": asyncgen.TestScenario.Server,
        "mode": asyncgen.TestMode.PerformanceOnly,
        "server_target_qps": 100,
        "min_duration_ms": 200,
        "min_query_count": 20,
    }
    values.update(overrides)
    return asyncgen.TestSettings(**values)  # type: ignore[arg-type]


def logs(outdir: Path) -> asyncgen.LogSettings:
    """Log settings writing to ``outdir``."""
    return asyncgen.LogSettings(log_output=asyncgen.LogOutputSettings(outdir=str(outdir)))


class Sample:
    """Stands in for ``asyncgen.QuerySample``: records what the SUT reports, in order."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.events: list[tuple[str, Any]] = []
        self.finished = asyncio.Event()

    def first_token(self, data: bytes = b"") -> None:
        self.events.append(("first_token", bytes(data)))

    def complete(self, data: bytes = b"", n_tokens: int | None = None) -> None:
        self.events.append(("complete", (bytes(data), n_tokens)))
        self.finished.set()

    def fail(self, reason: str) -> None:
        self.events.append(("fail", reason))
        self.finished.set()

    @property
    def outcome(self) -> tuple[str, Any]:
        return self.events[-1]


class ListSource:
    """A payload source over a list."""

    def __init__(self, payloads: Sequence[Payload]) -> None:
        self.payloads = list(payloads)

    def payload(self, index: int) -> Payload:
        return self.payloads[index]


async def answer(sut: Any, indices: Sequence[int]) -> list[Sample]:
    """Issue one sample per index in one query and wait until each is answered."""
    samples = [Sample(i) for i in indices]
    await sut.issue_query(samples)
    async with asyncio.timeout(10):  # a bug must fail the test, not hang it
        for sample in samples:
            await sample.finished.wait()
    return samples


class PayloadQSL(ListSource):
    """A QSL over a list of payloads; also their payload source."""

    def __init__(self, payloads: Sequence[Payload], name: str = "payloads") -> None:
        super().__init__(payloads)
        self.name = name
        self.total_sample_count = len(self.payloads)
        self.performance_sample_count = len(self.payloads)

    async def load_samples(self, indices: Sequence[int]) -> None:
        """Nothing to load."""

    async def unload_samples(self, indices: Sequence[int]) -> None:
        """Nothing to unload."""


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def serving(handle: Handler) -> AsyncIterator[str]:
    """A TCP server on 127.0.0.1 running ``handle`` per connection; yields its URL."""
    srv = await asyncio.start_server(handle, "127.0.0.1", 0)
    async with srv:
        yield f"http://127.0.0.1:{srv.sockets[0].getsockname()[1]}"


def replying(reply: bytes) -> contextlib.AbstractAsyncContextManager[str]:
    """``serving`` a handler that answers any request with ``reply`` and closes."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(reply)
        await writer.drain()
        writer.close()

    return serving(handle)
