"""``CompletionSink``: what a ``QuerySample`` reports its completion to, and ``ResponseData``.

The sink is the series that issued the sample (``asyncgen._engine.series.Series``); samples and
the response-id registry talk to this protocol so that they need not import the series, which
imports them to make its samples.
"""

from __future__ import annotations

from typing import Protocol

from asyncgen._engine.clock import Clock
from asyncgen._engine.events import EventLog

ResponseData = bytes | bytearray | memoryview | str | None
"""What a SUT answers a sample with: any bytes-like object (anything with the buffer
protocol), a ``str`` (logged as its UTF-8 bytes), or None for no bytes. Anything else (an
int, a float, a list) fails the sample as ``invalid_completion``."""


class CompletionSink(Protocol):
    """Records the completions, first tokens and failures of the samples it issued.

    ``s`` is the sample's number in its series. ``complete``, ``first_token`` and ``fail`` may
    be called from any thread; ``record_completion`` only on ``loop_thread``.
    """

    clock: Clock
    events: EventLog
    loop_thread: int  # the thread id of the event loop the series runs on
    closed: bool  # the series has ended: completions from now on are late
    use_tokens: bool  # token latencies are measured (first tokens and token counts)

    def now_ns(self) -> int:
        """The series clock's time."""
        ...

    def record_completion(self, s: int, now: int, data: ResponseData, n_tokens: int | None) -> None:
        """Record sample ``s`` complete at ``now`` (the loop thread only)."""
        ...

    def complete(
        self, s: int, data: ResponseData, n_tokens: int | None, now: int | None = None
    ) -> None:
        """Record sample ``s`` complete (any thread); ``now`` defaults to the clock's time."""
        ...

    def first_token(self, s: int, data: ResponseData, now: int | None = None) -> None:
        """Record sample ``s``'s first token (any thread)."""
        ...

    def fail(self, s: int, reason: str, now: int | None = None) -> None:
        """Record sample ``s`` answered but failed (any thread)."""
        ...

    def logs_response(self, s: int) -> bool:
        """Whether sample ``s``'s response goes to the accuracy log (False for a bad ``s``)."""
        ...
