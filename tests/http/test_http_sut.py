"""HttpSUT against real servers on 127.0.0.1: bodies, keep-alive, and every failure kind."""

from __future__ import annotations

import ast
import inspect
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from asyncgen.http import FailureCounts, HttpSUT, OpenAISUT, Payload, PayloadSource, make_sut
from asyncgen.http._pool import default_max_connections
from tests.http.conftest import Server
from tests.http.helpers import ListSource, Sample, answer, replying


def sut_for(url: str, *payloads: Payload, **options: object) -> HttpSUT:
    return HttpSUT(url, ListSource(payloads), **options)  # type: ignore[arg-type]


@pytest.mark.asyncio
async def test_json_payload_is_posted_and_the_body_completes_the_sample(server: Server) -> None:
    payload = Payload(path="/inspect", json={"x": [1, "é"]}, headers={"X-Trace": "t1"})
    async with sut_for(server.url, payload, headers={"Authorization": "k"}) as sut:
        (sample,) = await answer(sut, [0])
    kind, (data, n_tokens) = sample.outcome
    assert kind == "complete" and n_tokens is None
    seen = json.loads(data)
    assert seen["method"] == "POST" and seen["path"] == "/inspect"
    assert json.loads(seen["body"]) == {"x": [1, "é"]}
    assert seen["headers"]["Content-Type"] == "application/json"
    assert seen["headers"]["X-Trace"] == "t1" and seen["headers"]["Authorization"] == "k"
    assert seen["headers"]["User-Agent"].startswith("asyncgen/")
    assert sut.failures == FailureCounts()


@pytest.mark.asyncio
async def test_query_strings_encoded_paths_and_a_users_host_reach_the_server(
    server: Server,
) -> None:
    payloads = [
        Payload(path="/inspect?x=1"),
        Payload(path="/a dir/ünï", headers={"Host": "virtual.example"}),
    ]
    async with sut_for(f"{server.url}?api-version=2024-06-01", *payloads) as sut:
        samples = await answer(sut, [0, 1])
    seen = [json.loads(sample.outcome[1][0]) for sample in samples]
    assert seen[0]["path"] == "/inspect?x=1&api-version=2024-06-01"
    assert seen[1]["path"] == "/a%20dir/%C3%BCn%C3%AF?api-version=2024-06-01"
    assert seen[1]["headers"]["Host"] == "virtual.example"
    assert sut.failures == FailureCounts()


@pytest.mark.asyncio
async def test_raw_bodies_and_other_methods(server: Server) -> None:
    payloads = [
        Payload(path="echo", body=b"\x00\x01raw", headers={"Content-Type": "image/png"}),
        Payload(method="GET", path="/inspect"),
        Payload(method="PUT", path="/inspect"),
        Payload(method="HEAD", path="/echo"),
        Payload(method="GET", path="/empty"),
    ]
    async with sut_for(server.url, *payloads) as sut:
        raw, get, put, head, empty = await answer(sut, range(5))
    assert raw.outcome == ("complete", (b"\x00\x01raw", None))
    get_seen = json.loads(get.outcome[1][0])
    assert get_seen["method"] == "GET" and "Content-Length" not in get_seen["headers"]
    assert json.loads(put.outcome[1][0])["headers"]["Content-Length"] == "0"
    assert head.outcome == ("complete", (b"", None))
    assert empty.outcome == ("complete", (b"", None))


@pytest.mark.asyncio
async def test_base_url_path_prefixes_every_request(server: Server) -> None:
    async with sut_for(f"{server.url}/api/", Payload(path="/inspect")) as sut:
        (sample,) = await answer(sut, [0])
    assert json.loads(sample.outcome[1][0])["path"] == "/api/inspect"


@pytest.mark.asyncio
async def test_keep_alive_reuses_one_connection(server: Server) -> None:
    async with sut_for(server.url, Payload(method="GET", path="/peer")) as sut:
        for _ in range(20):
            await answer(sut, [0])
        assert sut.connections_opened == 1
    assert len(server.state.peers) == 20 and len(set(server.state.peers)) == 1


@pytest.mark.asyncio
async def test_max_connections_caps_concurrency_and_queues_the_rest(server: Server) -> None:
    async with sut_for(server.url, Payload(method="GET", path="/peer"), max_connections=2) as sut:
        samples = await answer(sut, [0] * 30)
        assert sut.connections_opened <= 2
    assert all(s.outcome[0] == "complete" for s in samples)
    assert len(set(server.state.peers)) <= 2


@pytest.mark.asyncio
async def test_idle_connections_close_after_flush_and_reopen(server: Server) -> None:
    async with sut_for(server.url, Payload(method="GET", path="/peer")) as sut:
        await answer(sut, [0])
        await sut.flush_queries()
        pool = sut._pool
        assert pool is not None and pool.idle == []
        await answer(sut, [0])
        assert sut.connections_opened == 2
    assert len(set(server.state.peers)) == 2


@pytest.mark.asyncio
async def test_refused_connection_fails_the_sample_as_connect(refused_url: str) -> None:
    async with sut_for(refused_url, Payload(path="/x")) as sut:
        samples = await answer(sut, [0, 0])
    assert [s.outcome[0] for s in samples] == ["fail", "fail"]
    assert samples[0].outcome[1].startswith("connect: cannot connect to 127.0.0.1:")
    assert sut.failures == FailureCounts(connect=2)


@pytest.mark.asyncio
async def test_no_answer_in_time_fails_as_timeout(server: Server) -> None:
    async with sut_for(server.url, Payload(method="GET", path="/hold"), timeout_s=0.2) as sut:
        (sample,) = await answer(sut, [0])
    assert sample.outcome == ("fail", "timeout: no complete response within 0.2 s")
    assert sut.failures.as_dict() == {
        "connect": 0,
        "timeout": 1,
        "http_status": 0,
        "malformed": 0,
        "other": 0,
    }


@pytest.mark.asyncio
async def test_error_status_fails_as_http_status_with_the_body(server: Server) -> None:
    async with sut_for(server.url, Payload(path="/status/500"), Payload(path="/status/404")) as sut:
        (server_error,) = await answer(sut, [0])
        (missing,) = await answer(sut, [1])
        await answer(sut, [0])
        assert sut.connections_opened == 1  # an error response leaves the connection usable
    assert server_error.outcome == ("fail", "http_status: HTTP 500: nope: it failed")
    assert missing.outcome[1].startswith("http_status: HTTP 404")
    assert sut.failures.http_status == 3 and sut.failures.total == 3


@pytest_asyncio.fixture
async def garbage_url() -> AsyncIterator[str]:
    async with replying(b"this is not http\r\n\r\n") as url:
        yield url


@pytest.mark.asyncio
async def test_a_response_that_is_not_http_fails_as_malformed(garbage_url: str) -> None:
    async with sut_for(garbage_url, Payload(method="GET")) as sut:
        (sample,) = await answer(sut, [0])
    assert sample.outcome[0] == "fail"
    assert sample.outcome[1].startswith("malformed: bad status line")


@pytest_asyncio.fixture
async def cut_url() -> AsyncIterator[str]:
    async with replying(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part") as url:
        yield url


@pytest.mark.asyncio
async def test_a_body_cut_short_fails_as_malformed(cut_url: str) -> None:
    async with sut_for(cut_url, Payload(method="GET")) as sut:
        (sample,) = await answer(sut, [0])
    assert sample.outcome == ("fail", "malformed: connection closed mid-body (truncated)")


@pytest_asyncio.fixture
async def close_delimited_url() -> AsyncIterator[str]:
    async with replying(b"HTTP/1.1 200 OK\r\n\r\nto the end") as url:
        yield url


@pytest.mark.asyncio
async def test_a_close_delimited_body_completes_at_close(close_delimited_url: str) -> None:
    async with sut_for(close_delimited_url, Payload(method="GET")) as sut:
        first, second = await answer(sut, [0]), await answer(sut, [0])
    assert first[0].outcome == second[0].outcome == ("complete", (b"to the end", None))


@pytest.mark.asyncio
async def test_closing_the_sut_fails_requests_still_out(server: Server) -> None:
    sut = sut_for(server.url, Payload(method="GET", path="/hold"))
    sample = Sample(0)
    await sut.issue_query([sample])  # type: ignore[list-item]
    await sut.aclose()
    assert sample.outcome == ("fail", "other: the SUT was closed")
    assert sut.failures.other == 1


@pytest.mark.asyncio
async def test_a_payload_that_cannot_be_built_fails_as_other(server: Server) -> None:
    class Broken:
        def payload(self, index: int) -> Payload:
            raise KeyError(index)

    async with HttpSUT(server.url, Broken()) as sut:
        (sample,) = await answer(sut, [7])
    assert sample.outcome == ("fail", "other: cannot build the request: KeyError(7)")


@pytest.mark.asyncio
async def test_make_sut_picks_the_adapter(server: Server) -> None:
    source: PayloadSource = ListSource([])
    assert isinstance(make_sut("http", server.url, source, timeout_s=1), HttpSUT)
    openai = make_sut("openai", server.url, source, model="m", api="chat")
    assert isinstance(openai, OpenAISUT) and openai.name == f"OpenAISUT({server.url}, chat)"
    with pytest.raises(ValueError, match="unknown adapter 'grpc'"):
        make_sut("grpc", server.url, source)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"HttpSUT has no option 'model'; its options: headers, "):
        make_sut("http", server.url, source, model="m")


def test_payload_checks_itself() -> None:
    with pytest.raises(ValueError, match="either json or body"):
        Payload(json={}, body=b"")
    with pytest.raises(ValueError, match="not a valid header"):
        Payload(headers={"X": "a\r\nInjected: 1"})
    with pytest.raises(ValueError, match="line breaks"):
        Payload(path="/a\nb")


def test_bad_options_are_refused() -> None:
    source = ListSource([])
    with pytest.raises(ValueError, match="timeout_s"):
        HttpSUT("http://x", source, timeout_s=0)
    with pytest.raises(ValueError, match="max_connections"):
        HttpSUT("http://x", source, max_connections=-1)
    with pytest.raises(ValueError, match="base URL"):
        HttpSUT("x:80", source)
    with pytest.raises(ValueError, match="max_tokens"):
        OpenAISUT("http://x", source, max_tokens=0)


def _documented_parameters(cls: type) -> list[tuple[str, str, Any]]:
    """(name, kind, default) of each parameter in docs/http.md's ``cls(...)`` signature."""
    docs = (Path(__file__).parents[2] / "docs" / "http.md").read_text()
    match = re.search(rf"^{cls.__name__}\((.*?)\)$", docs, re.MULTILINE | re.DOTALL)
    assert match is not None, f"docs/http.md has no signature for {cls.__name__}"
    (function,) = ast.parse(f"def f({match.group(1)}): pass").body
    assert isinstance(function, ast.FunctionDef)
    args = function.args
    positional = [(a.arg, "POSITIONAL_OR_KEYWORD", inspect.Parameter.empty) for a in args.args]
    keywords = [
        (a.arg, "KEYWORD_ONLY", ast.literal_eval(d) if d is not None else inspect.Parameter.empty)
        for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True)
    ]
    return positional + keywords


@pytest.mark.parametrize("cls", [HttpSUT, OpenAISUT])
def test_constructors_take_the_documented_options(cls: type) -> None:
    actual = [(p.name, p.kind.name, p.default) for p in inspect.signature(cls).parameters.values()]
    assert actual == _documented_parameters(cls)


def test_names_default_to_the_adapter_and_its_url() -> None:
    source = ListSource([])
    assert HttpSUT("http://x:1/p", source).name == "HttpSUT(http://x:1/p)"
    assert OpenAISUT("http://x:1", source).name == "OpenAISUT(http://x:1, completions)"
    assert HttpSUT("http://x:1", source, name="mine").name == "mine"
    assert OpenAISUT("http://x:1", source, name="llm").name == "llm"


def test_each_adapter_keeps_its_own_option_defaults() -> None:
    source = ListSource([])
    http, openai = HttpSUT("http://x", source), OpenAISUT("http://x", source, api_key="k")
    assert (http.timeout_s, openai.timeout_s) == (60.0, 600.0)
    assert http.max_connections == openai.max_connections == default_max_connections()
    assert "Authorization" not in http.default_headers
    assert openai.default_headers["Authorization"] == "Bearer k"
    with pytest.raises(TypeError, match="unexpected keyword argument 'model'"):
        HttpSUT("http://x", source, model="m")  # type: ignore[call-arg]


@pytest.mark.asyncio
@pytest.mark.parametrize("size", [b"0x10", b"1_0", b"+10", b" 10", b"10 "])
async def test_a_chunk_size_must_be_plain_hex_digits(size: bytes) -> None:
    """int(x, 16) takes a 0x prefix, underscores, a sign and spaces; HTTP allows none."""
    body = b"0123456789abcdef"
    reply = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + size + b"\r\n" + body
    async with (
        replying(reply + b"\r\n0\r\n\r\n") as url,
        sut_for(url, Payload(method="GET")) as sut,
    ):
        (sample,) = await answer(sut, [0])
    assert sample.outcome[0] == "fail"
    assert sample.outcome[1].startswith("malformed: bad chunk size line")


@pytest.mark.asyncio
async def test_a_chunk_size_may_carry_extensions() -> None:
    reply = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    reply += b"1A ; name=value\r\n" + b"z" * 26 + b"\r\n0;last\r\n\r\n"
    async with replying(reply) as url, sut_for(url, Payload(method="GET")) as sut:
        (sample,) = await answer(sut, [0])
    assert sample.outcome == ("complete", (b"z" * 26, None))
