"""Input and output tokens per request in the report: figure, table, from either source."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

import asyncgen
from asyncgen.report import TokenCountsFigure, figures, load_run, write_report
from asyncgen.report._plot import render
from tests.helpers import log_to

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class CountingQSL(asyncgen.SimulatedQSL):
    """Knows each sample's input length: 10 + index % 7 tokens."""

    def input_tokens(self, index: int) -> int:
        return 10 + index % 7


@pytest.fixture(scope="module")
def counted_run(tmp_path_factory: pytest.TempPathFactory) -> asyncgen.TestResult:
    async def answer(sample: asyncgen.QuerySample) -> tuple[bytes, int]:
        await asyncio.sleep(0)
        sample.first_token(b"t")
        return b"done", 2 + sample.index % 4

    settings = asyncgen.TestSettings(
        scenario=asyncgen.TestScenario.Server,
        mode=asyncgen.TestMode.PerformanceOnly,
        server_target_qps=1000,
        min_duration_ms=100,
        min_query_count=200,
        use_token_latencies=True,
    )
    qsl = CountingQSL(total_sample_count=64, performance_sample_count=64)
    outdir = tmp_path_factory.mktemp("counted")
    sut = asyncgen.FunctionSUT(answer, name="CountingSUT")
    return asyncgen.run(sut, qsl, settings, log_settings=log_to(outdir), audit_config=None)


def _expected(indices: Sequence[int]) -> tuple[list[int], list[int]]:
    return [10 + i % 7 for i in indices], [2 + i % 4 for i in indices]


def test_the_result_counts_every_issued_sample(counted_run: asyncgen.TestResult) -> None:
    tokens = counted_run.tokens
    assert tokens is not None and tokens.input is not None and tokens.output is not None
    summary = counted_run.summary
    assert summary is not None
    assert tokens.input.count == tokens.output.count == summary.sample_count
    assert set(tokens.input_per_sample.tolist()) <= set(range(10, 17))
    assert set(tokens.output_per_sample.tolist()) <= set(range(2, 6))
    assert tokens.output.total == summary.token_count


@pytest.mark.parametrize("source", ["result", "folder"])
def test_the_report_draws_and_tabulates_them(
    counted_run: asyncgen.TestResult, tmp_path: Path, source: str
) -> None:
    folder = counted_run.files["summary"].parent
    run = load_run(counted_run if source == "result" else folder)
    figure = figures(run)["token_counts"]
    assert isinstance(figure, TokenCountsFigure)
    assert figure.input is not None and figure.output is not None
    assert figure.input == counted_run.tokens.input  # type: ignore[union-attr]
    edges, counts = figure.input.histogram
    assert sum(counts) == figure.input.count and np.all(np.diff(edges) > 0)
    assert figure.output.percentiles.keys() == {0.5, 0.9, 0.99}
    assert render(figure, run.label).startswith(PNG_MAGIC)
    html = write_report([run], tmp_path).read_text(encoding="utf-8")
    assert 'data-figure="token_counts"' in html
    assert "<th>input tokens</th><th>output tokens</th>" in html


def test_a_run_without_counts_has_no_such_figure(tmp_path: Path) -> None:
    settings = asyncgen.TestSettings(
        scenario=asyncgen.TestScenario.Offline, offline_expected_qps=1000, min_duration_ms=10
    )
    result = asyncgen.run(
        asyncgen.SimulatedSUT(asyncgen.ServiceTime(distribution="constant", mean_ms=0.01)),
        asyncgen.SimulatedQSL(total_sample_count=8, performance_sample_count=8),
        settings,
        log_settings=log_to(tmp_path),
        audit_config=None,
    )
    assert result.tokens is None
    assert "token_counts" not in figures(load_run(result))
