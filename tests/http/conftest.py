"""Real servers on 127.0.0.1 for the HTTP adapter tests, and a sample that records its answers.

``server`` is an aiohttp web app on a free port:

- ``/echo``: the request body back, with its content type; ``/inspect``: the request as JSON;
  ``/peer``: the client's port (one per connection, so keep-alive shows as one port);
  ``/status/{code}``: that status; ``/hold``: no answer until the test ends; ``/empty``: 204.
- ``/v1/completions`` and ``/v1/chat/completions``: an OpenAI-style token server. The request's
  own fields steer it: ``tokens``, ``ttft_ms``, ``tpot_ms``, ``usage_tokens`` (what usage
  reports), and ``mode`` — ``"malformed"`` (an event that is not JSON), ``"truncate"`` (the
  connection drops mid-stream), ``"no_done"`` (the stream just stops), ``"finish_no_done"``
  (a finish_reason but no ``[DONE]``), ``"error_event"``, ``"error_status"`` (HTTP 400),
  ``"hold"`` (no answer until the test ends), ``"echo"`` (the first token is ``re: `` and the
  last user message or the prompt). It counts the completions requests in flight
  (``ServerState.peak_in_flight``, ``mean_in_flight``) and stamps each one's arrival and end.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import attrs
import pytest
import pytest_asyncio
from aiohttp import web


@attrs.define
class ServerState:
    requests: list[dict[str, Any]] = attrs.field(factory=list)
    peers: list[int] = attrs.field(factory=list)
    release: asyncio.Event = attrs.field(factory=asyncio.Event)
    in_flight: int = 0  # completions requests being answered now
    peak_in_flight: int = 0
    changes: list[tuple[int, int]] = attrs.field(factory=list)  # (perf_counter_ns, in flight)

    def enter(self) -> None:
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        self.changes.append((time.perf_counter_ns(), self.in_flight))

    def leave(self) -> None:
        self.in_flight -= 1
        self.changes.append((time.perf_counter_ns(), self.in_flight))

    def mean_in_flight(self) -> float:
        """Time-weighted requests in flight, from the first request to the last answer."""
        steps = zip(self.changes, self.changes[1:], strict=False)
        busy = sum(n * (t2 - t1) for (t1, n), (t2, _) in steps)
        span = self.changes[-1][0] - self.changes[0][0]
        return busy / span if span else 0.0


STATE = web.AppKey("state", ServerState)


@attrs.frozen
class Server:
    url: str
    state: ServerState


async def _echo(request: web.Request) -> web.Response:
    body = await request.read()
    return web.Response(body=body, content_type=request.content_type)


async def _inspect(request: web.Request) -> web.Response:
    body = await request.read()
    seen = {
        "method": request.method,
        "path": request.path_qs,
        "headers": dict(request.headers),
        "body": body.decode("utf-8", "replace"),
    }
    request.app[STATE].requests.append(seen)
    return web.json_response(seen)


async def _peer(request: web.Request) -> web.Response:
    assert request.transport is not None
    port = request.transport.get_extra_info("peername")[1]
    request.app[STATE].peers.append(port)
    return web.Response(text=str(port))


async def _status(request: web.Request) -> web.Response:
    return web.Response(status=int(request.match_info["code"]), text="nope: it failed")


async def _hold(request: web.Request) -> web.Response:
    await request.app[STATE].release.wait()
    return web.Response(text="late")


async def _empty(request: web.Request) -> web.Response:
    return web.Response(status=204)


def _event(obj: object) -> bytes:
    return b"data: " + json.dumps(obj).encode() + b"\n\n"


def _choice(chat: bool, text: str, finish: str | None = None) -> dict[str, Any]:
    if chat:
        return {"index": 0, "delta": {"content": text}, "finish_reason": finish}
    return {"index": 0, "text": text, "finish_reason": finish}


async def _completions(request: web.Request) -> web.StreamResponse:
    """Counts the requests in flight and stamps each one's arrival and end (``t_ns``,
    ``end_ns``, perf_counter) around ``_answer``."""
    state = request.app[STATE]
    body = await request.json()
    seen = {"path": request.path, "json": body, "t_ns": time.perf_counter_ns(), **request.headers}
    state.requests.append(seen)
    state.enter()
    try:
        return await _answer(request, body)
    finally:
        state.leave()
        seen["end_ns"] = time.perf_counter_ns()


def _texts(body: dict[str, Any], chat: bool, tokens: int) -> list[str]:
    """The tokens' texts: `` t0``, `` t1``, ...; in mode ``echo`` the first is ``re: `` and the
    last user message (chat) or the prompt."""
    texts = [f" t{i}" for i in range(tokens)]
    if body.get("mode") == "echo":
        last = body["messages"][-1]["content"] if chat else body["prompt"]
        texts[0] = f"re: {last}"
    return texts


async def _answer(request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
    chat = request.path.endswith("/chat/completions")
    tokens, mode = int(body.get("tokens", 4)), body.get("mode", "")
    usage = {"completion_tokens": int(body.get("usage_tokens", tokens)), "prompt_tokens": 3}
    ttft_s, tpot_s = body.get("ttft_ms", 0) / 1000, body.get("tpot_ms", 0) / 1000
    if mode == "error_status":
        return web.json_response({"error": {"message": "bad model"}}, status=400)
    if mode == "hold":
        await request.app[STATE].release.wait()
    texts = _texts(body, chat, tokens)
    if not body.get("stream"):
        await asyncio.sleep(ttft_s + (tokens - 1) * tpot_s)
        text = "".join(texts)
        choice = (
            {"index": 0, "message": {"role": "assistant", "content": text}}
            if chat
            else {"index": 0, "text": text}
        )
        return web.json_response({"choices": [choice], "usage": usage})
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    if chat:  # like vLLM: a role chunk with empty content before any token
        await response.write(_event({"choices": [{"index": 0, "delta": {"role": "assistant"}}]}))
    await asyncio.sleep(ttft_s)
    for i in range(tokens):
        if i:
            await asyncio.sleep(tpot_s)
        last = i == tokens - 1
        finish = "length" if last and mode != "no_done" else None
        await response.write(_event({"choices": [_choice(chat, texts[i], finish)]}))
        if mode == "malformed" and i == 1:
            await response.write(b"data: {not json\n\n")
        if mode == "truncate" and i == 1:
            assert request.transport is not None
            request.transport.abort()
            return response
        if mode == "error_event" and i == 1:
            await response.write(_event({"error": {"message": "out of memory", "code": 500}}))
    if (body.get("stream_options") or {}).get("include_usage"):
        await response.write(_event({"choices": [], "usage": usage}))
    if mode not in ("no_done", "finish_no_done"):
        await response.write(b"data: [DONE]\n\n")
    await response.write_eof()
    return response


def make_app(state: ServerState) -> web.Application:
    app = web.Application()
    app[STATE] = state
    app.router.add_route("*", "/echo", _echo)
    app.router.add_route("*", "/inspect", _inspect)
    app.router.add_route("*", "/api/inspect", _inspect)
    app.router.add_route("*", "/a dir/ünï", _inspect)  # a path that must be percent-encoded
    app.router.add_get("/peer", _peer)
    app.router.add_route("*", "/status/{code}", _status)
    app.router.add_get("/hold", _hold)
    app.router.add_post("/hold", _hold)
    app.router.add_get("/empty", _empty)
    for prefix in ("/v1", "/api/v1"):
        app.router.add_post(f"{prefix}/completions", _completions)
        app.router.add_post(f"{prefix}/chat/completions", _completions)
    return app


@pytest_asyncio.fixture
async def server() -> AsyncIterator[Server]:
    state = ServerState()
    runner = web.AppRunner(make_app(state), handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield Server(url=f"http://127.0.0.1:{port}", state=state)
    state.release.set()
    await runner.cleanup()


@pytest.fixture
def refused_url() -> str:
    """A URL on a port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
