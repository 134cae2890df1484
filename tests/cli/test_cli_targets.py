"""Naming the SUT and the samples: module:object, factories, dataset types, reachability."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

import asyncgen
from asyncgen import ConfigError
from asyncgen._cli.targets import (
    check_reachable,
    dataset_kind,
    dataset_qsl,
    is_url,
    load_object,
    parse_options,
    placeholder_qsl,
    python_qsl,
    python_sut,
)
from tests.cli import _suts


def test_urls_and_objects_are_told_apart() -> None:
    assert is_url("http://127.0.0.1:8000/predict")
    assert is_url("HTTPS://example.com")
    assert not is_url("tests.cli._suts:fast_sut")


def test_load_object_by_module_and_dotted_attribute() -> None:
    assert load_object("tests.cli._suts:fast_sut", "--sut") is _suts.fast_sut
    assert load_object("asyncgen:TestScenario.Server", "--sut") is asyncgen.TestScenario.Server


def test_load_object_from_a_file(tmp_path: Path) -> None:
    source = tmp_path / "my_harness.py"
    source.write_text("VALUE = 7\n")
    assert load_object(f"{source}:VALUE", "--sut") == 7


def test_a_broken_module_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    source = tmp_path / "broken_harness.py"
    source.write_text("raise RuntimeError('no GPU')\n")
    with pytest.raises(ConfigError, match=r"importing .*broken_harness.py failed: RuntimeError"):
        load_object(f"{source}:sut", "--sut")


@pytest.mark.parametrize(
    ("spec", "message"),
    [("tests.cli._suts", "expected module:object or a URL"),
     ("tests.cli._suts:", "expected module:object"),
     ("no_such_module_xyz:sut", "cannot import no_such_module_xyz"),
     ("tests.cli._suts:missing", "has no 'missing'"),
     ("/no/such/file.py:sut", "no Python file")],
)  # fmt: skip
def test_load_object_errors(spec: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_object(spec, "--sut")


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("spec", "name"),
    [("tests.cli._suts:slow_sut", "slow"),  # an instance
     ("tests.cli._suts:fast_sut", "fast"),  # a factory
     ("tests.cli._suts:RaisingSUT", "raising"),  # a class
     ("tests.cli._suts:async_factory", "made-on-the-loop")],
)  # fmt: skip
async def test_python_sut_from_instance_class_or_factory(spec: str, name: str) -> None:
    assert (await python_sut(spec)).name == name


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("spec", "message"),
    [("tests.cli._suts:not_a_sut", "neither a SystemUnderTest nor a factory"),
     ("tests.cli._suts:needs_arguments", "calling it with no arguments failed"),
     ("tests.cli._suts:broken_factory", r"making it raised RuntimeError\('no model file'\)"),
     ("tests.cli._suts:small_qsl", "neither a SystemUnderTest"),
     ("asyncgen:SimulatedQSL", "made a SimulatedQSL, which is not a SystemUnderTest")],
)  # fmt: skip
async def test_python_sut_errors(spec: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        await python_sut(spec)


@pytest.mark.asyncio
async def test_python_qsl() -> None:
    assert (await python_qsl("tests.cli._suts:small_qsl")) is _suts.small_qsl
    with pytest.raises(ConfigError, match=r"--qsl .* is not a QuerySampleLibrary"):
        await python_qsl("tests.cli._suts:fast_sut")


def test_placeholder_qsl_sizes() -> None:
    qsl = placeholder_qsl(100, None)
    assert (qsl.total_sample_count, qsl.performance_sample_count) == (100, 100)
    assert placeholder_qsl(100, 10).performance_sample_count == 10
    assert placeholder_qsl(100, 1000).performance_sample_count == 100


@pytest.mark.parametrize(
    ("name", "kind"),
    [("a.jsonl", "JsonLinesQSL"), ("a.ndjson", "JsonLinesQSL"), ("a.JSON", "JsonLinesQSL"),
     ("a.npy", "NumpyQSL"), ("a.npz", "NumpyQSL")],
)  # fmt: skip
def test_dataset_kind_by_name(tmp_path: Path, name: str, kind: str) -> None:
    (tmp_path / name).write_bytes(b"")
    assert dataset_kind(tmp_path / name) == kind
    assert dataset_kind(tmp_path) == "FolderQSL"


def test_dataset_of_unknown_type(tmp_path: Path) -> None:
    data = tmp_path / "inputs.csv"
    data.write_text("1,2\n")
    with pytest.raises(ConfigError, match=r"cannot tell its type.*\.jsonl"):
        dataset_qsl(data, None)


def test_missing_dataset(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"missing\.jsonl: no such file"):
        dataset_qsl(tmp_path / "missing.jsonl", None)


def test_adapter_options_are_json_or_text() -> None:
    options = parse_options(["timeout_s=2.5", 'headers={"x": "1"}', "model=llama 3", "n=3"])
    assert options == {"timeout_s": 2.5, "headers": {"x": "1"}, "model": "llama 3", "n": 3}
    with pytest.raises(ConfigError, match="expected key=value"):
        parse_options(["novalue"])


@pytest.fixture
def refusing_port() -> Iterator[int]:
    """A bound port that does not listen: connecting is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.mark.asyncio
async def test_unreachable_server_fails_before_the_run(refusing_port: int) -> None:
    url = f"http://127.0.0.1:{refusing_port}/predict"
    with pytest.raises(ConfigError, match=f"cannot reach 127.0.0.1:{refusing_port}"):
        await check_reachable(url)


@pytest.mark.asyncio
async def test_reachable_server_passes() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        await check_reachable(f"http://127.0.0.1:{sock.getsockname()[1]}")


@pytest.mark.asyncio
async def test_url_without_host() -> None:
    with pytest.raises(ConfigError, match="base URL must be http://host"):
        await check_reachable("http:///predict")
