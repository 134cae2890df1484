"""Statistics of the Server workload options: time spent waiting for a concurrency slot, and
latency and time to first token by turn number in multi-turn runs. Pure functions of a finished
``SessionSeries``; latencies count from each query's scheduled time, as everywhere.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from asyncgen._engine.series import UNSET
from asyncgen._engine.sessions import SessionSeries

PERCENTILES = (0.50, 0.90, 0.99)


def _percentiles(ordered: npt.NDArray[np.int64]) -> dict[float, int]:
    n = int(ordered.size)
    return {p: int(ordered[min(n - 1, int(n * p))]) if n else 0 for p in PERCENTILES}


def _by_percent(values: dict[float, int]) -> dict[str, int]:
    return {f"{p * 100:g}": v for p, v in values.items()}


@attrs.frozen(kw_only=True)
class QueueWait:
    """How long queries waited for a slot under ``server_max_concurrency`` (ns): from when
    each was scheduled to the completion that freed its slot. Part of their latencies, not of
    the issue lag."""

    count: int  # queries issued
    waited: int  # of which found the limit reached
    mean_ns: float
    max_ns: int
    percentiles_ns: dict[float, int]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view, percentiles keyed by their percent (``"99"``)."""
        return {
            "count": self.count,
            "waited": self.waited,
            "mean_ns": self.mean_ns,
            "max_ns": self.max_ns,
            "percentiles_ns": _by_percent(self.percentiles_ns),
        }


@attrs.frozen(kw_only=True)
class TurnStats:
    """One turn number of a multi-turn run: its queries, latencies and times to first token
    (ns, percentiles over the turns that completed without failing)."""

    turn: int  # 0: the first user turn of each conversation
    count: int  # completed
    latency_ns: dict[float, int]
    first_token_ns: dict[float, int] | None  # token-latency mode only

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view, percentiles keyed by their percent (``"99"``)."""
        ttft = self.first_token_ns
        return {
            "turn": self.turn,
            "count": self.count,
            "latency_ns": _by_percent(self.latency_ns),
            "first_token_ns": None if ttft is None else _by_percent(ttft),
        }


def queue_wait(series: SessionSeries) -> QueueWait | None:
    """The slot waits of a series with a concurrency limit (None without one)."""
    if series.queue_wait_ns is None:
        return None
    waits = series.queue_waits()
    waits.sort()
    return QueueWait(
        count=int(waits.size),
        waited=int(np.count_nonzero(waits)),
        mean_ns=float(waits.mean()) if waits.size else 0.0,
        max_ns=int(waits[-1]) if waits.size else 0,
        percentiles_ns=_percentiles(waits),
    )


def turn_stats(series: SessionSeries) -> tuple[TurnStats, ...]:
    """Latency and time to first token by turn number (empty unless multi-turn)."""
    turns = series.turns()
    if not turns.size:
        return ()
    n = series.queries_issued
    scheduled = series.scheduled(np.arange(n, dtype=np.int64))
    completed = np.frombuffer(series.completed_ns, dtype=np.int64)[:n]
    ok = completed != UNSET
    if series.failures:
        ok[list(series.failures)] = False
    first = None
    if series.use_tokens:
        first = np.frombuffer(series.first_token_ns, dtype=np.int64)[:n] - scheduled
    stats = []
    for turn in range(int(turns.max()) + 1):
        mine = ok & (turns == turn)
        latency = np.sort(completed[mine] - scheduled[mine])
        ttft = None if first is None else _percentiles(np.sort(first[mine]))
        stats.append(
            TurnStats(
                turn=turn,
                count=int(latency.size),
                latency_ns=_percentiles(latency),
                first_token_ns=ttft,
            )
        )
    return tuple(stats)
