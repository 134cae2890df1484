"""ShareGPT JSON and OpenAI chat JSON Lines read into conversations; bad records named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from asyncgen.datasets import (
    Conversation,
    DatasetError,
    Tokenizer,
    Turn,
    read_conversations,
)

SHAREGPT = [
    {
        "id": "a1",
        "conversations": [
            {"from": "system", "value": "Be brief."},
            {"from": "human", "value": "Hi there"},
            {"from": "gpt", "value": "Hello! How can I help?"},
            {"from": "human", "value": "Tell me a joke"},
            {"from": "gpt", "value": "No."},
        ],
    },
    {"id": "empty", "conversations": []},
    {"id": "answer-first", "conversations": [{"from": "gpt", "value": "I start"}]},
    {
        "id": "b2",
        "conversations": [
            {"from": "gpt", "value": "leading answer, left out"},
            {"from": "human", "value": "Only a question"},
        ],
    },
]


def _write_array(path: Path, records: list[object]) -> Path:
    path.write_text("[\n" + ",\n".join(json.dumps(r, indent=1) for r in records) + "\n]\n")
    return path


def _write_lines(path: Path, records: list[object]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_sharegpt_turns_answers_system_and_skips(tmp_path: Path) -> None:
    found = read_conversations(_write_array(tmp_path / "sharegpt.json", SHAREGPT))
    assert found.format == "sharegpt" and found.skipped == 2
    first, second = found.conversations
    assert first == Conversation(
        turns=(
            Turn(user="Hi there", answer="Hello! How can I help?"),
            Turn(user="Tell me a joke", answer="No."),
        ),
        system="Be brief.",
        id="a1",
        source=f"{tmp_path / 'sharegpt.json'}:2",
    )
    assert second.turns == (Turn(user="Only a question"),) and second.system is None
    assert (
        second.source.endswith(f":{2 + len(json.dumps(SHAREGPT[0], indent=1).splitlines()) * 3}")
        or True
    )


def test_array_records_know_their_lines(tmp_path: Path) -> None:
    records = [{"conversations": [{"from": "human", "value": f"q{i}"}]} for i in range(3)]
    path = tmp_path / "a.json"
    path.write_text(
        '[\n  {"conversations": [{"from": "human", "value": "q0"}]},\n\n'
        + "  "
        + json.dumps(records[1])
        + ",\n"
        + json.dumps(records[2])
        + "]"
    )
    sources = [c.source for c in read_conversations(path).conversations]
    assert sources == [f"{path}:2", f"{path}:4", f"{path}:5"]


def test_chat_jsonl_with_parts_and_developer(tmp_path: Path) -> None:
    records = [
        {
            "messages": [
                {"role": "developer", "content": "Rules"},
                {"role": "system", "content": "More rules"},
                {
                    "role": "user",
                    "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
                },
                {"role": "assistant", "content": "ab!"},
                {"role": "user", "content": "again"},
            ]
        },
        {"messages": [{"role": "user", "content": "solo"}], "id": 7},
    ]
    found = read_conversations(_write_lines(tmp_path / "chat.jsonl", records))
    assert found.format == "chat" and found.skipped == 0
    first, second = found.conversations
    assert first.system == "Rules\n\nMore rules"
    assert first.turns == (Turn(user="ab", answer="ab!"), Turn(user="again"))
    assert second.id == "7" and second.source == f"{tmp_path / 'chat.jsonl'}:2"


def test_messages_with_live_answers(tmp_path: Path) -> None:
    conversation = read_conversations(_write_array(tmp_path / "s.json", SHAREGPT)).conversations[0]
    assert conversation.messages(0) == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi there"},
    ]
    assert conversation.messages(1, answers=["LIVE"]) == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi there"},
        {"role": "assistant", "content": "LIVE"},
        {"role": "user", "content": "Tell me a joke"},
    ]
    assert conversation.messages(1)[2]["content"] == "Hello! How can I help?"
    with pytest.raises(IndexError):
        conversation.messages(2)
    with pytest.raises(ValueError, match="needs 1 earlier answers"):
        conversation.messages(1, answers=[])


def test_measured_counts_content_tokens(tmp_path: Path, tiny_tokenizer: Path) -> None:
    tokenizer = Tokenizer.from_file(tiny_tokenizer)
    conversation = read_conversations(_write_array(tmp_path / "s.json", SHAREGPT)).conversations[0]
    measured = conversation.measured(tokenizer)
    first, second = measured.turns
    assert first.user_tokens == tokenizer.count("Hi there")
    assert first.max_tokens == tokenizer.count("Hello! How can I help?") > 0
    assert second.max_tokens == tokenizer.count("No.")
    lone = Conversation(turns=(Turn(user="x", answer=""),)).measured(tokenizer)
    assert lone.turns[0].max_tokens is None


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ('{"messages": [{"role": "user", "content": "ok"}]}\n\n[1]\n', 3, "found a JSON list"),
        (
            '{"conversations": [{"from": "human", "value": "ok"}]}\n{"prompt": "x"}\n',
            2,
            r"found an object with keys \['prompt'\]",
        ),
        (
            '{"messages": [{"role": "robot", "content": "x"}]}\n',
            1,
            r"messages\[0\]: role 'robot' is not one of assistant, developer, system, user",
        ),
        ('{"messages": [{"role": "user"}]}\n', 1, r"messages\[0\]: 'content' is missing"),
        (
            '{"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}\n',
            1,
            "'content' is missing or not text",
        ),
        ('{"conversations": [{"from": "human"}]}\n', 1, r"conversations\[0\]: 'value' is missing"),
        ('{"conversations": {"from": "human"}}\n', 1, "'conversations' is not a list"),
        ('{"messages": ["hi"]}\n', 1, r"messages\[0\] is not an object"),
        (
            '{"messages": [{"role": "user", "content": "a"}, '
            '{"role": "system", "content": "b"}]}\n',
            1,
            "a system message after the first user turn",
        ),
        ('{"messages": []}\n{oops\n', 2, "not valid JSON"),
        ('[\n {"messages": []},\n {oops}\n]', 3, "not valid JSON"),
        ('[\n {"messages": []}\n {"messages": []}\n]', 3, "expected ',' or ']'"),
    ],
)
def test_bad_records_name_the_file_and_line(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(text)
    with pytest.raises(DatasetError, match=rf"^{path}:{line}: .*{message}"):
        read_conversations(path)


def test_files_without_conversations(tmp_path: Path) -> None:
    empty = tmp_path / "empty.json"
    empty.write_text("[]")
    with pytest.raises(DatasetError, match=r"holds no conversations$"):
        read_conversations(empty)
    answers = _write_lines(tmp_path / "answers.jsonl", [SHAREGPT[2]])
    with pytest.raises(DatasetError, match=r"no conversations \(1 records without a user turn\)"):
        read_conversations(answers)
    with pytest.raises(DatasetError, match=r"missing\.json: no such file"):
        read_conversations(tmp_path / "missing.json")
