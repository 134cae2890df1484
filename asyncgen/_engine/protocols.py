"""The two protocols a user implements: the system under test and the sample library.

Both are structural (``typing.Protocol``): any object with these members works, no base class
is needed. ``isinstance(obj, SystemUnderTest)`` checks the members exist.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from asyncgen._engine.sample import QuerySample
from asyncgen._errors import ProtocolError


@runtime_checkable
class SystemUnderTest(Protocol):
    """What asyncgen drives: it receives queries and completes their samples.

    Every method runs on the event loop of the run and must not block it: a blocking call
    delays every arrival and every completion (the run's watchdog reports it as a loop stall).

    One optional method: a SUT that does much of its work in the loop's I/O callbacks (the
    HTTP adapters parse every streamed token in ``data_received``) may define
    ``set_arrival_check(check)``. For each Server series paced by its plan (not one whose
    queries wait on completions: closed-loop users, multi-turn sessions, a concurrency limit)
    asyncgen calls it with a function to call, on the loop's thread, after each piece of that
    work — it issues any query whose arrival time has come, and costs one clock read when none
    has — and with ``None`` when the series ends. Otherwise an arrival that falls due while
    the loop runs a burst of such callbacks waits for the end of the burst, and arrivals leave
    in bunches. In return, ``issue_query`` of such a SUT may be called from that check or from
    the clock's wake-up rather than from asyncgen's task: it runs there up to its first
    ``await``, the rest in a task of its own, and the next query waits until it has returned.
    """

    @property
    def name(self) -> str:
        """The SUT's name, read once when the run starts, for the logs (``sut_name``)."""
        ...

    async def issue_query(self, samples: Sequence[QuerySample]) -> None:
        """Accept one query: a sequence of samples, one in SingleStream and Server (unless
        queries are coalesced), several in MultiStream, all of them in Offline.

        Return as soon as the query is accepted, not when it is answered: the open loop
        (Server) awaits this call before it issues the next arrival, so time spent here is
        issue lag. Complete each sample later, or at once, inside this call, with
        ``sample.complete(data)`` (``sample.first_token(data)`` first in token-latency mode,
        ``sample.fail(reason)`` for a sample that cannot be answered); completion is
        synchronous and safe from any thread, so samples may also be completed from worker
        threads. The samples may be kept until they are completed, but not reused afterwards.

        Raising stops the run: nothing more is issued, the samples in flight are given the
        drain deadline (``TestSettings.drain_timeout_ms``) to complete, the log files are
        written, and ``run_test`` raises ``RunError`` with this exception as its cause.
        """
        ...

    async def flush_queries(self) -> None:
        """Issue whatever is still held: called once after the last query of each series.

        A SUT that batches samples should send its partial batch now; one that does not
        may return at once. After it returns, asyncgen waits for the outstanding samples
        until the drain deadline; samples that never complete are named in the detail log
        and make the run INVALID. Raising stops the run as in ``issue_query``.
        """
        ...


@runtime_checkable
class QuerySampleLibrary(Protocol):
    """Where samples come from: their counts, and loading them before they are issued.

    Loading and unloading are untimed: a series starts pacing only once ``load_samples``
    has returned. Raising from either method stops the run as ``issue_query`` does.
    """

    @property
    def name(self) -> str:
        """The library's name, for the logs (``qsl_name``)."""
        ...

    @property
    def total_sample_count(self) -> int:
        """How many samples exist (indices ``0 .. total_sample_count - 1``); accuracy mode
        issues each of them once."""
        ...

    @property
    def performance_sample_count(self) -> int:
        """How many samples fit in memory at once: the size of each loaded set, from which
        performance mode draws its queries (``performance_sample_count_override`` wins)."""
        ...

    async def load_samples(self, indices: Sequence[int]) -> None:
        """Load these QSL indices (one loaded set) before a series issues them.

        Called before each series: once in performance mode, once per set in accuracy mode.
        The queries that follow read only these indices (in MultiStream a set is padded
        with a repeat of its first indices, so an index may appear twice).
        """
        ...

    async def unload_samples(self, indices: Sequence[int]) -> None:
        """Release the samples loaded by the matching ``load_samples`` call: called once the
        series that used them has drained."""
        ...


@runtime_checkable
class ConversationLibrary(QuerySampleLibrary, Protocol):
    """A sample library of conversations, for multi-turn runs (``server_multi_turn``).

    Each sample is a conversation; the run sends its user turns one by one as ``TurnSample``
    queries, each after the answer to the previous one (and the think time).
    """

    def turn_count(self, index: int) -> int:
        """How many user turns conversation ``index`` has (at least 1)."""
        ...


_COROUTINES = {
    "SUT": ("issue_query", "flush_queries"),
    "QSL": ("load_samples", "unload_samples"),
}


def check_protocols(sut: object, qsl: object) -> None:
    """Refuse, before anything runs, a SUT or QSL whose methods are missing or are not
    coroutine functions: awaited in the middle of a run, a plain function's ``None`` would
    stop it after the call had run."""
    for what, obj in (("SUT", sut), ("QSL", qsl)):
        for method in _COROUTINES[what]:
            function = getattr(obj, method, None)
            if function is None:
                raise ProtocolError(f"the {what} {type(obj).__name__} has no {method}()")
            if not _is_coroutine_function(function):
                raise ProtocolError(
                    f"the {what} {type(obj).__name__}'s {method} must be a coroutine function "
                    f"('async def {method}(self, ...)'), not {type(function).__name__} "
                    f"{getattr(function, '__qualname__', function)!r}"
                )


def _is_coroutine_function(function: object) -> bool:
    """``async def`` functions and methods, partials of them, and objects whose
    ``__call__`` is one."""
    call = getattr(function, "__call__", None)  # noqa: B004 - the callable object's own
    return inspect.iscoroutinefunction(function) or inspect.iscoroutinefunction(call)
