"""``ConversationQSL``: one request per conversation of a ShareGPT or OpenAI chat file.

As vLLM's ShareGPT dataset does, a conversation is one request: its first user turn. Sample
``i`` sends conversation ``i``'s first user message as ``{"prompt": ...}``, or, when the
conversation has a system text, ``{"messages": [system, user]}`` (for the chat API). With a
tokenizer, ``max_tokens`` is the content-token length of the dataset's first answer (when
there is one) and ``input_tokens(index)`` the content tokens sent (system and user text);
they are counted when the samples are loaded. Without one, requests carry no ``max_tokens``
(the server's default, or the SUT's ``max_tokens``) and input counts are unknown.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from asyncgen.datasets._conversations import (
    Conversation,
    measure_conversations,
    read_conversations,
)
from asyncgen.datasets._lazy import MadeOnLoad
from asyncgen.datasets._tokenizer import Tokenizer
from asyncgen.http import Payload


class ConversationQSL(MadeOnLoad):
    """One sample per conversation of a ShareGPT JSON or OpenAI chat JSON Lines file (found
    by content, see ``read_conversations``): its first user turn, as one request.

    ``format`` says which layout the file has, ``skipped`` how many records had no user turn,
    ``conversations`` holds them all (for multi-turn use). With ``tokenizer``, requests ask
    for the first answer's length in ``max_tokens`` and ``input_tokens`` counts each prompt.

    In a multi-turn run (``TestSettings.server_multi_turn``) every turn is sent in turn:
    ``turn_count`` and ``turn_payload`` (a ``ConversationSource``) make each turn's request
    with the history so far; ``multi_turn=True`` counts every turn's answer length (its
    ``max_tokens``) when the samples are loaded rather than when each turn is sent.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        tokenizer: Tokenizer | None = None,
        performance_sample_count: int | None = None,
        name: str | None = None,
        method: str = "POST",
        request_path: str = "",
        headers: Mapping[str, str] | None = None,
        multi_turn: bool = False,
    ) -> None:
        found = read_conversations(path)
        super().__init__(
            path,
            len(found.conversations),
            performance_sample_count=performance_sample_count,
            name=name,
            method=method,
            request_path=request_path,
            headers=headers,
        )
        self.format, self.skipped = found.format, found.skipped
        self.conversations = found.conversations
        self.tokenizer = tokenizer
        self.multi_turn = multi_turn
        self._input_tokens: dict[int, int] = {}
        self._measured: dict[int, Conversation] = {}  # multi-turn: every turn counted

    @property
    def with_system(self) -> int:
        """How many conversations have a system text (their requests are chat messages)."""
        return sum(1 for c in self.conversations if c.system)

    def input_tokens(self, index: int) -> int | None:
        """Content tokens sent for sample ``index`` (``None``: no tokenizer, or not loaded)."""
        return self._input_tokens.get(index)

    def _make(self, index: int) -> Payload:
        return self._make_many([index])[0]

    def turn_count(self, index: int) -> int:
        """How many user turns conversation ``index`` has (multi-turn runs send them all)."""
        return len(self.conversations[index].turns)

    def turn_payload(self, index: int, turn: int, answers: Sequence[str]) -> Payload:
        """The chat request asking turn ``turn`` of conversation ``index`` after ``answers``
        (the server's real answers so far), with that turn's dataset answer length as
        ``max_tokens`` when there is a tokenizer. Made for each turn as it is sent."""
        conversation = self._measured.get(index)
        if conversation is None:
            conversation = self.conversations[index]
            if self.tokenizer is not None:  # not measured on load (multi_turn was off)
                conversation = self._measured[index] = conversation.measured(self.tokenizer)
        body: dict[str, Any] = {"messages": conversation.messages(turn, answers)}
        max_tokens = conversation.turns[turn].max_tokens
        if max_tokens is not None:
            body["max_tokens"] = max_tokens
        return self._payload(json_value=body)

    async def unload_samples(self, indices: Sequence[int]) -> None:
        """Drop the requests (and measured turns) of ``indices``."""
        await super().unload_samples(indices)
        for index in indices:
            self._measured.pop(index, None)

    def _make_many(self, indices: Sequence[int]) -> list[Payload]:
        if self.multi_turn and self.tokenizer is not None:  # every turn's length, once
            whole = measure_conversations([self.conversations[i] for i in indices], self.tokenizer)
            self._measured.update(zip(indices, whole, strict=True))
        firsts = [_first_turn(self.conversations[i]) for i in indices]
        if self.tokenizer is not None:
            firsts = measure_conversations(firsts, self.tokenizer)
            systems = self.tokenizer.counts([c.system or "" for c in firsts])
            for index, first, system in zip(indices, firsts, systems, strict=True):
                self._input_tokens[index] = system + (first.turns[0].user_tokens or 0)
        return [self._payload(json_value=_request(first)) for first in firsts]


def _first_turn(conversation: Conversation) -> Conversation:
    return Conversation(
        turns=conversation.turns[:1],
        system=conversation.system,
        id=conversation.id,
        source=conversation.source,
    )


def _request(first: Conversation) -> dict[str, Any]:
    turn = first.turns[0]
    body: dict[str, Any] = (
        {"messages": first.messages(0)} if first.system else {"prompt": turn.user}
    )
    if turn.max_tokens is not None:
        body["max_tokens"] = turn.max_tokens
    return body
