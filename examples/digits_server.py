"""A real async inference server: the digits classifier behind aiohttp on 127.0.0.1.

``POST /predict`` with ``{"pixels": [64 numbers from 0 to 16]}`` answers ``{"label": digit}``;
``GET /health`` answers ``ok``. Requests that arrive together are predicted in one model call
on a worker thread (dynamic batching: no waiting, the batch is whatever queued up while the
previous call ran), so the event loop keeps accepting connections while the model works.

    python -m examples.digits_server --port 8000     # --port 0 picks a free port

It prints ``listening on http://HOST:PORT`` once it accepts connections, and stops cleanly on
Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import AsyncIterator, Sequence
from typing import Any

import numpy as np
from aiohttp import web

from examples.digits_model import load_split, train

PIXELS = 64
MAX_PIXEL = 16

BATCHER_KEY = web.AppKey("batcher", "Batcher")


class Batcher:
    """Runs the model on every request queued since its last call, off the event loop."""

    def __init__(self, model: Any, max_batch: int = 64) -> None:
        self._model = model
        self._max_batch = max_batch
        self._queue: asyncio.Queue[tuple[list[float], asyncio.Future[int]]] = asyncio.Queue()
        self.batches = 0

    async def predict(self, pixels: list[float]) -> int:
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((pixels, future))
        return await future

    async def run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            inputs = np.asarray([pixels for pixels, _ in batch], dtype=np.float64)
            try:
                labels = await asyncio.to_thread(self._model.predict, inputs)
            except Exception as exc:  # a model error fails this batch's requests, not the server
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            self.batches += 1
            for (_, future), label in zip(batch, labels, strict=True):
                if not future.done():  # the client may have gone away
                    future.set_result(int(label))


def parse_pixels(body: Any) -> list[float]:
    """The 64 pixel values of a request body; ``ValueError`` says what is wrong."""
    pixels = body.get("pixels") if isinstance(body, dict) else None
    if not isinstance(pixels, list) or len(pixels) != PIXELS:
        raise ValueError(f'expected {{"pixels": [{PIXELS} numbers]}}')
    if not all(isinstance(v, int | float) and 0 <= v <= MAX_PIXEL for v in pixels):
        raise ValueError(f"pixel values must be numbers from 0 to {MAX_PIXEL}")
    return [float(v) for v in pixels]


async def predict(request: web.Request) -> web.Response:
    try:
        pixels = parse_pixels(await request.json())
    except ValueError as exc:  # also malformed JSON
        return web.json_response({"error": str(exc)}, status=400)
    label = await request.app[BATCHER_KEY].predict(pixels)
    return web.json_response({"label": label})


async def health(_: web.Request) -> web.Response:
    return web.Response(text="ok")


def make_app(model: Any) -> web.Application:
    app = web.Application()
    batcher = Batcher(model)
    app[BATCHER_KEY] = batcher

    async def batching(_: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(batcher.run())
        yield
        task.cancel()

    app.cleanup_ctx.append(batching)
    app.router.add_post("/predict", predict)
    app.router.add_get("/health", health)
    return app


async def start(model: Any, host: str = "127.0.0.1", port: int = 0) -> tuple[web.AppRunner, str]:
    """Serve ``model``; returns the runner (``await runner.cleanup()`` stops it) and the URL."""
    runner = web.AppRunner(make_app(model), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    bound_host, bound_port = runner.addresses[0][:2]
    return runner, f"http://{bound_host}:{bound_port}"


async def serve(host: str, port: int) -> None:
    split = load_split()
    model = train(split)
    accuracy = float((model.predict(split.test_x) == split.test_y).mean())
    runner, url = await start(model, host, port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    print(
        f"digits model (SVC, {len(split.train_y)} training images, test top-1 {accuracy:.2%}) "
        f"listening on {url}",
        flush=True,
    )
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000; 0: any free)")
    args = parser.parse_args(argv)
    asyncio.run(serve(args.host, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
