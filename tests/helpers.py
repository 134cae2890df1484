"""Small SUTs, QSLs and builders shared by the tests."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from asyncgen._engine.clock import FakeClock
from asyncgen._output.writer import LogWriter
from asyncgen._plan.queries import QueryPlan
from asyncgen.settings import (
    LogOutputSettings,
    LogSettings,
    TestMode,
    TestScenario,
    TestSettings,
)
from asyncgen.sut import QuerySample

# Per scenario, settings that make a test run short (with short_settings' 100 ms, 50 queries).
FAST: dict[TestScenario, dict[str, object]] = {
    TestScenario.SingleStream: {"single_stream_expected_latency_ns": 200_000},
    TestScenario.MultiStream: {
        "multi_stream_expected_latency_ns": 400_000,
        "multi_stream_samples_per_query": 4,
    },
    TestScenario.Server: {"server_target_qps": 2000},
    TestScenario.Offline: {"offline_expected_qps": 2000},
}


def short_settings(
    scenario: TestScenario, mode: TestMode = TestMode.PerformanceOnly, **extra: object
) -> TestSettings:
    """A short test: 100 ms and 50 queries at the scenario's FAST rate, unless given."""
    values: dict[str, object] = {"min_duration_ms": 100, "min_query_count": 50}
    values.update(FAST[scenario])
    values.update(extra)
    return TestSettings(scenario=scenario, mode=mode, **values)  # type: ignore[arg-type]


def log_to(outdir: Path, trace: bool = True) -> LogSettings:
    """Log settings writing to ``outdir``."""
    return LogSettings(log_output=LogOutputSettings(outdir=str(outdir)), enable_trace=trace)


OPEN_WRITERS: list[LogWriter] = []  # closed after every test by tests/conftest.py


def open_writer(outdir: Path, *, trace: bool = False) -> LogWriter:
    """A LogWriter for ``outdir``, closed when the test ends."""
    writer = LogWriter(log_to(outdir, trace), "t", 0)
    OPEN_WRITERS.append(writer)
    return writer


def make_plan(
    offsets_ns: Sequence[int],
    *,
    samples_per_query: int = 1,
    first_sample_id: int = 0,
    indices: Sequence[int] | None = None,
) -> QueryPlan:
    """A hand-made plan: one query per offset, sample indices 0, 1, 2, ... unless given."""
    n = len(offsets_ns) * samples_per_query
    return QueryPlan(
        samples_per_query=samples_per_query,
        query_count=len(offsets_ns),
        duration_ns=int(offsets_ns[-1]) + 1 if len(offsets_ns) else 0,
        scheduled_offsets_ns=np.asarray(offsets_ns, dtype=np.int64),
        sample_indices=np.asarray(indices if indices is not None else range(n), dtype=np.int64),
        first_query_id=0,
        first_sample_id=first_sample_id,
        accuracy_log_mask=np.zeros(n, dtype=np.bool_),
    )


class RecordingSUT:
    """Records each issue_query call; completes samples through ``on_issue`` if given."""

    def __init__(
        self,
        on_issue: Callable[[Sequence[QuerySample]], None] | None = None,
        name: str = "RecordingSUT",
    ) -> None:
        self.calls: list[list[int]] = []
        self.samples: list[QuerySample] = []
        self.flushes = 0
        self._on_issue = on_issue
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    async def issue_query(self, samples: Sequence[QuerySample]) -> None:
        self.calls.append([s.index for s in samples])
        self.samples.extend(samples)
        if self._on_issue is not None:
            self._on_issue(samples)

    async def flush_queries(self) -> None:
        self.flushes += 1


class CheckingSUT(RecordingSUT):
    """A ``RecordingSUT`` that takes the Server shaper's arrival check, as the HTTP adapters
    do: ``check`` is what it was given (None outside a Server series), ``attached`` every call."""

    def __init__(
        self,
        on_issue: Callable[[Sequence[QuerySample]], None] | None = None,
        name: str = "CheckingSUT",
    ) -> None:
        super().__init__(on_issue, name)
        self.check: Callable[[], None] | None = None
        self.attached: list[bool] = []

    def set_arrival_check(self, check: Callable[[], None] | None) -> None:
        self.check = check
        self.attached.append(check is not None)


def complete_after(clock: FakeClock, service_ns: int) -> Callable[[Sequence[QuerySample]], None]:
    """An ``on_issue`` that spends ``service_ns`` of fake time, then completes every sample."""

    def on_issue(samples: Sequence[QuerySample]) -> None:
        clock.advance(service_ns)
        for sample in samples:
            sample.complete(sample.index.to_bytes(4, "little"))

    return on_issue


class ListQSL:
    """A QSL that records what it was asked to load and unload."""

    def __init__(self, total: int = 64, performance: int = 16, name: str = "ListQSL") -> None:
        self.name = name
        self.total_sample_count = total
        self.performance_sample_count = performance
        self.loaded: list[list[int]] = []
        self.unloaded: list[list[int]] = []

    async def load_samples(self, indices: Sequence[int]) -> None:
        self.loaded.append(list(indices))

    async def unload_samples(self, indices: Sequence[int]) -> None:
        self.unloaded.append(list(indices))


def read_detail(path: Path) -> list[dict[str, Any]]:
    """Every detail-log line, parsed (fails the test on any line that is not JSON)."""
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        assert line.startswith(":::MLLOG "), line
        entries.append(json.loads(line.removeprefix(":::MLLOG ")))
    return entries


def detail_values(path: Path) -> dict[str, Any]:
    """The last value logged under each key."""
    return {e["key"]: e["value"] for e in read_detail(path)}
