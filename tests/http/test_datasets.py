"""Dataset QSLs: JSON Lines, folders and NumPy arrays, and the errors bad files give."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from asyncgen import ConfigError
from asyncgen.datasets import DatasetError, FolderQSL, JsonLinesQSL, NumpyQSL
from asyncgen.http import HttpSUT, Payload, PayloadSource
from asyncgen.sut import QuerySampleLibrary
from tests.http.conftest import Server
from tests.http.helpers import answer


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# -- JSON Lines ------------------------------------------------------------------------------


def test_json_lines_objects_strings_and_blank_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path / "d.jsonl",
        '{"prompt": "a", "max_tokens": 4}\n\n"just a prompt"\n{"messages": []}\n',
    )
    qsl = JsonLinesQSL(path, request_path="/gen", headers={"X-K": "1"})
    assert isinstance(qsl, QuerySampleLibrary) and isinstance(qsl, PayloadSource)
    assert (qsl.total_sample_count, qsl.performance_sample_count) == (3, 3)
    assert qsl.name == "JsonLinesQSL(d.jsonl)"
    assert qsl.payload(0) == Payload(
        path="/gen", json={"prompt": "a", "max_tokens": 4}, headers={"X-K": "1"}
    )
    assert qsl.payload(1).json == {"prompt": "just a prompt"}
    assert qsl.payload(2).json == {"messages": []}
    assert qsl.payload(0) is qsl.payload(0)  # one object per sample: the SUT encodes it once


def test_json_lines_prompt_field_and_performance_count(tmp_path: Path) -> None:
    lines = [json.dumps({"question": f"q{i}", "answer": i}) for i in range(10)]
    path = write(tmp_path / "qa.jsonl", "\n".join(lines))
    qsl = JsonLinesQSL(path, prompt_field="question", performance_sample_count=4, name="qa")
    assert qsl.payload(3).json == {"prompt": "q3"}
    assert (qsl.name, qsl.total_sample_count, qsl.performance_sample_count) == ("qa", 10, 4)
    assert JsonLinesQSL(path, performance_sample_count=99).performance_sample_count == 10


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "d.jsonl: holds no samples"),
        ("\n  \n", "d.jsonl: holds no samples"),
        ('{"a": 1}\n{"b": \n', "d.jsonl:2: not valid JSON"),
        ('{"a": 1}\n[1, 2]\n', "d.jsonl:2: expected a JSON object or string, found list"),
        ('{"question": "x"}\n{"other": 1}\n', "d.jsonl:2: no 'question' field"),
    ],
)
def test_bad_json_lines_name_the_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path / "d.jsonl", text)
    prompt_field = "question" if "question" in text else None
    with pytest.raises(DatasetError, match=message) as info:
        JsonLinesQSL(path, prompt_field=prompt_field)
    assert isinstance(info.value, ConfigError) and info.value.path == str(path)


def test_missing_or_undecodable_json_lines(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"absent\.jsonl: no such file"):
        JsonLinesQSL(tmp_path / "absent.jsonl")
    (tmp_path / "bin.jsonl").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(DatasetError, match="cannot read"):
        JsonLinesQSL(tmp_path / "bin.jsonl")
    with pytest.raises(DatasetError, match="must be positive"):
        JsonLinesQSL(write(tmp_path / "ok.jsonl", '"p"'), performance_sample_count=0)


# -- folders ---------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_folder_files_in_name_order_loaded_and_unloaded(tmp_path: Path) -> None:
    (tmp_path / "b.png").write_bytes(b"\x89PNG-b")
    (tmp_path / "a.txt").write_bytes(b"text a")
    (tmp_path / "c.unknownext").write_bytes(b"c")
    (tmp_path / ".hidden").write_bytes(b"skip me")
    (tmp_path / "sub").mkdir()
    qsl = FolderQSL(tmp_path, request_path="/infer")
    assert [f.name for f in qsl.files] == ["a.txt", "b.png", "c.unknownext"]
    await qsl.load_samples([0, 1])
    first = qsl.payload(0)
    assert first.body == b"text a" and first.path == "/infer"
    assert first.headers["Content-Type"] == "text/plain"
    assert qsl.payload(1).headers["Content-Type"] == "image/png"
    assert qsl.payload(2).headers["Content-Type"] == "application/octet-stream"
    assert qsl.payload(0) is first  # loaded: the same object every time
    await qsl.unload_samples([0, 1])
    assert qsl.payload(0) is not first and qsl.payload(0) == first  # read again on demand


def test_folder_pattern_content_type_and_errors(tmp_path: Path) -> None:
    for name in ("x1.bin", "x2.bin", "y.bin"):
        (tmp_path / name).write_bytes(name.encode())
    qsl = FolderQSL(tmp_path, pattern="x*.bin", content_type="application/x-tensor")
    assert qsl.total_sample_count == 2
    assert qsl.payload(1).headers == {"Content-Type": "application/x-tensor"}
    with pytest.raises(DatasetError, match="holds no samples"):
        FolderQSL(tmp_path, pattern="*.none")
    with pytest.raises(DatasetError, match="is not a folder"):
        FolderQSL(tmp_path / "x1.bin")


# -- NumPy ------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_numpy_rows_as_bytes_or_json(tmp_path: Path) -> None:
    array = np.arange(12, dtype=np.float32).reshape(3, 2, 2)
    np.save(tmp_path / "x.npy", array)
    qsl = NumpyQSL(tmp_path / "x.npy", performance_sample_count=2)
    assert (qsl.total_sample_count, qsl.performance_sample_count) == (3, 2)
    await qsl.load_samples([1])
    row = qsl.payload(1)
    assert np.array_equal(np.frombuffer(row.body or b"", np.float32).reshape(2, 2), array[1])
    assert row.headers == {"Content-Type": "application/octet-stream"}
    as_json = NumpyQSL(tmp_path / "x.npy", as_json=True, json_key="inputs")
    assert as_json.payload(2).json == {"inputs": [[8.0, 9.0], [10.0, 11.0]]}
    assert NumpyQSL(tmp_path / "x.npy", as_json=True).payload(0).json == [[0.0, 1.0], [2.0, 3.0]]


def test_numpy_npz_members(tmp_path: Path) -> None:
    np.savez(tmp_path / "one.npz", rows=np.ones((4, 3), dtype=np.int64))
    np.savez(tmp_path / "two.npz", a=np.zeros((2, 1)), b=np.ones((5, 1)))
    assert NumpyQSL(tmp_path / "one.npz").total_sample_count == 4
    assert NumpyQSL(tmp_path / "two.npz", key="b").total_sample_count == 5
    with pytest.raises(DatasetError, match=r"holds 2 arrays \(a, b\); choose one with key="):
        NumpyQSL(tmp_path / "two.npz")
    with pytest.raises(DatasetError, match="has no array 'c'"):
        NumpyQSL(tmp_path / "two.npz", key="c")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.write_bytes(b""), "not a readable .npy or .npz file"),
        (lambda p: p.write_bytes(b"garbage, not numpy"), "not a readable .npy or .npz file"),
        (lambda p: np.save(p, np.float64(3.0)), "holds a single value, not rows"),
        (lambda p: np.save(p, np.zeros((0, 4))), "holds no samples"),
        (lambda p: np.save(p, np.array([{"a": 1}], dtype=object)), "not a readable"),
    ],
)
def test_bad_numpy_files(tmp_path: Path, make: object, message: str) -> None:
    path = tmp_path / "bad.npy"
    make(path)  # type: ignore[operator]
    with pytest.raises(DatasetError, match=message):
        NumpyQSL(path)


def test_json_key_needs_as_json(tmp_path: Path) -> None:
    np.save(tmp_path / "x.npy", np.zeros((2, 2)))
    with pytest.raises(ValueError, match="json_key needs as_json"):
        NumpyQSL(tmp_path / "x.npy", json_key="inputs")


# -- through the HTTP SUT ---------------------------------------------------------------------


@pytest.mark.asyncio
async def test_dataset_payloads_reach_the_server(server: Server, tmp_path: Path) -> None:
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "0.bin").write_bytes(b"\x00\xffbytes")
    np.save(tmp_path / "rows.npy", np.array([[1, 2], [3, 4]], dtype=np.int16))
    folder = FolderQSL(tmp_path / "files", request_path="/echo")
    rows = NumpyQSL(tmp_path / "rows.npy", as_json=True, json_key="x", request_path="/echo")
    async with HttpSUT(server.url, folder) as by_file, HttpSUT(server.url, rows) as by_row:
        (file_sample,) = await answer(by_file, [0])
        (row_sample,) = await answer(by_row, [1])
    assert file_sample.outcome == ("complete", (b"\x00\xffbytes", None))
    assert json.loads(row_sample.outcome[1][0]) == {"x": [3, 4]}
