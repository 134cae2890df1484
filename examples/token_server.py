"""A stand-in LLM server speaking the OpenAI completions API, streamed, on 127.0.0.1.

``POST /v1/completions`` (``prompt``) and ``POST /v1/chat/completions`` (``messages``) answer
with ``--tokens`` tokens: the first after ``--ttft-ms``, then one every ``--tpot-ms``. With
``"stream": true`` they are server-sent events ending in ``data: [DONE]`` (plus a usage chunk
when ``stream_options.include_usage`` is set); without, one JSON answer at the end.

With ``--slots N`` it generates at most N answers at a time, like a server with N batch slots:
further requests wait in line (first come, first served) for a free slot, so latency rises
with load and the capacity is known, ``N / (ttft + (tokens - 1) * tpot)`` requests per
second — what ``asyncgen sweep`` should find (docs/sweeps.md). Point
``asyncgen run --adapter openai`` at it to see TTFT, TPOT and tokens/s:

    python -m examples.token_server --port 8001 &
    asyncgen run -s Server --qps 20 --duration-ms 5000 --sut http://127.0.0.1:8001 \\
        --adapter openai -O model=stand-in --dataset prompts.jsonl
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import time
from collections.abc import Sequence
from typing import Any

import attrs
from aiohttp import web

TIMING_KEY = web.AppKey("timing", "Timing")
SLOTS_KEY = web.AppKey("slots", "asyncio.Semaphore | None")


@attrs.frozen
class Timing:
    ttft_s: float = 0.020
    tpot_s: float = 0.005
    tokens: int = 16
    slots: int = 0  # answers generated at once; 0: no limit

    @property
    def capacity_rps(self) -> float | None:
        """Requests per second the slots can serve (None without a slot limit)."""
        if not self.slots:
            return None
        return self.slots / (self.ttft_s + (self.tokens - 1) * self.tpot_s)


def _chunk(chat: bool, text: str | None, finish: str | None) -> dict[str, Any]:
    choice: dict[str, Any] = {"index": 0, "finish_reason": finish}
    if chat:
        choice["delta"] = {} if text is None else {"content": text}
    else:
        choice["text"] = text or ""
    kind = "chat.completion.chunk" if chat else "text_completion"
    return {"id": "cmpl-0", "object": kind, "model": "stand-in", "choices": [choice]}


def _usage(tokens: int) -> dict[str, int]:
    return {"prompt_tokens": 1, "completion_tokens": tokens, "total_tokens": tokens + 1}


async def _tokens(timing: Timing) -> Any:
    """Yield the token texts on the server's schedule (deadlines, so delays do not add up)."""
    start = time.monotonic()
    for i in range(timing.tokens):
        due = start + timing.ttft_s + i * timing.tpot_s
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        yield f" t{i}"


async def complete(request: web.Request) -> web.StreamResponse:
    slots = request.app[SLOTS_KEY]
    if slots is None:
        return await _generate(request)
    async with slots:  # the line for a generation slot
        return await _generate(request)


async def _generate(request: web.Request) -> web.StreamResponse:
    body = await request.json()
    chat = request.path.endswith("/chat/completions")
    timing = request.app[TIMING_KEY]
    if not body.get("stream"):
        text = "".join([token async for token in _tokens(timing)])
        choice = {"index": 0, "finish_reason": "length"}
        choice.update(
            {"message": {"role": "assistant", "content": text}} if chat else {"text": text}
        )
        return web.json_response(
            {
                "id": "cmpl-0",
                "model": "stand-in",
                "choices": [choice],
                "usage": _usage(timing.tokens),
            }
        )
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)

    async def event(data: object) -> None:
        await response.write(b"data: " + json.dumps(data).encode() + b"\n\n")

    async for token in _tokens(timing):
        await event(_chunk(chat, token, None))
    await event(_chunk(chat, None, "length"))
    if (body.get("stream_options") or {}).get("include_usage"):
        await event({"id": "cmpl-0", "choices": [], "usage": _usage(timing.tokens)})
    await response.write(b"data: [DONE]\n\n")
    await response.write_eof()
    return response


def make_app(timing: Timing) -> web.Application:
    app = web.Application()
    app[TIMING_KEY] = timing
    app[SLOTS_KEY] = asyncio.Semaphore(timing.slots) if timing.slots else None
    app.router.add_post("/v1/completions", complete)
    app.router.add_post("/v1/chat/completions", complete)
    return app


async def start(
    timing: Timing, host: str = "127.0.0.1", port: int = 0
) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(make_app(timing), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    bound_host, bound_port = runner.addresses[0][:2]
    return runner, f"http://{bound_host}:{bound_port}"


async def serve(timing: Timing, host: str, port: int) -> None:
    runner, url = await start(timing, host, port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    capacity = timing.capacity_rps
    limit = "" if capacity is None else f" ({timing.slots} slots, capacity {capacity:g} requests/s)"
    print(f"token server{limit} listening on {url}", flush=True)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001, help="0: any free port")
    parser.add_argument("--ttft-ms", type=float, default=20.0, help="time to first token")
    parser.add_argument("--tpot-ms", type=float, default=5.0, help="time per further token")
    parser.add_argument("--tokens", type=int, default=16, help="tokens per answer")
    parser.add_argument(
        "--slots", type=int, default=0, help="answers generated at once (default 0: no limit)"
    )
    args = parser.parse_args(argv)
    timing = Timing(
        ttft_s=args.ttft_ms / 1000,
        tpot_s=args.tpot_ms / 1000,
        tokens=args.tokens,
        slots=args.slots,
    )
    asyncio.run(serve(timing, args.host, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
