"""asyncgen.compat on its own: config rules, records, handles, threading and failure paths."""

from __future__ import annotations

import asyncio
import ctypes
import json
import pickle
import queue
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import asyncgen
import asyncgen.compat as lg
from asyncgen._compat import config
from tests.helpers import detail_values, read_detail


@pytest.fixture
def fresh_config_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """As in a new process: no user.conf loaded yet, no queued errors."""
    monkeypatch.setattr(config, "_user_conf_loads", 0)
    config.take_pending_errors()
    yield
    config.take_pending_errors()


def _settings(**fields: Any) -> lg.TestSettings:
    settings = lg.TestSettings()
    settings.min_query_count = 100  # enough for early stopping: a VALID run
    settings.min_duration_ms = 0
    for name, value in fields.items():
        setattr(settings, name, value)
    return settings


def _log_settings(outdir: Path) -> lg.LogSettings:
    log_settings = lg.LogSettings()
    log_settings.log_output.outdir = str(outdir)
    return log_settings


def _run(
    tmp_path: Path,
    issue: Callable[[list[lg.QuerySample]], None],
    settings: lg.TestSettings,
    load: Callable[[list[int]], None] = lambda _: None,
) -> dict[str, Any]:
    sut = lg.ConstructSUT(issue, lambda: None)
    qsl = lg.ConstructQSL(32, 8, load, lambda _: None)
    try:
        lg.StartTestWithLogSettings(
            sut, qsl, settings, _log_settings(tmp_path), str(tmp_path / "no-audit.config")
        )
    finally:
        lg.DestroySUT(sut)
        lg.DestroyQSL(qsl)
    return detail_values(tmp_path / "mlperf_log_detail.txt")


def _complete_now(samples: list[lg.QuerySample]) -> None:
    lg.QuerySamplesComplete([lg.QuerySampleResponse(s.id, 0, 0) for s in samples])


# -- FromConfig ----------------------------------------------------------------------------------


def test_the_first_user_conf_brings_the_mlperf_rules_and_later_ones_log_an_error(
    tmp_path: Path, fresh_config_state: None
) -> None:
    conf = tmp_path / "user.conf"
    conf.write_text("*.Server.target_qps = 50\n")
    first, second = lg.TestSettings(), lg.TestSettings()
    assert first.FromConfig(str(conf), "resnet50", lg.TestScenario.Server) == 0
    assert second.FromConfig(str(conf), "resnet50", "Server") == 0
    assert first.server_target_qps == second.server_target_qps == 50.0
    assert first.qsl_rng_seed != 0 and first.performance_sample_count_override == 1024
    assert second.qsl_rng_seed == 0 and second.performance_sample_count_override == 0
    assert config.take_pending_errors() == [("error_invalid_config", config.MULTIPLE_CONF_FILES)]


def test_from_config_codes_and_nothing_applied_on_error(
    tmp_path: Path, fresh_config_state: None
) -> None:
    bad = tmp_path / "bad.conf"
    bad.write_text("*.*.max_query_count = 5\n*.*.max_query_cuont = 5\n")
    settings = lg.TestSettings()
    assert settings.FromConfig(str(bad), "resnet50", "Offline") == -22
    assert settings.max_query_count == 0  # the good line was not applied either
    assert settings.qsl_rng_seed != 0  # the rules came first and stay applied, as in the reference
    assert settings.FromConfig(str(tmp_path / "nope.conf"), "m", "Offline", 2) == -2
    assert settings.FromConfig("", "m", "Offline", 0) == 0
    errors = config.take_pending_errors()
    assert [k for k, _ in errors] == ["error_invalid_config"] * 2
    assert "max_query_count" in errors[0][1]  # asyncgen names the key it probably meant
    assert errors[1][1] == f"can't open file {tmp_path / 'nope.conf'}"
    with pytest.raises(TypeError):
        settings.FromConfig(tmp_path, "m", "Offline")  # type: ignore[arg-type]


def test_queued_config_errors_open_the_next_tests_detail_log(
    tmp_path: Path, fresh_config_state: None
) -> None:
    assert lg.TestSettings().FromConfig(str(tmp_path / "nope.conf"), "m", "SingleStream") == -2
    _run(tmp_path / "first", _complete_now, _settings())
    first = read_detail(tmp_path / "first" / "mlperf_log_detail.txt")
    assert (first[0]["key"], first[0]["metadata"]["is_error"]) == ("error_invalid_config", True)
    assert first[1]["key"] == "loadgen_version"
    assert "1 ERROR encountered" in (tmp_path / "first" / "mlperf_log_summary.txt").read_text()
    _run(tmp_path / "second", _complete_now, _settings())
    second = read_detail(tmp_path / "second" / "mlperf_log_detail.txt")
    assert not [e for e in second if e["key"].startswith("error")]


# -- records, settings, handles ------------------------------------------------------------------


def test_records_pickle_and_read_back() -> None:
    sample = pickle.loads(pickle.dumps(lg.QuerySample(5, 6)))
    assert (sample.id, sample.index) == (5, 6)
    response = pickle.loads(pickle.dumps(lg.QuerySampleResponse(1, 2, 3, 4)))
    assert (response.id, response.data, response.size, response.n_tokens) == (1, 2, 3, 4)
    assert lg.QuerySampleResponse(1, 2, 3).n_tokens == 0
    assert repr(sample) == "QuerySample(id=5, index=6)"
    assert lg.VectorQuerySampleResponse([response]) == [response]


def test_settings_take_engine_enums_and_copy_log_output_on_assignment() -> None:
    settings = lg.TestSettings()
    settings.scenario = asyncgen.TestScenario.Server  # type: ignore[assignment]
    assert settings.scenario is lg.TestScenario.Server
    assert repr(settings) == "TestSettings(scenario=<TestScenario.Server: 2>)"
    output = lg.LogOutputSettings()
    log_settings = lg.LogSettings()
    log_settings.log_output = output
    output.outdir = "elsewhere"
    assert log_settings.log_output.outdir == "."
    with pytest.raises(TypeError):
        log_settings.log_output = "out"  # type: ignore[assignment]
    with pytest.raises(AttributeError):
        log_settings.outdir = "out"  # type: ignore[attr-defined]


def test_bad_handles_are_errors_not_crashes(tmp_path: Path) -> None:
    sut = lg.ConstructFastSUT(lambda ids, indices: None, lambda: None)
    qsl = lg.ConstructQSL(8, 8, lambda _: None, lambda _: None)
    with pytest.raises(ValueError, match="ConstructQSL"):
        lg.StartTest(sut, sut, _settings())
    with pytest.raises(ValueError, match="ConstructSUT"):
        lg.StartTest(qsl, qsl, _settings())
    with pytest.raises(TypeError):
        lg.StartTest(sut, qsl, asyncgen.TestSettings())  # type: ignore[arg-type]
    lg.DestroyFastSUT(sut)
    with pytest.raises(ValueError):
        lg.DestroySUT(sut)
    lg.DestroyQSL(qsl)
    with pytest.raises(TypeError):
        lg.ConstructQSL(-1, 8, lambda _: None, lambda _: None)


# -- threading, timestamps, laziness -------------------------------------------------------------


def test_callbacks_run_on_the_calling_thread(tmp_path: Path) -> None:
    threads: set[int] = set()

    def issue(samples: list[lg.QuerySample]) -> None:
        threads.add(threading.get_ident())
        _complete_now(samples)

    detail = _run(tmp_path, issue, _settings(), load=lambda _: threads.add(threading.get_ident()))
    assert threads == {threading.get_ident()}
    assert detail["result_validity"] == "VALID"


@pytest.mark.asyncio
async def test_start_test_from_async_code_runs_on_a_helper_thread(tmp_path: Path) -> None:
    threads: set[int] = set()

    def issue(samples: list[lg.QuerySample]) -> None:
        threads.add(threading.get_ident())
        _complete_now(samples)

    detail = _run(tmp_path, issue, _settings())
    assert threads and threading.get_ident() not in threads
    assert detail["result_query_count"] == 100
    await asyncio.sleep(0)


def test_a_completion_from_another_thread_is_timed_at_the_call(tmp_path: Path) -> None:
    """The loop thread stays busy long after the worker completed; that must not count."""
    busy_ns = 1_000_000_000  # far above a thread hand-off, even on a busy machine
    inbox: queue.Queue[list[lg.QuerySample] | None] = queue.Queue()
    done = threading.Event()

    def worker() -> None:
        while (samples := inbox.get()) is not None:
            _complete_now(samples)
            done.set()

    def issue(samples: list[lg.QuerySample]) -> None:
        done.clear()
        inbox.put(samples)
        done.wait()
        deadline = time.perf_counter_ns() + busy_ns
        while time.perf_counter_ns() < deadline:  # keep the loop thread busy
            pass

    thread = threading.Thread(target=worker)
    thread.start()
    try:
        detail = _run(tmp_path, issue, _settings(min_query_count=1))
    finally:
        inbox.put(None)
        thread.join()
    assert detail["result_query_count"] == 1
    assert detail["result_max_latency_ns"] < busy_ns


def test_unlogged_responses_are_never_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reads: list[int] = []
    real_string_at = ctypes.string_at

    def spy(address: int, size: int = -1) -> bytes:
        reads.append(address)
        return real_string_at(address, size)

    monkeypatch.setattr(ctypes, "string_at", spy)
    callbacks: list[int] = []

    def issue(samples: list[lg.QuerySample]) -> None:
        responses = [lg.QuerySampleResponse(s.id, 0xDEAD0000, 16) for s in samples]
        lg.QuerySamplesComplete(responses, lambda r: callbacks.append(r.id))

    detail = _run(tmp_path, issue, _settings())
    assert detail["result_validity"] == "VALID"
    assert reads == [] and callbacks == []


def test_logged_responses_call_response_cb_before_the_read(tmp_path: Path) -> None:
    buffers: dict[int, ctypes.Array[ctypes.c_char]] = {}
    order: list[str] = []

    def response_cb(response: lg.QuerySampleResponse) -> None:
        order.append("cb")
        buffers[response.id].value = b"late"  # e.g. a device-to-host copy

    def issue(samples: list[lg.QuerySample]) -> None:
        responses = []
        for s in samples:
            buffers[s.id] = ctypes.create_string_buffer(4)
            responses.append(lg.QuerySampleResponse(s.id, ctypes.addressof(buffers[s.id]), 4))
        lg.QuerySamplesComplete(responses, response_cb)
        lg.FirstTokenComplete(responses, lambda _: order.append("token cb"))

    _run(tmp_path, issue, _settings(mode=lg.TestMode.AccuracyOnly))
    entries = json.loads((tmp_path / "mlperf_log_accuracy.json").read_text())
    assert len(entries) == 32 and {e["data"] for e in entries} == {b"late".hex().upper()}
    assert order == ["cb"] * 32  # FirstTokenComplete never calls its response_cb


# -- failures ------------------------------------------------------------------------------------


def test_a_null_address_for_a_logged_response_fails_the_run_clearly(tmp_path: Path) -> None:
    def issue(samples: list[lg.QuerySample]) -> None:
        lg.QuerySamplesComplete([lg.QuerySampleResponse(s.id, 0, 8) for s in samples])

    with pytest.raises(asyncgen.RunError) as caught:
        _run(tmp_path, issue, _settings(mode=lg.TestMode.AccuracyOnly))
    assert isinstance(caught.value.__cause__, ValueError)
    assert "null address" in str(caught.value.__cause__)
    assert json.loads((tmp_path / "mlperf_log_accuracy.json").read_text()) == []


def test_a_raising_load_callback_ends_the_run_with_complete_files(tmp_path: Path) -> None:
    def load(_indices: list[int]) -> None:
        raise OSError("disk gone")

    with pytest.raises(asyncgen.RunError) as caught:
        _run(tmp_path, _complete_now, _settings(), load=load)
    assert isinstance(caught.value.__cause__, OSError)
    summary = (tmp_path / "mlperf_log_summary.txt").read_text()
    assert "1 ERROR encountered" in summary
    assert "disk gone" in detail_values(tmp_path / "mlperf_log_detail.txt")["error_runtime"]


def test_a_raising_response_cb_fails_its_sample_and_reaches_the_caller(tmp_path: Path) -> None:
    """From a worker thread: the caller gets the exception, the sample ends as a failure."""
    caught: list[BaseException] = []

    def boom(_response: lg.QuerySampleResponse) -> None:
        raise RuntimeError("device copy failed")

    def work(samples: list[lg.QuerySample]) -> None:
        try:
            lg.QuerySamplesComplete([lg.QuerySampleResponse(s.id, 0, 0) for s in samples], boom)
        except RuntimeError as exc:
            caught.append(exc)

    def issue(samples: list[lg.QuerySample]) -> None:
        threading.Thread(target=work, args=[samples]).start()

    detail = _run(tmp_path, issue, _settings(mode=lg.TestMode.AccuracyOnly))
    assert len(caught) == 32
    assert "device copy failed" in detail["error_runtime"]
    assert json.loads((tmp_path / "mlperf_log_accuracy.json").read_text()) == []
    summary = (tmp_path / "mlperf_log_summary.txt").read_text()
    assert "32 ERRORS encountered" in summary


def test_callbacks_must_be_callable_when_the_handle_is_made() -> None:
    with pytest.raises(TypeError, match="issue_cb"):
        lg.ConstructSUT(None, lambda: None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="name_cb"):
        lg.ConstructQDL(lambda _: None, lambda: None, "name")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="unload"):
        lg.ConstructQSL(8, 8, lambda _: None, 1)  # type: ignore[arg-type]


def test_an_id_past_the_issued_samples_is_an_error_entry_not_a_crash(tmp_path: Path) -> None:
    def issue(samples: list[lg.QuerySample]) -> None:
        _complete_now(samples)
        lg.QuerySamplesComplete([lg.QuerySampleResponse(samples[0].id + 10_000, 0, 0)])

    detail = _run(tmp_path, issue, _settings(accuracy_log_probability=0.5))  # sampled
    assert "never issued" in detail["error_runtime"]
    assert detail["result_query_count"] == 100


def test_a_harness_thread_holding_the_gil_is_a_stall_with_advice_for_a_harness(
    tmp_path: Path,
) -> None:
    """A worker thread in a long native call that keeps the GIL stops the loop thread: a
    stall the reference does not report. The advice speaks of the GIL, not of asyncio."""
    hold_us = 400_000  # well above the 250 ms stall threshold
    keep_gil_sleep = ctypes.PyDLL(None).usleep  # PyDLL: the call does not release the GIL
    inbox: queue.Queue[list[lg.QuerySample] | None] = queue.Queue()
    handled = 0

    def worker() -> None:
        nonlocal handled
        while (samples := inbox.get()) is not None:
            handled += 1
            if handled == 10:
                keep_gil_sleep(hold_us)
            _complete_now(samples)

    thread = threading.Thread(target=worker)
    thread.start()
    try:
        detail = read_detail_after(tmp_path, inbox.put, _settings())
    finally:
        inbox.put(None)
        thread.join()
    warnings = [e["value"] for e in detail if e["metadata"]["is_warning"]]
    (stall,) = [w for w in warnings if w.startswith("The event loop stalled")]
    assert "another harness thread holding the GIL" in stall
    assert "asyncio.to_thread" not in stall


def read_detail_after(
    tmp_path: Path, issue: Callable[[list[lg.QuerySample]], None], settings: lg.TestSettings
) -> list[dict[str, Any]]:
    _run(tmp_path, issue, settings)
    return read_detail(tmp_path / "mlperf_log_detail.txt")
