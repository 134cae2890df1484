"""Token-shaped requests, embeddings and the API key, seen by a real server on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

import asyncgen
from asyncgen.datasets import ConversationQSL, ExactText, SyntheticQSL, Tokenizer
from asyncgen.http import FailureCounts, OpenAISUT, Payload
from tests.helpers import log_to, short_settings
from tests.http.helpers import ListSource, answer
from tests.http.llm_server import EOS_AFTER, REQUESTS, Seen, make_app, serve


@pytest_asyncio.fixture
async def llm() -> AsyncIterator[tuple[str, list[Seen]]]:
    app = make_app()
    async with serve(app) as url:
        yield url, app[REQUESTS]


@pytest.fixture(scope="module")
def exact(tiny_tokenizer: Path) -> ExactText:
    return ExactText(Tokenizer.from_file(tiny_tokenizer))


def _token_settings(**extra: object) -> asyncgen.TestSettings:
    return short_settings(
        asyncgen.TestScenario.Server,
        server_target_qps=400,
        use_token_latencies=True,
        server_target_latency_ns=10**9,
        ttft_latency=10**9,
        tpot_latency=10**9,
        **extra,
    )


@pytest.mark.asyncio
@pytest.mark.parametrize("api", ["completions", "chat"])
async def test_a_synthetic_run_sends_exact_prompts_and_reports_token_counts(
    llm: tuple[str, list[Seen]], exact: ExactText, tmp_path: Path, api: str
) -> None:
    url, seen = llm
    qsl = SyntheticQSL(exact, isl=120, isl_stdev=40, osl=12, osl_stdev=4, samples=64, seed=9)
    by_prompt = {qsl.prompt(i): i for i in range(64)}
    async with OpenAISUT(url, qsl, api=api, ignore_eos=True) as sut:
        result = await asyncgen.run_test(
            sut, qsl, _token_settings(), log_settings=log_to(tmp_path), audit_config=None
        )
    assert result.failures == {} and not result.missing_samples  # (too short to be VALID)
    assert len(seen) == result.summary.sample_count  # type: ignore[union-attr]
    sent = []
    for request in seen:
        body = request.json
        prompt = body["prompt"] if api == "completions" else body["messages"][0]["content"]
        index = by_prompt[prompt]
        assert exact.tokenizer.count(prompt) == qsl.input_tokens(index)
        assert body["max_tokens"] == qsl.output_lengths[index]
        assert body["ignore_eos"] is True and body["stream"] is True
        sent.append(index)
    tokens = result.tokens
    assert tokens is not None and tokens.input is not None and tokens.output is not None
    assert sorted(tokens.input_per_sample) == sorted(qsl.input_tokens(i) for i in sent)
    # ignore_eos: the server generated exactly max_tokens, and asyncgen counted them
    assert sorted(tokens.output_per_sample) == sorted(qsl.output_lengths[i] for i in sent)
    saved = json.loads(result.files["results"].read_text())["tokens"]
    assert saved["input"]["total"] == tokens.input.total
    assert saved["output"]["count"] == len(sent)


@pytest.mark.asyncio
async def test_without_ignore_eos_the_server_may_stop_early(
    llm: tuple[str, list[Seen]], exact: ExactText
) -> None:
    url, seen = llm
    qsl = SyntheticQSL(exact, isl=30, osl=10, samples=2)
    async with OpenAISUT(url, qsl) as sut:
        first, _ = await answer(sut, [0, 1])
    assert "ignore_eos" not in seen[0].json and seen[0].json["max_tokens"] == 10
    assert first.outcome[1][1] == EOS_AFTER


@pytest.mark.asyncio
async def test_the_sut_max_tokens_wins_over_the_data(
    llm: tuple[str, list[Seen]], exact: ExactText
) -> None:
    url, seen = llm
    qsl = SyntheticQSL(exact, isl=30, osl=10, samples=1)
    async with OpenAISUT(url, qsl, max_tokens=5, ignore_eos=True) as sut:
        (sample,) = await answer(sut, [0])
    assert seen[0].json["max_tokens"] == 5 and sample.outcome[1][1] == 5


@pytest.mark.asyncio
async def test_a_conversation_with_a_system_text_goes_to_the_chat_api(
    llm: tuple[str, list[Seen]], tmp_path: Path, exact: ExactText
) -> None:
    url, seen = llm
    path = tmp_path / "chat.jsonl"
    record = {
        "messages": [
            {"role": "system", "content": "Be terse."},
            {"role": "user", "content": "Name a color"},
            {"role": "assistant", "content": "Blue, obviously"},
        ]
    }
    path.write_text(json.dumps(record) + "\n")
    qsl = ConversationQSL(path, tokenizer=exact.tokenizer)
    await qsl.load_samples([0])
    async with OpenAISUT(url, qsl, api="chat") as sut:
        await answer(sut, [0])
    assert seen[0].path == "/v1/chat/completions"
    assert seen[0].json["messages"] == record["messages"][:2]
    assert seen[0].json["max_tokens"] == exact.tokenizer.count("Blue, obviously")


@pytest.mark.asyncio
async def test_embeddings_are_sent_whole_and_not_streamed(llm: tuple[str, list[Seen]]) -> None:
    url, seen = llm
    source = ListSource(
        [Payload(json={"prompt": "embed me", "max_tokens": 9}), Payload(json="plain")]
    )
    sut = OpenAISUT(
        url, source, api="embeddings", model="e5", ignore_eos=True, extra_body={"dimensions": 2}
    )
    async with sut:
        first, second = await answer(sut, [0, 1])
    assert [s.path for s in seen] == ["/v1/embeddings"] * 2
    assert seen[0].json == {"input": "embed me", "model": "e5", "dimensions": 2}
    assert seen[1].json["input"] == "plain"
    kind, (data, n_tokens) = first.outcome
    assert kind == "complete" and n_tokens is None
    assert json.loads(data)["data"][0]["embedding"] == [0.25, -0.5]
    assert [kind for kind, _ in second.events] == ["complete"]


@pytest.mark.asyncio
async def test_embeddings_failures(llm: tuple[str, list[Seen]]) -> None:
    url, _ = llm
    payloads = [Payload(json={"input": "fail"}), Payload(json={"input": "empty"})]
    payloads.append(Payload(json={"messages": [{"role": "user", "content": "x"}]}))
    async with OpenAISUT(url, ListSource(payloads), api="embeddings") as sut:
        failed = await answer(sut, [0, 1, 2])
    reasons = [s.outcome[1] for s in failed]
    assert reasons[0].startswith("http_status: HTTP 400")
    assert reasons[1].startswith("malformed: response has no embeddings")
    assert reasons[2].startswith("other: cannot build the request") and "'messages'" in reasons[2]
    assert sut.failures == FailureCounts(http_status=1, malformed=1, other=1)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, "Bearer from-env"),
        ({"api_key": "given"}, "Bearer given"),
        ({"api_key": ""}, None),
        ({"headers": {"authorization": "Basic abc"}}, "Basic abc"),
    ],
)
async def test_the_api_key_comes_from_openai_api_key(
    llm: tuple[str, list[Seen]],
    monkeypatch: pytest.MonkeyPatch,
    options: dict[str, Any],
    expected: str | None,
) -> None:
    url, seen = llm
    monkeypatch.setenv("OPENAI_API_KEY", "from-env")
    async with OpenAISUT(url, ListSource([Payload(json="hi")]), **options) as sut:
        await answer(sut, [0])
    assert seen[0].headers.get("Authorization") == expected


def test_unknown_api_is_refused() -> None:
    with pytest.raises(ValueError, match="'completions', 'chat' or 'embeddings'"):
        OpenAISUT("http://127.0.0.1:9", ListSource([]), api="rerank")  # type: ignore[arg-type]
