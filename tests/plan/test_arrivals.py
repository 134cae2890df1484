"""Arrival processes: each plan's inter-arrival distribution (KS tests, seeded), sizing, ramp-up,
traces, and the distribution functions fidelity checks use."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from asyncgen._config.effective import effective_settings
from asyncgen._errors import DatasetError, SettingsError
from asyncgen._plan.arrivals import ArrivalProcess, arrival_process, process_from_dict
from asyncgen._plan.gamma import GammaStream, gamma_cdf
from asyncgen._plan.loadable import LoadableSet
from asyncgen._plan.queries import generate_queries
from asyncgen._plan.rng import Mt19937
from asyncgen._plan.schedule import Sizing, schedule
from asyncgen._plan.sequence import SequenceGen
from asyncgen._plan.trace import read_trace
from asyncgen.settings import TestScenario, TestSettings

S = 1_000_000_000
# Seeded plans: each test's verdict is fixed by its seed; the bounds leave a wide margin.
KS_MIN_PVALUE = 0.01


def _eff(**fields: object) -> object:
    settings = TestSettings(scenario=TestScenario.Server, **fields)  # type: ignore[arg-type]
    eff, _ = effective_settings(settings, 100, 100)
    return eff


def _plan(process: ArrivalProcess, duration_ns: int = 20 * S, min_queries: int = 1):
    eff = _eff(server_target_qps=process.rate_qps)
    return schedule(eff, Sizing(1, duration_ns, min_queries, 0), process)  # type: ignore[arg-type]


@pytest.mark.parametrize("shape", [0.1, 0.5, 1.0, 2.5, 40.0])
def test_gamma_cdf_matches_scipy(shape: float) -> None:
    scale = 0.003
    x = np.concatenate([[0.0, -1.0], np.geomspace(1e-7, 1.0, 400)])
    expected = stats.gamma.cdf(x, shape, scale=scale)
    assert np.allclose(gamma_cdf(x, shape, scale), expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("shape", [0.3, 0.5, 1.0, 4.0])
def test_gamma_stream_follows_the_gamma_distribution(shape: float) -> None:
    values = GammaStream(Mt19937(7), shape, 2.0).take(20_000)
    result = stats.kstest(values, "gamma", args=(shape, 0.0, 2.0))
    assert result.pvalue > KS_MIN_PVALUE
    assert values.mean() == pytest.approx(shape * 2.0, rel=0.05)


def test_gamma_stream_does_not_depend_on_how_it_is_read() -> None:
    whole = GammaStream(Mt19937(3), 0.5, 1.0).take(40_000)
    parts = GammaStream(Mt19937(3), 0.5, 1.0)
    pieces = [parts.take(n) for n in (1, 17_000, 5, 22_994)]
    assert np.array_equal(np.concatenate(pieces), whole)
    assert not np.array_equal(GammaStream(Mt19937(4), 0.5, 1.0).take(100), whole[:100])


@pytest.mark.parametrize("burstiness", [0.5, 1.0, 3.0])
def test_gamma_plan_has_gamma_gaps_at_the_target_rate(burstiness: float) -> None:
    process = ArrivalProcess(kind="gamma", rate_qps=500.0, burstiness=burstiness, seed=11)
    offsets, end = _plan(process)
    assert offsets[0] == 0 and np.all(np.diff(offsets) >= 0)
    gaps = np.diff(offsets) / S
    assert stats.kstest(gaps, process.gap_cdf).pvalue > KS_MIN_PVALUE
    assert stats.kstest(gaps, "gamma", args=(burstiness, 0, 1 / (500 * burstiness))).pvalue > 0.01
    assert len(offsets) / (offsets[-1] / S) == pytest.approx(500, rel=0.05)
    # a burstier process has a larger spread of gaps: coefficient of variation 1/sqrt(B)
    assert gaps.std() / gaps.mean() == pytest.approx(1 / np.sqrt(burstiness), rel=0.08)
    assert offsets[-1] >= 20 * S and end >= offsets[-1]


def test_gamma_of_shape_one_is_not_the_reference_stream_but_the_same_distribution() -> None:
    gamma = ArrivalProcess(kind="gamma", rate_qps=800.0, burstiness=1.0, seed=2)
    poisson = ArrivalProcess(kind="poisson", rate_qps=800.0, seed=2)
    g, _ = _plan(gamma, 10 * S)
    p, _ = _plan(poisson, 10 * S)
    assert stats.ks_2samp(np.diff(g), np.diff(p)).pvalue > KS_MIN_PVALUE


def test_poisson_process_is_the_reference_schedule_bit_for_bit() -> None:
    eff = _eff(server_target_qps=300.0, schedule_rng_seed=1234)
    sizing = Sizing(1, 5 * S, 100, 0)
    reference = schedule(eff, sizing)  # type: ignore[arg-type]
    ours = schedule(eff, sizing, arrival_process(eff))  # type: ignore[arg-type]
    assert np.array_equal(reference[0], ours[0]) and reference[1] == ours[1]
    gaps = np.diff(reference[0]) / S
    assert stats.kstest(gaps, arrival_process(eff).gap_cdf).pvalue > KS_MIN_PVALUE  # type: ignore[arg-type]


def test_constant_plan_is_evenly_spaced_and_sized_like_the_others() -> None:
    process = ArrivalProcess(kind="constant", rate_qps=300.0)
    offsets, end = _plan(process, duration_ns=2 * S, min_queries=10)
    period = S / 300
    assert np.array_equal(offsets, np.rint(np.arange(len(offsets)) * period).astype(np.int64))
    # the reference's loop: queries until one is at or past the duration
    assert offsets[-1] >= 2 * S > offsets[-2]
    assert end == round(len(offsets) * period)
    many, _ = _plan(process, duration_ns=S // 10, min_queries=500)
    assert len(many) == 500
    assert process.gap_cdf(np.array([period * 0.99 / S, period / S])).tolist() == [0.0, 1.0]


@pytest.mark.parametrize("kind", ["poisson", "gamma", "constant"])
def test_ramp_up_rises_linearly_then_holds(kind: str) -> None:
    rate, ramp = 1000.0, 4 * S
    process = ArrivalProcess(kind=kind, rate_qps=rate, burstiness=0.5, ramp_up_ns=ramp, seed=5)
    offsets, _ = _plan(process, duration_ns=10 * S)
    assert offsets[0] == 0 and np.all(np.diff(offsets) >= 0) and offsets[-1] >= 10 * S
    # arrivals in each second of the ramp: the rate at its middle, i.e. rate * (k + 0.5) / 4
    counts = np.histogram(offsets, bins=np.arange(0, 11) * S)[0]
    for k in range(4):
        assert counts[k] == pytest.approx(rate * (k + 0.5) / 4, rel=0.15, abs=25)
    assert counts[5:].mean() == pytest.approx(rate, rel=0.05)
    # undoing the ramp gives the process's own gaps back
    gaps = np.diff(process.operational_ns(offsets)) / S
    if kind == "constant":
        assert np.allclose(gaps, 1 / rate, atol=3e-9 * 1e3)
    else:
        assert stats.kstest(gaps, process.gap_cdf).pvalue > KS_MIN_PVALUE


def test_ramp_up_leaves_the_stream_of_the_process_unchanged_after_it() -> None:
    plain = ArrivalProcess(kind="gamma", rate_qps=200.0, burstiness=2.0, seed=9)
    ramped = ArrivalProcess(kind="gamma", rate_qps=200.0, burstiness=2.0, seed=9, ramp_up_ns=S)
    p, _ = _plan(plain, 5 * S)
    r, _ = _plan(ramped, 5 * S)
    n = min(len(p), len(r))
    late = p[:n] >= S // 2  # operational time past half the ramp: real time is tau + R/2
    assert np.all(np.abs(r[:n][late] - (p[:n][late] + S // 2)) <= 1)


def _write_trace(path: Path, rows: list[object]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_trace_replays_every_record_once_at_its_offset(tmp_path: Path) -> None:
    rows = [
        {"timestamp": 1000, "input_length": 600, "output_length": 20, "hash_ids": [1, 2]},
        {"timestamp": 1000.5},
        {"timestamp": 1250, "extra": "ignored"},
        {"timestamp": 1003},
    ]
    trace = read_trace(_write_trace(tmp_path / "t.jsonl", rows))
    assert trace.records[0].input_length == 600 and trace.records[0].hash_ids == (1, 2)
    assert trace.order.tolist() == [0, 1, 3, 2]
    assert trace.offsets_ns().tolist() == [0, 500_000, 3_000_000, 250_000_000]
    assert trace.offsets_ns(2.0).tolist() == [0, 250_000, 1_500_000, 125_000_000]
    process = ArrivalProcess(kind="trace", trace=trace, trace_speed=2.0)
    offsets, end = _plan(process, duration_ns=60 * S, min_queries=1000)
    assert offsets.tolist() == [0, 250_000, 1_500_000, 125_000_000] and end == 125_000_000
    assert process.to_dict()["records"] == 4


def test_a_trace_chooses_the_samples_record_by_record(tmp_path: Path) -> None:
    trace = read_trace(_write_trace(tmp_path / "t.jsonl", [{"timestamp": t} for t in (5, 1, 3)]))
    settings = TestSettings(
        scenario=TestScenario.Server,
        server_arrival="trace",
        server_trace_path=trace.path,
        min_query_count=1,
        min_duration_ms=1,
    )
    eff, _ = effective_settings(settings, 3, 3)
    loaded = LoadableSet(indices=(2, 0, 1), distribution_end=3)
    plan = generate_queries(
        eff, loaded, accuracy=False, seq=SequenceGen(), arrivals=arrival_process(eff, trace)
    )
    assert plan.query_count == 3
    assert plan.sample_indices.tolist() == [1, 2, 0]  # records 1, 2, 0 in time order
    assert plan.scheduled_offsets_ns.tolist() == [0, 2_000_000, 4_000_000]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no records"),
        ("{not json\n", ":1: not valid JSON"),
        ('{"timestamp": 1}\n{"timestamp": NaN}\n', ":2: not valid JSON: NaN is not a JSON number"),
        ('{"timestamp": 1}\n' + "[" * 100_000 + "\n", ":2: JSON nested too deeply"),
        ('{"timestamp": 1}\n[1]\n', ":2: a trace record is a JSON object"),
        ('{"time": 1}\n', '"timestamp" (milliseconds) must be a number'),
        ('{"timestamp": -4}\n', "must not be negative"),
        ('{"timestamp": 1, "input_length": 0}\n', '"input_length" must be a positive integer'),
        ('{"timestamp": 1, "hash_ids": [1, "x"]}\n', '"hash_ids" must be a list of integers'),
    ],
)
def test_a_bad_trace_is_an_error_naming_the_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(text)
    with pytest.raises(DatasetError, match=re.escape(message)) as info:
        read_trace(path)
    assert str(path) in str(info.value)


def test_a_trace_that_is_no_file_is_named_for_what_it_is(tmp_path: Path) -> None:
    """Nothing is read from a FIFO (it would block) or a loop: each is named for what it is."""
    with pytest.raises(DatasetError, match=r"nowhere\.jsonl: no such file"):
        read_trace(tmp_path / "nowhere.jsonl")
    os.mkfifo(tmp_path / "fifo.jsonl")
    with pytest.raises(DatasetError, match=r"fifo\.jsonl: is a FIFO \(named pipe\), not a file"):
        read_trace(tmp_path / "fifo.jsonl")
    os.symlink(tmp_path / "b.jsonl", tmp_path / "a.jsonl")
    os.symlink(tmp_path / "a.jsonl", tmp_path / "b.jsonl")
    with pytest.raises(DatasetError, match=r"a\.jsonl: is a symlink loop"):
        read_trace(tmp_path / "a.jsonl")


def test_the_trace_gap_distribution_is_the_traces_own(tmp_path: Path) -> None:
    trace = read_trace(_write_trace(tmp_path / "t.jsonl", [{"timestamp": t} for t in (0, 1, 3, 6)]))
    process = ArrivalProcess(kind="trace", trace=trace)
    assert process.gap_cdf(np.array([0.0005, 0.001, 0.002, 0.0035])).tolist() == [
        0.0,
        1 / 3,
        2 / 3,
        1.0,
    ]
    assert process.mean_gap_s == pytest.approx(0.002)


def test_process_round_trips_through_its_detail_log_entry() -> None:
    process = ArrivalProcess(kind="gamma", rate_qps=42.0, burstiness=0.25, ramp_up_ns=S, seed=3)
    entry = json.loads(json.dumps(process.to_dict()))
    again = process_from_dict(entry)
    x = np.linspace(0, 0.2, 50)
    assert np.array_equal(again.gap_cdf(x), process.gap_cdf(x))
    assert again.ramp_up_ns == S and again.seed == 3


def test_arrival_process_from_settings_and_its_errors() -> None:
    eff = _eff(server_arrival="gamma", server_burstiness=0.5, server_ramp_up_ms=250)
    process = arrival_process(eff)  # type: ignore[arg-type]
    assert (process.kind, process.burstiness, process.ramp_up_ns) == ("gamma", 0.5, 250_000_000)
    assert not process.is_reference and arrival_process(_eff()).is_reference  # type: ignore[arg-type]
    with pytest.raises(SettingsError, match="needs the trace"):
        arrival_process(_eff(server_arrival="trace", server_trace_path="x.jsonl"))  # type: ignore[arg-type]
    with pytest.raises(SettingsError, match="must be positive"):
        ArrivalProcess(kind="gamma", rate_qps=0.0).gap_draw()
