"""A small, fast OpenAI-style token server for the HTTP adapter benchmark.

Runs in its own process on 127.0.0.1 (``python -m benchmarks._token_server --port 0``; it
prints ``PORT <n>`` once listening). It is a raw asyncio protocol on uvloop rather than a web
framework, so that on a shared 2-core machine it takes as little CPU as possible away from the
client being measured.

Endpoints (HTTP/1.1, keep-alive):

- ``POST /v1/completions`` and ``POST /v1/chat/completions``: ``"stream": true`` answers with
  server-sent events, chunked: the first token after ``--ttft-ms``, then one every
  ``--tpot-ms`` up to ``--tokens``, a usage chunk when ``stream_options.include_usage`` is set,
  then ``data: [DONE]``. Without ``stream`` it answers once, when the last token would be out.
- ``POST /generate``: the generic non-streaming endpoint: a small JSON body after the same
  total time as a whole completion.
- ``GET /fast``: answers at once (client capacity measurements).
- ``GET /stats``: the server's own timings since the last ``POST /reset``: per request, the
  nanoseconds from reading the request to writing its first token and its last byte; and the
  connections it accepted (``connections``) and the most open at once (``peak_open``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import cast

import uvloop

_TEXT_EVENT = (
    b'data: {"id":"cmpl-1","object":"text_completion","model":"bench",'
    b'"choices":[{"index":0,"text":" tok","logprobs":null,"finish_reason":null}]}\n\n'
)
_CHAT_EVENT = (
    b'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","model":"bench",'
    b'"choices":[{"index":0,"delta":{"content":" tok"},"finish_reason":null}]}\n\n'
)
_CHAT_ROLE = (
    b'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","model":"bench",'
    b'"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}\n\n'
)
_DONE = b"data: [DONE]\n\n"
_STREAM_HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
    b"transfer-encoding: chunked\r\n\r\n"
)


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def _response(body: bytes, content_type: bytes = b"application/json") -> bytes:
    return b"HTTP/1.1 200 OK\r\ncontent-type: %s\r\ncontent-length: %d\r\n\r\n%s" % (
        content_type,
        len(body),
        body,
    )


class Timing:
    """Token timing and the record of what the server really did."""

    def __init__(self, ttft_ms: float, tpot_ms: float, tokens: int) -> None:
        self.ttft_s, self.tpot_s, self.tokens = ttft_ms / 1e3, tpot_ms / 1e3, tokens
        self.first_ns: list[int] = []  # request read -> first token written
        self.total_ns: list[int] = []  # request read -> last byte written
        self.usage = json.dumps({"completion_tokens": tokens, "prompt_tokens": 4}).encode()
        self.connections = 0  # accepted since the last reset
        self.open = 0  # open now
        self.peak_open = 0  # the most open at once since the last reset


class TokenServer(asyncio.Protocol):
    def __init__(self, timing: Timing) -> None:
        self.timing = timing
        self.buf = b""
        self.transport: asyncio.Transport | None = None
        self.loop = asyncio.get_running_loop()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        timing = self.timing
        timing.connections += 1
        timing.open += 1
        timing.peak_open = max(timing.peak_open, timing.open)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.timing.open -= 1

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while (end := self.buf.find(b"\r\n\r\n")) >= 0:
            head = self.buf[:end].split(b"\r\n")
            length = 0
            for line in head[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            total = end + 4 + length
            if len(self.buf) < total:
                return
            body, self.buf = self.buf[end + 4 : total], self.buf[total:]
            method, target, _ = head[0].split(b" ", 2)
            self.handle(method, target, body, time.perf_counter_ns())

    def write(self, data: bytes) -> None:
        if self.transport is not None:
            self.transport.write(data)

    def handle(self, method: bytes, target: bytes, body: bytes, t0: int) -> None:
        timing = self.timing
        if target == b"/fast":
            self.write(_response(b'{"ok":true}'))
        elif target == b"/stats":
            stats = {
                "first_ns": timing.first_ns,
                "total_ns": timing.total_ns,
                "connections": timing.connections,
                "peak_open": timing.peak_open,
            }
            self.write(_response(json.dumps(stats).encode()))
        elif target == b"/reset":
            timing.first_ns.clear()
            timing.total_ns.clear()
            timing.connections, timing.peak_open = 0, timing.open
            self.write(_response(b"{}"))
        elif target in (b"/v1/completions", b"/v1/chat/completions", b"/generate"):
            request = json.loads(body) if body else {}
            chat = target == b"/v1/chat/completions"
            if request.get("stream") and target != b"/generate":
                usage = bool((request.get("stream_options") or {}).get("include_usage"))
                self.stream(t0, chat=chat, usage=usage)
            else:
                delay = timing.ttft_s + (timing.tokens - 1) * timing.tpot_s
                self.loop.call_later(delay, self.answer_whole, t0, chat)
        else:
            self.write(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")

    def answer_whole(self, t0: int, chat: bool) -> None:
        timing = self.timing
        text = " tok" * timing.tokens
        choice = (
            {"index": 0, "message": {"role": "assistant", "content": text}}
            if chat
            else {"index": 0, "text": text}
        )
        usage = {"completion_tokens": timing.tokens, "prompt_tokens": 4}
        self.write(_response(json.dumps({"choices": [choice], "usage": usage}).encode()))
        now = time.perf_counter_ns()
        timing.first_ns.append(now - t0)
        timing.total_ns.append(now - t0)

    def stream(self, t0: int, *, chat: bool, usage: bool) -> None:
        self.write(_STREAM_HEAD)
        start = self.loop.time()
        self.loop.call_at(start + self.timing.ttft_s, self.token, t0, 0, start, chat, usage)

    def token(self, t0: int, i: int, start: float, chat: bool, usage: bool) -> None:
        # Each token schedules the next, on the stream's own fixed schedule: timers armed all
        # at once may fire out of order on a loaded loop (uvloop rounds each to the ms from a
        # clock that moves while they are armed), which put a token after the stream's end.
        timing = self.timing
        event = _CHAT_EVENT if chat else _TEXT_EVENT
        if i < timing.tokens - 1:
            due = start + timing.ttft_s + (i + 1) * timing.tpot_s
            self.loop.call_at(due, self.token, t0, i + 1, start, chat, usage)
        if i == 0:
            self.write(_chunk(_CHAT_ROLE + event if chat else event))
            timing.first_ns.append(time.perf_counter_ns() - t0)
            return
        if i < timing.tokens - 1:
            self.write(_chunk(event))
            return
        tail = event
        if usage:
            tail += b'data: {"id":"cmpl-1","choices":[],"usage":' + timing.usage + b"}\n\n"
        self.write(_chunk(tail + _DONE) + b"0\r\n\r\n")
        timing.total_ns.append(time.perf_counter_ns() - t0)


async def serve(port: int, timing: Timing) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: TokenServer(timing), "127.0.0.1", port, backlog=4096, reuse_address=True
    )
    print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
    # Stop when the parent closes our stdin: the benchmark never leaves a server behind.
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    await reader.read()
    server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ttft-ms", type=float, default=20.0)
    parser.add_argument("--tpot-ms", type=float, default=5.0)
    parser.add_argument("--tokens", type=int, default=16)
    args = parser.parse_args()
    uvloop.run(serve(args.port, Timing(args.ttft_ms, args.tpot_ms, args.tokens)))


if __name__ == "__main__":
    main()
