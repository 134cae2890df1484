"""The samples a SUT receives, and the LoadGen-style calls that complete them by id.

A ``QuerySample`` completes itself (``sample.complete(...)``): synchronous, cheap, and safe from
any thread. It reports to the series that issued it through the ``CompletionSink`` protocol;
``query_samples_complete`` finds that series from the response id (``asyncgen._engine.ids``).
"""

from __future__ import annotations

from collections.abc import Sequence
from threading import get_ident as _get_ident

import attrs

from asyncgen._engine.ids import resolve_id
from asyncgen._engine.sink import CompletionSink, ResponseData


class QuerySample:
    """One sample of a query: ``id`` (the response id) and ``index`` (the QSL index).

    ``complete(data, n_tokens)`` finishes the sample; ``first_token(data)`` reports the first
    token in token-latency mode; ``fail(reason)`` ends it as failed. All three may be called
    from any thread; the timestamp is taken at the call. Completing a sample twice, or after
    its series has ended, is reported in the detail log, never raised.
    """

    __slots__ = ("_seq", "_sink", "id", "index")

    def __init__(self, sink: CompletionSink, seq: int, response_id: int, index: int) -> None:
        self._sink = sink
        self._seq = seq
        self.id = response_id
        self.index = index

    def complete(self, data: ResponseData = b"", n_tokens: int | None = None) -> None:
        """Report this sample done, with its response (and token count in token mode).

        ``data`` is bytes-like or a ``str`` (recorded as UTF-8); other data fails the sample
        as ``invalid_completion``. In token mode ``n_tokens`` is an integer from 2 up to
        2**32; another count is an error entry naming the sample and counts as 0.
        """
        sink = self._sink
        now = sink.now_ns()  # stamped on entry
        if _get_ident() == sink.loop_thread:  # the common case, one call shorter
            sink.record_completion(self._seq, now, data, n_tokens)
        else:
            sink.complete(self._seq, data, n_tokens, now)

    def first_token(self, data: ResponseData = b"") -> None:
        """Report this sample's first token (token-latency mode)."""
        self._sink.first_token(self._seq, data)

    def fail(self, reason: str | BaseException) -> None:
        """Report that this sample could not be answered; it counts as a failure, not a latency.

        A reason that starts with a lower-case word and a colon (``"timeout: no answer"``)
        names its kind for ``TestResult.failures``; any other reason counts as ``"other"``.
        """
        self._sink.fail(self._seq, reason if isinstance(reason, str) else repr(reason))

    def __repr__(self) -> str:
        return f"QuerySample(id={self.id}, index={self.index})"


class TurnSample(QuerySample):
    """A turn of a multi-turn conversation (``TestSettings.server_multi_turn``).

    ``index`` is the conversation's QSL index, ``turn`` the number of this user turn (0 for
    the first), and ``answers`` what the SUT completed each earlier turn of this session with,
    in order: the history the turn is sent with, the SUT's own answers in place of the
    dataset's. It completes like any sample.
    """

    __slots__ = ("answers", "turn")

    def __init__(
        self,
        sink: CompletionSink,
        seq: int,
        response_id: int,
        index: int,
        *,
        turn: int,
        answers: tuple[bytes, ...],
    ) -> None:
        super().__init__(sink, seq, response_id, index)
        self.turn = turn
        self.answers = answers

    def __repr__(self) -> str:
        return f"TurnSample(id={self.id}, index={self.index}, turn={self.turn})"


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
