"""The completion registry as a state machine: issue, complete, duplicate, unknown, fail,
late (after the series ended) and cancel (the series ends with samples outstanding).

Invariants: every issued sample is completed exactly once or reported missing; every mistake
is one error entry; every completed sample's record reaches the logs exactly once (accuracy
log and trace, read back after the writer closes). The config parser's fuzz tests live in
tests/config/test_config.py (test_parsing_arbitrary_text_raises_only_config_error and
test_applying_arbitrary_files_raises_only_config_error).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from asyncgen._engine.clock import FakeClock
from asyncgen._engine.series import Series
from asyncgen._output.writer import LogWriter
from asyncgen.settings import LogOutputSettings, LogSettings
from asyncgen.sut import QuerySampleResponse, query_samples_complete
from tests.helpers import make_plan

QUERIES = 12


class Registry(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="asyncgen-registry-"))
        self.loop = asyncio.new_event_loop()
        self.clock = FakeClock(1_000)
        log = LogSettings(log_output=LogOutputSettings(outdir=str(self.folder)), enable_trace=True)
        self.writer = LogWriter(log, "t", 0)
        self.series = self.loop.run_until_complete(self._make())
        self.writer.follow(self.series)
        self.samples = self.series.samples_for(0, QUERIES - 1)
        self.issued = 0
        self.completed: set[int] = set()
        self.failed: set[int] = set()
        self.errors = 0
        self.late = 0

    async def _make(self) -> Series:
        return Series(
            make_plan(list(range(QUERIES))),
            clock=self.clock,
            events=self.writer,
            keep_completion_order=self.writer.trace_enabled,
            log_all_responses=True,
            log_mask=np.zeros(QUERIES, dtype=bool),
            use_tokens=False,
            needs_first_token=False,
        )

    # -- rules -----------------------------------------------------------------------------

    @precondition(lambda self: self.issued < QUERIES and not self.series.closed)
    @rule(count=st.integers(1, 4))
    def issue(self, count: int) -> None:
        last = min(QUERIES, self.issued + count) - 1
        now = self.clock.now_ns()
        self.series.mark_issued(self.issued, last, now)
        self.issued = last + 1

    @rule(pick=st.integers(0, QUERIES - 1), fail=st.booleans())
    def answer(self, pick: int, fail: bool) -> None:
        self.clock.advance(7)
        sample = self.samples[pick]
        if fail:
            sample.fail("timeout: no answer")
        else:
            sample.complete(bytes([pick]))
        if pick >= self.issued:
            self.errors += 1  # never issued
        elif pick in self.completed or pick in self.failed:
            self.errors += 1  # twice
        elif self.series.closed:
            self.errors += 1  # late
            self.late += 1
        else:
            (self.failed if fail else self.completed).add(pick)
            self.errors += fail  # a failure is logged as an error too

    @rule(response_id=st.integers(1, 2**39))
    def unknown(self, response_id: int) -> None:
        # a token no series holds: reported in the newest series still running
        query_samples_complete([QuerySampleResponse(response_id | (0xFFFFF << 40), b"")])
        self.errors += not self.series.closed

    @rule()
    def cancel(self) -> None:
        self.series.closed = True

    # -- invariants ------------------------------------------------------------------------

    @invariant()
    def each_issued_sample_is_done_once_or_missing(self) -> None:
        done = self.completed | self.failed
        assert self.series.samples_completed == len(done)
        assert set(self.series.missing_samples()) == set(range(self.issued)) - done
        order = self.series.completion_order.tolist()
        assert len(order) == len(set(order)) and set(order) == done

    @invariant()
    def every_mistake_is_one_error(self) -> None:
        assert self.writer.errors == self.errors
        assert self.series.tally.late_completions == self.late

    def teardown(self) -> None:
        try:
            self.series.closed = True
            self.writer.close()
            accuracy = json.loads((self.folder / "mlperf_log_accuracy.json").read_text())
            seq_ids = [entry["seq_id"] for entry in accuracy]
            assert sorted(seq_ids) == sorted(self.completed)  # each completion logged once
            trace = json.loads((self.folder / "mlperf_log_trace.json").read_text())
            begins = [
                e["args"]["sample_seq"]
                for e in trace["traceEvents"]
                if e.get("name") == "Sample" and e.get("ph") == "b"
            ]
            assert sorted(begins) == sorted(self.completed | self.failed)
        finally:
            self.loop.close()
            shutil.rmtree(self.folder, ignore_errors=True)


Registry.TestCase.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)
TestRegistry = Registry.TestCase
