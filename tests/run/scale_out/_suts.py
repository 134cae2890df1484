"""SUTs and QSLs the scale-out tests' workers make: module-level, so Ray ships them by
reference and each worker imports this module (the tests run from the repository root)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import asyncgen

TOTAL, PERFORMANCE = 512, 128


class NullSUT:
    """Completes each sample at once; its response is its QSL index, two bytes."""

    name = "null-sut"

    async def issue_query(self, samples: Sequence[asyncgen.QuerySample]) -> None:
        for sample in samples:
            sample.complete(sample.index.to_bytes(2, "big"))

    async def flush_queries(self) -> None:
        pass


class SleepSUT(NullSUT):
    """Completes each sample 1 ms after it was issued, on the loop."""

    name = "sleep-sut"

    async def issue_query(self, samples: Sequence[asyncgen.QuerySample]) -> None:
        asyncio.get_running_loop().call_later(0.001, self._complete, list(samples))

    def _complete(self, samples: list[asyncgen.QuerySample]) -> None:
        for sample in samples:
            sample.complete(sample.index.to_bytes(2, "big"))


class TokenSUT(NullSUT):
    """Streams: a first token, then the response and its token count (the index mod 7 + 2)."""

    name = "token-sut"

    async def issue_query(self, samples: Sequence[asyncgen.QuerySample]) -> None:
        for sample in samples:
            sample.first_token(b"t")
            sample.complete(sample.index.to_bytes(2, "big"), n_tokens=sample.index % 7 + 2)


def qsl() -> asyncgen.SimulatedQSL:
    return asyncgen.SimulatedQSL(total_sample_count=TOTAL, performance_sample_count=PERFORMANCE)


def small_qsl() -> asyncgen.SimulatedQSL:
    """100 samples, loaded 40 at a time: an accuracy pass is three series."""
    return asyncgen.SimulatedQSL(total_sample_count=100, performance_sample_count=40)


def refusing_sut() -> NullSUT:
    raise ConnectionRefusedError("the model server at 127.0.0.1:9 refused the connection")


class CheckingSUT(NullSUT):
    """A null SUT that asks for the arrival check (as the HTTP adapters do) and calls it after
    each query it completes; every instance is kept in ``made`` with the checks it was given."""

    name = "checking-sut"
    made: list[CheckingSUT] = []  # noqa: RUF012 - the test reads what each shard made

    def __init__(self) -> None:
        self.checks: list[object] = []
        self._check: object = None
        CheckingSUT.made.append(self)

    def set_arrival_check(self, check: object) -> None:
        self.checks.append(check)
        self._check = check

    async def issue_query(self, samples: Sequence[asyncgen.QuerySample]) -> None:
        await super().issue_query(samples)
        if callable(self._check):
            self._check()


class StuckSUT(NullSUT):
    """Answers its first 20 calls, then an ``issue_query`` that never returns."""

    name = "stuck-sut"

    def __init__(self) -> None:
        self.calls = 0

    async def issue_query(self, samples: Sequence[asyncgen.QuerySample]) -> None:
        self.calls += 1
        if self.calls > 20:
            await asyncio.Event().wait()
        await super().issue_query(samples)


class SyncSUT(NullSUT):
    """An ``issue_query`` that is a plain function: refused before the run, as in one process."""

    name = "sync-sut"

    def issue_query(self, samples: Sequence[asyncgen.QuerySample]) -> None:  # type: ignore[override]
        for sample in samples:
            sample.complete(b"")
