"""Test settings, with the reference LoadGen's names, types and defaults.

Field names are the Python names of ``mlperf_loadgen.TestSettings``, so a LoadGen harness
ports by renaming its import; see :class:`TestSettings`.
"""

from asyncgen._config.enums import LoggingMode, TestMode, TestScenario
from asyncgen._config.settings import LogOutputSettings, LogSettings, TestSettings
from asyncgen._metrics.goodput import ServiceLevelObjectives

__all__ = [
    "LogOutputSettings",
    "LogSettings",
    "LoggingMode",
    "ServiceLevelObjectives",
    "TestMode",
    "TestScenario",
    "TestSettings",
]
