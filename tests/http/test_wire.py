"""The HTTP/1.1 response parser and request builder, without a network."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asyncgen.http import Payload
from asyncgen.http._pool import Origin
from asyncgen.http._wire import ParseError, ResponseParser, request_head


class Recorder:
    def __init__(self) -> None:
        self.status = 0
        self.headers: dict[bytes, bytes] = {}
        self.body: list[bytes] = []

    def on_head(self, status: int, headers: dict[bytes, bytes]) -> None:
        self.status, self.headers = status, headers

    def on_body(self, data: bytes) -> None:
        self.body.append(data)


def parse(pieces: list[bytes], *, head_only: bool = False) -> tuple[Recorder, ResponseParser, bool]:
    recorder, parser = Recorder(), ResponseParser()
    parser.start(recorder, head_only=head_only)
    done = False
    for piece in pieces:
        assert not done, "bytes after the end of the response"
        done = parser.feed(piece)
    return recorder, parser, done


CHUNKED = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: yes\r\n\r\n"
)


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(c, len(data)) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points) if b > a]


@given(st.lists(st.integers(min_value=0, max_value=len(CHUNKED)), max_size=12))
def test_chunked_body_arrives_whole_however_it_is_split(cuts: list[int]) -> None:
    recorder, parser, done = parse(split_at(CHUNKED, cuts))
    assert done and parser.keep_alive
    assert recorder.status == 200
    assert recorder.headers[b"content-type"] == b"text/event-stream"
    assert b"".join(recorder.body) == b"hello, world"


def test_content_length_body_and_keep_alive() -> None:
    recorder, parser, done = parse([b"HTTP/1.1 201 Created\r\nContent-Length: 3\r\n\r\nab", b"c"])
    assert done and parser.keep_alive
    assert (recorder.status, b"".join(recorder.body)) == (201, b"abc")


def test_a_chunk_is_handed_over_as_soon_as_it_arrives() -> None:
    recorder, parser = Recorder(), ResponseParser()
    parser.start(recorder)
    parser.feed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n")
    assert recorder.body == [b"abc"]
    assert not parser.feed(b"2\r\nde\r\n")
    assert parser.feed(b"0\r\n\r\n")


@pytest.mark.parametrize(
    ("head", "keep_alive"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", False),
        (b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", False),
        (b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n", True),
        (b"HTTP/1.1 204 No Content\r\n\r\n", True),
    ],
)
def test_keep_alive_follows_version_and_connection_header(head: bytes, keep_alive: bool) -> None:
    _, parser, done = parse([head])
    assert done and parser.keep_alive is keep_alive


def test_body_until_close_ends_at_eof_and_closes() -> None:
    recorder, parser, done = parse([b"HTTP/1.1 200 OK\r\n\r\nsome", b" more"])
    assert not done
    assert parser.feed_eof() and not parser.keep_alive
    assert b"".join(recorder.body) == b"some more"


def test_eof_mid_body_is_not_an_end() -> None:
    _, parser, done = parse([b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc"])
    assert not done and parser.in_body and not parser.feed_eof()


def test_interim_responses_are_skipped() -> None:
    recorder, _, done = parse(
        [b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"]
    )
    assert done and recorder.status == 200 and recorder.body == [b"ok"]


def test_head_response_has_no_body_whatever_its_length_says() -> None:
    _, _, done = parse([b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n"], head_only=True)
    assert done


def test_repeated_headers_are_joined() -> None:
    recorder, _, _ = parse([b"HTTP/1.1 200 OK\r\nX-A: 1\r\nx-a: 2\r\nContent-Length: 0\r\n\r\n"])
    assert recorder.headers[b"x-a"] == b"1, 2"


@pytest.mark.parametrize(
    ("pieces", "message"),
    [
        ([b"SSH-2.0-OpenSSH\r\n\r\n"], "bad status line"),
        ([b"HTTP/1.1 abc OK\r\n\r\n"], "bad status line"),
        ([b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n"], "bad header line"),
        ([b"HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\n"], "conflicting Content-Length"),
        ([b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"], "bad Content-Length"),
        ([b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"], "bad chunk size"),
        ([b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nabc\r\n"], "longer than"),
        ([b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nab"], "more data than the response"),
        ([b"HTTP/1.1 101 Switching Protocols\r\n\r\n"], "switched protocols"),
        ([b"x" * 70_000], "response head longer"),
    ],
)
def test_bad_responses_raise_parse_errors(pieces: list[bytes], message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse(pieces)


def test_data_with_no_request_outstanding_is_an_error() -> None:
    with pytest.raises(ParseError, match="no request outstanding"):
        ResponseParser().feed(b"HTTP/1.1 200 OK\r\n\r\n")


def test_request_head_lists_host_headers_and_length() -> None:
    head = request_head("POST", "/v1/x", "example.com:8080", {"A": "1"}, 12)
    assert head == (
        b"POST /v1/x HTTP/1.1\r\nHost: example.com:8080\r\nA: 1\r\nContent-Length: 12\r\n\r\n"
    )
    assert b"Content-Length" not in request_head("GET", "/", "h", {}, None)


@pytest.mark.parametrize(
    ("url", "host_header", "target"),
    [
        ("http://127.0.0.1:8000", "127.0.0.1:8000", "/v1/completions"),
        ("http://example.com/", "example.com", "/v1/completions"),
        ("https://example.com:443/api/", "example.com", "/api/v1/completions"),
        ("http://[::1]:9000/base", "[::1]:9000", "/base/v1/completions"),
    ],
)
def test_origin_splits_the_base_url(url: str, host_header: str, target: str) -> None:
    origin = Origin.parse(url)
    assert origin.host_header == host_header
    assert origin.target("/v1/completions") == target
    assert origin.target("v1/completions") == target


@pytest.mark.parametrize("url", ["ftp://x", "127.0.0.1:8000", "http://x/#frag", "http:///path"])
def test_origin_rejects_what_it_cannot_serve(url: str) -> None:
    with pytest.raises(ValueError, match="base URL"):
        Origin.parse(url)


@pytest.mark.parametrize("url", ["http://x:99999/p", "http://x:-1/", "http://x:port/"])
def test_a_bad_port_is_refused_naming_the_url(url: str) -> None:
    with pytest.raises(ValueError, match="is not a number from 0 to 65535") as info:
        Origin.parse(url)
    assert repr(url) in str(info.value)


@pytest.mark.parametrize(
    ("url", "path", "target"),
    [
        ("http://x/openai/d?api-version=2024-06-01", "/chat/completions",
         "/openai/d/chat/completions?api-version=2024-06-01"),
        ("http://x/api?key=1", "/run?mode=fast", "/api/run?mode=fast&key=1"),
        ("http://x?v=2", "", "/?v=2"),
        ("http://x/", "/a b/c", "/a%20b/c"),
        ("http://x/", "/ünï/🙂", "/%C3%BCn%C3%AF/%F0%9F%99%82"),
        ("http://x/", "/already%20encoded/:@!$&'()*+,;=", "/already%20encoded/:@!$&'()*+,;="),
        ("http://x/base dir", "/p", "/base%20dir/p"),
    ],
)  # fmt: skip
def test_targets_carry_the_query_and_are_percent_encoded(url: str, path: str, target: str) -> None:
    assert Origin.parse(url).target(path) == target


@pytest.mark.parametrize(
    ("headers", "length", "expected"),
    [
        ({"Host": "virtual.example"}, 2, ["Host: virtual.example", "Content-Length: 2"]),
        ({"content-length": "2"}, 2, ["Host: x", "content-length: 2"]),
        ({"HOST": "v", "Content-Length": "0"}, None, ["HOST: v", "Content-Length: 0"]),
    ],
)
def test_a_host_or_content_length_of_the_user_replaces_the_computed_one(
    headers: dict[str, str], length: int | None, expected: list[str]
) -> None:
    head = request_head("POST", "/", "x", headers, length).decode()
    lines = head.split("\r\n")[1:-2]
    assert sorted(lines) == sorted(expected)


@pytest.mark.parametrize(("value", "length"), [("5", 2), ("2", None), ("two", 2)])
def test_a_content_length_that_is_not_the_bodys_is_refused(value: str, length: int | None) -> None:
    with pytest.raises(ValueError, match="Content-Length header says"):
        request_head("POST", "/", "x", {"Content-Length": value}, length)


@pytest.mark.parametrize(
    "headers",
    [{"X-Name": "日本語"}, {"X-Name": "café"}, {"X-Bell": "\x07"}, {"Bad Name": "v"}, {"X:Y": "v"}],
)
def test_headers_that_http_cannot_carry_are_refused_when_the_payload_is_made(
    headers: dict[str, str],
) -> None:
    with pytest.raises(ValueError, match="Payload header"):
        Payload(headers=headers)
