"""The default connection cap: derived from the open-file limit, bounded, shown, and a large
Offline query against a real loopback server queues in order instead of flooding it."""

from __future__ import annotations

from pathlib import Path

import pytest

import asyncgen
from asyncgen._cli.targets import connections_note
from asyncgen.http import HttpSUT, OpenAISUT, Payload, _pool
from asyncgen.http._pool import FD_RESERVE, MAX_DEFAULT_CONNECTIONS, default_max_connections
from tests.http.conftest import Server
from tests.http.helpers import ListSource, PayloadQSL, answer


def _open_file_limit(monkeypatch: pytest.MonkeyPatch, soft: int) -> None:
    assert _pool.resource is not None
    monkeypatch.setattr(_pool.resource, "getrlimit", lambda _which: (soft, soft))


@pytest.mark.parametrize(
    ("soft", "cap"),
    [
        (20_000, MAX_DEFAULT_CONNECTIONS),  # a generous limit: the documented maximum
        (1024, (1024 - FD_RESERVE) // 2),  # the common default limit: 480
        (FD_RESERVE + 7, 3),
        (FD_RESERVE, 1),  # never below one
        (10, 1),
    ],
)
def test_the_default_cap_is_half_the_files_left_at_most_the_maximum(
    monkeypatch: pytest.MonkeyPatch, soft: int, cap: int
) -> None:
    _open_file_limit(monkeypatch, soft)
    assert default_max_connections() == cap
    sut = HttpSUT("http://x", ListSource([]))
    assert (sut.max_connections, sut.default_cap) == (cap, True)


def test_an_unlimited_open_file_limit_gives_the_maximum(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _pool.resource is not None
    _open_file_limit(monkeypatch, _pool.resource.RLIM_INFINITY)
    assert default_max_connections() == MAX_DEFAULT_CONNECTIONS


def test_a_given_cap_wins_and_zero_means_no_limit() -> None:
    source = ListSource([])
    given = HttpSUT("http://x", source, max_connections=5)
    assert (given.max_connections, given.default_cap) == (5, False)
    unlimited = OpenAISUT("http://x", source, max_connections=0)
    assert (unlimited.max_connections, unlimited.default_cap) == (0, False)
    with pytest.raises(ValueError, match="max_connections"):
        HttpSUT("http://x", source, max_connections=-1)


def test_the_cli_banner_says_how_many_connections_may_open() -> None:
    source = ListSource([])
    default = connections_note(HttpSUT("http://x", source))
    assert default is not None and default.startswith(
        f"connections: at most {default_max_connections():,} at once (the default, from the "
        "open-file limit; -O max_connections=N to change)"
    )
    assert connections_note(HttpSUT("http://x", source, max_connections=0)) == (
        "connections: no limit (one per request in flight)"
    )
    given = connections_note(OpenAISUT("http://x", source, max_connections=64))
    assert given is not None and given.startswith("connections: at most 64 at once (-O max")
    assert connections_note(asyncgen.FunctionSUT(lambda s: None)) is None  # type: ignore[arg-type,return-value]


@pytest.mark.asyncio
async def test_requests_beyond_the_default_cap_wait_and_go_out_in_order(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    _open_file_limit(monkeypatch, FD_RESERVE + 2)  # a default cap of one connection
    source = ListSource([Payload(path="/inspect", json={"i": i}) for i in range(40)])
    async with HttpSUT(server.url, source) as sut:  # no max_connections: the default
        samples = await answer(sut, list(range(40)))
        assert sut.connections_opened == 1
    assert all(s.outcome[0] == "complete" for s in samples)
    assert [r["body"] for r in server.state.requests] == [f'{{"i":{i}}}' for i in range(40)]


@pytest.mark.asyncio
async def test_an_offline_query_far_larger_than_the_cap_completes(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The issue in small: one query of 2,000 streamed requests, default options, a cap of
    8 connections: no connect failures, VALID, never more than 8 connections."""
    _open_file_limit(monkeypatch, FD_RESERVE + 16)
    qsl = PayloadQSL([Payload(json={"prompt": f"p{i}"}) for i in range(2000)])
    settings = asyncgen.TestSettings(
        scenario=asyncgen.TestScenario.Offline,
        offline_expected_qps=2000,
        min_duration_ms=0,
        min_query_count=2000,
        use_token_latencies=True,
    )
    log = asyncgen.LogSettings(
        log_output=asyncgen.LogOutputSettings(outdir=str(tmp_path)), enable_trace=False
    )
    async with OpenAISUT(server.url, qsl, extra_body={"tokens": 3}) as sut:
        result = await asyncgen.run_test(sut, qsl, settings, log_settings=log, audit_config=None)
        assert sut.max_connections == 8 and sut.connections_opened <= 8
    assert result.failures == {} and result.valid, result.reasons
    assert result.summary is not None and result.summary.sample_count == 2000
