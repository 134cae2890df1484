"""A series' records as compact numpy columns: what a scale-out shard sends back, and how the
driver turns the shards' columns into one series again.

A shard runs its slice of the plan as an ordinary series on its own event loop; at the end
``export_records`` packs what that series recorded into a few numpy columns and two byte
blobs (the responses kept for the accuracy log), with no Python object per sample, so Ray
ships them through its object store without copying. The driver scatters every shard's
columns into one ``SeriesRecords`` of the global plan and ``restore_records`` loads it into
the driver's own series: from there on, the statistics, the summary, the detail, accuracy and
trace files come from the same code as a single-process run.
"""

from __future__ import annotations

import attrs
import numpy as np
import numpy.typing as npt

from asyncgen._engine.series import UNSET, Schedule, Series
from asyncgen._engine.tally import RunTally

I64 = npt.NDArray[np.int64]


def _empty() -> I64:
    return np.zeros(0, dtype=np.int64)


@attrs.define(kw_only=True)
class SeriesRecords:
    """What one series recorded, in its own numbering: one row per query of its plan
    (``issued_ns``) and per sample (the rest); ``UNSET`` where nothing was recorded."""

    start_ns: int
    issued_ns: I64  # absolute issue time per query
    completed_ns: I64  # absolute completion time per sample (failures too)
    first_token_ns: I64 = attrs.field(factory=_empty)  # per sample, token mode only
    n_tokens: I64 = attrs.field(factory=_empty)
    failures: dict[int, str] = attrs.field(factory=dict)  # sample -> reason
    logged: I64 = attrs.field(factory=_empty)  # samples whose responses were kept
    response_ends: I64 = attrs.field(factory=_empty)  # end offset of each in response_bytes
    response_bytes: bytes = b""
    token_ends: I64 = attrs.field(factory=_empty)
    token_bytes: bytes = b""

    def response(self, i: int) -> tuple[bytes, bytes]:
        """The response and first-token bytes of the ``i``-th logged sample."""
        lo = int(self.response_ends[i - 1]) if i else 0
        data = self.response_bytes[lo : int(self.response_ends[i])]
        if not self.token_ends.size:
            return data, b""
        lo = int(self.token_ends[i - 1]) if i else 0
        return data, self.token_bytes[lo : int(self.token_ends[i])]


def export_records(series: Series) -> SeriesRecords:
    """Pack a finished series' records (it hands over its kept responses)."""
    issued = np.full(series.plan.query_count, UNSET, dtype=np.int64)
    count = series.queries_issued
    issued[:count] = series.issued(np.arange(count, dtype=np.int64))
    logged = np.asarray(series.logged, dtype=np.int64)
    kept = [series.take_logged_response(int(s)) or (b"", b"") for s in logged]
    return SeriesRecords(
        start_ns=series.start_ns,
        issued_ns=issued,
        completed_ns=np.array(series.completed_ns, dtype=np.int64),
        first_token_ns=np.array(series.first_token_ns, dtype=np.int64),
        n_tokens=np.array(series.n_tokens, dtype=np.int64),
        failures=dict(series.failures),
        logged=logged,
        response_ends=_ends([data for data, _ in kept]),
        response_bytes=b"".join(data for data, _ in kept),
        token_ends=_ends([token for _, token in kept]) if series.use_tokens else _empty(),
        token_bytes=b"".join(token for _, token in kept),
    )


def _ends(parts: list[bytes]) -> I64:
    return np.cumsum(np.fromiter(map(len, parts), dtype=np.int64, count=len(parts)))


def restore_records(series: Series, records: SeriesRecords, tally: RunTally) -> None:
    """Load ``records`` (in ``series``' numbering) into a fresh, unissued ``series`` and close
    it, as if the series had issued and completed them itself. Queries with no issue record
    inside the issued range are ``series.unrecorded``: neither issued nor missing. The
    records' issue column is used up (turned into lags in place: no copy at 10M queries)."""
    issued_mask = records.issued_ns != UNSET
    issued_queries = np.flatnonzero(issued_mask)
    count = int(issued_queries[-1]) + 1 if issued_queries.size else 0
    spq = series.spq
    series.start_ns = records.start_ns
    series.queries_issued, series.samples_issued = count, count * spq
    series.set_issue_lags(_issue_lags(series, records.issued_ns[:count], issued_mask[:count]))
    completed = np.frombuffer(series.completed_ns, dtype=np.int64)
    completed[:] = records.completed_ns
    if not issued_mask[:count].all():
        series.unrecorded = np.repeat(~issued_mask[:count], spq)
    if records.first_token_ns.size:
        np.frombuffer(series.first_token_ns, dtype=np.int64)[:] = records.first_token_ns
        np.frombuffer(series.n_tokens, dtype=np.int64)[:] = records.n_tokens
    done = completed != UNSET
    series.samples_completed = int(done.sum())
    if spq > 1:
        per_query = done[: count * spq].reshape(count, spq).all(axis=1)
        last = completed[: count * spq].reshape(count, spq).max(axis=1)
        np.frombuffer(series.done_ns, dtype=np.int64)[:count] = np.where(per_query, last, UNSET)
        series.queries_completed = int(per_query.sum())
    else:
        series.queries_completed = series.samples_completed
    series.failures.update(records.failures)
    for reason in records.failures.values():
        tally.count_failure(reason)
    if series.keeps_completion_order:
        finished = np.flatnonzero(done)
        order = finished[np.argsort(completed[finished], kind="stable")]
        series.completion_order.frombytes(order.astype(series.completion_order.typecode).tobytes())
    by_time = np.argsort(completed[records.logged], kind="stable") if records.logged.size else ()
    for i in by_time:  # the accuracy log in completion order, as one process writes it
        data, token = records.response(int(i))
        series.keep_response(int(records.logged[i]), data, token)
    series.closed = True


def _issue_lags(series: Series, issued: I64, mask: npt.NDArray[np.bool_]) -> I64:
    """Issued minus scheduled per query (0 where no record says when it was issued),
    computed in place in ``issued``."""
    if series.schedule is Schedule.PLAN:
        issued -= series.plan.scheduled_offsets_ns[: issued.size]
    issued -= series.start_ns
    issued[~mask] = 0
    return issued
