"""asyncgen: an asyncio-native load generator with MLPerf LoadGen semantics."""

from asyncgen._config.effective import EffectiveSettings
from asyncgen._engine.clock import Clock, MonotonicClock, PacingMode
from asyncgen._engine.progress import Progress, ProgressCallback, WorkerProgress
from asyncgen._errors import (
    AsyncgenError,
    ConfigError,
    DatasetError,
    OutputError,
    ProtocolError,
    RunError,
    SettingsError,
    WorkerError,
)
from asyncgen._metrics.measurements import PerformanceResult
from asyncgen._run.runner import run, run_test
from asyncgen._version import __version__
from asyncgen.function_sut import FunctionSUT
from asyncgen.result import (
    ArrivalFidelity,
    Goodput,
    IssueLag,
    LatencyStats,
    LoopStalls,
    PerformanceSummary,
    QueueWait,
    Rates,
    RunHealth,
    SloOutcome,
    TestResult,
    TokenCounts,
    TokenDistribution,
    TurnStats,
    WorkerHealth,
)
from asyncgen.settings import (
    LoggingMode,
    LogOutputSettings,
    LogSettings,
    ServiceLevelObjectives,
    TestMode,
    TestScenario,
    TestSettings,
)
from asyncgen.simulated import ServiceTime, SimulatedQSL, SimulatedSUT
from asyncgen.sut import (
    ConversationLibrary,
    QuerySample,
    QuerySampleLibrary,
    QuerySampleResponse,
    ResponseData,
    SystemUnderTest,
    TurnSample,
    first_token_complete,
    query_samples_complete,
)

__all__ = [
    "ArrivalFidelity",
    "AsyncgenError",
    "Clock",
    "ConfigError",
    "ConversationLibrary",
    "DatasetError",
    "EffectiveSettings",
    "FunctionSUT",
    "Goodput",
    "IssueLag",
    "LatencyStats",
    "LogOutputSettings",
    "LogSettings",
    "LoggingMode",
    "LoopStalls",
    "MonotonicClock",
    "OutputError",
    "PacingMode",
    "PerformanceResult",
    "PerformanceSummary",
    "Progress",
    "ProgressCallback",
    "ProtocolError",
    "QuerySample",
    "QuerySampleLibrary",
    "QuerySampleResponse",
    "QueueWait",
    "Rates",
    "ResponseData",
    "RunError",
    "RunHealth",
    "ServiceLevelObjectives",
    "ServiceTime",
    "SettingsError",
    "SimulatedQSL",
    "SimulatedSUT",
    "SloOutcome",
    "SystemUnderTest",
    "TestMode",
    "TestResult",
    "TestScenario",
    "TestSettings",
    "TokenCounts",
    "TokenDistribution",
    "TurnSample",
    "TurnStats",
    "WorkerError",
    "WorkerHealth",
    "WorkerProgress",
    "__version__",
    "first_token_complete",
    "query_samples_complete",
    "run",
    "run_test",
]

# Reprs, tracebacks and the API reference show the public path (asyncgen.TestSettings, not
# asyncgen._config.settings.TestSettings); pickling finds each name here just the same.
for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type) or (callable(_obj) and hasattr(_obj, "__code__")):
        _obj.__module__ = __name__
del _name, _obj
