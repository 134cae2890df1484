"""What a run returns: the verdict, its reasons and every statistic, without parsing a file.

:class:`TestResult` is what ``run_test`` returns; the other classes are the types of its fields.
"""

from asyncgen._engine.watchdog import LoopStalls
from asyncgen._metrics.fidelity import ArrivalFidelity
from asyncgen._metrics.goodput import Goodput, SloOutcome
from asyncgen._metrics.health import RunHealth
from asyncgen._metrics.issue_lag import IssueLag
from asyncgen._metrics.sessions import QueueWait, TurnStats
from asyncgen._metrics.statistics import LatencyStats, Rates
from asyncgen._metrics.tokens import TokenCounts, TokenDistribution
from asyncgen._metrics.verdict import PerformanceSummary
from asyncgen._run.result import TestResult

__all__ = [
    "ArrivalFidelity",
    "Goodput",
    "IssueLag",
    "LatencyStats",
    "LoopStalls",
    "PerformanceSummary",
    "QueueWait",
    "Rates",
    "RunHealth",
    "SloOutcome",
    "TestResult",
    "TokenCounts",
    "TokenDistribution",
    "TurnStats",
]
