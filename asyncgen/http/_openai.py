"""``OpenAISUT``: LLM servers speaking the OpenAI completions or chat completions API."""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from typing import Any

from asyncgen.http._base import PooledSUT, Request, check_count
from asyncgen.http._failures import FailureKind, ResponseError
from asyncgen.http._http_sut import BodyExchange, encode_json, status_detail
from asyncgen.http._openai_wire import (
    Api,
    BodyOptions,
    api_path,
    check_embeddings,
    parse_event,
    parse_whole,
    request_json,
)
from asyncgen.http._payload import Payload, PayloadSource
from asyncgen.http._pool import Exchange
from asyncgen.http._sse import MAX_EVENT_BYTES, SSEDecoder
from asyncgen.http._wire import request_head
from asyncgen.sut import QuerySample

API_KEY_ENV = "OPENAI_API_KEY"


class OpenAISUT(PooledSUT):
    """Sends each sample's prompt to ``/v1/completions``, ``/v1/chat/completions`` or
    ``/v1/embeddings`` (``api="completions"``, ``"chat"`` or ``"embeddings"``).

    Streaming (the default): the first chunk that carries generated text calls
    ``sample.first_token`` with that text, and ``data: [DONE]`` completes the sample with the
    whole answer (UTF-8) and its token count — ``usage.completion_tokens`` when the server
    reports it (asked for with ``stream_options.include_usage`` unless ``include_usage`` is
    False), else the number of chunks that carried text. Run with
    ``TestSettings(use_token_latencies=True)`` for TTFT, TPOT and tokens/s.

    Without streaming, the whole response is both the first token and the completion. The
    body sent is the payload's (see ``request_json``) with ``model``, ``max_tokens`` and
    ``extra_body`` on top, and ``"ignore_eos": true`` with ``ignore_eos``. ``api_key`` goes in
    an ``Authorization: Bearer`` header; without one (``None``) the ``OPENAI_API_KEY``
    environment variable's value does, unless ``headers`` has an ``Authorization`` already
    (``api_key=""`` sends none). The connection options are ``HttpSUT``'s, with a longer
    default ``timeout_s`` for generation. One streamed event may hold at most
    ``max_event_bytes`` (16 MiB); a longer one fails its sample as ``malformed``.

    Embeddings are not streamed: a 2xx response whose ``data`` is a list completes the sample
    with the response body, with no token count (run them without ``use_token_latencies``).
    """

    def __init__(
        self,
        base_url: str,
        source: PayloadSource,
        *,
        model: str | None = None,
        api: Api = "completions",
        stream: bool = True,
        max_tokens: int | None = None,
        api_key: str | None = None,
        timeout_s: float = 600.0,
        max_connections: int | None = None,
        name: str | None = None,
        include_usage: bool = True,
        extra_body: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        ssl_context: ssl.SSLContext | None = None,
        keepalive_s: float = 4.0,
        ignore_eos: bool = False,
        max_event_bytes: int = MAX_EVENT_BYTES,
    ) -> None:
        all_headers = dict(headers or {})
        if api_key is None and not any(k.lower() == "authorization" for k in all_headers):
            api_key = os.environ.get(API_KEY_ENV)
        if api_key:
            all_headers["Authorization"] = f"Bearer {api_key}"
        super().__init__(
            base_url,
            source,
            headers=all_headers,
            timeout_s=timeout_s,
            max_connections=max_connections,
            name=name,
            ssl_context=ssl_context,
            keepalive_s=keepalive_s,
        )
        if max_tokens is not None:
            check_count("max_tokens", max_tokens, low=1)
        check_count("max_event_bytes", max_event_bytes, low=1)
        self.max_event_bytes = max_event_bytes
        self.path = api_path(self.origin.base_path, api)
        self.chat = api == "chat"
        self.options = BodyOptions(
            api=api,
            model=model,
            max_tokens=max_tokens,
            stream=stream and api != "embeddings",
            include_usage=include_usage,
            extra_body=dict(extra_body or {}),
            ignore_eos=ignore_eos,
        )

    def _default_name(self) -> str:
        return f"OpenAISUT({self.base_url}, {self.options.api})"

    def _build_request(self, payload: Payload) -> Request:
        body = encode_json(request_json(payload, self.options))
        headers = {**self.default_headers, **payload.headers, "Content-Type": "application/json"}
        target = self.origin.target(payload.path or self.path)
        head = request_head("POST", target, self.origin.host_header, headers, len(body))
        return head + body, False

    def _exchange(self, sample: QuerySample, request: Request) -> Exchange:
        if self.options.api == "embeddings":
            return _EmbeddingsExchange(self, sample, request)
        return _CompletionExchange(self, sample, request[0])


class _EmbeddingsExchange(BodyExchange):
    """One embeddings request: a 2xx body with embeddings in ``data`` completes the sample."""

    __slots__ = ()

    def on_end(self) -> None:
        body = b"".join(self.parts)
        if not 200 <= self.status < 300:
            raise ResponseError("http_status", status_detail(self.status, body))
        check_embeddings(body)
        self.sample.complete(body)


class _CompletionExchange(Exchange):
    """One completion: a stream of events, or (when the server does not stream) one body."""

    __slots__ = (
        "chat",
        "chunks",
        "completed",
        "finished",
        "parts",
        "raw",
        "sample",
        "sse",
        "status",
        "sut",
        "usage_tokens",
    )

    def __init__(self, sut: OpenAISUT, sample: QuerySample, request: bytes) -> None:
        super().__init__(request)
        self.sut = sut
        self.sample = sample
        self.chat = sut.chat
        self.status = 0
        self.sse: SSEDecoder | None = None
        self.raw: list[bytes] = []  # the body, when it is not a stream
        self.parts: list[str] = []  # the answer so far
        self.chunks = 0  # events that carried text
        self.usage_tokens: int | None = None
        self.finished = False  # a finish_reason was seen
        self.completed = False

    def on_head(self, status: int, headers: dict[bytes, bytes]) -> None:
        self.status = status
        content_type = headers.get(b"content-type", b"").lower()
        if 200 <= status < 300 and content_type.startswith(b"text/event-stream"):
            self.sse = SSEDecoder(self.sut.max_event_bytes)

    def on_body(self, data: bytes) -> None:
        if self.sse is None:
            self.raw.append(data)
            return
        for event in self.sse.feed(data):
            if self.completed:
                continue  # anything after [DONE] is ignored
            if event == b"[DONE]":
                self._complete()
            else:
                self._event(event)

    def _event(self, data: bytes) -> None:
        chunk = parse_event(data, chat=self.chat)
        if chunk.usage_tokens is not None:
            self.usage_tokens = chunk.usage_tokens
        if chunk.finished:
            self.finished = True
        if chunk.token:
            if self.chunks == 0:
                self.sample.first_token(chunk.content.encode())
            self.chunks += 1
            if chunk.content:
                self.parts.append(chunk.content)

    def _complete(self) -> None:
        if self.chunks == 0:
            raise ResponseError("malformed", "the stream ended without any generated text")
        self.completed = True
        n_tokens = self.usage_tokens if self.usage_tokens is not None else self.chunks
        self.sample.complete("".join(self.parts).encode(), n_tokens)

    def on_end(self) -> None:
        if not 200 <= self.status < 300:
            raise ResponseError("http_status", status_detail(self.status, b"".join(self.raw)))
        if self.sse is None:
            text, n_tokens = parse_whole(b"".join(self.raw), chat=self.chat)
            data = text.encode()
            self.sample.first_token(data)
            self.sample.complete(data, n_tokens)
        elif not self.completed:
            if not self.finished:
                raise ResponseError("malformed", "the stream ended before data: [DONE]")
            self._complete()

    def on_error(self, kind: FailureKind, detail: str) -> None:
        if not self.completed:
            self.sut.fail_sample(self.sample, kind, detail)
