"""A SUT or QSL that raises: issuing stops, what is in flight drains, the files are complete,
and ``run_test`` raises one RunError whose cause is the original (named in the detail log)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

import asyncgen
from asyncgen import TestMode, TestScenario
from asyncgen.sut import QuerySample
from tests.faults._support import (
    ScriptedSUT,
    assert_consistent,
    detail_errors,
    fast_settings,
    final_verdict,
    log_to,
    results_json,
)
from tests.helpers import ListQSL


class ModelExplodedError(Exception):
    pass


async def _answer_later(sample: QuerySample) -> None:
    await asyncio.sleep(0.05)  # still in flight when the SUT raises
    sample.complete(b"\x01")


def _raise_on_call(n: int) -> object:
    def hook(call: int) -> None:
        if call == n:
            raise ModelExplodedError(f"call {n}")

    return hook


def _assert_stopped(outdir: Path, cause: type[BaseException], text: str) -> None:
    assert final_verdict(outdir) == "INVALID"
    results = results_json(outdir)
    assert results["valid"] is False and results["interrupted"] is False
    assert text in results["stopped"]
    assert any(text in e for e in detail_errors(outdir)), detail_errors(outdir)
    assert_consistent(outdir)


@pytest.mark.parametrize(
    ("scenario", "mode"),
    [
        (TestScenario.Server, TestMode.PerformanceOnly),
        (TestScenario.SingleStream, TestMode.PerformanceOnly),
        (TestScenario.MultiStream, TestMode.AccuracyOnly),
        (TestScenario.Offline, TestMode.PerformanceOnly),
    ],
)
def test_issue_query_raising_stops_issuing_and_drains(
    tmp_path: Path, scenario: TestScenario, mode: TestMode
) -> None:
    # Offline makes a single call; the others raise on their fifth.
    failing_call = 1 if scenario is TestScenario.Offline else 5
    sut = ScriptedSUT(_answer_later, issue_hook=_raise_on_call(failing_call))  # type: ignore[arg-type]
    settings = fast_settings(scenario, mode, drain_timeout_ms=20_000)
    started = time.monotonic()
    with pytest.raises(asyncgen.RunError) as info:
        asyncgen.run(sut, ListQSL(), settings, log_settings=log_to(tmp_path), audit_config=None)
    elapsed = time.monotonic() - started
    assert isinstance(info.value.__cause__, ModelExplodedError)
    assert sut.calls == failing_call  # issuing stopped at the call that raised
    # the samples issued before it were drained, those of the failing call were not awaited
    assert elapsed < 10, elapsed
    spq = 4 if scenario is TestScenario.MultiStream else 1
    missing = results_json(tmp_path)["missing_samples"]
    if scenario is TestScenario.Offline:  # its one call carried every sample
        assert sut.samples == [] and len(missing) > 0
    else:  # everything before the failing call completed; its own samples are listed
        assert len(missing) == spq, missing
        assert len(sut.samples) == (failing_call - 1) * spq
    assert any("Stopped issuing" in e for e in detail_errors(tmp_path))
    _assert_stopped(tmp_path, ModelExplodedError, "ModelExplodedError")


def test_flush_queries_raising_drains_then_raises(tmp_path: Path) -> None:
    sut = ScriptedSUT(_answer_later, flush_error=ModelExplodedError("flush failed"))
    settings = fast_settings(TestScenario.Server)
    with pytest.raises(asyncgen.RunError) as info:
        asyncgen.run(sut, ListQSL(), settings, log_settings=log_to(tmp_path), audit_config=None)
    assert isinstance(info.value.__cause__, ModelExplodedError)
    assert results_json(tmp_path)["missing_samples"] == []  # all in flight were drained
    _assert_stopped(tmp_path, ModelExplodedError, "flush failed")


class RaisingQSL(ListQSL):
    def __init__(self, *, on_load: bool) -> None:
        super().__init__()
        self.on_load = on_load

    async def load_samples(self, indices: Sequence[int]) -> None:
        if self.on_load:
            raise OSError("dataset file vanished")
        await super().load_samples(indices)

    async def unload_samples(self, indices: Sequence[int]) -> None:
        raise OSError("cannot free the device memory")


@pytest.mark.parametrize("on_load", [True, False], ids=["load", "unload"])
def test_qsl_raising_stops_the_run(tmp_path: Path, on_load: bool) -> None:
    sut = ScriptedSUT(_answer_later)
    settings = fast_settings(TestScenario.Offline)
    with pytest.raises(asyncgen.RunError) as info:
        asyncgen.run(
            sut,
            RaisingQSL(on_load=on_load),
            settings,
            log_settings=log_to(tmp_path),
            audit_config=None,
        )
    assert isinstance(info.value.__cause__, OSError)
    assert (sut.calls == 0) is on_load
    text = "dataset file vanished" if on_load else "cannot free the device memory"
    _assert_stopped(tmp_path, OSError, text)


class ModelKilledError(BaseException):
    """A SUT's own BaseException subclass (not an Exception)."""


BASE_EXCEPTIONS = {
    "CancelledError": asyncio.CancelledError,
    "GeneratorExit": GeneratorExit,
    "own BaseException": ModelKilledError,
}


@pytest.mark.parametrize("where", ["issue_query", "flush_queries", "load_samples"])
@pytest.mark.parametrize("kind", list(BASE_EXCEPTIONS))
def test_a_base_exception_the_sut_raises_is_its_failure_not_an_interrupt(
    tmp_path: Path, kind: str, where: str
) -> None:
    """Only a real cancellation (or Ctrl-C) interrupts a run; a ``CancelledError`` nobody
    asked for, ``GeneratorExit`` or the SUT's own ``BaseException`` is a ``RunError`` whose
    cause is the original, after the in-flight samples drained."""
    error = BASE_EXCEPTIONS[kind]("raised by the SUT")
    sut = ScriptedSUT(
        _answer_later,
        issue_hook=_raise_on_call_with(3, error) if where == "issue_query" else None,
        flush_error=error if where == "flush_queries" else None,
    )
    qsl = _QSLRaising(error) if where == "load_samples" else ListQSL()
    with pytest.raises(asyncgen.RunError) as info:
        asyncgen.run(
            sut, qsl, fast_settings(TestScenario.Server), log_settings=log_to(tmp_path),
            audit_config=None,
        )  # fmt: skip
    assert info.value.__cause__ is error
    results = results_json(tmp_path)
    assert results["interrupted"] is False
    missing = [m["seq_id"] for m in results["missing_samples"]]
    assert missing == ([2] if where == "issue_query" else [])  # the call that raised
    _assert_stopped(tmp_path, type(error), type(error).__name__)


def _raise_on_call_with(n: int, error: BaseException) -> object:
    def hook(call: int) -> None:
        if call == n:
            raise error

    return hook


class _QSLRaising(ListQSL):
    def __init__(self, error: BaseException) -> None:
        super().__init__()
        self.error = error

    async def load_samples(self, indices: Sequence[int]) -> None:
        raise self.error


@pytest.mark.asyncio
async def test_a_real_cancellation_still_wins_over_what_the_sut_raises(tmp_path: Path) -> None:
    """The SUT turns the cancellation into its own error: the run's cancellation is raised."""

    entered = asyncio.Event()

    class Converts:
        name = "converts"

        async def issue_query(self, samples: Sequence[QuerySample]) -> None:
            entered.set()
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                raise ModelKilledError("cancelled, said otherwise") from None

        async def flush_queries(self) -> None:
            pass

    task = asyncio.ensure_future(
        asyncgen.run_test(
            Converts(),
            ListQSL(),
            fast_settings(TestScenario.Server, drain_timeout_ms=60_000),
            log_settings=log_to(tmp_path),
            audit_config=None,
        )
    )
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert results_json(tmp_path)["interrupted"] is True
    assert_consistent(tmp_path)
