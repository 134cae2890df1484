"""Ray shards that remember what each shard was dealt and answered, and can strike a shard
(kill or freeze its worker, remove its node) a while after its series starts: a real fault,
not a mock."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable
from typing import Any

from asyncgen._run.scale_out.cluster import RayShards
from asyncgen._run.scale_out.shard import ShardOutcome, ShardWork


class Recorder:
    """Pass ``recorder.start`` as ``run_test(_start_shards=...)``."""

    def __init__(
        self, *, strike: tuple[int, float, Callable[[dict[str, Any]], None]] | None = None
    ) -> None:
        self.strike = strike  # (shard, seconds after its run starts, what to do to it)
        self.infos: list[dict[str, Any]] = []
        self.works: dict[int, ShardWork] = {}
        self.outcomes: dict[int, ShardOutcome] = {}
        self.closed = False

    async def start(self, **kwargs: Any) -> tuple[_Recording, list[dict[str, Any]]]:
        shards, infos = await RayShards.start(**kwargs)
        self.infos = infos
        return _Recording(shards, self), infos


class _Recording:
    def __init__(self, inner: RayShards, recorder: Recorder) -> None:
        self.count = inner.count
        self._inner, self._recorder = inner, recorder
        self._struck = False

    async def ask(self, shard: int, method: str, *args: Any, timeout_s: float | None) -> Any:
        recorder = self._recorder
        if method == "prepare":
            recorder.works[shard] = args[0]
        if method == "run" and recorder.strike and recorder.strike[0] == shard and not self._struck:
            self._struck = True
            _, after_s, action = recorder.strike
            asyncio.get_running_loop().call_later(after_s, action, recorder.infos[shard])
        answer = await self._inner.ask(shard, method, *args, timeout_s=timeout_s)
        if method == "run":
            recorder.outcomes[shard] = answer
        return answer

    def tell(self, shard: int, method: str, *args: Any) -> None:
        self._inner.tell(shard, method, *args)

    def kill(self, shard: int) -> None:
        self._inner.kill(shard)

    async def close(self) -> None:
        self._recorder.closed = True
        await self._inner.close()


def signal_worker(signum: signal.Signals) -> Callable[[dict[str, Any]], None]:
    """A strike that sends ``signum`` to the shard's worker process."""
    return lambda info: os.kill(info["pid"], signum)
