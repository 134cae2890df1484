"""Per-worker figures of a scaled-out run: what each shard issued, how late, on which clock,
and whether it finished.

The run's own ``RunHealth`` judges the merged schedule; a shard that fell behind can hide in
it (its lateness diluted by the others'), so each shard's health is judged on its own too and
a shard that fell behind flags the run (``flag_shards``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from asyncgen._metrics.health import RunHealth
from asyncgen._metrics.issue_lag import IssueLag


@attrs.frozen(kw_only=True)
class WorkerHealth:
    """One worker (shard) of a scaled-out run."""

    shard: int
    host: str
    pid: int
    node: str  # the Ray node id ("" outside Ray)
    queries_planned: int  # dealt to it, over every series of the run
    queries_issued: int
    queries_lost: int  # dealt to it but with no record at the driver: the shard was lost
    issue_lag: IssueLag  # over every series it ran
    health: RunHealth | None  # its schedule in the last series it ran (None: not judged)
    clock_offset_ns: int  # its clock minus the driver's, as measured
    clock_uncertainty_ns: int  # half the best round trip
    clock_offset_applied_ns: int  # 0 on the driver's own clock (same host and boot)
    start_slack_ns: int  # how long before the common start it was ready (negative: late)
    errors: int  # error entries it logged
    error: str | None  # why it was lost or stopped; None: it finished every series
    cpu_s: float = 0.0  # CPU time of its process while it ran its series

    @property
    def ok(self) -> bool:
        """Whether the worker finished its share with nothing lost."""
        return self.error is None and self.queries_lost == 0

    @property
    def fell_behind(self) -> bool:
        """Whether its own issuing fell behind its schedule (a late start shows there too:
        its first queries went out late)."""
        return self.health is not None and self.health.fell_behind

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view (``results.json``'s ``workers`` entries)."""
        health = self.health
        return {
            "shard": self.shard,
            "host": self.host,
            "pid": self.pid,
            "node": self.node,
            "queries_planned": self.queries_planned,
            "queries_issued": self.queries_issued,
            "queries_lost": self.queries_lost,
            "issue_lag": self.issue_lag.to_dict(),
            "scheduled_qps": None if health is None else health.scheduled_qps,
            "achieved_qps": None if health is None else health.achieved_qps,
            "fell_behind": self.fell_behind,
            "clock_offset_ns": self.clock_offset_ns,
            "clock_uncertainty_ns": self.clock_uncertainty_ns,
            "clock_offset_applied_ns": self.clock_offset_applied_ns,
            "start_slack_ns": self.start_slack_ns,
            "errors": self.errors,
            "error": self.error,
            "cpu_s": self.cpu_s,
        }

    def detail_entry(self) -> dict[str, Any]:
        """The detail log's ``asyncgen_worker`` value: the figures, flat."""
        entry = self.to_dict()
        lag = entry.pop("issue_lag")
        entry["issue_lag_count"] = lag["count"]
        entry.update({f"issue_lag_p{p}_ns": v for p, v in lag["percentiles_ns"].items()})
        entry["issue_lag_max_ns"] = lag["max_ns"]
        return entry


def flag_shards(
    health: RunHealth | None, shards: Sequence[tuple[int, RunHealth | None]]
) -> RunHealth | None:
    """The run's health, flagged when a shard fell behind on its own: its warnings join
    the run's, naming the shard."""
    behind = [(k, h) for k, h in shards if h is not None and h.fell_behind]
    if health is None or not behind:
        return health
    warnings = [f"shard {k}: {warning}" for k, h in behind for warning in h.warnings]
    return attrs.evolve(health, fell_behind=True, warnings=(*health.warnings, *warnings))
