"""LoadGen harnesses in the reference's documented style, run against either module.

Each case is the shape of one of the reference's Python demos: callbacks that are plain
functions, ``QuerySampleResponse(id, address, size)`` built from ``array.array`` or NumPy
buffers, completions made inside ``issue_query``, from a thread pool, from threads started per
query, or from an asyncio loop running in a second thread. The same source runs against
``mlperf_loadgen`` (the oracle, in a subprocess) and ``asyncgen.compat``::

    python harness.py --module mlperf_loadgen --outdir DIR [--cases a,b] [--probe NAME]

Each case writes its four log files to ``DIR/<case>/`` and the result holds what the
harness saw: the loaded and unloaded sets, the QSL indices of every issue call, flush and
``response_cb`` counts. ``--probe NAME`` runs one of the small probes at the end instead (they
touch process-wide state: run them in a fresh process) and writes ``DIR/NAME.json``.
"""

from __future__ import annotations

import argparse
import array
import asyncio
import importlib
import json
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

TOTAL, PERFORMANCE = 64, 16
# Server latency bounds far above any latency here, even on a loaded machine: the verdicts
# then depend on counts only, and the two runs must agree on them.
SLACK_NS = 2_000_000_000


def response_bytes(index: int) -> bytes:
    """What the SUT answers for a QSL index: recognisable bytes that vary in length."""
    return bytes((index * 7 + k) % 256 for k in range(1 + index % 5))


def tokens(index: int) -> np.ndarray:
    """The token ids a token-mode SUT answers with: 2 to 6 of them."""
    return np.arange(index, index + 2 + index % 5, dtype=np.int32)


class Harness:
    """One case: the callbacks, and what they were called with."""

    def __init__(self, lg: ModuleType) -> None:
        self.lg = lg
        self.loaded: list[list[int]] = []
        self.unloaded: list[list[int]] = []
        self.issued: list[list[int]] = []
        self.flushes = 0
        self.response_cb_calls = 0
        self._lock = threading.Lock()
        self._keep: list[Any] = []  # buffers whose addresses went out with a response
        self.cleanups: list[Callable[[], object]] = []  # pools and loops to stop afterwards

    # -- QSL and SUT callbacks in the demos' style ------------------------------------------

    def load_samples_to_ram(self, query_samples: list[int]) -> None:
        self.loaded.append(list(query_samples))

    def unload_samples_from_ram(self, query_samples: list[int]) -> None:
        self.unloaded.append(list(query_samples))

    def flush_queries(self) -> None:
        self.flushes += 1

    def record_issue(self, indices: list[int]) -> None:
        self.issued.append(list(indices))

    def count_response_cb(self, response: Any) -> None:
        assert response.size >= 0
        with self._lock:
            self.response_cb_calls += 1

    # -- responses ---------------------------------------------------------------------------

    def array_response(self, sample_id: int, index: int) -> Any:
        """A response whose bytes live in an ``array.array`` (``buffer_info()[0]``)."""
        buf = array.array("B", response_bytes(index))
        address, length = buf.buffer_info()
        with self._lock:
            self._keep.append(buf)
        return self.lg.QuerySampleResponse(sample_id, address, length * buf.itemsize)

    def numpy_response(self, sample_id: int, data: np.ndarray, n_tokens: int | None = None) -> Any:
        """A response whose bytes live in a NumPy array (``ctypes.data``, ``nbytes``)."""
        with self._lock:
            self._keep.append(data)
        if n_tokens is None:
            return self.lg.QuerySampleResponse(sample_id, data.ctypes.data, data.nbytes)
        return self.lg.QuerySampleResponse(sample_id, data.ctypes.data, data.nbytes, n_tokens)

    def finish_tokens(self, sample_id: int, index: int) -> None:
        """First token, then the whole answer with its token count (token-latency demos)."""
        lg, answer = self.lg, tokens(index)
        lg.FirstTokenComplete([self.numpy_response(sample_id, answer[:1].copy())])
        lg.QuerySamplesComplete(
            [self.numpy_response(sample_id, answer, len(answer))], self.count_response_cb
        )

    def result(self) -> dict[str, Any]:
        return {
            "loaded": self.loaded,
            "unloaded": self.unloaded,
            "issued": self.issued,
            "flushes": self.flushes,
            "response_cb_calls": self.response_cb_calls,
        }


def _settings(lg: ModuleType, scenario: str, mode: str, **fields: Any) -> Any:
    settings = lg.TestSettings()
    settings.scenario = getattr(lg.TestScenario, scenario)
    settings.mode = getattr(lg.TestMode, mode)
    for name, value in fields.items():
        setattr(settings, name, value)
    return settings


# -- the cases -------------------------------------------------------------------------------


def case_sync_single_stream(h: Harness) -> tuple[Any, Any]:
    """Completion inside IssueQuery; 10% of responses sampled into the accuracy log."""
    lg = h.lg

    def issue_query(query_samples: list[Any]) -> None:
        h.record_issue([s.index for s in query_samples])
        responses = [h.array_response(s.id, s.index) for s in query_samples]
        lg.QuerySamplesComplete(responses, h.count_response_cb)

    sut = lg.ConstructSUT(issue_query, h.flush_queries)
    settings = _settings(
        lg,
        "SingleStream",
        "PerformanceOnly",
        min_query_count=200,
        min_duration_ms=0,
        accuracy_log_probability=0.1,
        accuracy_log_rng_seed=7,
    )
    return sut, settings


def case_pool_server(h: Harness) -> tuple[Any, Any]:
    """Server; a thread pool answers each sample with bytes held in a NumPy array."""
    lg = h.lg
    pool = ThreadPoolExecutor(max_workers=4)
    h.cleanups.append(pool.shutdown)

    def work(sample_id: int, index: int) -> None:
        data = np.frombuffer(response_bytes(index), dtype=np.uint8).copy()
        lg.QuerySamplesComplete([h.numpy_response(sample_id, data)])

    def issue_query(query_samples: list[Any]) -> None:
        h.record_issue([s.index for s in query_samples])
        for s in query_samples:
            pool.submit(work, s.id, s.index)

    sut = lg.ConstructSUT(issue_query, h.flush_queries)
    settings = _settings(
        lg,
        "Server",
        "PerformanceOnly",
        server_target_qps=2000,
        server_target_latency_ns=SLACK_NS,
        min_query_count=100,
        min_duration_ms=100,
    )
    return sut, settings


def case_asyncio_offline(h: Harness) -> tuple[Any, Any]:
    """Offline through a QDL; an asyncio loop in a second thread answers after a short wait."""
    lg = h.lg
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    def stop() -> None:
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()

    h.cleanups.append(stop)

    async def process(query_samples: list[Any]) -> None:
        await asyncio.sleep(0.06)  # longer than min_duration, so the run is VALID
        lg.QuerySamplesComplete([h.array_response(s.id, s.index) for s in query_samples])

    def issue_query(query_samples: list[Any]) -> None:
        h.record_issue([s.index for s in query_samples])
        asyncio.run_coroutine_threadsafe(process(query_samples), loop)

    sut = lg.ConstructQDL(issue_query, h.flush_queries, lambda: "AsyncQDL")
    settings = _settings(
        lg,
        "Offline",
        "PerformanceOnly",
        offline_expected_qps=1000,
        min_query_count=100,
        min_duration_ms=50,
    )
    return sut, settings


def case_fast_multi_stream(h: Harness) -> tuple[Any, Any]:
    """FastSUT: ids and indices as two lists; completion inside the call, no data."""
    lg = h.lg

    def fast_issue_query(ids: list[int], indices: list[int]) -> None:
        h.record_issue(list(indices))
        lg.QuerySamplesComplete([lg.QuerySampleResponse(i, 0, 0) for i in ids])

    sut = lg.ConstructFastSUT(fast_issue_query, h.flush_queries)
    settings = _settings(
        lg, "MultiStream", "PerformanceOnly", min_query_count=100, min_duration_ms=0
    )
    return sut, settings


def case_tokens_single_stream(h: Harness) -> tuple[Any, Any]:
    """Token latencies: a thread per query reports the first token, then the answer."""
    lg = h.lg

    def process(query_samples: list[Any]) -> None:
        for s in query_samples:
            h.finish_tokens(s.id, s.index)

    def issue_query(query_samples: list[Any]) -> None:
        h.record_issue([s.index for s in query_samples])
        threading.Thread(target=process, args=[query_samples]).start()

    sut = lg.ConstructSUT(issue_query, h.flush_queries)
    settings = _settings(
        lg,
        "SingleStream",
        "PerformanceOnly",
        min_query_count=100,
        min_duration_ms=0,
        use_token_latencies=True,
    )
    return sut, settings


def case_tokens_server(h: Harness) -> tuple[Any, Any]:
    """Token latencies in Server, answered by a thread pool."""
    lg = h.lg
    pool = ThreadPoolExecutor(max_workers=4)
    h.cleanups.append(pool.shutdown)

    def issue_query(query_samples: list[Any]) -> None:
        h.record_issue([s.index for s in query_samples])
        for s in query_samples:
            pool.submit(h.finish_tokens, s.id, s.index)

    sut = lg.ConstructSUT(issue_query, h.flush_queries)
    settings = _settings(
        lg,
        "Server",
        "PerformanceOnly",
        server_target_qps=2000,
        ttft_latency=SLACK_NS,
        tpot_latency=SLACK_NS,
        min_query_count=100,
        min_duration_ms=100,
        use_token_latencies=True,
    )
    return sut, settings


def case_accuracy_server(h: Harness) -> tuple[Any, Any]:
    """AccuracyOnly in Server: every response is logged; a thread pool answers."""
    lg = h.lg
    pool = ThreadPoolExecutor(max_workers=4)
    h.cleanups.append(pool.shutdown)

    def work(sample_id: int, index: int) -> None:
        lg.QuerySamplesComplete([h.array_response(sample_id, index)], h.count_response_cb)

    def issue_query(query_samples: list[Any]) -> None:
        h.record_issue([s.index for s in query_samples])
        for s in query_samples:
            pool.submit(work, s.id, s.index)

    sut = lg.ConstructSUT(issue_query, h.flush_queries)
    settings = _settings(lg, "Server", "AccuracyOnly", server_target_qps=4000)
    return sut, settings


def case_accuracy_tokens(h: Harness) -> tuple[Any, Any]:
    """AccuracyOnly with token latencies: the log carries token data and counts."""
    lg = h.lg

    def issue_query(query_samples: list[Any]) -> None:
        h.record_issue([s.index for s in query_samples])
        for s in query_samples:
            h.finish_tokens(s.id, s.index)

    sut = lg.ConstructSUT(issue_query, h.flush_queries)
    settings = _settings(lg, "SingleStream", "AccuracyOnly", use_token_latencies=True)
    return sut, settings


CASES: dict[str, Callable[[Harness], tuple[Any, Any]]] = {
    name.removeprefix("case_"): fn for name, fn in globals().items() if name.startswith("case_")
}


def run_case(
    lg: ModuleType, name: str, outdir: Path, *, write_results_json: bool = True
) -> dict[str, Any]:
    """Run one case with its logs in ``outdir``; returns what the harness saw.
    ``write_results_json=False`` uses asyncgen.compat's one extension of ``LogSettings``."""
    outdir.mkdir(parents=True, exist_ok=True)  # the reference never creates it
    h = Harness(lg)
    sut, settings = CASES[name](h)
    qsl = lg.ConstructQSL(TOTAL, PERFORMANCE, h.load_samples_to_ram, h.unload_samples_from_ram)
    log_settings = lg.LogSettings()
    log_settings.log_output.outdir = str(outdir)
    if not write_results_json:
        log_settings.write_results_json = False
    try:
        lg.StartTestWithLogSettings(
            sut, qsl, settings, log_settings, str(outdir / "no-audit.config")
        )
    finally:
        for cleanup in h.cleanups:
            cleanup()
    lg.DestroyQSL(qsl)
    lg.DestroySUT(sut)
    return h.result()


# -- probes: small programs that record what a harness would read back -----------------------

SETTINGS_ASSIGNMENTS: list[tuple[str, Any]] = [
    ("min_duration_ms", 1.5),
    ("min_duration_ms", -1),
    ("min_duration_ms", True),
    ("min_duration_ms", "10"),
    ("server_target_qps", 3),
    ("server_target_qps", "1"),
    ("use_token_latencies", 1),
    ("server_find_peak_qps_decimals_of_precision", -3),
    ("scenario", 2),
    ("no_such_field", 1),
]


def _outcome(fn: Callable[[], Any]) -> str:
    try:
        return f"ok {fn()!r}"
    except Exception as exc:
        return type(exc).__name__


def probe_describe(lg: ModuleType, outdir: Path) -> dict[str, Any]:
    """Enum behaviour, every default, and how assignments are converted or refused."""
    outdir.mkdir(parents=True, exist_ok=True)
    enums = {}
    for enum_name in ("TestScenario", "TestMode", "LoggingMode"):
        enum_type = getattr(lg, enum_name)
        enums[enum_name] = [
            [name, int(m), m.value, m.name, str(m), repr(m), m == int(m), enum_type(int(m)) == m]
            for name, m in enum_type.__members__.items()
        ]

    def fields(obj: Any) -> dict[str, str]:
        return {
            name: str(getattr(obj, name))
            for name in dir(obj)
            if not name.startswith("_") and not callable(getattr(obj, name))
        }

    settings = lg.TestSettings()
    assignments = []
    for name, value in SETTINGS_ASSIGNMENTS:
        target = lg.TestSettings()
        assignments.append(
            [name, repr(value), _outcome(lambda t=target, n=name, v=value: _set_get(t, n, v))]
        )
    log_settings = lg.LogSettings()
    return {
        "enums": enums,
        "settings": fields(settings),
        "settings_methods": sorted(n for n in dir(settings) if n[0].isupper()),
        "assignments": assignments,
        "log_output": fields(log_settings.log_output),
        "log_settings": {k: v for k, v in fields(log_settings).items() if k != "log_output"},
        "response": fields(lg.QuerySampleResponse()),
        "response_3": fields(lg.QuerySampleResponse(1, 2, 3)),
        "sample": fields(lg.QuerySample(5, 6)),
        "module": sorted(n for n in dir(lg) if n[0].isupper()),
    }


def _set_get(obj: Any, name: str, value: Any) -> Any:
    setattr(obj, name, value)
    return getattr(obj, name)


def probe_from_config(lg: ModuleType, outdir: Path) -> dict[str, Any]:
    """FromConfig's return codes and process-wide rules, then the errors the next test logs."""
    outdir.mkdir(parents=True, exist_ok=True)
    user_conf, bad_conf = outdir / "user.conf", outdir / "bad.conf"
    user_conf.write_text(
        "# a user.conf\n"
        "resnet50.SingleStream.min_query_count = 20\n"
        "*.Server.target_qps = 123.5\n"
        "*.*.min_duration = 7\n"
    )
    bad_conf.write_text("*.SingleStream.min_query_count = x\n")
    first, second, third = lg.TestSettings(), lg.TestSettings(), lg.TestSettings()
    codes = [
        first.FromConfig(str(user_conf), "resnet50", "SingleStream"),
        second.FromConfig(str(user_conf), "resnet50", "SingleStream"),
        second.FromConfig(str(outdir / "missing.conf"), "resnet50", "SingleStream"),
        second.FromConfig(str(bad_conf), "resnet50", "SingleStream"),
        third.FromConfig("", "resnet50", "Server", 0),
        third.FromConfig(str(outdir / "missing.conf"), "resnet50", "Server", 2),
    ]
    values = [
        {k: str(getattr(s, k)) for k in dir(s) if k.islower() and not k.startswith("_")}
        for s in (first, second, third)
    ]
    first.min_duration_ms, first.min_query_count = 0, 10
    h = Harness(lg)
    sut = lg.ConstructSUT(
        lambda qs: lg.QuerySamplesComplete([lg.QuerySampleResponse(q.id, 0, 0) for q in qs]),
        h.flush_queries,
    )
    qsl = lg.ConstructQSL(TOTAL, PERFORMANCE, h.load_samples_to_ram, h.unload_samples_from_ram)
    log_settings = lg.LogSettings()
    log_settings.log_output.outdir = str(outdir)
    lg.StartTestWithLogSettings(sut, qsl, first, log_settings, str(outdir / "no-audit.config"))
    return {"codes": codes, "values": values}


def probe_raising_issue(lg: ModuleType, outdir: Path) -> dict[str, Any]:
    """An IssueQuery callback that raises on the third query."""
    outdir.mkdir(parents=True, exist_ok=True)
    h = Harness(lg)

    def issue_query(query_samples: list[Any]) -> None:
        h.record_issue([s.index for s in query_samples])
        if len(h.issued) == 3:
            raise ValueError("boom")
        lg.QuerySamplesComplete([lg.QuerySampleResponse(s.id, 0, 0) for s in query_samples])

    sut = lg.ConstructSUT(issue_query, h.flush_queries)
    qsl = lg.ConstructQSL(TOTAL, PERFORMANCE, h.load_samples_to_ram, h.unload_samples_from_ram)
    log_settings = lg.LogSettings()
    log_settings.log_output.outdir = str(outdir)
    settings = _settings(lg, "SingleStream", "PerformanceOnly", min_query_count=10)
    try:
        lg.StartTestWithLogSettings(sut, qsl, settings, log_settings, str(outdir / "none"))
    except Exception as exc:
        cause = exc.__cause__
        return {
            "raised": type(exc).__name__,
            "cause": None if cause is None else repr(cause),
            "issued": len(h.issued),
        }
    return {"raised": None, "issued": len(h.issued)}


PROBES: dict[str, Callable[[ModuleType, Path], dict[str, Any]]] = {
    "describe": probe_describe,
    "from_config": probe_from_config,
    "raising_issue": probe_raising_issue,
}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--module", required=True, choices=["mlperf_loadgen", "asyncgen.compat"])
    parser.add_argument("--outdir", type=Path, required=True)
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--probe", choices=sorted(PROBES))
    args = parser.parse_args(argv)
    lg = importlib.import_module(args.module)
    if args.probe:
        result = PROBES[args.probe](lg, args.outdir)
        (args.outdir / f"{args.probe}.json").write_text(json.dumps(result))
        return 0
    results = {name: run_case(lg, name, args.outdir / name) for name in args.cases.split(",")}
    (args.outdir / "harness.json").write_text(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
