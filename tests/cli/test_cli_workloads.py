"""``asyncgen run`` with token-shaped data against a real server on 127.0.0.1: synthetic
prompts, conversation files, ``--tokenizer``, ignore_eos, embeddings and the API key."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from asyncgen.__main__ import main
from asyncgen.datasets import Tokenizer
from tests.http.llm_server import Seen


def _run(tmp_path: Path, url: str, dataset: str, *extra: str) -> list[str]:
    return [
        "run", "-s", "Server", "--qps", "200", "--duration-ms", "200", "--min-queries", "40",
        "--latency-ms", "1000", "--set", "ttft_latency=1000000000",
        "--set", "tpot_latency=1000000000", "--sut", url, "--adapter", "openai",
        "--dataset", dataset, "-o", str(tmp_path / "logs"), "--audit-config", "none",
        "--progress", "off", *extra,
    ]  # fmt: skip


def _results(tmp_path: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads(
        (tmp_path / "logs" / "mlperf_log_results.json").read_text()
    )
    return data


SYNTHETIC = "synthetic:isl=64,isl_stdev=16,isl_max=100,osl=8,osl_stdev=2,samples=50"


def test_synthetic_prompts_are_exact_and_max_tokens_arrive(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    llm: tuple[str, list[Seen]],
    tiny_tokenizer: Path,
) -> None:
    url, seen = llm
    args = _run(tmp_path, url, SYNTHETIC, "--tokenizer", str(tiny_tokenizer))
    status = main([*args, "-O", "ignore_eos=true"])
    out = capsys.readouterr().out
    assert status in (0, 1), out  # a short run may miss early stopping: not the point here
    assert "SyntheticQSL(isl=64,isl_stdev=16,isl_max=100,osl=8,osl_stdev=2,samples=50)" in out
    tokenizer = Tokenizer.from_file(tiny_tokenizer)
    lengths = [tokenizer.count(r.json["prompt"]) for r in seen]
    assert len(seen) >= 40 and all(1 <= n <= 100 for n in lengths)
    assert all(r.json["ignore_eos"] is True and r.json["max_tokens"] >= 1 for r in seen)
    tokens = _results(tmp_path)["tokens"]
    assert isinstance(tokens, dict)
    assert tokens["input"]["total"] == sum(lengths)
    assert tokens["output"]["total"] == sum(r.json["max_tokens"] for r in seen)
    assert re.search(r"^input tokens\s+mean [\d.]+\s+p50 \d+", out, re.MULTILINE)
    assert re.search(r"^output tokens\s+mean [\d.]+", out, re.MULTILINE)


def test_the_same_settings_send_the_same_prompts(
    tmp_path: Path, llm: tuple[str, list[Seen]], tiny_tokenizer: Path
) -> None:
    url, seen = llm
    runs = []
    for seed in ("1", "1", "2"):
        args = _run(tmp_path, url, SYNTHETIC, "--tokenizer", str(tiny_tokenizer), "-q")
        assert main([*args, "--set", f"qsl_rng_seed={seed}"]) in (0, 1)
        runs.append(sorted(r.json["prompt"] for r in seen))
        seen.clear()
    assert runs[0] == runs[1] != runs[2]


@pytest.mark.parametrize(
    ("dataset", "tokenizer", "message"),
    [
        (SYNTHETIC, None, "give --tokenizer PATH"),
        (SYNTHETIC, "missing", "no tokenizer.json here"),
        (
            "synthetic:isl=5,isl_stdv=2",
            "tiny",
            "unknown key 'isl_stdv' (did you mean 'isl_stdev'?)",
        ),
    ],
)
def test_synthetic_errors_exit_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    llm: tuple[str, list[Seen]],
    tiny_tokenizer: Path,
    dataset: str,
    tokenizer: str | None,
    message: str,
) -> None:
    paths = {"tiny": str(tiny_tokenizer), "missing": str(tmp_path)}
    extra = ["--tokenizer", paths[tokenizer]] if tokenizer else []
    assert main(_run(tmp_path, llm[0], dataset, *extra)) == 2
    assert message in capsys.readouterr().err


def test_sharegpt_first_turns_with_the_answer_length(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    llm: tuple[str, list[Seen]],
    tiny_tokenizer: Path,
) -> None:
    url, seen = llm
    records = [
        {"conversations": [{"from": "human", "value": f"question {i}"},
                           {"from": "gpt", "value": "answer " * (i % 5 + 1)}]}
        for i in range(30)
    ] + [{"conversations": []}]  # fmt: skip
    path = tmp_path / "sharegpt.json"
    path.write_text(json.dumps(records))
    args = _run(tmp_path, url, str(path), "--tokenizer", str(tiny_tokenizer))
    assert main(args) in (0, 1)
    captured = capsys.readouterr()
    assert "1 records without a user turn were left out" in captured.err
    assert "QSL ConversationQSL(sharegpt.json) (30 samples)" in captured.out
    tokenizer = Tokenizer.from_file(tiny_tokenizer)
    for request in seen:
        i = int(request.json["prompt"].split()[1])
        assert request.json["max_tokens"] == tokenizer.count("answer " * (i % 5 + 1))


def test_chat_files_with_a_system_message_need_the_chat_api(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], llm: tuple[str, list[Seen]]
) -> None:
    url, seen = llm
    path = tmp_path / "chat.jsonl"
    message = [{"role": "system", "content": "Short."}, {"role": "user", "content": "Hi"}]
    path.write_text(json.dumps({"messages": message}) + "\n")
    assert main(_run(tmp_path, url, str(path))) == 2
    assert "1 conversations have a system message" in capsys.readouterr().err
    assert main(_run(tmp_path, url, str(path), "-O", "api=chat")) in (0, 1)
    assert seen and all(r.json["messages"] == message for r in seen)
    assert all("max_tokens" not in r.json for r in seen)  # no tokenizer: the server decides


def test_format_requests_sends_chat_bodies_whole(
    tmp_path: Path, llm: tuple[str, list[Seen]]
) -> None:
    url, seen = llm
    path = tmp_path / "bodies.jsonl"
    body = {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
                         {"role": "user", "content": "c"}], "temperature": 0.5}  # fmt: skip
    path.write_text(json.dumps(body) + "\n")
    args = _run(tmp_path, url, str(path), "-O", "api=chat", "-D", "format=requests", "-q")
    assert main(args) in (0, 1)
    assert seen[0].json["messages"] == body["messages"] and seen[0].json["temperature"] == 0.5


def test_embeddings_run_without_token_mode(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    llm: tuple[str, list[Seen]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, seen = llm
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    path = tmp_path / "texts.jsonl"
    path.write_text("".join(json.dumps(f"text {i}") + "\n" for i in range(10)))
    args = _run(tmp_path, url, str(path), "-O", "api=embeddings", "-O", "model=e5")
    assert main(args) in (0, 1)  # early stopping may want more queries: not the point
    out = capsys.readouterr().out
    assert re.search(r"^failures\s+0\s*$", out, re.MULTILINE), out
    assert seen and all(r.path == "/v1/embeddings" for r in seen)
    assert all(r.headers["Authorization"] == "Bearer sk-test" for r in seen)
    assert set(seen[0].json) == {"input", "model"}
    results = _results(tmp_path)
    assert results["summary"]["first_token_latency"] is None  # type: ignore[index]
    assert results["tokens"] is None


def test_tokenizer_needs_a_dataset(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], tiny_tokenizer: Path
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "-s", "Server", "--sut", "x:y", "--tokenizer", str(tiny_tokenizer)])
    assert exit_info.value.code == 2
    assert "--tokenizer needs --dataset" in capsys.readouterr().err
