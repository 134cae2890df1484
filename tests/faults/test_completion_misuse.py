"""Completions the SUT gets wrong: an unknown id, a second completion, a first token after the
completion, a bad token count. Each is one error entry, counted in the summary; the run goes on."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncgen
from asyncgen import TestMode, TestScenario
from asyncgen.sut import QuerySample, QuerySampleResponse, query_samples_complete
from tests.faults._support import (
    ScriptedSUT,
    assert_consistent,
    detail_errors,
    fast_settings,
    log_to,
    summary_text,
)
from tests.helpers import ListQSL

EXPECTED = {
    "twice": "Attempted to complete a sample twice.",
    "token_after": "Attempted to record token latency after sample was completed",
    "zero_tokens": "n_tokens argument missing or attempted to record 0 as number of tokens",
    "one_token": "Number of tokens need to be greater than 1",
    "negative_tokens": "Attempted to record a negative number of tokens",
    "unknown_id": "Completion for an unknown response id: 77",
}


class Misbehaving:
    """Answers every sample correctly, except one sample for each kind of mistake."""

    def __init__(self) -> None:
        self.todo = list(EXPECTED)

    async def answer(self, sample: QuerySample) -> None:
        await asyncio.sleep(0)
        kind = self.todo.pop() if self.todo else None
        n_tokens = {"zero_tokens": 0, "one_token": 1, "negative_tokens": -1}.get(kind or "", 4)
        sample.complete(b"ok", n_tokens=n_tokens)
        if kind == "twice":
            sample.complete(b"again", n_tokens=4)
        elif kind == "token_after":
            sample.first_token(b"late")
        elif kind == "unknown_id":
            query_samples_complete([QuerySampleResponse(77, b"")])  # a token no series has


def test_each_mistake_is_one_counted_error_and_the_run_goes_on(tmp_path: Path) -> None:
    sut = Misbehaving()
    settings = fast_settings(
        TestScenario.Offline, TestMode.PerformanceOnly, use_token_latencies=True
    )
    result = asyncgen.run(
        ScriptedSUT(sut.answer),
        ListQSL(),
        settings,
        log_settings=log_to(tmp_path),
        audit_config=None,
    )
    assert sut.todo == []
    errors = detail_errors(tmp_path)
    for message in EXPECTED.values():
        assert errors.count(message) == 1, (message, errors)
    assert result.errors == len(errors) >= len(EXPECTED)
    assert f"{result.errors} ERRORS encountered" in summary_text(tmp_path)
    assert result.missing_samples == ()  # every sample counted once, the run finished
    assert result.latencies_ns.size > 0
    assert_consistent(tmp_path)
