"""Settings, SUTs and checks shared by the fault tests."""

from __future__ import annotations

import asyncio
import errno
import json
import os
import re
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import IO, Any

from asyncgen import TestMode, TestScenario, TestSettings
from asyncgen._output.verify import verify
from asyncgen.sut import QuerySample
from tests.helpers import log_to, read_detail, short_settings

__all__ = ["log_to"]  # re-exported: the fault tests import it from here


def fast_settings(
    scenario: TestScenario, mode: TestMode = TestMode.PerformanceOnly, **extra: object
) -> TestSettings:
    """A short test (``short_settings``) with a 5 s drain deadline unless given: time for
    every sample on a busy machine, and a bounded wait for one that never completes (the
    tests about the deadline set shorter ones)."""
    return short_settings(scenario, mode, **{"drain_timeout_ms": 5_000, **extra})


def assert_consistent(outdir: Path) -> None:
    """``asyncgen verify`` finds nothing wrong, and every file parses."""
    assert verify(outdir) == []
    read_detail(outdir / "mlperf_log_detail.txt")
    assert isinstance(json.loads((outdir / "mlperf_log_accuracy.json").read_text()), list)
    if (outdir / "mlperf_log_trace.json").exists():
        json.loads((outdir / "mlperf_log_trace.json").read_text())


def final_verdict(outdir: Path) -> str:
    """The last ``Result is`` of the summary (a stopped run adds an INVALID block)."""
    verdicts = re.findall(r"^Result is : (\w+)$", summary_text(outdir), re.MULTILINE)
    assert verdicts, summary_text(outdir)
    return str(verdicts[-1])


def summary_text(outdir: Path) -> str:
    return (outdir / "mlperf_log_summary.txt").read_text()


def results_json(outdir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((outdir / "mlperf_log_results.json").read_text())
    return data


def detail_errors(outdir: Path) -> list[str]:
    return [
        str(e["value"])
        for e in read_detail(outdir / "mlperf_log_detail.txt")
        if e["metadata"]["is_error"]
    ]


async def echo(sample: QuerySample) -> bytes:
    await asyncio.sleep(0)
    return sample.index.to_bytes(4, "little")


class FillsUp:
    """A text file on a disk with ``room`` characters left: then ENOSPC, like a full disk."""

    def __init__(self, inner: IO[str], room: int) -> None:
        self.inner, self.room = inner, room

    def write(self, text: str) -> int:
        if len(text) > self.room:
            self.inner.write(text[: self.room])  # a real disk takes what fits
            self.room = 0
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= len(text)
        return self.inner.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class ScriptedSUT:
    """Hands each sample to ``answer`` in a task of its own; ``issue_hook`` runs per call."""

    def __init__(
        self,
        answer: Callable[[QuerySample], Coroutine[Any, Any, None]],
        *,
        issue_hook: Callable[[int], None] | None = None,
        flush_error: BaseException | None = None,
    ) -> None:
        self.name = "scripted"
        self.calls = 0
        self.samples: list[QuerySample] = []
        self._answer = answer
        self._hook = issue_hook
        self._flush_error = flush_error
        self._tasks: set[asyncio.Task[None]] = set()

    async def issue_query(self, samples: Sequence[QuerySample]) -> None:
        self.calls += 1
        if self._hook is not None:
            self._hook(self.calls)
        for sample in samples:
            self.samples.append(sample)
            task = asyncio.get_running_loop().create_task(self._answer(sample))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def flush_queries(self) -> None:
        if self._flush_error is not None:
            raise self._flush_error

    def cancel_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()
