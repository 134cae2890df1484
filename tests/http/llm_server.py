"""An OpenAI-style server on 127.0.0.1 that honours ``max_tokens`` and ``ignore_eos``, and
serves ``/v1/embeddings``; it records every request (path, headers, JSON body).

A streamed answer is ``max_tokens`` tokens with ``"ignore_eos": true``, else it stops at an
"end of sequence" after at most ``EOS_AFTER`` tokens, like a model that finishes early. An
embeddings request whose ``input`` is ``"fail"`` gets HTTP 400, ``"empty"`` no ``data``.
``serve(app)`` runs it on the test's loop; ``serve_in_thread`` on a loop of its own, for
code that runs its own loop (the CLI's ``main``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import attrs
from aiohttp import web

EOS_AFTER = 3
REQUESTS = web.AppKey("requests", list)


@attrs.frozen
class Seen:
    path: str
    headers: dict[str, str]
    json: dict[str, Any]


def _event(obj: object) -> bytes:
    return b"data: " + json.dumps(obj).encode() + b"\n\n"


async def _generate(request: web.Request) -> web.StreamResponse:
    body = await request.json()
    request.app[REQUESTS].append(Seen(request.path, dict(request.headers), body))
    chat = request.path.endswith("/chat/completions")
    asked = int(body.get("max_tokens") or 16)
    tokens = asked if body.get("ignore_eos") else min(asked, EOS_AFTER)
    prompt_tokens = len(str(body.get("prompt", body.get("messages", ""))).split())
    usage = {"prompt_tokens": prompt_tokens, "completion_tokens": tokens}
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    for i in range(tokens):
        finish = ("length" if body.get("ignore_eos") else "stop") if i == tokens - 1 else None
        part = {"delta": {"content": f" w{i}"}} if chat else {"text": f" w{i}"}
        await response.write(_event({"choices": [{"index": 0, **part, "finish_reason": finish}]}))
    if (body.get("stream_options") or {}).get("include_usage"):
        await response.write(_event({"choices": [], "usage": usage}))
    await response.write(b"data: [DONE]\n\n")
    await response.write_eof()
    return response


async def _embeddings(request: web.Request) -> web.Response:
    body = await request.json()
    request.app[REQUESTS].append(Seen(request.path, dict(request.headers), body))
    if body.get("input") == "fail":
        return web.json_response({"error": {"message": "bad input"}}, status=400)
    data = [] if body.get("input") == "empty" else [{"index": 0, "embedding": [0.25, -0.5]}]
    return web.json_response(
        {"object": "list", "data": data, "usage": {"prompt_tokens": 2, "total_tokens": 2}}
    )


def make_app() -> web.Application:
    app = web.Application()
    app[REQUESTS] = []
    app.router.add_post("/v1/completions", _generate)
    app.router.add_post("/v1/chat/completions", _generate)
    app.router.add_post("/v1/embeddings", _embeddings)
    return app


async def _start(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


@contextlib.asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[str]:
    """Serve ``app`` on the running loop; yields its base URL."""
    runner, url = await _start(app)
    try:
        yield url
    finally:
        await runner.cleanup()


@contextlib.contextmanager
def serve_in_thread(app: web.Application) -> Iterator[str]:
    """Serve ``app`` from a thread with its own loop; yields its base URL."""
    loop = asyncio.new_event_loop()
    runner, url = loop.run_until_complete(_start(app))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield url
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
