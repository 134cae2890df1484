"""asyncgen: an asyncio-native load generator with MLPerf LoadGen semantics."""

from asyncgen._engine.clock import MonotonicClock
from asyncgen._engine.progress import Progress
from asyncgen._engine.watchdog import LoopStalls
from asyncgen._errors import AsyncgenError, ConfigError, OutputError, RunError, SettingsError
from asyncgen._metrics.health import RunHealth
from asyncgen._run.runner import run, run_test
from asyncgen._version import __version__
from asyncgen.function_sut import FunctionSUT
from asyncgen.result import IssueLag, TestResult
from asyncgen.settings import (
    LoggingMode,
    LogOutputSettings,
    LogSettings,
    TestMode,
    TestScenario,
    TestSettings,
)
from asyncgen.simulated import ServiceTime, SimulatedQSL, SimulatedSUT
from asyncgen.sut import (
    QuerySample,
    QuerySampleLibrary,
    QuerySampleResponse,
    SystemUnderTest,
    first_token_complete,
    query_samples_complete,
)

__all__ = [
    "AsyncgenError",
    "ConfigError",
    "FunctionSUT",
    "IssueLag",
    "LogOutputSettings",
    "LogSettings",
    "LoggingMode",
    "LoopStalls",
    "MonotonicClock",
    "OutputError",
    "Progress",
    "QuerySample",
    "QuerySampleLibrary",
    "QuerySampleResponse",
    "RunError",
    "RunHealth",
    "ServiceTime",
    "SettingsError",
    "SimulatedQSL",
    "SimulatedSUT",
    "SystemUnderTest",
    "TestMode",
    "TestResult",
    "TestScenario",
    "TestSettings",
    "__version__",
    "first_token_complete",
    "query_samples_complete",
    "run",
    "run_test",
]
