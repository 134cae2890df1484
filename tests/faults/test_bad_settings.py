"""Bad settings and config files: an error naming the file, line and key before anything runs.

The parser's fuzz test (arbitrary text raises only ConfigError) is
``tests/config/test_config.py::test_parsing_arbitrary_text_raises_only_config_error`` and
``test_applying_arbitrary_files_raises_only_config_error``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import pytest

import asyncgen
from asyncgen import TestMode, TestScenario, TestSettings
from asyncgen.sut import QuerySample
from tests.faults._support import fast_settings, log_to
from tests.helpers import ListQSL, RecordingSUT


@pytest.mark.parametrize(
    ("line", "key", "fragment"),
    [
        ("*.Server.target_qsp = 5", "target_qsp", "did you mean '*.Server.target_qps'"),
        ("*.Server.target_qps 5", None, "expected '='"),
        ("*.Server.target_qps = fast", "*.Server.target_qps", "not a number"),
        ("*.Server.target_qps = -5", "target_qps", "from 0 up"),
        ("*.Server.target_latency_percentile = 150", "target_latency_percentile", "at most 100"),
        ("*.*.min_query_count = -3", "min_query_count", "must not be negative"),
        ("*.*.mode = 9", "mode", "mode must be one of"),
    ],
)
def test_a_bad_config_line_names_file_line_and_key(
    tmp_path: Path, line: str, key: str | None, fragment: str
) -> None:
    conf = tmp_path / "user.conf"
    conf.write_text("# tuned for this box\n\n" + line + "\n")
    with pytest.raises(asyncgen.ConfigError) as info:
        TestSettings.from_config(conf, "resnet50", "Server")
    error = info.value
    assert error.path == str(conf) and error.line == 3
    assert f"{conf}:3: " in str(error)
    assert fragment in str(error)
    if key is not None:
        assert error.key == key


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"scenario": TestScenario.Server, "server_target_qps": -1.0}, "server_target_qps"),
        (
            {"scenario": TestScenario.Server, "server_target_latency_percentile": 1.5},
            "server_target_latency_percentile",
        ),
        (
            {"scenario": TestScenario.MultiStream, "multi_stream_samples_per_query": 0},
            "multi_stream_samples_per_query",
        ),
        (
            {"scenario": TestScenario.Offline, "mode": TestMode.FindPeakPerformance},
            "FindPeakPerformance",
        ),
        # plans that cannot fit in memory: refused now, not by a MemoryError mid-run
        ({"scenario": TestScenario.Server, "server_target_qps": 1e308}, "server_target_qps"),
        ({"scenario": TestScenario.Offline, "min_duration_ms": 10**15}, "offline_expected_qps"),
        ({"scenario": TestScenario.SingleStream, "min_query_count": 10**14}, "min_query_count"),
    ],
)
def test_settings_that_cannot_run_fail_before_anything_runs(
    tmp_path: Path, changes: dict[str, object], field: str
) -> None:
    base = fast_settings(TestScenario.Server)
    settings = attrs.evolve(base, **changes)  # type: ignore[arg-type]
    sut, qsl = RecordingSUT(), ListQSL()
    with pytest.raises(asyncgen.SettingsError, match=field):
        asyncgen.run(sut, qsl, settings, log_settings=log_to(tmp_path / "out"), audit_config=None)
    assert sut.calls == [] and qsl.loaded == []
    assert not (tmp_path / "out").exists()  # not even the log folder


@pytest.mark.parametrize(
    ("qsl", "changes", "fragment"),
    [
        (ListQSL(performance=0), {}, "performance_sample_count is 0"),
        (
            ListQSL(performance=8),
            {"performance_issue_same": True, "performance_issue_same_index": 8},
            "performance_issue_same_index 8 is outside the loaded set",
        ),
        (ListQSL(total=10**14), {}, "the QSL reports 100,000,000,000,000 samples"),
    ],
)
def test_settings_that_do_not_fit_the_qsl_fail_before_any_sample_loads(
    tmp_path: Path, qsl: ListQSL, changes: dict[str, object], fragment: str
) -> None:
    settings = fast_settings(TestScenario.Offline, TestMode.PerformanceOnly, **changes)
    sut = RecordingSUT()
    with pytest.raises(asyncgen.SettingsError, match=fragment):
        asyncgen.run(sut, qsl, settings, log_settings=log_to(tmp_path), audit_config=None)
    assert sut.calls == [] and qsl.loaded == []


def test_a_bad_audit_config_fails_before_anything_runs(tmp_path: Path) -> None:
    audit = tmp_path / "audit.config"
    audit.write_text("*.*.min_query_count = -1\n")
    sut, qsl = RecordingSUT(), ListQSL()
    with pytest.raises(asyncgen.ConfigError) as info:
        asyncgen.run(
            sut,
            qsl,
            fast_settings(TestScenario.Offline),
            log_settings=log_to(tmp_path / "out"),
            audit_config=audit,
        )
    assert info.value.line == 1 and info.value.key == "min_query_count"
    assert sut.calls == [] and qsl.loaded == []


class _SyncIssueQuery(RecordingSUT):
    def issue_query(self, samples: Sequence[QuerySample]) -> None:  # type: ignore[override]
        self.calls.append([s.index for s in samples])


class _SyncLoad(ListQSL):
    def load_samples(self, indices: Sequence[int]) -> None:  # type: ignore[override]
        self.loaded.append(list(indices))


class _NoFlush:
    name = "no-flush"

    async def issue_query(self, samples: Sequence[QuerySample]) -> None:
        pass


@pytest.mark.parametrize(
    ("sut", "qsl", "fragment"),
    [
        (_SyncIssueQuery(), ListQSL(), "the SUT _SyncIssueQuery's issue_query must be a coroutine"),
        (RecordingSUT(), _SyncLoad(), "the QSL _SyncLoad's load_samples must be a coroutine"),
        (_NoFlush(), ListQSL(), "the SUT _NoFlush has no flush_queries()"),
    ],
)
def test_a_sut_or_qsl_without_coroutine_methods_is_refused_before_the_run(
    tmp_path: Path, sut: Any, qsl: Any, fragment: str
) -> None:
    """Awaited mid-run, a plain function's None stopped the run after its first call."""
    with pytest.raises(asyncgen.ProtocolError, match=re.escape(fragment)):
        asyncgen.run(
            sut, qsl, fast_settings(TestScenario.Server), log_settings=log_to(tmp_path / "out"),
            audit_config=None,
        )  # fmt: skip
    assert qsl.loaded == [] and getattr(sut, "calls", []) == []
    assert not (tmp_path / "out").exists()  # not even the log folder


@pytest.mark.asyncio
async def test_run_inside_a_running_loop_says_to_await_run_test(tmp_path: Path) -> None:
    with pytest.raises(asyncgen.RunError, match=r"use 'await asyncgen\.run_test\("):
        asyncgen.run(
            RecordingSUT(), ListQSL(), fast_settings(TestScenario.Server),
            log_settings=log_to(tmp_path / "out"), audit_config=None,
        )  # fmt: skip
    assert not (tmp_path / "out").exists()
