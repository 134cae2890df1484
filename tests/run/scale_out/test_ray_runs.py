"""Scaled-out runs on a real Ray cluster of three "nodes" on this machine (see conftest.py):
the shards' union is the single-process plan, accuracy mode issues every sample once, the
merged files have the single-process layout and pass ``asyncgen verify``, and faults (a killed
worker, a lost node, a frozen worker, a factory that raises, an interrupt) end the run promptly
with the shard named and the other shards' records written.

Verdicts that depend on timing are not asserted (a busy machine may issue late); the runs are
short and their latency bound generous.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

import asyncgen
from asyncgen.__main__ import main
from asyncgen._config.effective import effective_settings
from asyncgen._engine.series import UNSET
from asyncgen._output.verify import verify
from asyncgen._plan.loadable import loadable_sets
from asyncgen._plan.queries import generate_queries
from asyncgen._plan.sequence import SequenceGen
from asyncgen._run.scale_out.pacer import ScaleOutOptions
from tests.cli.test_cli_http import _serve
from tests.run.scale_out import _suts
from tests.run.scale_out._recorder import Recorder, signal_worker

pytestmark = pytest.mark.ray

SUTS = "tests.run.scale_out._suts"
REPO = Path(__file__).resolve().parents[3]


def _server(qps: float, duration_ms: int, **fields: Any) -> asyncgen.TestSettings:
    return asyncgen.TestSettings(
        scenario=asyncgen.TestScenario.Server,
        mode=fields.pop("mode", asyncgen.TestMode.PerformanceOnly),
        server_target_qps=qps,
        min_duration_ms=duration_ms,
        min_query_count=50,
        server_target_latency_ns=2_000_000_000,
        **fields,
    )


def _logs(folder: Path, trace: bool = True) -> asyncgen.LogSettings:
    return asyncgen.LogSettings(
        log_output=asyncgen.LogOutputSettings(outdir=str(folder)), enable_trace=trace
    )


def _run(settings: asyncgen.TestSettings, folder: Path, **options: Any) -> asyncgen.TestResult:
    options.setdefault("workers", 2)
    return asyncgen.run(
        options.pop("sut", _suts.NullSUT),
        options.pop("qsl", _suts.qsl),
        settings,
        log_settings=_logs(folder),
        audit_config=None,
        **options,
    )


class _timed:  # noqa: N801 - used like a function
    """A strike that notes when it struck (``at``): promptness is measured from the fault."""

    def __init__(self, action: Any) -> None:
        self.action, self.at = action, list[float]()

    def __call__(self, info: dict[str, Any]) -> None:
        self.at.append(time.monotonic())
        self.action(info)


def _trace_samples(folder: Path) -> list[dict[str, Any]]:
    events = json.loads((folder / "mlperf_log_trace.json").read_text())["traceEvents"]
    return [e["args"] for e in events if e.get("name") == "Sample" and e.get("ph") == "b"]


@pytest.mark.parametrize(("seed", "qps"), [(1, 2000.0), (7, 3000.0), (42, 700.0)])
def test_the_shards_issue_exactly_the_single_process_plan(
    ray_cluster: Any, tmp_path: Path, seed: int, qps: float
) -> None:
    settings = _server(
        qps, 400, schedule_rng_seed=seed, sample_index_rng_seed=seed + 1, qsl_rng_seed=seed + 2
    )
    recorder = Recorder()
    result = _run(settings, tmp_path, _start_shards=recorder.start)
    eff, _ = effective_settings(settings, _suts.PERFORMANCE, _suts.TOTAL)
    loaded = loadable_sets(eff, _suts.TOTAL, _suts.PERFORMANCE)[0]
    plan = generate_queries(eff, loaded, accuracy=False, seq=SequenceGen())
    expected = sorted(
        zip(plan.scheduled_offsets_ns.tolist(), plan.sample_indices.tolist(), strict=True)
    )
    issued: list[tuple[int, int]] = []
    for k, work in recorder.works.items():
        records = recorder.outcomes[k].records
        assert (records.issued_ns != UNSET).all()  # every query dealt to the shard went out
        offsets = work.plan.scheduled_offsets_ns
        # at its global scheduled time: never before the common start plus its offset
        assert (records.issued_ns >= records.start_ns + offsets).all()
        issued += zip(offsets.tolist(), work.plan.sample_indices.tolist(), strict=True)
    assert sorted(issued) == expected
    assert {len(w.plan.scheduled_offsets_ns) for w in recorder.works.values()} <= {
        plan.query_count // 2,
        plan.query_count - plan.query_count // 2,
    }
    assert result.summary is not None and result.summary.query_count == plan.query_count
    # one shard per node of the multi-node cluster; same host and boot, so offset 0 applied
    assert len({w.node for w in result.workers}) == 2
    for worker in result.workers:
        assert worker.ok and worker.clock_offset_applied_ns == 0
        assert abs(worker.clock_offset_ns) <= worker.clock_uncertainty_ns + 1_000_000


@pytest.mark.parametrize("scenario", [asyncgen.TestScenario.Offline, asyncgen.TestScenario.Server])
def test_accuracy_mode_issues_every_sample_once(
    ray_cluster: Any, tmp_path: Path, scenario: asyncgen.TestScenario
) -> None:
    settings = asyncgen.TestSettings(
        scenario=scenario,
        mode=asyncgen.TestMode.AccuracyOnly,
        server_target_qps=500,
        offline_expected_qps=1000,
    )
    result = _run(settings, tmp_path, qsl=_suts.small_qsl)
    entries = json.loads((tmp_path / "mlperf_log_accuracy.json").read_text())
    assert sorted(e["qsl_idx"] for e in entries) == list(range(100))  # three loaded sets
    assert len({e["seq_id"] for e in entries}) == 100
    for entry in entries:  # each response came back with its own sample
        assert int(entry["data"], 16) == entry["qsl_idx"]
    assert result.valid and result.accuracy_entries == 100
    # Server: every sample is a query; Offline: each shard's part of each set's one query
    assert sum(w.queries_issued for w in result.workers) == (
        100 if scenario is asyncgen.TestScenario.Server else 6
    )
    assert verify(tmp_path) == []


def _layout(folder: Path) -> tuple[list[str], list[str]]:
    """Summary line labels and the detail log's keys (not the run's own warnings/errors,
    which a busy machine may add, nor the workers' entries)."""
    summary = [
        line.split(":")[0].strip()
        for line in (folder / "mlperf_log_summary.txt").read_text().splitlines()
        if ":" in line and "warning" not in line.lower()
    ]
    keys = []
    for line in (folder / "mlperf_log_detail.txt").read_text().splitlines():
        entry = json.loads(line.removeprefix(":::MLLOG "))
        meta = entry["metadata"]
        if not (meta["is_error"] or meta["is_warning"] or entry["key"] == "asyncgen_worker"):
            keys.append(entry["key"])
    return summary, keys


def test_a_merged_run_has_the_single_process_layout(ray_cluster: Any, tmp_path: Path) -> None:
    settings = _server(1000, 500)
    one = asyncgen.run(
        _suts.NullSUT(),
        _suts.qsl(),
        settings,
        log_settings=_logs(tmp_path / "one"),
        audit_config=None,
    )
    merged = _run(settings, tmp_path / "two")
    assert _layout(tmp_path / "one") == _layout(tmp_path / "two")
    assert merged.summary is not None and one.summary is not None
    assert merged.summary.query_count == one.summary.query_count
    assert verify(tmp_path / "two") == []
    results = json.loads((tmp_path / "two" / "mlperf_log_results.json").read_text())
    assert [w["shard"] for w in results["workers"]] == [0, 1]
    assert results["workers"][0]["issue_lag"]["count"] == merged.workers[0].queries_issued
    detail = (tmp_path / "two" / "mlperf_log_detail.txt").read_text()
    assert detail.count('"key": "asyncgen_worker"') == 2
    assert json.loads((tmp_path / "one" / "mlperf_log_results.json").read_text())["workers"] == []
    # asyncgen report reads the merged run and shows each shard's issue lag
    assert main(["report", str(tmp_path / "two"), "-o", str(tmp_path / "report")]) == 0
    page = (tmp_path / "report" / "report.html").read_text()
    assert "<h3>Workers</h3>" in page and "issue lag p99 (ms)" in page


def test_a_killed_worker_ends_the_run_invalid_and_keeps_the_others_records(
    ray_cluster: Any, tmp_path: Path
) -> None:
    struck = _timed(signal_worker(signal.SIGKILL))
    recorder = Recorder(strike=(1, 1.0, struck))
    result = _run(_server(1000, 12_000), tmp_path, _start_shards=recorder.start)
    assert time.monotonic() - struck.at[0] < 8  # promptly: the plan had 11 s to go
    assert not result.valid
    dead, alive = result.workers[1], result.workers[0]
    assert dead.error is not None and "ActorDiedError" in dead.error
    assert dead.queries_lost == dead.queries_planned > 0
    assert any(r.startswith(f"shard 1 lost {dead.queries_lost} queries") for r in result.reasons)
    assert alive.error is None and 0 < alive.queries_issued < alive.queries_planned
    traced = _trace_samples(tmp_path)  # shard 0's records are written: even sequence ids
    assert traced and {t["sample_seq"] % 2 for t in traced} == {0}
    assert len(traced) == alive.queries_issued  # the null SUT answers every sample at once
    # arrival fidelity needs every query's send time: none is made up for the lost ones
    assert result.health is None or result.health.fidelity is None
    assert verify(tmp_path) == []
    assert recorder.closed


def test_a_frozen_worker_is_declared_lost(ray_cluster: Any, tmp_path: Path) -> None:
    struck = _timed(signal_worker(signal.SIGSTOP))
    recorder = Recorder(strike=(0, 1.0, struck))
    options = ScaleOutOptions(poll_s=0.25, silent_after_s=1.5)
    result = _run(
        _server(1000, 12_000), tmp_path, _start_shards=recorder.start, _scale_out_options=options
    )
    assert time.monotonic() - struck.at[0] < 8  # the plan had 11 s to go
    frozen = result.workers[0]
    assert not result.valid and frozen.error is not None and "no answer" in frozen.error
    assert result.workers[1].error is None and result.workers[1].queries_issued > 0
    assert verify(tmp_path) == []


def test_a_factory_that_raises_names_the_shards(ray_cluster: Any, tmp_path: Path) -> None:
    with pytest.raises(asyncgen.RunError, match=r"shard 0.*ConnectionRefusedError"):
        _run(_server(1000, 500), tmp_path, sut=f"{SUTS}:refusing_sut")
    assert "Result is : INVALID" in (tmp_path / "mlperf_log_summary.txt").read_text()
    assert verify(tmp_path) == []


def test_an_interrupted_run_stops_every_shard_and_writes_its_files(
    ray_cluster: Any, tmp_path: Path
) -> None:
    cancel = _timed(lambda info: main_task[0].cancel())  # Ctrl-C, as asyncio.run delivers it
    recorder = Recorder(strike=(0, 1.5, cancel))
    main_task: list[asyncio.Task[Any]] = []

    async def main() -> None:
        main_task.append(asyncio.current_task())  # type: ignore[arg-type]
        await asyncgen.run_test(
            f"{SUTS}:SleepSUT",
            f"{SUTS}:qsl",
            _server(1000, 12_000),
            log_settings=_logs(tmp_path),
            audit_config=None,
            workers=2,
            _start_shards=recorder.start,
        )

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(main())
    assert time.monotonic() - cancel.at[0] < 8  # every wait is bounded (the stop grace: 5 s)
    results = json.loads((tmp_path / "mlperf_log_results.json").read_text())
    assert results["interrupted"] is True
    assert {o.stopped for o in recorder.outcomes.values()} == {True}  # both shards answered
    traced = _trace_samples(tmp_path)
    assert {t["sample_seq"] % 2 for t in traced} == {0, 1}  # both shards' records written
    assert verify(tmp_path) == []
    assert recorder.closed


def test_the_command_line_runs_on_workers(
    ray_cluster: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(
        [
            "run", "-s", "Server", "--qps", "500", "--duration-ms", "300", "--min-queries", "20",
            # VALID on a busy machine too: with both CPUs taken, workers fell 0.57 s behind
            "--set", "server_target_latency_percentile=0.9", "--latency-ms", "60000",
            "--sut", f"{SUTS}:NullSUT", "--qsl", f"{SUTS}:qsl", "--workers", "2",
            "-o", str(tmp_path), "--audit-config", "none", "--progress", "plain",
        ]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert status == 0, out
    assert "2 workers" in out
    results = json.loads((tmp_path / "mlperf_log_results.json").read_text())
    counts = [w["queries_issued"] for w in results["workers"]]
    assert len(counts) == 2 and sum(counts) == results["summary"]["query_count"]


@pytest.fixture(scope="module")
def model_server() -> Any:
    """The digits model server of tests/cli, in a child process."""
    yield from _serve("examples.digits_server")


def test_the_http_adapter_runs_on_every_worker(
    ray_cluster: Any, tmp_path: Path, model_server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(
        [
            "run", "-s", "Server", "--qps", "200", "--duration-ms", "300", "--min-queries", "20",
            "--set", "server_target_latency_percentile=0.9", "--latency-ms", "500",
            "--sut", f"{model_server}/predict", "--qsl", "examples.digits_model:DigitsQSL",
            "--workers", "2", "-o", str(tmp_path), "--audit-config", "none", "-q",
        ]
    )  # fmt: skip
    assert status in (0, 1), capsys.readouterr().err  # the verdict may depend on the machine
    results = json.loads((tmp_path / "mlperf_log_results.json").read_text())
    assert results["failures"] == {}  # every request was answered by the server
    assert [w["queries_issued"] > 0 for w in results["workers"]] == [True, True]
    assert verify(tmp_path) == []


def test_ctrl_c_on_the_command_line_stops_every_worker_and_writes_the_files(
    ray_cluster: Any, tmp_path: Path
) -> None:
    """A driver of its own that joins the running cluster (--ray-address), interrupted with
    SIGINT as a terminal would once its workers are issuing."""
    command = [
        sys.executable, "-m", "asyncgen", "run", "-s", "Server", "--qps", "1000",
        "--duration-ms", "60000", "--min-queries", "50", "--latency-ms", "500",
        "--sut", f"{SUTS}:SleepSUT", "--qsl", f"{SUTS}:qsl", "--workers", "2",
        "--ray-address", ray_cluster.address, "--progress", "plain",
        "--progress-interval", "0.2", "-o", str(tmp_path), "--audit-config", "none",
    ]  # fmt: skip
    with subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as child:
        assert child.stdout is not None
        for line in child.stdout:  # wait until both workers are issuing
            if "2 workers, slowest shard" in line:
                break
        interrupted = time.monotonic()
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=60)
    assert "result " not in out  # no verdict for a run that did not finish
    assert time.monotonic() - interrupted < 15  # the stop grace is 5 s; 59 s of plan were left
    assert child.returncode == 130, err
    assert "interrupted by SIGINT" in err
    results = json.loads((tmp_path / "mlperf_log_results.json").read_text())
    assert results["interrupted"] is True
    traced = _trace_samples(tmp_path)
    assert {t["sample_seq"] % 2 for t in traced} == {0, 1}  # both workers' records written
    assert verify(tmp_path) == []


def _processes_of_session(driver_pid: int) -> list[str]:
    """The processes of the Ray cluster a driver started (its session folder ends in the
    driver's pid), by name."""
    session = re.compile(rf"/session_[0-9_-]+_{driver_pid}\b".encode())
    names = []
    for proc in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError):
            if session.search((proc / "cmdline").read_bytes()):
                names.append((proc / "comm").read_text().strip())
    return names


def test_without_an_address_a_run_starts_a_private_cluster_and_stops_it(
    ray_cluster: Any, tmp_path: Path
) -> None:
    """What a user gets by default: a cluster of its own (never one already running on the
    machine, here the session's), gone when the run ends."""
    command = [
        sys.executable, "-m", "asyncgen", "run", "-s", "Server", "--qps", "500",
        "--duration-ms", "300", "--min-queries", "20", "--latency-ms", "500",
        "--sut", f"{SUTS}:NullSUT", "--qsl", f"{SUTS}:qsl", "--workers", "2",
        "-o", str(tmp_path), "--audit-config", "none", "-q",
    ]  # fmt: skip
    with subprocess.Popen(command, cwd=REPO, stderr=subprocess.PIPE, text=True) as child:
        _, err = child.communicate(timeout=120)
    assert child.returncode in (0, 1), err  # the verdict may depend on the machine
    workers = json.loads((tmp_path / "mlperf_log_results.json").read_text())["workers"]
    assert [w["error"] is None and w["queries_issued"] > 0 for w in workers] == [True, True]
    session_nodes = {node.node_id for node in [ray_cluster.head_node, *ray_cluster.steady]}
    assert not {w["node"] for w in workers} & session_nodes
    deadline = time.monotonic() + 15  # its processes have gone (bounded: they exit as Ray stops)
    while _processes_of_session(child.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _processes_of_session(child.pid) == []


def test_a_lost_node_ends_the_run_invalid(ray_cluster: Any, tmp_path: Path) -> None:
    """Last in the session: it loses one of the session's two nodes for good (adding a node
    of its own is what a busy machine times out on)."""
    kept, doomed = ray_cluster.steady
    lost = _timed(lambda info: ray_cluster.remove_node(doomed, allow_graceful=False))
    recorder = Recorder(strike=(1, 1.0, lost))
    pinned = tuple(
        {"scheduling_strategy": NodeAffinitySchedulingStrategy(n.node_id, soft=False)}
        for n in (kept, doomed)
    )
    options = ScaleOutOptions(actor_options=pinned, call_timeout_s=60)
    result = _run(
        _server(1000, 12_000), tmp_path, _start_shards=recorder.start, _scale_out_options=options
    )
    assert time.monotonic() - lost.at[0] < 8  # Ray or the heartbeat saw it; 11 s were left
    assert [info["node_id"] for info in recorder.infos] == [kept.node_id, doomed.node_id]
    assert not result.valid
    gone = result.workers[1]
    assert gone.error is not None and gone.queries_lost == gone.queries_planned
    assert result.workers[0].error is None and result.workers[0].queries_issued > 0
    assert verify(tmp_path) == []
