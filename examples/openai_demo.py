"""The OpenAI-compatible SUT against a local streaming server: TTFT, TPOT and tokens/s.

Starts ``examples.token_server`` (first token after 20 ms, then one every 5 ms, 16 tokens) on
this loop, then runs a Server test through ``OpenAISUT`` with token latencies on: the first
streamed token of each answer stamps its time to first token, the end completes the sample with
the token count from the server's usage chunk.

    python -m examples.openai_demo
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from pathlib import Path

import asyncgen
from asyncgen.datasets import JsonLinesQSL
from asyncgen.http import OpenAISUT
from examples.token_server import Timing, start


async def main(outdir: Path = Path("out/openai"), duration_ms: int = 3_000) -> asyncgen.TestResult:
    timing = Timing(ttft_s=0.020, tpot_s=0.005, tokens=16)
    runner, url = await start(timing)
    settings = asyncgen.TestSettings(
        scenario=asyncgen.TestScenario.Server,
        server_target_qps=50,
        server_target_latency_percentile=0.9,  # a short run: p99 would need ~500 queries
        min_duration_ms=duration_ms,
        min_query_count=100,
        use_token_latencies=True,
        ttft_latency=50_000_000,  # 50 ms
        tpot_latency=20_000_000,  # 20 ms
    )
    log = asyncgen.LogSettings(log_output=asyncgen.LogOutputSettings(outdir=str(outdir)))
    with tempfile.TemporaryDirectory() as folder:
        prompts = Path(folder) / "prompts.jsonl"
        prompts.write_text("".join(json.dumps(f"Tell me about {i}.") + "\n" for i in range(64)))
        qsl = JsonLinesQSL(prompts)
        try:
            async with OpenAISUT(url, qsl, model="stand-in", max_tokens=16) as sut:
                result = await asyncgen.run_test(
                    sut, qsl, settings, log_settings=log, audit_config=None
                )
        finally:
            await runner.cleanup()
    summary = result.summary
    assert summary is not None
    assert summary.first_token_latency is not None
    assert summary.time_per_output_token is not None
    ttft = summary.first_token_latency.percentiles_ns
    tpot = summary.time_per_output_token.percentiles_ns
    print(f"{'VALID' if result.valid else 'INVALID'} {list(result.reasons)}")
    print(f"TTFT p50 {ttft[0.5] / 1e6:.1f} ms (server: 20 ms), p99 {ttft[0.99] / 1e6:.1f} ms")
    print(f"TPOT p50 {tpot[0.5] / 1e6:.2f} ms (server: 5 ms), p99 {tpot[0.99] / 1e6:.2f} ms")
    print(f"{summary.token_count} tokens, {summary.rates.completed_tokens_per_second:.0f} tokens/s")
    return result


if __name__ == "__main__":
    sys.exit(0 if asyncio.run(main()).valid else 1)
