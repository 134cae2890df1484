"""``asyncgen sweep`` and ``asyncgen run --slo`` against a server whose capacity is known.

The token server (a child process on 127.0.0.1) has 4 generation slots and spends 50 ms on an
answer (first token after 10 ms, then 8 more 5 ms apart): it serves at most 80 requests/s and
queues the rest, so latency rises with load. The margins: below 0.75 of the capacity the p90
E2E stays near 100 ms, and at 1.5 times it the queue grows by 40 requests a second, so the p90
is several hundred ms; a limit of 250 ms leaves well over 100 ms either side for a busy machine.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from asyncgen.__main__ import main
from asyncgen._cli.sweep import step_settings
from asyncgen._config.validate import validate_settings
from asyncgen._run.sweep import StepSpec
from asyncgen.settings import TestScenario, TestSettings
from tests.cli.test_cli_http import _serve

SLOTS, TTFT_MS, TPOT_MS, TOKENS = 4, 10, 5, 9
CAPACITY_RPS = SLOTS / ((TTFT_MS + (TOKENS - 1) * TPOT_MS) / 1000)  # 80
STEP = CAPACITY_RPS / 4
E2E_SLO_MS = 250
RUN_FILES = {
    "mlperf_log_summary.txt",
    "mlperf_log_detail.txt",
    "mlperf_log_accuracy.json",
    "mlperf_log_trace.json",
    "mlperf_log_results.json",
    "requests.jsonl",
}


@pytest.fixture(scope="module")
def slot_server_url() -> Iterator[str]:
    yield from _serve(
        "examples.token_server",
        *("--slots", str(SLOTS), "--ttft-ms", str(TTFT_MS)),
        *("--tpot-ms", str(TPOT_MS), "--tokens", str(TOKENS)),
    )


@pytest.fixture
def prompts(tmp_path: Path) -> Path:
    path = tmp_path / "prompts.jsonl"
    path.write_text("".join(json.dumps(f"prompt {i}") + "\n" for i in range(32)))
    return path


def _args(command: str, url: str, prompts: Path, outdir: Path, *extra: str) -> list[str]:
    return [
        command, "--sut", url, "--adapter", "openai", "--dataset", str(prompts),
        "--duration-ms", "1000", "--min-queries", "20", "--audit-config", "none",
        "--progress", "off", "-o", str(outdir), *extra,
    ]  # fmt: skip


def _good_from_rows(path: Path, e2e_ms: float) -> tuple[int, int]:
    """(requests, requests meeting the E2E SLO) recomputed from requests.jsonl's times."""
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    good = [
        r
        for r in rows
        if r["failure"] is None and r["completed_ns"] - r["scheduled_ns"] <= e2e_ms * 1e6
    ]
    return len(rows), len(good)


def test_the_best_rate_is_within_one_step_of_the_capacity(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], slot_server_url: str, prompts: Path
) -> None:
    rates = ",".join(f"{STEP * k:g}" for k in (2, 3, 4, 5, 6))  # 40 ... 120
    out = tmp_path / "sweep"
    args = _args("sweep", slot_server_url, prompts, out, "--rates", rates)
    args += ["--slo", f"e2e_ms={E2E_SLO_MS}", "--slo-percentile", "0.9", "--export-requests"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    sweep = json.loads((out / "sweep.json").read_text())
    best = sweep["best_rate"]
    assert best is not None and abs(best - CAPACITY_RPS) <= STEP, sweep
    assert re.search(rf"^best_rate: {best:g} requests/s", printed, re.MULTILINE), printed
    steps = sweep["steps"]
    assert [s["rate"] for s in steps] == sorted(s["rate"] for s in steps)
    # the sweep ends at the first step clearly past saturation (or runs every rate)
    past = [s["achieved_rps"] < 0.8 * s["scheduled_rps"] for s in steps]
    assert True not in past[:-1]
    assert past[-1] or len(steps) == 5
    assert steps[-1]["rate"] > CAPACITY_RPS
    for step in steps:
        folder = out / step["outdir"]
        assert {p.name for p in folder.iterdir()} == RUN_FILES
        goodput = json.loads((folder / "mlperf_log_results.json").read_text())["goodput"]
        requests, good = _good_from_rows(folder / "requests.jsonl", E2E_SLO_MS)
        assert (requests, good) == (goodput["requests"], goodput["good_requests"])
        assert step["goodput_rps"] == pytest.approx(good / goodput["duration_s"])
        assert step["slos_met"] == goodput["slos_met"]
        assert set(step) >= {"achieved_rps", "e2e_p50_ms", "e2e_p99_ms", "ttft_p99_ms"}


def test_auto_ends_within_its_bound_of_steps(
    tmp_path: Path, slot_server_url: str, prompts: Path
) -> None:
    out = tmp_path / "auto"
    args = _args("sweep", slot_server_url, prompts, out, "--rates", "auto", "-q")
    args += ["--auto-steps", "3", "--bisect-steps", "2", "--slo", f"e2e_ms={E2E_SLO_MS}"]
    args += ["--slo-percentile", "0.9"]
    assert main(args) == 0
    sweep = json.loads((out / "sweep.json").read_text())
    steps = sweep["steps"]
    assert steps[0]["kind"] == "saturation" and steps[0]["outdir"] == "00-saturation"
    # the saturation step keeps every slot busy: close to the capacity, never above it
    assert 0.5 * CAPACITY_RPS <= sweep["saturation_rps"] <= 1.05 * CAPACITY_RPS
    assert 2 <= len(steps) <= 1 + 3 + 2
    assert sweep["best_rate"] is not None
    assert sweep["best_rate"] <= 1.05 * CAPACITY_RPS


def test_a_sweep_where_no_step_meets_the_slos_exits_1(
    tmp_path: Path, slot_server_url: str, prompts: Path
) -> None:
    out = tmp_path / "none"
    args = _args("sweep", slot_server_url, prompts, out, "--rates", "20", "-q")
    args += ["--slo", "ttft_ms=1"]  # the server waits 10 ms before the first token
    assert main(args) == 1
    assert json.loads((out / "sweep.json").read_text())["best_rate"] is None


def test_run_with_slos_reports_goodput(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], slot_server_url: str, prompts: Path
) -> None:
    out = tmp_path / "run"
    args = _args("run", slot_server_url, prompts, out, "-s", "Server", "--qps", "20")
    args += ["--slo", "ttft_ms=1", "--slo", "tpot_ms=200", "--slo", f"e2e_ms={E2E_SLO_MS}"]
    main(args)  # the verdict is LoadGen's: not the point here
    printed = capsys.readouterr().out
    assert re.search(r"^goodput\s+0\.0 requests/s, 0\.0 output tokens/s\s*$", printed, re.M)
    assert re.search(r"^met every SLO\s+0 of \d+ requests \(0\.0%\)", printed, re.M)
    assert re.search(r"^SLO TTFT\s+p99 [\d.]+ ms > 1 ms: MISSED \(0\.0% met it\)", printed, re.M)
    assert re.search(r"^SLO TPOT\s+p99 [\d.]+ ms <= 200 ms: met \(100\.0% met", printed, re.M)
    assert re.search(r"^SLOs\s+MISSED at p99: TTFT\s*$", printed, re.M)
    goodput = json.loads((out / "mlperf_log_results.json").read_text())["goodput"]
    assert goodput["slos_met"] is False and goodput["requests_per_second"] == 0.0
    assert set(goodput["slos"]) == {"ttft_ms", "tpot_ms", "e2e_ms"}
    assert goodput["slos"]["tpot_ms"]["limit"] == 200
    assert 4.0 <= goodput["slos"]["tpot_ms"]["observed"] < 200
    assert goodput["slos"]["tpot_ms"]["share_met"] == 1.0
    # the reference's summary file is untouched: no goodput in it
    assert "goodput" not in (out / "mlperf_log_summary.txt").read_text().lower()


def test_a_sweep_of_closed_loops(tmp_path: Path, slot_server_url: str, prompts: Path) -> None:
    # one user: 50 ms an answer; 16 users share 4 slots: about 200 ms
    out = tmp_path / "closed"
    args = _args("sweep", slot_server_url, prompts, out, "--concurrencies", "16,1", "-q")
    args += ["--slo", "e2e_ms=125", "--slo-percentile", "0.9"]
    assert main(args) == 0
    sweep = json.loads((out / "sweep.json").read_text())
    assert [s["concurrency"] for s in sweep["steps"]] == [1, 16]
    assert [s["slos_met"] for s in sweep["steps"]] == [True, False]
    assert sweep["best_concurrency"] == 1 and sweep["best_rate"] is None
    # more users than slots: the server's capacity, not the users, limits the rate
    assert sweep["steps"][1]["achieved_rps"] <= 1.05 * CAPACITY_RPS


def _chats(tmp_path: Path) -> Path:
    path = tmp_path / "chats.jsonl"
    records = [
        {"messages": [{"role": "user", "content": f"conversation {i} turn {k}"} for k in range(n)]}
        for i, n in enumerate([3, 1, 2, 2, 3, 1, 2, 3])
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_a_sweep_of_multi_turn_closed_loops_exports_each_turn(
    tmp_path: Path, slot_server_url: str, tiny_tokenizer: Path
) -> None:
    out = tmp_path / "turns"
    args = _args("sweep", slot_server_url, _chats(tmp_path), out, "--concurrencies", "2", "-q")
    args += ["--multi-turn", "-O", "api=chat", "--tokenizer", str(tiny_tokenizer)]
    args += ["--slo", f"e2e_ms={E2E_SLO_MS}", "--slo-percentile", "0.9", "--export-requests"]
    assert main(args) in (0, 1)  # two users on four slots: the verdict is not the point
    step = json.loads((out / "sweep.json").read_text())["steps"][0]
    folder = out / step["outdir"]
    results = json.loads((folder / "mlperf_log_results.json").read_text())
    rows = [json.loads(line) for line in (folder / "requests.jsonl").read_text().splitlines()]
    requests, good = _good_from_rows(folder / "requests.jsonl", E2E_SLO_MS)
    assert (requests, good) == (results["goodput"]["requests"], results["goodput"]["good_requests"])
    turns = {t["turn"]: t["count"] for t in results["turns"]}
    assert max(turns) >= 1 and sum(turns.values()) == requests
    assert {r["turn"] for r in rows} == set(turns)
    assert all((r["input_tokens"] is None) == (r["turn"] > 0) for r in rows)


def test_auto_with_a_concurrency_limit_saturates_a_closed_loop_of_that_many(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], slot_server_url: str, prompts: Path
) -> None:
    out = tmp_path / "limited"
    args = _args("sweep", slot_server_url, prompts, out, "--rates", "auto", "--max-concurrency")
    args += ["2", "--auto-steps", "1", "--bisect-steps", "0", "--slo", "e2e_ms=10000"]
    assert main(args) == 0
    assert "saturation (a closed loop of 2 users)" in capsys.readouterr().out
    sweep = json.loads((out / "sweep.json").read_text())
    saturation, rate = sweep["steps"]
    # two of the four slots: half the capacity at most
    assert 0.25 * CAPACITY_RPS <= sweep["saturation_rps"] <= 0.55 * CAPACITY_RPS
    detail = (out / saturation["outdir"] / "mlperf_log_detail.txt").read_text()
    assert '"concurrency":2' in detail.replace(" ", "")
    results = json.loads((out / rate["outdir"] / "mlperf_log_results.json").read_text())
    assert results["queue_wait"]["count"] == results["goodput"]["requests"]  # the limit held


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--rates", "5", "--arrival", "trace:t.jsonl"], "a trace replay (--arrival trace:FILE)"),
        (["--rates", "auto", "--multi-turn"], "--rates auto with --multi-turn"),
        (["--concurrencies", "2", "--max-concurrency", "4"], "leave server_max_concurrency"),
        (["--concurrencies", "2", "--arrival", "gamma"], "leave server_arrival unset"),
    ],
)
def test_steps_that_cannot_run_are_refused_before_the_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    args = ["sweep", "--sut", "no_such_module:sut", "-o", str(tmp_path), "-q", *extra]
    assert main(args) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "sweep.json").exists()


def test_each_kind_of_step_keeps_what_applies_to_it() -> None:
    base = TestSettings(
        scenario=TestScenario.Server,
        server_arrival="gamma",
        server_burstiness=0.5,
        server_ramp_up_ms=500,
        server_max_concurrency=8,
    )
    rate = step_settings(base, StepSpec("rate", 40.0))
    assert (rate.server_target_qps, rate.server_arrival, rate.server_max_concurrency) == (
        40.0,
        "gamma",
        8,
    )
    saturation = step_settings(base, StepSpec("saturation"))
    assert saturation.server_concurrency == 8 and saturation.server_max_concurrency == 0
    assert (saturation.server_arrival, saturation.server_ramp_up_ms) == ("poisson", 0)
    unlimited = attrs.evolve(base, server_max_concurrency=0)
    offline = step_settings(unlimited, StepSpec("saturation"))
    assert offline.scenario is TestScenario.Offline and offline.server_arrival == "poisson"
    for settings in (rate, saturation, offline):
        validate_settings(settings)
