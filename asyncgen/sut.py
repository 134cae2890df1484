"""The system-under-test and sample-library protocols, and the records that cross them.

A SUT is a coroutine-driven object: ``issue_query`` returns once the query is accepted, and each
sample is completed later (or right away) through ``sample.complete(...)``. Completion is
synchronous and cheap, and safe from any thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from threading import get_ident as _get_ident
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import attrs

from asyncgen._completion import resolve_id

if TYPE_CHECKING:
    from asyncgen._series import Series

ResponseData = bytes | bytearray | memoryview | None


class QuerySample:
    """One sample of a query: ``id`` (the response id) and ``index`` (the QSL index).

    ``complete(data, n_tokens)`` finishes the sample; ``first_token(data)`` reports the first
    token in token-latency mode. Both may be called from any thread; the timestamp is taken
    at the call.
    """

    __slots__ = ("_seq", "_series", "id", "index")

    def __init__(self, series: Series, seq: int, response_id: int, index: int) -> None:
        self._series = series
        self._seq = seq
        self.id = response_id
        self.index = index

    def complete(self, data: ResponseData = b"", n_tokens: int | None = None) -> None:
        """Report this sample done, with its response bytes (and token count in token mode)."""
        series = self._series
        now = series.now_ns()  # stamped on entry
        if _get_ident() == series._loop_thread:  # the common case, one call shorter
            series._record(self._seq, now, data, n_tokens)
        else:
            series.complete(self._seq, data, n_tokens, now)

    def first_token(self, data: ResponseData = b"") -> None:
        """Report this sample's first token (token-latency mode)."""
        self._series.first_token(self._seq, data)

    def fail(self, reason: str | BaseException) -> None:
        """Report that this sample could not be answered; it counts as a failure, not a latency."""
        self._series.fail(self._seq, reason if isinstance(reason, str) else repr(reason))

    def __repr__(self) -> str:
        return f"QuerySample(id={self.id}, index={self.index})"


@attrs.frozen
class QuerySampleResponse:
    """A LoadGen-style response: the sample's ``id``, its bytes, and its token count."""

    id: int
    data: ResponseData = b""
    n_tokens: int | None = None


def query_samples_complete(responses: Sequence[QuerySampleResponse]) -> None:
    """Complete many samples at once, LoadGen style; one timestamp covers the whole batch.

    Unknown ids are reported as errors in the run's detail log (or, when no run owns them,
    through the framework log), never raised.
    """
    now: int | None = None
    for response in responses:
        target = resolve_id(response.id)
        if target is not None:
            series, seq = target
            if now is None:  # stamped once, on the first sample the call resolves
                now = series.now_ns()
            series.complete(seq, response.data, response.n_tokens, now)


def first_token_complete(responses: Sequence[QuerySampleResponse]) -> None:
    """Report first tokens for many samples at once, LoadGen style; one timestamp per call."""
    now: int | None = None
    for response in responses:
        target = resolve_id(response.id)
        if target is not None:
            series, seq = target
            if now is None:
                now = series.now_ns()
            series.first_token(seq, response.data, now)


@runtime_checkable
class SystemUnderTest(Protocol):
    """What asyncgen drives. ``issue_query`` must not block the event loop."""

    @property
    def name(self) -> str: ...

    async def issue_query(self, samples: Sequence[QuerySample]) -> None: ...

    async def flush_queries(self) -> None: ...


@runtime_checkable
class QuerySampleLibrary(Protocol):
    """Where samples come from; loading and unloading are untimed."""

    @property
    def name(self) -> str: ...

    @property
    def total_sample_count(self) -> int: ...

    @property
    def performance_sample_count(self) -> int: ...

    async def load_samples(self, indices: Sequence[int]) -> None: ...

    async def unload_samples(self, indices: Sequence[int]) -> None: ...
