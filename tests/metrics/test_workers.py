"""A scaled-out run's per-worker figures, and how a worker that fell behind flags the run."""

from __future__ import annotations

import attrs
import numpy as np

from asyncgen._metrics.health import assess
from asyncgen._metrics.issue_lag import IssueLag
from asyncgen._metrics.workers import WorkerHealth, flag_shards

GAP_NS = 1_000_000  # 1000 QPS


def _health(final_lag_ns: int) -> object:
    lags = np.zeros(2000, dtype=np.int64)
    lags[-1] = final_lag_ns
    return assess(
        lags,
        last_scheduled_ns=1999 * GAP_NS,
        last_issued_ns=1999 * GAP_NS + final_lag_ns,
        start_ns=0,
    )


def test_a_worker_that_fell_behind_flags_the_run() -> None:
    on_time, behind = _health(0), _health(500 * GAP_NS)
    assert on_time is not None and behind is not None
    assert not on_time.fell_behind and behind.fell_behind  # type: ignore[attr-defined]
    run = _health(0)
    flagged = flag_shards(run, [(0, on_time), (1, behind)])  # type: ignore[arg-type]
    assert flagged is not None and flagged.fell_behind
    assert any(w.startswith("shard 1: asyncgen fell behind") for w in flagged.warnings)
    assert flag_shards(run, [(0, on_time), (1, None)]) is run  # type: ignore[arg-type]


def test_worker_figures_are_json_ready() -> None:
    worker = WorkerHealth(
        shard=1, host="h", pid=7, node="n", queries_planned=10, queries_issued=10,
        queries_lost=0, issue_lag=IssueLag.from_lags(np.arange(10, dtype=np.int64)),
        health=None, clock_offset_ns=40_000, clock_uncertainty_ns=300_000,
        clock_offset_applied_ns=0, start_slack_ns=199_000_000, errors=0, error=None,
    )  # fmt: skip
    assert worker.ok and not worker.fell_behind
    entry = worker.detail_entry()
    assert entry["issue_lag_p99_ns"] == 9 and entry["clock_offset_applied_ns"] == 0
    assert worker.to_dict()["issue_lag"]["count"] == 10
    lost = attrs.evolve(worker, queries_lost=4, error="ActorDiedError: gone")
    assert not lost.ok
