"""Completions with data or a token count that cannot be recorded: whole or not at all.

A completion is checked before anything is stored. Data that is not bytes-like (an int, whose
``bytes(n)`` would be n zero bytes; a float; a released buffer; a ``str`` that is not valid
Unicode) fails its sample, named in the detail log; a ``str`` is encoded as UTF-8 in every mode
alike. A token count that is not an integer, or beyond ``MAX_TOKENS``, is one error entry naming
the sample, and counts as 0, as a negative one does. The paths that used to half-record a
sample are all covered: a completion in a loop callback (as the HTTP adapters complete), in
the SUT's task, and from a worker thread.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import asyncgen
from asyncgen import TestMode, TestScenario
from asyncgen._engine.series import MAX_TOKENS
from asyncgen.sut import QuerySample
from tests.faults._support import (
    assert_consistent,
    detail_errors,
    fast_settings,
    log_to,
    results_json,
)
from tests.helpers import ListQSL


def _released() -> memoryview:
    view = memoryview(b"gone")
    view.release()
    return view


BAD_DATA: dict[str, Callable[[], object]] = {
    "int": lambda: 12345,
    "float": lambda: 1.5,
    "list": lambda: [1, 2],
    "released buffer": _released,
    "lone surrogate": lambda: "\ud800",
}
GOOD_DATA: dict[str, tuple[Callable[[], object], bytes]] = {
    "str": (lambda: "héllo", "héllo".encode()),
    "bytearray": (lambda: bytearray(b"ab"), b"ab"),
    "memoryview": (lambda: memoryview(b"abc")[1:], b"bc"),
    "numpy": (lambda: np.arange(2, dtype=np.uint8), b"\x00\x01"),
    "None": (lambda: None, b""),
}
WAYS = ("loop callback", "task", "thread")


class CompletingSUT:
    """Completes every sample with ``data()`` (and ``n_tokens``), the way ``way`` says."""

    name = "completing"

    def __init__(self, way: str, data: Callable[[], object], n_tokens: object = None) -> None:
        self.way, self.data, self.n_tokens = way, data, n_tokens
        self.threads: list[threading.Thread] = []

    def _complete(self, sample: QuerySample) -> None:
        sample.complete(self.data(), self.n_tokens)  # type: ignore[arg-type]

    async def issue_query(self, samples: Sequence[QuerySample]) -> None:
        loop = asyncio.get_running_loop()
        for sample in samples:
            if self.way == "loop callback":
                loop.call_soon(self._complete, sample)
            elif self.way == "task":
                self._complete(sample)
            else:
                thread = threading.Thread(target=self._complete, args=(sample,))
                thread.start()
                self.threads.append(thread)

    async def flush_queries(self) -> None:
        for thread in self.threads:
            await asyncio.to_thread(thread.join)


def _run(outdir: Path, sut: Any, mode: TestMode, **settings: object) -> asyncgen.TestResult:
    started = time.monotonic()
    result = asyncgen.run(
        sut,
        ListQSL(total=8, performance=8),
        fast_settings(TestScenario.Offline, mode, drain_timeout_ms=60_000, **settings),
        log_settings=log_to(outdir),
        audit_config=None,
    )
    # nothing is left waiting for the drain deadline: every sample ended at its completion
    assert time.monotonic() - started < 30
    assert result.missing_samples == ()
    return result


def _accuracy_log(outdir: Path) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = json.loads((outdir / "mlperf_log_accuracy.json").read_text())
    return entries


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("kind", list(BAD_DATA))
def test_data_that_is_not_bytes_like_fails_its_sample(tmp_path: Path, kind: str, way: str) -> None:
    result = _run(tmp_path, CompletingSUT(way, BAD_DATA[kind]), TestMode.AccuracyOnly)
    assert not result.valid
    assert result.failures == {"invalid_completion": 8}
    assert result.accuracy_entries == 0 and _accuracy_log(tmp_path) == []
    failed = [e for e in detail_errors(tmp_path) if e.startswith("Sample failed.")]
    assert len(failed) == 8
    assert {int(e.split()[3]) for e in failed} == set(range(8))  # each sample named
    if kind == "int":
        assert "must be bytes-like or str, not int" in failed[0]
    assert_consistent(tmp_path)


@pytest.mark.parametrize("mode", [TestMode.AccuracyOnly, TestMode.PerformanceOnly])
@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("kind", list(GOOD_DATA))
def test_bytes_like_data_and_str_are_recorded_in_every_mode(
    tmp_path: Path, kind: str, way: str, mode: TestMode
) -> None:
    make, expected = GOOD_DATA[kind]
    result = _run(
        tmp_path,
        CompletingSUT(way, make),
        mode,
        accuracy_log_probability=1.0,  # performance mode logs every response too
    )
    assert result.failures == {} and result.errors == 0
    entries = _accuracy_log(tmp_path)
    assert len(entries) == result.accuracy_entries > 0
    assert {bytes.fromhex(e["data"]) for e in entries} == {expected}
    assert_consistent(tmp_path)


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize(
    "n_tokens",
    [2**63, 2**64, MAX_TOKENS + 1, 3.0, "7"],
    ids=["2**63", "2**64", "max+1", "float", "str"],
)
def test_a_token_count_that_cannot_be_used_is_an_error_naming_the_sample(
    tmp_path: Path, n_tokens: object, way: str
) -> None:
    result = _run(
        tmp_path,
        CompletingSUT(way, lambda: b"answer", n_tokens),
        TestMode.AccuracyOnly,
        use_token_latencies=True,
    )
    assert result.valid and result.failures == {}
    errors = [e for e in detail_errors(tmp_path) if e.startswith("n_tokens of sample")]
    assert len(errors) == 8 == result.errors
    assert {int(e.split()[4]) for e in errors} == set(range(8))
    assert f"from 2 to {MAX_TOKENS}" in errors[0]
    # every sample recorded whole: its response is logged, its count stored as 0
    entries = _accuracy_log(tmp_path)
    assert len(entries) == 8
    assert {e["token_count"] for e in entries} == {0}
    assert_consistent(tmp_path)


def test_a_numpy_token_count_is_an_integer(tmp_path: Path) -> None:
    result = _run(
        tmp_path,
        CompletingSUT("task", lambda: b"answer", np.int64(5)),
        TestMode.AccuracyOnly,
        use_token_latencies=True,
    )
    assert result.errors == 0
    assert {e["token_count"] for e in _accuracy_log(tmp_path)} == {5}
    assert results_json(tmp_path)["valid"] is True


class _BadFirstToken:
    name = "bad-first-token"

    async def issue_query(self, samples: Sequence[QuerySample]) -> None:
        for sample in samples:
            sample.first_token(12345)  # type: ignore[arg-type]
            sample.complete(b"answer", 4)  # the sample has failed already: a second answer

    async def flush_queries(self) -> None:
        pass


def test_a_first_token_that_is_not_bytes_like_fails_its_sample(tmp_path: Path) -> None:
    result = asyncgen.run(
        _BadFirstToken(),
        ListQSL(total=8, performance=8),
        fast_settings(TestScenario.SingleStream, TestMode.AccuracyOnly, use_token_latencies=True),
        log_settings=log_to(tmp_path),
        audit_config=None,
    )
    assert result.failures == {"invalid_completion": 8} and not result.valid
    errors = detail_errors(tmp_path)
    assert sum("not int" in e for e in errors) == 8
    assert errors.count("Attempted to complete a sample twice.") == 8
    assert_consistent(tmp_path)
