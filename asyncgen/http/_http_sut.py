"""``HttpSUT``: any HTTP endpoint; each sample is one request, its response body the answer."""

from __future__ import annotations

import json
from typing import Any

from asyncgen.http._base import PooledSUT, Request
from asyncgen.http._failures import FailureKind, ResponseError
from asyncgen.http._payload import Payload
from asyncgen.http._pool import Exchange
from asyncgen.http._wire import request_head
from asyncgen.sut import QuerySample

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class HttpSUT(PooledSUT):
    """A generic HTTP SUT: sample ``i`` sends ``source.payload(i)`` to ``base_url`` + its path.

    A 2xx response completes the sample with the response body; anything else fails it with a
    reason ``"<kind>: <detail>"`` (kinds in ``FailureCounts``), counted in ``failures``. The
    constructor takes the connection options described at ``__init__``, shared with
    ``OpenAISUT``.
    """

    def _default_name(self) -> str:
        return f"HttpSUT({self.base_url})"

    def _build_request(self, payload: Payload) -> Request:
        return build_request(self, payload), payload.method.upper() == "HEAD"

    def _exchange(self, sample: QuerySample, request: Request) -> Exchange:
        return BodyExchange(self, sample, request)


def build_request(sut: PooledSUT, payload: Payload) -> bytes:
    """The bytes of ``payload`` as a request to ``sut``'s origin, with its default headers."""
    headers = dict(sut.default_headers)
    headers.update(payload.headers)
    body = payload.body
    if payload.json is not None:
        body = encode_json(payload.json)
        if not any(name.lower() == "content-type" for name in headers):
            headers["Content-Type"] = "application/json"
    method = payload.method.upper()
    length = len(body) if body is not None else (0 if method in _BODY_METHODS else None)
    head = request_head(
        method, sut.origin.target(payload.path), sut.origin.host_header, headers, length
    )
    return head + body if body else head


def encode_json(value: Any) -> bytes:
    """Compact JSON; NaN and infinities raise ``ValueError`` (they are no JSON: the sample
    fails as ``other`` rather than a server reading something else)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def status_detail(status: int, body: bytes) -> str:
    """``"HTTP 503: <start of the body>"``, on one line."""
    text = " ".join(body[:300].decode("utf-8", "replace").split())
    return f"HTTP {status}: {text}" if text else f"HTTP {status}"


class BodyExchange(Exchange):
    """One request whose whole response body completes its sample (2xx) or fails it."""

    __slots__ = ("parts", "sample", "status", "sut")

    def __init__(self, sut: PooledSUT, sample: QuerySample, request: Request) -> None:
        super().__init__(request[0], head_only=request[1])
        self.sut = sut
        self.sample = sample
        self.status = 0
        self.parts: list[bytes] = []

    def on_head(self, status: int, headers: dict[bytes, bytes]) -> None:
        self.status = status

    def on_body(self, data: bytes) -> None:
        self.parts.append(data)

    def on_end(self) -> None:
        body = b"".join(self.parts)
        if not 200 <= self.status < 300:
            raise ResponseError("http_status", status_detail(self.status, body))
        self.sample.complete(body)

    def on_error(self, kind: FailureKind, detail: str) -> None:
        self.sut.fail_sample(self.sample, kind, detail)
