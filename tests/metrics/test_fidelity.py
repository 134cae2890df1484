"""Arrival fidelity: the KS statistic of the sent gaps against the process asked for."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

import asyncgen
from asyncgen._config.effective import effective_settings
from asyncgen._engine.clock import FakeClock
from asyncgen._metrics import fidelity
from asyncgen._metrics.fidelity import (
    NOISE_MARGIN,
    POOR_KS,
    ProcessGaps,
    arrival_fidelity,
    gap_model,
    gap_probabilities,
    ks_uniform,
    noise_ks,
    threshold_ks,
)
from asyncgen._metrics.health import MIN_QUERIES, RunHealth, fidelity_warning
from asyncgen._plan.arrivals import ArrivalProcess
from asyncgen._plan.trace import read_trace
from tests.helpers import ListQSL, RecordingSUT, read_detail

RATE = 2000.0  # queries per second


def _poisson(rate: float) -> ProcessGaps:
    return ProcessGaps(ArrivalProcess(kind="poisson", rate_qps=rate))


def _quantile_plan(n: int, rate: float = RATE) -> np.ndarray:
    """Offsets whose gaps are the exponential's quantiles at (k + 0.5) / (n - 1): the most
    even sample of the process there is, so its D is 0.5 / (n - 1) up to whole nanoseconds."""
    probabilities = (np.arange(n - 1) + 0.5) / (n - 1)
    gaps = (-np.log1p(-probabilities) / rate * 1e9).astype(np.int64)
    np.random.default_rng(7).shuffle(gaps)
    return np.concatenate([[0], np.cumsum(gaps)])


def _no_lags(lo: int, hi: int) -> np.ndarray:
    return np.zeros(hi - lo, dtype=np.int32)


def _kolmogorov_tail(x: float) -> float:
    """P(K > x) for Kolmogorov's distribution (the limit of sqrt(n) D)."""
    return 2 * sum((-1) ** (k - 1) * math.exp(-2 * k * k * x * x) for k in range(1, 100))


def test_ks_uniform_on_exact_inputs() -> None:
    assert ks_uniform(np.array([0.5])) == 0.5
    assert ks_uniform(np.array([0.6, 0.1])) == pytest.approx(0.4)  # 1/2 - 0.1 and 1 - 0.6
    n = 1000
    assert ks_uniform((np.arange(n) + 0.5) / n) == pytest.approx(0.5 / n)
    assert ks_uniform(np.zeros(n)) == 1.0  # every probability 0: all the mass at one end
    assert ks_uniform(np.array([])) == 0.0


def test_ks_uniform_reads_in_chunks_with_the_same_result(monkeypatch: pytest.MonkeyPatch) -> None:
    values = np.random.default_rng(3).random(1001) ** 2  # far from uniform
    whole = ks_uniform(values.copy())
    monkeypatch.setattr(fidelity, "CHUNK", 7)
    assert ks_uniform(values.copy()) == whole


def test_the_poisson_model_gives_each_gap_its_exponential_probability() -> None:
    model = _poisson(RATE)
    gaps = np.array([0, 500_000, 1_000_000], dtype=np.int64)  # 0, one mean gap, two
    got = model.probabilities(np.zeros(3, dtype=np.int64), gaps)
    assert got == pytest.approx([0.0, 1 - math.exp(-1), 1 - math.exp(-2)])
    assert model.process == "poisson"


def test_the_noise_level_is_kolmogorovs_99_9_percent_point() -> None:
    assert _kolmogorov_tail(fidelity.KOLMOGOROV_999) == pytest.approx(0.001, rel=1e-3)
    for n in (10_000, 1_000_000):  # Stephens' correction vanishes for long runs
        assert noise_ks(n) == pytest.approx(fidelity.KOLMOGOROV_999 / math.sqrt(n), rel=2e-3)
    assert noise_ks(100) < noise_ks(99)


def test_poor_means_above_a_floor_and_well_above_the_noise() -> None:
    assert threshold_ks(20_000) == POOR_KS  # long runs: the floor
    assert threshold_ks(500) == pytest.approx(NOISE_MARGIN * noise_ks(500))  # short ones: noise
    assert threshold_ks(500) > 2 * POOR_KS


def test_gap_probabilities_follow_the_lags_chunk_by_chunk(monkeypatch: pytest.MonkeyPatch) -> None:
    offsets = _quantile_plan(50)
    lags = np.random.default_rng(5).integers(0, 100_000, 50).astype(np.int32)
    sent = offsets + lags
    want = _poisson(RATE).probabilities(sent[:-1], np.maximum(np.diff(sent), 0))
    monkeypatch.setattr(fidelity, "CHUNK", 4)
    got = gap_probabilities(_poisson(RATE), offsets, lambda lo, hi: lags[lo:hi])
    assert got.dtype == np.float32 and got == pytest.approx(want, rel=1e-6)


def test_arrivals_sent_on_schedule_are_as_faithful_as_the_plan() -> None:
    offsets = _quantile_plan(2001)
    result = arrival_fidelity(_poisson(RATE), offsets, _no_lags)
    assert result is not None
    assert result.gaps == 2000
    assert result.planned_ks_statistic == pytest.approx(0.5 / 2000, abs=1e-4)
    assert result.ks_statistic == result.planned_ks_statistic
    assert result.judged and not result.poor
    assert result.threshold_ks == threshold_ks(2000)
    lagged = arrival_fidelity(_poisson(RATE), offsets, lambda lo, hi: _no_lags(lo, hi) + 7_000)
    assert lagged is not None and lagged.ks_statistic == result.ks_statistic  # a steady lag


def test_arrivals_sent_in_pairs_are_poor() -> None:
    offsets = _quantile_plan(2001)
    # every even arrival waits for the odd one after it: half the sent gaps are zero
    lags = np.zeros(2001, dtype=np.int64)
    lags[0:-1:2] = np.diff(offsets)[0::2]
    result = arrival_fidelity(_poisson(RATE), offsets, lambda lo, hi: lags[lo:hi])
    assert result is not None and result.poor
    assert result.ks_statistic == pytest.approx(0.5, abs=0.01)
    unjudged = arrival_fidelity(_poisson(RATE), offsets, lambda lo, hi: lags[lo:hi], judge=False)
    assert unjudged is not None and not unjudged.poor and not unjudged.judged
    assert "not judged" in unjudged.text


def test_a_send_time_earlier_than_the_one_before_counts_as_a_zero_gap() -> None:
    offsets = np.array([0, 1_000_000, 1_000_100, 3_000_000])
    lags = np.array([0, 500, 0, 0])  # the second query went out after the third
    got = gap_probabilities(_poisson(RATE), offsets, lambda lo, hi: lags[lo:hi])
    assert got[1] == 0.0 and 0.0 <= ks_uniform(got) <= 1.0


def test_too_few_arrivals_have_no_fidelity() -> None:
    assert arrival_fidelity(_poisson(RATE), np.array([0, 5]), _no_lags) is None


def test_a_wrong_rate_is_seen_even_when_sent_on_schedule() -> None:
    offsets = _quantile_plan(5001, rate=RATE)
    result = arrival_fidelity(_poisson(RATE * 1.5), offsets, _no_lags)
    assert result is not None and result.poor and result.planned_ks_statistic > 0.1


def test_the_server_scenario_asks_for_poisson_arrivals() -> None:
    server = asyncgen.TestSettings(scenario=asyncgen.TestScenario.Server, server_target_qps=250)
    eff, _ = effective_settings(server, 16, 64)
    model = gap_model(eff)
    assert isinstance(model, ProcessGaps) and model.continuous
    assert (model.process, model.arrivals.kind, model.arrivals.rate_qps) == ("poisson",) * 2 + (
        250.0,
    )
    for scenario in (asyncgen.TestScenario.Offline, asyncgen.TestScenario.SingleStream):
        eff, _ = effective_settings(asyncgen.TestSettings(scenario=scenario), 16, 64)
        assert gap_model(eff) is None


def test_poor_fidelity_is_a_warning_of_the_health() -> None:
    offsets = _quantile_plan(2001)
    lags = np.zeros(2001, dtype=np.int64)
    lags[0:-1:2] = np.diff(offsets)[0::2]
    poor = arrival_fidelity(_poisson(RATE), offsets, lambda lo, hi: lags[lo:hi])
    assert poor is not None
    health = RunHealth(
        queries=2001,
        scheduled_qps=RATE,
        achieved_qps=RATE,
        mean_interarrival_ns=5e5,
        issue_lag_p99_ns=0,
        final_issue_lag_ns=0,
        fell_behind=False,
        warnings=(),
    )
    judged = health.with_fidelity(poor)
    assert judged.warnings == (fidelity_warning(poor),) and not judged.fell_behind
    assert judged.to_dict()["arrival_fidelity"] == poor.to_dict()
    assert "strayed from the poisson process" in judged.warnings[0]
    assert health.with_fidelity(None) is health


async def _run_on_schedule(
    tmp_path: Path, **settings: object
) -> tuple[asyncgen.TestResult, asyncgen.ArrivalFidelity]:
    """A Server run on a fake clock whose SUT answers at once: every query is sent on time."""
    values: dict[str, object] = {"min_duration_ms": 100, **settings}
    run_settings = asyncgen.TestSettings(
        scenario=asyncgen.TestScenario.Server,
        server_target_qps=RATE,
        min_query_count=MIN_QUERIES,
        **values,  # type: ignore[arg-type]
    )
    log = asyncgen.LogSettings(
        log_output=asyncgen.LogOutputSettings(outdir=str(tmp_path)), enable_trace=False
    )
    instant = RecordingSUT(lambda samples: [s.complete() for s in samples])
    result = await asyncgen.run_test(
        instant, ListQSL(), run_settings, log_settings=log, audit_config=None, clock=FakeClock()
    )
    assert result.health is not None and result.health.fidelity is not None
    found = result.health.fidelity
    assert found.ks_statistic == found.planned_ks_statistic  # sent exactly on schedule
    return result, found


@pytest.mark.asyncio
async def test_a_server_run_reports_its_fidelity_everywhere(tmp_path: Path) -> None:
    result, found = await _run_on_schedule(tmp_path)
    assert result.health is not None
    assert found.gaps == result.health.queries - 1 and found.judged and not found.poor
    saved = json.loads(result.files["results"].read_text())
    assert saved["health"]["arrival_fidelity"] == found.to_dict()
    messages = [e["value"] for e in read_detail(result.files["detail"])]
    assert found.text in messages and found.text.startswith("arrival fidelity (poisson)")
    # no warning (a busy machine may stall the real loop under the fake clock: that one says so)
    assert not [w for w in result.warning_messages if not w.startswith("The event loop stalled")]


def _gap_model_of(tmp_path: Path, **settings: object) -> ProcessGaps | None:
    values: dict[str, object] = {"server_target_qps": RATE, **settings}
    server = asyncgen.TestSettings(scenario=asyncgen.TestScenario.Server, **values)  # type: ignore[arg-type]
    eff, _ = effective_settings(server, 16, 64)
    trace = (
        read_trace(eff.requested.server_trace_path) if settings.get("server_trace_path") else None
    )
    model = gap_model(eff, trace)
    assert model is None or isinstance(model, ProcessGaps)
    return model


def test_every_planned_process_has_its_gap_model(tmp_path: Path) -> None:
    trace = tmp_path / "trace.jsonl"
    trace.write_text("".join(f'{{"timestamp": {t}}}\n' for t in (0, 1, 3, 6)))
    cases = {
        "gamma": ({"server_arrival": "gamma", "server_burstiness": 0.5}, True),
        "poisson with ramp-up": ({"server_ramp_up_ms": 500}, True),
        "constant": ({"server_arrival": "constant"}, False),
        "trace": ({"server_arrival": "trace", "server_trace_path": str(trace)}, False),
    }
    for name, (settings, continuous) in cases.items():
        model = _gap_model_of(tmp_path, **settings)
        assert model is not None and (model.process, model.continuous) == (name, continuous)
    for waits_on_completions in (
        {"server_concurrency": 4},
        {"server_max_concurrency": 4},
    ):
        assert _gap_model_of(tmp_path, **waits_on_completions) is None


def test_a_ramp_is_undone_before_the_gaps_are_tested() -> None:
    ramp = ArrivalProcess(kind="poisson", rate_qps=RATE, ramp_up_ns=10**9)
    # One mean gap (0.5 ms) of operational time during the ramp (it ends at 0.5 s of it) and
    # one after: in real time the first is longer, the rate having risen only to a fraction.
    operational = np.array([100_000_000, 100_500_000, 2_000_000_000, 2_000_500_000])
    real = ramp.to_real_ns(operational.copy())
    starts, gaps = real[0::2], real[1::2] - real[0::2]
    assert gaps[0] > 2 * gaps[1]
    got = ProcessGaps(ramp).probabilities(starts, gaps)
    assert got == pytest.approx([1 - math.exp(-1)] * 2, rel=1e-4)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "settings",
    [
        {"server_arrival": "gamma", "server_burstiness": 0.5},
        {"server_ramp_up_ms": 200},
    ],
    ids=["gamma", "ramp-up"],
)
async def test_runs_of_other_processes_judge_their_own_process(
    tmp_path: Path, settings: dict[str, object]
) -> None:
    _, found = await _run_on_schedule(tmp_path, min_duration_ms=1000, **settings)
    assert found.judged and not found.poor
    # The plan is a draw of the process it is tested against: D is chance, under the noise
    # level an exact process exceeds once in a thousand runs (the margin: twice that).
    assert found.planned_ks_statistic < 2 * found.noise_ks
