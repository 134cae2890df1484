"""The demo's pieces: the digits model server on 127.0.0.1, its batching, the accuracy script,
and the whole demo against the real server."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from examples import (
    digits_accuracy,
    digits_demo,
    embedded_app,
    openai_demo,
)
from examples.digits_model import Split, load_split, request_body, train, write_dataset
from examples.digits_server import Batcher, parse_pixels, start

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def split() -> Split:
    return load_split()


@pytest.fixture(scope="module")
def model(split: Split) -> Any:
    return train(split)


def test_split_is_fixed_and_the_model_is_accurate(split: Split, model: Any) -> None:
    assert (len(split.train_y), len(split.test_y)) == (1437, 360)
    assert load_split().test_y.tolist() == split.test_y.tolist()  # seeded: same every time
    assert (model.predict(split.test_x) == split.test_y).mean() > 0.97


def test_dataset_files_hold_the_test_split(tmp_path: Path, split: Split) -> None:
    samples, labels = write_dataset(split, tmp_path)
    lines = samples.read_text().splitlines()
    assert len(lines) == 360
    assert json.loads(lines[5]) == request_body(split.test_x[5])
    assert json.loads(labels.read_text()) == split.test_y.tolist()


@pytest.mark.asyncio
async def test_server_answers_on_localhost(split: Split, model: Any) -> None:
    runner, url = await start(model)
    try:
        assert url.startswith("http://127.0.0.1:")
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{url}/health") as response:
                assert await response.text() == "ok"
            answers = []
            for row in split.test_x[:20]:
                async with session.post(f"{url}/predict", json=request_body(row)) as response:
                    assert response.status == 200
                    answers.append((await response.json())["label"])
            assert answers == model.predict(split.test_x[:20]).tolist()
            async with session.post(f"{url}/predict", data=b"not json") as response:
                assert response.status == 400
            async with session.post(f"{url}/predict", json={"pixels": [1, 2]}) as response:
                assert response.status == 400
                assert "64 numbers" in (await response.json())["error"]
    finally:
        await runner.cleanup()


@pytest.mark.asyncio
async def test_batcher_predicts_queued_requests_together(split: Split, model: Any) -> None:
    batcher = Batcher(model, max_batch=64)
    worker = asyncio.create_task(batcher.run())
    try:
        rows = [[float(v) for v in row] for row in split.test_x[:40]]
        labels = await asyncio.gather(*(batcher.predict(row) for row in rows))
    finally:
        worker.cancel()
    assert labels == model.predict(split.test_x[:40]).tolist()
    assert batcher.batches < 40  # requests that queued up together shared a model call


@pytest.mark.parametrize(
    ("body", "message"),
    [({"pixels": [0] * 63}, "64 numbers"), ([0] * 64, "64 numbers"),
     ({"pixels": [17] + [0] * 63}, "from 0 to 16"), ({"pixels": ["1"] * 64}, "from 0 to 16")],
)  # fmt: skip
def test_bad_request_bodies(body: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_pixels(body)


def _entry(qsl_idx: int, data: bytes) -> dict[str, object]:
    return {"seq_id": qsl_idx, "qsl_idx": qsl_idx, "data": data.hex().upper()}


def test_accuracy_from_a_known_log() -> None:
    labels = [3, 1, 4, 1, 5]
    entries = [
        _entry(0, b'{"label": 3}'),  # right
        _entry(1, b'{"label": 7}'),  # wrong
        _entry(2, b'{"label": 4}'),  # right
        _entry(2, b'{"label": 9}'),  # the same sample again: only its first answer counts
        _entry(3, b"Internal Server Error"),  # unreadable
        _entry(4, b""),  # a failed sample: no data
    ]
    accuracy = digits_accuracy.top1(entries, labels)
    assert (accuracy.correct, accuracy.total, accuracy.unreadable) == (2, 5, 2)
    assert accuracy.top1 == 0.4
    assert str(accuracy) == "top-1 accuracy: 40.00% (2/5 samples), 2 unreadable responses"


def test_accuracy_script(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "mlperf_log_accuracy.json"
    log.write_text(json.dumps([_entry(0, b'{"label": 2}'), _entry(1, b'{"label": 0}')]))
    labels = tmp_path / "labels.json"
    labels.write_text("[2, 0]")
    assert digits_accuracy.main([str(log), "--labels", str(labels)]) == 0
    assert capsys.readouterr().out == "top-1 accuracy: 100.00% (2/2 samples)\n"
    log.write_text("[]")
    assert digits_accuracy.main([str(log), "--labels", str(labels)]) == 1
    assert "no responses logged" in capsys.readouterr().err


def test_the_whole_demo(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    status = digits_demo.main(["--outdir", str(tmp_path), "--duration-ms", "1000", "--qps", "400"])
    out = capfd.readouterr().out
    assert status == 0, out  # INVALID (too few queries for the config in 1 s) is still 0
    assert "listening on http://127.0.0.1:" in out
    assert "$ asyncgen run --scenario Server --config" in out
    perf = json.loads((tmp_path / "performance" / "mlperf_log_results.json").read_text())
    assert perf["summary"]["sample_count"] > 200  # about 400 QPS for a second
    assert "performance run: INVALID" in out or "performance run: VALID" in out
    assert perf["errors"] == 0
    accuracy = json.loads((tmp_path / "accuracy" / "mlperf_log_results.json").read_text())
    assert accuracy["valid"] is True
    assert accuracy["accuracy_entries"] == 360
    assert "MLPerf Results Summary" in out
    assert re.search(r"^accuracy run: top-1 accuracy: 9\d\.\d\d% \(\d+/360 samples\)$", out, re.M)


def test_embedded_app_example(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = asyncio.run(embedded_app.main(tmp_path, duration_ms=1000))
    out = capsys.readouterr().out
    assert result.failures == {}
    assert result.summary is not None
    assert result.summary.sample_count >= 90  # 100 QPS for a second
    assert re.search(r"^  \s*\d\.\d s: \d+ answered", out, re.MULTILINE)  # progress callback
    assert "heartbeat kept beating" in out


def test_latency_objective_example() -> None:
    """The example runs as its users run it: pytest in the repository, with the plugin."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "examples/test_latency_objective.py"],
        cwd=REPO, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout


def test_openai_example_measures_the_servers_token_timing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = asyncio.run(openai_demo.main(tmp_path, duration_ms=1000))
    summary = result.summary
    assert summary is not None
    assert summary.first_token_latency is not None
    assert summary.time_per_output_token is not None
    assert summary.token_count == 16 * summary.sample_count
    assert summary.first_token_latency.percentiles_ns[0.5] >= 20_000_000  # the server's TTFT
    assert summary.time_per_output_token.percentiles_ns[0.5] >= 3_000_000  # about 5 ms
    assert "TTFT p50" in capsys.readouterr().out
