"""HTTP/1.1 on the wire: request bytes out, an incremental response parser in.

The parser follows RFC 9112's message framing: informational (1xx) responses are skipped; a
response to HEAD, and 204 and 304, have no body; ``Transfer-Encoding: chunked`` (trailers
skipped) wins over ``Content-Length``; with neither, the body runs until the server closes the
connection. It hands the body to its handler in the pieces it arrives in, never buffering more
than a partial chunk-size line, so a stream is seen as soon as each piece lands.
"""

from __future__ import annotations

import re
from typing import Protocol

MAX_HEAD_BYTES = 64 * 1024
MAX_LINE_BYTES = 4 * 1024  # a chunk-size or trailer line
_HEX_DIGITS = re.compile(rb"[0-9A-Fa-f]+")

# parser states
_IDLE, _HEAD, _LENGTH, _CHUNK_SIZE, _CHUNK_DATA, _CHUNK_END, _TRAILERS, _UNTIL_CLOSE = range(8)


class ParseError(Exception):
    """The bytes received are not a valid HTTP/1.1 response."""


class BodyHandler(Protocol):
    """Receives one response: its status line and headers, then its body piece by piece."""

    def on_head(self, status: int, headers: dict[bytes, bytes]) -> None: ...

    def on_body(self, data: bytes) -> None: ...


def request_head(
    method: str, target: str, host: str, headers: dict[str, str], body_length: int | None
) -> bytes:
    """The request line and headers; ``body_length`` None sends no ``Content-Length``.

    A ``Host`` or ``Content-Length`` among ``headers`` replaces the one computed (never a
    second one); a ``Content-Length`` that is not the body's length is refused, since the
    server would read the wrong body.
    """
    given = {name.lower(): value for name, value in headers.items()}
    length = given.get("content-length")
    if length is not None and length.strip() != str(body_length or 0):
        raise ValueError(
            f"the Content-Length header says {length!r}, the body has {body_length or 0} bytes"
        )
    lines = [f"{method} {target} HTTP/1.1"]
    if "host" not in given:
        lines.append(f"Host: {host}")
    lines.extend(f"{name}: {value}" for name, value in headers.items())
    if body_length is not None and length is None:
        lines.append(f"Content-Length: {body_length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class ResponseParser:
    """Parses the responses of one connection, one after the other.

    ``start(handler)`` expects the next response; ``feed(data)`` returns True once that
    response is complete (and ``keep_alive`` says whether the connection may carry another);
    ``feed_eof()`` returns True if the closed connection ended a close-delimited body.
    """

    __slots__ = ("_buf", "_handler", "_head_only", "_remaining", "_state", "keep_alive", "started")

    def __init__(self) -> None:
        self._state = _IDLE
        self._buf = b""
        self._handler: BodyHandler | None = None
        self._head_only = False
        self._remaining = 0
        self.keep_alive = True
        self.started = False  # any byte of the current response arrived

    @property
    def in_body(self) -> bool:
        return self._state not in (_IDLE, _HEAD)

    def start(self, handler: BodyHandler, *, head_only: bool = False) -> None:
        self._state, self._handler, self._head_only = _HEAD, handler, head_only
        self._buf, self.started, self.keep_alive = b"", False, True

    def feed(self, data: bytes) -> bool:
        if self._state == _IDLE:
            raise ParseError("the server sent data with no request outstanding")
        self.started = True
        if self._buf:
            data, self._buf = self._buf + data, b""
        pos, end = 0, len(data)
        while pos < end:
            state = self._state
            if state in (_CHUNK_DATA, _LENGTH):
                take = min(self._remaining, end - pos)
                self._body(data if take == end and pos == 0 else data[pos : pos + take])
                pos += take
                self._remaining -= take
                if self._remaining == 0:
                    if state == _LENGTH:
                        return self._done(data, pos)
                    self._state = _CHUNK_END
            elif state == _UNTIL_CLOSE:
                self._body(data[pos:] if pos else data)
                return False
            elif state == _HEAD:
                head_end = data.find(b"\r\n\r\n", pos)
                if head_end < 0:
                    return self._keep(data, pos, MAX_HEAD_BYTES, "response head")
                self._parse_head(data[pos:head_end])
                pos = head_end + 4
                if self._state == _IDLE:
                    return self._done(data, pos)
            else:
                line_end = data.find(b"\r\n", pos)
                if line_end < 0:
                    return self._keep(data, pos, MAX_LINE_BYTES, "chunk line")
                line, pos = data[pos:line_end], line_end + 2
                if state == _CHUNK_SIZE:
                    self._chunk_size(line)
                elif state == _CHUNK_END:
                    if line:
                        raise ParseError("a chunk is longer than its declared size")
                    self._state = _CHUNK_SIZE
                elif not line:  # the blank line that ends the trailers
                    self._state = _IDLE
                    return self._done(data, pos)
        return False

    def feed_eof(self) -> bool:
        """The server closed the connection: True if that completed the response."""
        if self._state == _UNTIL_CLOSE:
            self._state, self.keep_alive = _IDLE, False
            return True
        return False

    def _body(self, data: bytes) -> None:
        assert self._handler is not None
        self._handler.on_body(data)

    def _done(self, data: bytes, pos: int) -> bool:
        self._state, self._handler = _IDLE, None
        if pos < len(data):
            raise ParseError("the server sent more data than the response")
        return True

    def _keep(self, data: bytes, pos: int, limit: int, what: str) -> bool:
        self._buf = data[pos:]
        if len(self._buf) > limit:
            raise ParseError(f"{what} longer than {limit} bytes")
        return False

    def _chunk_size(self, line: bytes) -> None:
        # hex digits, then optional extensions after ";" (spaces may come before it)
        digits = line.split(b";", 1)[0].rstrip(b" \t") if b";" in line else line
        if not _HEX_DIGITS.fullmatch(digits):  # int(x, 16) would take "0x10", "1_0", "+1"
            raise ParseError(f"bad chunk size line {line[:40]!r}")
        size = int(digits, 16)
        self._remaining = size
        self._state = _CHUNK_DATA if size else _TRAILERS

    def _parse_head(self, head: bytes) -> None:
        lines = head.split(b"\r\n")
        parts = lines[0].split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or len(parts[1]) != 3:
            raise ParseError(f"bad status line {lines[0][:80]!r}")
        try:
            status = int(parts[1])
        except ValueError:
            raise ParseError(f"bad status line {lines[0][:80]!r}") from None
        headers: dict[bytes, bytes] = {}
        for line in lines[1:]:
            name, colon, value = line.partition(b":")
            if not colon or not name or name != name.strip():
                raise ParseError(f"bad header line {line[:80]!r}")
            key = name.lower()
            value = value.strip()
            headers[key] = headers[key] + b", " + value if key in headers else value
        if 100 <= status < 200:
            if status == 101:
                raise ParseError("the server switched protocols")
            return  # an interim response: the real one follows
        self._framing(parts[0], status, headers)
        assert self._handler is not None
        self._handler.on_head(status, headers)

    def _framing(self, version: bytes, status: int, headers: dict[bytes, bytes]) -> None:
        connection = headers.get(b"connection", b"").lower()
        if version == b"HTTP/1.0":
            self.keep_alive = b"keep-alive" in connection
        else:
            self.keep_alive = b"close" not in connection
        encoding = headers.get(b"transfer-encoding")
        length = headers.get(b"content-length")
        if self._head_only or status in (204, 304):
            self._state = _IDLE
        elif encoding is not None:
            if encoding.lower().rsplit(b",", 1)[-1].strip() == b"chunked":
                self._state = _CHUNK_SIZE
            else:
                self._state, self.keep_alive = _UNTIL_CLOSE, False
        elif length is not None:
            self._remaining = _content_length(length)
            self._state = _LENGTH if self._remaining else _IDLE
        else:
            self._state, self.keep_alive = _UNTIL_CLOSE, False


def _content_length(value: bytes) -> int:
    values = {v.strip() for v in value.split(b",")}  # repeated headers were joined with commas
    if len(values) != 1:
        raise ParseError(f"conflicting Content-Length values {value[:80]!r}")
    (text,) = values
    if not text.isdigit():
        raise ParseError(f"bad Content-Length {value[:80]!r}")
    return int(text)
