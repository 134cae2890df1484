"""``ConstructSUT`` / ``ConstructQSL`` and friends: callbacks wrapped as engine SUTs and QSLs.

The reference returns opaque integer handles (C++ pointers) and keeps the callbacks alive until
``Destroy*``. Here a handle is the wrapper's ``id()`` and a registry keeps the wrapper alive;
``StartTest`` looks handles up, so a wrong or destroyed handle is a clear error, not a crash.

The callbacks are plain synchronous functions. The engine awaits ``issue_query``, and the
wrapper calls the callback right there, on the event-loop thread: a callback that blocks
delays issuing, as it delays the reference's issuing thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

from asyncgen._compat.fields import uint64
from asyncgen._compat.records import QuerySample
from asyncgen._engine import sample as engine_sut

IssueCallback = Callable[[list[QuerySample]], object]
FastIssueCallback = Callable[[list[int], list[int]], object]
FlushCallback = Callable[[], object]
NameCallback = Callable[[], str]
LoadCallback = Callable[[list[int]], object]
_F = TypeVar("_F", bound=Callable[..., object])


def checked(name: str, fn: _F) -> _F:
    """Refuse a non-callable when the handle is made, as the binding does, not mid-run."""
    if not callable(fn):
        raise TypeError(f"{name} must be callable, got {fn!r}")
    return fn


class SUTWrapper:
    """What the three SUT kinds share: a name and the flush callback."""

    def __init__(self, name: str, flush_cb: FlushCallback) -> None:
        self._name = name
        self._flush_cb = checked("flush_queries_cb", flush_cb)

    @property
    def name(self) -> str:
        return self._name

    async def issue_query(self, samples: Sequence[engine_sut.QuerySample]) -> None:
        raise NotImplementedError

    async def flush_queries(self) -> None:
        self._flush_cb()


class PySUT(SUTWrapper):
    """``ConstructSUT``: hands each query to ``issue_cb`` as a list of ``QuerySample``."""

    def __init__(self, issue_cb: IssueCallback, flush_cb: FlushCallback) -> None:
        super().__init__("PySUT", flush_cb)
        self._issue_cb = checked("issue_cb", issue_cb)

    async def issue_query(self, samples: Sequence[engine_sut.QuerySample]) -> None:
        self._issue_cb([QuerySample(s.id, s.index) for s in samples])


class PyFastSUT(SUTWrapper):
    """``ConstructFastSUT``: hands each query over as two lists, response ids and QSL indices."""

    def __init__(self, fast_issue_cb: FastIssueCallback, flush_cb: FlushCallback) -> None:
        super().__init__("PyFastSUT", flush_cb)
        self._fast_issue_cb = checked("fast_issue_cb", fast_issue_cb)

    async def issue_query(self, samples: Sequence[engine_sut.QuerySample]) -> None:
        self._fast_issue_cb([s.id for s in samples], [s.index for s in samples])


class PyQDL(PySUT):
    """``ConstructQDL``: a SUT whose name comes from ``name_cb`` each time it is asked."""

    def __init__(
        self, issue_cb: IssueCallback, flush_cb: FlushCallback, name_cb: NameCallback
    ) -> None:
        super().__init__(issue_cb, flush_cb)
        self._name_cb = checked("name_cb", name_cb)

    @property
    def name(self) -> str:
        return str(self._name_cb())


class PyQSL:
    """``ConstructQSL``: fixed counts, and load/unload callbacks taking lists of indices."""

    name = "PyQSL"

    def __init__(
        self, total: int, performance: int, load_cb: LoadCallback, unload_cb: LoadCallback
    ) -> None:
        self.total_sample_count = total
        self.performance_sample_count = performance
        self._load_cb = checked("load_samples_to_ram_cb", load_cb)
        self._unload_cb = checked("unload_samples_from_ram_cb", unload_cb)

    async def load_samples(self, indices: Sequence[int]) -> None:
        self._load_cb(list(indices))

    async def unload_samples(self, indices: Sequence[int]) -> None:
        self._unload_cb(list(indices))


# -- handles -------------------------------------------------------------------------------------

_lock = threading.Lock()
_handles: dict[int, SUTWrapper | PyQSL] = {}


def register(obj: SUTWrapper | PyQSL) -> int:
    handle = id(obj)
    with _lock:
        _handles[handle] = obj
    return handle


def lookup_sut(handle: int) -> SUTWrapper:
    obj = _handles.get(handle)
    if not isinstance(obj, SUTWrapper):
        raise ValueError(f"{handle!r} is not a live handle from ConstructSUT/FastSUT/QDL")
    return obj


def lookup_qsl(handle: int) -> PyQSL:
    obj = _handles.get(handle)
    if not isinstance(obj, PyQSL):
        raise ValueError(f"{handle!r} is not a live handle from ConstructQSL")
    return obj


def destroy_sut(handle: int) -> None:
    lookup_sut(handle)
    with _lock:
        del _handles[handle]


def destroy_qsl(handle: int) -> None:
    lookup_qsl(handle)
    with _lock:
        del _handles[handle]


def construct_qsl(
    total_sample_count: int,
    performance_sample_count: int,
    load_cb: LoadCallback,
    unload_cb: LoadCallback,
) -> int:
    total = uint64("ConstructQSL: total_sample_count", total_sample_count)
    performance = uint64("ConstructQSL: performance_sample_count", performance_sample_count)
    return register(PyQSL(total, performance, load_cb, unload_cb))
