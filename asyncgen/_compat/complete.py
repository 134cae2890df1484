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

from asyncgen._clock import Clock
from asyncgen._compat.records import QuerySampleResponse
from asyncgen._completion import resolve_id
from asyncgen._series import Series

ResponseCallback = Callable[[QuerySampleResponse], object]


class _BatchClock:
    """One timestamp per batch (per clock: all series of one run share theirs)."""

    __slots__ = ("_clock", "_now")

    def __init__(self) -> None:
        self._clock: Clock | None = None
        self._now = 0

    def now(self, series: Series) -> int:
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


def _logged(series: Series, s: int) -> bool:
    """Whether sample ``s`` goes to the accuracy log; a bad number is left to the series."""
    return 0 <= s < series.samples_issued and series.logs_response(s)


def samples_complete(
    responses: Iterable[QuerySampleResponse], response_cb: ResponseCallback | None
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
        if _logged(series, s):
            try:
                if response_cb is not None:
                    response_cb(response)
                data = read_response_bytes(response)
            except Exception as exc:  # the sample still ends; the caller gets the error
                series.fail(s, f"reading its response failed: {exc!r}", now)
                failure = failure or exc
                continue
        series.complete(s, data, int(response.n_tokens), now)
    if failure is not None:
        raise failure


def first_tokens_complete(responses: Iterable[QuerySampleResponse]) -> None:
    clock = _BatchClock()
    failure: BaseException | None = None
    for response in responses:
        target = resolve_id(int(response.id))
        if target is None:
            continue
        series, s = target
        now = clock.now(series)
        data = b""
        if series.use_tokens and _logged(series, s):
            try:
                data = read_response_bytes(response)
            except Exception as exc:  # the first token still counts; the caller gets the error
                failure = failure or exc
        series.first_token(s, data, now)
    if failure is not None:
        raise failure
