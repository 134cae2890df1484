"""A drop-in for the reference LoadGen's Python module: ``import asyncgen.compat as lg``.

Existing MLPerf harnesses written against ``mlperf_loadgen`` run unmodified on asyncgen's
engine and write the same log files::

    import asyncgen.compat as lg            # was: import mlperf_loadgen as lg

    settings = lg.TestSettings()
    settings.scenario = lg.TestScenario.Server
    settings.FromConfig("user.conf", "resnet50", "Server")
    sut = lg.ConstructSUT(issue_query, flush_queries)
    qsl = lg.ConstructQSL(1024, 128, load_samples, unload_samples)
    lg.StartTestWithLogSettings(sut, qsl, settings, log_settings)
    ...
    lg.QuerySamplesComplete([lg.QuerySampleResponse(s.id, address, size)])

The names, signatures, defaults, enum behaviour and threading rules are the reference's
(``bindings/python_api.cc`` of LoadGen 6.0.17). Where the reference crashes or hangs, this
module raises a clear error instead; ``docs/porting.md`` lists every difference.
"""

from __future__ import annotations

# Types only the signatures below use come under private names: the public names mirror the
# reference module's.
from collections.abc import Iterable as _Iterable

from asyncgen._compat import library as _library
from asyncgen._compat.complete import ResponseCallback as _ResponseCallback
from asyncgen._compat.complete import first_tokens_complete as _first_tokens_complete
from asyncgen._compat.complete import samples_complete as _samples_complete
from asyncgen._compat.enums import LoggingMode, TestMode, TestScenario
from asyncgen._compat.library import FastIssueCallback as _FastIssueCallback
from asyncgen._compat.library import FlushCallback as _FlushCallback
from asyncgen._compat.library import IssueCallback as _IssueCallback
from asyncgen._compat.library import LoadCallback as _LoadCallback
from asyncgen._compat.library import NameCallback as _NameCallback
from asyncgen._compat.records import (
    QuerySample,
    QuerySampleResponse,
    VectorQuerySample,
    VectorQuerySampleResponse,
)
from asyncgen._compat.settings import LogOutputSettings, LogSettings, TestSettings
from asyncgen._compat.start import start_test as _start_test

__all__ = [
    "ConstructFastSUT",
    "ConstructQDL",
    "ConstructQSL",
    "ConstructSUT",
    "DestroyFastSUT",
    "DestroyQDL",
    "DestroyQSL",
    "DestroySUT",
    "FirstTokenComplete",
    "LogOutputSettings",
    "LogSettings",
    "LoggingMode",
    "QuerySample",
    "QuerySampleResponse",
    "QuerySamplesComplete",
    "StartTest",
    "StartTestWithLogSettings",
    "TestMode",
    "TestScenario",
    "TestSettings",
    "VectorQuerySample",
    "VectorQuerySampleResponse",
]


def ConstructSUT(issue_cb: _IssueCallback, flush_cb: _FlushCallback) -> int:  # noqa: N802
    """A SUT named "PySUT": ``issue_cb(list[QuerySample])``, ``flush_cb()``. Returns a handle."""
    return _library.register(_library.PySUT(issue_cb, flush_cb))


def DestroySUT(sut: int) -> None:  # noqa: N802
    """Forget a SUT handle."""
    _library.destroy_sut(sut)


def ConstructFastSUT(fast_issue_cb: _FastIssueCallback, flush_cb: _FlushCallback) -> int:  # noqa: N802
    """A SUT named "PyFastSUT": ``fast_issue_cb(list[id], list[index])``, ``flush_cb()``."""
    return _library.register(_library.PyFastSUT(fast_issue_cb, flush_cb))


def DestroyFastSUT(sut: int) -> None:  # noqa: N802
    """Forget a FastSUT handle."""
    _library.destroy_sut(sut)


def ConstructQSL(  # noqa: N802
    total_sample_count: int,
    performance_sample_count: int,
    load_samples_to_ram_cb: _LoadCallback,
    unload_samples_from_ram_cb: _LoadCallback,
) -> int:
    """A QSL named "PyQSL" with the given counts and ``load(list[int])``/``unload`` callbacks."""
    return _library.construct_qsl(
        total_sample_count,
        performance_sample_count,
        load_samples_to_ram_cb,
        unload_samples_from_ram_cb,
    )


def DestroyQSL(qsl: int) -> None:  # noqa: N802
    """Forget a QSL handle."""
    _library.destroy_qsl(qsl)


def ConstructQDL(  # noqa: N802
    issue_cb: _IssueCallback, flush_cb: _FlushCallback, name_cb: _NameCallback
) -> int:
    """A query dispatch library: a SUT whose name ``name_cb()`` returns (asked at each use)."""
    return _library.register(_library.PyQDL(issue_cb, flush_cb, name_cb))


def DestroyQDL(qdl: int) -> None:  # noqa: N802
    """Forget a QDL handle."""
    _library.destroy_sut(qdl)


def StartTest(  # noqa: N802
    sut: int,
    qsl: int,
    test_settings: TestSettings,
    audit_config_filename: str = "audit.config",
) -> None:
    """Run a test with the default log settings (files in the working directory); blocks."""
    _start_test(sut, qsl, test_settings, LogSettings(), audit_config_filename)


def StartTestWithLogSettings(  # noqa: N802
    sut: int,
    qsl: int,
    test_settings: TestSettings,
    log_settings: LogSettings,
    audit_config_filename: str = "audit.config",
) -> None:
    """Run a test, writing the logs as ``log_settings`` says; blocks until it has ended.

    Raises ``asyncgen.RunError`` (cause attached) when a callback raised, after the log files
    were completed, and ``asyncgen.SettingsError`` for settings that cannot run.
    """
    _start_test(sut, qsl, test_settings, log_settings, audit_config_filename)


def QuerySamplesComplete(  # noqa: N802
    responses: _Iterable[QuerySampleResponse], response_cb: _ResponseCallback | None = None
) -> None:
    """Report finished samples, from any thread; ``response_cb`` runs before logged reads."""
    _samples_complete(responses, response_cb)


def FirstTokenComplete(  # noqa: N802
    responses: _Iterable[QuerySampleResponse], response_cb: _ResponseCallback | None = None
) -> None:
    """Report the first token of samples (token latencies), from any thread."""
    del response_cb  # accepted and never called, as in the reference
    _first_tokens_complete(responses)
