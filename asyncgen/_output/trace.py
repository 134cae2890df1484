"""Chrome-trace events of a series' completed samples, formatted after the series has ended.

Every event is one line of JSON followed by a comma; ``ts`` is in microseconds with three
decimals, so it carries the exact nanosecond, as the reference writes it. A sample is an
async pair: a begin (``"ph":"b"``) at its scheduled time whose args are its sequence ids,
QSL index, issue lag and latency, and an end (``"ph":"e"``) at its completion::

    {"name":"Sample","cat":"default","ph":"b","pid":1,"id":7,"ts":12.345,"args":{"sample_seq":7,
     "query_seq":7,"sample_idx":3,"issue_start_ns":40,"complete_ns":91000}},
    {"name":"Sample","cat":"default","ph":"e","pid":1,"id":7,"ts":103.345},

(the begin is a single line in the file). With first tokens a second pair, ``Token``, ends at
the first token. Server adds the reference's counter events (``"ph":"C"``) at the scheduled
time instead: ``Latency`` for the completion and ``Token_Latency`` in place of the Token
pair, with the issue lag and the time from issue to done as args. asyncgen adds two Sample
args of its own: ``n_tokens`` with tokens and ``"failed":true`` for a failed sample.

While a series runs its samples exist only as the series' flat timestamp columns: completing
one must not allocate, log or format. The writer therefore asks for trace text only once the
series has ended, slice by slice of its completion order, and each slice is built column-wise:
numpy gathers and subtracts whole columns and turns them into Python lists at once, leaving one
``%`` format per event. Nothing here runs per sample while queries are being paced.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from asyncgen._engine.series import UNSET, Series

_ASYNC_PAIR = (
    '{"name":"%s","cat":"default","ph":"b","pid":%d,"id":%d,"ts":%.3f,"args":'
    '{"sample_seq":%d,"query_seq":%d,"sample_idx":%d,"issue_start_ns":%d,"complete_ns":%d%s}},\n'
    '{"name":"%s","cat":"default","ph":"e","pid":%d,"id":%d,"ts":%.3f},\n'
)
_COUNTER = (
    '{"name":"%s","ph":"C","pid":%d,"ts":%.3f,"args":{"issue_delay":%d,"issue_to_done":%d}},\n'
)


class _Rows(NamedTuple):
    """Per-sample columns of a slice of completions: sample, query, scheduled, issued."""

    order: npt.NDArray[np.int64]
    query: npt.NDArray[np.int64]
    scheduled: npt.NDArray[np.int64]
    issued: npt.NDArray[np.int64]

    def where(self, mask: npt.NDArray[np.bool_]) -> _Rows:
        return _Rows(self.order[mask], self.query[mask], self.scheduled[mask], self.issued[mask])


def trace_text(series: Series, start: int, end: int, origin_ns: int, pid: int) -> str:
    """Trace events of the ``start:end`` slice of ``series.completion_order``, one line each."""
    completed = series.completion_order
    order = np.frombuffer(completed, dtype=completed.typecode)[start:end].astype(np.int64)
    if order.size == 0:
        return ""
    q = order // series.spq
    rows = _Rows(order=order, query=q, scheduled=series.scheduled(q), issued=series.issued(q))
    done = np.frombuffer(series.completed_ns, dtype=np.int64)[order]
    text = _async_pairs(series, "Sample", rows, done, origin_ns=origin_ns, pid=pid)
    if series.server:
        text += _counters("Latency", rows, done, origin_ns, pid)
    if series.use_tokens and series.needs_first_token:
        first = np.frombuffer(series.first_token_ns, dtype=np.int64)[order]
        has = first != UNSET
        if series.server:
            text += _counters("Token_Latency", rows.where(has), first[has], origin_ns, pid)
        else:
            text += _async_pairs(
                series, "Token", rows.where(has), first[has], origin_ns=origin_ns, pid=pid
            )
    return text


def _async_pairs(
    series: Series, name: str, rows: _Rows, end: npt.NDArray[np.int64], *, origin_ns: int, pid: int
) -> str:
    """Begin/end pairs, gathered column-wise with numpy and formatted with one ``%`` each."""
    plan = series.plan
    columns = zip(
        (rows.order + plan.first_sample_id).tolist(),
        ((rows.scheduled - origin_ns) / 1000).tolist(),
        (rows.query + plan.first_query_id).tolist(),
        plan.sample_indices[rows.order].tolist(),
        (rows.issued - rows.scheduled).tolist(),
        (end - rows.scheduled).tolist(),
        ((end - origin_ns) / 1000).tolist(),
        _extra_args(series, name, rows.order),
        strict=True,
    )
    pair = _ASYNC_PAIR
    return "".join(
        [
            pair % (name, pid, sid, b_ts, sid, qs, idx, lag, lat, extra, name, pid, sid, e_ts)
            for sid, b_ts, qs, idx, lag, lat, e_ts, extra in columns
        ]
    )


def _extra_args(series: Series, name: str, order: npt.NDArray[np.int64]) -> list[str]:
    """asyncgen's additions to a Sample's args: its token count and whether it failed."""
    extras = [""] * order.size
    if name != "Sample":
        return extras
    if series.use_tokens:
        tokens = np.frombuffer(series.n_tokens, dtype=np.int64)[order].tolist()
        extras = [f',"n_tokens":{n}' for n in tokens]
    if series.failures:
        for i, s in enumerate(order.tolist()):
            if s in series.failures:
                extras[i] += ',"failed":true'
    return extras


def _counters(name: str, rows: _Rows, end: npt.NDArray[np.int64], origin_ns: int, pid: int) -> str:
    """Counter events at each scheduled time: issue lag and the time from issue to ``end``."""
    columns = zip(
        ((rows.scheduled - origin_ns) / 1000).tolist(),
        (rows.issued - rows.scheduled).tolist(),
        (end - rows.issued).tolist(),
        strict=True,
    )
    return "".join([_COUNTER % (name, pid, ts, lag, to_done) for ts, lag, to_done in columns])
