"""The shards' records of one series, scattered back into the global plan's numbering.

Each shard's columns cover exactly its slice (``asyncgen._run.scale_out.split``), so every
column merges with one strided copy per shard; times move to the driver's clock by the offset
the run applied to that shard. Offline's one query was cut across the shards: it counts as
issued when the first shard issued its part.
"""

from __future__ import annotations

import numpy as np

from asyncgen._engine.records import I64, SeriesRecords
from asyncgen._engine.series import UNSET
from asyncgen._plan.queries import QueryPlan
from asyncgen._run.scale_out.split import ShardSlice


def merge_records(
    plan: QueryPlan,
    start_ns: int,
    parts: list[tuple[ShardSlice, SeriesRecords, int]],
    *,
    use_tokens: bool,
) -> SeriesRecords:
    """One series' records from ``(slice, records, applied clock offset)`` of each shard
    that answered; what no shard answered stays ``UNSET``."""
    n_samples = plan.query_count * plan.samples_per_query
    issued = np.full(plan.query_count, UNSET, dtype=np.int64)
    completed = np.full(n_samples, UNSET, dtype=np.int64)
    first_token = np.full(n_samples if use_tokens else 0, UNSET, dtype=np.int64)
    n_tokens = np.zeros(n_samples if use_tokens else 0, dtype=np.int64)
    failures: dict[int, str] = {}
    logged: list[I64] = []
    responses: list[tuple[I64, bytes, I64, bytes]] = []
    for part, records, offset in parts:
        queries, samples = _strided(part.queries), _strided(part.samples)
        if part.queries.step > 1 or len(part.queries) != 1:  # whole queries (Server)
            issued[queries] = _on_driver_clock(records.issued_ns, offset)
        elif records.issued_ns.size and records.issued_ns[0] != UNSET:  # a cut query (Offline)
            mine = int(records.issued_ns[0]) - offset
            q = part.queries.start
            issued[q] = mine if issued[q] == UNSET else min(int(issued[q]), mine)
        completed[samples] = _on_driver_clock(records.completed_ns, offset)
        if use_tokens:
            first_token[samples] = _on_driver_clock(records.first_token_ns, offset)
            n_tokens[samples] = records.n_tokens
        failures.update((part.samples[s], reason) for s, reason in records.failures.items())
        logged.append(part.samples.start + part.samples.step * records.logged)
        responses.append(
            (records.response_ends, records.response_bytes, records.token_ends, records.token_bytes)
        )
    return SeriesRecords(
        start_ns=start_ns,
        issued_ns=issued,
        completed_ns=completed,
        first_token_ns=first_token,
        n_tokens=n_tokens,
        failures=failures,
        logged=np.concatenate([np.zeros(0, dtype=np.int64), *logged]),
        response_ends=_joined_ends([ends for ends, _, _, _ in responses]),
        response_bytes=b"".join(blob for _, blob, _, _ in responses),
        token_ends=_joined_ends([ends for _, _, ends, _ in responses]) if use_tokens else I64_EMPTY,
        token_bytes=b"".join(blob for _, _, _, blob in responses),
    )


I64_EMPTY: I64 = np.zeros(0, dtype=np.int64)


def _strided(r: range) -> slice:
    return slice(r.start, r.stop, r.step)


def _on_driver_clock(column: I64, offset: int) -> I64:
    """A shard's time column on the driver's clock (``UNSET`` stays ``UNSET``)."""
    if offset == 0:
        return column
    shifted: I64 = np.where(column != UNSET, column - offset, UNSET)
    return shifted


def _joined_ends(parts: list[I64]) -> I64:
    """End offsets of concatenated blobs, from each blob's own end offsets."""
    out, base = [], 0
    for ends in parts:
        out.append(ends + base)
        if ends.size:
            base += int(ends[-1])
    return np.concatenate([I64_EMPTY, *out])
