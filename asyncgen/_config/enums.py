"""The scenario, test-mode and logging-mode enums, with the reference's names and values."""

from __future__ import annotations

import enum


class TestScenario(enum.IntEnum):
    """The four MLPerf scenarios; values match the reference enum."""

    __test__ = False  # not a pytest test class

    SingleStream = 0
    MultiStream = 1
    Server = 2
    Offline = 3

    def __str__(self) -> str:
        return self.name


class TestMode(enum.IntEnum):
    """The four test modes; values are the config file's ``mode`` numbers."""

    __test__ = False

    SubmissionRun = 0
    AccuracyOnly = 1
    PerformanceOnly = 2
    FindPeakPerformance = 3

    def __str__(self) -> str:
        return self.name


class LoggingMode(enum.IntEnum):
    """Kept for API parity; like the reference, only AsyncPoll is implemented."""

    AsyncPoll = 0
    EndOfTestOnly = 1
    Synchronous = 2
