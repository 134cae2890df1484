"""``asyncgen run``'s Server workload options: how they map to settings, and whole runs against a
real server on 127.0.0.1 — arrival processes, a concurrency limit, closed-loop users,
multi-turn conversations and a trace replayed from its own records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from asyncgen.__main__ import main
from asyncgen._cli import _parser
from asyncgen._cli.workload import workload_changes
from asyncgen._errors import ConfigError
from asyncgen.datasets import Tokenizer
from tests.helpers import detail_values
from tests.http.llm_server import Seen


def _changes(*argv: str) -> dict[str, object]:
    _, run_parser = _parser()
    return workload_changes(run_parser.parse_args(["-s", "Server", "--sut", "x:y", *argv]))


def test_each_option_sets_its_field() -> None:
    assert _changes() == {}
    assert _changes("--arrival", "constant") == {
        "server_arrival": "constant",
        "server_trace_path": "",
    }
    assert _changes("--burstiness", "0.5") == {
        "server_burstiness": 0.5,
        "server_arrival": "gamma",
        "server_trace_path": "",
    }
    assert _changes("--arrival", "trace:t.jsonl", "--trace-speed", "4") == {
        "server_arrival": "trace",
        "server_trace_path": "t.jsonl",
        "server_trace_speed": 4.0,
    }
    assert _changes("--ramp-up-s", "2.5", "--max-concurrency", "8") == {
        "server_ramp_up_ms": 2500,
        "server_max_concurrency": 8,
    }
    assert _changes("--concurrency", "4", "--multi-turn", "--think-time-ms", "250") == {
        "server_concurrency": 4,
        "server_multi_turn": True,
        "server_think_time_ms": 250.0,
    }


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--arrival", "constant", "--burstiness", "2"], "--burstiness is the gamma shape"),
        (["--trace-speed", "2"], "--trace-speed needs --arrival trace:FILE"),
        (["--ramp-up-s", "-1"], "--ramp-up-s must be 0 or more"),
        (["--concurrency", "0"], "--concurrency must be at least 1"),
        (["--concurrency", "2", "--qps", "5"], "it replaces --qps"),
    ],
)
def test_misused_options_are_errors(argv: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _changes(*argv)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--arrival", "uniform"], "unknown arrival process 'uniform'"),
        (["--arrival", "trace"], "--arrival trace needs a file"),
        (["--concurrency", "2", "--arrival", "gamma"], "leave server_arrival unset"),
        (["--think-time-ms", "5"], "server_think_time_ms needs server_multi_turn"),
    ],
)
def test_the_command_line_refuses_them_with_status_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status = _exit_status(["run", "-s", "Server", "--sut", "x.py:sut", *argv])
    assert status == 2
    assert message in capsys.readouterr().err


def _exit_status(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exit_:  # argparse errors
        return int(exit_.code or 0)


def _run(tmp_path: Path, url: str, *extra: str) -> list[str]:
    return [
        "run", "-s", "Server", "--duration-ms", "200", "--min-queries", "30",
        "--latency-ms", "1000", "--set", "ttft_latency=1000000000",
        "--set", "tpot_latency=1000000000", "--sut", url, "--adapter", "openai",
        "-o", str(tmp_path / "logs"), "--audit-config", "none", "--progress", "off", *extra,
    ]  # fmt: skip


def _prompts(tmp_path: Path, n: int = 8) -> str:
    path = tmp_path / "prompts.jsonl"
    path.write_text("".join(json.dumps({"prompt": f"p{i}"}) + "\n" for i in range(n)))
    return str(path)


def _detail(tmp_path: Path) -> dict[str, object]:
    return detail_values(tmp_path / "logs" / "mlperf_log_detail.txt")


def test_a_gamma_process_is_recorded_in_the_detail_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], llm: tuple[str, list[Seen]]
) -> None:
    url, seen = llm
    argv = _run(tmp_path, url, "--dataset", _prompts(tmp_path), "--qps", "300")
    status = main([*argv, "--arrival", "gamma", "--burstiness", "0.5", "--ramp-up-s", "0.05"])
    out = capsys.readouterr().out
    assert status in (0, 1), out  # a short run may miss early stopping: not the point here
    assert "gamma arrivals (burstiness 0.5), ramp-up 0.05 s" in out
    assert _detail(tmp_path)["arrival_process"] == {
        "kind": "gamma",
        "seed": 0,
        "rate_qps": 300.0,
        "burstiness": 0.5,
        "ramp_up_ns": 50_000_000,
    }
    assert len(seen) >= 30


def test_a_closed_loop_and_a_concurrency_limit_in_the_result_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], llm: tuple[str, list[Seen]]
) -> None:
    url, _ = llm
    argv = _run(tmp_path, url, "--dataset", _prompts(tmp_path))
    assert main([*argv, "--concurrency", "2"]) in (0, 1)
    out = capsys.readouterr().out
    assert "closed loop of 2 users" in out  # the banner
    assert "(closed loop, 2 users)" in out  # the completed samples/s row
    assert _detail(tmp_path)["session_options"] == {"concurrency": 2}
    assert main([*argv, "--qps", "400", "--max-concurrency", "3"]) in (0, 1)
    out = capsys.readouterr().out
    assert "at most 3 in flight" in out
    assert "queueing" in out and "waited for a slot" in out


def _chats(tmp_path: Path) -> str:
    path = tmp_path / "chats.jsonl"
    records = [
        {"messages": [{"role": "user", "content": f"c{i} u{k}"} for k in range(n)]}
        for i, n in enumerate([2, 3, 1])
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return str(path)


def test_multi_turn_conversations_from_a_chat_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], llm: tuple[str, list[Seen]]
) -> None:
    url, seen = llm
    argv = _run(tmp_path, url, "--dataset", _chats(tmp_path), "--qps", "50")
    argv += ["--set", "performance_issue_unique=true", "--multi-turn", "--think-time-ms", "5"]
    assert main([*argv, "-O", "api=chat"]) in (0, 1)
    out = capsys.readouterr().out
    assert "multi-turn, think time 5 ms" in out
    assert "turn 1 " in out and "turn 3 " in out
    users = [[m["content"] for m in s.json["messages"] if m["role"] == "user"] for s in seen]
    assert sorted(u[-1] for u in users) == sorted(
        ["c0 u0", "c0 u1", "c1 u0", "c1 u1", "c1 u2", "c2 u0"]
    )
    answers = [m["content"] for s in seen for m in s.json["messages"] if m["role"] == "assistant"]
    assert answers and set(answers) == {" w0 w1 w2"}  # the server's own answers
    seen.clear()
    assert main(argv) == 2  # the completions API cannot take chat messages
    assert "--multi-turn sends chat messages: use -O api=chat" in capsys.readouterr().err
    prompts = _run(tmp_path, url, "--dataset", _prompts(tmp_path), "--multi-turn")
    assert main(prompts) == 2
    assert "--multi-turn needs conversations" in capsys.readouterr().err
    assert not seen


def test_a_trace_replays_its_own_records(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    llm: tuple[str, list[Seen]],
    tiny_tokenizer: Path,
) -> None:
    url, seen = llm
    records = [
        {"timestamp": 0, "input_length": 40, "output_length": 5, "hash_ids": [1, 2, 3]},
        {"timestamp": 20, "input_length": 35, "output_length": 7, "hash_ids": [1, 2, 4]},
        {"timestamp": 10, "input_length": 9, "output_length": 4},
    ]
    trace = tmp_path / "trace.jsonl"
    trace.write_text("".join(json.dumps(r) + "\n" for r in records))
    argv = _run(tmp_path, url, "--arrival", f"trace:{trace}", "--trace-speed", "2")
    tokens = ["--tokenizer", str(tiny_tokenizer), "-D", "block_tokens=16", "--export-requests"]
    assert main([*argv, *tokens]) == 1
    out = capsys.readouterr().out
    assert "the trace ended after 3 queries" in out  # short of --min-queries 30
    export = (tmp_path / "logs" / "requests.jsonl").read_text().splitlines()
    rows = {row["sample_index"]: row for row in map(json.loads, export)}
    assert {i: row["input_tokens"] for i, row in rows.items()} == {0: 40, 1: 35, 2: 9}
    tokenizer = Tokenizer.from_file(tiny_tokenizer)
    got = {s.json["max_tokens"]: s.json["prompt"] for s in seen}
    assert sorted(got) == [4, 5, 7] and [s.json["max_tokens"] for s in seen] == [5, 4, 7]
    assert [tokenizer.count(got[n]) for n in (5, 7, 4)] == [40, 35, 9]
    first, second = (tokenizer.encode(got[n]) for n in (5, 7))
    assert first[:32] == second[:32] and first[32:35] != second[32:35]  # shared blocks 1, 2
    seen.clear()
    assert main(argv) == 2  # no tokenizer, no dataset: nothing to make the prompts with
    assert "needs the server's tokenizer" in capsys.readouterr().err
