"""Response ids: how a LoadGen-style ``QuerySampleResponse(id, ...)`` finds its sample.

Each issue series gets a token; a sample's response id is ``token << 40 | (seq + 1)``, so ids
are never 0 (as in the reference) and unique across concurrent runs in one process. The map
holds series weakly: a series lives as long as the run or any sample the SUT still holds.
"""

from __future__ import annotations

import itertools
import threading
import weakref

from asyncgen._engine.sink import CompletionSink
from asyncgen._log import get_logger

_SEQ_BITS = 40
_SEQ_MASK = (1 << _SEQ_BITS) - 1

_log = get_logger("asyncgen")
_lock = threading.Lock()
_tokens = itertools.count(1)
_series: weakref.WeakValueDictionary[int, CompletionSink] = weakref.WeakValueDictionary()


def register(series: CompletionSink) -> int:
    """Give ``series`` a token; returns the id of its sample 0 (add ``seq`` for the others)."""
    with _lock:
        token = next(_tokens)
        _series[token] = series
    return (token << _SEQ_BITS) + 1


def resolve_id(response_id: int) -> tuple[CompletionSink, int] | None:
    """The series and local sample number an id belongs to; None (and a log event) if none."""
    token, seq = response_id >> _SEQ_BITS, (response_id & _SEQ_MASK) - 1
    series = _series.get(token)
    if series is None:
        _report_unknown(response_id)
        return None
    return series, seq


def _report_unknown(response_id: int) -> None:
    """An id no series owns goes to the detail log of the newest series still running (the
    run the SUT most likely answers), else to the framework log: reported, never dropped."""
    with _lock:
        live = [series for series in _series.values() if not series.closed]
    if live:
        live[-1].events.error(
            "error_runtime", f"Completion for an unknown response id: {response_id}"
        )
    else:
        _log.error("completion for an unknown response id", response_id=response_id)
