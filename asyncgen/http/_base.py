"""What both HTTP SUTs share: the pool's life cycle, the request cache, failure counting."""

from __future__ import annotations

import asyncio
import contextlib
import math
import ssl
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Self

from asyncgen._version import __version__
from asyncgen.http._failures import FailureCounts, FailureKind
from asyncgen.http._payload import Payload, PayloadSource
from asyncgen.http._pool import Exchange, Origin, Pool, default_max_connections, nothing_due
from asyncgen.sut import QuerySample, TurnSample

USER_AGENT = f"asyncgen/{__version__}"

REQUEST_CACHE_SIZE = 65_536  # encoded requests kept, by sample index
Request = tuple[bytes, bool]  # the request's bytes, and whether it is a HEAD request


class PooledSUT:
    """A SUT that turns each sample into one request on a keep-alive pool.

    The pool opens on the first request, on the running loop. Once the runner has flushed and
    the last response is in, idle connections close by themselves (they reopen for the next
    series), so a SUT driven by the synchronous ``asyncgen.run`` leaves nothing open behind;
    ``aclose()`` (or ``async with``) closes everything at once, failing requests still out.
    """

    def __init__(
        self,
        base_url: str,
        source: PayloadSource,
        *,
        headers: Mapping[str, str] | None = None,
        timeout_s: float = 60.0,
        max_connections: int | None = None,
        name: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        keepalive_s: float = 4.0,
    ) -> None:
        """The connection options every adapter takes (``OpenAISUT`` adds its own).

        ``headers`` go with every request (a payload's own headers win). ``timeout_s`` bounds
        each request from the moment it is issued, queueing included. ``max_connections`` caps
        the keep-alive connections open at once; requests beyond it wait in order for a free
        one. The default (None) is half of the open-file limit left after 64 descriptors, at
        most 1000; 0 opens as many as there are requests in flight (an Offline query opens
        one per sample). An idle connection older than ``keepalive_s`` is closed
        rather than reused. ``ssl_context`` replaces the default TLS context of ``https://``
        URLs. ``name`` defaults to the adapter and its URL, e.g. ``HttpSUT(http://...)``.
        """
        _check_number("timeout_s", timeout_s, low=0.0, low_included=False)
        _check_number("keepalive_s", keepalive_s, low=0.0, low_included=True)
        if max_connections is not None:  # None: the default cap
            check_count("max_connections", max_connections, low=0)  # 0: no limit
        self.origin = Origin.parse(base_url)
        self.base_url = base_url
        self.source = source
        self.timeout_s = timeout_s
        # the cap in force (0: none), and whether it is the default from the open-file limit
        self.default_cap = max_connections is None
        self.max_connections = (
            default_max_connections() if max_connections is None else max_connections
        )
        self.failures = FailureCounts()
        self._name = name
        self._ssl = ssl_context
        self._keepalive_s = keepalive_s
        self.default_headers = {"User-Agent": USER_AGENT, "Accept": "*/*", **(headers or {})}
        Payload(headers=self.default_headers)  # validates the header names and values
        self._pool: Pool | None = None
        self._arrival_check: Callable[[], None] | None = None
        self._flushed = False
        self._requests: dict[int, tuple[Payload, Request]] = {}

    @property
    def name(self) -> str:
        return self._name or self._default_name()

    @property
    def connections_opened(self) -> int:
        """Connections opened by the current pool (keep-alive reuse keeps this low)."""
        return 0 if self._pool is None else self._pool.opened

    async def issue_query(self, samples: Sequence[QuerySample]) -> None:
        pool = self._open_pool()
        self._flushed = False
        for sample in samples:
            try:
                if isinstance(sample, TurnSample):  # a conversation's turn: built each time
                    request = self._turn_request(sample)
                else:
                    request = self._request_for(sample.index)
            except Exception as exc:  # a payload we cannot send fails its sample, not the run
                self.fail_sample(sample, "other", f"cannot build the request: {exc!r}")
                continue
            pool.submit(self._exchange(sample, request))

    def set_arrival_check(self, check: Callable[[], None] | None) -> None:
        """While a Server series is paced, ``check`` issues any query already due: it is called
        after every piece of a response is handled (see ``asyncgen._engine.protocols``)."""
        self._arrival_check = check
        if self._pool is not None:
            self._pool.arrival_check = check or nothing_due

    async def flush_queries(self) -> None:
        """No more queries for now: idle connections close once the last response is in."""
        self._flushed = True
        self._when_idle()

    async def aclose(self) -> None:
        """Close every connection now; requests still out fail as ``other``."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- for subclasses --------------------------------------------------------------------

    def _default_name(self) -> str:
        """The name when none was given."""
        raise NotImplementedError

    def _build_request(self, payload: Payload) -> Request:
        """The request bytes for ``payload``, and whether it is a HEAD request."""
        raise NotImplementedError

    def _exchange(self, sample: QuerySample, request: Request) -> Exchange:
        """The exchange that sends ``request`` and answers ``sample``."""
        raise NotImplementedError

    def _turn_request(self, sample: TurnSample) -> Request:
        """The request of a turn of a conversation, with the SUT's answers so far (multi-turn:
        the source builds it, see ``ConversationSource``)."""
        turn_payload = getattr(self.source, "turn_payload", None)
        if turn_payload is None:
            raise ValueError(
                "a multi-turn run needs a conversation source (one with turn_payload), such "
                "as asyncgen.datasets.ConversationQSL"
            )
        answers = [answer.decode("utf-8", "replace") for answer in sample.answers]
        payload: Payload = turn_payload(sample.index, sample.turn, answers)
        return self._build_request(payload)

    def fail_sample(self, sample: QuerySample, kind: FailureKind, detail: str) -> None:
        """Count the failure and fail the sample with the reason ``"<kind>: <detail>"``."""
        self.failures.add(kind)
        sample.fail(f"{kind}: {detail}")

    # -- internals -------------------------------------------------------------------------

    def _request_for(self, index: int) -> Request:
        """The request for sample ``index``, built once per payload object."""
        payload = self.source.payload(index)
        cached = self._requests.get(index)
        if cached is not None and cached[0] is payload:
            return cached[1]
        request = self._build_request(payload)
        if len(self._requests) >= REQUEST_CACHE_SIZE:  # a huge accuracy set: start afresh
            self._requests.clear()
        self._requests[index] = (payload, request)
        return request

    def _open_pool(self) -> Pool:
        loop = asyncio.get_running_loop()
        pool = self._pool
        if pool is not None and not pool.closed and pool.loop is loop:
            return pool
        if pool is not None:  # left open on another (likely closed) loop
            with contextlib.suppress(RuntimeError):
                pool.close()
        pool = self._pool = Pool(
            self.origin,
            timeout_s=self.timeout_s,
            max_connections=self.max_connections,
            keepalive_s=self._keepalive_s,
            ssl_context=self._ssl,
        )
        pool.on_idle = self._when_idle
        if self._arrival_check is not None:
            pool.arrival_check = self._arrival_check
        return pool

    def _when_idle(self) -> None:
        pool = self._pool
        if self._flushed and pool is not None and pool.in_flight == 0:
            pool.close_idle()


def _check_number(name: str, value: object, *, low: float, low_included: bool) -> None:
    """A finite number of seconds above ``low`` (or from it): NaN compares false with
    everything, so a NaN timeout would never fire, and a string would fail at run time."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < low
        or (value == low and not low_included)
    ):
        bound = f"{'at least' if low_included else 'more than'} {low:g}"
        raise ValueError(f"{name} must be a finite number of seconds, {bound}; got {value!r}")


def check_count(name: str, value: object, *, low: int) -> None:
    """An integer option of at least ``low`` (not a bool, not a float)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name} must be an integer of at least {low}; got {value!r}")
