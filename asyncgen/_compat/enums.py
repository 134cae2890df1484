"""Enums that behave like the reference's pybind11 enums.

A pybind11 enum member prints as ``TestScenario.Server``, has ``.name`` and ``.value``, converts
with ``int()``, compares equal only to itself (``TestScenario.Server == 2`` is False) and is
built back from its value with ``TestScenario(2)``. A plain :class:`enum.Enum` with ``__int__``
and ``__index__`` does all of that; the engine's ``IntEnum`` s (which equal their ints) are
converted at the boundary.
"""

from __future__ import annotations

import enum

from asyncgen._config import enums as engine


class _BindingEnum(enum.Enum):
    """Shared behaviour: integer conversion and a value-based hash, as pybind11 gives them."""

    def __int__(self) -> int:
        return int(self.value)

    def __index__(self) -> int:
        return int(self.value)

    def __hash__(self) -> int:
        return hash(self.value)


class TestScenario(_BindingEnum):
    """The four MLPerf scenarios (``mlperf_loadgen.TestScenario``)."""

    __test__ = False  # not a pytest test class

    SingleStream = 0
    MultiStream = 1
    Server = 2
    Offline = 3


class TestMode(_BindingEnum):
    """The four test modes (``mlperf_loadgen.TestMode``)."""

    __test__ = False

    SubmissionRun = 0
    AccuracyOnly = 1
    PerformanceOnly = 2
    FindPeakPerformance = 3


class LoggingMode(_BindingEnum):
    """Logging modes (``mlperf_loadgen.LoggingMode``); like the reference, only AsyncPoll acts."""

    AsyncPoll = 0
    EndOfTestOnly = 1
    Synchronous = 2


ENGINE_ENUMS: dict[type[_BindingEnum], type[enum.IntEnum]] = {
    TestScenario: engine.TestScenario,
    TestMode: engine.TestMode,
    LoggingMode: engine.LoggingMode,
}
