"""A simulated async inference server: the SUT ``make demo`` drives and tests can use.

Each sample's service time is drawn from a configurable distribution; ``concurrency`` workers
serve samples in arrival order (a queue forms when they are all busy). Completions are loop
timers, not tasks, so the simulation itself costs almost nothing per sample.
"""

from __future__ import annotations

import asyncio
import heapq
import math
import random
import struct
import time
from collections.abc import Sequence
from typing import Literal

import attrs

from asyncgen._engine.sample import QuerySample

Distribution = Literal["constant", "exponential", "lognormal", "uniform"]


@attrs.frozen(kw_only=True)
class ServiceTime:
    """A service-time distribution in milliseconds.

    ``lognormal`` takes ``mean_ms`` as its mean and ``sigma`` as the log-space spread;
    ``uniform`` spans ``mean_ms ± spread_ms``.
    """

    distribution: Distribution = "lognormal"
    mean_ms: float = attrs.field(default=2.0, validator=attrs.validators.gt(0))
    sigma: float = attrs.field(default=0.5, validator=attrs.validators.ge(0))
    spread_ms: float = attrs.field(default=0.0, validator=attrs.validators.ge(0))

    def sample_s(self, rng: random.Random) -> float:
        """One service time in seconds, drawn with ``rng``."""
        mean = self.mean_ms / 1000
        match self.distribution:
            case "constant":
                return mean
            case "exponential":
                return rng.expovariate(1 / mean)
            case "lognormal":
                mu = math.log(mean) - self.sigma**2 / 2
                return rng.lognormvariate(mu, self.sigma)
            case "uniform":
                spread = self.spread_ms / 1000
                return max(0.0, rng.uniform(mean - spread, mean + spread))
        raise ValueError(f"unknown distribution {self.distribution!r}")


class SimulatedSUT:
    """Answers each sample with its QSL index as 8 little-endian bytes after a service time."""

    def __init__(
        self,
        service_time: ServiceTime | None = None,
        *,
        concurrency: int | None = None,
        seed: int = 0,
        name: str = "SimulatedSUT",
    ) -> None:
        if concurrency is not None and concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.service_time = service_time or ServiceTime()
        self._rng = random.Random(seed)
        self._name = name
        self._concurrency = concurrency
        self._free_at: list[float] = []  # monotonic times at which busy workers become free

    @property
    def name(self) -> str:
        """The name given to the constructor."""
        return self._name

    async def issue_query(self, samples: Sequence[QuerySample]) -> None:
        """Schedule each sample's completion after its service time (and its wait for a
        worker, with ``concurrency``), then return at once."""
        now = time.monotonic()
        for sample in samples:
            start = self._start_time(now)
            done = start + self.service_time.sample_s(self._rng)
            if self._concurrency is not None:
                heapq.heappush(self._free_at, done)
            _complete_at(sample, done)

    async def flush_queries(self) -> None:
        """Nothing to flush: every sample is already scheduled."""

    def _start_time(self, now: float) -> float:
        """When a worker can start a sample arriving at ``now`` (FIFO over the workers)."""
        if self._concurrency is None:
            return now
        while self._free_at and self._free_at[0] <= now:
            heapq.heappop(self._free_at)
        if len(self._free_at) < self._concurrency:
            return now
        return heapq.heappop(self._free_at)


def _complete_at(sample: QuerySample, due: float) -> None:
    """Complete ``sample`` once ``time.monotonic()`` reaches ``due``.

    Loop timers fire on millisecond boundaries, sometimes early; re-arming until the real due
    time keeps simulated service times honest below a millisecond.
    """
    remaining = due - time.monotonic()
    if remaining > 0:
        asyncio.get_running_loop().call_later(remaining, _complete_at, sample, due)
    else:
        sample.complete(struct.pack("<q", sample.index))


@attrs.define(kw_only=True)
class SimulatedQSL:
    """A sample library with nothing to load: indices are the data."""

    name: str = "SimulatedQSL"
    total_sample_count: int = 1024
    performance_sample_count: int = 256

    async def load_samples(self, indices: Sequence[int]) -> None:
        """Nothing to load."""

    async def unload_samples(self, indices: Sequence[int]) -> None:
        """Nothing to unload."""
