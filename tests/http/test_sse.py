"""Server-sent events decoding, and the OpenAI event and response shapes, without a network."""

from __future__ import annotations

import itertools
import json
import tracemalloc

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asyncgen.http import Payload
from asyncgen.http._failures import ResponseError
from asyncgen.http._openai_wire import (
    BodyOptions,
    api_path,
    parse_event,
    parse_whole,
    request_json,
)
from asyncgen.http._sse import SSEDecoder

STREAM = (
    b": keep-alive comment\n"
    b'data: {"a": 1}\n\n'
    b"event: message\r\n"
    b'data:{"b": 2}\r\r'
    b"data: first line\n"
    b"data: second line\n"
    b"id: 7\n\n"
    b"data: [DONE]\r\n\r\n"
)
EVENTS = [b'{"a": 1}', b'{"b": 2}', b"first line\nsecond line", b"[DONE]"]


@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=15))
def test_events_come_out_whole_however_the_stream_is_split(cuts: list[int]) -> None:
    points = sorted({*cuts, 0, len(STREAM)})
    decoder = SSEDecoder()
    events: list[bytes] = []
    for a, b in itertools.pairwise(points):
        events.extend(decoder.feed(STREAM[a:b]))
    assert events == EVENTS


def test_an_event_without_its_blank_line_is_not_dispatched() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: x\n") == []
    assert decoder.feed(b"\n") == [b"x"]


def test_empty_data_line_is_an_empty_event() -> None:
    assert SSEDecoder().feed(b"data:\n\n") == [b""]


def test_a_long_line_in_small_pieces_costs_memory_in_proportion_to_the_piece() -> None:
    """Linear, not quadratic: a piece of an open line is kept, never joined to what came
    before it (a join per piece copied the whole line each time: 5.4 s of loop time for
    one 32 MB event). tracemalloc counts the bytes one ``feed`` allocates, deterministically."""
    piece = b"x" * (64 << 10)
    decoder = SSEDecoder()
    decoder.feed(b"data: ")
    for _ in range(64):  # a 4 MiB line, not yet ended
        decoder.feed(piece)
    tracemalloc.start()
    try:
        decoder.feed(piece)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * len(piece)
    (event,) = decoder.feed(b"\n\n")  # joined once, when the line ends
    assert event == piece * 65


@pytest.mark.parametrize("split", [1, 7, 1000])
def test_an_event_longer_than_the_cap_is_malformed(split: int) -> None:
    stream = b"data: " + b"y" * 5000 + b"\n\n"
    decoder = SSEDecoder(max_event_bytes=4096)
    with pytest.raises(ResponseError) as info:
        for start in range(0, len(stream), split):
            decoder.feed(stream[start : start + split])
    assert info.value.kind == "malformed"
    assert "longer than 4096 bytes" in info.value.detail


def test_the_cap_counts_every_data_line_of_one_event_and_resets_after_it() -> None:
    decoder = SSEDecoder(max_event_bytes=10)
    assert decoder.feed(b"data: 12345\n\ndata: 12345\n\n") == [b"12345", b"12345"]
    with pytest.raises(ResponseError):
        decoder.feed(b"data: 123456\ndata: 12345\n")


def options(**overrides: object) -> BodyOptions:
    base: dict[str, object] = {
        "api": "completions",
        "model": None,
        "max_tokens": None,
        "stream": True,
        "include_usage": True,
        "extra_body": {},
    }
    base.update(overrides)
    return BodyOptions(**base)  # type: ignore[arg-type]


def test_prompt_payloads_become_completion_requests() -> None:
    body = request_json(
        Payload(json={"prompt": "hi", "max_tokens": 3, "stream": False}),
        options(model="m", extra_body={"temperature": 0}),
    )
    assert body == {
        "prompt": "hi",
        "max_tokens": 3,
        "temperature": 0,
        "model": "m",
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    assert request_json(Payload(body="héllo".encode()), options())["prompt"] == "héllo"
    assert request_json(Payload(json="raw prompt"), options(stream=False)) == {
        "prompt": "raw prompt",
        "stream": False,
    }


def test_the_sut_options_win_over_the_payload() -> None:
    body = request_json(
        Payload(json={"prompt": "p", "model": "a", "max_tokens": 9}),
        options(model="b", max_tokens=4),
    )
    assert (body["model"], body["max_tokens"]) == ("b", 4)


def test_chat_turns_a_prompt_into_a_user_message() -> None:
    body = request_json(Payload(json={"prompt": "hi"}), options(api="chat", include_usage=False))
    assert body == {"messages": [{"role": "user", "content": "hi"}], "stream": True}


@pytest.mark.parametrize(
    ("payload", "api", "message"),
    [
        (Payload(json={"messages": []}), "completions", "use api='chat'"),
        (Payload(json={"input": "x"}), "chat", "needs 'messages' or a 'prompt'"),
        (Payload(json=[1, 2]), "completions", "not list"),
        (Payload(), "completions", "not nothing"),
    ],
)
def test_payloads_the_api_cannot_take_are_refused(payload: Payload, api: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        request_json(payload, options(api=api))


def test_api_path_goes_under_v1_once() -> None:
    assert api_path("", "completions") == "/v1/completions"
    assert api_path("/v1", "chat") == "/chat/completions"
    assert api_path("", "embeddings") == "/v1/embeddings"
    with pytest.raises(ValueError, match="api must be"):
        api_path("", "rerank")  # type: ignore[arg-type]


def event(obj: object) -> bytes:
    return json.dumps(obj).encode()


def test_completion_and_chat_events() -> None:
    text = parse_event(event({"choices": [{"text": " a", "finish_reason": None}]}), chat=False)
    assert (text.token, text.content, text.finished) == (True, " a", False)
    role = parse_event(
        event({"choices": [{"delta": {"role": "assistant", "content": ""}}]}), chat=True
    )
    assert not role.token
    thought = parse_event(event({"choices": [{"delta": {"reasoning_content": "hmm"}}]}), chat=True)
    assert (thought.token, thought.content) == (True, "")
    last = parse_event(
        event({"choices": [], "usage": {"completion_tokens": 12, "prompt_tokens": 3}}), chat=True
    )
    assert (last.token, last.usage_tokens) == (False, 12)
    done = parse_event(event({"choices": [{"delta": {}, "finish_reason": "stop"}]}), chat=True)
    assert done.finished


@pytest.mark.parametrize(
    ("data", "kind", "message"),
    [
        (b"{not json", "malformed", "not JSON"),
        (b"[1]", "malformed", "not an object"),
        (b'{"id": 1}', "malformed", "no choices"),
        (b'{"choices": ["x"]}', "malformed", "not an object"),
        (b'{"error": {"message": "overloaded"}}', "http_status", "overloaded"),
        (b'{"object": "error", "message": "too long", "code": 400}', "http_status", "too long"),
    ],
)
def test_bad_events_raise_response_errors(data: bytes, kind: str, message: str) -> None:
    with pytest.raises(ResponseError, match=message) as info:
        parse_event(data, chat=False)
    assert info.value.kind == kind


def test_whole_responses() -> None:
    chat = event(
        {"choices": [{"message": {"content": "hello"}}], "usage": {"completion_tokens": 2}}
    )
    assert parse_whole(chat, chat=True) == ("hello", 2)
    assert parse_whole(event({"choices": [{"text": "x"}]}), chat=False) == ("x", None)
    with pytest.raises(ResponseError, match="no choices"):
        parse_whole(event({"choices": []}), chat=False)
    with pytest.raises(ResponseError, match="not JSON"):
        parse_whole(b"<html>", chat=False)
