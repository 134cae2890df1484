"""``QuerySamplesComplete`` and ``FirstTokenComplete``: responses given by memory address.

Like the reference, one timestamp, taken on entry, covers the whole batch; the call may come
from any thread (the engine's series hands records from other threads to its loop). The bytes
at ``data`` are read (``ctypes.string_at``) only for a response that goes to the accuracy log
(accuracy mode, or sampled in performance mode), and only then is ``response_cb`` called,
before the read, so a SUT can move device memory to the host lazily. Other responses' memory
is never touched. As in the reference, ``FirstTokenComplete`` accepts ``response_cb`` but never
calls it.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Iterable
from typing import Protocol

from asyncgen._compat.records import QuerySampleResponse
from asyncgen._engine.clock import Clock
from asyncgen._engine.ids import resolve_id
from asyncgen._engine.sink import CompletionSink

ResponseCallback = Callable[[QuerySampleResponse], object]


class _BatchClock:
    """One timestamp per batch (per clock: all series of one run share theirs)."""

    __slots__ = ("_clock", "_now")

    def __init__(self) -> None:
        self._clock: Clock | None = None
        self._now = 0

    def now(self, series: CompletionSink) -> int:
        if series.clock is not self._clock:
            self._clock = series.clock
            self._now = series.clock.now_ns()
        return self._now


def read_response_bytes(response: QuerySampleResponse) -> bytes:
    """The ``size`` bytes at address ``data``."""
    size, address = int(response.size), int(response.data)
    if size == 0:
        return b""
    if address == 0:
        raise ValueError(f"response {response.id}: data is a null address with size {size}")
    return ctypes.string_at(address, size)


class _CompletionLoop(Protocol):
    def __call__(
        self, responses: Iterable[QuerySampleResponse], response_cb: ResponseCallback | None = None
    ) -> None: ...


def _completion_loop(first_token: bool) -> _CompletionLoop:
    """The loop of QuerySamplesComplete, or with ``first_token`` that of FirstTokenComplete.

    The two differ only in this: a first token's bytes are read only for a series with token
    latencies, and a first token whose read failed is still recorded (without bytes), where
    a completion whose read failed ends its sample as failed. Either way the batch goes on and
    the first error is raised at its end. Each of the two is its own function with the flag
    fixed in it: no wrapper call per batch and no callback per response on this hot path.
    """

    def complete(
        responses: Iterable[QuerySampleResponse], response_cb: ResponseCallback | None = None
    ) -> None:
        clock = _BatchClock()
        failure: BaseException | None = None
        for response in responses:
            target = resolve_id(int(response.id))
            if target is None:
                continue
            series, s = target
            now = clock.now(series)
            data = b""
            if (not first_token or series.use_tokens) and series.logs_response(s):
                try:
                    if response_cb is not None:
                        response_cb(response)
                    data = read_response_bytes(response)
                except Exception as exc:  # the sample still ends; the caller gets the error
                    failure = failure or exc
                    if not first_token:
                        series.fail(s, f"reading its response failed: {exc!r}", now)
                        continue
            if first_token:
                series.first_token(s, data, now)
            else:
                series.complete(s, data, int(response.n_tokens), now)
        if failure is not None:
            raise failure

    return complete


samples_complete = _completion_loop(first_token=False)
first_tokens_complete = _completion_loop(first_token=True)  # FirstTokenComplete passes no callback
