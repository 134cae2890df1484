"""Dealing one plan to shards, exactly: every query (Server) or every sample (Offline) of the
global plan goes to one shard, which issues it at its global scheduled time.

Server queries are dealt round robin (query ``q`` to shard ``q % n``), so each shard offers
``1/n`` of the load spread evenly over the whole run; Offline's one query is cut into ``n``
contiguous blocks of samples. Either way a shard's queries and samples are a ``range`` of the
global numbering, so both the slice and the merge are strided copies, not index arrays.
SingleStream and MultiStream are one closed loop each, and Server queries that wait on
completions (``server_max_concurrency``, ``server_concurrency``, ``server_multi_turn``) depend
on what every shard completes: none of them can be split. Arrival processes, trace replay and
ramp-up only change the plan's offsets, which are dealt like the reference's.
"""

from __future__ import annotations

import attrs
import numpy as np

from asyncgen._config.effective import NS_PER_MS, EffectiveSettings
from asyncgen._config.enums import TestScenario
from asyncgen._config.settings import TestSettings
from asyncgen._errors import SettingsError
from asyncgen._plan.queries import QueryPlan

SPLITTABLE = (TestScenario.Server, TestScenario.Offline)


def check_splittable(settings: TestSettings, workers: int) -> None:
    """Reject what cannot be split exactly: a scenario that one closed loop defines
    (SingleStream, MultiStream), and the Server workload options whose queries wait on
    completions (a concurrency limit, closed-loop users, multi-turn sessions)."""
    scenario = settings.scenario
    if scenario not in SPLITTABLE:
        raise SettingsError(
            f"workers={workers}: the {scenario.name} scenario is one closed loop (each query "
            "waits for the previous one), so it cannot be split across workers; use "
            "workers=1, or the Server or Offline scenario"
        )
    if scenario is not TestScenario.Server:
        return
    dependent = [
        name
        for name, value in (
            ("server_max_concurrency", settings.server_max_concurrency),
            ("server_concurrency", settings.server_concurrency),
            ("server_multi_turn", settings.server_multi_turn),
        )
        if value
    ]
    if dependent:
        raise SettingsError(
            f"workers={workers}: {' and '.join(dependent)} make each query wait on other "
            "queries' completions (one limit, user or conversation over the whole run), which "
            "workers that do not see each other's completions cannot keep exactly; use "
            "workers=1 (arrival processes, trace replay and ramp-up do scale out)"
        )


@attrs.frozen
class ShardSlice:
    """What one shard issues of a series: global query and sample numbers, as ranges."""

    shard: int
    queries: range
    samples: range

    def plan(self, plan: QueryPlan) -> QueryPlan:
        """The shard's own plan: its queries' offsets and samples, and the sampled-response
        mask of its samples; sequence ids stay the global plan's (``seq_ids``)."""
        queries, samples = _as_slice(self.queries), _as_slice(self.samples)
        mask = plan.accuracy_log_mask
        count = len(self.queries)
        return QueryPlan(
            samples_per_query=len(self.samples) // count if count else plan.samples_per_query,
            query_count=count,
            duration_ns=plan.duration_ns,
            scheduled_offsets_ns=np.ascontiguousarray(plan.scheduled_offsets_ns[queries]),
            sample_indices=np.ascontiguousarray(plan.sample_indices[samples]),
            first_query_id=plan.first_query_id,
            first_sample_id=plan.first_sample_id,
            accuracy_log_mask=np.ascontiguousarray(mask[samples]) if mask.size else mask,
        )


def _as_slice(r: range) -> slice:
    return slice(r.start, r.stop, r.step)


def deal(plan: QueryPlan, scenario: TestScenario, shards: int) -> list[ShardSlice]:
    """Split ``plan`` into ``shards`` slices whose union is exactly the plan."""
    if scenario is TestScenario.Server:
        if plan.samples_per_query != 1:  # pragma: no cover - Server queries hold one sample
            raise SettingsError("a Server plan with several samples per query cannot be split")
        count = plan.query_count
        return [
            ShardSlice(k, range(k, count, shards), range(k, count, shards)) for k in range(shards)
        ]
    if plan.query_count != 1:  # pragma: no cover - Offline plans are one query
        raise SettingsError(f"an Offline plan of {plan.query_count} queries cannot be split")
    spq = plan.samples_per_query
    bounds = [spq * k // shards for k in range(shards + 1)]
    return [
        ShardSlice(k, range(int(bounds[k + 1] > bounds[k])), range(bounds[k], bounds[k + 1]))
        for k in range(shards)
    ]


def server_cutoff(eff: EffectiveSettings, plan: QueryPlan, accuracy: bool) -> tuple[int, str]:
    """How many of a Server plan's queries a single process would issue under the
    ``max_query_count`` and ``max_duration_ms`` limits, and the detail-log error it would
    write ("" when no limit cuts the plan). Applied before the plan is dealt, so the shards
    together stop where one process would; never in accuracy mode."""
    count = plan.query_count
    if accuracy or count == 0:
        return count, ""
    if eff.max_query_count and eff.max_query_count < count:
        return eff.max_query_count, (
            "IssueQueryThread 0 Ending early: Max query count reached. "
            f"query_count {eff.max_query_count}"
        )
    if eff.max_duration_ms:
        limit_ns = eff.max_duration_ms * NS_PER_MS
        # one process stops after issuing the first query past the limit
        past = int(np.searchsorted(plan.scheduled_offsets_ns, limit_ns, side="right"))
        if past < count:
            return past + 1, (
                "IssueQueryThread 0 Ending early: Max test duration reached. duration_ns "
                f"{int(plan.scheduled_offsets_ns[past])}"
            )
    return count, ""


def cut(plan: QueryPlan, count: int) -> QueryPlan:
    """The first ``count`` queries of a Server plan."""
    if count >= plan.query_count:
        return plan
    mask = plan.accuracy_log_mask
    return attrs.evolve(
        plan,
        query_count=count,
        scheduled_offsets_ns=plan.scheduled_offsets_ns[:count],
        sample_indices=plan.sample_indices[:count],
        accuracy_log_mask=mask[:count] if mask.size else mask,
    )
