"""The connection pool's edges: stale keep-alive retries, expiry, queues, closing, TLS."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from aiohttp import web

from asyncgen.http import HttpSUT, Payload
from tests.http.conftest import Server, ServerState, make_app
from tests.http.helpers import ListSource, Sample, answer, serving

TLS = Path(__file__).parent / "tls"
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


@pytest_asyncio.fixture
async def closes_second_request_url() -> AsyncIterator[str]:
    """Answers a connection's first request, then closes it when the second one arrives,
    without answering: what a server's idle timeout looks like to a client that just sent."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(RESPONSE)
        await writer.drain()
        await reader.readuntil(b"\r\n\r\n")
        writer.close()

    async with serving(handle) as url:
        yield url


@pytest.mark.asyncio
async def test_a_reused_connection_closed_under_a_request_is_retried_once(
    closes_second_request_url: str,
) -> None:
    async with HttpSUT(closes_second_request_url, ListSource([Payload(method="GET")])) as sut:
        first = await answer(sut, [0])
        second = await answer(sut, [0])
        assert sut.connections_opened == 2
    assert first[0].outcome == second[0].outcome == ("complete", (b"ok", None))


@pytest_asyncio.fixture
async def always_closes_url() -> AsyncIterator[str]:
    """Reads the request and closes without a word."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.close()

    async with serving(handle) as url:
        yield url


@pytest.mark.asyncio
async def test_a_fresh_connection_closed_before_answering_fails_as_connect(
    always_closes_url: str,
) -> None:
    async with HttpSUT(always_closes_url, ListSource([Payload(method="GET")])) as sut:
        (sample,) = await answer(sut, [0])
    assert sample.outcome == ("fail", "connect: connection closed before a response")


@pytest.mark.asyncio
async def test_idle_connections_past_keepalive_are_not_reused(server: Server) -> None:
    source = ListSource([Payload(method="GET", path="/peer")])
    async with HttpSUT(server.url, source, keepalive_s=0.0) as sut:
        for _ in range(3):
            await answer(sut, [0])
        assert sut.connections_opened == 3


@pytest.mark.asyncio
async def test_requests_waiting_for_a_connection_time_out_too(server: Server) -> None:
    source = ListSource([Payload(method="GET", path="/hold")])
    async with HttpSUT(server.url, source, max_connections=1, timeout_s=0.2) as sut:
        samples = await answer(sut, [0, 0, 0])
        pool = sut._pool
        assert pool is not None and not pool.waiting
    assert [s.outcome for s in samples] == [
        ("fail", "timeout: no complete response within 0.2 s")
    ] * 3


@pytest.mark.asyncio
async def test_closing_fails_waiting_and_connecting_requests(server: Server) -> None:
    sut = HttpSUT(server.url, ListSource([Payload(method="GET", path="/hold")]), max_connections=1)
    samples = [Sample(0) for _ in range(3)]
    await sut.issue_query(samples)  # type: ignore[arg-type]
    await sut.aclose()  # one is still connecting, two wait for it
    assert [s.outcome for s in samples] == [("fail", "other: the SUT was closed")] * 3
    assert sut.failures.other == 3
    await sut.aclose()  # closing twice is fine


@pytest.mark.asyncio
async def test_a_connection_reopens_after_the_server_closes_it(server: Server) -> None:
    source = ListSource([Payload(method="GET", path="/peer")])
    async with HttpSUT(server.url, source) as sut:
        await answer(sut, [0])
        pool = sut._pool
        assert pool is not None
        lost = asyncio.Event()
        count_out = pool.lost
        pool.lost = lambda conn: (count_out(conn), lost.set())  # type: ignore[method-assign]
        (conn,) = pool.idle
        conn.close()  # as if the server had closed it
        await asyncio.wait_for(lost.wait(), 5)
        assert not pool.idle
        await answer(sut, [0])
        assert sut.connections_opened == 2 and pool.connections == 1


@pytest_asyncio.fixture
async def tls_url() -> AsyncIterator[str]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(TLS / "cert.pem", TLS / "key.pem")
    runner = web.AppRunner(make_app(ServerState()), handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    yield f"https://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


@pytest.mark.asyncio
async def test_https_with_a_trusted_certificate(tls_url: str) -> None:
    trusting = ssl.create_default_context(cafile=TLS / "cert.pem")
    source = ListSource([Payload(path="/echo", body=b"secret")])
    async with HttpSUT(tls_url, source, ssl_context=trusting) as sut:
        (sample,) = await answer(sut, [0])
        (again,) = await answer(sut, [0])
        assert sut.connections_opened == 1
    assert sample.outcome == again.outcome == ("complete", (b"secret", None))
    async with HttpSUT(tls_url, source) as default:  # the system's CAs do not know it
        (refused,) = await answer(default, [0])
    assert refused.outcome[1].startswith("connect: cannot connect to 127.0.0.1:")
    assert "CERTIFICATE_VERIFY_FAILED" in refused.outcome[1]


@pytest.mark.asyncio
async def test_the_pool_calls_the_arrival_check_after_each_piece_of_a_response() -> None:
    pieces = [
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"2\r\nok\r\n",
        b"0\r\n\r\n",
    ]
    checked = asyncio.Event()
    checks = 0

    def check() -> None:  # stands in for the Server shaper's: a query may be due
        nonlocal checks
        checks += 1
        checked.set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        for piece in pieces:  # one piece per read: the next goes once the check has run
            checked.clear()
            writer.write(piece)
            await writer.drain()
            await checked.wait()
        await reader.readuntil(b"\r\n\r\n")  # the second request: all at once
        writer.write(b"".join(pieces))
        await writer.drain()
        writer.close()

    async with serving(handle) as url, HttpSUT(url, ListSource([Payload(method="GET")])) as sut:
        sut.set_arrival_check(check)
        (first,) = await answer(sut, [0])
        assert checks == len(pieces)
        sut.set_arrival_check(None)  # the series is over: the pool stops calling it
        (second,) = await answer(sut, [0])
        assert checks == len(pieces)
    assert first.outcome == second.outcome == ("complete", (b"ok", None))
