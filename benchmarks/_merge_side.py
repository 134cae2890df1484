"""The driver's merge, measured alone in a fresh process: ``python -m benchmarks._merge_side
QUERIES SHARDS TRACE`` prints one JSON object.

Each shard's records are what a Server shard sends back for its round-robin slice (issue and
completion times, int64, read-only as Ray's object store hands them over); the driver merges
them into the global numbering (``merge_records``) and loads the result into its series
(``restore_records``), from which the statistics and files are made as in one process. The
peak is the growth of the process's high-water mark (reset through /proc/self/clear_refs)
over the shards' inputs and the driver's own series, both of which exist before the merge.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

import numpy as np

from asyncgen._config.enums import TestScenario
from asyncgen._engine.clock import MonotonicClock
from asyncgen._engine.records import SeriesRecords, restore_records
from asyncgen._engine.series import Schedule, Series
from asyncgen._engine.tally import RunTally
from asyncgen._plan.queries import QueryPlan
from asyncgen._run.scale_out.merge import merge_records
from asyncgen._run.scale_out.split import deal

GAP_NS = 100_000  # 10,000 QPS: the plan's span does not change the merge's cost


class _NoEvents:
    def detail(self, key: str, value: object) -> None: ...
    def error(self, key: str, message: str) -> None: ...
    def warning(self, message: str) -> None: ...


def _high_water_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def _reset_high_water() -> None:
    Path("/proc/self/clear_refs").write_text("5")


async def measure(queries: int, shards: int, trace: bool) -> dict[str, float]:
    offsets = np.arange(queries, dtype=np.int64) * GAP_NS
    plan = QueryPlan(
        samples_per_query=1,
        query_count=queries,
        duration_ns=queries * GAP_NS,
        scheduled_offsets_ns=offsets,
        sample_indices=(np.arange(queries) % 1024).astype(np.uint16),
        first_query_id=0,
        first_sample_id=0,
        accuracy_log_mask=np.zeros(0, dtype=np.bool_),
    )
    start = 10**12
    parts = []
    for part in deal(plan, TestScenario.Server, shards):
        issued = start + offsets[part.queries.start :: part.queries.step] + 5_000
        records = SeriesRecords(start_ns=start, issued_ns=issued, completed_ns=issued + 10**6)
        for column in (records.issued_ns, records.completed_ns):
            column.flags.writeable = False
        parts.append((part, records, 0))
    series = Series(
        plan,
        clock=MonotonicClock("timer"),
        events=_NoEvents(),
        log_all_responses=False,
        log_mask=plan.accuracy_log_mask,
        use_tokens=False,
        needs_first_token=True,
        server=True,
        schedule=Schedule.PLAN,
        keep_completion_order=trace,
    )
    _reset_high_water()
    before = _high_water_kib()
    began = time.perf_counter()
    merged = merge_records(plan, start, parts, use_tokens=False)
    merged_at = time.perf_counter()
    restore_records(series, merged, RunTally())
    done = time.perf_counter()
    assert series.queries_completed == queries
    return {
        "queries": queries,
        "shards": shards,
        "trace": trace,
        "merge_s": merged_at - began,
        "restore_s": done - merged_at,
        "total_s": done - began,
        "records_per_s": queries / (done - began),
        "peak_growth_mib": (_high_water_kib() - before) / 1024,
        "inputs_mib": sum(p[1].issued_ns.nbytes + p[1].completed_ns.nbytes for p in parts) / 2**20,
    }


def main(argv: list[str]) -> int:
    queries, shards, trace = int(argv[1]), int(argv[2]), argv[3] == "trace"
    print(json.dumps(asyncio.run(measure(queries, shards, trace))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
