"""Cheaper garbage collection while queries are in flight.

CPython's cyclic collector runs after every few hundred container allocations, and each run
of the oldest generation walks every tracked object in the process — tens of thousands after
importing numpy and friends. A run at 100k queries per second allocates a task, a coroutine
and a few small objects per query, so collections (and the occasional full one, milliseconds
long) come often enough to cost a quarter of the loop's time and to show up as issue lag.

``quiet_gc()`` freezes everything that exists when the hot window starts (``gc.freeze``: those
objects are skipped by collections until ``gc.unfreeze``) and raises the first-generation
threshold, then restores both. Nothing is leaked: garbage made during the window is still
collected, and what existed before is collected again after it. It does nothing when the
collector is disabled or when something else has frozen objects already (a pre-fork server,
or another run in the same process), so it never undoes someone else's freeze.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

HOT_THRESHOLD0 = 20_000  # allocations between young collections while queries are in flight


@contextmanager
def quiet_gc() -> Iterator[None]:
    """Freeze existing objects and collect the young generation less often, for a while."""
    if not gc.isenabled() or gc.get_freeze_count():
        yield
        return
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(max(thresholds[0], HOT_THRESHOLD0), *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()
