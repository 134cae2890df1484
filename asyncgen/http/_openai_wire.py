"""The OpenAI-compatible API shape: request bodies, streamed events and whole responses.

Only the public shape that vLLM, SGLang, TGI, llama.cpp's server and OpenAI share is used:
``POST /v1/completions`` (``prompt`` → ``choices[0].text``) and ``POST /v1/chat/completions``
(``messages`` → ``choices[0].delta.content`` when streamed, ``choices[0].message.content``
when not); ``data: {...}`` server-sent events ending with ``data: [DONE]``; the token count in
``usage.completion_tokens``; and ``POST /v1/embeddings`` (``input`` → ``data``, never
streamed). Reasoning models stream their thinking in ``reasoning_content``
(or ``reasoning``): those chunks count as tokens too, but only ``content`` is the answer.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

import attrs

from asyncgen.http._failures import ResponseError
from asyncgen.http._payload import Payload

Api = Literal["completions", "chat", "embeddings"]
_API_PATHS: dict[str, str] = {
    "completions": "/completions",
    "chat": "/chat/completions",
    "embeddings": "/embeddings",
}
_GENERATION_ONLY = ("max_tokens", "ignore_eos", "stream", "stream_options")


def api_path(base_path: str, api: Api) -> str:
    """The endpoint path: under ``/v1`` unless the base URL already ends with it."""
    if api not in _API_PATHS:
        raise ValueError(f"api must be 'completions', 'chat' or 'embeddings', not {api!r}")
    prefix = "" if base_path.endswith("/v1") else "/v1"
    return prefix + _API_PATHS[api]


@attrs.frozen(kw_only=True)
class BodyOptions:
    """What the SUT adds to every request body; its values win over the payload's."""

    api: Api
    model: str | None
    max_tokens: int | None
    stream: bool
    include_usage: bool
    extra_body: Mapping[str, Any]
    ignore_eos: bool = False  # ask the server to generate max_tokens whatever it thinks


def request_json(payload: Payload, options: BodyOptions) -> dict[str, Any]:
    """The JSON request body for ``payload``.

    A payload is a prompt (a JSON string, raw UTF-8 bytes, or ``{"prompt": ...}``), chat
    ``{"messages": [...]}``, or any fuller request object. A prompt sent to the chat API
    becomes one user message. The SUT's ``model``, ``max_tokens`` and ``extra_body`` override
    the payload's; ``stream`` and ``stream_options`` are always the SUT's; ``ignore_eos``
    adds ``"ignore_eos": true``. An embeddings request sends the prompt as ``input`` and none
    of the generation fields.
    """
    body = _payload_object(payload)
    embeddings = options.api == "embeddings"
    if embeddings:
        _to_embeddings(body)
    elif options.api == "chat" and "messages" not in body:
        if "prompt" not in body:
            raise ValueError("a chat payload needs 'messages' or a 'prompt'")
        body["messages"] = [{"role": "user", "content": body.pop("prompt")}]
    elif options.api == "completions" and "prompt" not in body:
        hint = " (it has chat 'messages': use api='chat')" if "messages" in body else ""
        raise ValueError(f"a completions payload needs a 'prompt'{hint}")
    body.update(options.extra_body)
    if options.model is not None:
        body["model"] = options.model
    if embeddings:
        return body
    if options.max_tokens is not None:
        body["max_tokens"] = options.max_tokens
    if options.ignore_eos:
        body["ignore_eos"] = True
    body["stream"] = options.stream
    body.pop("stream_options", None)
    if options.stream and options.include_usage:
        body["stream_options"] = {"include_usage": True}
    return body


def _to_embeddings(body: dict[str, Any]) -> None:
    """A prompt becomes the ``input``; the generation fields go."""
    if "input" not in body:
        if "prompt" not in body:
            hint = " (it has chat 'messages')" if "messages" in body else ""
            raise ValueError(f"an embeddings payload needs an 'input' or a 'prompt'{hint}")
        body["input"] = body.pop("prompt")
    for key in _GENERATION_ONLY:
        body.pop(key, None)


def _payload_object(payload: Payload) -> dict[str, Any]:
    value = payload.json
    if value is None and payload.body is not None:
        value = payload.body.decode("utf-8")
    if isinstance(value, str):
        return {"prompt": value}
    if isinstance(value, Mapping):
        return dict(value)
    raise ValueError(
        "an OpenAI payload is a prompt string or a JSON object, not "
        f"{type(value).__name__ if value is not None else 'nothing'}"
    )


@attrs.define
class Chunk:
    """What one streamed event carries."""

    token: bool = False  # it carries generated text (answer or reasoning)
    content: str = ""  # the part of the answer it carries
    finished: bool = False  # a choice reported its finish_reason
    usage_tokens: int | None = None  # usage.completion_tokens, when present


_raw_decode = json.JSONDecoder().raw_decode


def load_json(data: bytes) -> Any:
    """``json.loads``, faster for the compact objects servers stream (no encoding sniffing,
    no whitespace scan); anything unusual goes through ``json.loads`` for its exact result."""
    text = data.decode("utf-8")  # UnicodeDecodeError is a ValueError
    try:
        value, end = _raw_decode(text)
        if end == len(text):
            return value
    except ValueError:
        pass
    return json.loads(text)


def parse_event(data: bytes, *, chat: bool) -> Chunk:
    """One ``data:`` payload of a stream (not ``[DONE]``); raises ``ResponseError``."""
    try:
        event = load_json(data)
    except ValueError:
        raise ResponseError("malformed", f"stream event is not JSON: {data[:120]!r}") from None
    if not isinstance(event, dict):
        raise ResponseError("malformed", f"stream event is not an object: {data[:120]!r}")
    if "error" in event or "message" in event:
        _raise_error_object(event)
    chunk = Chunk(usage_tokens=_usage_tokens(event) if "usage" in event else None)
    choices = event.get("choices")
    if not isinstance(choices, list):
        if chunk.usage_tokens is None:
            raise ResponseError("malformed", f"stream event has no choices: {data[:120]!r}")
        return chunk
    if choices:
        choice = choices[0]
        if not isinstance(choice, dict):
            raise ResponseError("malformed", f"choices[0] is not an object: {data[:120]!r}")
        part = choice.get("delta") if chat else choice
        chunk.content, chunk.token = _text(part, "content" if chat else "text")
        chunk.finished = bool(choice.get("finish_reason"))
    return chunk


def _response_object(body: bytes) -> dict[str, Any]:
    """A whole response: a JSON object that is not an error; raises ``ResponseError``."""
    try:
        response = load_json(body)
    except ValueError:
        raise ResponseError("malformed", f"response is not JSON: {body[:120]!r}") from None
    if not isinstance(response, dict):
        raise ResponseError("malformed", f"response is not an object: {body[:120]!r}")
    _raise_error_object(response)
    return response


def parse_whole(body: bytes, *, chat: bool) -> tuple[str, int | None]:
    """The answer and token count of a non-streamed response; raises ``ResponseError``."""
    response = _response_object(body)
    choices = response.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise ResponseError("malformed", f"response has no choices: {body[:120]!r}")
    part = choices[0].get("message") if chat else choices[0]
    content, _ = _text(part, "content" if chat else "text")
    return content, _usage_tokens(response)


def check_embeddings(body: bytes) -> None:
    """Raise ``ResponseError`` unless ``body`` is an embeddings response (``data``: a list)."""
    data = _response_object(body).get("data")
    if not isinstance(data, list) or not data:
        raise ResponseError("malformed", f"response has no embeddings in 'data': {body[:120]!r}")


def _text(part: object, key: str) -> tuple[str, bool]:
    """The answer text in ``part[key]``, and whether ``part`` carries any generated text."""
    if not isinstance(part, dict):
        return "", False
    content = part.get(key)
    content = content if isinstance(content, str) else ""
    if content:
        return content, True
    reasoning = part.get("reasoning_content") or part.get("reasoning")
    return "", isinstance(reasoning, str) and bool(reasoning)


def _usage_tokens(obj: dict[str, Any]) -> int | None:
    usage = obj.get("usage")
    if isinstance(usage, dict):
        tokens = usage.get("completion_tokens")
        if isinstance(tokens, int) and not isinstance(tokens, bool):
            return tokens
    return None


def _raise_error_object(obj: dict[str, Any]) -> None:
    """Raise for ``{"error": {...}}`` (OpenAI, newer vLLM) or ``{"object": "error", ...}``."""
    error = obj.get("error")
    if error:
        message = error.get("message", error) if isinstance(error, dict) else error
        raise ResponseError("http_status", f"the server reported an error: {message}")
    if obj.get("object") == "error":
        raise ResponseError("http_status", f"the server reported an error: {obj.get('message')}")
