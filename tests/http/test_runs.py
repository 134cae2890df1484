"""Whole asyncgen runs through the HTTP adapters: token latencies, accuracy logs, failures."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web

import asyncgen
from asyncgen._output.verify import verify as asyncgen_verify
from asyncgen.datasets import JsonLinesQSL
from asyncgen.http import HttpSUT, OpenAISUT, Payload
from tests.helpers import read_detail
from tests.http.conftest import Server, ServerState, make_app
from tests.http.helpers import PayloadQSL, logs, server_settings

MS = 1_000_000


@pytest.mark.asyncio
async def test_ttft_and_tpot_come_from_the_stream(server: Server, tmp_path: Path) -> None:
    qsl = PayloadQSL([Payload(json={"prompt": f"p{i}"}) for i in range(8)])
    timing = {"tokens": 4, "ttft_ms": 30, "tpot_ms": 10}
    settings = server_settings(
        use_token_latencies=True, ttft_latency=10**9, tpot_latency=10**9, server_target_qps=50
    )
    async with OpenAISUT(server.url, qsl, extra_body=timing) as sut:
        result = await asyncgen.run_test(
            sut, qsl, settings, log_settings=logs(tmp_path), audit_config=None
        )
    assert result.failures == {} and sut.failures.total == 0
    summary = result.summary
    assert summary is not None
    ttft = summary.first_token_latency
    tpot = summary.time_per_output_token
    assert ttft is not None and tpot is not None
    # Latency counts from the scheduled time, so it is never below the server's own timing;
    # the upper bounds leave room for a busy machine's stalls (half a second seen).
    assert ttft.min_ns >= 30 * MS and ttft.percentiles_ns[0.5] < 30 * MS + 2000 * MS
    assert 5 * MS <= tpot.percentiles_ns[0.5] <= 1000 * MS
    assert summary.sample_latency.min_ns >= 60 * MS  # 30 ms to the first token, 3 x 10 ms after
    assert summary.token_count == 4 * summary.sample_count


@pytest.mark.asyncio
async def test_accuracy_log_holds_each_response_body(server: Server, tmp_path: Path) -> None:
    dataset = tmp_path / "in.jsonl"
    dataset.write_text("\n".join(json.dumps({"id": i}) for i in range(5)) + "\n")
    qsl = JsonLinesQSL(dataset, request_path="/echo")
    settings = asyncgen.TestSettings(
        scenario=asyncgen.TestScenario.Offline, mode=asyncgen.TestMode.AccuracyOnly
    )
    async with HttpSUT(server.url, qsl) as sut:
        result = await asyncgen.run_test(
            sut, qsl, settings, log_settings=logs(tmp_path), audit_config=None
        )
    assert result.valid
    entries = json.loads((tmp_path / "mlperf_log_accuracy.json").read_text())
    bodies = {e["qsl_idx"]: json.loads(bytes.fromhex(e["data"])) for e in entries}
    assert bodies == {i: {"id": i} for i in range(5)}


@pytest.mark.asyncio
async def test_a_huge_usage_token_count_is_an_error_per_sample_not_lost_samples(
    server: Server, tmp_path: Path
) -> None:
    qsl = PayloadQSL([Payload(json={"prompt": f"p{i}"}) for i in range(8)])
    settings = server_settings(
        use_token_latencies=True, ttft_latency=10**9, tpot_latency=10**9, drain_timeout_ms=60_000
    )
    async with asyncio.timeout(30):  # never the drain deadline: every sample is recorded
        async with OpenAISUT(server.url, qsl, extra_body={"usage_tokens": 2**70}) as sut:
            result = await asyncgen.run_test(
                sut, qsl, settings, log_settings=logs(tmp_path), audit_config=None
            )
    assert result.missing_samples == () and result.failures == {}
    assert result.summary is not None
    sample_count = result.summary.sample_count
    errors = [
        e["value"]
        for e in read_detail(tmp_path / "mlperf_log_detail.txt")
        if e["value"].__class__ is str and e["value"].startswith("n_tokens of sample seq_id")
    ]
    assert len(errors) == sample_count > 0
    assert result.summary.token_count == 0  # counted as 0, as the reference does a bad count
    assert asyncgen_verify(tmp_path) == []


def failing_qsl() -> PayloadQSL:
    """Every third sample hits a 503."""
    return PayloadQSL(
        [Payload(path="/status/503" if i % 3 == 0 else "/echo", body=b"x") for i in range(9)]
    )


@pytest.mark.asyncio
async def test_failed_samples_make_the_run_invalid_and_are_counted(
    server: Server, tmp_path: Path
) -> None:
    qsl = failing_qsl()
    async with HttpSUT(server.url, qsl) as sut:
        result = await asyncgen.run_test(
            sut, qsl, server_settings(), log_settings=logs(tmp_path), audit_config=None
        )
    failed = sut.failures.http_status
    assert failed > 0 and sut.failures.total == failed
    assert not result.valid
    assert result.failures == {"http_status": failed}
    assert f"{failed} samples failed (http_status: {failed})" in result.reasons
    saved = json.loads(result.files["results"].read_text())
    assert saved["failures"] == {"http_status": failed} and saved["result"] == "INVALID"
    errors = [
        e for e in read_detail(tmp_path / "mlperf_log_detail.txt") if e["key"] == "error_runtime"
    ]
    assert (
        sum("Sample failed" in e["value"] and "http_status: HTTP 503" in e["value"] for e in errors)
        == failed
    )
    assert result.summary is not None  # failed samples have no latency
    assert len(result.latencies) + failed == result.summary.query_count


@pytest.mark.asyncio
async def test_failures_can_be_tolerated(server: Server, tmp_path: Path) -> None:
    qsl = failing_qsl()
    async with HttpSUT(server.url, qsl) as sut:
        result = await asyncgen.run_test(
            sut,
            qsl,
            server_settings(),
            log_settings=logs(tmp_path),
            audit_config=None,
            fail_on_sample_errors=False,
        )
    assert result.failures == {"http_status": sut.failures.http_status}
    assert not any("samples failed" in reason for reason in result.reasons)


@pytest.fixture
def threaded_server() -> Iterator[str]:
    """The test app served from its own thread and loop, for the synchronous ``asyncgen.run``."""
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(make_app(ServerState()), handle_signals=False, access_log=None)

    async def start() -> str:
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        return f"http://127.0.0.1:{runner.addresses[0][1]}"

    url = loop.run_until_complete(start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield url
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=10)
    loop.close()


def test_synchronous_run_leaves_no_connection_open(threaded_server: str, tmp_path: Path) -> None:
    qsl = PayloadQSL([Payload(path="/echo", body=b"%d" % i) for i in range(4)])
    sut = HttpSUT(threaded_server, qsl)
    result = asyncgen.run(
        sut, qsl, server_settings(), log_settings=logs(tmp_path), audit_config=None
    )
    assert result.failures == {}
    pool = sut._pool
    assert pool is not None and pool.in_flight == 0 and not pool.idle
    assert sut.connections_opened >= 1
    # a second run on a new loop opens a new pool rather than reusing the dead one
    again = asyncgen.run(
        sut, qsl, server_settings(), log_settings=logs(tmp_path), audit_config=None
    )
    assert again.failures == {} and sut._pool is not pool
