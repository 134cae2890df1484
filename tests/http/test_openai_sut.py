"""OpenAISUT against an OpenAI-style token server on 127.0.0.1."""

from __future__ import annotations

import json
from typing import Any

import pytest

from asyncgen.http import FailureCounts, OpenAISUT, Payload
from tests.http.conftest import Server
from tests.http.helpers import ListSource, Sample, answer, replying


def openai(url: str, *prompts: Any, **options: Any) -> OpenAISUT:
    return OpenAISUT(url, ListSource([Payload(json=p) for p in prompts]), **options)


def tokens_of(sample: Sample) -> list[str]:
    return [kind for kind, _ in sample.events]


@pytest.mark.asyncio
@pytest.mark.parametrize("api", ["completions", "chat"])
async def test_streamed_answer_reports_first_token_then_completes_with_usage(
    server: Server, api: str
) -> None:
    sut = openai(server.url, "hello", api=api, extra_body={"tokens": 5, "usage_tokens": 42})
    async with sut:
        (sample,) = await answer(sut, [0])
    assert sample.events == [
        ("first_token", b" t0"),
        ("complete", (b" t0 t1 t2 t3 t4", 42)),  # the usage count, not the 5 chunks
    ]
    sent = server.state.requests[0]["json"]
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}
    if api == "chat":
        assert sent["messages"] == [{"role": "user", "content": "hello"}]
    else:
        assert sent["prompt"] == "hello"
    assert sut.failures == FailureCounts()


@pytest.mark.asyncio
@pytest.mark.parametrize("api", ["completions", "chat"])
async def test_without_usage_the_chunks_are_counted(server: Server, api: str) -> None:
    sut = openai(server.url, "hi", api=api, include_usage=False, extra_body={"tokens": 6})
    async with sut:
        (sample,) = await answer(sut, [0])
    assert sample.outcome == ("complete", (b" t0 t1 t2 t3 t4 t5", 6))
    assert "stream_options" not in server.state.requests[0]["json"]


@pytest.mark.asyncio
@pytest.mark.parametrize("api", ["completions", "chat"])
async def test_non_streamed_answer_is_first_token_and_completion(server: Server, api: str) -> None:
    sut = openai(server.url, {"prompt": "hi"}, api=api, stream=False, extra_body={"tokens": 3})
    async with sut:
        (sample,) = await answer(sut, [0])
    assert sample.events == [("first_token", b" t0 t1 t2"), ("complete", (b" t0 t1 t2", 3))]
    assert server.state.requests[0]["json"]["stream"] is False


@pytest.mark.asyncio
async def test_request_carries_model_max_tokens_key_and_extra_fields(server: Server) -> None:
    sut = openai(
        f"{server.url}/api/v1",
        {"messages": [{"role": "system", "content": "be brief"}], "max_tokens": 99},
        api="chat",
        model="llama",
        max_tokens=7,
        api_key="sk-test",
        extra_body={"temperature": 0},
    )
    async with sut:
        (sample,) = await answer(sut, [0])
    assert sample.outcome[0] == "complete"
    seen = server.state.requests[0]
    assert seen["path"] == "/api/v1/chat/completions"
    assert seen["Authorization"] == "Bearer sk-test"
    assert seen["json"]["model"] == "llama" and seen["json"]["max_tokens"] == 7
    assert seen["json"]["temperature"] == 0


@pytest.mark.asyncio
async def test_one_connection_carries_stream_after_stream(server: Server) -> None:
    async with openai(server.url, "a") as sut:
        for _ in range(5):
            (sample,) = await answer(sut, [0])
            assert sample.outcome[0] == "complete"
        assert sut.connections_opened == 1


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("mode", "kind", "detail"),
    [
        ("malformed", "malformed", "stream event is not JSON"),
        ("truncate", "malformed", "connection closed mid-body (truncated)"),
        ("no_done", "malformed", "the stream ended before data: [DONE]"),
        ("error_event", "http_status", "the server reported an error: out of memory"),
        ("error_status", "http_status", 'HTTP 400: {"error": {"message": "bad model"}}'),
    ],
)
async def test_broken_streams_fail_the_sample_by_kind(
    server: Server, mode: str, kind: str, detail: str
) -> None:
    async with openai(server.url, "p", extra_body={"mode": mode}) as sut:
        (sample,) = await answer(sut, [0])
    verdict, reason = sample.outcome
    assert verdict == "fail"
    assert reason.startswith(f"{kind}: {detail}")
    assert sut.failures.as_dict()[kind] == 1 and sut.failures.total == 1


@pytest.mark.asyncio
async def test_a_finish_reason_without_done_still_completes(server: Server) -> None:
    async with openai(server.url, "p", extra_body={"mode": "finish_no_done", "tokens": 3}) as sut:
        (sample,) = await answer(sut, [0])
    assert sample.outcome == ("complete", (b" t0 t1 t2", 3))


@pytest.mark.asyncio
async def test_a_stream_with_no_tokens_fails(server: Server) -> None:
    async with openai(server.url, "p", extra_body={"tokens": 0}) as sut:
        (sample,) = await answer(sut, [0])
    assert sample.outcome == ("fail", "malformed: the stream ended without any generated text")


@pytest.mark.asyncio
async def test_a_payload_the_api_cannot_take_fails_as_other(server: Server) -> None:
    async with openai(server.url, {"messages": []}) as sut:
        (sample,) = await answer(sut, [0])
    assert sample.outcome[1].startswith("other: cannot build the request: ValueError(")
    assert "use api='chat'" in sample.outcome[1]


@pytest.mark.asyncio
async def test_refused_and_timed_out_streams(server: Server, refused_url: str) -> None:
    async with openai(refused_url, "p") as refused:
        (sample,) = await answer(refused, [0])
    assert sample.outcome[1].startswith("connect: ")
    slow = openai(server.url, "p", timeout_s=0.3, extra_body={"mode": "hold"})
    async with slow:
        (sample,) = await answer(slow, [0])
    assert sample.outcome == ("fail", "timeout: no complete response within 0.3 s")
    assert tokens_of(sample) == ["fail"]


@pytest.mark.asyncio
async def test_a_stream_event_over_max_event_bytes_fails_the_sample_as_malformed() -> None:
    event = b"data: " + json.dumps({"choices": [{"text": "z" * 100_000}]}).encode() + b"\n\n"
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n"
    async with replying(head + event + b"data: [DONE]\n\n") as url:
        async with openai(url, "p", max_event_bytes=65_536) as sut:
            (sample,) = await answer(sut, [0])
        assert sample.outcome == (
            "fail",
            "malformed: a stream event is longer than 65536 bytes (max_event_bytes)",
        )
        async with openai(url, "p") as sut:  # the default cap, 16 MiB, takes it
            (sample,) = await answer(sut, [0])
        assert sample.outcome == ("complete", (b"z" * 100_000, 1))


def test_max_event_bytes_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_event_bytes"):
        openai("http://127.0.0.1:1", "p", max_event_bytes=0)
