"""A keep-alive HTTP/1.1 connection pool for one origin, built on asyncio protocols.

Why not aiohttp: at the load these adapters must carry (thousands of streamed requests a
second on a shared 2-core machine) a coroutine resumed for every body piece is both the main
CPU cost and a source of timing error — the first-token time is read only when the task gets
its turn. Here each connection is a ``Protocol``: bytes are parsed in ``data_received`` and the
sample is timestamped right there, and a request on an idle connection is one
``transport.write`` with no task. ``benchmarks/http_adapters.py`` measures both.

What it speaks: HTTP/1.1 over TCP or TLS to the one origin of the base URL, keep-alive,
``Content-Length``, chunked and close-delimited bodies. No proxies, redirects or compression
(it sends no ``Accept-Encoding``): inference servers need none of them.

Each request is an ``Exchange``: its request bytes and the callbacks that turn the response
into a completed or failed sample. The pool guarantees each exchange ends exactly once, with
``on_end`` or ``on_error``, and within ``timeout_s`` of its submission.

After every piece of a response is handled the pool calls its ``arrival_check``: one turn of
the loop may run hundreds of these callbacks back to back, and the Server shaper's check lets
a query that falls due meanwhile go out between two of them rather than after the last (see
``asyncgen._engine.shapers.arrivals``).
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import deque
from collections.abc import Callable
from typing import cast
from urllib.parse import quote, urlsplit

import attrs

from asyncgen.http._failures import FailureKind, ResponseError
from asyncgen.http._wire import ParseError, ResponseParser

try:
    import resource
except ImportError:  # pragma: no cover - not POSIX: no open-file limit to read
    resource = None  # type: ignore[assignment]

# The default cap on connections (``max_connections=None``): half of the open-file limit
# left after FD_RESERVE descriptors for everything else (log files, the loop, a dataset; a
# server in the same process needs a descriptor per connection too), and never more than
# MAX_DEFAULT_CONNECTIONS, which keeps an Offline query of 100,000 samples from opening a
# connection for each. More requests wait in order for a free connection.
MAX_DEFAULT_CONNECTIONS = 1000
FD_RESERVE = 64


def default_max_connections() -> int:
    """The connection cap a SUT gets when none is given (see ``MAX_DEFAULT_CONNECTIONS``)."""
    if resource is None:  # pragma: no cover
        return MAX_DEFAULT_CONNECTIONS
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return MAX_DEFAULT_CONNECTIONS
    return max(1, min(MAX_DEFAULT_CONNECTIONS, (soft - FD_RESERVE) // 2))


@attrs.frozen
class Origin:
    """Where requests go: scheme, host, port, the base path of the URL and its query (sent
    with every request, as ``?api-version=...`` endpoints need)."""

    scheme: str
    host: str
    port: int
    base_path: str
    query: str = ""

    @classmethod
    def parse(cls, base_url: str) -> Origin:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"base URL must be http://host[:port][/path][?query]: {base_url!r}")
        if parts.fragment:
            raise ValueError(f"base URL must not have a #fragment: {base_url!r}")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:  # urlsplit's message does not say which URL
            raise ValueError(f"the port of {base_url!r} is not a number from 0 to 65535") from None
        return cls(parts.scheme, parts.hostname, port, parts.path.rstrip("/"), parts.query)

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"

    def target(self, path: str) -> str:
        """The request target for ``path`` (which may carry its own ``?query``) under the base
        path, percent-encoded where it must be (a space, a non-ASCII character), with the
        base URL's query after the path's own."""
        path, _, query = path.partition("?")
        if not path:
            path = self.base_path or "/"
        else:
            path = self.base_path + (path if path.startswith("/") else "/" + path)
        queries = [quote(q, safe=_QUERY_SAFE) for q in (query, self.query) if q]
        return quote(path, safe=_PATH_SAFE) + ("?" + "&".join(queries) if queries else "")


# What a request target may hold as it is (RFC 3986 pchar, "/" and existing %-escapes);
# anything else is percent-encoded as UTF-8.
_PATH_SAFE = "/%:@!$&'()*+,;="
_QUERY_SAFE = _PATH_SAFE + "?"


class Exchange:
    """One request and what becomes of its response; subclasses complete the sample."""

    __slots__ = ("conn", "done", "head_only", "request", "retried", "timer")

    def __init__(self, request: bytes, *, head_only: bool = False) -> None:
        self.request = request
        self.head_only = head_only
        self.timer: asyncio.TimerHandle | None = None
        self.conn: Connection | None = None
        self.done = False
        self.retried = False

    def on_head(self, status: int, headers: dict[bytes, bytes]) -> None:
        """The status and headers arrived; may raise ``ResponseError``."""

    def on_body(self, data: bytes) -> None:
        """A piece of the body arrived; may raise ``ResponseError``."""

    def on_end(self) -> None:
        """The whole response arrived; may raise ``ResponseError``."""

    def on_error(self, kind: FailureKind, detail: str) -> None:
        """The exchange failed and no more callbacks follow."""


class Connection(asyncio.Protocol):
    """One TCP (or TLS) connection carrying one exchange at a time."""

    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self.transport: asyncio.Transport | None = None
        self.parser = ResponseParser()
        self.exchange: Exchange | None = None
        self.uses = 0
        self.idle_since = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass
        self.pool.live.add(self)

    def send(self, exchange: Exchange) -> None:
        assert self.transport is not None
        self.exchange, exchange.conn = exchange, self
        self.uses += 1
        self.parser.start(exchange, head_only=exchange.head_only)
        self.transport.write(exchange.request)

    def data_received(self, data: bytes) -> None:
        exchange = self.exchange
        if exchange is None:  # bytes nobody asked for: the connection cannot be trusted
            self.abort()
            return
        try:
            complete = self.parser.feed(data)
        except ParseError as exc:
            self.pool.fail(exchange, "malformed", str(exc))
        except ResponseError as exc:
            self.pool.fail(exchange, exc.kind, exc.detail)
        except Exception as exc:  # a bug in a handler must not take the loop's callback down
            self.pool.fail(exchange, "other", repr(exc))
        else:
            if complete:
                self.exchange = None
                self.pool.finish(self, exchange, keep_alive=self.parser.keep_alive)
        self.pool.arrival_check()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        exchange, self.exchange = self.exchange, None
        if exchange is not None and not exchange.done:
            if self.parser.feed_eof():
                self.pool.finish(self, exchange, keep_alive=False)
            elif not self.parser.started and self.uses > 1 and not exchange.retried:
                self.pool.retry(exchange)  # the server closed an idle connection as we sent
            elif self.parser.in_body:
                self.pool.fail(exchange, "malformed", "connection closed mid-body (truncated)")
            else:
                reason = f": {exc}" if exc else ""
                self.pool.fail(exchange, "connect", f"connection closed before a response{reason}")
        self.pool.lost(self)

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class Pool:
    """Keep-alive connections to one origin, reused most-recent first.

    ``max_connections`` 0 means no limit; otherwise exchanges wait in order for a free
    connection (their timeout running). Idle connections older than ``keepalive_s`` are
    closed rather than reused, so a server's idle timeout (uvicorn's is 5 s) rarely races a
    request.
    """

    def __init__(
        self,
        origin: Origin,
        *,
        timeout_s: float,
        max_connections: int = 0,
        keepalive_s: float = 4.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if max_connections < 0:
            raise ValueError("max_connections must be 0 (no limit) or more")
        if timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        self.origin = origin
        self.timeout_s = timeout_s
        self.max_connections = max_connections
        self.keepalive_s = keepalive_s
        self.ssl: ssl.SSLContext | None = None
        if origin.scheme == "https":
            self.ssl = ssl_context or ssl.create_default_context()
        self.loop = asyncio.get_running_loop()
        self.idle: list[Connection] = []
        self.waiting: deque[Exchange] = deque()
        self.connections = 0  # open or being opened
        self.opened = 0  # connections ever opened, for tests and reports
        self.in_flight = 0
        self.closed = False
        self.on_idle: Callable[[], None] | None = None  # called when in_flight drops to 0
        self.arrival_check: Callable[[], None] = nothing_due  # after each piece of a response
        self.live: set[Connection] = set()  # connected and not yet lost
        self._connecting: dict[asyncio.Task[None], Exchange] = {}

    # -- submitting ------------------------------------------------------------------------

    def submit(self, exchange: Exchange) -> None:
        """Send ``exchange`` now on an idle connection, or as soon as one can be had."""
        if self.closed:
            raise RuntimeError("the connection pool is closed")
        self.in_flight += 1
        exchange.timer = self.loop.call_later(self.timeout_s, self._timed_out, exchange)
        self._dispatch(exchange)

    def _dispatch(self, exchange: Exchange) -> None:
        conn = self._take_idle()
        if conn is not None:
            conn.send(exchange)
        elif not self.max_connections or self.connections < self.max_connections:
            self.connections += 1
            task = self.loop.create_task(self._connect(exchange))
            self._connecting[task] = exchange
            task.add_done_callback(self._connecting.pop)
        else:
            self.waiting.append(exchange)

    def _take_idle(self) -> Connection | None:
        idle = self.idle
        while idle:
            conn = idle.pop()
            transport = conn.transport
            if transport is None or transport.is_closing():
                continue  # the server is closing it; ``lost`` will count it out
            if time.monotonic() - conn.idle_since < self.keepalive_s:
                return conn
            conn.close()  # too old to trust
        return None

    async def _connect(self, exchange: Exchange) -> None:
        origin = self.origin
        try:
            _, conn = await self.loop.create_connection(
                lambda: Connection(self),
                origin.host,
                origin.port,
                ssl=self.ssl,
                server_hostname=origin.host if self.ssl else None,
            )
        except asyncio.CancelledError:
            self.connections -= 1  # only ``close`` cancels, and it has failed the exchange
            raise
        except OSError as exc:
            self.connections -= 1
            self.fail(exchange, "connect", f"cannot connect to {origin.host}:{origin.port}: {exc}")
            self._next_waiting()
            return
        self.opened += 1
        if conn.transport is None:  # lost before we got here; ``lost`` has counted it out
            self.fail(exchange, "connect", "the connection closed as soon as it opened")
        elif self.closed:
            conn.close()
        elif exchange.done:  # timed out while connecting: keep the connection for others
            self._release(conn)
        else:
            conn.send(exchange)

    def retry(self, exchange: Exchange) -> None:
        exchange.retried = True
        exchange.conn = None
        if self.closed:
            self.fail(exchange, "other", "the SUT was closed")
        else:
            self._dispatch(exchange)

    # -- endings ---------------------------------------------------------------------------

    def finish(self, conn: Connection, exchange: Exchange, *, keep_alive: bool) -> None:
        """The response to ``exchange`` is complete on ``conn``."""
        if exchange.done:
            return
        self._end(exchange)
        try:
            exchange.on_end()
        except ResponseError as exc:
            exchange.on_error(exc.kind, exc.detail)
        except Exception as exc:
            exchange.on_error("other", repr(exc))
        if keep_alive and conn.transport is not None and not self.closed:
            self._release(conn)
        else:
            conn.close()
        self._check_idle()

    def fail(self, exchange: Exchange, kind: FailureKind, detail: str) -> None:
        """End ``exchange`` as failed; a connection in the middle of it is dropped."""
        if exchange.done:
            return
        self._end(exchange)
        conn = exchange.conn
        if conn is not None and conn.exchange is exchange:
            conn.exchange = None
            conn.abort()
        exchange.on_error(kind, detail)
        self._check_idle()

    def _check_idle(self) -> None:
        if self.in_flight == 0 and self.on_idle is not None:
            self.on_idle()

    def _end(self, exchange: Exchange) -> None:
        exchange.done = True
        self.in_flight -= 1
        if exchange.timer is not None:
            exchange.timer.cancel()

    def _timed_out(self, exchange: Exchange) -> None:
        if exchange.done:
            return
        if exchange.conn is None and exchange in self.waiting:
            self.waiting.remove(exchange)
        self.fail(exchange, "timeout", f"no complete response within {self.timeout_s:g} s")

    def _release(self, conn: Connection) -> None:
        if self.waiting:
            conn.send(self.waiting.popleft())
        else:
            conn.idle_since = time.monotonic()
            self.idle.append(conn)

    def lost(self, conn: Connection) -> None:
        """``conn`` closed, for whatever reason."""
        self.connections -= 1
        self.live.discard(conn)
        if conn in self.idle:
            self.idle.remove(conn)
        self._next_waiting()

    def _next_waiting(self) -> None:
        if self.waiting and not self.closed:
            self._dispatch(self.waiting.popleft())

    # -- shutting down ---------------------------------------------------------------------

    def close_idle(self) -> None:
        """Close the connections nothing is using (they reopen on demand)."""
        idle, self.idle = self.idle, []
        for conn in idle:
            conn.close()

    def close(self) -> None:
        """Close everything now; exchanges still open fail as ``other``."""
        if self.closed:
            return
        self.closed = True
        for task, exchange in list(self._connecting.items()):
            task.cancel()
            self.fail(exchange, "other", "the SUT was closed")
        waiting, self.waiting = list(self.waiting), deque()
        for exchange in waiting:
            self.fail(exchange, "other", "the SUT was closed")
        self.close_idle()
        for conn in list(self.live):
            if conn.exchange is not None:
                self.fail(conn.exchange, "other", "the SUT was closed")
            conn.close()


def nothing_due() -> None:
    """The arrival check while no Server series is paced."""
