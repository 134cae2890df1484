"""The --slo, --slo-percentile, --export-requests and sweep options: parsing and clear errors."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from asyncgen.__main__ import main
from asyncgen._cli.slo_options import goodput_rows, parse_percentile, parse_slo
from asyncgen._metrics.goodput import Goodput, SloOutcome


def test_slo_values_parse_and_typos_are_named() -> None:
    assert parse_slo("ttft_ms=200") == ("ttft_ms", 200.0)
    assert parse_slo(" e2e_ms=1.5") == ("e2e_ms", 1.5)
    with pytest.raises(argparse.ArgumentTypeError, match="did you mean tpot_ms"):
        parse_slo("tpot=50")
    with pytest.raises(argparse.ArgumentTypeError, match="expected KEY=MS"):
        parse_slo("ttft_ms")
    with pytest.raises(argparse.ArgumentTypeError, match="not a number"):
        parse_slo("ttft_ms=fast")
    with pytest.raises(argparse.ArgumentTypeError, match="positive"):
        parse_slo("ttft_ms=0")
    assert parse_percentile("0.9") == 0.9
    with pytest.raises(argparse.ArgumentTypeError, match="between 0 and 1"):
        parse_percentile("99")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "-s", "Server", "--sut", "x:y", "--slo", "ttf_ms=1"], "did you mean ttft_ms"),
        (["run", "-s", "Server", "--sut", "x:y", "--export-requests", "csv"], "invalid choice"),
        (["sweep", "--sut", "x:y"], "give the steps"),
        (["sweep", "--sut", "x:y", "--rates", "10,x"], "numbers separated by commas"),
        (["sweep", "--sut", "x:y", "--rates", "10", "-s", "Offline"], "Server steps"),
        (["sweep", "--sut", "x:y", "--rates", "10", "--qps", "5"], "leave out --qps"),
        (["sweep", "--sut", "x:y", "--rates", "10", "--stop-below", "1.5"], "fraction"),
        (["sweep", "--sut", "x:y", "--rates", "1", "--concurrencies", "1"], "not allowed with"),
    ],
)
def test_bad_options_exit_2_with_usage(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_token_slos_without_token_latencies_are_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["run", "-s", "Server", "--sut", "tests.cli._suts:fast_sut", "--slo", "ttft_ms=5"]
    args += ["-o", str(tmp_path), "--audit-config", "none", "-q"]
    assert main(args) == 2
    assert "need token latencies" in capsys.readouterr().err


def test_goodput_rows_in_the_result_table() -> None:
    goodput = Goodput(
        percentile=0.9,
        requests=10,
        answered_requests=9,
        good_requests=8,
        output_tokens=None,
        duration_s=2.0,
        slos=(SloOutcome(name="e2e", limit_ms=100, observed_ms=None, share_met=0.8, holds=False),),
    )
    assert goodput_rows(goodput) == [
        ("goodput", "4.0 requests/s"),
        ("met every SLO", "8 of 10 requests (80.0%)"),
        ("SLO E2E", "p90 a failed request > 100 ms: MISSED (80.0% met it)"),
        ("SLOs", "MISSED at p90: E2E"),
    ]
    assert goodput_rows(None) == []
