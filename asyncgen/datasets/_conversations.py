"""Conversations from ShareGPT-style JSON and OpenAI chat JSON Lines, as a small typed model.

Two layouts, told apart by each record's keys:

- **ShareGPT**: ``{"id": ..., "conversations": [{"from": "human", "value": "..."}, ...]}``,
  usually in one JSON array (a file of one record per line works too). ``from`` is ``human``
  or ``user``; ``gpt``, ``chatgpt``, ``assistant``, ``bard``, ``bing`` or ``model``; or
  ``system``.
- **OpenAI chat**: ``{"messages": [{"role": "user", "content": "..."}, ...]}``, one record per
  line (an array works too). ``role`` is ``user``, ``assistant``, ``system`` or
  ``developer``; ``content`` is a string or a list of ``{"type": "text", "text": ...}`` parts.

A ``Conversation`` is its system text (the system/developer messages before the first user
turn, joined by blank lines), then its ``Turn``s: each user message with the dataset's answer
to it (the assistant message that follows, if one does). Assistant messages before the first
user turn, and a second one in a row, are left out. A record with no user turn is skipped and
counted; anything else that does not fit — a record that is not an object, a turn without
its role or text, an unknown role, a system message after the first user turn — is a
``DatasetError`` naming the file, the record's line and what is wrong.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import attrs

from asyncgen._errors import DatasetError
from asyncgen._plan.files import decode_json, parse_json, read_text
from asyncgen.datasets._tokenizer import Tokenizer

Format = Literal["sharegpt", "chat"]
_SHAREGPT_ROLES = {
    **dict.fromkeys(("human", "user"), "user"),
    **dict.fromkeys(("gpt", "chatgpt", "assistant", "bard", "bing", "model"), "assistant"),
    "system": "system",
}
_CHAT_ROLES = {"user": "user", "assistant": "assistant", "system": "system", "developer": "system"}
_SPACE = re.compile(r"\s*")


@attrs.frozen(kw_only=True)
class Turn:
    """One user message and the dataset's answer to it.

    ``user_tokens`` and ``max_tokens`` are the content-token counts of ``user`` and ``answer``
    once measured (``Conversation.measured``); ``max_tokens`` is what a request for this turn
    asks for, and stays ``None`` when the turn has no answer (or it is empty).
    """

    user: str
    answer: str | None = None
    user_tokens: int | None = None
    max_tokens: int | None = None


@attrs.frozen(kw_only=True)
class Conversation:
    """A conversation of a dataset: optional system text, then one or more ``Turn``s.

    ``source`` is ``"file:line"`` of its record, for messages about it.
    """

    turns: tuple[Turn, ...]
    system: str | None = None
    id: str | None = None
    source: str = ""

    def messages(self, turn: int, answers: Sequence[str] | None = None) -> list[dict[str, str]]:
        """The chat messages that ask turn ``turn`` (0-based): the system text, every earlier
        turn's user message and answer — ``answers[i]`` when given (the server's real answers
        so far, at least ``turn`` of them), else the dataset's — then this turn's user message.
        """
        if not 0 <= turn < len(self.turns):
            raise IndexError(f"{self.source}: no turn {turn} (it has {len(self.turns)})")
        if answers is not None and len(answers) < turn:
            raise ValueError(f"turn {turn} needs {turn} earlier answers, got {len(answers)}")
        messages = [{"role": "system", "content": self.system}] if self.system else []
        for i, earlier in enumerate(self.turns[:turn]):
            answer = answers[i] if answers is not None else (earlier.answer or "")
            messages.append({"role": "user", "content": earlier.user})
            messages.append({"role": "assistant", "content": answer})
        messages.append({"role": "user", "content": self.turns[turn].user})
        return messages

    def measured(self, tokenizer: Tokenizer) -> Conversation:
        """This conversation with every turn's ``user_tokens`` and ``max_tokens`` counted."""
        return measure_conversations([self], tokenizer)[0]


@attrs.frozen(kw_only=True)
class ConversationFile:
    """What ``read_conversations`` found in a file."""

    path: Path
    format: Format  # of the first record
    conversations: tuple[Conversation, ...]
    skipped: int  # records without a user turn


def read_conversations(path: str | os.PathLike[str]) -> ConversationFile:
    """Every conversation of a ShareGPT JSON or OpenAI chat JSON Lines file, in file order.

    Raises ``DatasetError`` (file, line, what is wrong) for a file that cannot be read or a
    record that does not fit; a file without any conversation is an error too.
    """
    file = Path(path)
    text = read_text(file)
    conversations: list[Conversation] = []
    formats: list[Format] = []
    skipped = 0
    for line, record in _records(text, file):
        kind, conversation = _conversation(record, file, line)
        formats.append(kind)
        if conversation is None:
            skipped += 1
        else:
            conversations.append(conversation)
    if not conversations:
        why = f" ({skipped} records without a user turn)" if skipped else ""
        raise DatasetError(f"holds no conversations{why}", path=str(file))
    return ConversationFile(
        path=file, format=formats[0], conversations=tuple(conversations), skipped=skipped
    )


def record_format(record: object) -> Format | None:
    """``"sharegpt"`` or ``"chat"`` by the record's keys; ``None`` if it is neither."""
    if isinstance(record, dict):
        if "conversations" in record:
            return "sharegpt"
        if "messages" in record:
            return "chat"
    return None


def measure_conversations(
    conversations: Sequence[Conversation], tokenizer: Tokenizer
) -> list[Conversation]:
    """``conversations`` with every turn's ``user_tokens`` and ``max_tokens`` counted (all
    texts encoded as one batch)."""
    texts = [t for c in conversations for turn in c.turns for t in (turn.user, turn.answer or "")]
    counts = iter(tokenizer.counts(texts))
    measured = []
    for conversation in conversations:
        turns = []
        for turn in conversation.turns:
            user_tokens, answer_tokens = next(counts), next(counts)
            turns.append(
                attrs.evolve(turn, user_tokens=user_tokens, max_tokens=answer_tokens or None)
            )
        measured.append(attrs.evolve(conversation, turns=tuple(turns)))
    return measured


def _records(text: str, file: Path) -> Iterator[tuple[int, Any]]:
    """(line, record) of a JSON array or of JSON Lines, by the first character."""
    start = _SPACE.match(text).end()  # type: ignore[union-attr]
    if text.startswith("[", start):
        yield from _array_records(text, start, file)
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            yield number, parse_json(line, file, number)


def _array_records(text: str, start: int, file: Path) -> Iterator[tuple[int, Any]]:
    """The elements of the JSON array at ``start``, each with the line it starts on."""
    pos, line, counted = start + 1, 1, 0
    while True:
        pos = _SPACE.match(text, pos).end()  # type: ignore[union-attr]
        line += text.count("\n", counted, pos)
        counted = pos
        if text.startswith("]", pos):
            return
        record, pos = decode_json(text, pos, file, line)
        yield line, record
        pos = _SPACE.match(text, pos).end()  # type: ignore[union-attr]
        if text.startswith(",", pos):
            pos += 1
        elif not text.startswith("]", pos):
            line += text.count("\n", counted, pos)
            raise DatasetError("expected ',' or ']' after a record", path=str(file), line=line)


def _conversation(record: Any, file: Path, line: int) -> tuple[Format, Conversation | None]:
    """A record's format and its conversation (``None``: it has no user turn)."""
    kind = record_format(record)
    if kind is None:
        found = (
            f"an object with keys {sorted(record)[:6]}"
            if isinstance(record, dict)
            else f"a JSON {type(record).__name__}"
        )
        raise DatasetError(
            f"expected a record with 'conversations' (ShareGPT) or 'messages' (OpenAI chat), "
            f"found {found}",
            path=str(file),
            line=line,
        )
    key = "conversations" if kind == "sharegpt" else "messages"
    items = record[key]
    if not isinstance(items, list):
        raise DatasetError(f"'{key}' is not a list", path=str(file), line=line)
    roles = [_role_and_text(item, kind, i, file, line) for i, item in enumerate(items)]
    identity = record.get("id", record.get("conversation_id"))
    source = f"{file}:{line}"
    return kind, _assemble(roles, None if identity is None else str(identity), source, file, line)


def _role_and_text(item: Any, kind: Format, i: int, file: Path, line: int) -> tuple[str, str]:
    role_key, text_key, roles = (
        ("from", "value", _SHAREGPT_ROLES)
        if kind == "sharegpt"
        else ("role", "content", _CHAT_ROLES)
    )
    where = f"{'conversations' if kind == 'sharegpt' else 'messages'}[{i}]"
    if not isinstance(item, dict):
        raise DatasetError(f"{where} is not an object", path=str(file), line=line)
    role = roles.get(str(item.get(role_key, "")).lower())
    if role is None:
        known = ", ".join(sorted(roles))
        raise DatasetError(
            f"{where}: {role_key} {item.get(role_key)!r} is not one of {known}",
            path=str(file),
            line=line,
        )
    text = _text(item.get(text_key))
    if text is None:
        raise DatasetError(
            f"{where}: '{text_key}' is missing or not text", path=str(file), line=line
        )
    return role, text


def _text(content: Any) -> str | None:
    """A message's text: a string, or a list of text parts joined (``None``: neither)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(
        isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str)
        for p in content
    ):
        return "".join(p["text"] for p in content)
    return None


def _assemble(
    roles: list[tuple[str, str]], identity: str | None, source: str, file: Path, line: int
) -> Conversation | None:
    system: list[str] = []
    turns: list[Turn] = []
    for role, text in roles:
        if role == "system":
            if turns:
                raise DatasetError(
                    "a system message after the first user turn is not supported",
                    path=str(file),
                    line=line,
                )
            system.append(text)
        elif role == "user":
            turns.append(Turn(user=text))
        elif turns and turns[-1].answer is None:  # the answer to the turn before
            turns[-1] = attrs.evolve(turns[-1], answer=text)
        # else: an answer before any user turn, or a second one in a row: left out
    if not turns:
        return None
    return Conversation(
        turns=tuple(turns), system="\n\n".join(system) or None, id=identity, source=source
    )
