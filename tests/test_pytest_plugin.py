"""The pytest plugin as users meet it: a test file run by pytest in a child process.

The file's tests start the slot-limited token server on 127.0.0.1 (first token after 10 ms)
and run it through the ``asyncgen_run`` fixture: one with objectives it meets with a wide
margin, one with a TTFT limit of 1 ms, which no answer can meet.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

TEST_FILE = """
import pytest

from asyncgen import ServiceLevelObjectives
from asyncgen.datasets import JsonLinesQSL
from asyncgen.http import OpenAISUT
from asyncgen.testing import assert_slos
from examples.token_server import Timing, start


async def _run(asyncgen_run, tmp_path, slos):
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(f'"prompt {i}"\\n' for i in range(16)))
    runner, url = await start(Timing(ttft_s=0.01, tpot_s=0.002, tokens=5, slots=4))
    try:
        qsl = JsonLinesQSL(prompts)
        async with OpenAISUT(url, qsl) as sut:
            return await asyncgen_run(sut, qsl, qps=20, duration_ms=500, min_queries=10, slos=slos)
    finally:
        await runner.cleanup()


@pytest.mark.asyncio
async def test_meets(asyncgen_run, tmp_path):
    result = await _run(asyncgen_run, tmp_path, ServiceLevelObjectives(e2e_ms=2000, tpot_ms=500))
    assert_slos(result)


@pytest.mark.asyncio
async def test_misses(asyncgen_run, tmp_path):
    result = await _run(asyncgen_run, tmp_path, ServiceLevelObjectives(ttft_ms=1, e2e_ms=2000))
    assert_slos(result)
"""

# The project's own strictness: a plugin that warned or registered a bad marker would fail.
PYTEST_INI = """[pytest]
addopts = --strict-markers
asyncio_mode = strict
asyncio_default_fixture_loop_scope = function
filterwarnings = error
"""


def test_the_fixture_runs_and_a_missed_slo_fails_with_its_table(tmp_path: Path) -> None:
    (tmp_path / "test_objectives.py").write_text(TEST_FILE)
    (tmp_path / "pytest.ini").write_text(PYTEST_INI)
    basetemp = tmp_path / "basetemp"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--basetemp", str(basetemp),
         "test_objectives.py"],
        cwd=tmp_path, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    assert "1 failed, 1 passed" in out
    assert "AssertionError: SLOs missed at p99: TTFT" in out
    table = [line.removeprefix("E").strip() for line in out.splitlines() if line.startswith("E ")]
    assert any(line.split()[:4] == ["SLO", "limit", "observed", "p99"] for line in table), out
    ttft = next(line for line in table if line.startswith("TTFT"))
    assert ttft.split()[1:3] == ["1", "ms"] and ttft.endswith("MISSED")
    e2e = next(line for line in table if line.startswith("E2E"))
    assert e2e.endswith("met") and "100.0%" in e2e
    assert any(line.startswith("goodput 0.00 requests/s: 0 of") for line in table)
    # the failed test's run folder is kept (and named); the passed test's is gone
    kept = next(line for line in table if line.startswith("run folder: "))
    folder = Path(kept.removeprefix("run folder: "))
    assert (folder / "mlperf_log_results.json").is_file()
    assert folder.is_relative_to(basetemp)
    assert not list(basetemp.glob("test_meets*/asyncgen"))
